//! Every bad fixture is rejected, without a panic, by an error that names its one defect.
#![allow(clippy::unwrap_used)]

mod common;

use std::error::Error as _;

use common::fixture;
use serde_json::{Value, json};
use synclake_records::{DecodeError, decode_payload, decode_records_body};

/// (file, the full message serde/the decoder gives, `kind()`).
///
/// Full messages, positions included: the position points at the defect, which is part of
/// what makes the error useful in a dead-letter row.
const BAD: [(&str, &str, &str); 17] = [
    (
        "empty.txt",
        "EOF while parsing a value at line 1 column 0",
        "invalid_json",
    ),
    (
        "last_modified_float.json",
        "invalid type: floating point `1424801824343.5`, expected i64 at line 11 column 41",
        "invalid_json",
    ),
    (
        "missing_identity_pool.json",
        "missing field `identityPoolId` at line 19 column 1",
        "invalid_json",
    ),
    (
        "missing_record_key.json",
        "missing field `key` at line 13 column 5",
        "invalid_json",
    ),
    ("non_utf8.bin", "not UTF-8 (invalid byte at offset 230)", "invalid_utf8"),
    ("not_json.txt", "expected value at line 1 column 1", "invalid_json"),
    (
        "op_unknown.json",
        "unknown variant `upsert`, expected `replace` or `remove` at line 13 column 20",
        "invalid_json",
    ),
    (
        "operation_unknown.json",
        "unknown variant `delete`, expected `replace` or `remove` at line 5 column 23",
        "invalid_json",
    ),
    (
        "payload_type_unknown.json",
        "unknown variant `inline`, expected `Inline` or `S3Url` at line 18 column 25",
        "invalid_json",
    ),
    (
        "records_not_array.json",
        "invalid type: map, expected a sequence at line 6 column 24",
        "invalid_json",
    ),
    (
        "s3url_without_url.json",
        "payloadType is S3Url but kinesisSyncRecordsURL is absent",
        "s3url_missing",
    ),
    (
        "sync_count_float.json",
        "invalid type: floating point `31.0`, expected i64 at line 19 column 19",
        "invalid_json",
    ),
    (
        "sync_count_overflow.json",
        "invalid value: integer `9223372036854775808`, expected i64 at line 19 column 34",
        "invalid_json",
    ),
    (
        "sync_count_string.json",
        "invalid type: string \"31\", expected i64 at line 10 column 23",
        "invalid_json",
    ),
    (
        "top_level_array.json",
        "invalid type: sequence, expected a Cognito Streams payload object at line 1 column 0",
        "invalid_json",
    ),
    (
        "truncated.json",
        "EOF while parsing a string at line 1 column 212",
        "invalid_json",
    ),
    (
        "value_number.json",
        "invalid type: integer `12`, expected a string at line 9 column 17",
        "invalid_json",
    ),
];

#[test]
fn every_bad_fixture_is_covered() {
    let listed: Vec<&str> = BAD.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(common::fixture_names("bad"), listed);
}

#[test]
fn every_bad_fixture_is_rejected_with_a_precise_message() {
    for (file, message, kind) in BAD {
        let data = fixture(&format!("bad/{file}"));
        let err = match decode_payload(&data) {
            Ok(p) => panic!("{file}: accepted as {p:?}"),
            Err(e) => e,
        };
        assert_eq!(
            err.to_string(),
            format!("invalid Cognito Streams payload: {message}"),
            "{file}"
        );
        assert_eq!(err.kind(), kind, "{file}");
        // The parser's error is kept as the source, not flattened into a string.
        if kind == "invalid_json" {
            assert!(matches!(err, DecodeError::Json { .. }), "{file}: {err:?}");
            assert_eq!(err.source().unwrap().to_string(), message, "{file}: source");
        } else if kind == "invalid_utf8" {
            assert!(matches!(err, DecodeError::Utf8 { valid_up_to: 230 }), "{file}: {err:?}");
        } else {
            assert!(matches!(err, DecodeError::S3UrlMissing), "{file}: {err:?}");
        }
    }
}

#[test]
fn truncated_is_a_prefix_of_a_valid_payload() {
    // The defect is only the cut: the same bytes completed decode.
    let t = fixture("bad/truncated.json");
    assert!(t.ends_with(br#""high"#));
    let text = String::from_utf8(t).unwrap() + r#"Score","value":"1200","syncCount":7}]}"#;
    let p = decode_payload(text.as_bytes()).unwrap();
    assert_eq!(p.records[0].key.as_str(), "highScore");
}

#[test]
fn non_utf8_is_rejected_not_replaced() {
    let data = fixture("bad/non_utf8.bin");
    assert_eq!(data.iter().filter(|&&b| b == 0xFF).count(), 1);
    assert!(decode_payload(&data).is_err());
    // With the byte fixed, it decodes: the 0xFF was the only defect.
    let fixed: Vec<u8> = data.iter().map(|&b| if b == 0xFF { b'0' } else { b }).collect();
    let p = decode_payload(&fixed).unwrap();
    assert_eq!(p.records[0].value.as_ref().unwrap().as_str(), "12000");
}

/// The base every single-defect case below starts from.
fn base() -> Value {
    json!({
        "identityPoolId": "us-east-1:3f1c9a2e-7b4d-4e8a-9c61-2d5f0e8b7a13",
        "identityId": "us-east-1:8c2d4f6a-1e3b-4a5c-9d7e-0f1a2b3c4d5e",
        "dataSetName": "game_state",
        "kinesisSyncRecords": [{"key": "highScore", "value": "1200", "syncCount": 7}],
        "syncCount": 31
    })
}

fn message_for(v: &Value) -> String {
    let data = serde_json::to_vec(v).unwrap();
    decode_payload(&data).unwrap_err().to_string()
}

#[test]
fn required_fields_absent_or_null_are_named() {
    assert!(decode_payload(&serde_json::to_vec(&base()).unwrap()).is_ok());
    for (field, name) in [
        ("identityPoolId", "identityPoolId"),
        ("identityId", "identityId"),
        ("dataSetName", "dataSetName"),
    ] {
        let mut absent = base();
        absent.as_object_mut().unwrap().remove(field);
        assert!(
            message_for(&absent).contains(&format!("missing field `{name}`")),
            "{field} absent"
        );
        let mut null = base();
        null[field] = Value::Null;
        assert!(
            message_for(&null).contains(&format!("missing field `{name}`")),
            "{field} null"
        );
    }
    let mut null_key = base();
    null_key["kinesisSyncRecords"][0]["key"] = Value::Null;
    assert!(message_for(&null_key).contains("missing field `key`"));
}

#[test]
fn wrong_types_are_named() {
    for (path, bad, expected) in [
        ("/syncCount", json!(true), "invalid type: boolean `true`, expected i64"),
        (
            "/syncCount",
            json!(-1.5),
            "invalid type: floating point `-1.5`, expected i64",
        ),
        (
            "/lastModifiedDate",
            json!("1424801824343"),
            "invalid type: string \"1424801824343\", expected i64",
        ),
        ("/identityId", json!(7), "invalid type: integer `7`, expected a string"),
        (
            "/kinesisSyncRecordsURL",
            json!({}),
            "invalid type: map, expected a string",
        ),
        (
            "/kinesisSyncRecords/0/deviceLastModifiedDate",
            json!(1.0),
            "invalid type: floating point `1.0`, expected i64",
        ),
        (
            "/kinesisSyncRecords/0/key",
            json!(["a"]),
            "invalid type: sequence, expected a string",
        ),
        (
            "/kinesisSyncRecords/0/op",
            json!("Replace"),
            "unknown variant `Replace`, expected `replace` or `remove`",
        ),
        (
            "/kinesisSyncRecords/0",
            json!(5),
            "invalid type: integer `5`, expected a Cognito Sync record object",
        ),
        (
            "/kinesisSyncRecords",
            json!("[]"),
            "invalid type: string \"[]\", expected a sequence",
        ),
        (
            "/payloadType",
            json!("S3URL"),
            "unknown variant `S3URL`, expected `Inline` or `S3Url`",
        ),
    ] {
        let mut v = base();
        let (parent, leaf) = path.rsplit_once('/').unwrap();
        let target = v.pointer_mut(parent).unwrap();
        match target {
            Value::Array(a) => a[leaf.parse::<usize>().unwrap()] = bad,
            Value::Object(o) => {
                o.insert(leaf.to_owned(), bad);
            }
            _ => unreachable!(),
        }
        let msg = message_for(&v);
        assert!(msg.contains(expected), "{path}: {msg}");
    }
}

#[test]
fn duplicate_known_fields_are_rejected() {
    let data = br#"{"identityPoolId":"a:1","identityId":"a:1","identityId":"a:2","dataSetName":"d"}"#;
    let msg = decode_payload(data).unwrap_err().to_string();
    assert!(msg.contains("duplicate field `identityId`"), "{msg}");
    let data = br#"{"identityPoolId":"a:1","identityId":"a:1","dataSetName":"d","kinesisSyncRecords":[{"key":"k","op":"remove","op":"remove"}]}"#;
    let msg = decode_payload(data).unwrap_err().to_string();
    assert!(msg.contains("duplicate field `op`"), "{msg}");
}

#[test]
fn trailing_data_is_rejected() {
    let one = serde_json::to_string(&base()).unwrap();
    let two = format!("{one}\n{one}");
    let msg = decode_payload(two.as_bytes()).unwrap_err().to_string();
    assert!(msg.contains("trailing characters at line 2 column 1"), "{msg}");
}

#[test]
fn s3_body_must_be_an_array_of_records() {
    for (body, expected) in [
        (&b"{}"[..], "invalid type: map, expected a sequence"),
        (b"null", "invalid type: null, expected a sequence"),
        (b"[{\"value\":\"v\"}]", "missing field `key`"),
        (
            b"[{\"key\":\"k\",\"syncCount\":\"1\"}]",
            "invalid type: string \"1\", expected i64",
        ),
        (b"[", "EOF while parsing a list"),
        (b"", "EOF while parsing a value"),
    ] {
        let msg = decode_records_body(body).unwrap_err().to_string();
        assert!(msg.contains(expected), "{}: {msg}", String::from_utf8_lossy(body));
    }
    assert!(decode_records_body(b"[]").unwrap().is_empty());
}

#[test]
fn invalid_string_contents_are_rejected() {
    let with_value = |raw: &[u8]| {
        let mut data = br#"{"identityPoolId":"a:1","identityId":"a:1","dataSetName":"d","kinesisSyncRecords":[{"key":"k","value":""#.to_vec();
        data.extend_from_slice(raw);
        data.extend_from_slice(br#""}]}"#);
        decode_payload(&data).unwrap_err().to_string()
    };
    // A lone surrogate escape is not a character; a raw control character is not JSON.
    assert!(with_value(br"\ud800x").contains("unexpected end of hex escape"));
    assert!(with_value(b"\x01").contains("control character (\\u0000-\\u001F) found while parsing a string"));
    assert!(with_value(br"\x").contains("invalid escape"));
}
