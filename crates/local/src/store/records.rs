//! ListRecords and UpdateRecords: sync counts, sync sessions, limits, and the transaction that
//! applies a change together with its stream record and its push notifications.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::Store;
use crate::error::{ApiError, ErrorCode};
use crate::model::{Op, Record, RecordPatch};
use crate::payload;

/// What ListRecords answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRecords {
    /// Records changed after the requested sync count, in key order.
    pub records: Vec<Record>,
    /// Where the next page starts.
    pub next_token: Option<String>,
    /// The dataset's sync count.
    pub dataset_sync_count: i64,
    /// Who changed the dataset last.
    pub last_modified_by: Option<String>,
    /// Whether the dataset exists.
    pub exists: bool,
    /// Whether it was deleted after the requested sync count (the client must start over).
    pub deleted_after: bool,
    /// The session the client must present to UpdateRecords.
    pub session_token: String,
}

/// A dataset's current records and counts, read before a Sync Trigger runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedUpdate {
    /// Every record of the dataset (live and removed), by key.
    pub records: std::collections::BTreeMap<String, Record>,
}

/// What a successful UpdateRecords changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// The changed records, with their new sync counts.
    pub records: Vec<Record>,
    /// The dataset's new sync count.
    pub dataset_sync_count: i64,
}

struct DatasetRow {
    live: bool,
    sync_count: i64,
    created_ms: i64,
    num_records: i64,
    data_bytes: i64,
}

/// What a record weighs against the dataset's byte limit: its key and value, or its key alone
/// once removed (a removed record is still listed to every new device, so removals cannot be
/// a way around the limit).
fn record_bytes(key: &str, value: Option<&str>) -> i64 {
    i64::try_from(key.len() + value.map_or(0, str::len)).unwrap_or(i64::MAX)
}

/// A ListRecords page token: the last key returned and the dataset sync count the listing
/// started at, so that every page answers as of that count (`hex(key).count`).
fn encode_records_token(key: &str, snapshot: i64) -> String {
    format!("{}.{snapshot}", encode_token(key))
}

fn decode_records_token(token: Option<&str>) -> Result<Option<(String, i64)>, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let (key, snapshot) = token
        .split_once('.')
        .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?;
    let snapshot = snapshot
        .parse::<i64>()
        .map_err(|_| ApiError::invalid("Invalid NextToken"))?;
    Ok(Some((decode_token(key)?, snapshot)))
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("Invalid NextToken");
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// Page tokens are the hex of the last key returned: opaque to clients, stable across writes.
pub(super) fn encode_token(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn decode_page_token(token: Option<&str>) -> Result<Option<String>, ApiError> {
    token.filter(|t| !t.is_empty()).map(decode_token).transpose()
}

impl Store {
    /// ListRecords. Issues a sync session unless `session_token` is one of this identity's that
    /// has not expired.
    #[allow(clippy::too_many_arguments)]
    pub fn list_records(
        &self,
        pool: &str,
        identity: &str,
        dataset: &str,
        last_sync_count: i64,
        next_token: Option<&str>,
        max_results: usize,
        session_token: Option<&str>,
    ) -> Result<ListedRecords, ApiError> {
        let page = decode_records_token(next_token)?;
        let now = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(bool, i64, Option<i64>, String)> = tx
            .query_row(
                "SELECT live, sync_count, deleted_at_count, modified_by FROM datasets WHERE pool=?1 AND identity=?2 AND name=?3",
                params![pool, identity, dataset],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (exists, current_count, deleted_at, modified_by) = match row {
            Some((live, count, deleted_at, by)) => (live, count, deleted_at, Some(by)),
            None => (false, 0, None, None),
        };
        // Later pages answer as of the first page's count: what changed since is for the next sync.
        let (after_key, dataset_sync_count) = match page {
            Some((key, snapshot)) => (Some(key), snapshot.min(current_count)),
            None => (None, current_count),
        };
        let deleted_after = deleted_at.is_some_and(|d| last_sync_count < d);
        let since = if deleted_after { 0 } else { last_sync_count };
        let mut records = Vec::new();
        let mut next = None;
        if exists {
            let mut stmt = tx.prepare_cached(
                "SELECT key, value, sync_count, modified_ms, modified_by, device_modified_ms FROM records
                 WHERE pool=?1 AND identity=?2 AND dataset=?3 AND changed_at > ?4 AND changed_at <= ?7 AND key > ?5
                 ORDER BY key LIMIT ?6",
            )?;
            let limit = i64::try_from(max_results).unwrap_or(i64::MAX).saturating_add(1);
            let rows = stmt.query_map(
                params![
                    pool,
                    identity,
                    dataset,
                    since,
                    after_key.as_deref().unwrap_or(""),
                    limit,
                    dataset_sync_count
                ],
                read_record,
            )?;
            for row in rows {
                records.push(row?);
            }
            if records.len() > max_results {
                records.truncate(max_results);
                next = records.last().map(|r| encode_records_token(&r.key, dataset_sync_count));
            }
        }
        let session_token = self.session(&tx, pool, identity, session_token, now)?;
        tx.commit()?;
        Ok(ListedRecords {
            records,
            next_token: next,
            dataset_sync_count,
            last_modified_by: modified_by,
            exists,
            deleted_after,
            session_token,
        })
    }

    fn session(
        &self,
        tx: &Transaction<'_>,
        pool: &str,
        identity: &str,
        presented: Option<&str>,
        now: i64,
    ) -> Result<String, ApiError> {
        if let Some(token) = presented
            && session_row(tx, token)?.is_some_and(|(p, i, expires)| p == pool && i == identity && expires >= now)
        {
            return Ok(token.to_owned());
        }
        let token: String = {
            use rand::Rng as _;
            let mut rng = rand::rng();
            (0..4).map(|_| format!("{:08x}", rng.random::<u32>())).collect()
        };
        tx.execute(
            "INSERT INTO sessions (token, pool, identity, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![token, pool, identity, now.saturating_add(self.session_ttl_ms)],
        )?;
        let issued: i64 = tx.query_row(
            "UPDATE pools SET sync_sessions = sync_sessions + 1 WHERE pool=?1 RETURNING sync_sessions",
            params![pool],
            |r| r.get(0),
        )?;
        if issued % 1024 == 0 {
            tx.execute("DELETE FROM sessions WHERE expires_ms < ?1", params![now])?;
        }
        Ok(token)
    }

    /// Checks a SyncSessionToken for UpdateRecords: issued to this identity and not expired.
    pub fn check_session(&self, token: &str, pool: &str, identity: &str) -> Result<(), ApiError> {
        let now = self.clock.now_ms();
        let conn = self.lock();
        match session_row(&conn, token)? {
            Some((p, i, expires)) if p == pool && i == identity => {
                if expires < now {
                    Err(ApiError::invalid(
                        "The SyncSessionToken has expired; call ListRecords for a new one",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Err(ApiError::invalid("Invalid SyncSessionToken")),
        }
    }

    /// Every record of a dataset (for the Sync Trigger's `datasetRecords`).
    pub fn dataset_records(&self, pool: &str, identity: &str, dataset: &str) -> Result<PreparedUpdate, ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT key, value, sync_count, modified_ms, modified_by, device_modified_ms FROM records
             WHERE pool=?1 AND identity=?2 AND dataset=?3",
        )?;
        let mut out = PreparedUpdate::default();
        for row in stmt.query_map(params![pool, identity, dataset], read_record)? {
            let record = row?;
            out.records.insert(record.key.clone(), record);
        }
        Ok(out)
    }

    /// UpdateRecords: applies every patch or none. A patch whose sync count is not the
    /// record's → ResourceConflict; a limit passed → LimitExceeded. With `stream`, the change's
    /// stream record is written in the same transaction (the outbox), so it exists exactly when
    /// the change does; each subscribed device gets a notification row.
    pub fn update_records(
        &self,
        pool: &str,
        identity: &str,
        dataset: &str,
        patches: &[RecordPatch],
        modified_by: &str,
        stream: Option<&str>,
    ) -> Result<UpdateOutcome, ApiError> {
        let now = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<DatasetRow> = tx
            .prepare_cached(
                "SELECT live, sync_count, created_ms, num_records, data_bytes FROM datasets WHERE pool=?1 AND identity=?2 AND name=?3",
            )?
            .query_row(params![pool, identity, dataset], |r| {
                Ok(DatasetRow {
                    live: r.get(0)?,
                    sync_count: r.get(1)?,
                    created_ms: r.get(2)?,
                    num_records: r.get(3)?,
                    data_bytes: r.get(4)?,
                })
            })
            .optional()?;
        let live = current.as_ref().is_some_and(|d| d.live);
        if !live {
            let count: i64 = tx
                .prepare_cached("SELECT count(*) FROM datasets WHERE pool=?1 AND identity=?2 AND live=1")?
                .query_row(params![pool, identity], |r| r.get(0))?;
            if count >= i64::from(self.limits.datasets_per_identity) {
                return Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("The identity already has {count} datasets, the limit"),
                ));
            }
        }
        let (mut num_records, mut data_bytes) = match &current {
            Some(d) if d.live => (d.num_records, d.data_bytes),
            _ => (0, 0),
        };
        let new_count = current.as_ref().map_or(0, |d| d.sync_count) + 1;
        let mut changed = Vec::with_capacity(patches.len());
        {
            let mut get = tx.prepare_cached(
                "SELECT value, sync_count FROM records WHERE pool=?1 AND identity=?2 AND dataset=?3 AND key=?4",
            )?;
            for patch in patches {
                let old: Option<(Option<String>, i64)> = get
                    .query_row(params![pool, identity, dataset, patch.key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let existed = old.is_some();
                let (old_value, old_count) = old.unwrap_or((None, 0));
                if patch.sync_count != old_count {
                    return Err(ApiError::new(
                        ErrorCode::ResourceConflict,
                        format!(
                            "Current SyncCount for: {} is: {} not: {}",
                            patch.key, old_count, patch.sync_count
                        ),
                    ));
                }
                let new_value = match patch.op {
                    Op::Replace => patch.value.clone(),
                    Op::Remove => None,
                };
                if !existed && new_value.is_none() {
                    // Removing what the server never had (a record a device made and removed
                    // between two syncs): nothing to store, nothing to stream.
                    continue;
                }
                num_records += i64::from(new_value.is_some()) - i64::from(old_value.is_some());
                let old_bytes = if existed {
                    record_bytes(&patch.key, old_value.as_deref())
                } else {
                    0
                };
                data_bytes += record_bytes(&patch.key, new_value.as_deref()) - old_bytes;
                changed.push(Record {
                    key: patch.key.clone(),
                    value: new_value,
                    sync_count: old_count + 1,
                    last_modified_ms: now,
                    last_modified_by: modified_by.to_owned(),
                    device_last_modified_ms: patch.device_last_modified_ms,
                });
            }
        }
        if num_records > i64::from(self.limits.records_per_dataset) {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "The dataset would hold {num_records} records; the limit is {}",
                    self.limits.records_per_dataset
                ),
            ));
        }
        if data_bytes > i64::try_from(self.limits.bytes_per_dataset).unwrap_or(i64::MAX) {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "The dataset would hold {data_bytes} bytes; the limit is {}",
                    self.limits.bytes_per_dataset
                ),
            ));
        }
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO records (pool, identity, dataset, key, value, sync_count, changed_at, modified_ms, device_modified_ms, modified_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (pool, identity, dataset, key) DO UPDATE SET value=excluded.value, sync_count=excluded.sync_count,
                   changed_at=excluded.changed_at, modified_ms=excluded.modified_ms,
                   device_modified_ms=excluded.device_modified_ms, modified_by=excluded.modified_by",
            )?;
            for r in &changed {
                put.execute(params![
                    pool,
                    identity,
                    dataset,
                    r.key,
                    r.value,
                    r.sync_count,
                    new_count,
                    r.last_modified_ms,
                    r.device_last_modified_ms,
                    r.last_modified_by
                ])?;
            }
        }
        let created_ms = match &current {
            Some(d) if d.live => d.created_ms,
            _ => now,
        };
        tx.prepare_cached(
            "INSERT INTO datasets (pool, identity, name, live, sync_count, created_ms, modified_ms, modified_by, num_records, data_bytes)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (pool, identity, name) DO UPDATE SET live=1, sync_count=excluded.sync_count,
               created_ms=excluded.created_ms, modified_ms=excluded.modified_ms, modified_by=excluded.modified_by,
               num_records=excluded.num_records, data_bytes=excluded.data_bytes",
        )?
        .execute(params![pool, identity, dataset, new_count, created_ms, now, modified_by, num_records, data_bytes])?;
        if let Some(stream) = stream {
            super::outbox::insert(
                &tx,
                stream,
                &payload::StreamChange {
                    pool_id: pool.to_owned(),
                    identity_id: identity.to_owned(),
                    dataset: dataset.to_owned(),
                    operation: Op::Replace,
                    sync_count: new_count,
                    last_modified_ms: now,
                    records_json: Some(payload::records_json(&changed)),
                },
            )?;
        }
        let notified = super::push::notify(&tx, pool, identity, dataset, new_count, now)?;
        tx.commit()?;
        if notified > 0 {
            // What the real service would have sent through SNS; GET /_local/notifications lists them.
            tracing::info!(
                pool,
                identity,
                dataset,
                sync_count = new_count,
                devices = notified,
                "push notifications recorded"
            );
        }
        Ok(UpdateOutcome {
            records: changed,
            dataset_sync_count: new_count,
        })
    }
}

/// A session's (pool, identity, expiry).
fn session_row(conn: &rusqlite::Connection, token: &str) -> rusqlite::Result<Option<(String, String, i64)>> {
    conn.prepare_cached("SELECT pool, identity, expires_ms FROM sessions WHERE token=?1")?
        .query_row(params![token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
}

pub(super) fn read_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        key: r.get(0)?,
        value: r.get(1)?,
        sync_count: r.get(2)?,
        last_modified_ms: r.get(3)?,
        last_modified_by: r.get(4)?,
        device_last_modified_ms: r.get(5)?,
    })
}
