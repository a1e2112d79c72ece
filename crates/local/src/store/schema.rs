//! The tables. `CREATE ... IF NOT EXISTS` throughout: opening an existing database is a no-op.

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS datasets (
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    name TEXT NOT NULL,
    live INTEGER NOT NULL,            -- 1: exists; 0: deleted (kept for its sync count)
    sync_count INTEGER NOT NULL,      -- continues across delete and re-create
    deleted_at_count INTEGER,         -- the sync count of the last deletion
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    modified_by TEXT NOT NULL,
    num_records INTEGER NOT NULL,
    data_bytes INTEGER NOT NULL,
    PRIMARY KEY (pool, identity, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    dataset TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,                       -- NULL: removed
    sync_count INTEGER NOT NULL,      -- the record's own count
    changed_at INTEGER NOT NULL,      -- the dataset sync count of its last change
    modified_ms INTEGER NOT NULL,
    device_modified_ms INTEGER,
    modified_by TEXT NOT NULL,
    PRIMARY KEY (pool, identity, dataset, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pools (
    pool TEXT PRIMARY KEY,
    settings TEXT NOT NULL DEFAULT '{}',
    sync_trigger TEXT,
    sync_sessions INTEGER NOT NULL DEFAULT 0,
    bulk_status TEXT NOT NULL DEFAULT 'NOT_STARTED',
    bulk_start_ms INTEGER,
    bulk_complete_ms INTEGER,
    bulk_failure TEXT,
    bulk_last_success_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    platform TEXT NOT NULL,
    token TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    dataset TEXT NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (pool, identity, dataset, device_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    dataset TEXT NOT NULL,
    device_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    token TEXT NOT NULL,
    sync_count INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    pool TEXT NOT NULL,
    identity TEXT NOT NULL,
    dataset TEXT NOT NULL,
    operation TEXT NOT NULL,
    sync_count INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    records TEXT,                     -- the kinesisSyncRecords array; NULL: record-less
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | published | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
-- Serves the publisher (pending rows per stream, in order) and the retry of failed rows.
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (state, stream, seq);
";

/// Creates the tables that do not exist yet.
pub fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}
