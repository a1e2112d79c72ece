//! Cognito Streams records as the real service writes them (one JSON object per dataset
//! synchronization; `docs/cognito-sync-formats.md`), so the core decodes them like any capture.
//!
//! A change is kept as its envelope plus the JSON array of its records; the publisher renders it
//! `Inline`, or `S3Url` with the array stored in S3 when the record would be too large.

use serde::Serialize;

use crate::model::{Op, Record};

/// One dataset change, ready to render as a stream record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChange {
    /// `identityPoolId`.
    pub pool_id: String,
    /// `identityId`.
    pub identity_id: String,
    /// `dataSetName`.
    pub dataset: String,
    /// Dataset-level operation: `replace` for updates, `remove` for a deleted dataset.
    pub operation: Op,
    /// The dataset's sync count after the change.
    pub sync_count: i64,
    /// Server time of the change.
    pub last_modified_ms: i64,
    /// The changed records as a JSON array; `None` for a record-less change (a deletion).
    pub records_json: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncRecord<'a> {
    key: &'a str,
    value: Option<&'a str>,
    sync_count: i64,
    last_modified_date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_last_modified_date: Option<i64>,
    op: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    identity_pool_id: &'a str,
    identity_id: &'a str,
    data_set_name: &'a str,
    operation: &'static str,
    kinesis_sync_records: Option<&'a serde_json::value::RawValue>,
    last_modified_date: i64,
    #[serde(rename = "kinesisSyncRecordsURL")]
    kinesis_sync_records_url: Option<&'a str>,
    payload_type: &'static str,
    sync_count: i64,
}

/// The `kinesisSyncRecords` array of some records (a removed record has a null value and op
/// `remove`).
pub fn records_json(records: &[Record]) -> String {
    let items: Vec<SyncRecord<'_>> = records
        .iter()
        .map(|r| SyncRecord {
            key: &r.key,
            value: r.value.as_deref(),
            sync_count: r.sync_count,
            last_modified_date: r.last_modified_ms,
            device_last_modified_date: r.device_last_modified_ms,
            op: if r.value.is_some() {
                Op::Replace.as_str()
            } else {
                Op::Remove.as_str()
            },
        })
        .collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned())
}

impl StreamChange {
    /// The partition key the record is put with. Cognito does not document its own; keying by
    /// identity and dataset keeps one dataset's changes in order on one shard.
    pub fn partition_key(&self) -> String {
        let mut key = format!("{}-{}", self.identity_id, self.dataset);
        // Kinesis caps partition keys at 256 characters; identity (≤55) + dataset (≤128) fit.
        key.truncate(256);
        key
    }

    /// The record with its records inline.
    pub fn render_inline(&self) -> Vec<u8> {
        self.render(self.records_json.as_deref(), None, "Inline")
    }

    /// The record pointing at its records in S3.
    pub fn render_s3url(&self, url: &str) -> Vec<u8> {
        self.render(None, Some(url), "S3Url")
    }

    fn render(&self, records: Option<&str>, url: Option<&str>, payload_type: &'static str) -> Vec<u8> {
        let raw = records.and_then(|r| serde_json::from_str::<&serde_json::value::RawValue>(r).ok());
        let envelope = Envelope {
            identity_pool_id: &self.pool_id,
            identity_id: &self.identity_id,
            data_set_name: &self.dataset,
            operation: self.operation.as_str(),
            kinesis_sync_records: raw,
            last_modified_date: self.last_modified_ms,
            kinesis_sync_records_url: url,
            payload_type,
            sync_count: self.sync_count,
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> StreamChange {
        let records = vec![
            Record {
                key: "score".into(),
                value: Some("12".into()),
                sync_count: 3,
                last_modified_ms: 1_700_000_000_123,
                last_modified_by: "x".into(),
                device_last_modified_ms: Some(1_700_000_000_000),
            },
            Record {
                key: "gone".into(),
                value: None,
                sync_count: 2,
                last_modified_ms: 1_700_000_000_123,
                last_modified_by: "x".into(),
                device_last_modified_ms: None,
            },
        ];
        StreamChange {
            pool_id: "us-east-1:00000000-0000-4000-8000-000000000001".into(),
            identity_id: "us-east-1:00000000-0000-4000-8000-0000000000a1".into(),
            dataset: "game".into(),
            operation: Op::Replace,
            sync_count: 7,
            last_modified_ms: 1_700_000_000_123,
            records_json: Some(records_json(&records)),
        }
    }

    #[test]
    fn inline_record_has_the_cognito_streams_shape() {
        let v: serde_json::Value = serde_json::from_slice(&change().render_inline()).expect("json");
        assert_eq!(v["dataSetName"], "game");
        assert_eq!(v["operation"], "replace");
        assert_eq!(v["payloadType"], "Inline");
        assert_eq!(v["syncCount"], 7);
        assert!(v["kinesisSyncRecordsURL"].is_null());
        assert_eq!(v["kinesisSyncRecords"][0]["value"], "12");
        assert_eq!(
            v["kinesisSyncRecords"][0]["deviceLastModifiedDate"],
            1_700_000_000_000_i64
        );
        assert_eq!(v["kinesisSyncRecords"][1]["op"], "remove");
        assert!(v["kinesisSyncRecords"][1]["value"].is_null());
    }

    #[test]
    fn s3url_record_leaves_the_records_out() {
        let v: serde_json::Value = serde_json::from_slice(&change().render_s3url("https://b.s3/x")).expect("json");
        assert_eq!(v["payloadType"], "S3Url");
        assert_eq!(v["kinesisSyncRecordsURL"], "https://b.s3/x");
        assert!(v["kinesisSyncRecords"].is_null());
    }
}
