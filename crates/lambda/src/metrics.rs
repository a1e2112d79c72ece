//! Each invocation's counts as CloudWatch Embedded Metric Format: one JSON line on stdout,
//! which CloudWatch Logs turns into metrics of the namespace [`NAMESPACE`], dimension
//! `FunctionName`. No API call on the invocation's path and no permission beyond writing logs;
//! `infra/template.yaml`'s alarms read these metrics.
//!
//! A line is written whole (one `write_all` of the line and its newline), so it never
//! interleaves with the tracing output on the same stream. With Lambda's JSON log format the
//! line has no `level`, which Lambda reads as INFO: keep the application log level at INFO or
//! below, or the metrics are filtered out with the logs.

use std::io::Write as _;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The metrics' namespace.
pub const NAMESPACE: &str = "synclake";

/// The metrics' names: `infra/template.yaml`'s alarms read some of them, and a test holds
/// the template to this list.
pub mod name {
    #![allow(missing_docs)]
    // stream-to-parquet
    pub const RECORDS: &str = "Records";
    pub const RECORDS_REDELIVERED: &str = "RecordsRedelivered";
    pub const ROWS: &str = "Rows";
    pub const DEAD_LETTERS: &str = "DeadLetters";
    pub const FILES: &str = "Files";
    pub const BATCH_MILLIS: &str = "BatchMillis";
    // sync-trigger
    pub const SYNCS: &str = "Syncs";
    pub const CHANGED: &str = "Changed";
    pub const REJECTED: &str = "Rejected";
    pub const INVALID_EVENTS: &str = "InvalidEvents";
    // bulk-publish
    pub const STEPS: &str = "Steps";
    pub const FAILED_STEPS: &str = "FailedSteps";
    pub const RUN_SUCCEEDED: &str = "RunSucceeded";
    pub const RUN_FAILED: &str = "RunFailed";
    pub const RUN_NOT_CONFIGURED: &str = "RunNotConfigured";
    pub const RUN_ALREADY_STREAMED: &str = "RunAlreadyStreamed";
    pub const RUN_LEFT_RUNNING: &str = "RunLeftRunning";
    pub const RUN_ERROR: &str = "RunError";

    /// Every name a function emits.
    pub const ALL: &[&str] = &[
        RECORDS,
        RECORDS_REDELIVERED,
        ROWS,
        DEAD_LETTERS,
        FILES,
        BATCH_MILLIS,
        SYNCS,
        CHANGED,
        REJECTED,
        INVALID_EVENTS,
        STEPS,
        FAILED_STEPS,
        RUN_SUCCEEDED,
        RUN_FAILED,
        RUN_NOT_CONFIGURED,
        RUN_ALREADY_STREAMED,
        RUN_LEFT_RUNNING,
        RUN_ERROR,
    ];
}

/// A metric's unit, as EMF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// A duration.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One invocation's metrics, by name.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    values: Vec<(&'static str, Unit, f64)>,
}

impl Metrics {
    /// A count.
    #[must_use]
    pub fn count(mut self, name: &'static str, value: u64) -> Metrics {
        // Counts stay far below 2^53: exact as f64.
        self.values.push((name, Unit::Count, value as f64));
        self
    }

    /// A duration in milliseconds.
    #[must_use]
    pub fn millis(mut self, name: &'static str, value: f64) -> Metrics {
        self.values.push((name, Unit::Milliseconds, value));
        self
    }

    /// The EMF line (without its newline) at `timestamp_ms`, for the function `function`.
    pub fn line(&self, function: &str, timestamp_ms: u64) -> String {
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": definitions,
                }],
            }),
        );
        root.insert("FunctionName".into(), Value::String(function.to_owned()));
        for (name, _, value) in &self.values {
            root.insert((*name).into(), json!(value));
        }
        Value::Object(root).to_string()
    }

    /// Writes the line to stdout, for this function (`AWS_LAMBDA_FUNCTION_NAME`, read once),
    /// now. Outside Lambda (no function name) there is no log pipeline to read it, and nothing
    /// is written.
    pub fn emit(&self) {
        static FUNCTION: LazyLock<Option<String>> = LazyLock::new(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok());
        let Some(function) = FUNCTION.as_deref() else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut line = self.line(function, now);
        line.push('\n');
        if let Err(e) = std::io::stdout().lock().write_all(line.as_bytes()) {
            tracing::warn!(error = %e, "metrics line not written");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_line_follows_the_embedded_metric_format() {
        let line = Metrics::default()
            .count("Records", 100)
            .count("DeadLetters", 2)
            .millis("BatchMillis", 12.5)
            .line("synclake-StreamToParquet", 1_765_000_000_000);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_765_000_000_000_u64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "synclake");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(
            directive["Metrics"],
            json!([
                {"Name": "Records", "Unit": "Count"},
                {"Name": "DeadLetters", "Unit": "Count"},
                {"Name": "BatchMillis", "Unit": "Milliseconds"},
            ])
        );
        // Every dimension and metric a directive names is a member of the root.
        assert_eq!(v["FunctionName"], "synclake-StreamToParquet");
        assert_eq!(v["Records"], 100.0);
        assert_eq!(v["DeadLetters"], 2.0);
        assert_eq!(v["BatchMillis"], 12.5);
    }

    /// The metrics `infra/template.yaml`'s alarms read (a `MetricName` after `Namespace:
    /// synclake`): each must be one the functions emit, or the alarm would never fire.
    #[test]
    fn the_templates_alarms_read_metrics_the_functions_emit() {
        let template = include_str!("../../../infra/template.yaml");
        let lines: Vec<&str> = template.lines().map(str::trim).collect();
        let mut read = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if *line == format!("Namespace: {NAMESPACE}") {
                let metric = lines[i + 1..]
                    .iter()
                    .find_map(|l| l.strip_prefix("MetricName: "))
                    .expect("a MetricName after the namespace");
                read.push(metric);
            }
        }
        assert!(
            read.len() >= 3,
            "the dead letters, redeliveries and rejections: {read:?}"
        );
        for metric in read {
            assert!(
                name::ALL.contains(&metric),
                "an alarm reads {metric}, which nothing emits"
            );
        }
    }
}
