//! The errors a new user meets first, as the built binary prints them: one line that says
//! what is wrong, each cause said once, exit status 1.
#![allow(clippy::unwrap_used)]

mod common;

use common::synclake;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// The `error:` line, asserting there is exactly one and the run failed with status 1.
fn error_line(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    lines[0].to_owned()
}

#[test]
fn a_missing_input_is_named_once_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let o = synclake(&[
        "replay",
        "/nonexistent",
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let line = error_line(&o);
    assert!(line.contains("/nonexistent"), "{line}");
    assert_eq!(line.matches("No such file or directory").count(), 1, "{line}");
}

#[test]
fn an_output_that_is_a_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, b"").unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("lake");
    let o = synclake(&[
        "replay",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-progress",
    ]);
    let line = error_line(&o);
    assert!(line.contains(out.to_str().unwrap()), "{line}");
    assert!(line.contains("output"), "says it is the output: {line}");
    assert_eq!(line.matches("Not a directory").count(), 1, "{line}");
}

#[test]
fn an_unsupported_output_scheme_says_what_is_supported() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, b"").unwrap();
    let o = synclake(&[
        "replay",
        input.to_str().unwrap(),
        "--out",
        "gs://bucket/lake",
        "--no-progress",
    ]);
    let line = error_line(&o);
    assert!(line.contains("gs://bucket/lake") && line.contains("s3://"), "{line}");
}
