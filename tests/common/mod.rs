//! Shared helpers of the end-to-end tests: local services, the CLI binary, reading tables.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use object_store::aws::{AmazonS3, AmazonS3Builder};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

/// An environment variable the test setup (`scripts/test.sh`) exports; a clear failure,
/// never a silent skip, when it is missing.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test.sh, which installs and starts the local services")
    })
}

pub fn s3_endpoint() -> String {
    required_env("SYNCLAKE_TEST_S3_ENDPOINT")
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

/// An object_store client for a bucket on the local S3 server.
pub fn s3_store(bucket: &str) -> Arc<AmazonS3> {
    Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(s3_endpoint())
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap(),
    )
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
