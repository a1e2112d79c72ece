//! A `synclake consume` consumer run in-process against the local Kinesis: the configuration
//! the end-to-end tests share (quick polls, flushes and discovery) and a handle on a consumer
//! running in the background.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use synclake_kinesis::metrics::{Metrics, Totals};
use synclake_kinesis::{ConsumeError, Consumer, ConsumerConfig, KinesisOptions, RunSummary};
use tokio::sync::watch;

use crate::replay::offline_fetch;
use crate::services::kinesis_endpoint;

/// The runtime the consumer tests run on: two worker threads, as on the CI machine.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A consumer of `stream` on the local Kinesis into `out`, with its state in `state`: polls,
/// discovery and age flushes in fractions of a second, short backoffs, fetches only from
/// loopback servers and local files.
pub fn consumer_config(stream: &str, out: &str, state: &Path) -> ConsumerConfig {
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

/// A consumer running in the background, stopped the way a signal stops it.
pub struct Running {
    /// Its counters.
    pub metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    run: tokio::task::JoinHandle<Result<RunSummary, ConsumeError>>,
}

impl Running {
    /// Starts `consumer` on the current runtime.
    pub fn start(consumer: Consumer) -> Running {
        let metrics = consumer.metrics();
        let (stop, rx) = watch::channel(false);
        Running {
            metrics,
            stop,
            run: tokio::spawn(consumer.run(rx)),
        }
    }

    /// Waits until `done` holds for the counters; 90 s, or the consumer ending, fail the test.
    pub async fn wait(&mut self, done: impl Fn(&Totals) -> bool) {
        self.wait_within(Duration::from_secs(90), "done", done).await;
    }

    /// Waits until `done` holds for the counters; `limit`, or the consumer ending, fail the
    /// test, naming `what` was awaited.
    pub async fn wait_within(&mut self, limit: Duration, what: &str, done: impl Fn(&Totals) -> bool) {
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

    /// Waits until `n` records are committed.
    pub async fn committed(&mut self, n: u64) {
        self.wait(|t| t.committed_records >= n).await;
    }

    /// Waits until every one of `shards` shards has been read at least once.
    pub async fn reading(&mut self, shards: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let polled = self
                .metrics
                .snapshot()
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

    /// Waits (at most `limit`) for it to end by itself, and returns how it ended.
    pub async fn ended(self, limit: Duration) -> Result<RunSummary, ConsumeError> {
        tokio::time::timeout(limit, self.run)
            .await
            .expect("the consumer ends by itself within the limit")
            .unwrap()
    }

    /// Stops it (flush, commit) and returns what it reported.
    pub async fn stop(self) -> RunSummary {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.run)
            .await
            .expect("shutdown within 30 s")
            .unwrap()
            .unwrap()
    }
}

/// Runs `consumer` until `done` holds for its counters, then stops it.
pub async fn run_until(consumer: Consumer, done: impl Fn(&Totals) -> bool) -> RunSummary {
    let mut running = Running::start(consumer);
    running.wait(done).await;
    running.stop().await
}

/// Sends SIGTERM to a `synclake consume` process and waits (up to `within`) for it to exit;
/// its exit status. A daemon that outlives `within` fails the test.
pub fn sigterm_and_wait(daemon: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success(), "kill -TERM {}", daemon.id());
    let since = Instant::now();
    loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            return status;
        }
        assert!(since.elapsed() < within, "no exit within {within:?} of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `synclake consume` (the test package's binary `bin`) on `stream` of the local Kinesis
/// into `out` with its state in `state`, plus `args`, with the test credentials and its stderr
/// (INFO logs) appended to `log`.
pub fn spawn_daemon(
    bin: &str,
    stream: &str,
    out: &Path,
    state: &Path,
    args: &[&str],
    log: &Path,
) -> std::process::Child {
    let log = std::fs::File::options().create(true).append(true).open(log).unwrap();
    std::process::Command::new(bin)
        .args(["consume", "--stream", stream, "--endpoint-url", &kinesis_endpoint()])
        .arg("--out")
        .arg(out)
        .arg("--state")
        .arg(state)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}
