//! `synclake consume` and S3Url bodies, against kinesis-local and a loopback HTTP server:
//! bodies count against the memory bound (large ones neither crash the worker nor loop it),
//! and a URL that keeps failing becomes a `fetch_exhausted` dead letter once the retry window
//! has passed, while the shard moves on.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use synclake_kinesis::{Consumer, ConsumerConfig};
use synclake_lake::FetchOptions;
use synclake_testkit::consumer::{Running, consumer_config};
use synclake_testkit::http::{Reply, serve};
use synclake_testkit::kinesis::*;
use synclake_testkit::services::kinesis_client;
use synclake_testkit::table::read_dead_letters;

/// A payload whose records are behind `url`.
fn s3url_payload(i: usize, url: &str) -> Vec<u8> {
    format!(
        r#"{{"identityPoolId":"us-east-1:pool","identityId":"us-east-1:id-{i}","dataSetName":"game","operation":"replace","payloadType":"S3Url","syncCount":{i},"lastModifiedDate":1709251200000,"kinesisSyncRecordsURL":"{url}"}}"#
    )
    .into_bytes()
}

/// An inline payload with one record.
fn inline_payload(i: usize) -> Vec<u8> {
    format!(
        r#"{{"identityPoolId":"us-east-1:pool","identityId":"us-east-1:id-{i}","dataSetName":"game","operation":"replace","payloadType":"Inline","syncCount":{i},"lastModifiedDate":1709251200000,"kinesisSyncRecords":[{{"key":"k","value":"{i}","syncCount":1,"lastModifiedDate":1709251200000,"op":"replace"}}]}}"#
    )
    .into_bytes()
}

/// The shared test configuration, fetching as `fetch` says.
fn config(stream: &str, out: &std::path::Path, state: &std::path::Path, fetch: FetchOptions) -> ConsumerConfig {
    let mut c = consumer_config(stream, out.to_str().unwrap(), state);
    c.backoff.max = Duration::from_millis(200);
    c.fetch = fetch;
    c
}

/// Runs the consumer until `committed` records are committed (90 s at most), then stops it.
async fn run_until_committed(consumer: Consumer, committed: u64) {
    let mut running = Running::start(consumer);
    running.committed(committed).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_are_flushed_within_the_memory_bound_and_each_lands_once() {
    // 24 records whose 3 MiB bodies are not JSON (each a dead letter keeping its body), under
    // a 16 MiB memory bound: one flush cannot hold them all, so flushes commit prefixes and the
    // rest follows. Before the bound, 33 such bodies of 64 MiB overflowed an Arrow column and
    // crashed the worker on every restart.
    let dir = tempfile::tempdir().unwrap();
    let server = serve(|_| Reply::ok(vec![b'x'; 3 << 20]));
    let payloads: Vec<Vec<u8>> = (0..24)
        .map(|i| s3url_payload(i, &server.url(&format!("/b/{i}"))))
        .collect();
    let stream = unique_stream("fetch-bound");
    let client = kinesis_client();
    create_stream(&client, &stream, 1).await;
    let puts = put_all(&client, &stream, &payloads, 0).await;
    let mut c = config(
        &stream,
        &dir.path().join("lake"),
        &dir.path().join("state"),
        FetchOptions {
            allow_hosts: vec![server.host().parse().unwrap()],
            ..FetchOptions::default()
        },
    );
    c.flush.memory_limit = 16 << 20;
    let consumer = Consumer::open_with_client(c, client).await.unwrap();
    run_until_committed(consumer, 24).await;
    TableRecords::read(&dir.path().join("lake")).assert_exactly_once(&puts);
    let dead = read_dead_letters(&dir.path().join("lake"));
    assert_eq!(dead.len(), 24);
    assert!(
        dead.iter()
            .all(|d| d.fetched_body.as_ref().is_some_and(|b| b.len() == 3 << 20))
    );
    // 72 MiB of bodies under a 16 MiB bound: at least five flushes, a dead-letter file each.
    let files = read_dead_letter_files(&dir.path().join("lake"));
    assert!(
        files >= 5,
        "{files} dead-letter files: the bound did not cut the flushes"
    );
}

/// Dead-letter files in the table.
fn read_dead_letter_files(root: &std::path::Path) -> usize {
    std::fs::read_dir(root.join("_dead_letters"))
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "parquet"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_keeps_failing_becomes_a_dead_letter_and_the_shard_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(|_| Reply::status(503, "Slow Down"));
    let mut payloads: Vec<Vec<u8>> = (0..20).map(inline_payload).collect();
    payloads[5] = s3url_payload(5, &server.url("/b/always-503?X-Amz-Signature=secret"));
    let stream = unique_stream("fetch-exhausted");
    let client = kinesis_client();
    create_stream(&client, &stream, 1).await;
    let puts = put_all(&client, &stream, &payloads, 0).await;
    let started = Instant::now();
    let window = Duration::from_secs(2);
    let c = config(
        &stream,
        &dir.path().join("lake"),
        &dir.path().join("state"),
        FetchOptions {
            allow_hosts: vec![server.host().parse().unwrap()],
            attempts: 1,
            retry_window: window,
            ..FetchOptions::default()
        },
    );
    let consumer = Consumer::open_with_client(c, client).await.unwrap();
    run_until_committed(consumer, 20).await;
    assert!(started.elapsed() >= window, "given up only after the window");
    assert!(server.request_count() > 1, "retried before giving up");
    let lake = dir.path().join("lake");
    TableRecords::read(&lake).assert_exactly_once(&puts);
    let dead = read_dead_letters(&lake);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_kind, "fetch_exhausted");
    assert!(!dead[0].error.contains("secret"), "{}", dead[0].error);
}
