//! Storage: one embedded SQLite database (bundled `rusqlite`) holding datasets, records, sync
//! sessions, pool settings, bulk-publish state, devices and subscriptions, and the stream
//! outbox.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous = NORMAL`: a request is answered only after
//! its transaction committed to the WAL file, so a **process crash** (SIGKILL included) loses
//! nothing acknowledged. A **power loss** may lose the last transactions acknowledged before it
//! (SQLite syncs the WAL at checkpoints, not at every commit); the database stays consistent.
//! Checkpoints (copying the WAL into the database, with its fsync) run on a thread of their own
//! with its own connection, every [`CHECKPOINT_EVERY`], never inside a request's commit. With
//! `--sync-every-commit` (`synchronous = FULL`) every commit also fsyncs the WAL before the
//! request is answered: a power loss loses nothing acknowledged either.
//!
//! # Concurrency
//! One connection serves every request, one transaction at a time (`BEGIN IMMEDIATE` for
//! writes): simultaneous UpdateRecords on one record are serialized, the sync-count check of the
//! second sees the first's commit, and exactly one wins. Callers run these synchronous methods
//! off the async runtime (`Service::db`).
//!
//! Modules: `schema` (tables), `datasets` (datasets and usage), `records` (ListRecords,
//! UpdateRecords, sessions), `pools` (settings, events, bulk-publish state), `push` (devices,
//! subscriptions, notifications), `outbox` (stream records waiting for, or kept instead of,
//! Kinesis).

mod datasets;
mod outbox;
mod pools;
mod push;
mod records;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

pub use outbox::{OutboxRow, OutboxState};
pub use pools::ChangeRouting;
pub use records::{ListedRecords, PreparedUpdate, UpdateOutcome};

use crate::clock::Clock;
use crate::config::Limits;

/// The database, shared by clones.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    clock: Clock,
    limits: Limits,
    session_ttl_ms: i64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The database file under `--data-dir`.
pub const DB_FILE: &str = "cognito-sync.sqlite3";

/// How often the checkpointer copies the WAL into the database.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Store {
    /// Opens (creating if needed) the database under `dir`.
    /// `sync_every_commit` makes every commit fsync the WAL (`synchronous = FULL`): nothing
    /// acknowledged is lost to a power loss either, at the price of one fsync per change.
    pub fn open(
        dir: &Path,
        clock: Clock,
        limits: Limits,
        session_ttl_secs: u64,
        sync_every_commit: bool,
    ) -> rusqlite::Result<Store> {
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", if sync_every_commit { "FULL" } else { "NORMAL" })?;
        // Checkpoints happen off the request path (below), not when a commit fills the WAL.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let store = Store::with_connection(conn, clock, limits, session_ttl_secs)?;
        let checkpointer = Connection::open(&path)?;
        checkpointer.busy_timeout(std::time::Duration::from_secs(5))?;
        let owner = Arc::downgrade(&store.conn);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &owner))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(store)
    }

    /// A database that lives only as long as the process (`--in-memory`).
    pub fn in_memory(clock: Clock, limits: Limits, session_ttl_secs: u64) -> rusqlite::Result<Store> {
        Store::with_connection(Connection::open_in_memory()?, clock, limits, session_ttl_secs)
    }

    fn with_connection(
        conn: Connection,
        clock: Clock,
        limits: Limits,
        session_ttl_secs: u64,
    ) -> rusqlite::Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::create(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            clock,
            limits,
            session_ttl_ms: i64::try_from(session_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        })
    }

    /// SQLite's `synchronous` setting in force (1 NORMAL, 2 FULL), for diagnostics and tests.
    pub fn synchronous(&self) -> rusqlite::Result<i64> {
        self.lock().pragma_query_value(None, "synchronous", |r| r.get(0))
    }

    /// The clock the store stamps changes with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (the transaction rolls
        // back when its guard drops), so the poison flag carries no information.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Copies the WAL into the database until the store is dropped. PASSIVE: it never waits for,
/// nor holds up, the writer.
fn checkpoint_loop(conn: &Connection, owner: &std::sync::Weak<Mutex<Connection>>) {
    while owner.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
        }
    }
    // A last full checkpoint, so that a clean stop leaves a short WAL.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
