//! Unit tests of rules loading: syntax and semantic errors with their locations.
#![allow(clippy::unwrap_used)]

use super::*;

fn errors(text: &str, format: Format) -> Vec<String> {
    match RuleSet::parse(text, format) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    assert_eq!(line_col("", 5), (1, 1));
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let e = errors("[[datasets]]\nname = \"a\"\nmax_records = = 3\n", Format::Toml);
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("3:"), "{e:?}");
}

#[test]
fn toml_shape_error_has_path_and_line() {
    let e = errors(
        "[[datasets]]\nname = \"a\"\n[datasets.keys.score]\ntype = \"integer\"\nrange = { min = 0, maxi = 3 }\n",
        Format::Toml,
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("5:"), "{e:?}");
    assert!(e[0].contains(r#"datasets[0].keys["score"].range"#), "{e:?}");
    assert!(e[0].contains("maxi"), "{e:?}");
}

#[test]
fn json_errors_have_line_and_column() {
    let e = errors("{\n  \"datasets\": [\n    {\"name\": 5}\n  ]\n}", Format::Json);
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("3:"), "{e:?}");
    assert!(e[0].contains("datasets[0].name"), "{e:?}");
    let e = errors("{\"datasets\": []} x", Format::Auto);
    assert!(e[0].starts_with("1:"), "{e:?}");
}

#[test]
fn semantic_errors_are_all_reported_with_paths() {
    let text = r#"
version = 2
[[datasets]]
name = "ok"
[[datasets]]
name = 'x\'
allowed_keys = ["a", ""]
required_keys = ["secret"]
denied_keys = ["secret*"]
[datasets.keys.score]
type = "string"
range = { min = 5, max = 1 }
clamp = true
[datasets.keys.level]
type = "integer"
enum = ["1", "two"]
regex = "a)(b"
default = "3"
[datasets.keys.doc]
type = "integer"
schema = { type = "object", minimum = "x" }
"#;
    let e = errors(text, Format::Toml);
    let expect = [
        "version: unsupported version 2",
        "datasets[1].name: pattern ends with a lone",
        "datasets[1].allowed_keys[1]: empty pattern",
        "datasets[1].required_keys[0]: required key is also matched by denied_keys",
        r#"datasets[1].keys["score"].range: range applies to type "integer""#,
        r#"datasets[1].keys["score"].range: min 5 is above max 1"#,
        r#"datasets[1].keys["level"].enum[1]: not a valid integer"#,
        r#"datasets[1].keys["level"].regex: invalid regex"#,
        r#"datasets[1].keys["doc"].schema.minimum: expected a number"#,
        r#"datasets[1].keys["doc"].schema: a schema needs type = "json""#,
    ];
    for x in expect {
        assert!(e.iter().any(|l| l.starts_with(x)), "missing {x:?} in {e:#?}");
    }
}

#[test]
fn default_must_satisfy_its_rule() {
    let e = errors(
        "[[datasets]]\n[datasets.keys.n]\ntype = \"integer\"\nrange = { max = 10 }\ndefault = \"11\"\n",
        Format::Toml,
    );
    assert_eq!(
        e,
        [r#"datasets[0].keys["n"].default: default value fails range: above the maximum 10"#]
    );
}

#[test]
fn most_specific_key_pattern_wins() {
    let rs = RuleSet::parse(
        r#"{"datasets":[{"keys":{"*":{"max_length":1},"score*":{"type":"integer"},"sc*":{},"score":{"type":"boolean"}}}]}"#,
        Format::Json,
    )
    .expect("valid");
    let d = &rs.datasets[0];
    assert_eq!(d.keys.find("score").map(|r| r.pattern.as_str()), Some("score"));
    assert_eq!(d.keys.find("score2").map(|r| r.pattern.as_str()), Some("score*"));
    assert_eq!(d.keys.find("scx").map(|r| r.pattern.as_str()), Some("sc*"));
    assert_eq!(d.keys.find("zzz").map(|r| r.pattern.as_str()), Some("*"));
}

#[test]
fn load_sources() {
    assert!(matches!(
        RuleSet::load(RulesSource::Path("/nonexistent/rules.toml".into())),
        Err(LoadError::Read { .. })
    ));
    assert!(matches!(
        RuleSet::load(RulesSource::Bytes {
            bytes: vec![0xff],
            format: Format::Auto,
            origin: "s3://b/k".into()
        }),
        Err(LoadError::NotUtf8 { .. })
    ));
    let rs = RuleSet::load(RulesSource::Bytes {
        bytes: b"[[datasets]]\nname = \"p*\"\n".to_vec(),
        format: Format::Auto,
        origin: "s3://b/k".into(),
    })
    .expect("valid");
    assert_eq!(rs.dataset_rule_count(), 1);
    assert!(matches!(
        RuleSet::load(RulesSource::EnvVar("SYNCLAKE_TRIGGER_TEST_UNSET_VAR".into())),
        Err(LoadError::EnvVar { .. })
    ));
}
