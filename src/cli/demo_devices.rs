//! The demo's simulated devices: phones and tablets of a few identities syncing their datasets
//! through the real `aws-sdk-cognitosync` client, as the Cognito Sync mobile SDKs do — pull what
//! changed since the last sync (`ListRecords` with `lastSyncCount`), push local edits with the
//! record sync counts they know (`UpdateRecords`), and on a conflict pull again and retry.

use std::collections::HashMap;

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_synth::{Edit, Edits};

/// What the devices did, for the demo's report.
#[derive(Debug, Default)]
pub struct DeviceStats {
    /// UpdateRecords calls that succeeded.
    pub syncs: u64,
    /// Records changed by them.
    pub records: u64,
    /// Of those, removals.
    pub removals: u64,
    /// Conflicts (a stale sync count), each resolved by pulling and pushing again.
    pub conflicts: u64,
    /// Syncs the Sync Trigger refused.
    pub rejected: u64,
}

/// One device of one identity: its own view of each dataset's sync counts.
pub struct Device {
    client: Client,
    pool: String,
    identity: String,
    edits: Edits,
    /// dataset → (last dataset sync count seen, key → record sync count)
    known: HashMap<&'static str, (i64, HashMap<String, i64>)>,
}

impl Device {
    /// A device signing as `identity`'s credentials, editing deterministically from `seed`.
    pub fn new(client: Client, pool: &str, identity: &str, seed: u64) -> Device {
        Device {
            client,
            pool: pool.to_owned(),
            identity: identity.to_owned(),
            edits: Edits::new(seed),
            known: HashMap::new(),
        }
    }

    /// Pulls what changed in `dataset` since this device last looked; answers the session token.
    async fn pull(&mut self, dataset: &'static str) -> anyhow::Result<String> {
        let (last, counts) = self.known.entry(dataset).or_default();
        let out = self
            .client
            .list_records()
            .identity_pool_id(&self.pool)
            .identity_id(&self.identity)
            .dataset_name(dataset)
            .last_sync_count(*last)
            .send()
            .await?;
        if out.dataset_deleted_after_requested_sync_count {
            counts.clear();
        }
        for r in out.records.unwrap_or_default() {
            if let (Some(k), Some(c)) = (r.key, r.sync_count) {
                counts.insert(k, c);
            }
        }
        *last = out.dataset_sync_count.unwrap_or(*last);
        Ok(out.sync_session_token.unwrap_or_default())
    }

    /// The edits of the next sync: 1 to 4 changes to one dataset.
    pub fn next_edits(&mut self, now_ms: i64, n: usize) -> Vec<Edit> {
        let first = self.edits.next_edit(now_ms);
        let mut out = vec![first];
        let mut tries = 0;
        while out.len() < n && tries < 64 {
            tries += 1;
            let e = self.edits.next_edit(now_ms);
            if e.dataset == out[0].dataset && out.iter().all(|o| o.key != e.key) {
                out.push(e);
            }
        }
        out
    }

    /// One sync of `edits` (all to one dataset): pull, push, and once more on a conflict.
    pub async fn sync(&mut self, edits: &[Edit], stats: &mut DeviceStats) -> anyhow::Result<()> {
        let dataset = edits[0].dataset;
        for attempt in 0..3 {
            let token = self.pull(dataset).await?;
            let counts = &self.known[dataset].1;
            let patches: Vec<RecordPatch> = edits
                .iter()
                .map(|e| {
                    RecordPatch::builder()
                        .op(if e.value.is_some() {
                            Operation::Replace
                        } else {
                            Operation::Remove
                        })
                        .key(&e.key)
                        .set_value(e.value.clone())
                        .sync_count(counts.get(&e.key).copied().unwrap_or(0))
                        .build()
                })
                .collect::<Result<_, _>>()?;
            let sent = self
                .client
                .update_records()
                .identity_pool_id(&self.pool)
                .identity_id(&self.identity)
                .dataset_name(dataset)
                .sync_session_token(token)
                .set_record_patches(Some(patches))
                .send()
                .await;
            match sent {
                Ok(out) => {
                    let counts = &mut self.known.entry(dataset).or_default().1;
                    for r in out.records.unwrap_or_default() {
                        if let (Some(k), Some(c)) = (r.key, r.sync_count) {
                            counts.insert(k, c);
                        }
                    }
                    stats.syncs += 1;
                    stats.records += edits.len() as u64;
                    stats.removals += edits.iter().filter(|e| e.value.is_none()).count() as u64;
                    return Ok(());
                }
                Err(e) => {
                    let e = e.into_service_error();
                    if e.is_resource_conflict_exception() && attempt < 2 {
                        stats.conflicts += 1;
                        continue;
                    }
                    if e.is_invalid_lambda_function_output_exception() {
                        stats.rejected += 1;
                        return Ok(());
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Deletes a dataset of this identity.
    pub async fn delete(&mut self, dataset: &'static str) -> anyhow::Result<()> {
        self.client
            .delete_dataset()
            .identity_pool_id(&self.pool)
            .identity_id(&self.identity)
            .dataset_name(dataset)
            .send()
            .await?;
        self.known.remove(dataset);
        Ok(())
    }
}
