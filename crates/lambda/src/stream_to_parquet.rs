//! The stream-to-parquet function: one Kinesis batch → the table, with partial batch failures.
//!
//! Each invocation converts the batch with the core ([`write_batch`]), writes one file per
//! partition plus one dead-letter file under the output prefix, and answers Lambda with a
//! [`KinesisEventResponse`]:
//! - every record written (as rows, or as a dead letter when its data is bad): no failures;
//! - a fetch or write failure that may pass on retry: the sequence number of the first record
//!   not written. Lambda resumes the shard there; the files under this batch's tag hold
//!   exactly the records before it (see [`synclake_lake::batch`]), so nothing is duplicated;
//! - nothing settled and no sequence number to name (never the case for real Kinesis
//!   events): the invocation fails, and Lambda retries the whole batch. An empty item
//!   identifier would mean the same, less explicitly, so none is ever returned.

use std::time::Instant;

use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::Diagnostic;
use synclake_lake::{BatchFailure, BatchOptions, Fetcher, LakeError, Store, write_batch};
use synclake_records::Position;

use crate::config::{ConfigError, StreamConfig};
use crate::event::{BatchTags, KinesisBatchEvent};
use crate::metrics::{Metrics, name};

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A setting is missing or invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The output location cannot be used.
    #[error("output: {0}")]
    Output(#[from] LakeError),
    /// The HTTP client for S3Url fetches could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Why an invocation failed as a whole (Lambda then retries the whole batch).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Nothing of the batch could be settled, and its first record has no sequence number to
    /// report as a batch item failure.
    #[error("batch not written ({records} records): {source}")]
    NotWritten {
        /// Records in the batch.
        records: usize,
        /// The failure.
        #[source]
        source: BatchFailure,
    },
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match &e {
            HandlerError::NotWritten { .. } => "synclake.BatchNotWritten",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The function: clients and settings built once per container, shared by invocations.
#[derive(Debug)]
pub struct StreamToParquet {
    store: Store,
    fetcher: Fetcher,
    batch: BatchOptions,
}

/// What one invocation did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationSummary {
    /// Records in the batch.
    pub records: usize,
    /// Records written (rows or dead letters); the rest are reported for redelivery.
    pub written: usize,
    /// Rows written.
    pub rows: u64,
    /// Records that went to the dead letters.
    pub dead_letters: u64,
    /// Data files committed.
    pub files: u64,
    /// Keys committed, relative to the table root.
    pub committed: Vec<String>,
}

impl InvocationSummary {
    /// The invocation's metrics: records in the batch and left for redelivery, rows, dead
    /// letters and files written, and the time it took.
    pub fn metrics(&self, elapsed_ms: f64) -> Metrics {
        Metrics::default()
            .count(name::RECORDS, self.records as u64)
            .count(name::RECORDS_REDELIVERED, (self.records - self.written) as u64)
            .count(name::ROWS, self.rows)
            .count(name::DEAD_LETTERS, self.dead_letters)
            .count(name::FILES, self.files)
            .millis(name::BATCH_MILLIS, elapsed_ms)
    }
}

impl StreamToParquet {
    /// Builds the function from its configuration: opens the output and the HTTP client.
    pub fn new(config: &StreamConfig) -> Result<StreamToParquet, InitError> {
        let store = Store::open(&config.output, &config.s3, &config.spool_dir)?;
        let fetcher = Fetcher::new(config.fetch.clone())?;
        Ok(StreamToParquet {
            store,
            fetcher,
            batch: config.batch.clone(),
        })
    }

    /// The output location, for logs.
    pub fn output(&self) -> String {
        self.store.describe()
    }

    /// Handles one invocation: the response Lambda expects. With a `deadline` (the
    /// invocation's, less a margin to answer), it returns by then with what it settled.
    pub async fn handle(
        &self,
        event: &KinesisBatchEvent,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<KinesisEventResponse, HandlerError> {
        self.handle_with_summary(event, deadline)
            .await
            .map(|(response, _)| response)
    }

    /// Handles one invocation, also returning what it did.
    pub async fn handle_with_summary(
        &self,
        event: &KinesisBatchEvent,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(KinesisEventResponse, InvocationSummary), HandlerError> {
        let started = Instant::now();
        let items = event.items();
        let tags = BatchTags::new(&items);
        let tag = tags.tag(0);
        let tag_of = |i: usize| tags.tag(i);
        let outcome = write_batch(&items, &tag_of, &self.store, &self.fetcher, &self.batch, deadline).await;
        let summary = InvocationSummary {
            records: items.len(),
            written: outcome.written,
            rows: outcome.stats.rows,
            dead_letters: outcome.stats.dead_letters,
            files: outcome.files,
            committed: outcome.committed,
        };
        summary.metrics(started.elapsed().as_secs_f64() * 1000.0).emit();
        let mut response = KinesisEventResponse::default();
        if let Some(failure) = outcome.failure {
            let first_unwritten = items.get(outcome.written).map(|item| match item {
                Ok(record) => &record.lineage.position,
                Err(bad) => &bad.lineage.position,
            });
            match first_unwritten {
                Some(Position::Sequence(seq)) if !seq.is_empty() => {
                    tracing::warn!(tag, records = summary.records, written = summary.written,
                        retry_from = %seq, error = %failure,
                        "batch partly written; Lambda will redeliver from the first record not written");
                    response.add_failure(seq.as_ref());
                }
                _ => {
                    tracing::error!(tag, records = summary.records, written = summary.written, error = %failure,
                        "batch not written and no sequence number to report; failing the invocation");
                    return Err(HandlerError::NotWritten {
                        records: items.len(),
                        source: failure,
                    });
                }
            }
        }
        tracing::info!(
            tag,
            records = summary.records,
            written = summary.written,
            rows = summary.rows,
            dead_letters = summary.dead_letters,
            files = summary.files,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "batch done"
        );
        Ok((response, summary))
    }
}
