//! The consumer against SDK-level mocks, for what a local Kinesis cannot be made to do on
//! demand; the consumer is the real one (real state directory, real table).
//!
//! - A shard that cannot be read while the stream still lists it (the answer after a stream was
//!   deleted and re-created under a checkpoint): retried with growing waits, not at ~10 Hz, and
//!   reported once.
//! - A parent with a checkpoint that aged out of the stream's retention (kinesis-local keeps
//!   every shard listed): its children are read, and the parent reported once.
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
use aws_sdk_kinesis::operation::get_records::GetRecordsOutput;
use aws_sdk_kinesis::operation::get_shard_iterator::{GetShardIteratorError, GetShardIteratorOutput};
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::error::ResourceNotFoundException;
use aws_sdk_kinesis::types::{
    HashKeyRange, Record, SequenceNumberRange, Shard, ShardIteratorType, StreamDescriptionSummary, StreamMode,
    StreamModeDetails, StreamStatus,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use synclake_kinesis::checkpoint::Incarnation;
use synclake_kinesis::{CheckpointStore as _, Consumer, ConsumerConfig, FileStore, ShardState};
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
    ListShardsOutput::builder().shards(shard(SHARD, None)).build()
}

fn shard(id: &str, parent: Option<&str>) -> Shard {
    Shard::builder()
        .shard_id(id)
        .set_parent_shard_id(parent.map(str::to_owned))
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
        .expect("a complete shard")
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

/// Captures WARN and above while it lives (this thread: the tests run on a current-thread
/// runtime).
fn capture_warnings() -> (Capture, tracing::subscriber::DefaultGuard) {
    let logs = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    (logs.clone(), tracing::subscriber::set_default(subscriber))
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

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("utf-8 logs")
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
    let (logs, _guard) = capture_warnings();

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
    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains(SHARD)).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the shard, not one per attempt: {warnings:#?}"
    );
    assert!(warnings[0].contains("cannot be read"), "{}", warnings[0]);
}

const PARENT: &str = "shardId-000000000000";
const CHILD: &str = "shardId-000000000001";
const CHILD_SEQ: [&str; 2] = [
    "49590338271490256608559692540925702759324208523137515618",
    "49590338271490256608559692541114259745328131097815957602",
];

/// The child's records: not Cognito payloads, so they land as dead letters, which count as
/// written like rows do.
fn child_records() -> GetRecordsOutput {
    let records = CHILD_SEQ.iter().enumerate().map(|(i, seq)| {
        Record::builder()
            .sequence_number(*seq)
            .partition_key(format!("k{i}"))
            .data(Blob::new(format!("{{\"n\":{i}}}")))
            .approximate_arrival_timestamp(DateTime::from_secs(1_795_428_100 + i as i64))
            .build()
            .expect("a complete record")
    });
    // No next iterator: the child is closed and read to its end.
    GetRecordsOutput::builder()
        .set_records(Some(records.collect()))
        .millis_behind_latest(0)
        .build()
        .expect("a complete GetRecords output")
}

#[tokio::test]
async fn the_children_of_a_checkpointed_parent_that_aged_out_are_read() {
    let (logs, _guard) = capture_warnings();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    // An earlier run read the parent up to a checkpoint; it has since expired from the stream.
    {
        let incarnation = Incarnation {
            arn: STREAM_ARN,
            created_ms: 1_795_428_000_000,
        };
        let out = dir.path().join("lake");
        std::fs::create_dir_all(&out).expect("mkdir");
        let output = std::fs::canonicalize(&out).expect("canonical");
        let store = FileStore::open(&state, incarnation, &output.display().to_string(), false).expect("state");
        let parent = ShardState {
            checkpoint: Some("49590338271490256608559692538361571095921575989136588898".into()),
            ..ShardState::default()
        };
        store.save(PARENT, &parent).await.expect("save");
    }
    let describe = mock!(Client::describe_stream_summary)
        .sequence()
        .output(summary)
        .repeatedly()
        .build();
    let list = mock!(Client::list_shards)
        .sequence()
        .output(|| ListShardsOutput::builder().shards(shard(CHILD, Some(PARENT))).build())
        .repeatedly()
        .build();
    // A known parent's child starts at its trim horizon.
    let iterator = mock!(Client::get_shard_iterator)
        .match_requests(|r| {
            r.shard_id() == Some(CHILD) && r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon)
        })
        .sequence()
        .output(|| GetShardIteratorOutput::builder().shard_iterator("child-1").build())
        .repeatedly()
        .build();
    let records = mock!(Client::get_records)
        .match_requests(|r| r.shard_iterator() == Some("child-1"))
        .sequence()
        .output(child_records)
        .repeatedly()
        .build();
    let client = client(&[&describe, &list, &iterator, &records]);
    let mut config = ConsumerConfig::new(STREAM_ARN, dir.path().join("lake").to_str().expect("utf-8"), &state);
    config.kinesis.region = Some("us-east-1".into());
    config.flush.max_age = Duration::from_millis(50);
    let consumer = Consumer::open_with_client(config, client).await.expect("open");
    let metrics = consumer.metrics();
    let (stop_tx, stop) = watch::channel(false);
    let run = tokio::spawn(consumer.run(stop));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metrics.totals().committed_records < 2 {
        assert!(!run.is_finished(), "the consumer stopped by itself");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child was not read within 20 s: {:?}",
            metrics.totals()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).expect("stop");
    let summary = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stops")
        .expect("joins")
        .expect("a clean stop");
    assert_eq!(summary.totals.committed_records, 2);
    assert_eq!(summary.totals.dead_letters, 2);
    let text = logs.text();
    let reports: Vec<&str> = text.lines().filter(|l| l.contains("parent shard expired")).collect();
    assert_eq!(reports.len(), 1, "the parent is reported once: {text}");
    assert!(
        reports[0].contains(PARENT) && reports[0].contains("4959033827149025660855969253836157109592157598913658889"),
        "{}",
        reports[0]
    );
}
