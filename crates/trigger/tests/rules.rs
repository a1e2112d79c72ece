//! One test per rule kind and action.
#![allow(clippy::unwrap_used)]

mod common;

use common::{event, records, rules};
use serde_json::json;
use synclake_trigger::{ChangeKind, Decision, RuleKind, RuleSet};

/// A one-dataset rules file (`name = "d"`) with `body` appended to the dataset table.
fn ds(body: &str) -> RuleSet {
    rules(&format!("[[datasets]]\nname = \"d\"\n{body}\n"))
}

fn apply(rs: &RuleSet, recs: serde_json::Value) -> Decision {
    rs.apply(&event("d", recs)).unwrap()
}

fn rejected(d: &Decision) -> (Option<&str>, RuleKind) {
    let r = d
        .rejection()
        .unwrap_or_else(|| panic!("expected a rejection, got {:?}", d.verdict));
    assert_eq!(r.dataset, "d");
    (r.key.as_deref(), r.rule)
}

fn kinds(d: &Decision) -> Vec<(&str, ChangeKind, RuleKind)> {
    d.changes.iter().map(|c| (c.key.as_str(), c.kind, c.rule)).collect()
}

fn new(v: &str) -> serde_json::Value {
    json!({"newValue": v, "op": "replace"})
}

fn upd(old: &str, v: &str) -> serde_json::Value {
    json!({"oldValue": old, "newValue": v, "op": "replace"})
}

#[test]
fn max_records_reject() {
    let rs = ds("max_records = 2");
    assert!(apply(&rs, json!({"a": new("1"), "b": new("2")})).response().is_some());
    let d = apply(&rs, json!({"a": new("1"), "b": new("2"), "c": new("3")}));
    assert_eq!(rejected(&d), (None, RuleKind::MaxRecords));
    // Removals count down.
    let d = apply(
        &rs,
        json!({"a": new("1"), "b": new("2"), "c": {"oldValue": "3", "newValue": null, "op": "remove"}}),
    );
    assert!(d.response().is_some());
}

#[test]
fn max_records_drop_leaves_changes_out() {
    let rs = ds("max_records = 1\nactions = { max_records = \"drop\" }");
    let d = apply(&rs, json!({"a": upd("x", "x"), "b": new("2")}));
    assert_eq!(kinds(&d), [("b", ChangeKind::Dropped, RuleKind::MaxRecords)]);
    assert_eq!(records(&d).keys().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn max_bytes_reject_counts_utf8_key_and_value() {
    let rs = ds("max_bytes = 6");
    // "k" + "éé" = 1 + 4 bytes.
    assert!(apply(&rs, json!({"k": new("éé")})).response().is_some());
    let d = apply(&rs, json!({"k": new("éé"), "x": new("y")}));
    assert_eq!(rejected(&d), (None, RuleKind::MaxBytes));
    assert!(d.rejection().unwrap().message.contains("7 bytes, more than 6"));
}

#[test]
fn allowed_keys_reject() {
    let rs = ds("allowed_keys = [\"ok*\"]");
    assert!(apply(&rs, json!({"ok1": new("v")})).response().is_some());
    assert_eq!(
        rejected(&apply(&rs, json!({"bad": new("v")}))),
        (Some("bad"), RuleKind::AllowedKeys)
    );
}

#[test]
fn denied_keys_restore() {
    let rs = ds("denied_keys = [\"sys.*\"]\nactions = { denied_keys = \"restore\" }");
    // Keys in sorted order, so that the event lists them the same way whether serde_json's map
    // sorts (default) or keeps insertion order (its `preserve_order`, which a dev-dependency of
    // another crate turns on in workspace test builds).
    let d = apply(&rs, json!({"sys.new": new("v"), "sys.x": upd("1", "2")}));
    assert_eq!(
        kinds(&d),
        [
            ("sys.new", ChangeKind::Restored, RuleKind::DeniedKeys),
            ("sys.x", ChangeKind::Restored, RuleKind::DeniedKeys)
        ]
    );
    let r = records(&d);
    assert_eq!(r["sys.x"], upd("1", "1"));
    // A key that had no old value is "restored" to not existing.
    assert_eq!(r["sys.new"], json!({"newValue": null, "op": "remove"}));
}

#[test]
fn required_keys_reject_on_removal_and_absence() {
    let rs = ds("required_keys = [\"name\"]");
    let d = apply(
        &rs,
        json!({"name": {"oldValue": "a", "newValue": null, "op": "remove"}}),
    );
    assert_eq!(rejected(&d), (Some("name"), RuleKind::RequiredKeys));
    let d = apply(&rs, json!({"other": new("v")}));
    assert_eq!(rejected(&d), (Some("name"), RuleKind::RequiredKeys));
    assert!(apply(&rs, json!({"name": upd("a", "a")})).response().is_some());
}

#[test]
fn required_keys_restore_and_default() {
    let rs = ds(
        "required_keys = [\"name\", \"lang\"]\nactions = { required_keys = \"restore\" }\nkeys.lang.default = \"en\"",
    );
    let d = apply(&rs, json!({"name": {"oldValue": "a", "op": "remove"}}));
    assert_eq!(
        kinds(&d),
        [
            ("name", ChangeKind::Restored, RuleKind::RequiredKeys),
            ("lang", ChangeKind::Added, RuleKind::Default)
        ]
    );
    let r = records(&d);
    assert_eq!(r["name"], json!({"oldValue": "a", "op": "replace", "newValue": "a"}));
    assert_eq!(r["lang"], new("en"));
}

#[test]
fn read_only_keys_reject_and_drop() {
    let rs = ds("read_only_keys = [\"created*\"]");
    assert_eq!(
        rejected(&apply(&rs, json!({"createdAt": upd("1", "2")}))),
        (Some("createdAt"), RuleKind::ReadOnlyKeys)
    );
    // Creating and removing are changes too.
    assert_eq!(
        rejected(&apply(&rs, json!({"createdBy": new("x")}))).1,
        RuleKind::ReadOnlyKeys
    );
    assert_eq!(
        rejected(&apply(&rs, json!({"createdAt": {"oldValue": "1", "op": "remove"}}))).1,
        RuleKind::ReadOnlyKeys
    );
    // Unchanged: fine.
    assert!(apply(&rs, json!({"createdAt": upd("1", "1")})).response().is_some());
    let rs = ds("read_only_keys = [\"createdAt\"]\non_violation = \"drop\"");
    let d = apply(&rs, json!({"createdAt": upd("1", "2"), "x": new("y")}));
    assert_eq!(kinds(&d), [("createdAt", ChangeKind::Dropped, RuleKind::ReadOnlyKeys)]);
    assert_eq!(records(&d).keys().collect::<Vec<_>>(), ["x"]);
}

#[test]
fn unknown_keys_each_policy() {
    let recs = json!({"known": new("1"), "mystery": upd("0", "1")});
    let d = apply(&ds("keys.known = {}"), recs.clone());
    assert!(d.changes.is_empty() && d.response().is_some());
    let d = apply(&ds("unknown_keys = \"reject\"\nkeys.known = {}"), recs.clone());
    assert_eq!(rejected(&d), (Some("mystery"), RuleKind::UnknownKeys));
    let d = apply(&ds("unknown_keys = \"restore\"\nkeys.known = {}"), recs.clone());
    assert_eq!(records(&d)["mystery"], upd("0", "0"));
    let d = apply(&ds("unknown_keys = \"drop\"\nkeys.known = {}"), recs);
    assert_eq!(kinds(&d), [("mystery", ChangeKind::Dropped, RuleKind::UnknownKeys)]);
}

#[test]
fn type_checks() {
    let rs = ds(r#"keys.i.type = "integer"
keys.n.type = "number"
keys.b.type = "boolean"
keys.j.type = "json"
keys.s.type = "string""#);
    for (k, good, bad) in [
        ("i", "-12", "1.5"),
        ("n", "1.5e3", "NaN"),
        ("b", "false", "yes"),
        ("j", "[1,{}]", "{"),
    ] {
        assert!(apply(&rs, json!({k: new(good)})).response().is_some(), "{k}={good}");
        assert_eq!(
            rejected(&apply(&rs, json!({k: new(bad)}))),
            (Some(k), RuleKind::Type),
            "{k}={bad}"
        );
    }
    assert!(
        apply(&rs, json!({"s": new("anything \u{0} at all")}))
            .response()
            .is_some()
    );
}

#[test]
fn schema_check() {
    let rs = ds(
        r#"keys.prefs.schema = { type = "object", required = ["v"], properties = { v = { type = "integer", maximum = 10 } } }"#,
    );
    assert!(apply(&rs, json!({"prefs": new(r#"{"v": 3}"#)})).response().is_some());
    let d = apply(&rs, json!({"prefs": new(r#"{"v": 30}"#)}));
    assert_eq!(rejected(&d), (Some("prefs"), RuleKind::Schema));
    assert!(d.rejection().unwrap().message.starts_with("at /v: maximum: above 10"));
    assert_eq!(
        rejected(&apply(&rs, json!({"prefs": new("not json")}))).1,
        RuleKind::Type
    );
}

#[test]
fn enum_check() {
    let rs = ds("keys.c.enum = [\"red\", \"blue\"]");
    assert!(apply(&rs, json!({"c": new("red")})).response().is_some());
    assert_eq!(
        rejected(&apply(&rs, json!({"c": new("Red")}))),
        (Some("c"), RuleKind::Enum)
    );
}

#[test]
fn range_check_and_restore() {
    let rs = ds("keys.n = { type = \"number\", range = { min = -1.5, max = 2 } }");
    assert!(apply(&rs, json!({"n": new("2")})).response().is_some());
    assert!(apply(&rs, json!({"n": new("-1.5")})).response().is_some());
    let d = apply(&rs, json!({"n": new("2.01")}));
    assert_eq!(rejected(&d), (Some("n"), RuleKind::Range));
    assert_eq!(d.rejection().unwrap().message, "above the maximum 2 (key rule \"n\")");
    let rs = ds("keys.n = { type = \"integer\", range = { min = 0 }, on_violation = \"restore\" }");
    let d = apply(&rs, json!({"n": upd("5", "-9223372036854775808")}));
    assert_eq!(kinds(&d), [("n", ChangeKind::Restored, RuleKind::Range)]);
    assert_eq!(records(&d)["n"], upd("5", "5"));
}

#[test]
fn clamp_transform() {
    let rs = ds("keys.n = { type = \"integer\", range = { min = 0, max = 100 }, clamp = true }");
    let d = apply(&rs, json!({"a": new("-"), "n": new("-7")}));
    assert_eq!(kinds(&d), [("n", ChangeKind::Transformed, RuleKind::Clamp)]);
    assert_eq!(records(&d)["n"]["newValue"], "0");
    let d = apply(&rs, json!({"n": new("1000")}));
    assert_eq!(records(&d)["n"]["newValue"], "100");
    // Clamp does not make a non-number valid.
    assert_eq!(rejected(&apply(&rs, json!({"n": new("lots")}))).1, RuleKind::Type);
}

#[test]
fn regex_check_is_whole_value() {
    let rs = ds(r#"keys.code.regex = '[A-Z]{3}\d'"#);
    assert!(apply(&rs, json!({"code": new("ABC1")})).response().is_some());
    assert_eq!(
        rejected(&apply(&rs, json!({"code": new("xABC1")}))),
        (Some("code"), RuleKind::Regex)
    );
    assert_eq!(rejected(&apply(&rs, json!({"code": new("ABC12")}))).1, RuleKind::Regex);
}

#[test]
fn max_length_counts_characters_and_drop() {
    let rs = ds("keys.t = { max_length = 3, on_violation = \"drop\" }");
    assert!(apply(&rs, json!({"t": new("ééé")})).changes.is_empty());
    let d = apply(&rs, json!({"t": upd("a", "éééé")}));
    assert_eq!(kinds(&d), [("t", ChangeKind::Dropped, RuleKind::MaxLength)]);
    assert!(records(&d).is_empty());
}

#[test]
fn trim_and_lowercase_transforms() {
    let rs = ds("keys.e = { trim = true, lowercase = true, max_length = 5 }");
    let d = apply(&rs, json!({"e": new("  ÀBC  ")}));
    assert_eq!(kinds(&d), [("e", ChangeKind::Transformed, RuleKind::Lowercase)]);
    assert_eq!(records(&d)["e"]["newValue"], "àbc");
    let d = apply(&rs, json!({"e": new(" abc ")}));
    assert_eq!(kinds(&d), [("e", ChangeKind::Transformed, RuleKind::Trim)]);
    // Already in shape: untouched.
    assert!(apply(&rs, json!({"e": new("abc")})).changes.is_empty());
}

#[test]
fn default_replaces_a_removal() {
    let rs = ds("keys.lang.default = \"en\"");
    let d = apply(
        &rs,
        json!({"lang": {"oldValue": "fr", "newValue": null, "op": "remove"}}),
    );
    assert_eq!(kinds(&d), [("lang", ChangeKind::Transformed, RuleKind::Default)]);
    assert_eq!(records(&d)["lang"], upd("fr", "en"));
}

#[test]
fn scope_by_pool_and_dataset_glob_first_match_wins() {
    let rs = rules(
        r#"unmatched = "reject"
[[datasets]]
identity_pool = "eu-*"
name = "*"
denied_keys = ["*"]
[[datasets]]
identity_pool = "us-east-1:?"
name = "save-*"
max_records = 1
[[datasets]]
name = "*"
"#,
    );
    let d = rs.apply(&event("save-3", json!({"a": new("1")}))).unwrap();
    assert_eq!(d.dataset_rule, Some(1));
    let d = rs.apply(&event("other", json!({"a": new("1")}))).unwrap();
    assert_eq!(d.dataset_rule, Some(2));
    let strict = rules("unmatched = \"reject\"\n[[datasets]]\nname = \"only\"\n");
    let d = strict.apply(&event("other", json!({}))).unwrap();
    assert_eq!(d.rejection().unwrap().rule, RuleKind::Unmatched);
}

#[test]
fn unchanged_records_are_not_judged() {
    let rs = ds("keys.n.type = \"integer\"\ndenied_keys = [\"old\"]");
    // Already-invalid values that the client does not change pass, byte for byte.
    let input = event(
        "d",
        json!({"n": upd("x", "x"), "old": upd("v", "v"), "gone": {"op": "remove"}}),
    );
    let d = rs.apply(&input).unwrap();
    assert_eq!(d.response(), Some(&input[..]));
}

#[test]
fn escaped_equal_values_are_unchanged() {
    let rs = ds("keys.n.type = \"integer\"");
    let input =
        br#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"n":{"oldValue":"x\u0041","newValue":"xA"}}}"#;
    assert_eq!(rs.apply(input).unwrap().response(), Some(&input[..]));
}

#[test]
fn log_values_does_not_change_the_decision() {
    let quiet = ds("keys.e.trim = true");
    let loud = rules("log_values = true\n[[datasets]]\nname = \"d\"\nkeys.e.trim = true\n");
    assert!(loud.logs_values() && !quiet.logs_values());
    let recs = json!({"e": new(" x ")});
    assert_eq!(apply(&quiet, recs.clone()), apply(&loud, recs));
}
