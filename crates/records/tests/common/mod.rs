//! Helpers shared by the integration tests: fixture access and an independent oracle that
//! checks a decoded [`Payload`] against the same bytes parsed as a plain `serde_json::Value`.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::{Map, Value};
use synclake_records::{Extra, Operation, Payload, PayloadType, SyncRecord};

/// The repository's `fixtures/` directory, with a trailing slash.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/");

/// The identity pool of every fixture.
pub const POOL: &str = "us-east-1:3f1c9a2e-7b4d-4e8a-9c61-2d5f0e8b7a13";
pub const ID_A: &str = "us-east-1:8c2d4f6a-1e3b-4a5c-9d7e-0f1a2b3c4d5e";
pub const ID_B: &str = "us-east-1:b7e1f2a3-c4d5-4e6f-8a9b-0c1d2e3f4a5b";
pub const ID_C: &str = "us-east-1:5a9e3c7d-2b1f-4d8e-a6c4-9f0e1d2c3b4a";
pub const ID_D: &str = "us-east-1:e04b7f19-93c2-4b6a-b8d5-71a2c6f3e980";
pub const ID_E: &str = "us-east-1:2c6d8e0f-4a1b-4c3d-9e5f-a7b8c9d0e1f2";

/// Known payload-level field names (everything else is `extra`).
pub const PAYLOAD_FIELDS: [&str; 10] = [
    "identityPoolId",
    "identityId",
    "dataSetName",
    "datasetName",
    "operation",
    "kinesisSyncRecords",
    "lastModifiedDate",
    "kinesisSyncRecordsURL",
    "payloadType",
    "syncCount",
];

/// Known record-level field names.
pub const RECORD_FIELDS: [&str; 6] = [
    "key",
    "value",
    "syncCount",
    "lastModifiedDate",
    "deviceLastModifiedDate",
    "op",
];

/// The bytes of `fixtures/<rel>`.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}{rel}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The file names in `fixtures/<dir>`, sorted.
pub fn fixture_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{FIXTURES}{dir}"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A present, non-null member of a JSON object.
fn member<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn operation(v: Option<&Value>) -> Option<Operation> {
    v.map(|v| match v.as_str().unwrap() {
        "replace" => Operation::Replace,
        "remove" => Operation::Remove,
        other => panic!("oracle given an invalid op {other:?}"),
    })
}

fn int(v: Option<&Value>) -> Option<i64> {
    v.map(|v| v.as_i64().unwrap())
}

fn string(v: Option<&Value>) -> Option<&str> {
    v.map(|v| v.as_str().unwrap())
}

/// The extras of a decoded payload or record as `(name, value parsed from its raw JSON text)`,
/// in decoded order.
pub fn extra_values(extra: &Extra<'_>) -> Vec<(String, Value)> {
    extra
        .0
        .iter()
        .map(|(name, raw)| (name.as_str().to_owned(), serde_json::from_str(raw.get()).unwrap()))
        .collect()
}

/// The members of `obj` whose names are not in `known`, in `obj`'s iteration order.
pub fn expected_extra(obj: &Map<String, Value>, known: &[&str]) -> Vec<(String, Value)> {
    obj.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn sorted(mut v: Vec<(String, Value)>) -> Vec<(String, Value)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Asserts that a decoded record says exactly what its JSON object says.
pub fn assert_record_matches(r: &SyncRecord<'_>, v: &Value, at: &str) {
    let obj = v.as_object().unwrap();
    assert_eq!(Some(r.key.as_str()), string(member(obj, "key")), "{at}: key");
    assert_eq!(
        r.value.as_ref().map(|t| t.as_str()),
        string(member(obj, "value")),
        "{at}: value"
    );
    assert_eq!(r.sync_count, int(member(obj, "syncCount")), "{at}: syncCount");
    assert_eq!(
        r.last_modified,
        int(member(obj, "lastModifiedDate")),
        "{at}: lastModifiedDate"
    );
    assert_eq!(
        r.device_last_modified,
        int(member(obj, "deviceLastModifiedDate")),
        "{at}: deviceLastModifiedDate"
    );
    assert_eq!(r.op, operation(member(obj, "op")), "{at}: op");
    assert_eq!(
        sorted(extra_values(&r.extra)),
        sorted(expected_extra(obj, &RECORD_FIELDS)),
        "{at}: extra"
    );
}

/// Asserts that a decoded payload says exactly what the same document parsed as a `Value` says.
///
/// Extras are compared as sets of `(name, value)` because a `Value` map does not keep the
/// document's order; the property tests check the order separately.
pub fn assert_payload_matches(p: &Payload<'_>, v: &Value) {
    let obj = v.as_object().unwrap();
    assert_eq!(p.identity_pool_id.as_str(), obj["identityPoolId"].as_str().unwrap());
    assert_eq!(p.identity_id.as_str(), obj["identityId"].as_str().unwrap());
    let name = member(obj, "dataSetName").or_else(|| member(obj, "datasetName"));
    assert_eq!(Some(p.dataset_name.as_str()), string(name), "dataset name");
    assert_eq!(p.operation, operation(member(obj, "operation")), "operation");
    assert_eq!(
        p.last_modified,
        int(member(obj, "lastModifiedDate")),
        "lastModifiedDate"
    );
    assert_eq!(p.sync_count, int(member(obj, "syncCount")), "syncCount");
    let url = string(member(obj, "kinesisSyncRecordsURL"));
    assert_eq!(p.records_url.as_ref().map(|t| t.as_str()), url, "kinesisSyncRecordsURL");
    let payload_type = match string(member(obj, "payloadType")) {
        Some("Inline") => PayloadType::Inline,
        Some("S3Url") => PayloadType::S3Url,
        Some(other) => panic!("oracle given an invalid payloadType {other:?}"),
        None if url.is_some() => PayloadType::S3Url,
        None => PayloadType::Inline,
    };
    assert_eq!(p.payload_type, payload_type, "payloadType");
    let records = member(obj, "kinesisSyncRecords")
        .map(|v| v.as_array().unwrap().as_slice())
        .unwrap_or_default();
    assert_eq!(p.records.len(), records.len(), "record count");
    for (i, (r, rv)) in p.records.iter().zip(records).enumerate() {
        assert_record_matches(r, rv, &format!("kinesisSyncRecords[{i}]"));
    }
    assert_eq!(
        sorted(extra_values(&p.extra)),
        sorted(expected_extra(obj, &PAYLOAD_FIELDS)),
        "payload extra"
    );
}
