//! Enhanced fan-out against the local Kinesis (kinesis-local, started by scripts/services.sh):
//! consumer registration, subscriptions from every start position, renewals that neither skip
//! nor repeat a record, and the end of a split parent.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_kinesis::config::{ConfigBag, Intercept};
use aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardInput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ConsumerStatus, Record, ShardFilter, ShardFilterType, ShardIteratorType, StartingPosition, StreamStatus,
};
use synclake_kinesis::backoff::BackoffOptions;
use synclake_kinesis::error::ConsumeError;
use synclake_kinesis::reader::efo::{FanOutOptions, ensure_consumer, subscribe_shard};
use synclake_kinesis::reader::{ReadEvent, ShardTarget, StartAt};
use synclake_testkit::kinesis::unique_stream;
use synclake_testkit::services::{kinesis_client, kinesis_config};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The starting position of every `SubscribeToShard` call a client made.
#[derive(Debug, Clone, Default)]
struct Subscriptions(Arc<Mutex<Vec<StartingPosition>>>);

impl Subscriptions {
    fn client(&self) -> Client {
        Client::from_conf(kinesis_config().interceptor(self.clone()).build())
    }

    fn positions(&self) -> Vec<StartingPosition> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for Subscriptions {
    fn name(&self) -> &'static str {
        "Subscriptions"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(input) = context.input().downcast_ref::<SubscribeToShardInput>() {
            self.0.lock().unwrap().extend(input.starting_position.clone());
        }
        Ok(())
    }
}

/// Polls `check` every 20 ms until it yields a value, failing after `limit`.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates an active stream with `shards` shards; returns its ARN.
async fn create_stream(client: &Client, name: &str, shards: i32) -> String {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_for("the stream to become active", Duration::from_secs(10), || async {
        let out = client.describe_stream_summary().stream_name(name).send().await.ok()?;
        let summary = out.stream_description_summary?;
        (summary.stream_status == StreamStatus::Active).then_some(summary.stream_arn)
    })
    .await
}

/// The open shards, in id order.
async fn open_shards(client: &Client, arn: &str) -> Vec<String> {
    let out = client
        .list_shards()
        .stream_arn(arn)
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AtLatest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = out.shards.unwrap_or_default().into_iter().map(|s| s.shard_id).collect();
    ids.sort();
    ids
}

/// Puts `payloads` one at a time (so their order is the shard's order); returns the sequence
/// numbers.
async fn put(client: &Client, arn: &str, payloads: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seqs = Vec::new();
    for payload in payloads {
        let out = client
            .put_record()
            .stream_arn(arn)
            .partition_key(&payload)
            .data(Blob::new(payload.into_bytes()))
            .send()
            .await
            .unwrap();
        seqs.push(out.sequence_number);
    }
    seqs
}

fn payloads(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

fn text(record: &Record) -> String {
    String::from_utf8(record.data.as_ref().to_vec()).unwrap()
}

fn options(consumer_arn: String) -> FanOutOptions {
    FanOutOptions {
        end_check: Some(Duration::from_millis(300)),
        ..FanOutOptions::new(consumer_arn)
    }
}

/// A reader on `shard_id` from `start`, handing over through a small channel.
fn spawn_reader(
    client: &Client,
    arn: &str,
    shard_id: &str,
    start: StartAt,
    opts: FanOutOptions,
) -> (JoinHandle<()>, mpsc::Receiver<ReadEvent>) {
    let target = ShardTarget {
        client: client.clone(),
        stream_arn: arn.to_owned(),
        shard_id: shard_id.to_owned(),
        start,
        backoff: BackoffOptions {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
    };
    let (tx, rx) = mpsc::channel(4);
    (tokio::spawn(subscribe_shard(target, opts, tx)), rx)
}

/// What a reader handed over until it had `want` records (or ended): the records, and how it
/// ended.
struct Received {
    records: Vec<Record>,
    end: Option<ReadEvent>,
}

async fn receive(rx: &mut mpsc::Receiver<ReadEvent>, want: usize, limit: Duration) -> Received {
    let mut got = Received {
        records: Vec::new(),
        end: None,
    };
    let deadline = Instant::now() + limit;
    while got.records.len() < want {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out after {limit:?} with {} of {want} records", got.records.len()));
        match event {
            Some(ReadEvent::Records { records, .. }) => got.records.extend(records),
            Some(end) => {
                got.end = Some(end);
                break;
            }
            None => panic!("the reader stopped with {} of {want} records", got.records.len()),
        }
    }
    got
}

/// Reads on until the reader reports something other than records, failing on any record.
async fn expect_end(rx: &mut mpsc::Receiver<ReadEvent>, limit: Duration) -> ReadEvent {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => panic!("no end of the shard within {limit:?}"),
            Ok(None) => panic!("the reader stopped without reporting the end"),
            Ok(Some(ReadEvent::Records { records, .. })) => {
                let texts: Vec<String> = records.iter().map(text).collect();
                assert!(texts.is_empty(), "unexpected records {texts:?}");
            }
            Ok(Some(end)) => return end,
        }
    }
}

fn assert_strictly_increasing(records: &[Record]) {
    for pair in records.windows(2) {
        let (a, b) = (&pair[0].sequence_number, &pair[1].sequence_number);
        assert!(
            (a.len(), a) < (b.len(), b),
            "sequence numbers out of order or repeated: {a} then {b}"
        );
    }
}

/// A stream with one shard and an active consumer on it.
async fn stream_with_consumer(prefix: &str) -> (Client, String, String, String) {
    let client = kinesis_client();
    let name = unique_stream(prefix);
    let arn = create_stream(&client, &name, 1).await;
    let consumer = ensure_consumer(&client, &arn, "synclake-test").await.unwrap();
    let shard = open_shards(&client, &arn).await.remove(0);
    (client, arn, consumer, shard)
}

#[tokio::test]
async fn a_consumer_is_registered_once_and_found_again() {
    let client = kinesis_client();
    let arn = create_stream(&client, &unique_stream("efo-register"), 1).await;

    let first = ensure_consumer(&client, &arn, "synclake").await.unwrap();
    let again = ensure_consumer(&client, &arn, "synclake").await.unwrap();
    assert_eq!(first, again);

    let listed = client.list_stream_consumers().stream_arn(&arn).send().await.unwrap();
    let consumers = listed.consumers.unwrap_or_default();
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    assert_eq!(consumers[0].consumer_arn, first);
    assert_eq!(consumers[0].consumer_status, ConsumerStatus::Active);

    let other = ensure_consumer(&client, &arn, "synclake-other").await.unwrap();
    assert_ne!(other, first);
}

#[tokio::test]
async fn a_consumer_on_a_missing_stream_is_a_clear_error() {
    let client = kinesis_client();
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/synclake-no-such-stream";
    let err = ensure_consumer(&client, arn, "synclake").await.unwrap_err();
    assert!(matches!(err, ConsumeError::StreamNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("synclake-no-such-stream"), "{err}");
}

#[tokio::test]
async fn a_subscription_hands_over_every_record_in_order() {
    let (client, arn, consumer, shard) = stream_with_consumer("efo-order").await;
    let before = payloads("before", 30);
    put(&client, &arn, before.clone()).await;

    let (reader, mut rx) = spawn_reader(&client, &arn, &shard, StartAt::TrimHorizon, options(consumer));
    let got = receive(&mut rx, 30, Duration::from_secs(20)).await;
    assert!(got.end.is_none());
    assert_eq!(got.records.iter().map(text).collect::<Vec<_>>(), before);

    let after = payloads("after", 30);
    put(&client, &arn, after.clone()).await;
    let got2 = receive(&mut rx, 30, Duration::from_secs(20)).await;
    assert_eq!(got2.records.iter().map(text).collect::<Vec<_>>(), after);
    let all: Vec<Record> = got.records.into_iter().chain(got2.records).collect();
    assert_strictly_increasing(&all);

    // Dropping the receiver stops the reader.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the reader stops once its receiver is gone")
        .unwrap();
}

#[tokio::test]
async fn every_start_position_is_honoured() {
    let (client, arn, consumer, shard) = stream_with_consumer("efo-start").await;
    let first = payloads("first", 10);
    let seqs = put(&client, &arn, first.clone()).await;

    // Trim horizon: all of them, with their arrival times.
    let (_r, mut rx) = spawn_reader(&client, &arn, &shard, StartAt::TrimHorizon, options(consumer.clone()));
    let all = receive(&mut rx, 10, Duration::from_secs(20)).await.records;
    assert_eq!(all.iter().map(text).collect::<Vec<_>>(), first);
    drop(rx);

    // After a checkpoint: the records after the 4th.
    let (_r, mut rx) = spawn_reader(
        &client,
        &arn,
        &shard,
        StartAt::After(seqs[3].clone()),
        options(consumer.clone()),
    );
    let got = receive(&mut rx, 6, Duration::from_secs(20)).await;
    assert_eq!(got.records.iter().map(text).collect::<Vec<_>>(), first[4..]);
    drop(rx);

    // At a timestamp: the records that arrived at or after the 7th (arrival times have
    // millisecond precision, so earlier ones may share it).
    let at = all[6].approximate_arrival_timestamp.unwrap();
    let from = all
        .iter()
        .position(|r| r.approximate_arrival_timestamp.unwrap() >= at)
        .unwrap();
    let (_r, mut rx) = spawn_reader(
        &client,
        &arn,
        &shard,
        StartAt::AtTimestamp(at),
        options(consumer.clone()),
    );
    let got = receive(&mut rx, 10 - from, Duration::from_secs(20)).await;
    assert_eq!(
        got.records.iter().map(text).collect::<Vec<_>>(),
        first[from..],
        "at {at:?}"
    );
    drop(rx);

    // Latest: only what is put once the subscription is up.
    let (_r, mut rx) = spawn_reader(&client, &arn, &shard, StartAt::Latest, options(consumer));
    // The first (empty) event shows the subscription is up.
    let event = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap()
        .unwrap();
    match event {
        ReadEvent::Records { records, .. } => {
            assert!(records.is_empty(), "{:?}", records.iter().map(text).collect::<Vec<_>>())
        }
        other => panic!("{other:?}"),
    }
    let later = payloads("later", 3);
    put(&client, &arn, later.clone()).await;
    let got = receive(&mut rx, 3, Duration::from_secs(20)).await;
    assert_eq!(got.records.iter().map(text).collect::<Vec<_>>(), later);
}

#[tokio::test]
async fn renewals_neither_skip_nor_repeat_a_record() {
    let (client, arn, consumer, shard) = stream_with_consumer("efo-renew").await;
    let opts = FanOutOptions {
        renew_after: Duration::from_millis(1500),
        ..options(consumer)
    };
    let subscriptions = Subscriptions::default();
    let (_reader, mut rx) = spawn_reader(&subscriptions.client(), &arn, &shard, StartAt::TrimHorizon, opts);

    // Records keep arriving across several renewals.
    let sent = payloads("renew", 60);
    let producer = {
        let (client, arn, sent) = (client.clone(), arn.clone(), sent.clone());
        tokio::spawn(async move {
            for chunk in sent.chunks(6) {
                put(&client, &arn, chunk.to_vec()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let got = receive(&mut rx, sent.len(), Duration::from_secs(60)).await;
    producer.await.unwrap();
    assert_eq!(got.records.iter().map(text).collect::<Vec<_>>(), sent);
    assert_strictly_increasing(&got.records);

    // Nothing more (in particular no repeat) after another renewal.
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while let Ok(event) = tokio::time::timeout_at(quiet_until, rx.recv()).await {
        match event.unwrap() {
            ReadEvent::Records { records, .. } => {
                assert!(
                    records.is_empty(),
                    "repeated: {:?}",
                    records.iter().map(text).collect::<Vec<_>>()
                )
            }
            other => panic!("{other:?}"),
        }
    }

    // Renewed several times, each time after where the previous subscription got to.
    let positions = subscriptions.positions();
    assert!(positions.len() >= 4, "{positions:?}");
    assert_eq!(positions[0].r#type, ShardIteratorType::TrimHorizon);
    for p in &positions[1..] {
        assert_eq!(p.r#type, ShardIteratorType::AfterSequenceNumber, "{positions:?}");
    }
}

#[tokio::test]
async fn a_split_parent_ends_after_its_last_record() {
    let (client, arn, consumer, parent) = stream_with_consumer("efo-split").await;
    let (_reader, mut rx) = spawn_reader(&client, &arn, &parent, StartAt::TrimHorizon, options(consumer.clone()));
    let before = payloads("parent", 20);
    put(&client, &arn, before.clone()).await;
    let got = receive(&mut rx, 20, Duration::from_secs(20)).await;
    assert_eq!(got.records.iter().map(text).collect::<Vec<_>>(), before);

    // Split the shard in two halves of the hash key range.
    client
        .split_shard()
        .stream_arn(&arn)
        .shard_to_split(&parent)
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    let children = wait_for("the split to finish", Duration::from_secs(10), || async {
        let open = open_shards(&client, &arn).await;
        (open.len() == 2 && !open.contains(&parent)).then_some(open)
    })
    .await;
    let after = payloads("child", 20);
    put(&client, &arn, after.clone()).await;

    let end = expect_end(&mut rx, Duration::from_secs(20)).await;
    assert!(matches!(end, ReadEvent::ShardEnd), "{end:?}");

    // The children hold exactly the records put after the split.
    let mut readers: Vec<_> = children
        .iter()
        .map(|child| spawn_reader(&client, &arn, child, StartAt::TrimHorizon, options(consumer.clone())).1)
        .collect();
    let mut in_children = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while in_children.len() < after.len() {
        for rx in &mut readers {
            while let Ok(event) = rx.try_recv() {
                match event {
                    ReadEvent::Records { records, .. } => in_children.extend(records.iter().map(text)),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "the children handed over only {in_children:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    in_children.sort();
    assert_eq!(in_children, after);
}

#[tokio::test]
async fn a_deleted_stream_is_gone() {
    let (client, arn, consumer, shard) = stream_with_consumer("efo-gone").await;
    client
        .delete_stream()
        .stream_arn(&arn)
        .enforce_consumer_deletion(true)
        .send()
        .await
        .unwrap();
    wait_for("the stream to be deleted", Duration::from_secs(10), || async {
        client
            .describe_stream_summary()
            .stream_arn(&arn)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    let (reader, mut rx) = spawn_reader(&client, &arn, &shard, StartAt::TrimHorizon, options(consumer));
    let end = expect_end(&mut rx, Duration::from_secs(20)).await;
    assert!(matches!(end, ReadEvent::Gone { .. }), "{end:?}");
    tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap();
}
