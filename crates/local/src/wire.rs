//! The JSON bodies of the 17 operations (restJson1: PascalCase members, timestamps as epoch
//! seconds with a fraction, which both boto3 and the Rust SDK parse), built from the model.

use serde::{Deserialize, Serialize};

use crate::model::{BulkDetails, Dataset, IdentityUsage, PoolSettings, PoolUsage, Record};

/// Epoch milliseconds as restJson1's default timestamp: seconds, with milliseconds as fraction.
pub fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Epoch milliseconds as ISO-8601 UTC, for messages.
pub fn iso8601(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A timestamp as a client sends it: epoch seconds (a number), or ISO-8601 text.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum WireTime {
    /// Epoch seconds.
    Seconds(f64),
    /// ISO-8601 / RFC 3339.
    #[serde(deserialize_with = "rfc3339")]
    Text(i64),
}

fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = String::deserialize(d)?;
    chrono::DateTime::parse_from_rfc3339(&s)
        .map(|t| t.timestamp_millis())
        .map_err(serde::de::Error::custom)
}

impl WireTime {
    /// Epoch milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            WireTime::Seconds(s) => (s * 1000.0).round() as i64,
            WireTime::Text(ms) => ms,
        }
    }
}

/// `Dataset`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DatasetOut<'a> {
    identity_id: &'a str,
    dataset_name: &'a str,
    creation_date: f64,
    last_modified_date: f64,
    last_modified_by: &'a str,
    data_storage: i64,
    num_records: i64,
}

impl<'a> From<&'a Dataset> for DatasetOut<'a> {
    fn from(d: &'a Dataset) -> Self {
        DatasetOut {
            identity_id: &d.identity_id,
            dataset_name: &d.name,
            creation_date: epoch_seconds(d.creation_ms),
            last_modified_date: epoch_seconds(d.last_modified_ms),
            last_modified_by: &d.last_modified_by,
            data_storage: d.data_storage,
            num_records: d.num_records,
        }
    }
}

/// `Record`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordOut<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    sync_count: i64,
    last_modified_date: f64,
    last_modified_by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_last_modified_date: Option<f64>,
}

impl<'a> From<&'a Record> for RecordOut<'a> {
    fn from(r: &'a Record) -> Self {
        RecordOut {
            key: &r.key,
            value: r.value.as_deref(),
            sync_count: r.sync_count,
            last_modified_date: epoch_seconds(r.last_modified_ms),
            last_modified_by: &r.last_modified_by,
            device_last_modified_date: r.device_last_modified_ms.map(epoch_seconds),
        }
    }
}

/// `IdentityPoolUsage`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolUsageOut<'a> {
    identity_pool_id: &'a str,
    sync_sessions_count: i64,
    data_storage: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_date: Option<f64>,
}

impl<'a> From<&'a PoolUsage> for PoolUsageOut<'a> {
    fn from(u: &'a PoolUsage) -> Self {
        PoolUsageOut {
            identity_pool_id: &u.pool_id,
            sync_sessions_count: u.sync_sessions,
            data_storage: u.data_storage,
            last_modified_date: u.last_modified_ms.map(epoch_seconds),
        }
    }
}

/// `IdentityUsage`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityUsageOut<'a> {
    identity_id: &'a str,
    identity_pool_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_date: Option<f64>,
    dataset_count: i64,
    data_storage: i64,
}

impl<'a> From<&'a IdentityUsage> for IdentityUsageOut<'a> {
    fn from(u: &'a IdentityUsage) -> Self {
        IdentityUsageOut {
            identity_id: &u.identity_id,
            identity_pool_id: &u.pool_id,
            last_modified_date: u.last_modified_ms.map(epoch_seconds),
            dataset_count: u.dataset_count,
            data_storage: u.data_storage,
        }
    }
}

/// GetBulkPublishDetails' answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BulkDetailsOut<'a> {
    identity_pool_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bulk_publish_start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bulk_publish_complete_time: Option<f64>,
    bulk_publish_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_message: Option<&'a str>,
}

impl<'a> BulkDetailsOut<'a> {
    /// For `pool`.
    pub fn new(pool: &'a str, d: &'a BulkDetails) -> Self {
        BulkDetailsOut {
            identity_pool_id: pool,
            bulk_publish_start_time: d.start_ms.map(epoch_seconds),
            bulk_publish_complete_time: d.complete_ms.map(epoch_seconds),
            bulk_publish_status: d.status.as_str(),
            failure_message: d.failure.as_deref(),
        }
    }
}

/// Get/SetIdentityPoolConfiguration's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolConfigurationOut<'a> {
    /// The pool.
    pub identity_pool_id: &'a str,
    /// Its settings, flattened (PushSync, CognitoStreams).
    #[serde(flatten)]
    pub settings: &'a PoolSettings,
}

/// UpdateRecords' body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRecordsIn {
    /// The device making the change.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The changes.
    #[serde(default)]
    pub record_patches: Vec<RecordPatchIn>,
    /// From ListRecords.
    #[serde(default)]
    pub sync_session_token: Option<String>,
}

/// `RecordPatch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordPatchIn {
    /// `replace` or `remove`.
    pub op: String,
    /// The record.
    pub key: String,
    /// The new value.
    #[serde(default)]
    pub value: Option<String>,
    /// The client's last known count.
    pub sync_count: i64,
    /// The device's clock.
    #[serde(default)]
    pub device_last_modified_date: Option<WireTime>,
}

/// SetIdentityPoolConfiguration's body.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SetConfigurationIn {
    /// Push sync settings.
    #[serde(default)]
    pub push_sync: Option<crate::model::PushSync>,
    /// Cognito Streams settings.
    #[serde(default)]
    pub cognito_streams: Option<crate::model::CognitoStreams>,
}

/// SetCognitoEvents' body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetEventsIn {
    /// Event type → Lambda function ARN.
    pub events: std::collections::BTreeMap<String, String>,
}

/// RegisterDevice's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterDeviceIn {
    /// APNS, APNS_SANDBOX, GCM or ADM.
    pub platform: String,
    /// The push token.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_travel_as_epoch_seconds() {
        assert_eq!(epoch_seconds(1_424_801_824_343), 1_424_801_824.343);
        let t: WireTime = serde_json::from_str("1424801824.343").expect("number");
        assert_eq!(t.millis(), 1_424_801_824_343);
        let t: WireTime = serde_json::from_str("\"2015-02-24T18:17:04.343Z\"").expect("text");
        assert_eq!(t.millis(), 1_424_801_824_343);
        assert_eq!(iso8601(1_424_801_824_343), "2015-02-24T18:17:04.343Z");
    }
}
