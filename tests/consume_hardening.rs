//! Hardening of `synclake consume` (issue 15) against the local services: the start position
//! survives a kill before the first flush, a re-created stream is refused (and started over
//! on request), one state writes a stream into a table, a blocked worker still flushes, and
//! what a killed consumer left is swept. Each test failed on the code before its fix.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::kinesis::*;
use common::lake::offline_fetch;
use synclake_kinesis::metrics::Totals;
use synclake_kinesis::{ConsumeError, Consumer, ConsumerConfig, KinesisOptions, RunSummary, StartPosition};
use tokio::sync::watch;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Quick polls and discovery; flushes by age only when a test says so.
fn config(stream: &str, out: &str, state: &Path) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(stream, out, state);
    c.kinesis = KinesisOptions {
        endpoint_url: Some(kinesis_endpoint()),
        region: Some("us-east-1".into()),
    };
    c.flush.max_age = Duration::from_millis(300);
    c.poll.idle_wait = Duration::from_millis(100);
    c.discover_every = Duration::from_millis(300);
    c.report_every = Duration::from_secs(5);
    c.fetch = offline_fetch();
    c.backoff.base = Duration::from_millis(20);
    c.backoff.max = Duration::from_millis(500);
    c
}

/// A consumer running in the background.
struct Running {
    metrics: std::sync::Arc<synclake_kinesis::metrics::Metrics>,
    stop: watch::Sender<bool>,
    run: tokio::task::JoinHandle<Result<RunSummary, ConsumeError>>,
}

impl Running {
    fn start(consumer: Consumer) -> Running {
        let metrics = consumer.metrics();
        let (stop, rx) = watch::channel(false);
        Running {
            metrics,
            stop,
            run: tokio::spawn(consumer.run(rx)),
        }
    }

    /// Waits until `done` holds for the counters, at most `limit`.
    async fn wait(&mut self, limit: Duration, what: &str, done: impl Fn(&Totals) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.metrics.totals()) {
            assert!(
                !self.run.is_finished(),
                "the consumer stopped by itself: {:?}",
                (&mut self.run).await
            );
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}: {:?}",
                self.metrics.totals()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every one of `shards` shards has been read at least once.
    async fn reading(&mut self, shards: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let snapshot = self.metrics.snapshot();
            let polled = snapshot
                .iter()
                .filter(|(_, m)| m.millis_behind_latest.load(std::sync::atomic::Ordering::Relaxed) >= 0)
                .count();
            if polled >= shards {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{polled} of {shards} shards read within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> RunSummary {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.run)
            .await
            .expect("shutdown within 30 s")
            .unwrap()
            .unwrap()
    }
}

async fn open(cfg: ConsumerConfig) -> Consumer {
    Consumer::open_with_client(cfg, kinesis_client()).await.unwrap()
}

/// Item 3: `latest`, killed after reading 400 records but before any flush; 400 more put while
/// it is down; the restart (`latest` again) must bring all 800, once.
fn latest_survives_a_kill_before_the_first_flush(fan_out: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (out, state) = (dir.path().join("lake"), dir.path().join("state"));
    let payloads = payloads(800, 31, &dir.path().join("bodies"));
    let stream = unique_stream(if fan_out { "latest-efo" } else { "latest" });
    let cfg = || {
        let mut c = config(&stream, out.to_str().unwrap(), &state);
        c.start = StartPosition::Latest;
        c.flush.max_age = Duration::from_secs(3600);
        c.fan_out = fan_out.then(|| "hardening".to_owned());
        c
    };
    let client = kinesis_client();
    let first_run = rt();
    let before = first_run.block_on(async {
        create_stream(&client, &stream, 2).await;
        let mut running = Running::start(open(cfg()).await);
        running.reading(2).await;
        let puts = put_all(&client, &stream, &payloads[..400], 0).await;
        running
            .wait(Duration::from_secs(30), "400 records read", |t| t.records >= 400)
            .await;
        assert_eq!(running.metrics.totals().committed_records, 0, "nothing flushed yet");
        puts
    });
    // The kill: every task dropped where it stands, nothing flushed, nothing saved.
    drop(first_run);
    let second_run = rt();
    second_run.block_on(async {
        let after = put_all(&client, &stream, &payloads[400..], 400).await;
        let mut c = cfg();
        c.flush.max_age = Duration::from_millis(300);
        let mut running = Running::start(open(c).await);
        running
            .wait(
                Duration::from_secs(30),
                "all 800 records committed after the restart",
                |t| t.committed_records >= 800,
            )
            .await;
        running.stop().await;
        let all: Vec<Put> = before.into_iter().chain(after).collect();
        TableRecords::read(&out).assert_exactly_once(&all);
    });
}

#[test]
fn latest_is_recorded_so_a_kill_before_the_first_flush_skips_nothing() {
    latest_survives_a_kill_before_the_first_flush(false);
}

#[test]
fn latest_is_recorded_with_enhanced_fan_out_too() {
    latest_survives_a_kill_before_the_first_flush(true);
}

/// Item 2: the stream is deleted and re-created under the same name after a run; its old
/// state is refused with a clear error, and with the start-over flag the new stream's records
/// reach the table exactly once (beside the old ones).
#[test]
fn a_recreated_stream_is_refused_then_started_over_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (out, state) = (dir.path().join("lake"), dir.path().join("state"));
    let payloads = payloads(200, 37, &dir.path().join("bodies"));
    let stream = unique_stream("recreate");
    let client = kinesis_client();
    rt().block_on(async {
        create_stream(&client, &stream, 2).await;
        let old = put_all(&client, &stream, &payloads[..100], 0).await;
        let mut running = Running::start(open(config(&stream, out.to_str().unwrap(), &state)).await);
        running
            .wait(Duration::from_secs(60), "first incarnation", |t| {
                t.committed_records >= 100
            })
            .await;
        running.stop().await;

        delete_stream(&client, &stream).await;
        create_stream(&client, &stream, 2).await;
        let new = put_all(&client, &stream, &payloads[100..], 100).await;

        let refused = Consumer::open_with_client(config(&stream, out.to_str().unwrap(), &state), client.clone()).await;
        let err = refused.err().expect("the old incarnation's state is refused");
        let text = err.to_string();
        assert!(
            matches!(
                err,
                ConsumeError::Checkpoint(synclake_kinesis::checkpoint::CheckpointError::StreamRecreated { .. })
            ),
            "{err:?}"
        );
        assert!(
            text.contains("re-created") && text.contains("--start-over-recreated-stream"),
            "{text}"
        );

        let mut cfg = config(&stream, out.to_str().unwrap(), &state);
        cfg.start_over_recreated_stream = true;
        let mut running = Running::start(open(cfg).await);
        running
            .wait(Duration::from_secs(60), "second incarnation", |t| {
                t.committed_records >= 100
            })
            .await;
        let summary = running.stop().await;
        assert_eq!(summary.totals.records, 100, "only the new stream's records were read");
        let table = TableRecords::read(&out);
        let all: Vec<Put> = old.iter().chain(&new).cloned().collect();
        table.assert_exactly_once(&all);
    });
}

/// Item 5c: shard 0 holds most of the memory bound; one small record on shard 1 pushes the
/// total over it. Shard 1 holds less than its share (no flush) and waits blocked; shard 0
/// flushes its share. Shard 1 must then notice that the total is back under the bound and read
/// again: more records put on it must be read, with an hour's flush age.
#[test]
fn a_worker_blocked_on_the_memory_bound_reads_again_once_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let mut sorted = payloads(400, 43, &dir.path().join("bodies"));
    sorted.sort_by_key(Vec::len);
    let big = sorted[sorted.len() - 100..].to_vec();
    let (small, more) = (vec![sorted[0].clone()], sorted[1..21].to_vec());
    let big_bytes: usize = big.iter().map(Vec::len).sum();
    let small_bytes: usize = small.iter().chain(&more).map(Vec::len).sum();
    assert!(small_bytes * 2 < big_bytes, "shard 1 stays under half the bound");
    let stream = unique_stream("blocked");
    let client = kinesis_client();
    rt().block_on(async {
        create_stream(&client, &stream, 2).await;
        let mut cfg = config(&stream, out.to_str().unwrap(), &dir.path().join("state"));
        cfg.flush.max_age = Duration::from_secs(3600);
        cfg.flush.memory_limit = big_bytes + 1;
        let mut running = Running::start(open(cfg).await);
        running.reading(2).await;
        let listed = client.list_shards().stream_name(&stream).send().await.unwrap();
        let starts: Vec<String> = listed
            .shards
            .unwrap()
            .into_iter()
            .map(|s| s.hash_key_range.unwrap().starting_hash_key)
            .collect();
        assert_eq!(starts.len(), 2);
        let mut puts = put_to_hash_key(&client, &stream, &big, &starts[0]).await;
        assert!(
            puts.iter().all(|p| p.0 == puts[0].0),
            "the big records went to one shard"
        );
        running
            .wait(Duration::from_secs(30), "shard 0's records read", |t| t.records >= 100)
            .await;
        assert_eq!(
            running.metrics.totals().committed_records,
            0,
            "under the bound: no flush"
        );
        let other = put_to_hash_key(&client, &stream, &small, &starts[1]).await;
        assert_ne!(other[0].0, puts[0].0, "the small record went to the other shard");
        puts.extend(other);
        running
            .wait(Duration::from_secs(15), "the holder of the bound flushed", |t| {
                t.committed_records >= 100
            })
            .await;
        puts.extend(put_to_hash_key(&client, &stream, &more, &starts[1]).await);
        running
            .wait(Duration::from_secs(15), "the blocked shard reads again", |t| {
                t.records >= 121
            })
            .await;
        running.stop().await;
        TableRecords::read(&out).assert_exactly_once(&puts);
    });
}
