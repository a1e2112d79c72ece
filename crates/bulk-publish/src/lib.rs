//! The bulk-publish orchestrator: Cognito Sync's `BulkPublish` — which re-publishes every
//! existing dataset of an identity pool to its Cognito Streams stream, the backfill that makes
//! the table complete — run right, per pool, from the `synclake bulk-publish` command or the
//! `bulk-publish` Lambda.
//!
//! By hand it is three API calls, polling and guessing at errors. Here, per pool:
//!
//! ```text
//! preflight (GetIdentityPoolConfiguration; optionally SetIdentityPoolConfiguration to enable streaming)
//!   ─► start (BulkPublish: started | DuplicateRequest → attach | AlreadyStreamed → when the next is allowed)
//!   ─► watch (GetBulkPublishDetails with backoff and jitter, until SUCCEEDED or FAILED)
//!   ─► record (one row in <table>/_bulk_publish/, create-only) ─► report
//! ```
//!
//! - [`client`]: the `aws-sdk-cognitosync` client, its retries (throttling and transient errors,
//!   with backoff and jitter, are the SDK's standard retry strategy).
//! - [`pool`]: the three steps above for one pool ([`run_pool`]) and their outcomes.
//! - [`advance`]: one idempotent step per call, for the Lambda driven by a Step Functions loop.
//! - [`record`]: the `_bulk_publish/` rows.
//! - [`report`]: per-pool reports, their JSON and the exit codes.
//! - [`orchestrate`]: several pools (or all of them, paginated), concurrently with a bound.

pub mod advance;
pub mod client;
pub mod orchestrate;
pub mod pool;
pub mod record;
pub mod report;

pub use advance::{AdvanceInput, AdvanceState, advance};
pub use orchestrate::{PoolSelection, list_pools, run_pools};
pub use pool::{EnableStreaming, Options, run_pool};
pub use report::{PoolReport, Status, exit_code};
