//! The Cognito Streams payload: one synchronization of one dataset (`docs/cognito-sync-formats.md` §1).
//!
//! Decoding is typed and borrows from the input buffer: ids, names, keys and most values are
//! slices of the Kinesis data blob. Unknown fields are kept verbatim as raw JSON in [`Extra`], so
//! a field AWS adds or a client sends is carried into the table, never dropped.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::buffers::DecodeBuffers;
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
///
/// Compact payloads of known fields take a fast path (see `fast.rs`); anything else, and every
/// error, goes through serde_json, so both give the same payload and the same errors.
///
/// A caller decoding many payloads saves allocations with [`crate::DecodeBuffers`].
pub fn decode_payload(data: &[u8]) -> Result<Payload<'_>, DecodeError> {
    decode_with(data, &mut DecodeBuffers::default())
}

/// [`decode_payload`], allocating from `buffers`.
pub(crate) fn decode_with<'a>(data: &'a [u8], buffers: &mut DecodeBuffers) -> Result<Payload<'a>, DecodeError> {
    let text = utf8(data)?;
    let payload = match crate::fast::decode(text, buffers) {
        Some(payload) => payload,
        None => decode_json(text)?,
    };
    if payload.payload_type == PayloadType::S3Url && payload.records_url.is_none() {
        return Err(DecodeError::S3UrlMissing);
    }
    Ok(payload)
}

/// The full decoder (serde_json): every field, unknown ones kept, precise errors.
pub(crate) fn decode_json(text: &str) -> Result<Payload<'_>, DecodeError> {
    serde_json::from_str(text).map_err(|source| DecodeError::Json { source })
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

/// A payload's known fields as they are read: each slot is set at most once, to the value
/// or to null. Both decoders fill these and [`PayloadFields::finish`] makes the payload, so
/// they cannot disagree on defaults.
#[derive(Default)]
pub(crate) struct PayloadFields<'a> {
    pub(crate) pool: Option<Option<Text<'a>>>,
    pub(crate) identity: Option<Option<Text<'a>>>,
    pub(crate) dataset: Option<Option<Text<'a>>>,
    pub(crate) operation: Option<Option<Operation>>,
    pub(crate) records: Option<Option<Vec<SyncRecord<'a>>>>,
    pub(crate) last_modified: Option<Option<i64>>,
    pub(crate) url: Option<Option<Text<'a>>>,
    pub(crate) payload_type: Option<Option<PayloadType>>,
    pub(crate) sync_count: Option<Option<i64>>,
}

impl<'a> PayloadFields<'a> {
    /// The payload; `Err` names the first required field absent or null.
    pub(crate) fn finish(self, extra: Extra<'a>) -> Result<Payload<'a>, &'static str> {
        let records_url = self.url.flatten();
        // Inferred from the URL when absent.
        let payload_type = self.payload_type.flatten().unwrap_or(if records_url.is_some() {
            PayloadType::S3Url
        } else {
            PayloadType::Inline
        });
        Ok(Payload {
            identity_pool_id: self.pool.flatten().ok_or("identityPoolId")?,
            identity_id: self.identity.flatten().ok_or("identityId")?,
            dataset_name: self.dataset.flatten().ok_or("dataSetName")?,
            operation: self.operation.flatten(),
            records: self.records.flatten().unwrap_or_default(),
            last_modified: self.last_modified.flatten(),
            records_url,
            payload_type,
            sync_count: self.sync_count.flatten(),
            extra,
        })
    }
}

/// A record's known fields as they are read (see [`PayloadFields`]).
#[derive(Default)]
pub(crate) struct RecordFields<'a> {
    pub(crate) key: Option<Option<Text<'a>>>,
    pub(crate) value: Option<Option<Text<'a>>>,
    pub(crate) sync_count: Option<Option<i64>>,
    pub(crate) last_modified: Option<Option<i64>>,
    pub(crate) device_last_modified: Option<Option<i64>>,
    pub(crate) op: Option<Option<Operation>>,
}

impl<'a> RecordFields<'a> {
    /// The record; `Err` names the required field absent or null.
    pub(crate) fn finish(self, extra: Extra<'a>) -> Result<SyncRecord<'a>, &'static str> {
        Ok(SyncRecord {
            key: self.key.flatten().ok_or("key")?,
            value: self.value.flatten(),
            sync_count: self.sync_count.flatten(),
            last_modified: self.last_modified.flatten(),
            device_last_modified: self.device_last_modified.flatten(),
            op: self.op.flatten(),
            extra,
        })
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Cognito Streams payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut f = PayloadFields::default();
        let mut extra = Vec::new();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match name.as_str() {
                "identityPoolId" => set(&mut f.pool, "identityPoolId", map.next_value::<Option<Text>>()?)?,
                "identityId" => set(&mut f.identity, "identityId", map.next_value::<Option<Text>>()?)?,
                // Both spellings are live in the wild. If a payload carries both, the first
                // one names the dataset and the second is kept verbatim in `extra`.
                "dataSetName" | "datasetName" if f.dataset.is_none() => {
                    f.dataset = Some(map.next_value::<Option<Text>>()?);
                }
                "operation" => set(&mut f.operation, "operation", map.next_value::<Option<Operation>>()?)?,
                "kinesisSyncRecords" => set(
                    &mut f.records,
                    "kinesisSyncRecords",
                    map.next_value::<Option<Vec<SyncRecord<'de>>>>()?,
                )?,
                "lastModifiedDate" => set(
                    &mut f.last_modified,
                    "lastModifiedDate",
                    map.next_value::<Option<i64>>()?,
                )?,
                "kinesisSyncRecordsURL" => set(&mut f.url, "kinesisSyncRecordsURL", map.next_value::<Option<Text>>()?)?,
                "payloadType" => set(
                    &mut f.payload_type,
                    "payloadType",
                    map.next_value::<Option<PayloadType>>()?,
                )?,
                "syncCount" => set(&mut f.sync_count, "syncCount", map.next_value::<Option<i64>>()?)?,
                _ => extra.push((name, map.next_value::<&'de RawValue>()?)),
            }
        }
        f.finish(Extra(extra)).map_err(de::Error::missing_field)
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
        let mut f = RecordFields::default();
        let mut extra = Vec::new();
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match name.as_str() {
                "key" => set(&mut f.key, "key", map.next_value::<Option<Text>>()?)?,
                "value" => set(&mut f.value, "value", map.next_value::<Option<Text>>()?)?,
                "syncCount" => set(&mut f.sync_count, "syncCount", map.next_value::<Option<i64>>()?)?,
                "lastModifiedDate" => set(
                    &mut f.last_modified,
                    "lastModifiedDate",
                    map.next_value::<Option<i64>>()?,
                )?,
                "deviceLastModifiedDate" => set(
                    &mut f.device_last_modified,
                    "deviceLastModifiedDate",
                    map.next_value::<Option<i64>>()?,
                )?,
                "op" => set(&mut f.op, "op", map.next_value::<Option<Operation>>()?)?,
                _ => extra.push((name, map.next_value::<&'de RawValue>()?)),
            }
        }
        f.finish(Extra(extra)).map_err(de::Error::missing_field)
    }
}

impl<'de> Deserialize<'de> for SyncRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RecordVisitor)
    }
}
