//! A shard that cannot be read while the stream still lists it (the answer after a stream was
//! deleted and re-created under a checkpoint, or a shard whose iterator requests fail with
//! `ResourceNotFoundException`): the consumer must retry it with growing waits, not at ~10 Hz,
//! and say so once. A local server cannot be made to keep answering so on demand, hence the
//! SDK-level mocks; the consumer is the real one (real state directory, real table).
//!
//! Real time, not paused: the checkpoint store works on blocking threads, and a paused clock
//! jumps ahead whenever the runtime waits for them, which would hide the retry rate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ErrorMetadata;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryOutput;
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::error::ResourceNotFoundException;
use aws_sdk_kinesis::types::{
    HashKeyRange, SequenceNumberRange, Shard, StreamDescriptionSummary, StreamMode, StreamModeDetails, StreamStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use synclake_kinesis::{Consumer, ConsumerConfig};
use tokio::sync::watch;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/unreadable";
const SHARD: &str = "shardId-000000000000";

fn client(rules: &[&Rule]) -> Client {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, rule| i.with_rule(rule),
    );
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDMOCK",
            "mock-secret",
            None,
            None,
            "unreadable_shard",
        ))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn summary() -> DescribeStreamSummaryOutput {
    DescribeStreamSummaryOutput::builder()
        .stream_description_summary(
            StreamDescriptionSummary::builder()
                .stream_name("unreadable")
                .stream_arn(STREAM_ARN)
                .stream_status(StreamStatus::Active)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(StreamMode::Provisioned)
                        .build()
                        .expect("mode"),
                )
                .retention_period_hours(24)
                .stream_creation_timestamp(DateTime::from_secs(1_795_428_000))
                .set_enhanced_monitoring(Some(Vec::new()))
                .open_shard_count(1)
                .build()
                .expect("a complete summary"),
        )
        .build()
}

fn listing() -> ListShardsOutput {
    let shard = Shard::builder()
        .shard_id(SHARD)
        .hash_key_range(
            HashKeyRange::builder()
                .starting_hash_key("0")
                .ending_hash_key("340282366920938463463374607431768211455")
                .build()
                .expect("a complete hash key range"),
        )
        .sequence_number_range(
            SequenceNumberRange::builder()
                .starting_sequence_number("49590338271490256608559692538361571095921575989136588898")
                .build()
                .expect("a complete sequence number range"),
        )
        .build()
        .expect("a complete shard");
    ListShardsOutput::builder().shards(shard).build()
}

fn not_found() -> GetShardIteratorError {
    GetShardIteratorError::ResourceNotFoundException(
        ResourceNotFoundException::builder()
            .message("Unable to find record with provided SequenceNumber (mocked)")
            .meta(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("Unable to find record with provided SequenceNumber (mocked)")
                    .build(),
            )
            .build(),
    )
}

/// Log lines, captured.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test]
async fn a_listed_shard_that_cannot_be_read_is_retried_with_growing_waits_and_reported_once() {
    let logs = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let describe = mock!(Client::describe_stream_summary)
        .sequence()
        .output(summary)
        .repeatedly()
        .build();
    let list = mock!(Client::list_shards)
        .sequence()
        .output(listing)
        .repeatedly()
        .build();
    let gone = mock!(Client::get_shard_iterator)
        .sequence()
        .error(not_found)
        .repeatedly()
        .build();
    let client = client(&[&describe, &list, &gone]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("lake");
    let mut config = ConsumerConfig::new(STREAM_ARN, out.to_str().expect("utf-8 path"), dir.path().join("state"));
    config.kinesis.region = Some("us-east-1".into());
    // The defaults: waits from 200 ms doubling up to 20 s.
    let consumer = Consumer::open_with_client(config, client).await.expect("open");
    let (stop_tx, stop) = watch::channel(false);
    let run = tokio::spawn(consumer.run(stop));
    let window = Duration::from_secs(4);
    tokio::time::sleep(window).await;
    stop_tx.send(true).expect("stop");
    let summary = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stops")
        .expect("joins")
        .expect("a clean stop");
    assert_eq!(summary.totals.records, 0);

    // At ~10 Hz that would be ~40 attempts; waits of at most 0.2, 0.4, 0.8, 1.6, 3.2 s
    // (uniformly drawn below those ceilings) allow about 6.
    let attempts = gone.num_calls();
    assert!(attempts >= 2, "the shard was tried again: {attempts} attempts");
    assert!(attempts <= 12, "{attempts} attempts in {window:?}: no backoff");
    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains(SHARD)).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the shard, not one per attempt: {warnings:#?}"
    );
    assert!(warnings[0].contains("cannot be read"), "{}", warnings[0]);
}
