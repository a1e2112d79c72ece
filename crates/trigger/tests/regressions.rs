//! Regressions: a required key's default never duplicates a key, a stored invalid escape in an
//! old value never locks a dataset out, and undoing a sync for a limit keeps required defaults.
#![allow(clippy::unwrap_used)]

mod common;

use common::{event, raw_records, records, rules, unique_keys};
use serde_json::json;
use synclake_trigger::{ChangeKind, Decision, EventError, RuleKind, RuleSet};

fn ds(body: &str) -> RuleSet {
    rules(&format!("[[datasets]]\nname = \"d\"\n{body}\n"))
}

fn kinds(d: &Decision) -> Vec<(&str, ChangeKind, RuleKind)> {
    d.changes.iter().map(|c| (c.key.as_str(), c.kind, c.rule)).collect()
}

/// An event for dataset `d` whose `datasetRecords` is `records`, raw JSON text (so that it may
/// hold escapes `serde_json::Value` cannot: lone surrogates).
fn raw_event(records: &str) -> Vec<u8> {
    format!(
        r#"{{"version":2,"eventType":"SyncTrigger","region":"us-east-1","identityPoolId":"us-east-1:p","identityId":"i","datasetName":"d","datasetRecords":{records}}}"#
    )
    .into_bytes()
}

const REQUIRED_A: &str =
    "required_keys = [\"a\"]\nkeys.a = { type = \"integer\", default = \"0\", on_violation = \"restore\" }";

#[test]
fn required_default_goes_on_the_existing_record_once() {
    let rs = ds(REQUIRED_A);
    // A new, invalid value: restored to "no value", then the default: one record "a".
    let d = rs.apply(&event("d", json!({"a": {"newValue": "x"}}))).unwrap();
    assert_eq!(unique_keys(&d), ["a"]);
    assert_eq!(records(&d)["a"], json!({"newValue": "0", "op": "replace"}));
    assert_eq!(
        kinds(&d),
        [
            ("a", ChangeKind::Restored, RuleKind::Type),
            ("a", ChangeKind::Added, RuleKind::Default)
        ]
    );
    // A tombstone the client does not change: the record gets the default, its fields kept.
    for tomb in [
        json!({"oldValue": null, "newValue": null}),
        json!({"oldValue": null, "newValue": null, "op": "remove", "syncCount": 3}),
        json!({}),
    ] {
        let d = rs
            .apply(&event("d", json!({"a": tomb.clone(), "b": {"newValue": "1"}})))
            .unwrap();
        // "a" comes first in the event (sorted or not), and stays first.
        assert_eq!(unique_keys(&d), ["a", "b"], "{tomb}");
        let a = &records(&d)["a"];
        assert_eq!(a["newValue"], "0", "{tomb}");
        assert_eq!(a["op"], "replace", "{tomb}");
        if tomb.get("syncCount").is_some() {
            assert_eq!(a["syncCount"], 3);
            assert!(a["oldValue"].is_null() && a.get("oldValue").is_some());
        }
        assert_eq!(kinds(&d), [("a", ChangeKind::Added, RuleKind::Default)]);
    }
    // Dropped (no old value) then defaulted: still one record.
    let rs = ds("required_keys = [\"a\"]\nkeys.a = { type = \"integer\", default = \"0\", on_violation = \"drop\" }");
    let d = rs.apply(&event("d", json!({"a": {"newValue": "x", "z": 1}}))).unwrap();
    assert_eq!(unique_keys(&d), ["a"]);
    assert_eq!(records(&d)["a"], json!({"newValue": "0", "op": "replace", "z": 1}));
    // A key listed twice in required_keys is added once.
    let rs = ds("required_keys = [\"a\", \"a\"]\nkeys.a.default = \"0\"");
    let d = rs.apply(&event("d", json!({"b": {"newValue": "1"}}))).unwrap();
    assert_eq!(unique_keys(&d), ["b", "a"]);
}

#[test]
fn required_key_with_a_value_is_left_alone() {
    let rs = ds(REQUIRED_A);
    let ev = event("d", json!({"a": {"oldValue": "5", "newValue": "5"}}));
    let d = rs.apply(&ev).unwrap();
    assert!(d.changes.is_empty());
    assert_eq!(d.response().unwrap(), &ev[..]);
    // A removal of a stored value: the default replaces it (the record's own rule), once.
    let d = rs
        .apply(&event("d", json!({"a": {"oldValue": "5", "op": "remove"}})))
        .unwrap();
    assert_eq!(unique_keys(&d), ["a"]);
    assert_eq!(kinds(&d), [("a", ChangeKind::Transformed, RuleKind::Default)]);
    assert_eq!(records(&d)["a"]["newValue"], "0");
}

#[test]
fn stored_lone_surrogate_in_an_old_value_does_not_lock_the_dataset() {
    // "bad" holds a lone surrogate stored before; the sync changes "x" only.
    let recs = r#"{"bad":{"oldValue":"\ud800","newValue":"\ud800","op":"replace"},"x":{"newValue":"ab"}}"#;
    // Bytes: "bad" 3 + U+FFFD 3, "x" 1 + "ab" 2 = 9.
    for (max, accepted) in [(9, true), (8, false)] {
        let rs = ds(&format!("max_bytes = {max}"));
        let d = rs.apply(&raw_event(recs)).unwrap();
        assert_eq!(d.response().is_some(), accepted, "max_bytes = {max}: {:?}", d.verdict);
        if accepted {
            assert!(d.changes.is_empty());
            assert_eq!(d.response().unwrap(), &raw_event(recs)[..]);
        } else {
            assert_eq!(d.rejection().unwrap().rule, RuleKind::MaxBytes);
        }
    }
    // Restore for the limit: "x" undone, "bad" untouched and still raw.
    let rs = ds("max_bytes = 8\nactions = { max_bytes = \"restore\" }");
    let d = rs.apply(&raw_event(recs)).unwrap();
    assert_eq!(kinds(&d), [("x", ChangeKind::Restored, RuleKind::MaxBytes)]);
    let out = raw_records(&d);
    assert_eq!(out[0].0, "bad");
    assert_eq!(out[0].1[0], ("oldValue".to_owned(), r#""\ud800""#.to_owned()));
    assert_eq!(
        out[1],
        (
            "x".to_owned(),
            vec![
                ("newValue".to_owned(), "null".to_owned()),
                ("op".to_owned(), r#""remove""#.to_owned())
            ]
        )
    );
    // Also with max_records, and with no newValue (the old value stays).
    let rs = ds("max_records = 2\nmax_bytes = 100");
    let recs2 = r#"{"bad":{"oldValue":"a\ud800"},"x":{"newValue":"ab"}}"#;
    assert!(rs.apply(&raw_event(recs2)).unwrap().changes.is_empty());
}

#[test]
fn old_lone_surrogate_is_compared_exactly_and_only_new_values_are_read() {
    let rs = ds("max_bytes = 100\nkeys.\"*\".max_length = 5");
    // Same code points, other escapes: unchanged, not judged.
    let d = rs
        .apply(&raw_event(
            r#"{"bad":{"oldValue":"\ud800x","newValue":"\uD800\u0078"}}"#,
        ))
        .unwrap();
    assert!(d.response().is_some() && d.changes.is_empty());
    // A valid new value over a stored invalid one: judged, restored to the raw old value.
    let rs = ds("max_bytes = 100\nkeys.\"*\" = { max_length = 1, on_violation = \"restore\" }");
    let d = rs
        .apply(&raw_event(r#"{"bad":{"oldValue":"\ud800","newValue":"toolong"}}"#))
        .unwrap();
    assert_eq!(kinds(&d), [("bad", ChangeKind::Restored, RuleKind::MaxLength)]);
    assert!(
        raw_records(&d)[0]
            .1
            .contains(&("newValue".to_owned(), r#""\ud800""#.to_owned()))
    );
    let d = rs
        .apply(&raw_event(r#"{"bad":{"oldValue":"\ud800","newValue":"k"}}"#))
        .unwrap();
    assert!(d.response().is_some() && d.changes.is_empty());
    // Another lone surrogate is a different value: a changed value that must be read, an error.
    let e = rs
        .apply(&raw_event(r#"{"bad":{"oldValue":"\ud800","newValue":"\udc00"}}"#))
        .unwrap_err();
    assert!(matches!(e, EventError::Record { ref key, .. } if key == "bad"), "{e}");
}

#[test]
fn limit_undo_keeps_a_required_key_the_client_created() {
    // "lang" is required with a default; the client creates it (no old value) along with "x":
    // over max_records, every change is undone, and "lang" then gets its default.
    for action in ["restore", "drop"] {
        let rs = ds(&format!(
            "max_records = 1\nrequired_keys = [\"lang\"]\nkeys.lang = {{ default = \"en\" }}\nactions = {{ max_records = \"{action}\" }}"
        ));
        let d = rs
            .apply(&event(
                "d",
                json!({"lang": {"newValue": "fr", "z": 1}, "x": {"newValue": "1"}}),
            ))
            .unwrap();
        let keys = unique_keys(&d);
        let r = records(&d);
        assert_eq!(
            r["lang"],
            json!({"newValue": "en", "z": 1, "op": "replace"}),
            "{action}"
        );
        let undo = if action == "restore" {
            ChangeKind::Restored
        } else {
            ChangeKind::Dropped
        };
        if action == "restore" {
            assert_eq!(keys, ["lang", "x"]);
            assert_eq!(r["x"], json!({"newValue": null, "op": "remove"}));
        } else {
            assert_eq!(keys, ["lang"]);
        }
        assert_eq!(
            kinds(&d),
            [
                ("lang", undo, RuleKind::MaxRecords),
                ("x", undo, RuleKind::MaxRecords),
                ("lang", ChangeKind::Added, RuleKind::Default)
            ],
            "{action}"
        );
    }
}

#[test]
fn limit_undo_never_takes_a_required_default_away() {
    // A tombstone of a required key is set to its default by the rules (not by the client):
    // undoing the client's changes for max_bytes leaves it.
    let rs = ds(
        "max_bytes = 12\nrequired_keys = [\"lang\", \"theme\"]\nkeys.lang.default = \"en\"\nkeys.theme.default = \"dark\"\nactions = { max_bytes = \"restore\" }",
    );
    let d = rs
        .apply(&event(
            "d",
            json!({"lang": {"oldValue": null, "newValue": null}, "x": {"newValue": "123456789"}}),
        ))
        .unwrap();
    assert_eq!(unique_keys(&d), ["lang", "x", "theme"]);
    let r = records(&d);
    assert_eq!(r["lang"], json!({"oldValue": null, "newValue": "en", "op": "replace"}));
    assert_eq!(r["theme"], json!({"newValue": "dark", "op": "replace"}));
    assert_eq!(r["x"], json!({"newValue": null, "op": "remove"}));
    assert_eq!(
        kinds(&d),
        [
            ("lang", ChangeKind::Added, RuleKind::Default),
            ("theme", ChangeKind::Added, RuleKind::Default),
            ("x", ChangeKind::Restored, RuleKind::MaxBytes)
        ]
    );
    // The defaults alone exceed the limit: kept anyway (the limit judges the client's changes),
    // and nothing else is undone twice.
    let rs =
        ds("max_bytes = 3\nrequired_keys = [\"lang\"]\nkeys.lang.default = \"en\"\nactions = { max_bytes = \"drop\" }");
    let d = rs.apply(&event("d", json!({"x": {"newValue": "1"}}))).unwrap();
    assert_eq!(unique_keys(&d), ["lang"]);
    assert_eq!(
        kinds(&d),
        [
            ("lang", ChangeKind::Added, RuleKind::Default),
            ("x", ChangeKind::Dropped, RuleKind::MaxBytes)
        ]
    );
}

#[test]
fn limit_undo_with_a_required_key_without_default_is_not_a_rejection() {
    // "name" is required (reject) without a default; the client creates it but the sync is
    // over max_records (drop): the whole sync is undone, as before it, and not rejected.
    let rs = ds("max_records = 1\nrequired_keys = [\"name\"]\nactions = { max_records = \"drop\" }");
    let d = rs
        .apply(&event("d", json!({"name": {"newValue": "n"}, "x": {"newValue": "1"}})))
        .unwrap();
    assert!(unique_keys(&d).is_empty(), "{:?}", d.verdict);
    // Without the limit, a dataset that lacks it is still rejected.
    let d = rs.apply(&event("d", json!({"x": {"newValue": "1"}}))).unwrap();
    assert_eq!(d.rejection().unwrap().rule, RuleKind::RequiredKeys);
}

#[test]
fn a_json_value_nested_past_the_cap_is_rejected() {
    // 100,000 levels would overflow the stack of the apps that parse the value back.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let event = raw_event(&format!(r#"{{"a":{{"newValue":"{deep}"}}}}"#));
    let d = ds("keys.a = { type = \"json\" }").apply(&event).unwrap();
    let rejection = d.rejection().expect("rejected");
    assert_eq!(rejection.rule, RuleKind::Type);
    assert!(rejection.message.contains("deeper than 128"), "{}", rejection.message);
    // The cap is configurable per key, and applies before a schema is checked.
    let shallow = raw_event(r#"{"a":{"newValue":"{\"b\":[[1]]}"}}"#);
    let capped = ds("keys.a = { type = \"json\", max_depth = 2 }")
        .apply(&shallow)
        .unwrap();
    assert!(capped.rejection().is_some());
    let with_schema = ds("keys.a = { schema = { type = \"object\" }, max_depth = 2 }")
        .apply(&shallow)
        .unwrap();
    assert!(with_schema.rejection().is_some());
    assert!(
        ds("keys.a = { type = \"json\", max_depth = 3 }")
            .apply(&shallow)
            .unwrap()
            .rejection()
            .is_none()
    );
    // Out of range, or on another type: lint errors.
    for bad in [
        "keys.a = { type = \"json\", max_depth = 0 }",
        "keys.a = { type = \"json\", max_depth = 129 }",
        "keys.a = { type = \"string\", max_depth = 3 }",
    ] {
        let text = format!("[[datasets]]\nname = \"d\"\n{bad}\n");
        let err = RuleSet::parse(&text, synclake_trigger::Format::Toml).expect_err(bad);
        assert!(err.to_string().contains("max_depth"), "{bad}: {err}");
    }
}
