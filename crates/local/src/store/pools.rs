//! Pool settings (push sync, Cognito Streams), Cognito Events, and the bulk-publish state.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::Store;
use crate::error::{ApiError, ErrorCode};
use crate::model::{BulkDetails, BulkStatus, Op, PoolSettings};
use crate::payload::{self, StreamChange};

/// A successful bulk publish allows the next one this much later.
pub const BULK_PUBLISH_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Where a pool's changes go besides storage ([`Store::change_routing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRouting {
    /// The Kinesis stream, when Cognito Streams is enabled.
    pub stream: Option<String>,
    /// The Sync Trigger function ARN, when Cognito Events has one.
    pub sync_trigger: Option<String>,
}

/// Where a bulk publish is in its walk over the pool's datasets: the last (identity, dataset).
pub type BulkCursor = Option<(String, String)>;

impl Store {
    /// Makes sure every configured pool has its row (idempotent).
    pub fn ensure_pools<'a>(&self, pools: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
        let conn = self.lock();
        for pool in pools {
            conn.execute("INSERT OR IGNORE INTO pools (pool) VALUES (?1)", params![pool])?;
        }
        Ok(())
    }

    /// The pool's settings.
    pub fn pool_settings(&self, pool: &str) -> Result<PoolSettings, ApiError> {
        let conn = self.lock();
        let text: String = conn
            .prepare_cached("SELECT settings FROM pools WHERE pool=?1")?
            .query_row(params![pool], |r| r.get(0))
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))?;
        serde_json::from_str(&text).map_err(|e| ApiError::internal(&e))
    }

    /// Replaces the parts of the settings that `update` names. Refused while a bulk publish
    /// runs: it reads the stream settings as it goes.
    pub fn set_pool_settings(&self, pool: &str, update: PoolSettings) -> Result<PoolSettings, ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (text, status): (String, String) = tx
            .query_row(
                "SELECT settings, bulk_status FROM pools WHERE pool=?1",
                params![pool],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))?;
        if BulkStatus::parse(&status) == BulkStatus::InProgress {
            return Err(ApiError::new(
                ErrorCode::ConcurrentModification,
                "The configuration cannot change while a bulk publish is in progress",
            ));
        }
        let mut settings: PoolSettings = serde_json::from_str(&text).map_err(|e| ApiError::internal(&e))?;
        if update.push_sync.is_some() {
            settings.push_sync = update.push_sync;
        }
        if update.cognito_streams.is_some() {
            settings.cognito_streams = update.cognito_streams;
        }
        let text = serde_json::to_string(&settings).map_err(|e| ApiError::internal(&e))?;
        tx.execute("UPDATE pools SET settings=?2 WHERE pool=?1", params![pool, text])?;
        tx.commit()?;
        Ok(settings)
    }

    /// Where a change of the pool goes besides storage, from one read of its row: the stream
    /// (when streaming is enabled) and the Sync Trigger function ARN.
    pub fn change_routing(&self, pool: &str) -> Result<ChangeRouting, ApiError> {
        let conn = self.lock();
        let (settings, sync_trigger): (String, Option<String>) = conn
            .prepare_cached("SELECT settings, sync_trigger FROM pools WHERE pool=?1")?
            .query_row(params![pool], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))?;
        let settings: PoolSettings = serde_json::from_str(&settings).map_err(|e| ApiError::internal(&e))?;
        Ok(ChangeRouting {
            stream: settings
                .cognito_streams
                .and_then(|s| s.enabled_stream().map(str::to_owned)),
            sync_trigger,
        })
    }

    /// Sets (or with `None`, removes) the Sync Trigger.
    pub fn set_sync_trigger(&self, pool: &str, arn: Option<&str>) -> Result<(), ApiError> {
        let conn = self.lock();
        let n = conn.execute("UPDATE pools SET sync_trigger=?2 WHERE pool=?1", params![pool, arn])?;
        if n == 0 {
            return Err(ApiError::not_found(format!("IdentityPool {pool} not found")));
        }
        Ok(())
    }

    /// BulkPublish's admission: streaming must be on, no run in progress, no success within
    /// 24 hours. Marks the run IN_PROGRESS and answers the stream it publishes to.
    pub fn start_bulk_publish(&self, pool: &str) -> Result<String, ApiError> {
        let now = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (settings, status, last_success): (String, String, Option<i64>) = tx
            .query_row(
                "SELECT settings, bulk_status, bulk_last_success_ms FROM pools WHERE pool=?1",
                params![pool],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))?;
        let settings: PoolSettings = serde_json::from_str(&settings).map_err(|e| ApiError::internal(&e))?;
        let Some(stream) = settings
            .cognito_streams
            .as_ref()
            .and_then(|s| s.enabled_stream())
            .map(str::to_owned)
        else {
            return Err(ApiError::invalid(format!(
                "Cognito Streams is not enabled for identity pool {pool}; enable it with SetIdentityPoolConfiguration"
            )));
        };
        if BulkStatus::parse(&status) == BulkStatus::InProgress {
            return Err(ApiError::new(
                ErrorCode::DuplicateRequest,
                format!("A bulk publish is already in progress for identity pool {pool}"),
            ));
        }
        if let Some(done) = last_success
            && now.saturating_sub(done) < BULK_PUBLISH_WINDOW_MS
        {
            return Err(ApiError::new(
                ErrorCode::AlreadyStreamed,
                format!(
                    "Identity pool {pool} was bulk published successfully less than 24 hours ago; the next is allowed after {}",
                    crate::wire::iso8601(done.saturating_add(BULK_PUBLISH_WINDOW_MS))
                ),
            ));
        }
        tx.execute(
            "UPDATE pools SET bulk_status='IN_PROGRESS', bulk_start_ms=?2, bulk_complete_ms=NULL, bulk_failure=NULL WHERE pool=?1",
            params![pool, now],
        )?;
        tx.commit()?;
        Ok(stream)
    }

    /// Pools whose bulk publish was in progress (resumed after a restart).
    pub fn bulk_publishes_in_progress(&self) -> Result<Vec<(String, String)>, ApiError> {
        let pools: Vec<(String, String)> = {
            let conn = self.lock();
            let mut stmt = conn.prepare("SELECT pool, settings FROM pools WHERE bulk_status='IN_PROGRESS'")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut out = Vec::new();
        for (pool, settings) in pools {
            let settings: PoolSettings = serde_json::from_str(&settings).map_err(|e| ApiError::internal(&e))?;
            match settings.cognito_streams.as_ref().and_then(|s| s.enabled_stream()) {
                Some(stream) => out.push((pool, stream.to_owned())),
                None => self.finish_bulk_publish(&pool, Err("Cognito Streams was disabled during the bulk publish"))?,
            }
        }
        Ok(out)
    }

    /// Publishes up to `page` datasets after `cursor` (one stream record each, with all their
    /// live records) in one transaction; answers how many, and where to go on (`None`: done).
    pub fn bulk_publish_page(
        &self,
        pool: &str,
        stream: &str,
        cursor: &BulkCursor,
        page: usize,
    ) -> Result<(usize, BulkCursor), ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (after_identity, after_name) = cursor.clone().unwrap_or_default();
        let datasets: Vec<(String, String, i64, i64)> = tx
            .prepare_cached(
                "SELECT identity, name, sync_count, modified_ms FROM datasets WHERE pool=?1 AND live=1 AND (identity, name) > (?2, ?3)
                 ORDER BY identity, name LIMIT ?4",
            )?
            .query_map(params![pool, after_identity, after_name, i64::try_from(page).unwrap_or(64)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (identity, name, sync_count, modified_ms) in &datasets {
            let records = tx
                .prepare_cached(
                    "SELECT key, value, sync_count, modified_ms, modified_by, device_modified_ms FROM records
                     WHERE pool=?1 AND identity=?2 AND dataset=?3 AND value IS NOT NULL ORDER BY key",
                )?
                .query_map(params![pool, identity, name], super::records::read_record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            super::outbox::insert(
                &tx,
                stream,
                &StreamChange {
                    pool_id: pool.to_owned(),
                    identity_id: identity.clone(),
                    dataset: name.clone(),
                    operation: Op::Replace,
                    sync_count: *sync_count,
                    last_modified_ms: *modified_ms,
                    records_json: Some(payload::records_json(&records)),
                },
            )?;
        }
        tx.commit()?;
        let next = if datasets.len() < page {
            None
        } else {
            datasets.last().map(|(i, n, _, _)| (i.clone(), n.clone()))
        };
        Ok((datasets.len(), next))
    }

    /// Records the end of a run: SUCCEEDED (starts the 24-hour window) or FAILED.
    pub fn finish_bulk_publish(&self, pool: &str, result: Result<(), &str>) -> Result<(), ApiError> {
        let now = self.clock.now_ms();
        let conn = self.lock();
        match result {
            Ok(()) => conn.execute(
                "UPDATE pools SET bulk_status='SUCCEEDED', bulk_complete_ms=?2, bulk_last_success_ms=?2 WHERE pool=?1",
                params![pool, now],
            )?,
            Err(message) => conn.execute(
                "UPDATE pools SET bulk_status='FAILED', bulk_complete_ms=?2, bulk_failure=?3 WHERE pool=?1",
                params![pool, now, message],
            )?,
        };
        Ok(())
    }

    /// GetBulkPublishDetails.
    pub fn bulk_details(&self, pool: &str) -> Result<BulkDetails, ApiError> {
        let conn = self.lock();
        conn.prepare_cached(
            "SELECT bulk_status, bulk_start_ms, bulk_complete_ms, bulk_failure FROM pools WHERE pool=?1",
        )?
        .query_row(params![pool], |r| {
            Ok(BulkDetails {
                status: BulkStatus::parse(&r.get::<_, String>(0)?),
                start_ms: r.get(1)?,
                complete_ms: r.get(2)?,
                failure: r.get(3)?,
            })
        })
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))
    }
}
