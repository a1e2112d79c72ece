//! Cognito Streams out of the outbox: every pending stream record is put on its Kinesis stream
//! with `PutRecord` (as Cognito does), in order per partition key, and leaves the outbox only
//! once Kinesis acknowledged it.
//!
//! Streams are served one after the other and independently: a stream that fails (missing,
//! throttled) backs off on its own and never holds up another.
//!
//! # Guarantee
//! A change's stream record is committed with the change, before the change is acknowledged, so
//! it survives a crash; it is put **at least once** (a crash between Kinesis's acknowledgement
//! and the outbox delete puts it again — consumers de-duplicate by record version, as they must
//! for bulk publishes anyway). Transient failures (throttling, a stream being created, an
//! unreachable endpoint) are retried with backoff, forever; a record Kinesis refuses for good
//! (too large, invalid) stays in the outbox as `failed`, with the reason, and is logged at ERROR.
//! Records larger than `[s3url] threshold_bytes` go as S3Url payloads: the records array is
//! stored in S3 first and the stream record carries a presigned GET URL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use futures::StreamExt as _;
use object_store::ObjectStoreExt as _;
use object_store::signer::Signer as _;
use tokio::sync::Notify;

use crate::config::{Config, S3UrlConfig};
use crate::store::{OutboxRow, Store};

/// Rows taken from the outbox per stream and round.
const ROUND: usize = 256;
/// The most a Kinesis record holds: data and partition key together.
const KINESIS_MAX_RECORD: usize = 1024 * 1024;
/// Partition keys put concurrently.
const CONCURRENCY: usize = 16;
/// Backoff bounds after a transient failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How long an idle publisher sleeps when nothing wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// A failing stream's pause.
struct Backoff {
    wait: Duration,
    until: Instant,
}

/// Puts outbox rows on Kinesis.
pub struct Publisher {
    store: Store,
    kinesis: aws_sdk_kinesis::Client,
    s3url: Option<S3Url>,
    wake: Arc<Notify>,
}

struct S3Url {
    config: S3UrlConfig,
    store: object_store::aws::AmazonS3,
}

enum PutError {
    Transient(String),
    Permanent(String),
}

impl Publisher {
    /// A publisher for the configuration's `[kinesis]` (and `[s3url]`), or `None` when the
    /// stream is embedded.
    pub async fn new(
        config: &Config,
        store: Store,
        wake: Arc<Notify>,
    ) -> Result<Option<Publisher>, object_store::Error> {
        let Some(endpoint) = &config.kinesis else {
            return Ok(None);
        };
        let kinesis = aws_sdk_kinesis::Client::new(&crate::aws::sdk_config(&config.region, endpoint).await);
        let s3url = match &config.s3url {
            Some(c) => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&c.bucket)
                    .with_region(&config.region);
                if let Some(url) = &c.endpoint.endpoint {
                    builder = builder.with_endpoint(url).with_allow_http(url.starts_with("http://"));
                }
                if let (Some(a), Some(s)) = (&c.endpoint.access_key, &c.endpoint.secret_key) {
                    builder = builder.with_access_key_id(a).with_secret_access_key(s);
                }
                Some(S3Url {
                    config: c.clone(),
                    store: builder.build()?,
                })
            }
            None => None,
        };
        Ok(Some(Publisher {
            store,
            kinesis,
            s3url,
            wake,
        }))
    }

    /// Runs until `shutdown` resolves, then returns (pending rows stay for the next start).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.outbox_retry_failed()).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(records = n, "stream records refused before are retried"),
            Ok(Ok(_)) => {}
            _ => tracing::error!("cannot read the stream outbox"),
        }
        let mut backoff: HashMap<String, Backoff> = HashMap::new();
        loop {
            let store = self.store.clone();
            let streams = match tokio::task::spawn_blocking(move || store.outbox_pending_streams()).await {
                Ok(Ok(s)) => s,
                _ => {
                    tracing::error!("cannot read the stream outbox");
                    Vec::new()
                }
            };
            let now = Instant::now();
            let mut progressed = false;
            for stream in streams {
                if backoff.get(&stream).is_some_and(|b| b.until > now) {
                    continue;
                }
                let (store, name) = (self.store.clone(), stream.clone());
                let rows = match tokio::task::spawn_blocking(move || store.outbox_pending_for(&name, ROUND)).await {
                    Ok(Ok(rows)) => rows,
                    _ => continue,
                };
                if self.round(rows).await {
                    progressed = true;
                    if backoff.remove(&stream).is_some() {
                        tracing::info!(stream = %stream, "PutRecord succeeds again");
                    }
                } else {
                    let b = backoff.entry(stream.clone()).or_insert_with(|| {
                        tracing::warn!(stream = %stream, "PutRecord failing; retrying with backoff (records wait in the outbox)");
                        Backoff { wait: BACKOFF_MIN / 2, until: now }
                    });
                    b.wait = (b.wait * 2).min(BACKOFF_MAX);
                    b.until = Instant::now() + b.wait;
                }
            }
            if progressed {
                continue;
            }
            let next_retry = backoff.values().map(|b| b.until).min();
            let idle = next_retry.map_or(IDLE_WAIT, |t| {
                t.saturating_duration_since(Instant::now()).min(IDLE_WAIT)
            });
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// Puts one round; `false` when something must be retried later.
    async fn round(&self, rows: Vec<OutboxRow>) -> bool {
        let mut groups: Vec<Vec<OutboxRow>> = Vec::new();
        // A round holds one stream's rows: the partition key alone keeps their order.
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let key = row.change.partition_key();
            let i = *index.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[i].push(row);
        }
        let results: Vec<bool> = futures::stream::iter(groups)
            .map(|group| self.put_group(group))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().all(|ok| ok)
    }

    /// Puts one partition key's rows in order, stopping at the first transient failure.
    async fn put_group(&self, group: Vec<OutboxRow>) -> bool {
        for row in group {
            let seq = row.seq;
            let outcome = self.put(&row).await;
            let store = self.store.clone();
            let (done, ok) = match outcome {
                Ok(()) => (
                    tokio::task::spawn_blocking(move || store.outbox_published(&[seq])).await,
                    true,
                ),
                Err(PutError::Permanent(reason)) => {
                    tracing::error!(seq, stream = %row.stream, reason = %reason, "Kinesis refused a stream record for good; kept in the outbox as failed");
                    (
                        tokio::task::spawn_blocking(move || store.outbox_attempt_failed(seq, &reason, true)).await,
                        true,
                    )
                }
                Err(PutError::Transient(reason)) => {
                    tracing::debug!(seq, stream = %row.stream, reason = %reason, "PutRecord failed; will retry");
                    (
                        tokio::task::spawn_blocking(move || store.outbox_attempt_failed(seq, &reason, false)).await,
                        false,
                    )
                }
            };
            if !matches!(done, Ok(Ok(()))) {
                tracing::error!(seq, "cannot update the stream outbox");
                return false;
            }
            if !ok {
                return false;
            }
        }
        true
    }

    async fn put(&self, row: &OutboxRow) -> Result<(), PutError> {
        let mut data = row.change.render_inline();
        let key = row.change.partition_key();
        let fits = data.len() + key.len() <= KINESIS_MAX_RECORD;
        match &self.s3url {
            Some(s3) if !fits || data.len() > s3.config.threshold_bytes => data = self.upload(s3, row).await?,
            None if !fits => {
                return Err(PutError::Permanent(format!(
                    "the record is {} bytes, more than a Kinesis record holds, and no [s3url] is configured to send it as an S3Url payload",
                    data.len()
                )));
            }
            _ => {}
        }
        let result = self
            .kinesis
            .put_record()
            .stream_name(&row.stream)
            .partition_key(key)
            .data(Blob::new(data))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
                match e.as_service_error() {
                    Some(s) if s.is_invalid_argument_exception() || s.is_kms_invalid_state_exception() => {
                        Err(PutError::Permanent(text))
                    }
                    _ => Err(PutError::Transient(text)),
                }
            }
        }
    }

    /// Stores the records array in S3 and answers the S3Url stream record.
    async fn upload(&self, s3: &S3Url, row: &OutboxRow) -> Result<Vec<u8>, PutError> {
        let c = &row.change;
        let path = object_store::path::Path::from(format!(
            "{}{}/{}/{}/{}-{}.json",
            s3.config.prefix, c.pool_id, c.identity_id, c.dataset, c.sync_count, row.seq
        ));
        let body = c.records_json.clone().unwrap_or_else(|| "[]".to_owned());
        s3.store
            .put(&path, body.into_bytes().into())
            .await
            .map_err(|e| PutError::Transient(format!("S3 upload of {path}: {e}")))?;
        let url = s3
            .store
            .signed_url(http::Method::GET, &path, Duration::from_secs(s3.config.url_expiry_secs))
            .await
            .map_err(|e| PutError::Transient(format!("presign {path}: {e}")))?;
        Ok(c.render_s3url(url.as_str()))
    }
}
