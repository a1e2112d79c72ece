//! `synclake consume` against the local Kinesis server (kinesis-local, started by
//! `scripts/test.sh`): lineage, resharding, restarts, S3 output, metrics and clear errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::synclake;
use synclake_kinesis::{Committed, ConsumeError, Consumer};
use synclake_lake::ReplayOptions;
use synclake_testkit::consumer::{Running, consumer_config as config, rt, run_until};
use synclake_testkit::kinesis::*;
use synclake_testkit::replay::{offline_fetch, run_replay};
use synclake_testkit::services::{kinesis_client, new_bucket, s3_endpoint, s3_store};
use synclake_testkit::table::read_table;

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Opens a consumer of `stream` with the test configuration.
async fn open(stream: &str, out: &str, state: &Path, client: aws_sdk_kinesis::Client) -> Consumer {
    Consumer::open_with_client(config(stream, out, state), client)
        .await
        .unwrap()
}

/// Rows as their content without lineage, counted: what replay and consume must agree on.
fn contents(root: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in read_table(root) {
        let key = format!(
            "{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            r.identity_pool_id,
            r.identity_id,
            r.dataset_name,
            r.key,
            r.value,
            r.op,
            r.sync_count,
            r.last_modified,
            r.partition
        );
        *out.entry(key).or_default() += 1;
    }
    out
}

#[test]
fn records_put_with_the_sdk_appear_with_their_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let payloads = payloads(400, 7, &dir.path().join("bodies"));
    let stream = unique_stream("lineage");
    let started_ms = now_ms();
    let (puts, summary) = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 3).await;
        let puts = put_all(&client, &stream, &payloads, 0).await;
        let consumer = open(&stream, out.to_str().unwrap(), &dir.path().join("state"), client).await;
        let n = puts.len() as u64;
        (puts, run_until(consumer, |t| t.committed_records == n).await)
    });
    assert_eq!(summary.totals.records, 400);
    assert_eq!(summary.totals.shards, 3);
    let table = TableRecords::read(&out);
    table.assert_exactly_once(&puts);
    let shards: std::collections::BTreeSet<&str> = puts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(shards.len(), 3, "the puts spread over every shard");
    for row in read_table(&out) {
        let arrival = row.arrival_time.expect("arrival time");
        assert!(arrival >= started_ms - 60_000 && arrival <= now_ms() + 60_000);
        assert!(
            row.file.contains(&row.source) || row.file.starts_with('_'),
            "file {} of shard {}",
            row.file,
            row.source
        );
    }
    // The same decode path as replay: identical rows apart from lineage.
    let jsonl = dir.path().join("payloads.jsonl");
    std::fs::write(&jsonl, payloads.join(&b'\n')).unwrap();
    let replayed = dir.path().join("replayed");
    run_replay(
        &[jsonl],
        &replayed,
        None,
        1 << 20,
        &ReplayOptions::default(),
        offline_fetch(),
    );
    assert_eq!(contents(&out), contents(&replayed));
    assert_eq!(summary.totals.rows as usize, read_table(&out).len());
}

#[test]
fn split_and_merge_mid_stream_reads_every_record_once_parents_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let payloads = payloads(900, 11, &dir.path().join("bodies"));
    let stream = unique_stream("reshard");
    let (puts, commits, summary) = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 1).await;
        let mut consumer = open(
            &stream,
            out.to_str().unwrap(),
            &dir.path().join("state"),
            client.clone(),
        )
        .await;
        let mut commits = consumer.commits();
        let mut running = Running::start(consumer);
        // Each reshard comes once the consumer has read what was put before it: mid-stream.
        let mut puts = put_all(&client, &stream, &payloads[..300], 0).await;
        running.wait(|t| t.records >= 300).await;
        split(&client, &stream, "shardId-000000000000").await;
        puts.extend(put_all(&client, &stream, &payloads[300..600], 300).await);
        running.wait(|t| t.records >= 600).await;
        let open = open_shards(&client, &stream).await;
        assert_eq!(open.len(), 2, "{open:?}");
        merge(&client, &stream, &open[0], &open[1]).await;
        puts.extend(put_all(&client, &stream, &payloads[600..], 600).await);
        running.committed(puts.len() as u64).await;
        let summary = running.stop().await;
        let mut seen = Vec::new();
        while let Ok(c) = commits.try_recv() {
            seen.push(c);
        }
        (puts, seen, summary)
    });
    TableRecords::read(&out).assert_exactly_once(&puts);
    let shards: std::collections::BTreeSet<&str> = puts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        shards.len(),
        4,
        "records landed in the parent, both children and the merged shard: {shards:?}"
    );
    assert_parents_first(&commits);
    assert!(summary.finished_shards >= 3, "{summary:?}");
    // Every commit is in sequence order within its shard, and no record twice.
    let mut per_shard: HashMap<&str, Vec<&String>> = HashMap::new();
    for c in &commits {
        per_shard
            .entry(c.shard.as_str())
            .or_default()
            .extend(&c.sequence_numbers);
    }
    for (shard, seqs) in per_shard {
        // Sequence numbers are decimal strings of up to 128 digits: compare by length, then text.
        let numbers: Vec<(usize, &String)> = seqs.iter().map(|s| (s.len(), *s)).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{shard} out of order");
    }
}

/// Checks that every commit of a child comes after the last commit of each of its parents:
/// shardId-000000000000 → 1 and 2 (split) → 3 (merge).
fn assert_parents_first(commits: &[Committed]) {
    let first = |shard: &str| commits.iter().position(|c| c.shard.ends_with(shard));
    let last = |shard: &str| commits.iter().rposition(|c| c.shard.ends_with(shard));
    let (p0, c1, c2, m3) = (last("00000"), first("00001"), first("00002"), first("00003"));
    assert!(
        p0.is_some() && c1.is_some() && c2.is_some() && m3.is_some(),
        "{commits:?}"
    );
    assert!(p0 < c1 && p0 < c2, "children before their parent: {commits:?}");
    assert!(
        last("00001") < m3 && last("00002") < m3,
        "merged shard before its parents"
    );
}

#[test]
fn a_restart_resumes_after_the_checkpoint_without_reading_again() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let state = dir.path().join("state");
    let payloads = payloads(300, 3, &dir.path().join("bodies"));
    let stream = unique_stream("restart");
    let runtime = rt();
    let client = kinesis_client();
    let first_puts = runtime.block_on(async {
        create_stream(&client, &stream, 2).await;
        let puts = put_all(&client, &stream, &payloads[..200], 0).await;
        let consumer = open(&stream, out.to_str().unwrap(), &state, client.clone()).await;
        let summary = run_until(consumer, |t| t.committed_records == 200).await;
        assert_eq!(summary.totals.records, 200);
        puts
    });
    TableRecords::read(&out).assert_exactly_once(&first_puts);
    let (more, second) = runtime.block_on(async {
        let more = put_all(&client, &stream, &payloads[200..], 200).await;
        let consumer = open(&stream, out.to_str().unwrap(), &state, client.clone()).await;
        (more, run_until(consumer, |t| t.committed_records == 100).await)
    });
    assert_eq!(
        second.totals.records, 100,
        "the second run read only what was put after the first"
    );
    let all: Vec<Put> = first_puts.into_iter().chain(more).collect();
    TableRecords::read(&out).assert_exactly_once(&all);
}

#[test]
fn the_table_goes_to_s3() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = new_bucket("consume");
    let payloads = payloads(200, 5, &dir.path().join("bodies"));
    let stream = unique_stream("tos3");
    let summary = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 2).await;
        put_all(&client, &stream, &payloads, 0).await;
        let mut cfg = config(&stream, &format!("s3://{bucket}/table"), &dir.path().join("state"));
        cfg.s3 = synclake_lake::S3Options {
            endpoint: Some(s3_endpoint()),
            region: Some("us-east-1".into()),
            path_style: true,
        };
        let consumer = Consumer::open_with_client(cfg, client).await.unwrap();
        run_until(consumer, |t| t.committed_records == 200).await
    });
    let local = dir.path().join("copy");
    let files = download_table(&bucket, "table", &local);
    assert!(files >= 1);
    let rows = read_table(&local);
    assert_eq!(rows.len() as u64, summary.totals.rows);
    assert!(rows.iter().all(|r| r.source.starts_with("shardId-")));
}

/// Copies every object under `prefix` of `bucket` into `dir` (same relative keys); returns how
/// many data files there were.
fn download_table(bucket: &str, prefix: &str, dir: &Path) -> usize {
    use futures::TryStreamExt as _;
    use object_store::{ObjectStore as _, ObjectStoreExt as _};
    let store = s3_store(bucket);
    rt().block_on(async {
        let list: Vec<_> = store
            .list(Some(&object_store::path::Path::from(prefix)))
            .try_collect()
            .await
            .unwrap();
        let mut files = 0;
        for meta in list {
            let key = meta.location.to_string();
            let rel = key.strip_prefix(&format!("{prefix}/")).unwrap().to_owned();
            let bytes = store.get(&meta.location).await.unwrap().bytes().await.unwrap();
            let path = dir.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            if !rel.starts_with('_') {
                files += 1;
            }
        }
        files
    })
}

#[test]
fn the_metrics_endpoint_serves_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = payloads(50, 9, &dir.path().join("bodies"));
    let stream = unique_stream("metrics");
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let text = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 1).await;
        put_all(&client, &stream, &payloads, 0).await;
        let mut cfg = config(
            &stream,
            dir.path().join("lake").to_str().unwrap(),
            &dir.path().join("state"),
        );
        cfg.metrics_addr = Some(addr);
        let consumer = Consumer::open_with_client(cfg, client).await.unwrap();
        let mut running = Running::start(consumer);
        running.committed(50).await;
        let text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let missing = reqwest::get(format!("http://{addr}/nope")).await.unwrap().status();
        assert_eq!(missing, reqwest::StatusCode::NOT_FOUND);
        running.stop().await;
        text
    });
    assert!(
        text.contains("synclake_consume_committed_records_total{shard=\"shardId-000000000000\"} 50"),
        "{text}"
    );
    assert!(text.contains("# TYPE synclake_consume_millis_behind_latest gauge"));
}

#[test]
fn a_missing_stream_and_an_unreachable_endpoint_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let cfg = config(
            "no-such-stream",
            dir.path().join("lake").to_str().unwrap(),
            &dir.path().join("state"),
        );
        let err = Consumer::open_with_client(cfg, kinesis_client())
            .await
            .err()
            .expect("missing stream");
        assert!(matches!(err, ConsumeError::StreamNotFound { .. }), "{err}");
        assert!(err.to_string().contains("no-such-stream"), "{err}");
    });
    let out = synclake(&[
        "consume",
        "--stream",
        "s",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--out",
        dir.path().join("lake").to_str().unwrap(),
        "--state",
        dir.path().join("state").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unreachable") && stderr.contains("http://127.0.0.1:9"),
        "{stderr}"
    );
}

#[test]
fn enhanced_fan_out_reads_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let payloads = payloads(300, 13, &dir.path().join("bodies"));
    let stream = unique_stream("efo");
    let (puts, summary) = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 2).await;
        let mut puts = put_all(&client, &stream, &payloads[..150], 0).await;
        let mut cfg = config(&stream, out.to_str().unwrap(), &dir.path().join("state"));
        cfg.fan_out = Some("synclake-tests".into());
        let consumer = Consumer::open_with_client(cfg, client.clone()).await.unwrap();
        let mut running = Running::start(consumer);
        puts.extend(put_all(&client, &stream, &payloads[150..], 150).await);
        running.committed(300).await;
        (puts, running.stop().await)
    });
    assert_eq!(summary.totals.records, 300);
    TableRecords::read(&out).assert_exactly_once(&puts);
}

#[test]
fn a_failing_flush_is_retried_until_it_lands_and_nothing_is_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let payloads = payloads(200, 17, &dir.path().join("bodies"));
    let stream = unique_stream("retry");
    // A file where a partition directory must go: every flush with rows of that day fails.
    std::fs::create_dir_all(&out).unwrap();
    let blocker = out.join("dt=2024-03-04");
    std::fs::write(&blocker, b"in the way").unwrap();
    let (puts, summary, failures) = rt().block_on(async {
        let client = kinesis_client();
        create_stream(&client, &stream, 1).await;
        let puts = put_all(&client, &stream, &payloads, 0).await;
        let consumer = open(&stream, out.to_str().unwrap(), &dir.path().join("state"), client).await;
        let shard = consumer.metrics().shard("shardId-000000000000");
        let mut running = Running::start(consumer);
        running
            .wait(|_| shard.flush_failures.load(std::sync::atomic::Ordering::Relaxed) >= 2)
            .await;
        assert!(
            running.metrics.totals().committed_records < 200,
            "nothing past the blocked day yet"
        );
        std::fs::remove_file(&blocker).unwrap();
        running.committed(200).await;
        let failures = shard.flush_failures.load(std::sync::atomic::Ordering::Relaxed);
        (puts, running.stop().await, failures)
    });
    assert!(failures >= 2);
    assert_eq!(summary.totals.committed_records, 200);
    TableRecords::read(&out).assert_exactly_once(&puts);
    assert!(
        read_table(&out)
            .iter()
            .any(|r| r.partition.starts_with("dt=2024-03-04"))
    );
}
