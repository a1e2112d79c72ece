//! The Cognito Sync client: the standard AWS configuration chain, an optional endpoint (the
//! local service), and the SDK's standard retries — `TooManyRequestsException` and transient
//! errors retried with exponential backoff and jitter, up to [`MAX_ATTEMPTS`] attempts a call.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cognitosync::Client;
use aws_smithy_types::retry::RetryConfig;

/// Attempts per API call (the first and its retries).
pub const MAX_ATTEMPTS: u32 = 8;

/// Builds the client once; `endpoint` points at a Cognito Sync-compatible service.
pub async fn connect(endpoint: Option<&str>, region: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}
