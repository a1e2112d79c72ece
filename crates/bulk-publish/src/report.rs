//! What happened to each pool, as the command prints it (text or `--output json`) and as its
//! exit status sums it up.

use serde::Serialize;

/// How a pool's bulk publish ended (for this invocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The run completed: every dataset of the pool is on the stream.
    Succeeded,
    /// The run failed on the service's side (`FailureMessage` in the report).
    Failed,
    /// Cognito Streams is not enabled for the pool, and enabling it was not asked for.
    NotConfigured,
    /// A run succeeded less than 24 hours ago; the next is allowed later.
    AlreadyStreamed,
    /// Started (or attached) and left running on purpose (`--no-wait`, the Lambda's steps):
    /// the run goes on on the server.
    InProgress,
    /// Watched until `--max-wait-secs` without an end: the run goes on on the server.
    StillRunning,
    /// The orchestrator could not do its job (refused credentials, an unknown pool, ...).
    Error,
}

impl Status {
    /// The spelling in reports and in the `_bulk_publish/` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::NotConfigured => "NOT_CONFIGURED",
            Status::AlreadyStreamed => "ALREADY_STREAMED",
            Status::InProgress => "IN_PROGRESS",
            Status::StillRunning => "STILL_RUNNING",
            Status::Error => "ERROR",
        }
    }
}

/// One pool's report. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolReport {
    /// The identity pool.
    pub pool: String,
    /// The outcome.
    pub status: Status,
    /// When this invocation asked for the run.
    pub requested_at: i64,
    /// When the run started (the service's `BulkPublishStartTime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// When it completed (`BulkPublishCompleteTime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// After AlreadyStreamed: when the next run is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_allowed_at: Option<i64>,
    /// Whether this invocation attached to a run already in progress.
    pub attached: bool,
    /// The service's failure message, or what went wrong, or what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl PoolReport {
    /// A report with only the pool, the status and the request time.
    pub fn new(pool: &str, status: Status, requested_at: i64) -> PoolReport {
        PoolReport {
            pool: pool.to_owned(),
            status,
            requested_at,
            started_at: None,
            completed_at: None,
            next_allowed_at: None,
            attached: false,
            message: None,
        }
    }

    /// With a message.
    pub fn with_message(mut self, message: impl Into<String>) -> PoolReport {
        self.message = Some(message.into());
        self
    }
}

/// Exit statuses: 0 when every pool succeeded (or was left running on purpose, or was already
/// streamed and `strict` is off); otherwise the most serious outcome among the pools.
pub mod codes {
    /// An error of the orchestrator's (credentials, unknown pool, ...).
    pub const ERROR: u8 = 1;
    /// A run failed on the service's side.
    pub const FAILED: u8 = 3;
    /// Streaming is not enabled for a pool.
    pub const NOT_CONFIGURED: u8 = 4;
    /// A pool was streamed less than 24 hours ago (only with `--strict`).
    pub const ALREADY_STREAMED: u8 = 5;
    /// A run was still going when the watch gave up (`--max-wait-secs`).
    pub const STILL_RUNNING: u8 = 6;
}

/// The exit status of a set of reports (see [`codes`]), by seriousness, not by number: ERROR >
/// FAILED > NOT_CONFIGURED > STILL_RUNNING > ALREADY_STREAMED (with `strict`) > success.
pub fn exit_code(reports: &[PoolReport], strict: bool) -> u8 {
    let rank = |s: Status| match s {
        Status::Error => (5, codes::ERROR),
        Status::Failed => (4, codes::FAILED),
        Status::NotConfigured => (3, codes::NOT_CONFIGURED),
        Status::StillRunning => (2, codes::STILL_RUNNING),
        Status::AlreadyStreamed if strict => (1, codes::ALREADY_STREAMED),
        _ => (0, 0),
    };
    reports.iter().map(|r| rank(r.status)).max().map_or(0, |(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_outcome_sets_the_exit_status() {
        let r = |s| PoolReport::new("p", s, 0);
        assert_eq!(exit_code(&[r(Status::Succeeded), r(Status::InProgress)], false), 0);
        assert_eq!(exit_code(&[r(Status::AlreadyStreamed)], false), 0);
        assert_eq!(exit_code(&[r(Status::AlreadyStreamed)], true), codes::ALREADY_STREAMED);
        assert_eq!(
            exit_code(&[r(Status::NotConfigured), r(Status::AlreadyStreamed)], true),
            codes::NOT_CONFIGURED
        );
        assert_eq!(
            exit_code(&[r(Status::Failed), r(Status::NotConfigured)], false),
            codes::FAILED
        );
        assert_eq!(exit_code(&[r(Status::Failed), r(Status::Error)], false), codes::ERROR);
        assert_eq!(
            exit_code(&[r(Status::StillRunning), r(Status::AlreadyStreamed)], true),
            codes::STILL_RUNNING
        );
    }
}
