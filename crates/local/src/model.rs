//! The service's data, as storage and the API share it. Times are epoch milliseconds.

use serde::{Deserialize, Serialize};

/// A dataset of one identity, as DescribeDataset and ListDatasets show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The identity it belongs to.
    pub identity_id: String,
    /// Its name.
    pub name: String,
    /// When it was (last) created.
    pub creation_ms: i64,
    /// When it last changed.
    pub last_modified_ms: i64,
    /// Who changed it last.
    pub last_modified_by: String,
    /// UTF-8 bytes of keys and values of its live records.
    pub data_storage: i64,
    /// Its live records.
    pub num_records: i64,
    /// Its sync count.
    pub sync_count: i64,
}

/// One record as the server holds it; `value` `None` is a removal (a tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its key.
    pub key: String,
    /// Its value; `None` once removed.
    pub value: Option<String>,
    /// The record's own sync count: 1 when created, one more per change.
    pub sync_count: i64,
    /// Server time of the last change.
    pub last_modified_ms: i64,
    /// Who made the last change.
    pub last_modified_by: String,
    /// The device's clock at the last change, as the client sent it.
    pub device_last_modified_ms: Option<i64>,
}

/// `replace` or `remove`, of a record patch or a dataset change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Set the value.
    Replace,
    /// Remove the record (or, dataset-level, the dataset).
    Remove,
}

impl Op {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

/// One change a client asks for in UpdateRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPatch {
    /// Set or remove.
    pub op: Op,
    /// The record.
    pub key: String,
    /// The new value (replace).
    pub value: Option<String>,
    /// The record's sync count as the client last saw it (0 for a new record).
    pub sync_count: i64,
    /// The device's clock.
    pub device_last_modified_ms: Option<i64>,
}

/// A pool's Cognito Streams settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CognitoStreams {
    /// The Kinesis stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// The role Cognito assumes to put records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streaming_status: Option<String>,
}

impl CognitoStreams {
    /// The stream records go to, when streaming is on.
    pub fn enabled_stream(&self) -> Option<&str> {
        match (self.streaming_status.as_deref(), self.stream_name.as_deref()) {
            (Some("ENABLED"), Some(name)) => Some(name),
            _ => None,
        }
    }
}

/// A pool's push sync settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PushSync {
    /// SNS platform application ARNs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_arns: Option<Vec<String>>,
    /// The role Cognito assumes to publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A pool's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolSettings {
    /// Push sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_sync: Option<PushSync>,
    /// Cognito Streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cognito_streams: Option<CognitoStreams>,
}

/// A bulk publish's state, per pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStatus {
    /// Never requested.
    NotStarted,
    /// Running.
    InProgress,
    /// Failed (does not start the 24-hour window).
    Failed,
    /// Done.
    Succeeded,
}

impl BulkStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::NotStarted => "NOT_STARTED",
            BulkStatus::InProgress => "IN_PROGRESS",
            BulkStatus::Failed => "FAILED",
            BulkStatus::Succeeded => "SUCCEEDED",
        }
    }

    /// From the stored spelling.
    pub fn parse(s: &str) -> BulkStatus {
        match s {
            "IN_PROGRESS" => BulkStatus::InProgress,
            "FAILED" => BulkStatus::Failed,
            "SUCCEEDED" => BulkStatus::Succeeded,
            _ => BulkStatus::NotStarted,
        }
    }
}

/// What GetBulkPublishDetails reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkDetails {
    /// The status.
    pub status: BulkStatus,
    /// When the last run started.
    pub start_ms: Option<i64>,
    /// When it completed.
    pub complete_ms: Option<i64>,
    /// Why it failed.
    pub failure: Option<String>,
}

/// A pool's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUsage {
    /// The pool.
    pub pool_id: String,
    /// Sync sessions opened (ListRecords sessions issued).
    pub sync_sessions: i64,
    /// Bytes held by the pool's datasets.
    pub data_storage: i64,
    /// When anything in it last changed.
    pub last_modified_ms: Option<i64>,
}

/// An identity's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUsage {
    /// The identity.
    pub identity_id: String,
    /// Its pool.
    pub pool_id: String,
    /// When any of its datasets last changed.
    pub last_modified_ms: Option<i64>,
    /// Its live datasets.
    pub dataset_count: i64,
    /// Bytes its datasets hold.
    pub data_storage: i64,
}

/// A push notification the real service would have sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// The pool.
    pub identity_pool_id: String,
    /// The identity whose dataset changed.
    pub identity_id: String,
    /// The dataset.
    pub dataset_name: String,
    /// The subscribed device.
    pub device_id: String,
    /// Its platform.
    pub platform: String,
    /// Its push token.
    pub token: String,
    /// The dataset's sync count after the change.
    pub sync_count: i64,
    /// When.
    pub at_ms: i64,
}
