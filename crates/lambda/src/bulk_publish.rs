//! The `bulk-publish` function: one idempotent advance step of a pool's bulk publish per
//! invocation (`synclake_bulk_publish::advance`), so that a Step Functions wait loop drives a
//! run of hours with invocations of a second. The input is `{"pool": "..."}` at first, then the
//! previous output; the output says `"done": true` when the loop may stop.
//!
//! Configuration, read once at cold start: `SYNCLAKE_OUT` (the table whose `_bulk_publish/`
//! records each run; required), `SYNCLAKE_COGNITO_SYNC_ENDPOINT` (another Cognito Sync endpoint,
//! e.g. `synclake local`), `SYNCLAKE_ENABLE_STREAM` and `SYNCLAKE_STREAM_ROLE_ARN` (enable
//! Cognito Streams where it is off; both or neither), and the S3 variables of
//! [`crate::config`].

use std::path::PathBuf;

use synclake_bulk_publish::report::Status;
use synclake_bulk_publish::{AdvanceInput, AdvanceState, EnableStreaming, advance};
use synclake_lake::{LakeError, S3Options, Store};

use crate::config::{ConfigError, s3_options};
use crate::metrics::{Metrics, name};

/// The function's settings.
#[derive(Debug, Clone)]
pub struct BulkPublishConfig {
    /// The table.
    pub output: String,
    /// How to reach its S3.
    pub s3: S3Options,
    /// Another Cognito Sync endpoint.
    pub endpoint: Option<String>,
    /// Enable streaming where it is off.
    pub enable: Option<EnableStreaming>,
    /// Where files are spooled (Lambda's `/tmp`).
    pub spool_dir: PathBuf,
}

impl BulkPublishConfig {
    /// Reads the settings from `get` (the environment), refusing what does not parse.
    pub fn from_env(get: impl Fn(&'static str) -> Option<String>) -> Result<BulkPublishConfig, ConfigError> {
        let output = get("SYNCLAKE_OUT").ok_or(ConfigError {
            var: "SYNCLAKE_OUT",
            reason: "required: the table (s3://bucket/prefix) whose _bulk_publish/ records each run".into(),
        })?;
        let enable = match (get("SYNCLAKE_ENABLE_STREAM"), get("SYNCLAKE_STREAM_ROLE_ARN")) {
            (Some(stream), Some(role_arn)) => Some(EnableStreaming { stream, role_arn }),
            (None, None) => None,
            _ => {
                return Err(ConfigError {
                    var: "SYNCLAKE_ENABLE_STREAM",
                    reason: "set both SYNCLAKE_ENABLE_STREAM and SYNCLAKE_STREAM_ROLE_ARN, or neither".into(),
                });
            }
        };
        Ok(BulkPublishConfig {
            s3: s3_options(&get)?,
            endpoint: get("SYNCLAKE_COGNITO_SYNC_ENDPOINT"),
            enable,
            spool_dir: get("SYNCLAKE_SPOOL_DIR")
                .map_or_else(|| std::env::temp_dir().join("synclake-spool"), PathBuf::from),
            output,
        })
    }
}

/// The function, built once at cold start.
pub struct BulkPublish {
    client: aws_sdk_cognitosync::Client,
    table: Store,
    enable: Option<EnableStreaming>,
}

impl BulkPublish {
    /// Builds the client and opens the table.
    pub async fn new(config: &BulkPublishConfig) -> Result<BulkPublish, LakeError> {
        Ok(BulkPublish {
            client: synclake_bulk_publish::client::connect(config.endpoint.as_deref(), None).await,
            table: Store::open(&config.output, &config.s3, &config.spool_dir)?,
            enable: config.enable.clone(),
        })
    }

    /// One step.
    pub async fn handle(&self, input: AdvanceInput) -> AdvanceState {
        let state = advance(&self.client, &input, self.enable.as_ref(), &self.table).await;
        tracing::info!(
            pool = %state.report.pool,
            status = state.report.status.as_str(),
            done = state.done,
            "bulk publish advanced"
        );
        step_metrics(&state).emit();
        state
    }
}

/// A step's metrics: one step, whether it failed, and how the run ended when it did
/// (`Run<Status>`: `RunSucceeded`, `RunFailed`, `RunError`, ...).
pub fn step_metrics(state: &AdvanceState) -> Metrics {
    let mut m = Metrics::default()
        .count(name::STEPS, 1)
        .count(name::FAILED_STEPS, u64::from(state.failures > 0));
    if state.done {
        let run = match state.report.status {
            Status::Succeeded => name::RUN_SUCCEEDED,
            Status::Failed => name::RUN_FAILED,
            Status::NotConfigured => name::RUN_NOT_CONFIGURED,
            Status::AlreadyStreamed => name::RUN_ALREADY_STREAMED,
            Status::InProgress | Status::StillRunning => name::RUN_LEFT_RUNNING,
            Status::Error => name::RUN_ERROR,
        };
        m = m.count(run, 1);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use synclake_bulk_publish::PoolReport;

    /// `infra/template.yaml`'s loop reads this function's output: `$.done`, then `$.status`
    /// against the spellings of a run that published.
    #[test]
    fn the_step_functions_loop_reads_what_a_step_returns() {
        for status in [
            Status::Succeeded,
            Status::AlreadyStreamed,
            Status::Failed,
            Status::Error,
        ] {
            let state = AdvanceState {
                report: PoolReport::new("p", status, 1),
                done: true,
                failures: 0,
            };
            let json = serde_json::to_value(&state).expect("serializes");
            assert_eq!(json["done"], true);
            assert_eq!(json["status"], status.as_str());
        }
        let template = include_str!("../../../infra/template.yaml");
        assert!(template.contains("- Variable: $.done\n                BooleanEquals: true"));
        for published in [Status::Succeeded, Status::AlreadyStreamed] {
            let choice = format!(
                "- Variable: $.status\n                    StringEquals: {}\n",
                published.as_str()
            );
            assert!(
                template.contains(&choice),
                "the loop counts {} as published",
                published.as_str()
            );
        }
    }

    #[test]
    fn the_table_is_required_and_streaming_settings_come_in_pairs() {
        assert_eq!(
            BulkPublishConfig::from_env(|_| None).expect_err("no table").var,
            "SYNCLAKE_OUT"
        );
        let half = |v: &str| match v {
            "SYNCLAKE_OUT" => Some("s3://b/t".to_owned()),
            "SYNCLAKE_ENABLE_STREAM" => Some("s".to_owned()),
            _ => None,
        };
        assert_eq!(
            BulkPublishConfig::from_env(half).expect_err("half a pair").var,
            "SYNCLAKE_ENABLE_STREAM"
        );
    }
}
