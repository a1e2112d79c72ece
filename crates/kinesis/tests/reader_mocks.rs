//! The polling reader and shard listing against SDK-level mocks (`aws-smithy-mocks`), for the
//! answers a local Kinesis will not give on demand: throttling, expired iterators, a shard that
//! disappears mid-read, paginated `ListShards`.
//!
//! Every client here runs its rules in `RuleMode::Sequential`: each call must match the next
//! rule, so a call out of order, a repeated call or one call too many fails the test (the mock
//! panics inside the reader). The SDK's own retries are off, so every error reaches the reader.

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::error::ErrorMetadata;
use aws_sdk_kinesis::operation::get_records::{GetRecordsError, GetRecordsInput, GetRecordsOutput};
use aws_sdk_kinesis::operation::get_shard_iterator::{GetShardIteratorError, GetShardIteratorOutput};
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::error::{
    ExpiredIteratorException, ProvisionedThroughputExceededException, ResourceNotFoundException,
};
use aws_sdk_kinesis::types::{HashKeyRange, Record, SequenceNumberRange, Shard};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleBuilder, RuleMode, create_mock_http_client, mock};
use synclake_kinesis::backoff::BackoffOptions;
use synclake_kinesis::reader::poll::{PollOptions, poll_shard};
use synclake_kinesis::reader::{ReadEvent, ShardTarget, StartAt};
use synclake_kinesis::shards::{ShardInfo, list_shards};
use tokio::sync::mpsc;
use tokio::time::timeout;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/reader-mocks";
const SHARD: &str = "shardId-000000000000";
/// Real-shaped sequence numbers, in shard order.
const SEQ: [&str; 3] = [
    "49590338271490256608559692538361571095921575989136588898",
    "49590338271490256608559692540925702759324208523137515618",
    "49590338271490256608559692541114259745328131097815957602",
];
/// Far longer than any reader here should need: reaching it means the reader hangs.
const DEADLINE: Duration = Duration::from_secs(5);

/// A client whose every call is answered by `rules`, in order, with the SDK's retries off.
fn client(rules: &[&Rule]) -> Client {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::Sequential),
        |i, rule| i.with_rule(rule),
    );
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDMOCK", "mock-secret", None, None, "reader_mocks"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Waits of a millisecond or so, so that each test runs in milliseconds.
fn target(client: Client, start: StartAt) -> ShardTarget {
    ShardTarget {
        client,
        stream_arn: STREAM_ARN.to_owned(),
        shard_id: SHARD.to_owned(),
        start,
        backoff: BackoffOptions {
            base: Duration::from_millis(1),
            max: Duration::from_millis(4),
        },
    }
}

fn opts() -> PollOptions {
    PollOptions {
        limit: 100,
        min_interval: Duration::from_millis(1),
        idle_wait: Duration::from_millis(1),
        bytes_per_sec: 1 << 30,
    }
}

fn record(i: usize) -> Record {
    Record::builder()
        .sequence_number(SEQ[i])
        .partition_key(format!("key-{i}"))
        .data(Blob::new(format!("{{\"n\":{i}}}")))
        .approximate_arrival_timestamp(DateTime::from_secs(1_700_000_000 + i as i64))
        .build()
        .expect("a complete record")
}

/// A `GetRecords` answer with the records at `indices`; no `next` means the shard is closed
/// and read to its end.
fn page(indices: &[usize], next: Option<&str>) -> GetRecordsOutput {
    GetRecordsOutput::builder()
        .set_records(Some(indices.iter().map(|&i| record(i)).collect()))
        .set_next_shard_iterator(next.map(str::to_owned))
        .millis_behind_latest(0)
        .build()
        .expect("a complete GetRecords output")
}

fn iterator(it: &str) -> GetShardIteratorOutput {
    GetShardIteratorOutput::builder().shard_iterator(it).build()
}

/// What the service sends: the error code is what the reader classifies by.
fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} (mocked)"))
        .build()
}

fn expired() -> GetRecordsError {
    GetRecordsError::ExpiredIteratorException(
        ExpiredIteratorException::builder()
            .message("Iterator expired")
            .meta(meta("ExpiredIteratorException"))
            .build(),
    )
}

fn throttled() -> GetRecordsError {
    GetRecordsError::ProvisionedThroughputExceededException(
        ProvisionedThroughputExceededException::builder()
            .message("Rate exceeded for shard")
            .meta(meta("ProvisionedThroughputExceededException"))
            .build(),
    )
}

fn not_found() -> ResourceNotFoundException {
    ResourceNotFoundException::builder()
        .message(format!("Shard {SHARD} in stream reader-mocks does not exist"))
        .meta(meta("ResourceNotFoundException"))
        .build()
}

/// `GetShardIterator` for this test's shard and stream, at exactly `start`.
fn get_iterator_at(start: StartAt, answer: &'static str) -> Rule {
    mock!(Client::get_shard_iterator)
        .match_requests(move |r| {
            let (seq, ts) = match &start {
                StartAt::After(seq) => (Some(seq.as_str()), None),
                StartAt::AtTimestamp(ts) => (None, Some(ts)),
                StartAt::TrimHorizon | StartAt::Latest => (None, None),
            };
            r.stream_arn() == Some(STREAM_ARN)
                && r.shard_id() == Some(SHARD)
                && r.shard_iterator_type() == Some(&start.iterator_type())
                && r.starting_sequence_number() == seq
                && r.timestamp() == ts
        })
        .then_output(move || iterator(answer))
}

/// A rule for `GetRecords`, before its answers are given.
type GetRecordsRule = RuleBuilder<GetRecordsInput, GetRecordsOutput, GetRecordsError>;

/// `GetRecords` on exactly `it`, asking for as many records as [`opts`] says.
fn get_records_on(it: &'static str) -> GetRecordsRule {
    mock!(Client::get_records).match_requests(move |r| r.shard_iterator() == Some(it) && r.limit() == Some(100))
}

/// What the receiver saw, comparable: sequence numbers per batch, the end, or the gone reason.
#[derive(Debug, PartialEq)]
enum Seen {
    Records(Vec<String>),
    End,
    Gone(String),
}

fn seen(event: ReadEvent) -> Seen {
    match event {
        ReadEvent::Records { records, .. } => Seen::Records(records.into_iter().map(|r| r.sequence_number).collect()),
        ReadEvent::ShardEnd => Seen::End,
        ReadEvent::Gone { reason } => Seen::Gone(reason),
    }
}

fn batch(indices: &[usize]) -> Seen {
    Seen::Records(indices.iter().map(|&i| SEQ[i].to_owned()).collect())
}

/// Runs the reader to its return (failing if it does not return), then everything it sent.
async fn read_all(target: ShardTarget) -> Vec<Seen> {
    let (tx, mut rx) = mpsc::channel(64);
    timeout(DEADLINE, poll_shard(target, opts(), tx))
        .await
        .expect("the reader returns on its own");
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(seen(event));
    }
    events
}

fn assert_calls(rules: &[(&str, &Rule, usize)]) {
    for (name, rule, calls) in rules {
        assert_eq!(rule.num_calls(), *calls, "calls answered by rule `{name}`");
    }
}

#[tokio::test]
async fn an_expired_iterator_is_renewed_after_the_last_record_handed_over() {
    let first = get_iterator_at(StartAt::TrimHorizon, "it-1");
    let read_1 = get_records_on("it-1").then_output(|| page(&[0, 1], Some("it-2")));
    let read_2 = get_records_on("it-2").then_error(expired);
    let renew = get_iterator_at(StartAt::After(SEQ[1].to_owned()), "it-3");
    let read_3 = get_records_on("it-3").then_output(|| page(&[2], None));
    let client = client(&[&first, &read_1, &read_2, &renew, &read_3]);

    let events = read_all(target(client, StartAt::TrimHorizon)).await;

    assert_eq!(events, vec![batch(&[0, 1]), batch(&[2]), Seen::End]);
    assert_calls(&[
        ("first iterator", &first, 1),
        ("read it-1", &read_1, 1),
        ("read it-2", &read_2, 1),
        ("renew after r2", &renew, 1),
        ("read it-3", &read_3, 1),
    ]);
}

#[tokio::test]
async fn throttling_retries_the_same_iterator() {
    let first = get_iterator_at(StartAt::After(SEQ[0].to_owned()), "it-1");
    let read = get_records_on("it-1")
        .sequence()
        .error(throttled)
        .times(2)
        .output(|| page(&[1, 2], None))
        .build();
    let client = client(&[&first, &read]);

    let events = read_all(target(client, StartAt::After(SEQ[0].to_owned()))).await;

    assert_eq!(events, vec![batch(&[1, 2]), Seen::End]);
    // One iterator for the whole read: throttling never renews it.
    assert_calls(&[("iterator", &first, 1), ("GetRecords on it-1", &read, 3)]);
}

#[tokio::test]
async fn an_iterator_expired_before_any_record_renews_from_the_trim_horizon() {
    let first = get_iterator_at(StartAt::TrimHorizon, "it-1");
    let read_1 = get_records_on("it-1").then_error(expired);
    let renew = get_iterator_at(StartAt::TrimHorizon, "it-2");
    let read_2 = get_records_on("it-2").then_output(|| page(&[0], None));
    let client = client(&[&first, &read_1, &renew, &read_2]);

    let events = read_all(target(client, StartAt::TrimHorizon)).await;

    assert_eq!(events, vec![batch(&[0]), Seen::End]);
    assert_calls(&[("first", &first, 1), ("renew", &renew, 1), ("read it-2", &read_2, 1)]);
}

#[tokio::test]
async fn an_iterator_expired_after_empty_reads_renews_from_the_start_timestamp() {
    let at = StartAt::AtTimestamp(DateTime::from_secs(1_700_000_000));
    let first = get_iterator_at(at.clone(), "it-1");
    // An empty read (nothing new yet) moves the iterator but not the position.
    let read_1 = get_records_on("it-1").then_output(|| page(&[], Some("it-2")));
    let read_2 = get_records_on("it-2").then_error(expired);
    let renew = get_iterator_at(at.clone(), "it-3");
    let read_3 = get_records_on("it-3").then_output(|| page(&[0, 1], None));
    let client = client(&[&first, &read_1, &read_2, &renew, &read_3]);

    let events = read_all(target(client, at)).await;

    assert_eq!(events, vec![batch(&[]), batch(&[0, 1]), Seen::End]);
    assert_calls(&[("first", &first, 1), ("renew", &renew, 1), ("read it-3", &read_3, 1)]);
}

#[tokio::test]
async fn a_shard_that_disappears_while_read_is_reported_gone() {
    let first = get_iterator_at(StartAt::TrimHorizon, "it-1");
    let read_1 = get_records_on("it-1").then_output(|| page(&[0], Some("it-2")));
    let read_2 = get_records_on("it-2").then_error(|| GetRecordsError::ResourceNotFoundException(not_found()));
    let client = client(&[&first, &read_1, &read_2]);

    let events = read_all(target(client, StartAt::TrimHorizon)).await;

    assert_eq!(events.len(), 2, "records, then gone, then nothing: {events:?}");
    assert_eq!(events[0], batch(&[0]));
    let Seen::Gone(reason) = &events[1] else {
        panic!("expected Gone last, got {events:?}");
    };
    assert!(reason.contains("ResourceNotFoundException"), "reason: {reason}");
    assert!(reason.contains(SHARD), "reason names the shard: {reason}");
    assert_calls(&[("read it-2", &read_2, 1)]);
}

#[tokio::test]
async fn a_shard_gone_before_its_first_iterator_is_reported_gone() {
    let first =
        mock!(Client::get_shard_iterator).then_error(|| GetShardIteratorError::ResourceNotFoundException(not_found()));
    let client = client(&[&first]);

    let events = read_all(target(client, StartAt::Latest)).await;

    assert!(
        matches!(events.as_slice(), [Seen::Gone(reason)] if reason.contains("ResourceNotFoundException")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_receiver_dropped_before_the_first_batch_stops_the_reader() {
    let first = get_iterator_at(StartAt::TrimHorizon, "it-1");
    // There is more to read, but nobody to hand it to.
    let read_1 = get_records_on("it-1").then_output(|| page(&[0], Some("it-2")));
    let client = client(&[&first, &read_1]);
    let (tx, rx) = mpsc::channel(1);
    drop(rx);

    timeout(DEADLINE, poll_shard(target(client, StartAt::TrimHorizon), opts(), tx))
        .await
        .expect("the reader stops when its receiver is gone");
    assert_calls(&[("read it-1", &read_1, 1)]);
}

#[tokio::test]
async fn a_receiver_dropped_while_throttled_stops_the_reader() {
    let first = get_iterator_at(StartAt::TrimHorizon, "it-1");
    let read_1 = get_records_on("it-1").then_output(|| page(&[0], Some("it-2")));
    // Throttled for ever: only the dropped receiver can end this reader.
    let read_2 = get_records_on("it-2").sequence().error(throttled).repeatedly().build();
    let client = client(&[&first, &read_1, &read_2]);
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn(poll_shard(target(client, StartAt::TrimHorizon), opts(), tx));

    let event = timeout(DEADLINE, rx.recv())
        .await
        .expect("a first batch")
        .expect("the reader is running");
    assert_eq!(seen(event), batch(&[0]));
    drop(rx);

    timeout(DEADLINE, reader)
        .await
        .expect("the reader stops when its receiver is gone")
        .expect("the reader does not panic");
    assert!(read_2.num_calls() >= 1);
}

fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>, closed: bool) -> Shard {
    let range = SequenceNumberRange::builder()
        .starting_sequence_number(SEQ[0])
        .set_ending_sequence_number(closed.then(|| SEQ[2].to_owned()))
        .build()
        .expect("a complete sequence number range");
    Shard::builder()
        .shard_id(id)
        .set_parent_shard_id(parent.map(str::to_owned))
        .set_adjacent_parent_shard_id(adjacent.map(str::to_owned))
        .hash_key_range(
            HashKeyRange::builder()
                .starting_hash_key("0")
                .ending_hash_key("340282366920938463463374607431768211455")
                .build()
                .expect("a complete hash key range"),
        )
        .sequence_number_range(range)
        .build()
        .expect("a complete shard")
}

fn info(id: &str, parents: &[&str], closed: bool) -> ShardInfo {
    ShardInfo {
        id: id.to_owned(),
        parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        closed,
    }
}

#[tokio::test]
async fn list_shards_follows_next_token_and_reads_lineage() {
    // Shard 0 split into 1 and 2, which merged into 3.
    let page_1 = mock!(Client::list_shards)
        .match_requests(|r| r.stream_arn() == Some(STREAM_ARN) && r.next_token().is_none())
        .then_output(|| {
            ListShardsOutput::builder()
                .shards(shard("shardId-000000000000", None, None, true))
                .shards(shard("shardId-000000000001", Some("shardId-000000000000"), None, true))
                .next_token("token-1")
                .build()
        });
    // With a NextToken the stream must not be named again (the service rejects it).
    let page_2 = mock!(Client::list_shards)
        .match_requests(|r| r.next_token() == Some("token-1") && r.stream_arn().is_none() && r.stream_name().is_none())
        .then_output(|| {
            ListShardsOutput::builder()
                .shards(shard("shardId-000000000002", Some("shardId-000000000000"), None, true))
                .shards(shard(
                    "shardId-000000000003",
                    Some("shardId-000000000001"),
                    Some("shardId-000000000002"),
                    false,
                ))
                .build()
        });
    let client = client(&[&page_1, &page_2]);

    let shards = timeout(DEADLINE, list_shards(&client, STREAM_ARN))
        .await
        .expect("listing returns")
        .expect("listing succeeds");

    assert_eq!(
        shards,
        vec![
            info("shardId-000000000000", &[], true),
            info("shardId-000000000001", &["shardId-000000000000"], true),
            info("shardId-000000000002", &["shardId-000000000000"], true),
            info(
                "shardId-000000000003",
                &["shardId-000000000001", "shardId-000000000002"],
                false
            ),
        ]
    );
    assert_calls(&[("page 1", &page_1, 1), ("page 2", &page_2, 1)]);
}

/// Refused credentials (the service's `UnrecognizedClientException`) stop the consumer at start
/// with an error that says so; a local server accepts any credentials, hence the mock.
#[tokio::test]
async fn refused_credentials_are_a_clear_error_at_start() {
    use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
    let refused = mock!(Client::describe_stream_summary).then_error(|| {
        DescribeStreamSummaryError::generic(
            ErrorMetadata::builder()
                .code("UnrecognizedClientException")
                .message("The security token included in the request is invalid.")
                .build(),
        )
    });
    let client = client(&[&refused]);
    let err = synclake_kinesis::client::describe_stream(&client, "s", "AWS")
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            synclake_kinesis::ConsumeError::Credentials {
                op: "DescribeStreamSummary",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    assert!(err.to_string().contains("security token"), "{err}");
}
