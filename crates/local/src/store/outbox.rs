//! The stream outbox: every change's stream record, written in the change's own transaction.
//!
//! With Kinesis configured, the publisher puts pending rows and deletes them once Kinesis has
//! acknowledged them: a change's record is never lost (it is durable before the change is
//! acknowledged) and is put at least once. Without Kinesis, the rows are the embedded stream
//! and stay.

use rusqlite::{Transaction, params};

use super::Store;
use crate::error::ApiError;
use crate::model::Op;
use crate::payload::StreamChange;

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be put.
    Pending,
    /// Refused by Kinesis for good (kept, with the reason).
    Failed,
}

/// One stream record waiting in, or kept by, the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its position: the embedded stream's sequence number.
    pub seq: i64,
    /// The stream it goes to.
    pub stream: String,
    /// The change.
    pub change: StreamChange,
    /// Put attempts so far.
    pub attempts: i64,
}

pub(super) fn insert(tx: &Transaction<'_>, stream: &str, change: &StreamChange) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (stream, pool, identity, dataset, operation, sync_count, modified_ms, records)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        stream,
        change.pool_id,
        change.identity_id,
        change.dataset,
        change.operation.as_str(),
        change.sync_count,
        change.last_modified_ms,
        change.records_json
    ])?;
    Ok(())
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let operation: String = r.get(5)?;
    Ok(OutboxRow {
        seq: r.get(0)?,
        stream: r.get(1)?,
        change: StreamChange {
            pool_id: r.get(2)?,
            identity_id: r.get(3)?,
            dataset: r.get(4)?,
            operation: if operation == "remove" { Op::Remove } else { Op::Replace },
            sync_count: r.get(6)?,
            last_modified_ms: r.get(7)?,
            records_json: r.get(8)?,
        },
        attempts: r.get(9)?,
    })
}

const COLUMNS: &str = "seq, stream, pool, identity, dataset, operation, sync_count, modified_ms, records, attempts";

impl Store {
    /// The streams that have pending rows.
    pub fn outbox_pending_streams(&self) -> Result<Vec<String>, ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT DISTINCT stream FROM outbox WHERE state='pending'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The oldest pending rows of one stream.
    pub fn outbox_pending_for(&self, stream: &str, limit: usize) -> Result<Vec<OutboxRow>, ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state='pending' AND stream=?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![stream, i64::try_from(limit).unwrap_or(i64::MAX)], read_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Puts the rows Kinesis refused for good back in line (at start: the cause may be fixed,
    /// e.g. `[s3url]` configured since). Answers how many.
    pub fn outbox_retry_failed(&self) -> Result<usize, ApiError> {
        let conn = self.lock();
        Ok(conn.execute("UPDATE outbox SET state='pending' WHERE state='failed'", [])?)
    }

    /// Every row after `after` in sequence order, whatever its state: the embedded stream.
    pub fn outbox_after(&self, after: i64, limit: usize) -> Result<Vec<OutboxRow>, ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], read_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Kinesis acknowledged these rows: they leave the outbox.
    pub fn outbox_published(&self, seqs: &[i64]) -> Result<(), ApiError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("DELETE FROM outbox WHERE seq=?1")?;
        for seq in seqs {
            stmt.execute(params![seq])?;
        }
        Ok(())
    }

    /// A put failed: count it; `permanent` keeps the row as failed instead of retrying it.
    pub fn outbox_attempt_failed(&self, seq: i64, error: &str, permanent: bool) -> Result<(), ApiError> {
        let conn = self.lock();
        conn.prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, last_error=?2, state = CASE WHEN ?3 THEN 'failed' ELSE state END WHERE seq=?1",
        )?
        .execute(params![seq, error, permanent])?;
        Ok(())
    }

    /// Rows by state: (pending, failed).
    pub fn outbox_counts(&self) -> Result<(i64, i64), ApiError> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT coalesce(sum(state='pending'), 0), coalesce(sum(state='failed'), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}
