//! Shared helpers of the end-to-end tests: local services, the CLI binary, reading tables.
#![allow(dead_code, clippy::unwrap_used)]

pub mod kinesis;
#[path = "../../crates/lake/tests/common/mod.rs"]
pub mod lake;
mod services;

#[allow(unused_imports)]
pub use services::{required_env, s3_allow_host, s3_endpoint, s3_store};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

pub fn python() -> String {
    required_env("SYNCLAKE_TEST_PYTHON")
}

static BUCKETS: AtomicU32 = AtomicU32::new(0);

/// Creates a bucket with a name unique to this test process and call, so tests run in
/// parallel without seeing each other's objects.
pub fn new_bucket(prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        BUCKETS.fetch_add(1, Ordering::Relaxed)
    );
    let url = format!("{}/{}", s3_endpoint(), name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::Client::new().put(&url).send().await.unwrap().status() });
    assert!(status.is_success(), "create bucket {name}: HTTP {status}");
    name
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
