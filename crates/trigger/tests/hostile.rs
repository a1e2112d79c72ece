//! Hostile input: huge values, deep nesting, many keys, broken text. A clear error or a
//! correct answer, never a panic. (Timing is measured by the bench, not here.)
#![allow(clippy::unwrap_used)]

mod common;

use common::{event, records, rules};
use serde_json::{Map, Value, json};
use synclake_trigger::{EventError, MAX_EVENT_BYTES, RuleKind};

const RULES: &str = r#"
[[datasets]]
name = "*"
max_records = 1024
max_bytes = 2097152
keys.doc = { type = "json", schema = { type = "array" } }
keys.raw = { type = "json" }
keys."big*" = { max_length = 1048575, regex = '[a-z]*' }
"#;

#[test]
fn one_megabyte_value() {
    let rs = rules(RULES);
    let big = "a".repeat(1_048_575);
    let d = rs.apply(&event("d", json!({"big": {"newValue": big}}))).unwrap();
    assert!(d.response().is_some() && d.changes.is_empty());
    let d = rs.apply(&event("d", json!({"big": {"newValue": big + "b"}}))).unwrap();
    assert_eq!(d.rejection().unwrap().rule, RuleKind::MaxLength);
}

#[test]
fn deeply_nested_json_values() {
    let rs = rules(RULES);
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    // With a schema or without, a value nested past the cap is a type violation, found in
    // one pass before any parse: the apps reading it back would overflow their stacks. With a
    // schema the value is parsed, and the parser takes at most 127 levels: the cap says so
    // rather than the parser's "recursion limit".
    for (key, cap) in [("doc", 127), ("raw", 128)] {
        let d = rs.apply(&event("d", json!({key: {"newValue": deep.clone()}}))).unwrap();
        let r = d.rejection().unwrap();
        assert_eq!(r.rule, RuleKind::Type, "{key}");
        assert!(
            r.message.contains(&format!("nested deeper than {cap} ")),
            "{key}: {}",
            r.message
        );
        let at_cap = "[".repeat(cap) + &"]".repeat(cap);
        let d = rs.apply(&event("d", json!({key: {"newValue": at_cap}}))).unwrap();
        assert!(d.rejection().is_none(), "{key}: {cap} levels are within the cap");
    }
}

#[test]
fn deeply_nested_unknown_fields_are_skipped() {
    let rs = rules(RULES);
    let nested = format!(
        r#"{{"identityPoolId":"p","datasetName":"d","x":{}{},"datasetRecords":{{}}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    // Unknown top-level fields are skipped without recursion: fine.
    assert!(rs.apply(nested.as_bytes()).unwrap().response().is_some());
    let rec = format!(
        r#"{{"identityPoolId":"p","datasetName":"d","datasetRecords":{{"k":{{"z":{}{}}}}}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    assert!(rs.apply(rec.as_bytes()).is_ok());
}

#[test]
fn ten_thousand_keys() {
    let rs = rules(RULES);
    let recs: Map<String, Value> = (0..10_000)
        .map(|i| (format!("k{i:05}"), json!({"newValue": "v"})))
        .collect();
    let d = rs.apply(&event("d", Value::Object(recs))).unwrap();
    let r = d.rejection().unwrap();
    assert_eq!(r.rule, RuleKind::MaxRecords);
    assert_eq!(r.message, "dataset would hold 10000 records, more than 1024");
    // Without limits, all 10,000 go through.
    let recs: Map<String, Value> = (0..10_000)
        .map(|i| (format!("k{i:05}"), json!({"newValue": "v"})))
        .collect();
    let open = rules("[[datasets]]\nkeys.\"k*\".trim = true\n");
    assert_eq!(
        records(&open.apply(&event("d", Value::Object(recs))).unwrap()).len(),
        10_000
    );
}

#[test]
fn invalid_text() {
    let rs = rules(RULES);
    let e = rs.apply(b"{\"identityPoolId\":\"p\xc3\x28\"}").unwrap_err();
    assert!(matches!(e, EventError::NotUtf8 { valid_up_to: 20 }), "{e}");
    for lone in [r#"\ud800"#, r#"\udc00"#, r#"\ud800\u0041"#, r#"\ud83d"#] {
        let ev =
            format!(r#"{{"identityPoolId":"p","datasetName":"d","datasetRecords":{{"raw":{{"newValue":"{lone}"}}}}}}"#);
        let e = rs.apply(ev.as_bytes()).unwrap_err();
        assert!(matches!(e, EventError::Record { .. }), "{lone}: {e}");
    }
    // A valid pair is fine.
    let ev = r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"raw":{"newValue":"\"\ud83d\ude00\""}}}"#;
    assert!(rs.apply(ev.as_bytes()).unwrap().response().is_some());
    for bad in [
        "",
        "null",
        "{",
        "{}",
        "[1]",
        r#"{"identityPoolId":"p","datasetName":"d"}"#,
    ] {
        assert!(rs.apply(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn oversized_event_is_refused_before_parsing() {
    let rs = rules(RULES);
    let huge = vec![b' '; MAX_EVENT_BYTES + 1];
    assert!(matches!(rs.apply(&huge), Err(EventError::TooLarge { .. })));
}

#[test]
fn huge_hostile_key_against_globs() {
    let rs = rules("[[datasets]]\ndenied_keys = [\"*a*a*a*a*a*a*b\"]\nkeys.\"?*?*?*z\".max_length = 1\n");
    let key = "a".repeat(1 << 20);
    let d = rs
        .apply(&event("d", json!({ key.clone(): {"newValue": "v"} })))
        .unwrap();
    assert!(d.response().is_some());
    let d = rs.apply(&event("d", json!({ key + "b": {"newValue": "v"} }))).unwrap();
    let r = d.rejection().unwrap();
    assert_eq!(r.rule, RuleKind::DeniedKeys);
    assert!(
        r.key.as_ref().unwrap().chars().count() <= 201,
        "key shortened in messages"
    );
}
