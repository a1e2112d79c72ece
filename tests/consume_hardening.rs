//! Hardening of `synclake consume` (issue 15) against the local services: the start position
//! survives a kill before the first flush, a re-created stream is refused (and started over
//! on request), one state writes a stream into a table, a blocked worker still flushes, and
//! what a killed consumer left is swept. Each test failed on the code before its fix.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use synclake_kinesis::fence::FenceError;
use synclake_kinesis::{ConsumeError, Consumer, ConsumerConfig, StartPosition};
use synclake_lake::{S3Options, Store};
use synclake_testkit::consumer::{Running, consumer_config as config, rt};
use synclake_testkit::kinesis::*;
use synclake_testkit::services::{kinesis_client, new_bucket, s3_endpoint, s3_store};

fn s3_options() -> S3Options {
    S3Options {
        endpoint: Some(s3_endpoint()),
        region: Some("us-east-1".into()),
        path_style: true,
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
            .wait_within(Duration::from_secs(30), "400 records read", |t| t.records >= 400)
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
            .wait_within(
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
/// reach the table exactly once, beside the old ones and without replacing any old file.
/// (kinesis-local repeats sequence numbers when a stream is re-created within the second of
/// its first creation: without the incarnation in the new files' names, those files replaced
/// old ones.)
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
            .wait_within(Duration::from_secs(60), "first incarnation", |t| {
                t.committed_records >= 100
            })
            .await;
        running.stop().await;
        TableRecords::read(&out).assert_exactly_once(&old);
        let old_files = table_files(&out);

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
            .wait_within(Duration::from_secs(60), "second incarnation", |t| {
                t.committed_records >= 100
            })
            .await;
        let summary = running.stop().await;
        assert_eq!(summary.totals.records, 100, "only the new stream's records were read");

        // Every file of the first incarnation is still there, unchanged.
        let all_files = table_files(&out);
        for (key, bytes) in &old_files {
            assert!(all_files.get(key) == Some(bytes), "{key} replaced or removed");
        }
        // The new files, on their own, hold the new records exactly once.
        let new_only = dir.path().join("new-only");
        let mut new_files = 0;
        for (key, bytes) in all_files.iter().filter(|(k, _)| !old_files.contains_key(*k)) {
            assert!(key.contains("-i"), "{key} carries the incarnation");
            let path = new_only.join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
            new_files += 1;
        }
        assert!(new_files > 0);
        TableRecords::read(&new_only).assert_exactly_once(&new);
    });
}

/// The table's data and dead-letter files by key (not its `_synclake` markers).
fn table_files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                if name != "_synclake" {
                    walk(&entry.path(), &key, out);
                }
            } else if name.ends_with(".parquet") {
                out.insert(key, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, "", &mut out);
    out
}

/// Item 4, local table: a second state on the same table and stream is refused, an empty state
/// over a table that holds consumer files is refused, and a take-over stops the running writer.
#[test]
fn a_second_writer_of_a_local_table_is_refused_and_a_take_over_stops_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    fence_refusals(&dir, out.to_str().unwrap(), None, &|| {
        std::fs::remove_dir_all(out.join("_synclake")).unwrap();
    });
}

/// Item 4 on S3 (moto): the same refusals, the marker under the table's prefix.
#[test]
fn a_second_writer_of_an_s3_table_is_refused_and_a_take_over_stops_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = new_bucket("fence");
    let out = format!("s3://{bucket}/table");
    fence_refusals(&dir, &out, Some(s3_options()), &|| {
        let store = s3_store(&bucket);
        rt().block_on(async {
            use futures::TryStreamExt as _;
            use object_store::ObjectStore as _;
            let markers: Vec<_> = store
                .list(Some(&object_store::path::Path::from("table/_synclake")))
                .try_collect()
                .await
                .unwrap();
            assert_eq!(markers.len(), 1, "{markers:?}");
            for m in markers {
                object_store::ObjectStoreExt::delete(store.as_ref(), &m.location)
                    .await
                    .unwrap();
            }
        });
    });
}

fn fence_refusals(dir: &tempfile::TempDir, out: &str, s3: Option<S3Options>, forget_marker: &dyn Fn()) {
    let payloads = payloads(60, 41, &dir.path().join("bodies"));
    let stream = unique_stream("fence");
    let state = |name: &str| dir.path().join(name);
    let cfg = |state: &Path| {
        let mut c = config(&stream, out, state);
        if let Some(s3) = &s3 {
            c.s3 = s3.clone();
        }
        c
    };
    let client = kinesis_client();
    let runtime = rt();
    let puts = runtime.block_on(async {
        create_stream(&client, &stream, 1).await;
        let puts = put_all(&client, &stream, &payloads, 0).await;
        let mut a = Running::start(open(cfg(&state("a"))).await);
        a.wait_within(Duration::from_secs(60), "first writer", |t| t.committed_records >= 60)
            .await;
        a.stop().await;

        // Another state on the same table and stream.
        let err = Consumer::open_with_client(cfg(&state("b")), client.clone())
            .await
            .err()
            .expect("a second state is refused");
        let text = err.to_string();
        assert!(
            matches!(&err, ConsumeError::Fence(f) if matches!(**f, FenceError::OwnedByAnother { .. })),
            "{err:?}"
        );
        assert!(text.contains("--take-over-output"), "{text}");
        assert!(
            text.contains("/a/") && text.contains("/b/"),
            "names both states: {text}"
        );
        puts
    });
    // A table written before the fence existed: files, no marker.
    forget_marker();
    runtime.block_on(async {
        let err = Consumer::open_with_client(cfg(&state("c")), client.clone())
            .await
            .err()
            .expect("an empty state over consumer files is refused");
        assert!(
            matches!(&err, ConsumeError::Fence(f) if matches!(**f, FenceError::ExistingOutput { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("--take-over-output"), "{err}");

        // The state that wrote the files claims the table again, and runs.
        let mut a = Running::start(open(cfg(&state("a"))).await);
        a.wait_within(Duration::from_secs(10), "running", |t| t.shards >= 1)
            .await;
        // Taken over (its operator's decision) while it runs: it stops within a discovery.
        let mut take = cfg(&state("b"));
        take.take_over_output = true;
        let b = open(take).await;
        let err = a.ended(Duration::from_secs(10)).await.expect_err("stops with an error");
        assert!(
            matches!(&err, ConsumeError::Fence(f) if matches!(**f, FenceError::Displaced { .. })),
            "{err:?}"
        );
        drop(b);
        // Nothing was written twice on the way.
        if s3.is_none() {
            TableRecords::read(Path::new(out)).assert_exactly_once(&puts);
        }
    });
}

/// Item 4: the marker's create-only PUT against the local S3 server (moto): a second create
/// must not replace the first (`If-None-Match: *`).
#[test]
fn the_writer_marker_is_created_only_once_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = new_bucket("marker");
    let store = Store::open(&format!("s3://{bucket}/t"), &s3_options(), &dir.path().join("spool")).unwrap();
    rt().block_on(async {
        assert!(
            store
                .create_control("_synclake/x.json", b"first".to_vec())
                .await
                .unwrap()
        );
        assert!(
            !store
                .create_control("_synclake/x.json", b"second".to_vec())
                .await
                .unwrap()
        );
        assert_eq!(
            store.read_control("_synclake/x.json").await.unwrap().as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(store.read_control("_synclake/none.json").await.unwrap(), None);
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
            .wait_within(Duration::from_secs(30), "shard 0's records read", |t| t.records >= 100)
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
            .wait_within(Duration::from_secs(15), "the holder of the bound flushed", |t| {
                t.committed_records >= 100
            })
            .await;
        puts.extend(put_to_hash_key(&client, &stream, &more, &starts[1]).await);
        running
            .wait_within(Duration::from_secs(15), "the blocked shard reads again", |t| {
                t.records >= 121
            })
            .await;
        running.stop().await;
        TableRecords::read(&out).assert_exactly_once(&puts);
    });
}

/// Item 5b: a killed consumer's spool files (in the local table's partition directories, and
/// an S3 spool file of a process that is gone) are removed at start; another writer's files
/// (replay's naming) and live processes' spool files are not.
#[test]
fn temporary_files_a_killed_consumer_left_are_swept_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (out, state) = (dir.path().join("lake"), dir.path().join("state"));
    let partition = out.join("dt=2026-12-07");
    std::fs::create_dir_all(&partition).unwrap();
    let ours = partition.join(
        ".part-shardId-000000000000-49590338271490256608559692538361571095921575989136588898-0.parquet.inprogress",
    );
    let replays = partition.join(".part-0123456789abcdef-000000000000-7.parquet.inprogress");
    let spool = state.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let dead_pid = (4_000_000..4_194_304)
        .find(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        .unwrap();
    let dead_spool = spool.join(format!(".spool-{dead_pid}-3.inprogress"));
    // Left by an earlier run that had this process's id (in a container, every run may be
    // process 1): the state is locked, so it is no live writer's.
    let same_pid_spool = spool.join(format!(".spool-{}-3.inprogress", std::process::id()));
    for f in [&ours, &replays, &dead_spool, &same_pid_spool] {
        std::fs::write(f, b"partial").unwrap();
    }
    let stream = unique_stream("sweep");
    rt().block_on(async {
        create_stream(&kinesis_client(), &stream, 1).await;
        let consumer = open(config(&stream, out.to_str().unwrap(), &state)).await;
        drop(consumer);
    });
    assert!(!ours.exists(), "the consumer's spool file is swept");
    assert!(!dead_spool.exists(), "the dead process's S3 spool file is swept");
    assert!(
        !same_pid_spool.exists(),
        "an earlier run's spool file is swept whatever its pid"
    );
    assert!(replays.exists(), "another writer's file is left alone");
}
