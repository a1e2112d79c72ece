//! Helpers of the end-to-end tests that depend on this package's own build: the `synclake`
//! binary (`CARGO_BIN_EXE_synclake`) and the repository as this package sees it. Everything
//! else (local services, Kinesis, tables, replays) comes from `synclake_testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use synclake_testkit::services::required_env;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> String {
    required_env("SYNCLAKE_TEST_PYTHON")
}

/// Runs the `synclake` binary with the test credentials.
pub fn synclake(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_synclake"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    eprintln!(
        "synclake {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The summary JSON a replay wrote with `--summary-json`.
pub fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}
