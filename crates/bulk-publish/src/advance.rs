//! The Lambda's unit of work: one idempotent *advance* step per invocation, so that a Step
//! Functions wait loop (or a schedule) drives a bulk publish that takes hours with invocations
//! that take a second. The state goes out as JSON and comes back as the next input.
//!
//! ```text
//! {"pool": P}                              ─► preflight, BulkPublish ─► {"pool", "status": "IN_PROGRESS", "requested_at", "done": false}
//! {"pool", "requested_at", ...} (again)     ─► GetBulkPublishDetails ─► IN_PROGRESS: the same, done false
//!                                                                   └► SUCCEEDED | FAILED: recorded in _bulk_publish/, done true
//! refusals (NOT_CONFIGURED, ALREADY_STREAMED, ERROR) end the loop at once (done true).
//! ```
//!
//! Calling a step twice with the same input does no harm: BulkPublish while a run is in
//! progress attaches to it, and a run is recorded under a create-only name.

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::BulkPublishStatus;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde::{Deserialize, Serialize};
use synclake_lake::Store;

use crate::pool::{EnableStreaming, Start, already_streamed, is_stale, now_ms, preflight, start};
use crate::record::record;
use crate::report::{PoolReport, Status};

/// An invocation's input: the pool, and (after the first step) what the last step returned.
#[derive(Debug, Clone, Deserialize)]
pub struct AdvanceInput {
    /// The identity pool.
    pub pool: String,
    /// Set once a run was requested by this loop.
    #[serde(default)]
    pub requested_at: Option<i64>,
    /// Whether this loop attached to a run it did not start.
    #[serde(default)]
    pub attached: bool,
    /// Steps in a row that failed (a refused call, a record that could not be written).
    #[serde(default)]
    pub failures: u32,
}

/// Failed steps in a row after which the loop ends with ERROR.
pub const MAX_FAILURES: u32 = 10;

/// A step's output: the next step's input, and whether the loop is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvanceState {
    /// The report so far (`status`, times, message).
    #[serde(flatten)]
    pub report: PoolReport,
    /// `true` when there is nothing more to do.
    pub done: bool,
    /// Steps in a row that failed (carried to the next step).
    pub failures: u32,
}

/// One step for one pool.
pub async fn advance(
    client: &Client,
    input: &AdvanceInput,
    enable: Option<&EnableStreaming>,
    table: &Store,
) -> AdvanceState {
    let pool = input.pool.as_str();
    let Some(requested_at) = input.requested_at else {
        let requested_at = now_ms();
        if let Err(report) = preflight(client, pool, enable, requested_at).await {
            return AdvanceState {
                report,
                done: true,
                failures: 0,
            };
        }
        let mut report = PoolReport::new(pool, Status::InProgress, requested_at);
        return match start(client, pool, requested_at).await {
            Err(report) => AdvanceState {
                report,
                done: true,
                failures: 0,
            },
            Ok(Start::AlreadyStreamed {
                started_at,
                completed_at,
            }) => {
                let report = already_streamed(pool, requested_at, started_at, completed_at);
                // A retried first step after a fast success lands here: the run is recorded.
                if let Err(e) = record(table, &report).await {
                    tracing::warn!(pool, error = %e, "the last success could not be recorded in _bulk_publish/");
                }
                AdvanceState {
                    report,
                    done: true,
                    failures: 0,
                }
            }
            Ok(started) => {
                report.attached = started == Start::Attached;
                AdvanceState {
                    report,
                    done: false,
                    failures: 0,
                }
            }
        };
    };
    let mut report = PoolReport::new(pool, Status::InProgress, requested_at);
    report.attached = input.attached;
    let details = match client.get_bulk_publish_details().identity_pool_id(pool).send().await {
        Ok(d) => d,
        Err(e) => {
            report.message = Some(format!("GetBulkPublishDetails: {}", DisplayErrorContext(&e)));
            // Refused credentials or a pool gone will not pass; anything else (the SDK already
            // retried throttling) is asked again by the next step, up to MAX_FAILURES times.
            let fatal = e
                .as_service_error()
                .is_some_and(|s| s.is_not_authorized_exception() || s.is_resource_not_found_exception());
            return failed(report, input.failures, fatal);
        }
    };
    report.started_at = details.bulk_publish_start_time().and_then(|t| t.to_millis().ok());
    report.completed_at = details.bulk_publish_complete_time().and_then(|t| t.to_millis().ok());
    let terminal = matches!(
        details.bulk_publish_status(),
        Some(BulkPublishStatus::Succeeded | BulkPublishStatus::Failed)
    );
    if terminal && is_stale(&report, report.started_at, report.completed_at) {
        // The last run's outcome, before the one this loop asked for shows up.
        report.started_at = None;
        report.completed_at = None;
        return AdvanceState {
            report,
            done: false,
            failures: 0,
        };
    }
    match details.bulk_publish_status() {
        Some(BulkPublishStatus::Succeeded) => report.status = Status::Succeeded,
        Some(BulkPublishStatus::Failed) => {
            report.status = Status::Failed;
            report.message = details.failure_message().map(str::to_owned);
        }
        _ => {
            return AdvanceState {
                report,
                done: false,
                failures: 0,
            };
        }
    }
    if let Err(e) = record(table, &report).await {
        // The next step records it (create-only, so at most once).
        report.message = Some(format!("not yet recorded in _bulk_publish/: {e}"));
        return failed(report, input.failures, false);
    }
    AdvanceState {
        report,
        done: true,
        failures: 0,
    }
}

/// A failed step: done with ERROR when `fatal` or after [`MAX_FAILURES`] in a row, else asked
/// again by the next step.
fn failed(mut report: PoolReport, failures: u32, fatal: bool) -> AdvanceState {
    let failures = failures.saturating_add(1);
    let done = fatal || failures >= MAX_FAILURES;
    if done {
        report.status = Status::Error;
    }
    AdvanceState { report, done, failures }
}
