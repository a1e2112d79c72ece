//! Properties: decode of encode is identity; `validate` flags exactly the broken rules; no
//! input, however mangled, makes a decoder panic.
#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;

use common::{PAYLOAD_FIELDS, RECORD_FIELDS, assert_payload_matches, expected_extra, extra_values, fixture};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Number, Value};
use synclake_records::envelope::{get_records_records, lambda_event_records};
use synclake_records::{
    DecodeError, Extra, Payload, Text, decode_payload, decode_records_body, detect_format, validate,
};

/// Characters that stress the decoder: any Unicode scalar, plus quotes, backslashes, control
/// characters and the solidus, which JSON may escape.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => any::<char>(),
        4 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('/'),
        1 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => Just('\u{1F600}'),
    ]
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..=max_chars).prop_map(String::from_iter)
}

fn nonempty_text(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 1..=max_chars).prop_map(String::from_iter)
}

const ID: &str = "[a-z]{2}-[a-z]{4,9}-[1-9]:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const DATASET: &str = "[a-zA-Z0-9_.:-]{1,128}";

/// Absent, null, or a value.
fn optional(s: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 3 => s.prop_map(Some)]
}

fn int() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (0i64..10_000_000_000_000).prop_map(Value::from),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
    ]
}

fn op() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::from("replace")), Just(Value::from("remove"))]
}

/// Floats with at most ~15 significant digits, which serde_json parses back bit for bit
/// (its default float parser is not guaranteed exact on longer ones).
fn float() -> impl Strategy<Value = Value> {
    (any::<i32>(), 0i32..=6).prop_map(|(m, e)| Value::Number(Number::from_f64(f64::from(m) / 10f64.powi(e)).unwrap()))
}

/// Any JSON value, for extra fields.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float(),
        text(12).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((text(6), inner), 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown fields: names that are not `known`.
fn extras(known: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(
        (
            text(10).prop_filter("a known field", move |n| !known.contains(&n.as_str())),
            json_value(),
        ),
        0..=max,
    )
}

fn put(obj: &mut Map<String, Value>, name: &str, v: Option<Value>) {
    if let Some(v) = v {
        obj.insert(name.to_owned(), v);
    }
}

fn record(key: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
    (
        key,
        optional(text(40).prop_map(Value::String)),
        optional(int()),
        optional(int()),
        optional(int()),
        optional(op()),
        extras(&RECORD_FIELDS, 2),
    )
        .prop_map(|(key, value, sync_count, lmd, dlmd, op, extra)| {
            let mut r = Map::new();
            for (name, v) in extra {
                r.insert(name, v);
            }
            r.insert("key".to_owned(), Value::String(key));
            put(&mut r, "value", value);
            put(&mut r, "syncCount", sync_count);
            put(&mut r, "lastModifiedDate", lmd);
            put(&mut r, "deviceLastModifiedDate", dlmd);
            put(&mut r, "op", op);
            Value::Object(r)
        })
}

/// A payload as a `Value`: ids and keys from `id`/`key`, everything optional made absent, null
/// or random, 0–30 records, random extras at both levels.
fn payload_with(id: BoxedStrategy<String>, key: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
    let records = prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        6 => proptest::collection::vec(record(key), 0..=30).prop_map(|r| Some(Value::Array(r))),
    ];
    let head = (
        id.clone(),
        id,
        DATASET,
        any::<bool>(),
        optional(op()),
        optional(int()),
        optional(int()),
    );
    let tail = (
        records,
        optional(text(60).prop_map(Value::String)),
        optional(prop_oneof![Just(Value::from("Inline")), Just(Value::from("S3Url"))]),
        extras(&PAYLOAD_FIELDS, 3),
    );
    (head, tail).prop_map(
        |((pool, identity, dataset, docs_spelling, operation, lmd, sync_count), (records, url, ptype, extra))| {
            let mut p = Map::new();
            for (name, v) in extra {
                p.insert(name, v);
            }
            p.insert("identityPoolId".to_owned(), Value::String(pool));
            p.insert("identityId".to_owned(), Value::String(identity));
            let spelling = if docs_spelling { "dataSetName" } else { "datasetName" };
            p.insert(spelling.to_owned(), Value::String(dataset));
            put(&mut p, "operation", operation);
            put(&mut p, "kinesisSyncRecords", records);
            put(&mut p, "lastModifiedDate", lmd);
            put(&mut p, "kinesisSyncRecordsURL", url);
            put(&mut p, "payloadType", ptype);
            put(&mut p, "syncCount", sync_count);
            Value::Object(p)
        },
    )
}

fn payload() -> impl Strategy<Value = Value> {
    let id = prop_oneof![3 => ID.prop_map(String::from), 1 => text(20)].boxed();
    payload_with(id, text(30).boxed())
}

fn encode(v: &Value, pretty: bool) -> Vec<u8> {
    if pretty {
        serde_json::to_vec_pretty(v).unwrap()
    } else {
        serde_json::to_vec(v).unwrap()
    }
}

/// serde_json escapes exactly these; a string without them is written verbatim, so decoding
/// it must borrow.
fn needs_escape(s: &str) -> bool {
    s.chars().any(|c| c == '"' || c == '\\' || c < ' ')
}

fn assert_borrowing(t: &Text<'_>) {
    assert_eq!(
        matches!(t.0, Cow::Borrowed(_)),
        !needs_escape(t.as_str()),
        "borrowing of {:?}",
        t.as_str()
    );
}

fn assert_extra_order(extra: &Extra<'_>, obj: &Map<String, Value>, known: &[&str]) {
    let got: Vec<String> = extra_values(extra).into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> = expected_extra(obj, known).into_iter().map(|(n, _)| n).collect();
    assert_eq!(got, want, "extras in input order");
    for (name, _) in &extra.0 {
        assert_borrowing(name);
    }
}

/// Everything a decoded payload must say about the `Value` it was encoded from.
fn assert_identity(p: &Payload<'_>, v: &Value) {
    assert_payload_matches(p, v);
    let obj = v.as_object().unwrap();
    assert_extra_order(&p.extra, obj, &PAYLOAD_FIELDS);
    for t in [&p.identity_pool_id, &p.identity_id, &p.dataset_name] {
        assert_borrowing(t);
    }
    if let Some(url) = &p.records_url {
        assert_borrowing(url);
    }
    let raw_records = obj.get("kinesisSyncRecords").and_then(Value::as_array);
    for (i, r) in p.records.iter().enumerate() {
        assert_borrowing(&r.key);
        if let Some(value) = &r.value {
            assert_borrowing(value);
        }
        assert_extra_order(&r.extra, raw_records.unwrap()[i].as_object().unwrap(), &RECORD_FIELDS);
    }
}

fn s3url_without_url(v: &Value) -> bool {
    v.get("payloadType") == Some(&Value::from("S3Url")) && v.get("kinesisSyncRecordsURL").is_none_or(Value::is_null)
}

/// A mutation of `bytes`: cut at, overwrite at, or insert at `at`.
fn mutate(mut bytes: Vec<u8>, at: Index, byte: u8, how: u8) -> Vec<u8> {
    let i = at.index(bytes.len() + 1);
    match how % 3 {
        0 => bytes.truncate(i),
        1 if i < bytes.len() => bytes[i] = byte,
        _ => bytes.insert(i, byte),
    }
    bytes
}

/// Runs every decoder on `bytes`. A panic fails the test; so does an accepted payload that is
/// not a JSON object with the pool, identity and dataset name it was decoded to.
fn decode_everything(bytes: &[u8]) {
    match decode_payload(bytes) {
        Ok(p) => {
            let v: Value = match serde_json::from_slice(bytes) {
                Ok(v) => v,
                // Unknown fields are kept verbatim, so a number `Value` cannot hold (`1e999`)
                // is accepted there; anything else must parse.
                Err(e) => {
                    assert!(
                        e.to_string().contains("number out of range"),
                        "accepted bytes are JSON: {e}"
                    );
                    assert!(
                        p.extra
                            .0
                            .iter()
                            .chain(p.records.iter().flat_map(|r| r.extra.0.iter()))
                            .any(|(_, raw)| { serde_json::from_str::<Value>(raw.get()).is_err() })
                    );
                    return;
                }
            };
            assert!(v.is_object());
            assert_eq!(v["identityPoolId"].as_str(), Some(p.identity_pool_id.as_str()));
            assert_eq!(v["identityId"].as_str(), Some(p.identity_id.as_str()));
            assert_eq!(decode_payload(bytes).unwrap(), p, "decoding is deterministic");
        }
        Err(e) => {
            assert!(e.to_string().starts_with("invalid Cognito Streams payload: "), "{e}");
            assert!(
                matches!(
                    e,
                    DecodeError::Json { .. } | DecodeError::Utf8 { .. } | DecodeError::S3UrlMissing
                ),
                "{e:?}"
            );
        }
    }
    if let Ok(records) = decode_records_body(bytes) {
        assert!(serde_json::from_slice::<Value>(bytes).unwrap().is_array());
        drop(records);
    }
    let _ = detect_format(bytes, true);
    let _ = detect_format(bytes, false);
    let _ = lambda_event_records(bytes);
    if let Ok(records) = get_records_records(bytes, "f") {
        assert!(records.iter().all(|r| r.lineage.source == "f"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(v in payload(), pretty in any::<bool>()) {
        let bytes = encode(&v, pretty);
        match decode_payload(&bytes) {
            Ok(p) => {
                prop_assert!(!s3url_without_url(&v), "S3Url without a URL accepted");
                assert_identity(&p, &v);
            }
            Err(e) => {
                prop_assert!(s3url_without_url(&v), "rejected: {}", e);
                prop_assert!(matches!(e, DecodeError::S3UrlMissing));
            }
        }
    }

    #[test]
    fn records_body_round_trips(records in proptest::collection::vec(record(text(30).boxed()), 0..=30), pretty in any::<bool>()) {
        let v = Value::Array(records);
        let bytes = encode(&v, pretty);
        let decoded = decode_records_body(&bytes).unwrap();
        let raw = v.as_array().unwrap();
        prop_assert_eq!(decoded.len(), raw.len());
        for (i, (r, rv)) in decoded.iter().zip(raw).enumerate() {
            common::assert_record_matches(r, rv, &format!("[{i}]"));
            assert_extra_order(&r.extra, rv.as_object().unwrap(), &RECORD_FIELDS);
        }
    }

    #[test]
    fn validate_flags_exactly_the_broken_rules(
        v in payload_with(ID.prop_map(String::from).boxed(), nonempty_text(40).boxed()),
    ) {
        let bytes = encode(&v, false);
        prop_assume!(!s3url_without_url(&v));
        let p = decode_payload(&bytes).unwrap();
        // Ids, dataset names and keys are generated within the rules; only negative sync
        // counts, timestamps outside years 1..=9999 (and too many records, never generated)
        // can break one.
        let outside = |t: Option<i64>| t.is_some_and(|t| !synclake_records::validate::timestamp_ok(t));
        let mut want = Vec::new();
        if p.sync_count.is_some_and(|c| c < 0) {
            want.push(("syncCount".to_owned(), "negative"));
        }
        if outside(p.last_modified) {
            want.push(("lastModifiedDate".to_owned(), "outside years 1-9999"));
        }
        for (i, r) in p.records.iter().enumerate() {
            if r.sync_count.is_some_and(|c| c < 0) {
                want.push((format!("kinesisSyncRecords[{i}].syncCount"), "negative"));
            }
            if outside(r.last_modified) {
                want.push((format!("kinesisSyncRecords[{i}].lastModifiedDate"), "outside years 1-9999"));
            }
            if outside(r.device_last_modified) {
                want.push((format!("kinesisSyncRecords[{i}].deviceLastModifiedDate"), "outside years 1-9999"));
            }
        }
        let got: Vec<(String, &str)> = validate(&p, &[]).into_iter().map(|x| (x.field, x.rule)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_payloads_never_panic(v in payload(), at in any::<Index>(), byte in any::<u8>(), how in any::<u8>()) {
        decode_everything(&mutate(encode(&v, false), at, byte, how));
    }

    #[test]
    fn mutated_fixtures_never_panic(
        file in prop::sample::select(&[
            "envelopes/lambda_kinesis_event.json",
            "envelopes/get_records_output.json",
            "envelopes/get_records_output_iso.json",
            "payloads/unicode_values.json",
            "payloads/extra_fields.json",
            "s3url/records_array.json",
        ][..]),
        at in any::<Index>(),
        byte in any::<u8>(),
        how in any::<u8>(),
    ) {
        decode_everything(&mutate(fixture(file), at, byte, how));
    }
}
