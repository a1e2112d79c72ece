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

/// Runs `synclake consume` with `args` as a new user would: no AWS credentials anywhere
/// unless `creds`, no profile, no instance metadata.
fn consume(args: &[&str], creds: bool) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_synclake"));
    cmd.arg("consume")
        .args(args)
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env_remove("RUST_LOG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
    if creds {
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test");
    }
    let out = cmd.output().unwrap();
    eprintln!("consume {args:?}\n--- stderr\n{}", stderr(&out));
    out
}

/// The whole of stderr is short and free of the SDK's debug structures.
fn no_debug_structures(o: &std::process::Output) {
    let err = stderr(o);
    for noise in [
        "DispatchFailure",
        "ConnectorError",
        "FailedToLoadToken",
        "SdkBody",
        "HeaderValue",
    ] {
        assert!(!err.contains(noise), "{noise} in: {err}");
    }
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
}

#[test]
fn consume_without_credentials_says_none_were_found_and_what_to_set() {
    let o = consume(
        &["--stream", "s", "--endpoint-url", "http://127.0.0.1:1", "--out", "lake"],
        false,
    );
    let line = error_line(&o);
    assert!(line.contains("no AWS credentials found"), "{line}");
    assert!(
        line.contains("AWS_ACCESS_KEY_ID") && line.contains("AWS_PROFILE"),
        "{line}"
    );
    assert!(!line.contains("refused"), "none were refused: {line}");
    no_debug_structures(&o);
}

#[test]
fn consume_without_credentials_and_with_instance_metadata_on_says_the_same() {
    // The chain's last source, the instance metadata service, is tried (and refused off EC2).
    let home = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_synclake"))
        .args([
            "consume",
            "--stream",
            "s",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--out",
            "lake",
        ])
        .current_dir(home.path())
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        .output()
        .unwrap();
    let line = error_line(&o);
    assert!(line.contains("no AWS credentials found"), "{line}");
    no_debug_structures(&o);
}

#[test]
fn consume_without_a_region_says_how_to_give_one() {
    let home = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_synclake"))
        .args(["consume", "--stream", "s", "--out", "lake"])
        .current_dir(home.path())
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let line = error_line(&o);
    assert!(line.contains("--region") && line.contains("AWS_REGION"), "{line}");
    assert!(!line.contains("unreachable"), "{line}");
    no_debug_structures(&o);
}

#[test]
fn consume_of_an_unreachable_endpoint_says_so_in_one_line() {
    let o = consume(
        &["--stream", "s", "--endpoint-url", "http://127.0.0.1:1", "--out", "lake"],
        true,
    );
    let line = error_line(&o);
    assert!(
        line.contains("http://127.0.0.1:1") && line.contains("unreachable"),
        "{line}"
    );
    no_debug_structures(&o);
}

#[test]
fn consume_of_a_missing_stream_names_it_and_the_endpoint() {
    let endpoint = synclake_testkit::services::kinesis_endpoint();
    let o = consume(
        &[
            "--stream",
            "no-such-stream",
            "--endpoint-url",
            &endpoint,
            "--out",
            "lake",
        ],
        true,
    );
    let line = error_line(&o);
    assert!(
        line.contains("`no-such-stream` not found") && line.contains(&endpoint),
        "{line}"
    );
    no_debug_structures(&o);
}

#[test]
fn consume_into_an_unwritable_output_names_it() {
    let endpoint = synclake_testkit::services::kinesis_endpoint();
    let stream = synclake_testkit::kinesis::unique_stream("cli-errors");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(synclake_testkit::kinesis::create_stream(
        &synclake_testkit::services::kinesis_client(),
        &stream,
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("lake");
    let state = dir.path().join("state");
    let o = consume(
        &[
            "--stream",
            &stream,
            "--endpoint-url",
            &endpoint,
            "--out",
            out.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        true,
    );
    let line = error_line(&o);
    assert!(
        line.contains(out.to_str().unwrap()) && line.contains("output"),
        "{line}"
    );
    no_debug_structures(&o);
}

#[test]
fn conflicting_start_flags_are_refused_before_anything_runs() {
    let o = consume(
        &[
            "--stream",
            "s",
            "--out",
            "lake",
            "--start-position",
            "latest",
            "--at-timestamp",
            "2026-01-01T00:00:00Z",
        ],
        true,
    );
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

#[test]
fn a_missing_rules_file_and_an_unwritable_gen_output_are_named() {
    let o = synclake(&["trigger", "lint", "--rules", "/nonexistent/rules.toml"]);
    let line = error_line(&o);
    assert!(
        line.contains("/nonexistent/rules.toml") && line.contains("rules file"),
        "{line}"
    );
    assert_eq!(line.matches("No such file or directory").count(), 1, "{line}");
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("traffic.jsonl");
    let o = synclake(&["gen", "--payloads", "1", "--out", out.to_str().unwrap()]);
    let line = error_line(&o);
    assert!(line.contains(out.to_str().unwrap()), "{line}");
}

/// `synclake local` with this configuration text: what it printed, having stopped at start.
fn local_with(config_text: &str) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("local.toml");
    std::fs::write(&config, config_text).unwrap();
    let args = [
        "local",
        "--config",
        config.to_str().unwrap(),
        "--in-memory",
        "--listen",
        "127.0.0.1:0",
    ];
    (synclake(&args), dir)
}

#[test]
fn a_bad_local_configuration_is_named_with_its_field() {
    let (o, _dir) = local_with("region = \"us-east-1\"\n[[pools]]\nid = \"us-east-1:0001\"\nname = \"typo\"\n");
    let line = error_line(&o);
    assert!(line.contains("local.toml") && line.contains("line 4"), "{line}");
    let err = stderr(&o);
    assert!(
        err.contains("unknown field `name`"),
        "the parser's own words follow: {err}"
    );

    let (o, _dir) = local_with(
        "region = \"us-east-1\"\n[[pools]]\nid = \"us-east-1:0001\"\n[[identities]]\npool = \"us-east-1:0002\"\nid = \"us-east-1:00a1\"\naccess_key = \"A\"\nsecret_key = \"s\"\n",
    );
    let line = error_line(&o);
    assert!(line.contains("us-east-1:0002") && line.contains("[[pools]]"), "{line}");
}

#[test]
fn table_ddl_for_athena_needs_an_s3_location() {
    let line = error_line(&synclake(&["table", "ddl", "--dialect", "athena"]));
    assert!(line.contains("--location s3://"), "{line}");
    let line = error_line(&synclake(&[
        "table",
        "ddl",
        "--dialect",
        "athena",
        "--location",
        "/var/lake",
    ]));
    assert!(line.contains("/var/lake") && line.contains("S3"), "{line}");
    // A layout that cannot be projected says how its partitions get added.
    let o = synclake(&[
        "table",
        "ddl",
        "--dialect",
        "athena",
        "--location",
        "s3://b/t",
        "--partition-by",
        "identity_pool_id,dt",
    ]);
    assert!(o.status.success(), "{o:?}");
    let ddl = String::from_utf8(o.stdout).unwrap();
    assert!(ddl.contains("MSCK REPAIR TABLE `synclake`.`changes`"), "{ddl}");
    assert!(!ddl.contains("projection.enabled"), "{ddl}");
}

#[test]
fn consume_with_a_lease_shorter_than_a_second_says_why_not() {
    let o = consume(
        &[
            "--stream",
            "s",
            "--out",
            "lake",
            "--lease-table",
            "leases",
            "--lease-duration-secs",
            "0.5",
        ],
        true,
    );
    let line = error_line(&o);
    assert!(
        line.contains("--lease-duration-secs") && line.contains("at least 1 second"),
        "{line}"
    );
}
