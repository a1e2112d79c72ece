//! Properties: whatever the rules do, fields other than `datasetRecords` never change, records
//! the rules do not touch come back byte for byte, and the response is valid JSON.
#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use serde_json::Value;
use synclake_trigger::{Format, RuleSet};

const RULES: &str = r#"
[[datasets]]
name = "d*"
max_bytes = 4000
denied_keys = ["deny*"]
read_only_keys = ["ro*"]
unknown_keys = "drop"
actions = { max_bytes = "restore", read_only_keys = "restore" }
keys."n*" = { type = "integer", range = { min = 0, max = 50 }, clamp = true }
keys."s*" = { trim = true, lowercase = true, max_length = 8, on_violation = "restore" }
keys."e*" = { enum = ["a", "b"], on_violation = "drop" }
keys."ro*" = {}
keys."deny*" = {}
"#;

fn rules() -> RuleSet {
    RuleSet::parse(RULES, Format::Toml).unwrap()
}

/// A JSON string literal, sometimes written with escapes to exercise raw-text copying.
fn json_str() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-zA-Z0-9 é\u{1F600}\"\\\\\n]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-z]{1,4}".prop_map(|s| format!("\"\\u0041{s}\\t\"")),
        (0i64..100).prop_map(|n| format!("\"{n}\"")),
    ]
}

fn slot() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), Just(Some("null".to_owned())), json_str().prop_map(Some)]
}

/// A record's raw text: oldValue / newValue absent, null or a string, op absent or one of two,
/// an unknown field now and then, fields in varying order, odd whitespace.
fn record() -> impl Strategy<Value = String> {
    (
        slot(),
        slot(),
        prop_oneof![Just(None), Just(Some("\"replace\"")), Just(Some("\"remove\""))],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(old, new, op, extra, reverse)| {
            let mut fields = Vec::new();
            if let Some(o) = old {
                fields.push(format!("\"oldValue\": {o}"));
            }
            if let Some(n) = new {
                fields.push(format!("\"newValue\":{n}"));
            }
            if let Some(op) = op {
                fields.push(format!("\"op\" :{op}"));
            }
            if extra {
                fields.push("\"syncCount\": 7, \"deviceLastModifiedDate\": 1.5e3".to_owned());
            }
            if reverse {
                fields.reverse();
            }
            format!("{{ {} }}", fields.join(","))
        })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "n[0-9]",
        "s[0-9]",
        "e[0-9]",
        "ro[0-9]",
        "deny[0-9]",
        "x[0-9]",
        "[a-z]{1,3}"
    ]
}

/// A whole event, and the `"key":value` text every other top-level field must come back as.
fn event() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        prop::collection::btree_map(key(), record(), 0..12),
        prop_oneof![Just("d1"), Just("dx"), Just("other")],
        prop::collection::vec(("[a-z]{1,6}", json_str()), 0..3),
        0usize..8,
    )
        .prop_map(|(recs, dataset, extras, records_at)| {
            let records: Vec<String> = recs
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
                .collect();
            let mut fields: Vec<(String, String)> = vec![
                ("\"version\"".into(), "2".into()),
                ("\"eventType\"".into(), "\"SyncTrigger\"".into()),
                ("\"region\"".into(), "\"us-east-1\"".into()),
                ("\"identityPoolId\"".into(), "\"us-east-1:p\"".into()),
                ("\"identityId\"".into(), "\"us-east-1:\\u0069d\"".into()),
                ("\"datasetName\"".into(), format!("\"{dataset}\"")),
            ];
            for (k, v) in extras {
                fields.push((format!("\"x-{k}\""), format!("{{\"v\": [{v}, 1e2, 1.50, null]}}")));
            }
            // Compact on the way out: the key, a colon, the value's raw text.
            let others = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let mut text: Vec<String> = fields.iter().map(|(k, v)| format!("{k} : {v}")).collect();
            let at = records_at.min(text.len());
            text.insert(at, format!("\"datasetRecords\": {{ {} }}", records.join(", ")));
            (format!("{{ {} }}\n", text.join(", ")), others)
        })
}

/// Required keys with a default (`r0`, `r1`) and without (`r2`), violations that restore or
/// drop, limits that undo the sync one way or the other.
fn required_rules(swap: bool) -> String {
    let (a, b) = if swap { ("restore", "drop") } else { ("drop", "restore") };
    format!(
        r#"
[[datasets]]
name = "d"
max_records = 4
max_bytes = 24
required_keys = ["r0", "r1", "r2"]
actions = {{ max_records = "{a}", max_bytes = "{b}", required_keys = "{a}" }}
keys.r0 = {{ type = "integer", default = "0", on_violation = "{a}" }}
keys.r1 = {{ enum = ["a", "x"], default = "a", on_violation = "{b}" }}
keys.r2 = {{ max_length = 3, on_violation = "restore" }}
keys."x*" = {{ max_length = 4, on_violation = "{b}" }}
"#
    )
}

/// A valid JSON string value, or a lone surrogate (only ever stored: an old value).
fn value(stored: bool) -> BoxedStrategy<String> {
    let valid = prop_oneof![
        Just(r#""""#.to_owned()),
        Just(r#""0""#.to_owned()),
        Just(r#""7""#.to_owned()),
        Just(r#""a""#.to_owned()),
        Just(r#""x""#.to_owned()),
        Just(r#""abcdefgh""#.to_owned()),
        Just(r#""\u0061""#.to_owned()),
    ];
    if stored {
        prop_oneof![4 => valid, 1 => Just(r#""\ud800""#.to_owned())].boxed()
    } else {
        valid.boxed()
    }
}

/// An event for dataset `d`, and its records' keys with their raw `oldValue` (if any).
fn required_event() -> impl Strategy<Value = (String, Vec<(String, Option<String>)>)> {
    let rec = (
        prop_oneof![Just(None), Just(Some("null".to_owned())), value(true).prop_map(Some)],
        // None: absent; Some(None): same text as oldValue; Some(Some(v)): v.
        prop_oneof![
            Just(None),
            Just(Some(None)),
            Just(Some(Some("null".to_owned()))),
            value(false).prop_map(|v| Some(Some(v)))
        ],
        prop_oneof![Just(None), Just(Some("replace")), Just(Some("remove"))],
    );
    prop::collection::btree_map(prop_oneof!["r[0-2]", "x[0-5]"], rec, 0..8).prop_map(|recs| {
        let mut keys = Vec::new();
        let mut text = Vec::new();
        for (k, (old, new, op)) in recs {
            let mut fields = Vec::new();
            if let Some(o) = &old {
                fields.push(format!(r#""oldValue":{o}"#));
            }
            match new {
                None => {}
                Some(None) => fields.push(format!(
                    r#""newValue":{}"#,
                    old.clone().unwrap_or_else(|| "null".to_owned())
                )),
                Some(Some(v)) => fields.push(format!(r#""newValue":{v}"#)),
            }
            if let Some(op) = op {
                fields.push(format!(r#""op":"{op}""#));
            }
            text.push(format!(r#""{k}":{{{}}}"#, fields.join(",")));
            keys.push((k, old));
        }
        let input = format!(
            r#"{{"version":2,"identityPoolId":"us-east-1:p","datasetName":"d","datasetRecords":{{{}}}}}"#,
            text.join(",")
        );
        (input, keys)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn other_fields_never_change_and_untouched_records_round_trip((input, others) in event()) {
        let rules = rules();
        let d = rules.apply(input.as_bytes()).unwrap();
        let Some(response) = d.response() else {
            // Rejections are allowed (read-only, denied keys); nothing to compare.
            return Ok(());
        };
        let out = std::str::from_utf8(response).unwrap();
        if d.changes.is_empty() {
            // Nothing changed: the request itself.
            prop_assert_eq!(response, input.as_bytes());
        }
        // Every other top-level field appears with its value verbatim, in the same order.
        let mut at = 0;
        for f in others.iter().filter(|_| !d.changes.is_empty()) {
            let i = out[at..].find(f.as_str());
            prop_assert!(i.is_some(), "field {f} missing or moved in {out}");
            at += i.unwrap() + f.len();
        }
        let parsed_in: Value = serde_json::from_str(&input).unwrap();
        let parsed_out: Value = serde_json::from_str(out).unwrap();
        let (mut a, mut b) = (parsed_in.clone(), parsed_out.clone());
        a.as_object_mut().unwrap().remove("datasetRecords");
        b.as_object_mut().unwrap().remove("datasetRecords");
        prop_assert_eq!(a, b);
        // Records without a change are identical (absent stays absent, no null appears).
        let changed: Vec<&str> = d.changes.iter().map(|c| c.key.as_str()).collect();
        let rin = parsed_in["datasetRecords"].as_object().unwrap();
        let rout = parsed_out["datasetRecords"].as_object().unwrap();
        for (k, v) in rin {
            if !changed.contains(&k.as_str()) {
                prop_assert_eq!(rout.get(k), Some(v), "record {} changed", k);
            }
        }
        for k in rout.keys() {
            prop_assert!(rin.contains_key(k), "record {} appeared", k);
        }
    }

    #[test]
    fn required_defaults_never_duplicate_a_key_nor_go_missing(
        (input, keys) in required_event(),
        swap in any::<bool>(),
    ) {
        let rules = RuleSet::parse(&required_rules(swap), Format::Toml).unwrap();
        // Old values may hold stored lone surrogates: never an error, as new values are valid.
        let d = rules.apply(input.as_bytes()).unwrap();
        if d.response().is_none() {
            return Ok(());
        }
        let out = common::raw_records(&d);
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &out {
            prop_assert!(seen.insert(k.clone()), "key {} twice in {:?}", k, out);
            prop_assert!(keys.iter().any(|(ik, _)| ik == k) || k == "r0" || k == "r1", "{} appeared", k);
        }
        // Once Cognito applies the response, every required key with a default has a value.
        for req in ["r0", "r1"] {
            let has_value = match out.iter().find(|(k, _)| k == req) {
                Some((_, fields)) => {
                    let get = |f: &str| fields.iter().find(|(n, _)| n == f).map(|(_, v)| v.as_str());
                    match (get("op"), get("newValue")) {
                        (Some("\"remove\""), _) | (_, Some("null")) => false,
                        (_, Some(_)) => true,
                        (_, None) => get("oldValue").is_some_and(|v| v != "null"),
                    }
                }
                None => keys.iter().any(|(k, old)| k == req && old.as_deref().is_some_and(|v| v != "null")),
            };
            prop_assert!(has_value, "{} has no value: {:?} from {}", req, out, input);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = rules().apply(&bytes);
    }

    #[test]
    fn rules_lint_never_panics(text in "[\\[\\]a-z_=\"{}., 0-9\n*]{0,200}") {
        let _ = RuleSet::parse(&text, Format::Toml);
        let _ = RuleSet::parse(&text, Format::Json);
    }
}
