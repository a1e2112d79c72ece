//! `validate` reports each broken identifier pattern or limit, and nothing on real-shaped data.
#![allow(clippy::unwrap_used)]

mod common;

use common::fixture;
use serde_json::{Value, json};
use synclake_records::{Violation, decode_payload, decode_records_body, validate};

/// Violations of a payload built from `v`, checking its inline records.
fn violations(v: &Value) -> Vec<(String, &'static str)> {
    let data = serde_json::to_vec(v).unwrap();
    let p = decode_payload(&data).unwrap();
    validate(&p, &[]).into_iter().map(|v| (v.field, v.rule)).collect()
}

fn base() -> Value {
    json!({
        "identityPoolId": "us-east-1:3f1c9a2e-7b4d-4e8a-9c61-2d5f0e8b7a13",
        "identityId": "us-east-1:8c2d4f6a-1e3b-4a5c-9d7e-0f1a2b3c4d5e",
        "dataSetName": "game_state",
        "operation": "replace",
        "kinesisSyncRecords": [
            {"key": "highScore", "value": "1200", "syncCount": 7, "op": "replace"},
            {"key": "level", "value": "14", "syncCount": 5, "op": "replace"}
        ],
        "syncCount": 31
    })
}

fn with(path: &str, value: Value) -> Value {
    let mut v = base();
    *v.pointer_mut(path).unwrap() = value;
    v
}

fn one(field: &str, rule: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_owned(), rule)]
}

#[test]
fn every_valid_fixture_is_clean() {
    for file in common::fixture_names("payloads") {
        let data = fixture(&format!("payloads/{file}"));
        let p = decode_payload(&data).unwrap();
        assert_eq!(validate(&p, &[]), [], "{file}");
    }
    // The S3 body, checked with its payload.
    let data = fixture("payloads/s3url.json");
    let p = decode_payload(&data).unwrap();
    let body = fixture("s3url/records_array.json");
    let records = decode_records_body(&body).unwrap();
    assert_eq!(validate(&p, &records), []);
    assert_eq!(violations(&base()), []);
}

#[test]
fn ids_must_be_region_colon_guid() {
    for bad in [
        "us-east-1_3f1c9a2e",  // no colon
        "us-east-1:3F1C9A2E",  // upper-case hex
        "us-east-1:3f1c9a2g",  // not hex
        ":3f1c9a2e",           // empty region
        "us-east-1:",          // empty GUID
        "us east 1:3f1c9a2e",  // space in region
        "us-east-1:3f1c:9a2e", // second colon is not hex
    ] {
        assert_eq!(
            violations(&with("/identityPoolId", json!(bad))),
            one("identityPoolId", "not of the form region:GUID"),
            "{bad}"
        );
        assert_eq!(
            violations(&with("/identityId", json!(bad))),
            one("identityId", "not of the form region:GUID"),
            "{bad}"
        );
    }
}

#[test]
fn ids_are_at_most_55_characters() {
    let at_limit = format!("us-east-1:{}", "a".repeat(45));
    assert_eq!(at_limit.len(), 55);
    assert_eq!(violations(&with("/identityId", json!(at_limit))), []);
    let over = format!("us-east-1:{}", "a".repeat(46));
    assert_eq!(
        violations(&with("/identityId", json!(over))),
        one("identityId", "longer than 55 characters")
    );
}

#[test]
fn dataset_name_charset_and_length() {
    assert_eq!(
        violations(&with("/dataSetName", json!("game state"))),
        one("dataSetName", "characters outside [a-zA-Z0-9_.:-]")
    );
    assert_eq!(
        violations(&with("/dataSetName", json!("é"))),
        one("dataSetName", "characters outside [a-zA-Z0-9_.:-]")
    );
    assert_eq!(violations(&with("/dataSetName", json!("aZ09_.:-"))), []);
    assert_eq!(violations(&with("/dataSetName", json!("x".repeat(128)))), []);
    assert_eq!(
        violations(&with("/dataSetName", json!("x".repeat(129)))),
        one("dataSetName", "not 1..128 bytes")
    );
    assert_eq!(
        violations(&with("/dataSetName", json!(""))),
        one("dataSetName", "not 1..128 bytes")
    );
}

#[test]
fn keys_are_1_to_1024_characters() {
    assert_eq!(
        violations(&with("/kinesisSyncRecords/1/key", json!("k".repeat(1024)))),
        []
    );
    // Characters, not bytes: 1,024 two-byte characters are within the limit.
    assert_eq!(
        violations(&with("/kinesisSyncRecords/1/key", json!("é".repeat(1024)))),
        []
    );
    assert_eq!(
        violations(&with("/kinesisSyncRecords/1/key", json!("k".repeat(1025)))),
        one("kinesisSyncRecords[1].key", "not 1..1024 characters")
    );
    assert_eq!(
        violations(&with("/kinesisSyncRecords/0/key", json!(""))),
        one("kinesisSyncRecords[0].key", "not 1..1024 characters")
    );
}

#[test]
fn values_are_at_most_1048575_characters() {
    assert_eq!(
        violations(&with("/kinesisSyncRecords/0/value", json!("v".repeat(1_048_575)))),
        []
    );
    assert_eq!(
        violations(&with("/kinesisSyncRecords/0/value", json!("é".repeat(1_048_575)))),
        []
    );
    assert_eq!(
        violations(&with("/kinesisSyncRecords/0/value", json!("v".repeat(1_048_576)))),
        one("kinesisSyncRecords[0].value", "longer than 1,048,575 characters")
    );
}

#[test]
fn sync_counts_are_not_negative() {
    assert_eq!(violations(&with("/syncCount", json!(-1))), one("syncCount", "negative"));
    assert_eq!(violations(&with("/syncCount", json!(0))), []);
    assert_eq!(
        violations(&with("/kinesisSyncRecords/1/syncCount", json!(i64::MIN))),
        one("kinesisSyncRecords[1].syncCount", "negative")
    );
}

#[test]
fn at_most_1024_records() {
    let records = |n: usize| -> Value { (0..n).map(|i| json!({"key": format!("k{i}")})).collect() };
    assert_eq!(violations(&with("/kinesisSyncRecords", records(1024))), []);
    assert_eq!(
        violations(&with("/kinesisSyncRecords", records(1025))),
        one("kinesisSyncRecords", "more than 1024 records")
    );
}

#[test]
fn every_broken_rule_is_reported_in_order() {
    let v = json!({
        "identityPoolId": "nocolon",
        "identityId": format!("us-east-1:{}", "0".repeat(50)),
        "dataSetName": "has space",
        "kinesisSyncRecords": [{"key": "", "syncCount": -3}],
        "syncCount": -1
    });
    let got = violations(&v);
    assert_eq!(
        got,
        [
            ("identityPoolId".to_owned(), "not of the form region:GUID"),
            ("identityId".to_owned(), "longer than 55 characters"),
            ("dataSetName".to_owned(), "characters outside [a-zA-Z0-9_.:-]"),
            ("syncCount".to_owned(), "negative"),
            ("kinesisSyncRecords[0].key".to_owned(), "not 1..1024 characters"),
            ("kinesisSyncRecords[0].syncCount".to_owned(), "negative"),
        ]
    );
    let shown = Violation {
        field: "kinesisSyncRecords[0].key".to_owned(),
        rule: "not 1..1024 characters",
    };
    assert_eq!(shown.to_string(), "kinesisSyncRecords[0].key: not 1..1024 characters");
}
