//! The crash test of `synclake consume`: the daemon is killed with SIGKILL at random moments
//! while records are being put, restarted each time, and at the end the table holds every put
//! record exactly once.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use synclake_testkit::consumer::{sigterm_and_wait, spawn_daemon};
use synclake_testkit::kinesis::*;
use synclake_testkit::services::kinesis_client;

/// Kills with SIGKILL; at least 10, as the issue asks.
const KILLS: usize = 16;

fn start_daemon(stream: &str, out: &Path, state: &Path, log: &Path, bodies: &str) -> Child {
    let args = [
        "--flush-age-secs",
        "0.05",
        "--poll-idle-ms",
        "50",
        "--discover-secs",
        "0.5",
        "--fetch-allow-host",
        bodies,
        "--fetch-attempts",
        "1",
    ];
    spawn_daemon(env!("CARGO_BIN_EXE_synclake"), stream, out, state, &args, log)
}

#[test]
fn sigkill_at_random_moments_leaves_every_record_in_the_table_once() {
    let dir = tempfile::tempdir().unwrap();
    let (out, state, log) = (
        dir.path().join("lake"),
        dir.path().join("state"),
        dir.path().join("daemon.log"),
    );
    let seed: u64 = std::env::var("SYNCLAKE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("crash test seed {seed} (set SYNCLAKE_CRASH_SEED to repeat the kill timings)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (payloads, bodies) = payloads_over_http(3000, seed, &dir.path().join("bodies"));
    let stream = unique_stream("crash");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = kinesis_client();
    runtime.block_on(create_stream(&client, &stream, 2));

    // Puts in 40 chunks over about 10 s, while the daemon is killed and restarted.
    let putter = {
        let (client, stream, payloads) = (client.clone(), stream.clone(), payloads.clone());
        let handle = runtime.handle().clone();
        std::thread::spawn(move || {
            handle.block_on(async {
                let mut puts = Vec::new();
                for (i, chunk) in payloads.chunks(75).enumerate() {
                    puts.extend(put_all(&client, &stream, chunk, i * 75).await);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                puts
            })
        })
    };
    for kill in 0..KILLS {
        let mut daemon = start_daemon(&stream, &out, &state, &log, &bodies);
        let alive = Duration::from_millis(rng.random_range(200..1200));
        std::thread::sleep(alive);
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "daemon {kill} died by itself; log: {}",
            dump(&log)
        );
        daemon.kill().unwrap(); // SIGKILL
        daemon.wait().unwrap();
        eprintln!("kill {}: after {alive:?}", kill + 1);
    }
    let puts = putter.join().unwrap();
    assert_eq!(puts.len(), payloads.len());

    // A last run catches up; then SIGTERM: flush, commit, exit 0.
    let mut daemon = start_daemon(&stream, &out, &state, &log, &bodies);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let table = TableRecords::read(&out);
        if table.records().len() >= puts.len() {
            break;
        }
        assert!(daemon.try_wait().unwrap().is_none(), "daemon died; log: {}", dump(&log));
        assert!(
            Instant::now() < deadline,
            "{} of {} records in the table after 90 s; log: {}",
            table.records().len(),
            puts.len(),
            dump(&log)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = sigterm_and_wait(&mut daemon, Duration::from_secs(30));
    assert!(status.success(), "exit after SIGTERM: {status}; log: {}", dump(&log));
    TableRecords::read(&out).assert_exactly_once(&puts);
    let recovered = std::fs::read_to_string(&log)
        .unwrap()
        .matches("removed the files of an interrupted flush")
        .count();
    eprintln!(
        "{} records exactly once after {KILLS} kills; {recovered} interrupted flushes undone",
        puts.len()
    );
}

/// The last lines of the daemon log, for failure messages.
fn dump(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
