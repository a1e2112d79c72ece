//! `synclake consume`: a Kinesis stream → the table, until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use synclake_kinesis::consumer::parse_timestamp;
use synclake_kinesis::{
    Consumer, ConsumerConfig, FlushPolicy, KinesisOptions, LeaseOptions, PollOptions, StartPosition,
};
use synclake_lake::{BatchOptions, CommitMode, S3Options};
use tokio::sync::watch;

use super::flags::{FetchArgs, TableArgs, as_mib, mib, secs};

/// Where shards without a checkpoint begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StartArg {
    /// The oldest record still in the stream.
    #[default]
    TrimHorizon,
    /// Records put from the first start on (resolved to that time and recorded per shard, so
    /// a restart does not skip what arrived in between).
    Latest,
}

/// Flags of `synclake consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// The stream: name or ARN.
    #[arg(long, env = "SYNCLAKE_STREAM")]
    pub stream: String,
    /// Where checkpoints (and spool files) live: one consumer per state directory.
    #[arg(long, default_value = "synclake-state", env = "SYNCLAKE_STATE")]
    pub state: PathBuf,
    /// A Kinesis-compatible endpoint instead of AWS's (local servers, VPC endpoints).
    #[arg(long, env = "SYNCLAKE_KINESIS_ENDPOINT")]
    pub endpoint_url: Option<String>,
    /// Kinesis region (default: the AWS configuration chain, e.g. AWS_REGION).
    #[arg(long, env = "SYNCLAKE_KINESIS_REGION")]
    pub region: Option<String>,
    /// Start of shards without a checkpoint (with one: right after it).
    #[arg(long, value_enum, default_value_t, conflicts_with = "at_timestamp")]
    pub start_position: StartArg,
    /// Start shards without a checkpoint at this time (RFC 3339 or epoch seconds).
    #[arg(long)]
    pub at_timestamp: Option<String>,
    /// Read through enhanced fan-out as the consumer of this name (registered if absent).
    #[arg(long, value_name = "CONSUMER_NAME")]
    pub efo: Option<String>,
    /// Flush a shard's buffer at this many records.
    #[arg(long, default_value_t = FlushPolicy::default().max_records)]
    pub flush_records: usize,
    /// Flush a shard's buffer at this many MiB of payloads.
    #[arg(long, default_value_t = as_mib(FlushPolicy::default().max_bytes),
        value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub flush_mb: u64,
    /// Flush a shard's buffer when its oldest record was read this many seconds ago.
    #[arg(long, default_value_t = FlushPolicy::default().max_age.as_secs_f64())]
    pub flush_age_secs: f64,
    /// MiB of payloads buffered across all shards before the largest buffers flush early.
    #[arg(long, default_value_t = as_mib(FlushPolicy::default().memory_limit),
        value_parser = clap::value_parser!(u64).range(1..=1048576))]
    pub buffer_mb: u64,
    /// Wait after a poll that found a shard caught up, milliseconds.
    #[arg(long, default_value_t = PollOptions::default().idle_wait.as_millis() as u64)]
    pub poll_idle_ms: u64,
    /// List shards again this often, seconds (new shards after a reshard are found sooner: when
    /// a parent ends).
    #[arg(long, default_value_t = ConsumerConfig::DEFAULT_DISCOVER_EVERY.as_secs_f64())]
    pub discover_secs: f64,
    /// Log progress this often, seconds.
    #[arg(long, default_value_t = ConsumerConfig::DEFAULT_REPORT_EVERY.as_secs_f64())]
    pub report_secs: f64,
    /// Longest a shutdown (flush and commit) may take, seconds.
    #[arg(long, default_value_t = ConsumerConfig::DEFAULT_SHUTDOWN_TIMEOUT.as_secs_f64())]
    pub shutdown_timeout_secs: f64,
    /// Serve Prometheus metrics on this address (GET /metrics).
    #[arg(long, env = "SYNCLAKE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// The stream was deleted and re-created since the state was written: set the old shard
    /// states aside (kept as `shards.replaced-<time>`) and read the new stream from the start
    /// position. Without it, such a state is refused. Does nothing otherwise.
    #[arg(long)]
    pub start_over_recreated_stream: bool,
    /// Make this state the table's writer of the stream, even if the table names another
    /// state (stop that consumer first), or if this state is empty while the table already
    /// holds consumer files. Without it, both are refused.
    #[arg(long)]
    pub take_over_output: bool,
    /// Share the stream with other `synclake consume` workers through this DynamoDB lease
    /// table (created on first use, on-demand billing): each shard read by one worker, exactly
    /// once across workers. Without it, checkpoints are files under --state, for one consumer.
    #[arg(long, env = "SYNCLAKE_LEASE_TABLE")]
    pub lease_table: Option<String>,
    /// Seconds a lease lives without a heartbeat: how long a dead worker's shards wait.
    #[arg(long, default_value_t = LeaseOptions::DEFAULT_DURATION.as_secs_f64(), requires = "lease_table")]
    pub lease_duration_secs: f64,
    /// This worker's name in the lease table (default: host and process id); a random tag is
    /// added per process, so a restarted worker never takes its previous life's leases for its own.
    #[arg(long, env = "SYNCLAKE_WORKER_ID", requires = "lease_table")]
    pub worker_id: Option<String>,
    /// A DynamoDB-compatible endpoint for the lease table instead of AWS's.
    #[arg(long, env = "SYNCLAKE_DYNAMODB_ENDPOINT", requires = "lease_table")]
    pub dynamodb_endpoint_url: Option<String>,
    /// The output table.
    #[command(flatten)]
    pub table: TableArgs,
    /// S3Url fetches.
    #[command(flatten)]
    pub fetch: FetchArgs,
}

impl ConsumeArgs {
    /// The consumer's configuration from the flags.
    pub fn config(&self) -> anyhow::Result<ConsumerConfig> {
        let mut config = ConsumerConfig::new(&self.stream, &self.table.out, &self.state);
        config.kinesis = KinesisOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
        };
        config.s3 = S3Options {
            endpoint: self.table.s3_endpoint.clone(),
            region: self.table.s3_region.clone(),
            path_style: self.table.s3_path_style,
        };
        config.start = match (&self.at_timestamp, self.start_position) {
            (Some(t), _) => {
                StartPosition::AtTimestamp(parse_timestamp(t).map_err(|e| anyhow::anyhow!("--at-timestamp: {e}"))?)
            }
            (None, StartArg::TrimHorizon) => StartPosition::TrimHorizon,
            (None, StartArg::Latest) => StartPosition::Latest,
        };
        config.fan_out = self.efo.clone();
        config.poll = PollOptions {
            idle_wait: Duration::from_millis(self.poll_idle_ms),
            ..PollOptions::default()
        };
        config.flush = FlushPolicy {
            max_records: self.flush_records.max(1),
            max_bytes: mib(self.flush_mb),
            max_age: secs("--flush-age-secs", self.flush_age_secs)?,
            memory_limit: mib(self.buffer_mb),
        };
        config.batch = BatchOptions {
            partition: self.table.partition_by.clone(),
            writer: self.table.writer_options(),
            mode: CommitMode::Overwrite,
            ..BatchOptions::default()
        };
        config.fetch = self.fetch.options();
        config.discover_every = secs("--discover-secs", self.discover_secs)?;
        config.report_every = secs("--report-secs", self.report_secs)?;
        config.shutdown_timeout = secs("--shutdown-timeout-secs", self.shutdown_timeout_secs)?;
        config.metrics_addr = self.metrics_addr;
        config.start_over_recreated_stream = self.start_over_recreated_stream;
        config.take_over_output = self.take_over_output;
        if let Some(table) = &self.lease_table {
            let duration = secs("--lease-duration-secs", self.lease_duration_secs)?;
            if duration < std::time::Duration::from_secs(1) {
                anyhow::bail!("--lease-duration-secs: at least 1 second (heartbeats go out every quarter of it)");
            }
            config.lease = Some(LeaseOptions {
                table: table.clone(),
                endpoint_url: self.dynamodb_endpoint_url.clone(),
                worker_id: self.worker_id.clone(),
                duration,
            });
        }
        Ok(config)
    }
}

/// Runs the consumer until SIGINT or SIGTERM, then flushes, commits and exits 0.
pub fn run(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        let consumer = Consumer::open(config).await?;
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received: stopping");
            let _ = stop_tx.send(true);
        });
        let summary = consumer.run(stop).await?;
        tracing::info!(
            records = summary.totals.records,
            committed = summary.totals.committed_records,
            rows = summary.totals.rows,
            files = summary.totals.files,
            dead_letters = summary.totals.dead_letters,
            "stopped cleanly"
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
