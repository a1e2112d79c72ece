//! Enhanced fan-out consumers: registered once per name on a stream, then subscribed to by
//! the [`efo`](super::efo) reader.

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::types::ConsumerStatus;
use tokio::time::Instant;

use crate::error::{ConsumeError, ErrorClass, classify, describe};

/// How long [`ensure_consumer_with`] waits for a consumer to become active.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerWait {
    /// Give up after this long (registration takes seconds on AWS).
    pub timeout: Duration,
    /// The first pause between two looks; it doubles up to `max_poll`.
    pub first_poll: Duration,
    /// The longest pause (`DescribeStreamConsumer` allows 20 calls/s per account).
    pub max_poll: Duration,
}

impl Default for ConsumerWait {
    fn default() -> Self {
        ConsumerWait {
            timeout: Duration::from_secs(120),
            first_poll: Duration::from_millis(50),
            max_poll: Duration::from_secs(2),
        }
    }
}

/// Registers the consumer named `name` on the stream if absent, waits until it is active, and
/// returns its ARN.
pub async fn ensure_consumer(client: &Client, stream_arn: &str, name: &str) -> Result<String, ConsumeError> {
    ensure_consumer_with(client, stream_arn, name, ConsumerWait::default()).await
}

/// [`ensure_consumer`] with explicit waits. A consumer being deleted is waited out and
/// registered again; a registration that races another one finds the winner's consumer.
pub async fn ensure_consumer_with(
    client: &Client,
    stream_arn: &str,
    name: &str,
    wait: ConsumerWait,
) -> Result<String, ConsumeError> {
    let endpoint = endpoint_name(client);
    let deadline = Instant::now() + wait.timeout;
    let mut pause = wait.first_poll;
    loop {
        let described = client
            .describe_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(name)
            .send()
            .await;
        let status = match described {
            Ok(out) => match out.consumer_description {
                Some(c) if c.consumer_status == ConsumerStatus::Active => {
                    tracing::info!(consumer = name, arn = %c.consumer_arn, "enhanced fan-out consumer active");
                    return Ok(c.consumer_arn);
                }
                Some(c) => c.consumer_status.as_str().to_owned(),
                None => "not described".to_owned(),
            },
            Err(e) => match classify(&e) {
                ErrorClass::NotFound => {
                    register(client, stream_arn, name, &endpoint).await?;
                    "registered".to_owned()
                }
                ErrorClass::Throttled => "unknown (DescribeStreamConsumer throttled)".to_owned(),
                _ => {
                    return Err(ConsumeError::from_sdk(
                        &e,
                        "DescribeStreamConsumer",
                        stream_arn,
                        &endpoint,
                    ));
                }
            },
        };
        if Instant::now() + pause > deadline {
            return Err(ConsumeError::Kinesis {
                op: "DescribeStreamConsumer",
                detail: format!(
                    "consumer `{name}` on {stream_arn} not ACTIVE within {:?} (last status: {status})",
                    wait.timeout
                ),
            });
        }
        tracing::debug!(consumer = name, %status, "waiting for the consumer to become active");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(wait.max_poll);
    }
}

/// Registers the consumer; one that exists already (a concurrent registration, or one still
/// being deleted) is left to the caller's next look.
async fn register(client: &Client, stream_arn: &str, name: &str, endpoint: &str) -> Result<(), ConsumeError> {
    let result = client
        .register_stream_consumer()
        .stream_arn(stream_arn)
        .consumer_name(name)
        .send()
        .await;
    match result {
        Ok(out) => {
            if let Some(c) = out.consumer {
                tracing::info!(consumer = name, arn = %c.consumer_arn, status = %c.consumer_status, "enhanced fan-out consumer registered");
            }
            Ok(())
        }
        Err(e) if e.code() == Some("ResourceInUseException") || classify(&e) == ErrorClass::Throttled => {
            tracing::debug!(consumer = name, error = %describe(&e), "registration deferred");
            Ok(())
        }
        Err(e) => Err(ConsumeError::from_sdk(
            &e,
            "RegisterStreamConsumer",
            stream_arn,
            endpoint,
        )),
    }
}

/// Where the client sends its calls, for messages (the SDK keeps the endpoint URL to itself).
fn endpoint_name(client: &Client) -> String {
    match client.config().region() {
        Some(region) => format!("Kinesis in {region}"),
        None => "Kinesis".to_owned(),
    }
}
