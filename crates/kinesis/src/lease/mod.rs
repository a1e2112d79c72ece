//! Several workers sharing one stream through a DynamoDB lease table (`--lease-table`).
//!
//! # The model
//!
//! One item per shard, keyed by shard id, holds the shard's
//! [`ShardState`](crate::checkpoint::ShardState) (checkpoint,
//! pending flush, start, finished) and its lease: an owner and a **lease counter**. The counter
//! is raised by every change of owner and by every heartbeat; it is the fencing token.
//!
//! - **Heartbeats.** Every quarter of the lease duration a worker raises the counter of each
//!   lease it holds, on condition that owner and counter are what it last wrote. A refusal
//!   means the lease was taken: the shard's worker stops.
//! - **Expiry without shared clocks.** Each worker notes, by its own clock, when it last saw a
//!   lease's counter change. A lease whose counter has not moved for a whole lease duration is
//!   expired and may be taken. The holder considers its lease valid only for three quarters
//!   of the duration after it *sent* its last successful heartbeat, so it stops committing
//!   before anyone can take over.
//! - **Taking** is a conditional write naming the owner and counter seen: of two workers
//!   racing for a lease, one wins.
//! - **Fair shares, gradually.** Each scan (every half lease duration) a worker takes free and
//!   expired readable leases up to its share, `ceil(readable / live workers)`. When none is
//!   free and the busiest worker holds at least two more than it does, it *asks* for one
//!   lease (sets `synclakeHandoffTo`; one request open at a time). The holder sees the request
//!   at its next heartbeat, flushes and checkpoints the shard, and hands the lease over
//!   (owner set to the asker, counter raised), so no records are read twice and no lease
//!   waits to expire.
//! - **Fencing.** Every save — the commit intent before files are committed, the checkpoint
//!   after, the first write of a recovery — is a conditional update on owner and counter, and
//!   after the intent the holder's own deadline is checked before any file is committed. A
//!   worker that lost its lease (paused, partitioned, stalled) can never checkpoint again and
//!   commits nothing new. Files carry the lease's counter at its taking in their names, so
//!   two holders never write the same file; if a holder's checkpoint is refused after its
//!   files were committed, it deletes them when the holders since began before them
//!   (`synclakeTakenFrom`), and the next holder deletes whatever a pending flush names before
//!   reading on.
//! - **Graceful hand-off.** On SIGTERM a worker flushes, checkpoints and releases its leases
//!   (owner removed, counter raised); others take them at their next scan.
//!
//! See `docs/consume.md` for the operations and where this differs from the Kinesis Client
//! Library.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;

pub mod balance;
pub mod fleet;
pub mod item;
pub mod store;
pub mod table;

pub use fleet::{Fleet, LeaseEvent};
pub use store::LeaseStore;

/// How a worker shares the stream through a lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOptions {
    /// The DynamoDB table (created on first use with on-demand billing).
    pub table: String,
    /// A DynamoDB-compatible endpoint instead of AWS's.
    pub endpoint_url: Option<String>,
    /// This worker's name (default `<host>:<pid>`); the id is `<name>#<random>`, new per process.
    pub worker_id: Option<String>,
    /// How long a lease lives without a heartbeat: the fail-over time.
    pub duration: Duration,
}

impl LeaseOptions {
    /// Default of [`LeaseOptions::duration`].
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

    /// Defaults for `table`.
    pub fn new(table: impl Into<String>) -> LeaseOptions {
        LeaseOptions {
            table: table.into(),
            endpoint_url: None,
            worker_id: None,
            duration: Self::DEFAULT_DURATION,
        }
    }
}

/// A DynamoDB client from the standard AWS configuration with the given overrides, each
/// attempt bounded by a quarter of the lease duration and each call (with the SDK's retries)
/// by half of it: a hung connection costs one heartbeat, not the leases.
pub async fn connect(endpoint_url: Option<&str>, region: Option<&str>, lease: Duration) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(lease / 4)
        .operation_timeout(lease / 2)
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}
