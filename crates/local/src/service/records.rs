//! ListRecords and UpdateRecords.

use std::collections::HashSet;

use axum::response::Response;
use serde::Serialize;

use super::{Query, Service, json, max_results, parse_body};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{Op, RecordPatch};
use crate::sync_trigger::TriggerCall;
use crate::validate;
use crate::wire::{RecordOut, UpdateRecordsIn};

/// A page of ListRecords holds a whole dataset (1,024 records) unless asked for less.
const MAX_RECORDS_PAGE: usize = 1024;

/// Most RecordPatches in one UpdateRecords: a whole dataset's worth.
const MAX_PATCHES: usize = 1024;

/// Latest `DeviceLastModifiedDate` accepted: 9999-12-31T23:59:59.999Z, as far as the SDKs'
/// timestamp types (and Python's datetime) go.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

impl Service {
    pub(super) async fn list_records(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        dataset: String,
        query: &Query,
    ) -> Result<Response, ApiError> {
        self.authorize_dataset(principal, &pool, &identity, &dataset)?;
        let last = match query.get("lastSyncCount") {
            None => 0,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::invalid(format!("Invalid LastSyncCount: {v}")))?,
        };
        let max = max_results(query, MAX_RECORDS_PAGE, MAX_RECORDS_PAGE)?;
        let token = query.get("nextToken").cloned();
        let session = query.get("syncSessionToken").cloned();
        let listed = self
            .db(move |s| {
                s.list_records(
                    &pool,
                    &identity,
                    &dataset,
                    last,
                    token.as_deref(),
                    max,
                    session.as_deref(),
                )
            })
            .await?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            records: Vec<RecordOut<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_token: Option<&'a str>,
            count: usize,
            dataset_sync_count: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            last_modified_by: Option<&'a str>,
            merged_dataset_names: [&'a str; 0],
            dataset_exists: bool,
            dataset_deleted_after_requested_sync_count: bool,
            sync_session_token: &'a str,
        }
        json(&Out {
            records: listed.records.iter().map(Into::into).collect(),
            next_token: listed.next_token.as_deref(),
            count: listed.records.len(),
            dataset_sync_count: listed.dataset_sync_count,
            last_modified_by: listed.last_modified_by.as_deref(),
            merged_dataset_names: [],
            dataset_exists: listed.exists,
            dataset_deleted_after_requested_sync_count: listed.deleted_after,
            sync_session_token: &listed.session_token,
        })
    }

    pub(super) async fn update_records(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        dataset: String,
        body: &[u8],
        client_context: Option<&str>,
    ) -> Result<Response, ApiError> {
        self.authorize_dataset(principal, &pool, &identity, &dataset)?;
        let input: UpdateRecordsIn = parse_body(body)?;
        if let Some(device) = &input.device_id
            && !validate::is_device_id(device)
        {
            return Err(ApiError::invalid("Invalid DeviceId: 1 to 256 characters"));
        }
        let Some(token) = input.sync_session_token.filter(|t| !t.is_empty()) else {
            return Err(ApiError::invalid(
                "SyncSessionToken is required; call ListRecords for one",
            ));
        };
        if input.record_patches.len() > MAX_PATCHES {
            return Err(ApiError::invalid(format!(
                "At most {MAX_PATCHES} RecordPatches in one request"
            )));
        }
        let patches = patches(input.record_patches)?;
        let by = principal.modified_by().to_owned();
        let trigger_for = matches!(principal, Principal::Identity { .. });
        let (p, i, d) = (pool.clone(), identity.clone(), dataset.clone());
        // One trip to storage on the common path: session, settings, then the change itself.
        let first = self
            .db(move |s| {
                s.check_session(&token, &p, &i)?;
                let routing = s.change_routing(&p)?;
                let stream = routing.stream;
                match routing.sync_trigger.filter(|_| trigger_for) {
                    Some(arn) => Ok(Err((arn, s.dataset_records(&p, &i, &d)?, stream, patches))),
                    None => Ok(Ok(s.update_records(&p, &i, &d, &patches, &by, stream.as_deref())?)),
                }
            })
            .await?;
        let outcome = match first {
            Ok(outcome) => outcome,
            Err((arn, current, stream, input_patches)) => {
                // A stale count is a conflict whatever the trigger would say: check before
                // invoking it (and again at commit, where it counts).
                for p in &input_patches {
                    let server = current.records.get(&p.key).map_or(0, |r| r.sync_count);
                    if p.sync_count != server {
                        return Err(ApiError::new(
                            crate::error::ErrorCode::ResourceConflict,
                            format!("Current SyncCount for: {} is: {} not: {}", p.key, server, p.sync_count),
                        ));
                    }
                }
                let call = TriggerCall {
                    arn: &arn,
                    pool: &pool,
                    identity: &identity,
                    dataset: &dataset,
                    client_context,
                };
                let patches = self.triggers.run(&call, &current, &input_patches).await?;
                let by = principal.modified_by().to_owned();
                self.db(move |s| s.update_records(&pool, &identity, &dataset, &patches, &by, stream.as_deref()))
                    .await?
            }
        };
        self.wake.notify_one();
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            records: Vec<RecordOut<'a>>,
        }
        json(&Out {
            records: outcome.records.iter().map(Into::into).collect(),
        })
    }
}

/// Checks and converts RecordPatches: valid op, key and value, no key twice.
fn patches(input: Vec<crate::wire::RecordPatchIn>) -> Result<Vec<RecordPatch>, ApiError> {
    let mut seen = HashSet::with_capacity(input.len());
    let mut out = Vec::with_capacity(input.len());
    for p in input {
        let op = match p.op.as_str() {
            "replace" => Op::Replace,
            "remove" => Op::Remove,
            other => return Err(ApiError::invalid(format!("Invalid Op: {other:?}; replace or remove"))),
        };
        if !validate::is_record_key(&p.key) {
            return Err(ApiError::invalid("Invalid Key: 1 to 1024 characters"));
        }
        if p.value.as_deref().is_some_and(|v| !validate::is_record_value(v)) {
            return Err(ApiError::invalid(format!(
                "Invalid Value of {:?}: at most 1048575 characters",
                p.key
            )));
        }
        if op == Op::Replace && p.value.is_none() {
            return Err(ApiError::invalid(format!("A replace of {:?} needs a Value", p.key)));
        }
        if p.sync_count < 0 {
            return Err(ApiError::invalid(format!(
                "Invalid SyncCount of {:?}: {}",
                p.key, p.sync_count
            )));
        }
        let device_ms = p.device_last_modified_date.map(|t| t.millis());
        if device_ms.is_some_and(|ms| !(0..=MAX_TIME_MS).contains(&ms)) {
            return Err(ApiError::invalid(format!(
                "Invalid DeviceLastModifiedDate of {:?}",
                p.key
            )));
        }
        if !seen.insert(p.key.clone()) {
            return Err(ApiError::invalid(format!("Key {:?} is patched twice", p.key)));
        }
        out.push(RecordPatch {
            op,
            key: p.key,
            value: p.value,
            sync_count: p.sync_count,
            device_last_modified_ms: device_ms,
        });
    }
    Ok(out)
}
