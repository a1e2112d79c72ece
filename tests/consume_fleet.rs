//! Several `synclake consume` processes sharing a 6-shard stream through a DynamoDB lease table
//! (moto) and kinesis-local: fair shares, take-over of a killed worker, rebalancing onto a new
//! one by hand-off, a paused worker fenced out, resharding while running, graceful hand-off on
//! SIGTERM — and every record put in the table exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use synclake_kinesis::lease::item::Lease;
use synclake_testkit::consumer::{rt, sigterm_and_wait, spawn_daemon};
use synclake_testkit::kinesis::*;
use synclake_testkit::services::{dynamodb_endpoint, kinesis_client};

/// The lease duration the workers run with: short, so the test is; the defaults scale it.
const LEASE_SECS: f64 = 3.0;

struct Fleet {
    dir: PathBuf,
    out: PathBuf,
    stream: String,
    table: String,
    bodies: String,
    workers: BTreeMap<String, Child>,
}

impl Fleet {
    fn start(&mut self, id: &str) {
        let (lease, endpoint) = (LEASE_SECS.to_string(), dynamodb_endpoint());
        let args = [
            "--lease-table",
            &self.table,
            "--dynamodb-endpoint-url",
            &endpoint,
            "--worker-id",
            id,
            "--lease-duration-secs",
            &lease,
            "--flush-age-secs",
            "0.5",
            "--poll-idle-ms",
            "100",
            "--discover-secs",
            "1",
            "--fetch-allow-host",
            &self.bodies,
        ];
        let state = self.dir.join(format!("state-{id}"));
        let child = spawn_daemon(
            env!("CARGO_BIN_EXE_synclake"),
            &self.stream,
            &self.out,
            &state,
            &args,
            &self.log(id),
        );
        self.workers.insert(id.to_owned(), child);
    }

    fn log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    fn signal(&self, id: &str, signal: &str) {
        let pid = self.workers[id].id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    fn alive(&mut self) {
        for (id, child) in &mut self.workers {
            let exited = child.try_wait().unwrap();
            assert!(
                exited.is_none(),
                "worker {id} exited: {exited:?}; log:\n{}",
                tail(&self.dir.join(format!("{id}.log")))
            );
        }
    }

    /// SIGTERM, then exit 0 within 30 s.
    fn terminate(&mut self, id: &str) {
        let mut child = self.workers.remove(id).unwrap();
        let status = sigterm_and_wait(&mut child, Duration::from_secs(30));
        assert!(
            status.success(),
            "{id} after SIGTERM: {status}; log:\n{}",
            tail(&self.log(id))
        );
    }

    /// Waits (up to 30 s) until `id` logged `text` `n` times.
    fn await_log(&self, id: &str, text: &str, n: usize) {
        let since = Instant::now();
        while self.logged(id, text) < n {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "{id} did not log `{text}` {n} times:\n{}",
                tail(&self.log(id))
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn logged(&self, id: &str, text: &str) -> usize {
        std::fs::read_to_string(self.log(id))
            .unwrap_or_default()
            .matches(text)
            .count()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in self.workers.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `--worker-id` a lease's owner was started with (the id adds `#<random>`).
fn who(lease: &Lease) -> Option<&str> {
    lease.owner.as_deref().map(|o| o.split('#').next().unwrap_or(o))
}

/// Open (unfinished) leases per worker; free ones under "".
fn shares(leases: &[Lease]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for lease in leases.iter().filter(|l| !l.state.finished) {
        *out.entry(who(lease).unwrap_or_default().to_owned()).or_default() += 1;
    }
    out
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn a_fleet_shares_the_stream_and_keeps_every_record_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let (payloads, bodies) = payloads_over_http(2700, 20, &dir.path().join("bodies"));
    let mut chunks = payloads.chunks(300).enumerate();
    let kinesis = kinesis_client();
    let stream = unique_stream("fleet");
    rt.block_on(create_stream(&kinesis, &stream, 6));
    let leases = synclake_testkit::lease::table(&format!("leases-{stream}"));
    let scan = || rt.block_on(leases.scan()).unwrap();
    let mut fleet = Fleet {
        dir: dir.path().to_owned(),
        out: dir.path().join("lake"),
        stream: stream.clone(),
        table: leases.name().to_owned(),
        bodies,
        workers: BTreeMap::new(),
    };
    let mut puts = Vec::new();
    let mut put_next = |puts: &mut Vec<Put>| {
        let (i, chunk) = chunks.next().unwrap();
        puts.extend(rt.block_on(put_all(&kinesis, &stream, chunk, i * 300)));
    };
    let wait = |fleet: &mut Fleet, limit: Duration, what: &str, done: &dyn Fn(&[Lease]) -> bool| {
        let since = Instant::now();
        loop {
            // The first worker creates the table.
            let now = rt.block_on(leases.scan()).unwrap_or_default();
            if done(&now) {
                return since.elapsed();
            }
            fleet.alive();
            assert!(
                since.elapsed() < limit,
                "{what}: not within {limit:?}; leases {:?}",
                shares(&now)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let lease = Duration::from_secs_f64(LEASE_SECS);

    // Three workers on six shards: two each.
    put_next(&mut puts);
    for id in ["a", "b", "c"] {
        fleet.start(id);
    }
    let fair = |want: &[&str]| {
        let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        move |l: &[Lease]| {
            let s = shares(l);
            s.keys().cloned().collect::<Vec<_>>() == want && s.values().all(|n| *n == 2)
        }
    };
    let took = wait(
        &mut fleet,
        Duration::from_secs(60),
        "2 shards each",
        &fair(&["a", "b", "c"]),
    );
    eprintln!("3 workers reached 2 shards each in {took:?}");
    put_next(&mut puts);

    // SIGKILL b: its shards are taken over once its leases expire.
    let b_shards: Vec<String> = scan()
        .into_iter()
        .filter(|l| who(l) == Some("b"))
        .map(|l| l.shard)
        .collect();
    assert_eq!(b_shards.len(), 2);
    let mut b = fleet.workers.remove("b").unwrap();
    b.kill().unwrap();
    b.wait().unwrap();
    let failover = wait(&mut fleet, lease * 3, "b's shards taken over", &|l| {
        l.iter()
            .filter(|l| b_shards.contains(&l.shard))
            .all(|l| matches!(who(l), Some("a" | "c")))
    });
    eprintln!("fail-over (SIGKILL → shards owned again): {failover:?} with a {lease:?} lease");
    assert!(
        // The last heartbeat may come a quarter lease before the kill; others count a whole
        // lease from seeing it.
        failover >= lease.mul_f64(0.7),
        "taken over before the lease could expire: {failover:?}"
    );
    assert_eq!(
        fleet.logged("a", "took over an expired lease") + fleet.logged("c", "took over an expired lease"),
        2
    );
    put_next(&mut puts);

    // A fourth worker: 3/3 becomes 2/2/2 by hand-off, no lease left to expire.
    fleet.start("d");
    let rebalance = wait(
        &mut fleet,
        Duration::from_secs(60),
        "rebalanced onto d",
        &fair(&["a", "c", "d"]),
    );
    eprintln!("rebalance (start d → 2/2/2): {rebalance:?}");
    // The table names d as soon as a lease is handed to it; d adopts it at its next scan.
    fleet.await_log("d", "took the lease handed over", 2);
    assert_eq!(fleet.logged("d", "took over an expired lease"), 0);
    put_next(&mut puts);

    // c paused past its lease, with records read and not flushed: its shards move on; resumed,
    // its late flush is refused and nothing it read is in the table twice.
    put_next(&mut puts);
    std::thread::sleep(Duration::from_millis(300));
    fleet.signal("c", "-STOP");
    put_next(&mut puts);
    wait(&mut fleet, lease * 4, "c's shards taken over", &|l| {
        l.iter().all(|l| l.state.finished || who(l) != Some("c"))
    });
    fleet.signal("c", "-CONT");
    put_next(&mut puts);
    fleet.await_log("c", "lost the lease", 2);

    // Resharding while running: split one shard, merge two others.
    rt.block_on(split(&kinesis, &stream, "shardId-000000000000"));
    put_next(&mut puts);
    rt.block_on(merge(&kinesis, &stream, "shardId-000000000002", "shardId-000000000003"));
    put_next(&mut puts);

    // Every record in the table, then graceful hand-off: a's leases are taken at once.
    let since = Instant::now();
    loop {
        let table = TableRecords::read(&fleet.out);
        if table.records().len() >= puts.len() {
            break;
        }
        fleet.alive();
        assert!(
            since.elapsed() < Duration::from_secs(120),
            "{} of {} records in the table",
            table.records().len(),
            puts.len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let a_shards: Vec<String> = scan()
        .into_iter()
        .filter(|l| who(l) == Some("a") && !l.state.finished)
        .map(|l| l.shard)
        .collect();
    assert!(!a_shards.is_empty(), "a holds shards: {:?}", shares(&scan()));
    let takeovers = |fleet: &Fleet| {
        fleet.logged("c", "took over an expired lease") + fleet.logged("d", "took over an expired lease")
    };
    let takeovers_before = takeovers(&fleet);
    let term = Instant::now();
    fleet.terminate("a");
    wait(&mut fleet, lease, "a's shards taken after SIGTERM", &|l| {
        l.iter()
            .filter(|l| a_shards.contains(&l.shard))
            .all(|l| matches!(who(l), Some("c" | "d")))
    });
    eprintln!("graceful hand-off (SIGTERM → shards owned again): {:?}", term.elapsed());
    assert_eq!(takeovers(&fleet), takeovers_before, "released, not left to expire");
    for id in ["c", "d"] {
        fleet.terminate(id);
    }
    assert!(
        scan().iter().all(|l| l.owner.is_none()),
        "every lease released: {:?}",
        shares(&scan())
    );
    TableRecords::read(&fleet.out).assert_exactly_once(&puts);
    rt.block_on(delete_stream(&kinesis, &stream));
}

/// The consumer files (data and dead letters) under `root` whose first record is at or after
/// sequence number `from`, as keys relative to `root`.
fn files_from(root: &Path, shard: &str, from: &str) -> Vec<String> {
    let prefix = format!("part-{shard}-");
    let mut keys = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_str().unwrap();
            let Some(seq) = name.strip_prefix(&prefix).and_then(|rest| rest.split('-').next()) else {
                continue;
            };
            if name.ends_with(".parquet") && (seq.len(), seq) >= (from.len(), from) {
                keys.push(path.strip_prefix(root).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    keys.sort();
    keys
}

#[test]
fn a_worker_killed_between_commit_and_checkpoint_is_undone_by_the_next_holder() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    // Any S3Url body is a file:// URL here, never fetched: a dead letter, in the table once too.
    let payloads = payloads(400, 21, &dir.path().join("bodies"));
    let kinesis = kinesis_client();
    let stream = unique_stream("fleet-kill");
    rt.block_on(create_stream(&kinesis, &stream, 1));
    let mut fleet = Fleet {
        dir: dir.path().to_owned(),
        out: dir.path().join("lake"),
        stream: stream.clone(),
        table: format!("leases-{stream}"),
        bodies: "127.0.0.1:9".into(),
        workers: BTreeMap::new(),
    };
    let shard = "shardId-000000000000";
    let table = fleet.table.clone();
    let checkpointed = |at: &str, by: &str| {
        let since = Instant::now();
        loop {
            let leases = rt.block_on(synclake_testkit::lease::leases(&table));
            if leases
                .iter()
                .any(|l| l.state.checkpoint.as_deref() == Some(at) && who(l) == Some(by))
            {
                return;
            }
            assert!(
                since.elapsed() < Duration::from_secs(60),
                "{by} did not checkpoint {at}: {leases:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let last = |puts: &[Put]| {
        puts.iter()
            .map(|p| p.1.clone())
            .max_by_key(|s| (s.len(), s.clone()))
            .unwrap()
    };

    // Two flushes by a: records 1–200, then 201–400; then a stops cleanly.
    let first = rt.block_on(put_all(&kinesis, &stream, &payloads[..200], 0));
    fleet.start("a");
    checkpointed(&last(&first), "a");
    let second = rt.block_on(put_all(&kinesis, &stream, &payloads[200..], 200));
    checkpointed(&last(&second), "a");
    fleet.terminate("a");

    // The lease as a worker killed after committing the second flush and before checkpointing
    // it leaves it: the checkpoint at 200, the second flush's files pending, still its owner.
    let from = second
        .iter()
        .map(|p| p.1.clone())
        .min_by_key(|s| (s.len(), s.clone()))
        .unwrap();
    let keys = files_from(&fleet.out, shard, &from);
    assert!(!keys.is_empty(), "the second flush's files");
    let planted = synclake_kinesis::checkpoint::ShardState {
        checkpoint: Some(last(&first)),
        pending: Some(synclake_kinesis::checkpoint::PendingFlush {
            first: from,
            last: last(&second),
            keys: keys.clone(),
        }),
        ..Default::default()
    };
    rt.block_on(synclake_testkit::lease::plant(&fleet.table, shard, "ghost#0", &planted));

    // b takes the lease over once it expires, undoes the flush and reads it again.
    fleet.start("b");
    checkpointed(&last(&second), "b");
    fleet.await_log("b", "took over an expired lease", 1);
    fleet.await_log("b", "removed the files of an interrupted flush", 1);
    for key in &keys {
        assert!(!fleet.out.join(key).exists(), "{key} was not removed");
    }
    fleet.terminate("b");
    let puts: Vec<Put> = first.into_iter().chain(second).collect();
    TableRecords::read(&fleet.out).assert_exactly_once(&puts);
    rt.block_on(delete_stream(&kinesis, &stream));
}
