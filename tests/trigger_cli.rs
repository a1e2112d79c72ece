//! `synclake trigger check` and `synclake trigger lint`, run as the built binary.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/trigger")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn synclake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synclake"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn check(event: &str, extra: &[&str]) -> Output {
    let rules = fixture("rules/profile.toml");
    let event = fixture(event);
    let mut args = vec!["trigger", "check", "--rules", &rules, "--event", &event];
    args.extend_from_slice(extra);
    synclake(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn check_accept_with_changes_prints_decision_and_event() {
    let o = check("events/profile_transform.json", &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("decision: accept (datasets[0], 8 change(s))"));
    assert!(
        out.contains("change: \"score\" transformed by clamp: clamped to the range\n"),
        "{out}"
    );
    assert!(
        out.contains("change: \"nickname\" dropped by allowed_keys: key is not allowed\n"),
        "{out}"
    );
    let event = out.split("event:\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(event).unwrap();
    assert_eq!(v["datasetRecords"]["name"]["newValue"], "Ada L.");
    assert_eq!(v["datasetName"], "profile");
}

#[test]
fn check_unchanged_event_comes_back_byte_for_byte() {
    let o = check("events/profile_ok.json", &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    let input = std::fs::read_to_string(fixture("events/profile_ok.json")).unwrap();
    assert_eq!(
        out,
        format!("decision: accept (datasets[0], 0 change(s))\nevent:\n{input}\n")
    );
}

#[test]
fn check_reject_exits_3_naming_the_rule() {
    let o = check("events/profile_reject.json", &[]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert_eq!(
        stdout(&o),
        "decision: reject (datasets[0]): sync rejected: dataset \"profile\", key \"adminFlag\": denied_keys: key is denied\n"
    );
}

#[test]
fn check_json_output() {
    let o = check("events/profile_transform.json", &["--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decision"], "accept");
    assert_eq!(v["dataset_rule"], 0);
    assert_eq!(v["changes"].as_array().unwrap().len(), 8);
    assert_eq!(v["changes"][1]["change"], "restored");
    assert_eq!(v["event"]["datasetRecords"]["score"]["newValue"], "1000000");
    let o = check("events/profile_reject.json", &["--output", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["decision"].as_str(), v["rule"].as_str(), v["key"].as_str()),
        (Some("reject"), Some("denied_keys"), Some("adminFlag"))
    );
}

#[test]
fn check_bad_event_or_rules_exits_1() {
    let o = check("events/invalid_utf8.bin", &[]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid UTF-8"), "{o:?}");
    let o = check("events/lone_surrogate.json", &[]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let rules = fixture("rules/invalid_semantic.toml");
    let event = fixture("events/profile_ok.json");
    let o = synclake(&["trigger", "check", "--rules", &rules, "--event", &event]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("3 errors in rules"),
        "{o:?}"
    );
}

#[test]
fn lint_ok() {
    for f in ["rules/profile.toml", "rules/profile.json"] {
        let path = fixture(f);
        let o = synclake(&["trigger", "lint", "--rules", &path]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        assert_eq!(stdout(&o), format!("{path}: ok (2 dataset rules, 7 key rules)\n"));
    }
}

#[test]
fn lint_errors_are_located() {
    let path = fixture("rules/invalid_syntax.toml");
    let o = synclake(&["trigger", "lint", "--rules", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        format!("{path}:3:15: extra `=`, expected nothing\n1 error(s)\n")
    );

    let path = fixture("rules/invalid_field.json");
    let o = synclake(&["trigger", "lint", "--rules", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with(&format!(
            "{path}:6:46: datasets[0].keys[\"score\"].ranges: unknown field `ranges`"
        )),
        "{o:?}"
    );

    let path = fixture("rules/invalid_semantic.toml");
    let o = synclake(&["trigger", "lint", "--rules", &path]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "{path}:datasets[1].keys[\"score\"].range: min 100 is above max 0\n"
        )),
        "{out}"
    );
    assert!(out.ends_with("3 error(s)\n"), "{out}");

    let o = synclake(&["trigger", "lint", "--rules", "/nonexistent/rules.toml"]);
    assert_eq!(o.status.code(), Some(1));
}
