//! The AWS clients the service calls (Kinesis, Lambda, S3): the standard configuration chain
//! with the configured region, endpoint and static credentials, when given.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::config::EndpointConfig;

/// The SDK configuration for one `[kinesis]`, `[lambda]` or `[s3url]` section.
pub async fn sdk_config(region: &str, endpoint: &EndpointConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_owned()));
    if let Some(url) = &endpoint.endpoint {
        loader = loader.endpoint_url(url);
    }
    if let (Some(access), Some(secret)) = (&endpoint.access_key, &endpoint.secret_key) {
        loader = loader.credentials_provider(Credentials::new(access, secret, None, None, "synclake-local-config"));
    }
    loader.load().await
}
