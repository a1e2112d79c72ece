//! synclake's Kinesis consumer: reads every shard of a stream into the output table, exactly
//! once, across crashes and resharding.
//!
//! - [`client`]: the SDK client and the stream; [`error`]: failures, classified once;
//! - [`shards`]: discovery and lineage (children after their parents);
//! - [`reader`]: polling `GetRecords` or enhanced fan-out, within the service's limits;
//! - [`worker`]: a shard's buffer, flushed by [`flush`] policy through the core
//!   ([`synclake_lake::write_batch_gated`], the same decode → table path as `replay`);
//! - [`checkpoint`]: where progress is durable, bound to one incarnation of the stream;
//!   [`lease`]: the same in a DynamoDB lease table shared by several workers;
//!   [`fence`]: the table names the one state that writes a stream into it;
//!   [`consumer`]: the run loop;
//! - [`metrics`] and [`serve`]: counters and the Prometheus endpoint.
//!
//! # The commit protocol: every record in the table exactly once
//!
//! Each shard is consumed by one worker, which buffers the records its reader hands over
//! and flushes them as one batch (by count, bytes, age or memory pressure). A shard's state is
//! `{checkpoint, pending, finished}`, kept in the [`CheckpointStore`](checkpoint::CheckpointStore)
//! and replaced atomically. A flush of records `r[a..=b]` does, in this order:
//!
//! 1. **Recover.** If the state names a pending flush, delete every file it lists (deleting a
//!    file that is not there succeeds), then save the state without it.
//! 2. **Convert** the records into one file per partition plus one dead-letter file, each
//!    named after the first record in it (`part-<shard>-<sequence number>-<n>.parquet`).
//! 3. **Record the intent**: save `pending = {first: r[a], last: r[b], keys}` with the key of
//!    every file about to be committed. Nothing is committed before this save is durable.
//! 4. **Commit** the files (local: written beside, fsynced, renamed into place; S3: one PUT
//!    each, visible whole or not at all).
//! 5. **Checkpoint**: save `checkpoint = r[b]` and `pending = none` in one state update. If
//!    only a prefix `r[a..k]` could be written (an S3Url body that may yet be fetched, a failed
//!    PUT), the files then hold exactly that prefix, the checkpoint becomes `r[k-1]`, any file
//!    that may hold later records stays listed in `pending`, and the rest is retried.
//!
//! **After a crash at any instant**, the state is one of the saved ones. A restart first
//! deletes the files of a pending flush (step 1) — these are the only files that can hold
//! records after the checkpoint — and then reads the shard again *after* the checkpoint. So a
//! record before the checkpoint is in exactly one committed file and is never read again, and a
//! record after it is in no file until a new flush writes it: nothing is lost, nothing is
//! duplicated. A file is never committed without being listed first (step 3 before 4), and a
//! checkpoint never covers a record whose file is not durable (step 4 before 5).
//!
//! **Shard ends.** When a closed shard has been read to its end and flushed, its state is saved
//! `finished`; its children (after a split or merge) are read only once every parent is
//! finished, so per-key order holds in the table. A child with no checkpoint starts at its
//! trim horizon, whatever the configured start position.
//!
//! **One consumer per state, one state per table and stream.** The file store takes a lock on
//! its directory and binds the state to its output table and to one incarnation of the stream
//! (ARN and creation time); the table's owner marker ([`fence`]) binds the table and stream to
//! one state. See `docs/consume.md` for the operations.
//!
//! **Several workers** ([`lease`]): with a DynamoDB lease table, each shard's state lives in its
//! lease, and every save above is a conditional update on the lease's owner and counter; step 1
//! begins with one before it deletes anything, and step 4 also waits on the holder's own
//! deadline. A worker that lost a lease can neither start a commit nor checkpoint; the next
//! holder begins with step 1. Files carry the lease's counter in their names, so holders never
//! share a file.

pub mod backoff;
pub mod checkpoint;
pub mod client;
pub mod consumer;
pub mod error;
pub mod fence;
pub mod flush;
pub mod lease;
pub mod metrics;
pub mod reader;
pub mod serve;
pub mod shards;
pub mod worker;

pub use checkpoint::{CheckpointStore, FileStore, ShardState};
pub use client::{KinesisOptions, Stream};
pub use consumer::{Consumer, ConsumerConfig, RunSummary, StartPosition};
pub use error::ConsumeError;
pub use flush::FlushPolicy;
pub use lease::LeaseOptions;
pub use reader::poll::PollOptions;
pub use worker::Committed;
