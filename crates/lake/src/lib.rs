//! The synclake output table: Cognito Streams records → Hive-partitioned Parquet.
//!
//! Data flows through the modules in this order:
//! - [`input`]: replay inputs (files, directories, gzip), their format, units of work;
//! - [`convert`]: the core shared by every way in: source record → payload → rows per
//!   partition (`rows`, [`partition`]) or dead letters ([`dead_letter`]); S3Url bodies come
//!   from [`fetch`], under its allow policy ([`fetch::policy`]), and [`fetch_retry`] says when
//!   a record whose fetch keeps failing is given up on;
//! - [`writer`]: rolled Parquet files per partition, memory bounded;
//! - [`store`]: spool files committed atomically to a local directory or S3;
//! - [`replay`]: the parallel file → table run built from the above.
//! - [`batch`]: one bounded batch of records (a Lambda invocation) → files, committed as a
//!   prefix of the batch so the source knows what to deliver again.
//!
//! [`schema`] defines the columns ([`ddl`]: as Glue and Athena declare them); [`error`] the
//! failures (bad input is never one: it is a dead letter).

pub mod batch;
pub mod convert;
pub mod ddl;
pub mod dead_letter;
pub mod error;
pub mod fetch;
pub mod fetch_retry;
pub mod input;
mod op_column;
pub mod partition;
mod payload_columns;
pub mod replay;
pub(crate) mod rows;
pub mod schema;
pub mod store;
pub mod writer;

pub use batch::{BatchFailure, BatchOptions, BatchOutcome, CommitGate, record_tag, write_batch, write_batch_gated};
pub use convert::{ConvertStats, Converter, Step};
pub use error::LakeError;
pub use fetch::{AllowedHost, FetchOptions, Fetcher};
pub use fetch_retry::{FetchExhausted, RetryLedger};
pub use partition::{PartitionColumn, PartitionSpec};
pub use replay::{Progress, ReplayOptions, ReplaySummary, replay};
pub use store::{CommitMode, S3Options, Store};
pub use writer::{Codec, WriterOptions};
