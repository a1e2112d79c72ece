//! The Cognito Streams payload: one synchronization of one dataset (spec §1).
//!
//! Decoding is typed and borrows from the input buffer: ids, names, keys and most values are
//! slices of the Kinesis data blob. Unknown fields are kept verbatim as raw JSON in [`Extra`], so
//! a field AWS adds or a client sends is carried into the table, never dropped.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::DecodeError;
use crate::text::Text;

/// `operation` of a dataset and `op` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// The dataset or record was written.
    Replace,
    /// The dataset or record was deleted.
    Remove,
}

impl Operation {
    /// The wire spelling, which is also the table's.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Replace => "replace",
            Operation::Remove => "remove",
        }
    }
}

/// Where the changed records are: inline, or behind a presigned S3 URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum PayloadType {
    /// The records are in `kinesisSyncRecords`.
    Inline,
    /// The records are a JSON array behind `kinesisSyncRecordsURL`; fetch them promptly.
    S3Url,
}

impl PayloadType {
    /// The wire spelling, which is also the table's.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadType::Inline => "Inline",
            PayloadType::S3Url => "S3Url",
        }
    }
}

/// Fields the schema does not know, as `(name, raw JSON value)` in input order.
///
/// Kept so that a migration off a closed service never loses a field it did not expect.
#[derive(Debug, Clone, Default)]
pub struct Extra<'a>(pub Vec<(Text<'a>, &'a RawValue)>);

impl PartialEq for Extra<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((n1, v1), (n2, v2))| n1 == n2 && v1.get() == v2.get())
    }
}

impl Extra<'_> {
    /// True when the input had no unknown fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends these fields as the members of a JSON object (`"name":value,...`, no braces).
    pub fn write_members(&self, out: &mut String) {
        for (i, (name, raw)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Names are re-encoded (they may have been unescaped); values are the input's own text.
            out.push_str(&serde_json::to_string(name.as_str()).unwrap_or_default());
            out.push(':');
            out.push_str(raw.get());
        }
    }
}

/// One element of `kinesisSyncRecords` (or of the array behind an S3 URL).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRecord<'a> {
    /// The record key, 1..1024 characters.
    pub key: Text<'a>,
    /// The value; `None` when null or absent (a removal).
    pub value: Option<Text<'a>>,
    /// The record's server sync count.
    pub sync_count: Option<i64>,
    /// Server time of the change, epoch milliseconds.
    pub last_modified: Option<i64>,
    /// Device time of the change, epoch milliseconds (device clock, may be skewed).
    pub device_last_modified: Option<i64>,
    /// `op`: replace or remove.
    pub op: Option<Operation>,
    /// Unknown record-level fields.
    pub extra: Extra<'a>,
}

/// One Cognito Streams payload: a synchronization of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload<'a> {
    /// `identityPoolId`, `region:GUID`.
    pub identity_pool_id: Text<'a>,
    /// `identityId`, `region:GUID`.
    pub identity_id: Text<'a>,
    /// `dataSetName` (AWS docs) or `datasetName` (AWS's sample): both are accepted.
    pub dataset_name: Text<'a>,
    /// Dataset-level `operation`.
    pub operation: Option<Operation>,
    /// Inline records; empty when absent, null or `[]` (a record-less event).
    pub records: Vec<SyncRecord<'a>>,
    /// Dataset-level `lastModifiedDate`, epoch milliseconds.
    pub last_modified: Option<i64>,
    /// `kinesisSyncRecordsURL`, set for S3Url payloads.
    pub records_url: Option<Text<'a>>,
    /// `payloadType`; inferred from the URL when absent.
    pub payload_type: PayloadType,
    /// Dataset-level `syncCount`.
    pub sync_count: Option<i64>,
    /// Unknown payload-level fields.
    pub extra: Extra<'a>,
}

/// Decodes one Cognito Streams payload, borrowing from `data`.
///
/// Strict on types: integers must be JSON integers within i64 (a float or a string is an
/// error), strings must be strings, `op`/`operation` replace|remove, `payloadType`
/// Inline|S3Url. Lenient on presence: only the pool, identity and dataset name are required,
/// because a row with other fields null is still a fact worth keeping.
pub fn decode_payload(data: &[u8]) -> Result<Payload<'_>, DecodeError> {
    let payload: Payload<'_> = serde_json::from_str(utf8(data)?).map_err(|source| DecodeError::Json { source })?;
    if payload.payload_type == PayloadType::S3Url && payload.records_url.is_none() {
        return Err(DecodeError::S3UrlMissing);
    }
    Ok(payload)
}

/// Decodes the body behind a `kinesisSyncRecordsURL`: a JSON array of record objects.
pub fn decode_records_body(body: &[u8]) -> Result<Vec<SyncRecord<'_>>, DecodeError> {
    serde_json::from_str(utf8(body)?).map_err(|source| DecodeError::Json { source })
}

/// Checks UTF-8 once for the whole input (SIMD), so the JSON parser, reading a `&str`, does
/// not check every string again.
fn utf8(data: &[u8]) -> Result<&str, DecodeError> {
    simdutf8::compat::from_utf8(data).map_err(|e| DecodeError::Utf8 {
        valid_up_to: e.valid_up_to(),
    })
}

fn set<T, E: de::Error>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(field));
    }
    *slot = Some(value);
    Ok(())
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Cognito Streams payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pool = None;
        let mut identity = None;
        let mut dataset = None;
        let mut operation = None;
        let mut records = None;
        let mut last_modified = None;
        let mut url = None;
        let mut payload_type = None;
        let mut sync_count = None;
        let mut extra = Vec::new();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match name.as_str() {
                "identityPoolId" => set(&mut pool, "identityPoolId", map.next_value::<Option<Text>>()?)?,
                "identityId" => set(&mut identity, "identityId", map.next_value::<Option<Text>>()?)?,
                // Both spellings are live in the wild. If a payload carries both, the first
                // one names the dataset and the second is kept verbatim in `extra`.
                "dataSetName" | "datasetName" if dataset.is_none() => dataset = Some(map.next_value::<Option<Text>>()?),
                "operation" => set(&mut operation, "operation", map.next_value::<Option<Operation>>()?)?,
                "kinesisSyncRecords" => set(
                    &mut records,
                    "kinesisSyncRecords",
                    map.next_value::<Option<Vec<SyncRecord<'de>>>>()?,
                )?,
                "lastModifiedDate" => set(&mut last_modified, "lastModifiedDate", map.next_value::<Option<i64>>()?)?,
                "kinesisSyncRecordsURL" => set(&mut url, "kinesisSyncRecordsURL", map.next_value::<Option<Text>>()?)?,
                "payloadType" => set(
                    &mut payload_type,
                    "payloadType",
                    map.next_value::<Option<PayloadType>>()?,
                )?,
                "syncCount" => set(&mut sync_count, "syncCount", map.next_value::<Option<i64>>()?)?,
                _ => extra.push((name, map.next_value::<&'de RawValue>()?)),
            }
        }
        let required = |v: Option<Option<Text<'de>>>, field: &'static str| {
            v.flatten().ok_or_else(|| de::Error::missing_field(field))
        };
        let records_url: Option<Text<'de>> = url.flatten();
        let payload_type = payload_type.flatten().unwrap_or(if records_url.is_some() {
            PayloadType::S3Url
        } else {
            PayloadType::Inline
        });
        Ok(Payload {
            identity_pool_id: required(pool, "identityPoolId")?,
            identity_id: required(identity, "identityId")?,
            dataset_name: required(dataset, "dataSetName")?,
            operation: operation.flatten(),
            records: records.flatten().unwrap_or_default(),
            last_modified: last_modified.flatten(),
            records_url,
            payload_type,
            sync_count: sync_count.flatten(),
            extra: Extra(extra),
        })
    }
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PayloadVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = SyncRecord<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Cognito Sync record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key = None;
        let mut value = None;
        let mut sync_count = None;
        let mut last_modified = None;
        let mut device_last_modified = None;
        let mut op = None;
        let mut extra = Vec::new();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match name.as_str() {
                "key" => set(&mut key, "key", map.next_value::<Option<Text>>()?)?,
                "value" => set(&mut value, "value", map.next_value::<Option<Text>>()?)?,
                "syncCount" => set(&mut sync_count, "syncCount", map.next_value::<Option<i64>>()?)?,
                "lastModifiedDate" => set(&mut last_modified, "lastModifiedDate", map.next_value::<Option<i64>>()?)?,
                "deviceLastModifiedDate" => set(
                    &mut device_last_modified,
                    "deviceLastModifiedDate",
                    map.next_value::<Option<i64>>()?,
                )?,
                "op" => set(&mut op, "op", map.next_value::<Option<Operation>>()?)?,
                _ => extra.push((name, map.next_value::<&'de RawValue>()?)),
            }
        }
        Ok(SyncRecord {
            key: key.flatten().ok_or_else(|| de::Error::missing_field("key"))?,
            value: value.flatten(),
            sync_count: sync_count.flatten(),
            last_modified: last_modified.flatten(),
            device_last_modified: device_last_modified.flatten(),
            op: op.flatten(),
            extra: Extra(extra),
        })
    }
}

impl<'de> Deserialize<'de> for SyncRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RecordVisitor)
    }
}
