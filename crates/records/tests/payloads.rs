//! Every payload fixture decodes to exactly what `fixtures/README.md` says, and the S3 body too.
#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;

use common::{ID_A, ID_B, ID_C, ID_D, ID_E, POOL, assert_payload_matches, assert_record_matches, fixture};
use serde_json::{Value, json};
use synclake_records::{Operation, Payload, PayloadType, SyncRecord, decode_payload, decode_records_body};

use Operation::{Remove, Replace};

/// A record's typed fields, for one-line comparisons.
type Row<'a> = (
    &'a str,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<Operation>,
);

fn row<'a>(r: &'a SyncRecord<'_>) -> Row<'a> {
    (
        r.key.as_str(),
        r.value.as_ref().map(|v| v.as_str()),
        r.sync_count,
        r.last_modified,
        r.device_last_modified,
        r.op,
    )
}

fn rows<'a>(p: &'a Payload<'_>) -> Vec<Row<'a>> {
    p.records.iter().map(row).collect()
}

/// Asserts the payload-level fields every fixture has, and that it has no extras.
#[allow(clippy::too_many_arguments)]
fn assert_head(
    p: &Payload<'_>,
    identity: &str,
    dataset: &str,
    operation: Option<Operation>,
    last_modified: Option<i64>,
    sync_count: Option<i64>,
    payload_type: PayloadType,
) {
    assert_eq!(p.identity_pool_id.as_str(), POOL);
    assert_eq!(p.identity_id.as_str(), identity);
    assert_eq!(p.dataset_name.as_str(), dataset);
    assert_eq!(p.operation, operation);
    assert_eq!(p.last_modified, last_modified);
    assert_eq!(p.sync_count, sync_count);
    assert_eq!(p.payload_type, payload_type);
}

/// (file, inline record count, dataset name): the README's table, one line per fixture.
const PAYLOADS: [(&str, usize, &str); 14] = [
    ("big_numbers.json", 2, "counters"),
    ("colon_dataset.json", 2, "ui:layout.v2"),
    ("device_date_absent.json", 2, "legacy_client"),
    ("extra_fields.json", 2, "settings"),
    ("inline_docs_spelling.json", 3, "game_state"),
    ("inline_sample_spelling.json", 2, "preferences"),
    ("long_value.json", 1, "blob_store"),
    ("minimal_fields.json", 1, "minimal"),
    ("recordless_absent.json", 0, "old_profile"),
    ("recordless_empty.json", 0, "tutorial_flags"),
    ("recordless_null.json", 0, "achievements"),
    ("removal_null_value.json", 2, "inventory"),
    ("s3url.json", 0, "level_editor"),
    ("unicode_values.json", 6, "notes"),
];

#[test]
fn every_payload_fixture_is_covered() {
    let listed: Vec<&str> = PAYLOADS.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(common::fixture_names("payloads"), listed);
}

#[test]
fn every_payload_fixture_decodes_to_what_its_json_says() {
    for (file, count, dataset) in PAYLOADS {
        let data = fixture(&format!("payloads/{file}"));
        let p = decode_payload(&data).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p.records.len(), count, "{file}: record count");
        assert_eq!(p.dataset_name.as_str(), dataset, "{file}: dataset");
        assert_eq!(p.identity_pool_id.as_str(), POOL, "{file}: pool");
        let value: Value = serde_json::from_slice(&data).unwrap();
        assert_payload_matches(&p, &value);
        if file != "extra_fields.json" {
            assert!(p.extra.is_empty(), "{file}: unexpected payload extra {:?}", p.extra);
            assert!(
                p.records.iter().all(|r| r.extra.is_empty()),
                "{file}: unexpected record extra"
            );
        }
        if file != "s3url.json" {
            assert_eq!(p.payload_type, PayloadType::Inline, "{file}");
            assert!(p.records_url.is_none(), "{file}: url");
        }
    }
}

#[test]
fn docs_spelling_dataset_name() {
    let data = fixture("payloads/inline_docs_spelling.json");
    assert!(String::from_utf8_lossy(&data).contains(r#""dataSetName": "game_state""#));
    let p = decode_payload(&data).unwrap();
    let lmd = 1741944097512;
    assert_head(
        &p,
        ID_A,
        "game_state",
        Some(Replace),
        Some(lmd),
        Some(31),
        PayloadType::Inline,
    );
    assert_eq!(
        rows(&p),
        [
            (
                "highScore",
                Some("1200"),
                Some(7),
                Some(lmd),
                Some(1741944095230),
                Some(Replace)
            ),
            (
                "level",
                Some("14"),
                Some(5),
                Some(lmd),
                Some(1741944094118),
                Some(Replace)
            ),
            (
                "lastCheckpoint",
                Some("castle_gate"),
                Some(3),
                Some(lmd),
                Some(1741944096001),
                Some(Replace)
            ),
        ]
    );
}

#[test]
fn sample_spelling_dataset_name() {
    let data = fixture("payloads/inline_sample_spelling.json");
    assert!(String::from_utf8_lossy(&data).contains(r#""datasetName": "preferences""#));
    let p = decode_payload(&data).unwrap();
    let lmd = 1741950312877;
    assert_head(
        &p,
        ID_B,
        "preferences",
        Some(Replace),
        Some(lmd),
        Some(9),
        PayloadType::Inline,
    );
    assert!(p.extra.is_empty(), "datasetName is a known field, not an extra");
    assert_eq!(
        rows(&p),
        [
            (
                "theme",
                Some("dark"),
                Some(2),
                Some(lmd),
                Some(1741950310502),
                Some(Replace)
            ),
            (
                "language",
                Some("fr-FR"),
                Some(4),
                Some(lmd),
                Some(1741950311964),
                Some(Replace)
            ),
        ]
    );
}

#[test]
fn removals_have_null_values_whether_null_or_absent() {
    let data = fixture("payloads/removal_null_value.json");
    let p = decode_payload(&data).unwrap();
    let lmd = 1741958020144;
    assert_head(
        &p,
        ID_A,
        "inventory",
        Some(Replace),
        Some(lmd),
        Some(13),
        PayloadType::Inline,
    );
    assert_eq!(
        rows(&p),
        [
            (
                "potion_small",
                None,
                Some(12),
                Some(lmd),
                Some(1741958018870),
                Some(Remove)
            ),
            (
                "rusty_sword",
                None,
                Some(13),
                Some(lmd),
                Some(1741958019321),
                Some(Remove)
            ),
        ]
    );
}

#[test]
fn recordless_payloads_decode_with_no_records() {
    for (file, identity, dataset, sync_count, lmd) in [
        ("recordless_absent.json", ID_C, "old_profile", 18, 1741961455006),
        ("recordless_null.json", ID_D, "achievements", 44, 1741965901733),
        ("recordless_empty.json", ID_E, "tutorial_flags", 6, 1741970048290),
    ] {
        let data = fixture(&format!("payloads/{file}"));
        let p = decode_payload(&data).unwrap();
        assert_head(
            &p,
            identity,
            dataset,
            Some(Remove),
            Some(lmd),
            Some(sync_count),
            PayloadType::Inline,
        );
        assert!(p.records.is_empty(), "{file}");
        assert!(p.records_url.is_none(), "{file}");
    }
}

const S3_URL: &str = "https://cognito-sync-streams-us-east-1.s3.us-east-1.amazonaws.com/\
    us-east-1%3A3f1c9a2e-7b4d-4e8a-9c61-2d5f0e8b7a13/us-east-1%3Ab7e1f2a3-c4d5-4e6f-8a9b-0c1d2e3f4a5b/\
    level_editor/57-1742033700000.json?X-Amz-Algorithm=AWS4-HMAC-SHA256\
    &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250315%2Fus-east-1%2Fs3%2Faws4_request\
    &X-Amz-Date=20250315T101500Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\
    &X-Amz-Signature=01f9b38e0292a5c313dbded43b70ea5e1ac4cd1fc0ab0fe7b17cfa37a76568d4";

#[test]
fn s3url_payload_has_a_url_and_no_records() {
    let data = fixture("payloads/s3url.json");
    let p = decode_payload(&data).unwrap();
    assert_head(
        &p,
        ID_B,
        "level_editor",
        Some(Replace),
        Some(1742033700000),
        Some(57),
        PayloadType::S3Url,
    );
    assert!(p.records.is_empty());
    let url = p.records_url.as_ref().unwrap();
    assert_eq!(url.as_str(), S3_URL, "the URL comes back unchanged");
    assert!(matches!(url.0, Cow::Borrowed(_)), "no escapes in the URL: borrowed");
}

#[test]
fn s3_body_decodes_as_a_records_array() {
    let data = fixture("s3url/records_array.json");
    let records = decode_records_body(&data).unwrap();
    let lmd = Some(1742033699120);
    let got: Vec<Row<'_>> = records.iter().map(row).collect();
    assert_eq!(
        got,
        [
            (
                "map_001",
                Some(r#"{"w":64,"h":48,"tiles":"eJzt0DEBAAAAwqD1T20ND6AAAAAAAAAA"}"#),
                Some(53),
                lmd,
                Some(1742033650042),
                Some(Replace)
            ),
            (
                "map_002",
                Some(r#"{"w":32,"h":32,"tiles":"eJzt0DEBAAAAwqD1T20NDaAAAAAAAAAA"}"#),
                Some(54),
                lmd,
                Some(1742033661878),
                Some(Replace)
            ),
            ("map_legacy", None, Some(55), lmd, Some(1742033670311), Some(Remove)),
            (
                "map_003",
                Some(r#"{"w":128,"h":96,"tiles":"eJzt0DEBAAAAwqD1T20NDGAAAAAAAAAA"}"#),
                Some(56),
                lmd,
                Some(1742033684590),
                Some(Replace)
            ),
            (
                "active_map",
                Some("map_003"),
                Some(57),
                lmd,
                Some(1742033698007),
                Some(Replace)
            ),
        ]
    );
    assert!(records.iter().all(|r| r.extra.is_empty()));
    let value: Value = serde_json::from_slice(&data).unwrap();
    for (i, (r, v)) in records.iter().zip(value.as_array().unwrap()).enumerate() {
        assert_record_matches(r, v, &format!("records_array[{i}]"));
    }
    // JSON-in-string values carry escaped quotes: owned, and still valid JSON once unescaped.
    let map_001 = records[0].value.as_ref().unwrap();
    assert!(matches!(map_001.0, Cow::Owned(_)));
    let inner: Value = serde_json::from_str(map_001.as_str()).unwrap();
    assert_eq!(inner["w"], json!(64));
}

#[test]
fn extra_fields_are_kept_with_names_and_raw_text() {
    let data = fixture("payloads/extra_fields.json");
    let p = decode_payload(&data).unwrap();
    let lmd = 1742040211409;
    assert_head(
        &p,
        ID_C,
        "settings",
        Some(Replace),
        Some(lmd),
        Some(4),
        PayloadType::Inline,
    );
    // Payload level, in input order, as the input's own text (the file is pretty-printed).
    let names: Vec<&str> = p.extra.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["region", "newField"]);
    assert_eq!(p.extra.0[0].1.get(), r#""us-east-1""#);
    assert_eq!(p.extra.0[1].1.get(), "{\n    \"a\": [\n      1,\n      2\n    ]\n  }");
    let new_field: Value = serde_json::from_str(p.extra.0[1].1.get()).unwrap();
    assert_eq!(new_field, json!({"a": [1, 2]}));
    // Record level: only on record 0.
    assert_eq!(
        rows(&p),
        [
            (
                "soundEnabled",
                Some("true"),
                Some(3),
                Some(lmd),
                Some(1742040209950),
                Some(Replace)
            ),
            (
                "musicVolume",
                Some("0.75"),
                Some(4),
                Some(lmd),
                Some(1742040210417),
                Some(Replace)
            ),
        ]
    );
    assert_eq!(p.records[0].extra.0.len(), 1);
    assert_eq!(p.records[0].extra.0[0].0.as_str(), "deviceId");
    assert_eq!(p.records[0].extra.0[0].1.get(), r#""abc""#);
    assert!(p.records[1].extra.is_empty());
    // write_members renders a JSON object body that parses back to the same members.
    let mut out = String::from("{");
    p.extra.write_members(&mut out);
    out.push('}');
    let members: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(members, json!({"region": "us-east-1", "newField": {"a": [1, 2]}}));
}

#[test]
fn unicode_and_escapes_decode_exactly() {
    let data = fixture("payloads/unicode_values.json");
    let p = decode_payload(&data).unwrap();
    assert_head(
        &p,
        ID_D,
        "notes",
        Some(Replace),
        Some(1742060000271),
        Some(26),
        PayloadType::Inline,
    );
    let got: Vec<(&str, &str, Option<i64>)> = p
        .records
        .iter()
        .map(|r| (r.key.as_str(), r.value.as_ref().unwrap().as_str(), r.sync_count))
        .collect();
    assert_eq!(
        got,
        [
            (
                "settings_json",
                r#"{"theme":"dark","volume":0.8,"tags":["a","b"]}"#,
                Some(21)
            ),
            ("escapes", "line1\nline2\tcol2 back\\slash quote\"end", Some(22)),
            ("accent_escaped", "café crème", Some(23)),
            ("emoji_surrogate", "level up \u{1F600}!", Some(24)),
            ("nom_clé", "Grüße, 日本語, Ελληνικά, \u{1F600}", Some(25)),
            ("pipes", "a|b||c|", Some(26)),
        ]
    );
    // Values with escapes in the file are owned; raw UTF-8 (4-byte emoji included) is borrowed.
    let borrowed: Vec<bool> = p
        .records
        .iter()
        .map(|r| matches!(r.value.as_ref().unwrap().0, Cow::Borrowed(_)))
        .collect();
    assert_eq!(borrowed, [false, false, false, false, true, true]);
    assert!(matches!(p.records[4].key.0, Cow::Borrowed("nom_clé")));
}

#[test]
fn long_value_is_not_truncated() {
    let data = fixture("payloads/long_value.json");
    assert_eq!(data.len(), 1_049_105, "file size as the README states");
    let p = decode_payload(&data).unwrap();
    assert_head(
        &p,
        ID_E,
        "blob_store",
        Some(Replace),
        Some(1742046633150),
        Some(2),
        PayloadType::Inline,
    );
    assert_eq!(p.records.len(), 1);
    let r = &p.records[0];
    assert_eq!(r.key.as_str(), "saveGame");
    let v = r.value.as_ref().unwrap();
    assert_eq!(v.as_str().chars().count(), 1_048_575);
    assert!(v.as_str().starts_with("0123456789") && v.as_str().ends_with("lmnopqrstu"));
    let alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let expected: String = alphabet.chars().cycle().take(1_048_575).collect();
    assert!(v.as_str() == expected, "value differs from the generator's");
    assert!(
        matches!(v.0, Cow::Borrowed(_)),
        "a megabyte without escapes is not copied"
    );
    assert_eq!(
        (r.sync_count, r.last_modified, r.device_last_modified),
        (Some(2), Some(1742046633150), Some(1742046631002))
    );
}

#[test]
fn colon_and_dot_in_dataset_name() {
    let data = fixture("payloads/colon_dataset.json");
    let p = decode_payload(&data).unwrap();
    let lmd = 1742051470562;
    assert_head(
        &p,
        ID_A,
        "ui:layout.v2",
        Some(Replace),
        Some(lmd),
        Some(2),
        PayloadType::Inline,
    );
    assert_eq!(
        rows(&p),
        [
            (
                "sidebar",
                Some("collapsed"),
                Some(1),
                Some(lmd),
                Some(1742051468733),
                Some(Replace)
            ),
            (
                "columns",
                Some("3"),
                Some(2),
                Some(lmd),
                Some(1742051469104),
                Some(Replace)
            ),
        ]
    );
}

#[test]
fn big_numbers_are_exact() {
    let data = fixture("payloads/big_numbers.json");
    let p = decode_payload(&data).unwrap();
    assert_head(
        &p,
        ID_B,
        "counters",
        Some(Replace),
        Some(4102444800000),
        Some(i64::MAX),
        PayloadType::Inline,
    );
    assert_eq!(
        rows(&p),
        [
            (
                "tick",
                Some("9223372036854775806"),
                Some(i64::MAX - 1),
                Some(2147483648000),
                Some(2147483647999),
                Some(Replace)
            ),
            (
                "tock",
                Some("9223372036854775807"),
                Some(i64::MAX),
                Some(4102444800000),
                Some(9999999999999),
                Some(Replace)
            ),
        ]
    );
}

#[test]
fn absent_device_date_is_null() {
    let data = fixture("payloads/device_date_absent.json");
    let p = decode_payload(&data).unwrap();
    let lmd = 1742055902418;
    assert_head(
        &p,
        ID_C,
        "legacy_client",
        Some(Replace),
        Some(lmd),
        Some(9),
        PayloadType::Inline,
    );
    assert_eq!(
        rows(&p),
        [
            ("nickname", Some("old_timer"), Some(8), Some(lmd), None, Some(Replace)),
            ("avatar", Some("knight_02"), Some(9), Some(lmd), None, Some(Replace)),
        ]
    );
}

#[test]
fn minimal_fields_leave_everything_else_null() {
    let data = fixture("payloads/minimal_fields.json");
    let p = decode_payload(&data).unwrap();
    assert_head(&p, ID_D, "minimal", None, None, None, PayloadType::Inline);
    assert!(p.records_url.is_none());
    assert!(p.extra.is_empty());
    assert_eq!(rows(&p), [("onlyKey", None, None, None, None, None)]);
    assert!(p.records[0].extra.is_empty());
}

/// The minimal payload with some members replaced or added.
fn minimal_with(members: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture("payloads/minimal_fields.json")).unwrap();
    for (k, m) in members.as_object().unwrap() {
        v[k] = m.clone();
    }
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn optional_fields_may_be_null() {
    let data = minimal_with(json!({
        "operation": null, "lastModifiedDate": null, "syncCount": null, "payloadType": null,
        "kinesisSyncRecordsURL": null,
        "kinesisSyncRecords": [{"key": "k", "value": null, "syncCount": null, "lastModifiedDate": null,
                                "deviceLastModifiedDate": null, "op": null}],
    }));
    let p = decode_payload(&data).unwrap();
    assert_head(&p, ID_D, "minimal", None, None, None, PayloadType::Inline);
    assert!(p.records_url.is_none());
    assert_eq!(rows(&p), [("k", None, None, None, None, None)]);
    assert!(
        p.extra.is_empty() && p.records[0].extra.is_empty(),
        "null known fields are not extras"
    );
}

#[test]
fn payload_type_is_inferred_from_the_url_when_absent_or_null() {
    let url = "https://example-bucket.s3.amazonaws.com/o.json";
    for (members, expected) in [
        (json!({}), PayloadType::Inline),
        (json!({"payloadType": null}), PayloadType::Inline),
        (json!({"kinesisSyncRecordsURL": null}), PayloadType::Inline),
        (json!({"kinesisSyncRecordsURL": url}), PayloadType::S3Url),
        (
            json!({"kinesisSyncRecordsURL": url, "payloadType": null}),
            PayloadType::S3Url,
        ),
        // Stated wins over inferred.
        (
            json!({"kinesisSyncRecordsURL": url, "payloadType": "Inline"}),
            PayloadType::Inline,
        ),
    ] {
        let data = minimal_with(members.clone());
        let p = decode_payload(&data).unwrap();
        assert_eq!(p.payload_type, expected, "{members}");
        let has_url = members.get("kinesisSyncRecordsURL").is_some_and(|u| !u.is_null());
        assert_eq!(
            p.records_url.as_ref().map(|u| u.as_str()),
            has_url.then_some(url),
            "{members}"
        );
    }
}

#[test]
fn both_operations_decode() {
    for (wire, op) in [("replace", Replace), ("remove", Remove)] {
        let data = minimal_with(json!({"operation": wire, "kinesisSyncRecords": [{"key": "k", "op": wire}]}));
        let p = decode_payload(&data).unwrap();
        assert_eq!((p.operation, p.records[0].op), (Some(op), Some(op)));
        assert_eq!(op.as_str(), wire);
    }
    assert_eq!(
        (PayloadType::Inline.as_str(), PayloadType::S3Url.as_str()),
        ("Inline", "S3Url")
    );
}

#[test]
fn unknown_fields_keep_numbers_no_float_can_hold() {
    let data = br#"{"identityPoolId":"us-east-1:0f6e2b4c-1a2b-4c3d-8e9f-001122334455","identityId":"us-east-1:9a8b7c6d-5e4f-4a3b-9c2d-1e0f11223344","dataSetName":"d","huge":1e999,"kinesisSyncRecords":[{"key":"k","precise":12345678901234567890123}]}"#;
    let p = synclake_records::decode_payload(data).unwrap();
    assert_eq!(p.extra.0[0].1.get(), "1e999");
    assert_eq!(p.records[0].extra.0[0].1.get(), "12345678901234567890123");
}
