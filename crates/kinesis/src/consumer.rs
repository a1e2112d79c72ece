//! The run loop: discover shards, run a worker per readable shard, follow lineage, report,
//! and shut down cleanly.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_kinesis::Client;
use synclake_lake::{BatchOptions, FetchOptions, Fetcher, S3Options, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::backoff::BackoffOptions;
use crate::checkpoint::{
    CheckpointError, CheckpointStore, FileStore, Incarnation, ShardState, StartPoint, lock_file, safe_name,
};
use crate::client::{KinesisOptions, Stream, connect, describe_stream};
use crate::error::ConsumeError;
use crate::fence::{self, Owner, host_name};
use crate::flush::{FlushPolicy, MemoryGauge};
use crate::lease::{Fleet, LeaseEvent, LeaseOptions};
use crate::metrics::{Metrics, Totals};
use crate::reader::efo::{FanOutOptions, ensure_consumer};
use crate::reader::poll::PollOptions;
use crate::reader::{ReadMode, ShardTarget, StartAt};
use crate::shards::{ShardInfo, expired_parents, is_known_child, list_shards, readable};
use crate::worker::{Committed, ShardExit, Shared, run_shard};

/// Where shards without a checkpoint begin.
#[derive(Debug, Clone, PartialEq)]
pub enum StartPosition {
    /// The oldest record within retention (the default).
    TrimHorizon,
    /// Records put from the first start on.
    Latest,
    /// Records that arrived at or after this time (epoch milliseconds).
    AtTimestamp(i64),
}

/// Everything `synclake consume` is told.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Stream name or ARN.
    pub stream: String,
    /// The output table: a directory or `s3://bucket/prefix`.
    pub output: String,
    /// Checkpoints and spool files.
    pub state_dir: PathBuf,
    /// How to reach Kinesis.
    pub kinesis: KinesisOptions,
    /// How to reach S3 for the output.
    pub s3: S3Options,
    /// Start of shards without a checkpoint.
    pub start: StartPosition,
    /// Enhanced fan-out through the consumer of this name (registered if absent).
    pub fan_out: Option<String>,
    /// Polling limits.
    pub poll: PollOptions,
    /// When to flush.
    pub flush: FlushPolicy,
    /// How flushes are written.
    pub batch: BatchOptions,
    /// S3Url fetches.
    pub fetch: FetchOptions,
    /// Waits after throttling and failures.
    pub backoff: BackoffOptions,
    /// How often shards are listed again (new shards after resharding).
    pub discover_every: Duration,
    /// How often progress is logged.
    pub report_every: Duration,
    /// Longest a shutdown may take (flush and commit) before the consumer gives up.
    pub shutdown_timeout: Duration,
    /// Serve Prometheus metrics here.
    pub metrics_addr: Option<SocketAddr>,
    /// If the stream was deleted and re-created since the state was written, set the old
    /// shard states aside and start afresh (else that is refused).
    pub start_over_recreated_stream: bool,
    /// Become the table's writer of the stream even if another state is, or if this state is
    /// empty while the table holds consumer files.
    pub take_over_output: bool,
    /// Share the stream with other workers through this DynamoDB lease table (else the
    /// checkpoints are files under `state_dir`, for one consumer).
    pub lease: Option<LeaseOptions>,
}

impl ConsumerConfig {
    /// Default of [`ConsumerConfig::discover_every`].
    pub const DEFAULT_DISCOVER_EVERY: Duration = Duration::from_secs(30);
    /// Default of [`ConsumerConfig::report_every`].
    pub const DEFAULT_REPORT_EVERY: Duration = Duration::from_secs(30);
    /// Default of [`ConsumerConfig::shutdown_timeout`].
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

    /// Defaults for `stream` into `output`, with state in `state_dir`.
    pub fn new(stream: impl Into<String>, output: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        ConsumerConfig {
            stream: stream.into(),
            output: output.into(),
            state_dir: state_dir.into(),
            kinesis: KinesisOptions::default(),
            s3: S3Options::default(),
            start: StartPosition::TrimHorizon,
            fan_out: None,
            poll: PollOptions::default(),
            flush: FlushPolicy::default(),
            batch: BatchOptions::default(),
            fetch: FetchOptions::default(),
            backoff: BackoffOptions::default(),
            discover_every: Self::DEFAULT_DISCOVER_EVERY,
            report_every: Self::DEFAULT_REPORT_EVERY,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            metrics_addr: None,
            start_over_recreated_stream: false,
            take_over_output: false,
            lease: None,
        }
    }
}

/// What a run did, when it stops.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Counter totals.
    pub totals: Totals,
    /// Shards finished (closed and wholly in the table) during or before the run.
    pub finished_shards: usize,
}

/// A consumer ready to run: the stream found, the table and the checkpoints open.
pub struct Consumer {
    config: ConsumerConfig,
    client: Client,
    stream: Stream,
    shared: Arc<Shared>,
    mode: ReadMode,
    owner: Owner,
    fleet: Option<Fleet>,
    /// The state directory's lock, held for the consumer's life (fleet workers; the file
    /// store holds its own).
    _lock: Option<std::fs::File>,
}

/// How old a temporary file in a table shared by a fleet must be before a starting worker
/// removes it: another worker may be writing it now.
const FLEET_SWEEP_AGE: Duration = Duration::from_secs(15 * 60);

/// Joined shard workers: the shard and how its worker ended.
type WorkerSet = JoinSet<(String, Result<ShardExit, CheckpointError>)>;

impl Consumer {
    /// Connects and checks everything a run needs, so that a bad setting fails here with a
    /// clear error: the stream exists, the credentials work, the state directory is free and
    /// belongs to this output.
    pub async fn open(config: ConsumerConfig) -> Result<Consumer, ConsumeError> {
        let client = connect(&config.kinesis).await;
        Consumer::open_with_client(config, client).await
    }

    /// [`Consumer::open`] with a client built by the caller.
    pub async fn open_with_client(config: ConsumerConfig, client: Client) -> Result<Consumer, ConsumeError> {
        let endpoint = config.kinesis.endpoint_name();
        if client.config().region().is_none() {
            return Err(ConsumeError::Config {
                name: "--region",
                reason: "no AWS region: give --region, or set AWS_REGION, or a region in the AWS profile".into(),
            });
        }
        let stream = describe_stream(&client, &config.stream, &endpoint).await?;
        let store = Store::open(&config.output, &config.s3, &config.state_dir.join("spool"))?;
        let output = match &store {
            Store::Local { root } => std::fs::canonicalize(root)
                .unwrap_or_else(|_| root.clone())
                .display()
                .to_string(),
            Store::Object { .. } => config.output.trim_end_matches('/').to_owned(),
        };
        let metrics = Arc::new(Metrics::default());
        let (checkpoints, owner, file_incarnation, fleet, lock) = match &config.lease {
            None => {
                let incarnation = Incarnation {
                    arn: &stream.arn,
                    created_ms: stream.created_ms,
                };
                let file_store = FileStore::open(
                    &config.state_dir,
                    incarnation,
                    &output,
                    config.start_over_recreated_stream,
                )?;
                let owner = Owner {
                    stream_arn: stream.arn.clone(),
                    state_id: file_store.state_id().to_owned(),
                    state_dir: std::fs::canonicalize(file_store.dir())
                        .unwrap_or_else(|_| file_store.dir().to_owned())
                        .display()
                        .to_string(),
                    host: host_name(),
                };
                let file_incarnation = file_store.file_incarnation();
                let store: Arc<dyn CheckpointStore> = Arc::new(file_store);
                (store, owner, file_incarnation, None, None)
            }
            Some(lease) => {
                if config.start_over_recreated_stream {
                    return Err(ConsumeError::Config {
                        name: "--start-over-recreated-stream",
                        reason: "not with --lease-table: a lease table belongs to one incarnation of the stream; give a new --lease-table for the new one".into(),
                    });
                }
                let dir = config.state_dir.join(safe_name(&stream.arn));
                std::fs::create_dir_all(&dir).map_err(|e| ConsumeError::Config {
                    name: "--state",
                    reason: format!("{}: {e}", dir.display()),
                })?;
                let lock = lock_file(&dir.join("lock"))?;
                let fleet = Fleet::open(
                    lease,
                    config.kinesis.region.as_deref(),
                    &stream,
                    &output,
                    metrics.leases.clone(),
                )
                .await?;
                let owner = Owner {
                    stream_arn: stream.arn.clone(),
                    state_id: fleet.state_id().to_owned(),
                    state_dir: format!("lease table {}", lease.table),
                    host: host_name(),
                };
                let store: Arc<dyn CheckpointStore> = fleet.store();
                (store, owner, None, Some(fleet), Some(lock))
            }
        };
        let state_empty = checkpoints.load_all().await?.is_empty();
        fence::claim(&store, &owner, state_empty, config.take_over_output).await?;
        // Only the writer of the table may remove what a killed writer left; in a fleet, only
        // what is too old to be another worker's file in progress.
        let now = std::time::SystemTime::now();
        let cutoff = match fleet {
            Some(_) => now.checked_sub(FLEET_SWEEP_AGE).unwrap_or(std::time::UNIX_EPOCH),
            None => now,
        };
        sweep(&store, &config.state_dir.join("spool"), cutoff)?;
        let fetcher = Fetcher::new(config.fetch.clone()).map_err(|e| ConsumeError::Config {
            name: "fetch",
            reason: e.to_string(),
        })?;
        let mode = match &config.fan_out {
            Some(name) => {
                let consumer_arn = ensure_consumer(&client, &stream.arn, name).await?;
                ReadMode::FanOut(FanOutOptions::new(consumer_arn))
            }
            None => ReadMode::Poll(config.poll.clone()),
        };
        let shared = Arc::new(Shared {
            store,
            fetcher,
            batch: config.batch.clone(),
            checkpoints,
            metrics,
            flush: config.flush.clone(),
            gauge: MemoryGauge::default(),
            backoff: config.backoff,
            commits: None,
            file_incarnation,
        });
        Ok(Consumer {
            config,
            client,
            stream,
            shared,
            mode,
            owner,
            fleet,
            _lock: lock,
        })
    }

    /// The stream being consumed.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The counters (also served on the metrics endpoint).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Reports every checkpointed flush on the returned channel (for tests and tooling).
    pub fn commits(&mut self) -> mpsc::UnboundedReceiver<Committed> {
        let (tx, rx) = mpsc::unbounded_channel();
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.commits = Some(tx),
            None => tracing::warn!("commits() called after the consumer started; not reporting"),
        }
        rx
    }

    /// Runs until `stop` turns true (then flushes, commits and returns) or a failure that
    /// stops the consumer.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<RunSummary, ConsumeError> {
        let metrics_task = match self.config.metrics_addr {
            Some(addr) => {
                let listener = crate::serve::bind(addr).await.map_err(|e| ConsumeError::Config {
                    name: "--metrics-addr",
                    reason: e.to_string(),
                })?;
                tracing::info!(%addr, "serving metrics on /metrics");
                Some(tokio::spawn(crate::serve::serve(listener, self.shared.metrics.clone())))
            }
            None => None,
        };
        let mut fleet = self.fleet.take();
        let result = self.run_loop(&mut stop, &mut fleet).await;
        if let Some(task) = metrics_task {
            task.abort();
        }
        result
    }

    async fn run_loop(
        &self,
        stop: &mut watch::Receiver<bool>,
        fleet: &mut Option<Fleet>,
    ) -> Result<RunSummary, ConsumeError> {
        let endpoint = self.config.kinesis.endpoint_name();
        let mut states = self.shared.checkpoints.load_all().await?;
        let mut shards = list_shards(&self.client, &self.stream.arn)
            .await
            .map_err(|e| ConsumeError::from_sdk(&e, "ListShards", &self.config.stream, &endpoint))?;
        tracing::info!(stream = %self.stream.arn, shards = shards.len(), output = %self.shared.store.describe(),
            mode = if self.config.fan_out.is_some() { "enhanced fan-out" } else { "polling" }, "consuming");
        let mut running: HashMap<String, watch::Sender<bool>> = HashMap::new();
        let mut workers: WorkerSet = JoinSet::new();
        let mut discover = tokio::time::interval(self.config.discover_every);
        discover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        discover.reset();
        let mut report = tokio::time::interval(self.config.report_every);
        report.reset();
        // A fleet worker scans the lease table every half lease duration, first at once.
        let mut balance = tokio::time::interval(
            self.config
                .lease
                .as_ref()
                .map_or(Duration::from_secs(3600), |l| l.duration / 2),
        );
        balance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Some(fleet) = fleet.as_mut() {
            fleet.start_heartbeat();
        }
        let mut last_report = (Instant::now(), self.shared.metrics.totals());
        let mut failure: Option<ConsumeError> = None;
        let mut relist = false;
        let mut warned_expired: HashSet<String> = HashSet::new();
        loop {
            warn_expired(&shards, &states, &mut warned_expired);
            self.spawn_ready(&shards, &states, fleet.as_ref(), &mut running, &mut workers);
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = stop.changed() => break,
                Some(joined) = workers.join_next() => {
                    let (shard, exit) = match joined {
                        Ok(done) => done,
                        Err(e) => {
                            failure = Some(ConsumeError::Kinesis { op: "worker", detail: e.to_string() });
                            break;
                        }
                    };
                    running.remove(&shard);
                    if let Some(fleet) = fleet.as_mut() {
                        let why = match &exit {
                            Err(e) if e.is_lease_lost() => e.to_string(),
                            _ => "taken over while its worker ran".to_owned(),
                        };
                        fleet.worker_stopped(&shard, &why);
                    }
                    match exit {
                        Ok(ShardExit::Finished) => {
                            states.entry(shard.clone()).or_default().finished = true;
                            if let Some(fleet) = fleet.as_mut()
                                && let Err(error) = fleet.release(&shard, None).await
                            {
                                // Finished leases count for nobody: this one just expires.
                                tracing::warn!(%shard, %error, "could not release the finished shard's lease");
                            }
                            relist = true;
                        }
                        Ok(ShardExit::Stopped) => {
                            if let Some(fleet) = fleet.as_mut() {
                                hand_over(fleet, &shard).await;
                            }
                        }
                        Ok(ShardExit::ReaderEnded) => match fleet.as_mut() {
                            // Asked for meanwhile: hand it over instead of reading on.
                            Some(fleet) if fleet.handing_over(&shard) => hand_over(fleet, &shard).await,
                            // The lease's own copy of the state is current (see `spawn_ready`).
                            Some(_) => {
                                tracing::warn!(%shard, "shard reader ended before the shard did; reading it again");
                                relist = true;
                            }
                            None => {
                                tracing::warn!(%shard, "shard reader ended before the shard did; reading it again");
                                // Its worker's state is saved: reload it before restarting.
                                match self.shared.checkpoints.load_all().await {
                                    Ok(loaded) => states = loaded,
                                    Err(e) => {
                                        failure = Some(e.into());
                                        break;
                                    }
                                }
                                relist = true;
                            }
                        },
                        // Counted and logged above: another worker reads it on.
                        Err(e) if e.is_lease_lost() && fleet.is_some() => {}
                        Err(e) => {
                            failure = Some(e.into());
                            break;
                        }
                    }
                }
                event = next_lease_event(fleet) => match event {
                    LeaseEvent::Lost { shard, epoch } => {
                        // A loss of an earlier holding of a shard taken again is old news.
                        if !fleet.as_ref().is_some_and(|f| f.is_current(&shard, epoch)) {
                            continue;
                        }
                        let worker = running.get(&shard);
                        if let Some(stop) = worker {
                            let _ = stop.send(true);
                        }
                        if let Some(fleet) = fleet.as_mut() {
                            fleet.lost(&shard, "refused at heartbeat: another worker took it", worker.is_none());
                        }
                    }
                    LeaseEvent::Asked { shard, by } => {
                        let Some(fleet) = fleet.as_mut() else { continue };
                        if fleet.asked(&shard, &by) {
                            match running.get(&shard) {
                                Some(stop) => {
                                    let _ = stop.send(true);
                                }
                                None => hand_over(fleet, &shard).await,
                            }
                        }
                    }
                },
                _ = balance.tick(), if fleet.is_some() => {
                    if let Some(fleet) = fleet.as_mut() {
                        match fleet.balance(&shards).await {
                            Ok(balanced) => states = balanced.states,
                            Err(error) => tracing::warn!(%error, "scanning the lease table failed; trying again"),
                        }
                    }
                }
                _ = discover.tick() => {
                    if let Err(e) = fence::still_owner(&self.shared.store, &self.owner).await {
                        failure = Some(e.into());
                        break;
                    }
                    relist = true;
                }
                _ = report.tick() => last_report = self.report(last_report),
            }
            if relist {
                relist = false;
                match list_shards(&self.client, &self.stream.arn).await {
                    Ok(listed) => shards = listed,
                    Err(e) if crate::error::classify(&e) == crate::error::ErrorClass::NotFound => {
                        failure = Some(ConsumeError::from_sdk(&e, "ListShards", &self.config.stream, &endpoint));
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %crate::error::brief(&e), "listing shards failed; trying again later")
                    }
                }
            }
        }
        tracing::info!(
            workers = running.len(),
            "stopping: flushing and committing what was read"
        );
        for stop in running.values() {
            let _ = stop.send(true);
        }
        let drained = tokio::time::timeout(self.config.shutdown_timeout, async {
            while let Some(joined) = workers.join_next().await {
                if let Ok((shard, _)) = &joined {
                    running.remove(shard);
                }
                match joined {
                    Ok((shard, Err(e))) if e.is_lease_lost() => {
                        if let Some(fleet) = fleet.as_mut() {
                            fleet.lost(&shard, &e.to_string(), true);
                        }
                    }
                    Ok((shard, Err(e))) => {
                        tracing::error!(%shard, error = %e, "a shard could not be committed at shutdown");
                        failure.get_or_insert(e.into());
                    }
                    _ => {}
                }
            }
        })
        .await;
        if drained.is_err() {
            workers.abort_all();
            // Wait for the aborted tasks to be gone; their shards' commits may still land.
            while workers.join_next().await.is_some() {}
            failure.get_or_insert(ConsumeError::Config {
                name: "--shutdown-timeout",
                reason: format!(
                    "shard workers did not finish within {:?}; what they had not committed is read again on restart",
                    self.config.shutdown_timeout
                ),
            });
        }
        if let Some(fleet) = fleet.as_mut() {
            // Committed and checkpointed (or named in the pending state): others may take over;
            // not the shards of workers cut off by the timeout.
            let unsettled: HashSet<String> = running.keys().cloned().collect();
            fleet.release_all(&unsettled).await;
        }
        self.report(last_report);
        match failure {
            Some(e) => Err(e),
            None => Ok(RunSummary {
                totals: self.shared.metrics.totals(),
                finished_shards: states.values().filter(|s| s.finished).count(),
            }),
        }
    }

    /// Starts a worker for each readable shard not running yet.
    fn spawn_ready(
        &self,
        shards: &[ShardInfo],
        states: &HashMap<String, ShardState>,
        fleet: Option<&Fleet>,
        running: &mut HashMap<String, watch::Sender<bool>>,
        workers: &mut WorkerSet,
    ) {
        for shard in readable(shards, states) {
            if running.contains_key(&shard.id) || fleet.is_some_and(|f| !f.holds(&shard.id)) {
                continue;
            }
            // A held lease's own copy is current; a scan may predate its last save.
            let state = self
                .shared
                .checkpoints
                .held_state(&shard.id)
                .or_else(|| states.get(&shard.id).cloned())
                .unwrap_or_default();
            // The first start is recorded by the worker before it reads (see `StartPoint`), so
            // that a restart before the first checkpoint begins at the same place.
            let start = match (&state.checkpoint, state.start) {
                (Some(seq), _) => StartAt::After(seq.clone()),
                (None, Some(StartPoint::TrimHorizon)) => StartAt::TrimHorizon,
                (None, Some(StartPoint::AtTimestampMs(ms))) => {
                    StartAt::AtTimestamp(aws_smithy_types::DateTime::from_millis(ms))
                }
                (None, None) if is_known_child(shard, shards, states) => StartAt::TrimHorizon,
                (None, None) => match self.config.start {
                    StartPosition::TrimHorizon => StartAt::TrimHorizon,
                    // "Latest" as a time, taken before the first read: exact across restarts.
                    StartPosition::Latest => StartAt::AtTimestamp(std::time::SystemTime::now().into()),
                    StartPosition::AtTimestamp(ms) => StartAt::AtTimestamp(aws_smithy_types::DateTime::from_millis(ms)),
                },
            };
            tracing::info!(shard = %shard.id, parents = ?shard.parents, start = ?start, "reading shard");
            let target = ShardTarget {
                client: self.client.clone(),
                stream_arn: self.stream.arn.clone(),
                shard_id: shard.id.clone(),
                start,
                backoff: self.config.backoff,
            };
            let (stop_tx, stop) = watch::channel(false);
            running.insert(shard.id.clone(), stop_tx);
            let (shared, mode, id) = (self.shared.clone(), self.mode.clone(), shard.id.clone());
            workers.spawn(async move { (id, run_shard(shared, target, mode, state, stop).await) });
        }
    }

    /// Logs progress since `since`; returns the new baseline.
    fn report(&self, since: (Instant, Totals)) -> (Instant, Totals) {
        let now = Instant::now();
        let totals = self.shared.metrics.totals();
        let secs = now.duration_since(since.0).as_secs_f64().max(1e-3);
        let rate = (totals.records - since.1.records) as f64 / secs;
        tracing::info!(
            records = totals.records,
            records_per_sec = (rate * 10.0).round() / 10.0,
            committed = totals.committed_records,
            rows = totals.rows,
            files = totals.files,
            dead_letters = totals.dead_letters,
            max_millis_behind_latest = totals.max_millis_behind,
            buffered_bytes = self.shared.gauge.bytes(),
            shards = totals.shards,
            "progress"
        );
        for (shard, m) in self.shared.metrics.snapshot() {
            if m.finished.load(Ordering::Relaxed) == 0 {
                tracing::info!(
                    %shard,
                    millis_behind_latest = m.millis_behind_latest.load(Ordering::Relaxed),
                    records = m.records.load(Ordering::Relaxed),
                    committed = m.committed_records.load(Ordering::Relaxed),
                    files = m.files.load(Ordering::Relaxed),
                    dead_letters = m.dead_letters.load(Ordering::Relaxed),
                    "shard progress"
                );
            }
        }
        (now, totals)
    }
}

/// Hands `shard` over if it was asked for, now that no worker of this process reads it; a
/// failure only delays the asker (the lease then expires).
async fn hand_over(fleet: &mut Fleet, shard: &str) {
    if let Err(error) = fleet.stopped(shard).await {
        tracing::warn!(%shard, %error, "could not hand the lease over; it expires instead");
    }
}

/// The next lease event of a fleet worker; never resolves for a lone consumer.
async fn next_lease_event(fleet: &mut Option<Fleet>) -> LeaseEvent {
    match fleet {
        Some(fleet) => fleet.next_event().await,
        None => std::future::pending().await,
    }
}

/// Logs, once per run, each parent that aged out of the stream before this consumer finished
/// it: its records after the checkpoint expired unread, and its children are read anyway.
fn warn_expired(shards: &[ShardInfo], states: &HashMap<String, ShardState>, warned: &mut HashSet<String>) {
    for (parent, state) in expired_parents(shards, states) {
        if warned.insert(parent.to_owned()) {
            tracing::warn!(shard = parent, checkpoint = ?state.checkpoint, pending = ?state.pending,
                "parent shard expired from the stream before it was read to its end; reading its children");
        }
    }
}

/// Deletes the temporary files a killed consumer left (see `docs/consume.md`): spool files of
/// consumer output in a local table's partition directories last modified before
/// `table_cutoff`, and the S3 spool files in this state's (locked) spool directory.
fn sweep(store: &Store, spool_dir: &std::path::Path, table_cutoff: std::time::SystemTime) -> Result<(), ConsumeError> {
    let now = std::time::SystemTime::now();
    let mut swept = store.sweep_temp_files("part-shardId-", table_cutoff)?;
    swept.extend(synclake_lake::store::sweep_spool_dir(spool_dir, now)?);
    if !swept.is_empty() {
        tracing::info!(files = swept.len(), example = %swept[0].display(), "removed temporary files a killed consumer left");
    }
    Ok(())
}

/// Parses a start time: RFC 3339 (`2026-11-23T10:00:00Z`) or epoch seconds. Returns epoch
/// milliseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    use aws_smithy_types::date_time::Format;
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1000).ok_or_else(|| format!("`{s}` is out of range"));
    }
    let t = aws_smithy_types::DateTime::from_str(s, Format::DateTime)
        .map_err(|e| format!("`{s}` is neither RFC 3339 (2026-11-23T10:00:00Z) nor epoch seconds: {e}"))?;
    t.to_millis().map_err(|e| format!("`{s}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_rfc3339_or_epoch_seconds() {
        assert_eq!(parse_timestamp("2026-11-23T10:00:00Z"), Ok(1_795_428_000_000));
        assert_eq!(parse_timestamp("1795428000"), Ok(1_795_428_000_000));
        assert!(parse_timestamp("yesterday").expect_err("bad").contains("RFC 3339"));
    }
}
