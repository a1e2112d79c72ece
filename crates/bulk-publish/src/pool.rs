//! One pool, start to end: preflight, start (or attach, or learn when the next run is allowed),
//! watch, report. Every answer the API models is handled here, once.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::{BulkPublishStatus, CognitoStreams, StreamingStatus};
use aws_smithy_types::error::display::DisplayErrorContext;
use rand::Rng as _;

use crate::report::{PoolReport, Status};

/// A successful bulk publish allows the next one this much later (fixed by AWS).
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Enable Cognito Streams first when it is off (`--enable-streaming`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnableStreaming {
    /// The Kinesis stream.
    pub stream: String,
    /// The role Cognito assumes to put records on it.
    pub role_arn: String,
}

/// How one pool is run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Enable streaming when it is off, instead of stopping.
    pub enable: Option<EnableStreaming>,
    /// Watch the run to its end (`false`: `--no-wait`).
    pub wait: bool,
    /// First pause between two GetBulkPublishDetails calls; it grows by half each time.
    pub poll_min: Duration,
    /// Longest pause between two calls.
    pub poll_max: Duration,
    /// Stop watching (the run goes on) after this long.
    pub max_wait: Duration,
    /// GetBulkPublishDetails failures in a row (after the SDK's own retries) before giving up.
    pub max_poll_failures: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enable: None,
            wait: true,
            poll_min: Duration::from_secs(1),
            poll_max: Duration::from_secs(30),
            max_wait: Duration::from_secs(24 * 3600),
            max_poll_failures: 10,
        }
    }
}

/// Epoch milliseconds, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn millis(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

/// What BulkPublish answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A run started.
    Started,
    /// A run was already in progress: watch that one.
    Attached,
    /// A run succeeded less than 24 hours ago, completing at this time (if the service says).
    AlreadyStreamed {
        /// `BulkPublishStartTime` of the last success.
        started_at: Option<i64>,
        /// `BulkPublishCompleteTime` of the last success.
        completed_at: Option<i64>,
    },
}

/// Checks that streaming is enabled, enabling it when asked (keeping the pool's other
/// settings: only `CognitoStreams` is sent). `Err` is the report to stop with.
pub async fn preflight(
    client: &Client,
    pool: &str,
    enable: Option<&EnableStreaming>,
    requested_at: i64,
) -> Result<(), PoolReport> {
    let config = client
        .get_identity_pool_configuration()
        .identity_pool_id(pool)
        .send()
        .await
        .map_err(|e| {
            PoolReport::new(pool, Status::Error, requested_at)
                .with_message(format!("GetIdentityPoolConfiguration: {}", DisplayErrorContext(&e)))
        })?;
    let streams = config.cognito_streams();
    if streams.and_then(|s| s.streaming_status()) == Some(&StreamingStatus::Enabled) {
        return Ok(());
    }
    let Some(enable) = enable else {
        return Err(
            PoolReport::new(pool, Status::NotConfigured, requested_at).with_message(format!(
                "Cognito Streams is not enabled for {pool}: enable it in the Cognito console, or run again with \
             --enable-streaming --stream <kinesis stream> --role-arn <role Cognito assumes to put records>"
            )),
        );
    };
    client
        .set_identity_pool_configuration()
        .identity_pool_id(pool)
        .cognito_streams(
            CognitoStreams::builder()
                .stream_name(&enable.stream)
                .role_arn(&enable.role_arn)
                .streaming_status(StreamingStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            PoolReport::new(pool, Status::Error, requested_at)
                .with_message(format!("enable Cognito Streams: {}", DisplayErrorContext(&e)))
        })?;
    tracing::info!(pool, stream = %enable.stream, "Cognito Streams enabled");
    Ok(())
}

/// BulkPublish, with its modelled refusals turned into what they mean.
pub async fn start(client: &Client, pool: &str, requested_at: i64) -> Result<Start, PoolReport> {
    match client.bulk_publish().identity_pool_id(pool).send().await {
        Ok(_) => Ok(Start::Started),
        Err(e) => {
            let service = e.as_service_error();
            if service.is_some_and(|s| s.is_duplicate_request_exception()) {
                return Ok(Start::Attached);
            }
            if service.is_some_and(|s| s.is_already_streamed_exception()) {
                let (started_at, completed_at) = match client
                    .get_bulk_publish_details()
                    .identity_pool_id(pool)
                    .send()
                    .await
                {
                    Ok(d) => (
                        millis(d.bulk_publish_start_time()),
                        millis(d.bulk_publish_complete_time()),
                    ),
                    Err(e) => {
                        tracing::warn!(pool, error = %DisplayErrorContext(&e), "GetBulkPublishDetails failed: the last success's times are unknown");
                        (None, None)
                    }
                };
                return Ok(Start::AlreadyStreamed {
                    started_at,
                    completed_at,
                });
            }
            Err(PoolReport::new(pool, Status::Error, requested_at)
                .with_message(format!("BulkPublish: {}", DisplayErrorContext(&e))))
        }
    }
}

/// Polls GetBulkPublishDetails until the run ends, `max_wait` passes, or too many calls in a
/// row fail. `on_poll` sees each status.
pub async fn watch(
    client: &Client,
    pool: &str,
    opts: &Options,
    mut report: PoolReport,
    on_poll: &(dyn Fn(&str, &str) + Sync),
) -> PoolReport {
    let deadline = Instant::now()
        .checked_add(opts.max_wait)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    let mut pause = opts.poll_min;
    let mut failures = 0;
    loop {
        match client.get_bulk_publish_details().identity_pool_id(pool).send().await {
            Ok(d) => {
                failures = 0;
                report.started_at = millis(d.bulk_publish_start_time()).or(report.started_at);
                let status = d
                    .bulk_publish_status()
                    .cloned()
                    .unwrap_or(BulkPublishStatus::NotStarted);
                on_poll(pool, status.as_str());
                let (start, end) = (
                    millis(d.bulk_publish_start_time()),
                    millis(d.bulk_publish_complete_time()),
                );
                let terminal = matches!(status, BulkPublishStatus::Succeeded | BulkPublishStatus::Failed);
                if terminal && is_stale(&report, start, end) {
                    // The previous run's outcome, before this run shows up: poll on.
                    report.started_at = None;
                } else {
                    match status {
                        BulkPublishStatus::Succeeded => {
                            report.status = Status::Succeeded;
                            report.completed_at = millis(d.bulk_publish_complete_time());
                            return report;
                        }
                        BulkPublishStatus::Failed => {
                            report.status = Status::Failed;
                            report.completed_at = millis(d.bulk_publish_complete_time());
                            report.message =
                                Some(d.failure_message().unwrap_or("the service gave no reason").to_owned());
                            return report;
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(pool, failures, error = %DisplayErrorContext(&e), "GetBulkPublishDetails failed; polling on");
                if failures >= opts.max_poll_failures {
                    report.status = Status::Error;
                    report.message = Some(format!(
                        "GetBulkPublishDetails failed {failures} times in a row ({}); the run may still be going: run the same command again to attach to it",
                        DisplayErrorContext(&e)
                    ));
                    return report;
                }
            }
        }
        if Instant::now() + pause > deadline {
            report.status = Status::StillRunning;
            report.message = Some(format!(
                "still running after {:?}; the run goes on on the server: run the same command again to attach to it",
                opts.max_wait
            ));
            return report;
        }
        // Up to a quarter of the pause on top, at random, so that many pools do not poll in step.
        let jitter = rand::rng().random_range(0..=pause.as_millis().min(u128::from(u32::MAX)) as u64 / 4);
        tokio::time::sleep(pause + Duration::from_millis(jitter)).await;
        pause = (pause * 3 / 2).min(opts.poll_max);
    }
}

/// The report of a pool whose last success was less than 24 hours ago.
pub fn already_streamed(
    pool: &str,
    requested_at: i64,
    started_at: Option<i64>,
    completed_at: Option<i64>,
) -> PoolReport {
    let mut report = PoolReport::new(pool, Status::AlreadyStreamed, requested_at);
    report.started_at = started_at;
    report.completed_at = completed_at;
    report.next_allowed_at = completed_at.map(|c| c.saturating_add(WINDOW_MS));
    report.message = Some(match completed_at {
        Some(c) => format!("streamed successfully at {c} (epoch ms); the next bulk publish is allowed 24 hours later"),
        None => "streamed successfully less than 24 hours ago".to_owned(),
    });
    report
}

/// How far the service's clock may be behind ours before a run's start time reads as older
/// than our request.
const CLOCK_SKEW_MS: i64 = 60_000;

/// Whether a terminal status belongs to an earlier run. Right after BulkPublish the details can
/// still describe the last run (a FAILED one may be minutes old; a SUCCEEDED one at least a
/// day). A run we started must have started after we asked; a run we attached to was in
/// progress when we asked, so it must have completed after.
pub fn is_stale(report: &PoolReport, started_at: Option<i64>, completed_at: Option<i64>) -> bool {
    let floor = report.requested_at.saturating_sub(CLOCK_SKEW_MS);
    if report.attached {
        completed_at.is_some_and(|c| c < floor)
    } else {
        started_at.is_some_and(|s| s < floor)
    }
}

/// One pool: preflight, start, watch (unless `!opts.wait`).
pub async fn run_pool(
    client: &Client,
    pool: &str,
    opts: &Options,
    on_poll: &(dyn Fn(&str, &str) + Sync),
) -> PoolReport {
    let requested_at = now_ms();
    if let Err(report) = preflight(client, pool, opts.enable.as_ref(), requested_at).await {
        return report;
    }
    let mut report = PoolReport::new(pool, Status::InProgress, requested_at);
    match start(client, pool, requested_at).await {
        Err(r) => return r,
        Ok(Start::AlreadyStreamed {
            started_at,
            completed_at,
        }) => return already_streamed(pool, requested_at, started_at, completed_at),
        Ok(Start::Attached) => {
            report.attached = true;
            tracing::info!(pool, "a bulk publish was already in progress: attached to it");
        }
        Ok(Start::Started) => tracing::info!(pool, "bulk publish started"),
    }
    if !opts.wait {
        // The service's start time names the run's row, so that its later rows line up.
        if let Ok(d) = client.get_bulk_publish_details().identity_pool_id(pool).send().await {
            report.started_at = millis(d.bulk_publish_start_time())
                .filter(|s| *s >= requested_at.saturating_sub(CLOCK_SKEW_MS) || report.attached);
        }
        report.message = Some("left running on the server; run the same command again to attach to it".to_owned());
        return report;
    }
    watch(client, pool, opts, report, on_poll).await
}
