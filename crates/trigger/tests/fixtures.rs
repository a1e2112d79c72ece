//! The fixture events under `fixtures/trigger/events` against the fixture rules.
#![allow(clippy::unwrap_used)]

mod common;

use aws_lambda_events::event::cognito::CognitoEvent;
use common::{fixture, read, records};
use serde_json::json;
use synclake_trigger::{ChangeKind, EventError, Format, RuleKind, RuleSet, RulesSource};

fn profile_rules() -> RuleSet {
    RuleSet::load(RulesSource::Path(fixture("rules/profile.toml"))).unwrap()
}

#[test]
fn toml_and_json_rules_are_the_same() {
    let toml = profile_rules();
    let json = RuleSet::load(RulesSource::Path(fixture("rules/profile.json"))).unwrap();
    assert_eq!(toml.dataset_rule_count(), 2);
    assert_eq!(toml.key_rule_count(), 7);
    for ev in [
        "profile_ok.json",
        "profile_transform.json",
        "profile_reject.json",
        "unknown_fields.json",
    ] {
        let e = read(&format!("events/{ev}"));
        assert_eq!(toml.apply(&e).unwrap(), json.apply(&e).unwrap(), "{ev}");
    }
}

#[test]
fn aws_lambda_events_sample_round_trips() {
    let input = read("events/aws_sample.json");
    // Its dataset is covered by no rule: unchanged, byte for byte.
    let d = profile_rules().apply(&input).unwrap();
    assert_eq!(d.response(), Some(&input[..]));
    assert!(d.changes.is_empty() && d.dataset_rule.is_none());
    // With a rule that touches it, the response still reads as an `aws_lambda_events` CognitoEvent.
    let rules =
        common::rules("[[datasets]]\n[datasets.keys.\"Sample*\"]\nmax_length = 3\non_violation = \"restore\"\n");
    let d = rules.apply(&input).unwrap();
    assert_eq!(d.changes.len(), 1);
    let ev: CognitoEvent = serde_json::from_slice(d.response().unwrap()).unwrap();
    let rec = &ev.dataset_records["SampleKey1"];
    assert_eq!(rec.new_value.as_deref(), Some("oldValue1"));
    assert_eq!(rec.old_value.as_deref(), Some("oldValue1"));
    assert_eq!(ev.dataset_name.as_deref(), Some("datasetName"));
    assert_eq!(ev.version, 2);
}

#[test]
fn accepted_unchanged_event_is_returned_byte_for_byte() {
    let input = read("events/profile_ok.json");
    let d = profile_rules().apply(&input).unwrap();
    assert_eq!(d.response(), Some(&input[..]));
    assert!(d.changes.is_empty());
    assert_eq!(d.dataset_rule, Some(0));
}

#[test]
fn transforms_restores_and_drops() {
    let d = profile_rules().apply(&read("events/profile_transform.json")).unwrap();
    let got: Vec<(&str, ChangeKind, RuleKind)> = d.changes.iter().map(|c| (c.key.as_str(), c.kind, c.rule)).collect();
    assert_eq!(
        got,
        [
            ("name", ChangeKind::Transformed, RuleKind::Trim),
            ("email", ChangeKind::Restored, RuleKind::Regex),
            ("score", ChangeKind::Transformed, RuleKind::Clamp),
            ("theme", ChangeKind::Transformed, RuleKind::Lowercase),
            ("level", ChangeKind::Transformed, RuleKind::Default),
            ("createdAt", ChangeKind::Restored, RuleKind::ReadOnlyKeys),
            ("tags.pro", ChangeKind::Dropped, RuleKind::Type),
            ("nickname", ChangeKind::Dropped, RuleKind::AllowedKeys),
        ]
    );
    let r = records(&d);
    assert_eq!(
        r["name"],
        json!({"oldValue": "Ada", "newValue": "Ada L.", "op": "replace"})
    );
    assert_eq!(
        r["email"],
        json!({"oldValue": "ada@example.com", "newValue": "ada@example.com", "op": "replace"})
    );
    assert_eq!(r["score"]["newValue"], "1000000");
    assert_eq!(r["theme"], json!({"newValue": "dark", "op": "replace"}));
    assert_eq!(r["level"], json!({"oldValue": "7", "newValue": "1", "op": "replace"}));
    assert_eq!(r["createdAt"]["newValue"], "2024-01-01T00:00:00Z");
    assert!(!r.contains_key("tags.pro") && !r.contains_key("nickname"));
    assert_eq!(r.len(), 6);
}

#[test]
fn denied_key_rejects_naming_dataset_key_and_rule() {
    let d = profile_rules().apply(&read("events/profile_reject.json")).unwrap();
    let r = d.rejection().unwrap();
    assert_eq!(
        (r.dataset.as_str(), r.key.as_deref(), r.rule),
        ("profile", Some("adminFlag"), RuleKind::DeniedKeys)
    );
    assert_eq!(
        r.to_string(),
        "sync rejected: dataset \"profile\", key \"adminFlag\": denied_keys: key is denied"
    );
}

#[test]
fn other_fields_and_unknown_record_fields_survive() {
    let input = read("events/unknown_fields.json");
    let d = profile_rules().apply(&input).unwrap();
    let out = d.response().unwrap();
    let out_text = std::str::from_utf8(out).unwrap();
    // Every other field comes back with its value byte for byte (2.50 stays 2.50, \u00e9 stays
    // escaped), in its place.
    let mut at = 0;
    for field in [
        r#""version":2"#,
        r#""futureField":{"nested":[1,2.50,"\u00e9"]}"#,
        r#""identityId":"us-east-1:9b8f7e6d-2222-4c3b-8a1d-0f1e2d3c4b5a""#,
        r#""datasetName":"profile""#,
        r#""datasetRecords":"#,
        r#""trailing":null"#,
    ] {
        let i = out_text[at..]
            .find(field)
            .unwrap_or_else(|| panic!("{field} missing or moved in {out_text}"));
        at += i + field.len();
    }
    let mut a: serde_json::Value = serde_json::from_slice(&input).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(out).unwrap();
    a.as_object_mut().unwrap().remove("datasetRecords");
    b.as_object_mut().unwrap().remove("datasetRecords");
    assert_eq!(a, b);
    let r = records(&d);
    assert_eq!(
        r["name"],
        json!({"oldValue": "Ada", "newValue": "Ada", "op": "replace", "syncCount": 3})
    );
    // An untouched record keeps its absent `op` and absent `oldValue`: no nulls appear.
    assert_eq!(r["theme"], json!({"newValue": "light"}));
    assert!(!r.contains_key("café"), "not in allowed_keys: dropped");
}

#[test]
fn max_records_restore_reverts_the_whole_sync() {
    let d = profile_rules().apply(&read("events/scratch_over_limit.json")).unwrap();
    assert_eq!(d.dataset_rule, Some(1));
    let keys: Vec<(&str, ChangeKind, RuleKind)> = d.changes.iter().map(|c| (c.key.as_str(), c.kind, c.rule)).collect();
    assert_eq!(
        keys,
        [
            ("k09", ChangeKind::Restored, RuleKind::MaxRecords),
            ("k10", ChangeKind::Restored, RuleKind::MaxRecords),
            ("k11", ChangeKind::Restored, RuleKind::MaxRecords),
        ]
    );
    let r = records(&d);
    assert_eq!(r["k09"]["newValue"], "a");
    assert_eq!(r["k10"], json!({"newValue": null, "op": "remove"}));
}

#[test]
fn bad_events_are_errors_not_panics() {
    let rules = profile_rules();
    assert!(matches!(
        rules.apply(&read("events/invalid_utf8.bin")),
        Err(EventError::NotUtf8 { .. })
    ));
    let e = rules.apply(&read("events/lone_surrogate.json")).unwrap_err();
    assert!(matches!(e, EventError::Record { ref key, .. } if key == "name"), "{e}");
    assert!(e.to_string().contains("not a valid JSON string"), "{e}");
}

#[test]
fn invalid_rules_fixtures_fail_lint_with_locations() {
    let err = |f: &str| {
        let text = std::fs::read_to_string(fixture(f)).unwrap();
        RuleSet::parse(&text, Format::from_path(std::path::Path::new(f)))
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    let e = err("rules/invalid_syntax.toml");
    assert!(e.len() == 1 && e[0].starts_with("3:15:"), "{e:?}");
    let e = err("rules/invalid_field.json");
    assert!(e.len() == 1 && e[0].starts_with("6:"), "{e:?}");
    assert!(
        e[0].contains(r#"datasets[0].keys["score"].ranges"#) || e[0].contains("ranges"),
        "{e:?}"
    );
    let e = err("rules/invalid_semantic.toml");
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].starts_with("datasets[1].required_keys[0]:"), "{e:?}");
    assert!(
        e.iter()
            .any(|l| l.starts_with(r#"datasets[1].keys["color"].regex: invalid regex"#)),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with(r#"datasets[1].keys["score"].range: min 100 is above max 0"#)),
        "{e:?}"
    );
}
