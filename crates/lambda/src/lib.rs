//! synclake's AWS Lambda functions, each a thin binary over this library.
//!
//! - `stream-to-parquet` ([`stream_to_parquet`]): a Kinesis event source mapping delivers
//!   batches of Cognito Streams records; each batch becomes Parquet files of the table on S3,
//!   with partial batch failures reported so that nothing is lost or duplicated. Its
//!   configuration ([`config`]) comes from the environment at cold start; the event is read
//!   record by record ([`event`]).
//! - `sync-trigger` ([`sync_trigger`]): Cognito Events' Sync Trigger, answered by the rules
//!   engine of `synclake-trigger`: each sync is accepted (possibly with values shaped) or
//!   refused.
//! - `bulk-publish` ([`bulk_publish`]): one idempotent step of a pool's bulk publish per
//!   invocation, for a Step Functions wait loop (`synclake-bulk-publish`'s `advance`).
//!
//! Each invocation's counts go to CloudWatch as Embedded Metric Format lines ([`metrics`]).
//!
//! Data flow of `stream-to-parquet`: event JSON → [`event::KinesisBatchEvent::items`] (source
//! records and bad records) → [`synclake_lake::write_batch`] (decode, rows, partitions, Parquet,
//! commit) → `KinesisEventResponse`.

pub mod bulk_publish;
pub mod config;
pub mod event;
pub mod metrics;
pub mod stream_to_parquet;
pub mod sync_trigger;

pub use config::{ConfigError, StreamConfig};
pub use event::KinesisBatchEvent;
pub use stream_to_parquet::{HandlerError, InitError, InvocationSummary, StreamToParquet};
