//! Datasets: describe, list, delete, and the usage figures built from them.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::Store;
use super::records::{decode_page_token, encode_token};
use crate::error::ApiError;
use crate::model::{Dataset, IdentityUsage, Op, PoolUsage};
use crate::payload::StreamChange;

const DATASET_COLUMNS: &str =
    "identity, name, created_ms, modified_ms, modified_by, data_bytes, num_records, sync_count";

fn read_dataset(r: &rusqlite::Row<'_>) -> rusqlite::Result<Dataset> {
    Ok(Dataset {
        identity_id: r.get(0)?,
        name: r.get(1)?,
        creation_ms: r.get(2)?,
        last_modified_ms: r.get(3)?,
        last_modified_by: r.get(4)?,
        data_storage: r.get(5)?,
        num_records: r.get(6)?,
        sync_count: r.get(7)?,
    })
}

impl Store {
    /// DescribeDataset: the live dataset or ResourceNotFound.
    pub fn describe_dataset(&self, pool: &str, identity: &str, name: &str) -> Result<Dataset, ApiError> {
        let conn = self.lock();
        conn.prepare_cached(&format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE pool=?1 AND identity=?2 AND name=?3 AND live=1"
        ))?
        .query_row(params![pool, identity, name], read_dataset)
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!("Dataset {name} not found")))
    }

    /// ListDatasets: live datasets by name, a page at a time.
    pub fn list_datasets(
        &self,
        pool: &str,
        identity: &str,
        next_token: Option<&str>,
        max: usize,
    ) -> Result<(Vec<Dataset>, Option<String>), ApiError> {
        let after = decode_page_token(next_token)?;
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE pool=?1 AND identity=?2 AND live=1 AND name > ?3 ORDER BY name LIMIT ?4"
        ))?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1);
        let mut out = stmt
            .query_map(
                params![pool, identity, after.as_deref().unwrap_or(""), limit],
                read_dataset,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut next = None;
        if out.len() > max {
            out.truncate(max);
            next = out.last().map(|d| encode_token(&d.name));
        }
        Ok((out, next))
    }

    /// DeleteDataset: removes the records, keeps the dataset's sync count (so ListRecords can
    /// tell a client the dataset was deleted after what it saw), and puts a record-less
    /// `remove` on the stream when `stream` is set. Answers the dataset as it was.
    pub fn delete_dataset(
        &self,
        pool: &str,
        identity: &str,
        name: &str,
        modified_by: &str,
        stream: Option<&str>,
    ) -> Result<Dataset, ApiError> {
        let now = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let dataset = tx
            .prepare_cached(&format!(
                "SELECT {DATASET_COLUMNS} FROM datasets WHERE pool=?1 AND identity=?2 AND name=?3 AND live=1"
            ))?
            .query_row(params![pool, identity, name], read_dataset)
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("Dataset {name} not found")))?;
        let count = dataset.sync_count + 1;
        tx.execute(
            "UPDATE datasets SET live=0, sync_count=?4, deleted_at_count=?4, modified_ms=?5, modified_by=?6, num_records=0, data_bytes=0
             WHERE pool=?1 AND identity=?2 AND name=?3",
            params![pool, identity, name, count, now, modified_by],
        )?;
        tx.execute(
            "DELETE FROM records WHERE pool=?1 AND identity=?2 AND dataset=?3",
            params![pool, identity, name],
        )?;
        if let Some(stream) = stream {
            super::outbox::insert(
                &tx,
                stream,
                &StreamChange {
                    pool_id: pool.to_owned(),
                    identity_id: identity.to_owned(),
                    dataset: name.to_owned(),
                    operation: Op::Remove,
                    sync_count: count,
                    last_modified_ms: now,
                    records_json: None,
                },
            )?;
        }
        tx.commit()?;
        Ok(dataset)
    }

    /// DescribeIdentityUsage; `None` when the identity holds nothing and never did.
    pub fn identity_usage(&self, pool: &str, identity: &str) -> Result<Option<IdentityUsage>, ApiError> {
        let conn = self.lock();
        let (rows, live, bytes, modified): (i64, i64, i64, Option<i64>) = conn
            .prepare_cached(
                "SELECT count(*), coalesce(sum(live), 0), coalesce(sum(data_bytes), 0), max(modified_ms)
                 FROM datasets WHERE pool=?1 AND identity=?2",
            )?
            .query_row(params![pool, identity], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        Ok((rows > 0).then(|| IdentityUsage {
            identity_id: identity.to_owned(),
            pool_id: pool.to_owned(),
            last_modified_ms: modified,
            dataset_count: live,
            data_storage: bytes,
        }))
    }

    /// DescribeIdentityPoolUsage for one pool (which must be in the `pools` table).
    pub fn pool_usage(&self, pool: &str) -> Result<PoolUsage, ApiError> {
        let conn = self.lock();
        pool_usage(&conn, pool)
    }

    /// ListIdentityPoolUsage: the configured pools by id, a page at a time (a pool dropped
    /// from the configuration keeps its data but is not listed).
    pub fn list_pool_usage(
        &self,
        configured: &[String],
        next_token: Option<&str>,
        max: usize,
    ) -> Result<(Vec<PoolUsage>, Option<String>), ApiError> {
        let after = decode_page_token(next_token)?.unwrap_or_default();
        let mut ids: Vec<&String> = configured.iter().filter(|p| p.as_str() > after.as_str()).collect();
        ids.sort();
        ids.dedup();
        let conn = self.lock();
        let mut out = Vec::with_capacity(max.min(ids.len()));
        for id in ids.iter().take(max) {
            out.push(pool_usage(&conn, id)?);
        }
        let next = (ids.len() > max)
            .then(|| out.last().map(|u| encode_token(&u.pool_id)))
            .flatten();
        Ok((out, next))
    }
}

fn pool_usage(conn: &rusqlite::Connection, pool: &str) -> Result<PoolUsage, ApiError> {
    let sync_sessions: i64 = conn
        .prepare_cached("SELECT sync_sessions FROM pools WHERE pool=?1")?
        .query_row(params![pool], |r| r.get(0))
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!("IdentityPool {pool} not found")))?;
    let (bytes, modified): (i64, Option<i64>) = conn
        .prepare_cached("SELECT coalesce(sum(data_bytes), 0), max(modified_ms) FROM datasets WHERE pool=?1")?
        .query_row(params![pool], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(PoolUsage {
        pool_id: pool.to_owned(),
        sync_sessions,
        data_storage: bytes,
        last_modified_ms: modified,
    })
}
