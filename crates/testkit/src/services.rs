//! The local services the test setup (`scripts/test.sh`) starts, as the tests reach them: the
//! S3 server (moto) and the Kinesis server (kinesis-local), each found through an environment
//! variable the setup exports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use object_store::aws::{AmazonS3, AmazonS3Builder};

/// An environment variable the test setup (`scripts/test.sh`) exports; a clear failure,
/// never a silent skip, when it is missing.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through scripts/test.sh, which installs and starts the local services")
    })
}

/// The local S3 server's URL (`SYNCLAKE_TEST_S3_ENDPOINT`).
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

static BUCKETS: AtomicU32 = AtomicU32::new(0);

/// Creates a bucket with a name unique to this test process and call, so tests run in
/// parallel without seeing each other's objects.
///
/// Blocking, and callable from a plain `#[test]` as well as from inside a Tokio runtime: the
/// request runs on a thread of its own with a runtime of its own.
pub fn new_bucket(prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        BUCKETS.fetch_add(1, Ordering::Relaxed)
    );
    let url = format!("{}/{}", s3_endpoint(), name);
    let status = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async { reqwest::Client::new().put(&url).send().await.unwrap().status() })
            })
            .join()
            .unwrap()
    });
    assert!(status.is_success(), "create bucket {name}: HTTP {status}");
    name
}

/// The local Kinesis server's URL (`SYNCLAKE_TEST_KINESIS_ENDPOINT`).
pub fn kinesis_endpoint() -> String {
    required_env("SYNCLAKE_TEST_KINESIS_ENDPOINT")
}

/// A Kinesis client configuration for the local server with the test credentials, for tests
/// that add to it (an interceptor) before building the client.
pub fn kinesis_config() -> aws_sdk_kinesis::config::Builder {
    kinesis_config_at(&kinesis_endpoint())
}

/// [`kinesis_config`] for the Kinesis server at `endpoint`, for callers that are handed the
/// endpoint rather than the environment (the benchmark tools).
pub fn kinesis_config_at(endpoint: &str) -> aws_sdk_kinesis::config::Builder {
    aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
}

/// A client of the local Kinesis server with the test credentials.
pub fn kinesis_client() -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(kinesis_config().build())
}

/// A client of the Kinesis server at `endpoint` with the test credentials.
pub fn kinesis_client_at(endpoint: &str) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::from_conf(kinesis_config_at(endpoint).build())
}

/// The local DynamoDB server's URL: moto serves DynamoDB beside S3, on the same endpoint.
pub fn dynamodb_endpoint() -> String {
    s3_endpoint()
}

/// A DynamoDB client of the local server with the test credentials.
pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(dynamodb_endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
