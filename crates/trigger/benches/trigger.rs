//! Speed of the Sync Trigger engine against Cognito's 5 s budget (no criterion: plain timing,
//! percentiles printed). Run with `cargo bench -p synclake-trigger`.
//!
//! Targets (issue 5): init under 50 ms with a 100-rule file; p99 under 2 ms for a full dataset
//! (1,024 records, 1 MB of values); hostile inputs answered, never timed out.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use synclake_trigger::{Format, RuleSet};

/// 100 `[[datasets]]` entries, each with every dataset-level rule and four key rules (string
/// with trim and max length, and optionally a regex; integer range with clamp; enum; JSON Schema
/// with a pattern): the scope search for the benchmarked dataset walks all of them, since it
/// matches only the last.
fn rules_text(regex_on_strings: bool) -> String {
    let s_rule = if regex_on_strings {
        "max_length = 2048\nregex = '[a-z ]*'"
    } else {
        "max_length = 2048"
    };
    let mut t = String::from("version = 1\non_violation = \"reject\"\n");
    for i in 0..100 {
        let _ = write!(
            t,
            r#"
[[datasets]]
name = "{name}"
identity_pool = "us-east-1:*"
max_records = 1024
max_bytes = 2097152
allowed_keys = ["s*", "n*", "e*", "j*", "meta.*"]
denied_keys = ["admin*", "sys.?*"]
required_keys = ["s0003"]
read_only_keys = ["meta.created*"]
unknown_keys = "reject"
[datasets.keys."s*"]
trim = true
{s_rule}
[datasets.keys."n*"]
type = "integer"
range = {{ min = 0, max = 1000000 }}
clamp = true
[datasets.keys."e*"]
lowercase = true
enum = ["red", "green", "blue", "cyan", "magenta"]
[datasets.keys."j*"]
type = "json"
schema = {{ type = "object", required = ["v"], properties = {{ v = {{ type = "integer", minimum = 0 }}, tags = {{ type = "array", items = {{ type = "string", pattern = "^[a-z]+$" }} }} }} }}
"#,
            name = if i == 99 {
                "game-*".to_owned()
            } else {
                format!("other-{i}")
            }
        );
    }
    t
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A full dataset: 1,024 records, ~1 MB of new values (640 of 1,600 characters; and as much
/// again of old values, each differing in its last character).
/// `changed`: every record changes (all are judged) or none does.
fn full_event(changed: bool) -> Vec<u8> {
    let mut recs = Vec::with_capacity(1024);
    for i in 0..1024 {
        let (key, old, new) = match i % 8 {
            0 => (format!("n{i:04}"), "5".to_owned(), format!("{}", i * 10_000)),
            1 => (format!("e{i:04}"), "red".to_owned(), "Blue".to_owned()),
            2 => (
                format!("j{i:04}"),
                r#"{"v":1}"#.to_owned(),
                format!(r#"{{"v":{i},"tags":["a","bb","ccc"]}}"#),
            ),
            _ => {
                let body: String = (0..1600).map(|j| (b'a' + ((i + j) % 26) as u8) as char).collect();
                (format!("s{i:04}"), format!("{body}x"), body)
            }
        };
        let new = if changed { new } else { old.clone() };
        recs.push(format!(
            r#""{key}":{{"oldValue":{},"newValue":{},"op":"replace","syncCount":{i}}}"#,
            json_str(&old),
            json_str(&new)
        ));
    }
    format!(
        r#"{{"version":2,"eventType":"SyncTrigger","region":"us-east-1","identityPoolId":"us-east-1:0f1e2d3c-aaaa-bbbb-cccc-000000000001","identityId":"us-east-1:0f1e2d3c-aaaa-bbbb-cccc-000000000002","datasetName":"game-save","datasetRecords":{{{}}}}}"#,
        recs.join(",")
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<58} n={:<5} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
}

fn time<T>(iterations: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect()
}

fn main() {
    // `cargo test --benches` passes `--bench`-less flags; keep such runs short.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("TRIGGER_BENCH_QUICK").is_some();
    let n = |full: usize| if quick { 3 } else { full };

    let text = rules_text(true);
    let rules = RuleSet::parse(&text, Format::Toml).unwrap();
    println!(
        "rules: {} dataset rules, {} key rules, {} bytes of TOML",
        rules.dataset_rule_count(),
        rules.key_rule_count(),
        text.len()
    );
    report(
        "init: TOML parse only",
        time(n(200), || synclake_trigger::parse_file(&text, Format::Toml).unwrap()),
    );
    report(
        "init: parse + lint + compile 100-rule file",
        time(n(200), || RuleSet::parse(&text, Format::Toml).unwrap()),
    );

    let no_regex = RuleSet::parse(&rules_text(false), Format::Toml).unwrap();
    for (changed, label) in [(true, "all 1,024 changed"), (false, "none changed")] {
        let event = full_event(changed);
        for (rs, which) in [(&no_regex, "typical rules"), (&rules, "+ regex on every value")] {
            let d = rs.apply(&event).unwrap();
            assert!(
                d.response().is_some(),
                "bench event must be accepted: {:?}",
                d.rejection()
            );
            let name = format!("apply: {label}, {which} ({:.2} MB event)", event.len() as f64 / 1e6);
            report(&name, time(n(1000), || rs.apply(&event).unwrap()));
            if !changed {
                break;
            }
        }
    }

    // Hostile inputs: each must come back with an answer, fast.
    let one_mb = "q".repeat(1_048_575);
    let hostile: Vec<(&str, Vec<u8>)> =
        vec![
        (
            "hostile: 10,000 keys (rejected: max_records)",
            event_of((0..10_000).map(|i| (format!("s{i:05}"), "v".to_owned())).collect()),
        ),
        ("hostile: one 1 MB value (rejected: max_length)", event_of(vec![("s0001".to_owned(), one_mb)])),
        (
            "hostile: 100,000-deep JSON value vs schema (rejected)",
            event_of(vec![("j1".to_owned(), "[".repeat(100_000) + &"]".repeat(100_000))]),
        ),
        (
            "hostile: 1 MB key vs globs (rejected: allowed_keys)",
            event_of(vec![("a".repeat(1 << 20), "v".to_owned())]),
        ),
        (
            "hostile: lone surrogate escape (event error)",
            br#"{"identityPoolId":"us-east-1:p","datasetName":"game-1","datasetRecords":{"s1":{"newValue":"\ud800"}}}"#
                .to_vec(),
        ),
    ];
    for (name, event) in &hostile {
        let answered = match rules.apply(event) {
            Ok(d) => d.rejection().is_some(),
            Err(_) => true,
        };
        assert!(answered, "{name}: expected a rejection or an error");
        report(name, time(n(50), || rules.apply(event)));
    }
}

fn event_of(recs: Vec<(String, String)>) -> Vec<u8> {
    let body: Vec<String> = recs
        .iter()
        .map(|(k, v)| format!(r#"{}:{{"newValue":{}}}"#, json_str(k), json_str(v)))
        .collect();
    format!(
        r#"{{"identityPoolId":"us-east-1:p","datasetName":"game-1","datasetRecords":{{"s0000":{{"oldValue":"x","newValue":"x"}},{}}}}}"#,
        body.join(",")
    )
    .into_bytes()
}
