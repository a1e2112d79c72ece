//! The Kinesis client and the stream it reads.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::Region;

use crate::error::ConsumeError;

/// How to reach Kinesis.
#[derive(Debug, Clone, Default)]
pub struct KinesisOptions {
    /// A Kinesis-compatible endpoint (`http://127.0.0.1:4567`) instead of AWS's.
    pub endpoint_url: Option<String>,
    /// The region; else the usual AWS configuration chain.
    pub region: Option<String>,
}

impl KinesisOptions {
    /// The endpoint for messages: the one given, or AWS's.
    pub fn endpoint_name(&self) -> String {
        self.endpoint_url.clone().unwrap_or_else(|| "AWS".to_owned())
    }
}

/// Builds a client from the standard AWS configuration (environment, profile, instance role)
/// with the options' overrides. The SDK signs, retries and times out; nothing here does.
pub async fn connect(opts: &KinesisOptions) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

/// The stream being consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Its name.
    pub name: String,
    /// Its ARN: what every call names, and with `created_ms` the key of its checkpoints.
    pub arn: String,
    /// When it was created (epoch milliseconds): a stream deleted and re-created under the same
    /// name keeps its ARN but not this, nor its shards' sequence numbers.
    pub created_ms: i64,
}

/// Looks the stream up by name or ARN (`DescribeStreamSummary`), turning a missing stream,
/// refused credentials or an unreachable endpoint into a clear error.
pub async fn describe_stream(client: &Client, stream: &str, endpoint: &str) -> Result<Stream, ConsumeError> {
    let request = client.describe_stream_summary();
    let request = if stream.starts_with("arn:") {
        request.stream_arn(stream)
    } else {
        request.stream_name(stream)
    };
    let out = request
        .send()
        .await
        .map_err(|e| ConsumeError::from_sdk(&e, "DescribeStreamSummary", stream, endpoint))?;
    let summary = out.stream_description_summary.ok_or_else(|| ConsumeError::Kinesis {
        op: "DescribeStreamSummary",
        detail: "the answer has no stream description".into(),
    })?;
    let created_ms = summary
        .stream_creation_timestamp
        .to_millis()
        .map_err(|e| ConsumeError::Kinesis {
            op: "DescribeStreamSummary",
            detail: format!("stream creation time out of range: {e}"),
        })?;
    Ok(Stream {
        name: summary.stream_name,
        arn: summary.stream_arn,
        created_ms,
    })
}
