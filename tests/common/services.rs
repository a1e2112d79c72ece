//! The local services the test setup (`scripts/test.sh`) starts, as the tests reach them:
//! shared by the root package's tests and, through `#[path]`, by other crates' tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder};

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

/// The local S3 server's `host:port`, for `--fetch-allow-host`: presigned URLs to it are not
/// Amazon S3 endpoints, so the fetch policy refuses them unless allowed.
pub fn s3_allow_host() -> String {
    let endpoint = s3_endpoint();
    let authority = endpoint.split_once("://").map_or(endpoint.as_str(), |(_, rest)| rest);
    authority.split('/').next().unwrap().to_owned()
}
