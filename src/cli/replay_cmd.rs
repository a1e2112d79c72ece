//! `synclake replay`: files of captured Cognito Streams data → the table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use synclake_lake::{
    AllowedHost, Codec, FetchOptions, Fetcher, PartitionSpec, Progress, ReplayOptions, ReplaySummary, S3Options, Store,
    WriterOptions, input, replay,
};
use synclake_records::InputFormat;

use super::report;

/// Input format, or `auto` to tell it from the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum FormatArg {
    /// Tell each file's format from its content.
    #[default]
    Auto,
    /// JSON Lines, one payload per line.
    Jsonl,
    /// Lambda Kinesis event documents.
    LambdaEvent,
    /// `aws kinesis get-records` output.
    GetRecords,
    /// One payload per file.
    Payload,
}

impl FormatArg {
    fn format(self) -> Option<InputFormat> {
        match self {
            FormatArg::Auto => None,
            FormatArg::Jsonl => Some(InputFormat::JsonLines),
            FormatArg::LambdaEvent => Some(InputFormat::LambdaEvent),
            FormatArg::GetRecords => Some(InputFormat::GetRecords),
            FormatArg::Payload => Some(InputFormat::Payload),
        }
    }
}

/// Where the table goes and how it is written: shared by every command that writes one.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Output: a local directory or s3://bucket/prefix.
    #[arg(long, env = "SYNCLAKE_OUT")]
    pub out: String,
    /// Partition columns, in order: dt, hr, identity_pool_id, dataset_name (empty: none).
    #[arg(long, default_value = "dt,hr", env = "SYNCLAKE_PARTITION_BY")]
    pub partition_by: PartitionSpec,
    /// Compression: snappy, zstd, zstd:LEVEL (1-22), none.
    #[arg(long, default_value = "snappy", env = "SYNCLAKE_COMPRESSION")]
    pub compression: Codec,
    /// Most rows per row group.
    #[arg(long, default_value_t = 512 * 1024)]
    pub row_group_rows: usize,
    /// Roll a file once it holds this many rows.
    #[arg(long, default_value_t = 10_000_000)]
    pub file_rows: usize,
    /// Roll a file once it holds about this many MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub file_mb: u64,
    /// Memory (MiB) each worker's open files may buffer before row groups are flushed.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub memory_mb: u64,
    /// Most files each worker keeps open; the least recently used is sealed beyond it.
    #[arg(long, default_value_t = 16)]
    pub max_open_files: usize,
    /// S3 endpoint URL, for S3-compatible servers.
    #[arg(long, env = "SYNCLAKE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: AWS_REGION).
    #[arg(long, env = "SYNCLAKE_S3_REGION")]
    pub s3_region: Option<String>,
    /// Path-style S3 addressing (most local S3 servers need it).
    #[arg(long, env = "SYNCLAKE_S3_PATH_STYLE")]
    pub s3_path_style: bool,
}

impl TableArgs {
    /// Writer limits from the flags.
    pub fn writer_options(&self) -> WriterOptions {
        WriterOptions {
            codec: self.compression,
            row_group_rows: self.row_group_rows.max(1),
            file_rows: self.file_rows.max(1),
            file_bytes: mib(self.file_mb),
            memory_budget: mib(self.memory_mb),
            max_open_files: self.max_open_files.max(1),
        }
    }

    /// Opens the output store.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let s3 = S3Options {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            path_style: self.s3_path_style,
        };
        let spool = std::env::temp_dir().join("synclake-spool");
        Ok(Store::open(&self.out, &s3, &spool)?)
    }
}

/// How S3Url payloads are fetched: shared by `replay` and `consume`. Defaults come from
/// [`FetchOptions::default`]. Holds no way to read `file://` URLs: that is `replay`'s own
/// `--allow-file-urls`, since `consume` reads records anyone who can write to the stream chose.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Timeout of one S3Url fetch attempt, seconds.
    #[arg(long, default_value_t = FetchOptions::default().timeout.as_secs())]
    pub fetch_timeout_secs: u64,
    /// Largest S3Url body accepted, MiB.
    #[arg(long, default_value_t = (FetchOptions::default().max_bytes / (1024 * 1024)) as u64,
        value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub fetch_max_mb: u64,
    /// Attempts per S3Url fetch (transient errors are retried with backoff).
    #[arg(long, default_value_t = FetchOptions::default().attempts)]
    pub fetch_attempts: u32,
    /// How long a record's retryable fetch failures may go on before it becomes a
    /// `fetch_exhausted` dead letter, seconds.
    #[arg(long, env = "SYNCLAKE_FETCH_RETRY_WINDOW_SECS",
        default_value_t = FetchOptions::default().retry_window.as_secs())]
    pub fetch_retry_window_secs: u64,
    /// Also fetch S3Url bodies from this host (HOST or HOST:PORT; repeatable, or
    /// comma-separated in the variable): an S3-compatible server. Such a host may use http and
    /// private addresses; other URLs must be https to an Amazon S3 endpoint.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        env = "SYNCLAKE_FETCH_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub fetch_allow_host: Vec<AllowedHost>,
}

impl FetchArgs {
    /// The fetch limits and allowed hosts from the flags (never `file://` URLs).
    pub fn options(&self) -> FetchOptions {
        FetchOptions {
            timeout: Duration::from_secs(self.fetch_timeout_secs.max(1)),
            max_bytes: mib(self.fetch_max_mb),
            attempts: self.fetch_attempts.max(1),
            retry_window: Duration::from_secs(self.fetch_retry_window_secs),
            allow_hosts: self.fetch_allow_host.clone(),
            ..FetchOptions::default()
        }
    }
}

/// Flags of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Input files or directories (walked; `.`/`_`-prefixed names skipped; gzip detected).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Input format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
    /// The table.
    #[command(flatten)]
    pub table: TableArgs,
    /// S3Url fetching.
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// Accept file:// URLs in kinesisSyncRecordsURL (captures with S3 bodies saved locally).
    /// `replay` only: `consume` and the Lambda never read local files for a record.
    #[arg(long)]
    pub allow_file_urls: bool,
    /// S3Url bodies each worker fetches at once.
    #[arg(long, default_value_t = ReplayOptions::default().fetch_concurrency as u64,
        value_parser = clap::value_parser!(u64).range(1..=256))]
    pub fetch_concurrency: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Split uncompressed JSON Lines files into units of this many MiB (units are written in
    /// parallel, each into its own files; the same split gives the same file names).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1048576))]
    pub unit_mb: u64,
    /// Memory (MiB) each worker's buffered rows may take before the largest partitions are
    /// written (small partitions are otherwise held until the end of the unit).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub buffer_mb: u64,
    /// Longest JSON Lines line accepted, MiB; longer lines go to the dead letters (their
    /// first bytes kept).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_line_mb: u64,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

/// Runs `replay`: exit 0 when every input became rows, 2 when some went to the dead letters.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let store = args.table.open_store()?;
    let summary = replay_into(&args, &store)?;
    report::print_summary(&summary, &store);
    if let Some(path) = &args.summary_json {
        std::fs::write(path, report::summary_json(&summary).to_string())
            .with_context(|| format!("write {}", path.display()))?;
    }
    if summary.stats.dead_letters > 0 {
        tracing::warn!(
            dead_letters = summary.stats.dead_letters,
            location = %store.full_key(synclake_lake::dead_letter::DEAD_LETTER_DIR),
            "some input could not be converted; it is kept in the dead letters"
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Plans and runs a replay into `store`, with a progress bar on a terminal.
pub fn replay_into(args: &ReplayArgs, store: &Store) -> anyhow::Result<ReplaySummary> {
    let units = input::plan(&args.inputs, args.format.format(), args.unit_mb * 1024 * 1024)?;
    let fetcher = Fetcher::new(FetchOptions {
        allow_file_urls: args.allow_file_urls,
        ..args.fetch.options()
    })
    .context("build HTTP client")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("start async runtime")?;
    let mut opts = ReplayOptions {
        partition: args.table.partition_by.clone(),
        writer: args.table.writer_options(),
        ..ReplayOptions::default()
    };
    opts.buffer_bytes = mib(args.buffer_mb);
    // At most 256 (the flag's range).
    opts.fetch_concurrency = args.fetch_concurrency as usize;
    opts.max_line_bytes = mib(args.max_line_mb);
    if let Some(w) = args.workers {
        opts.workers = w.max(1);
    }
    let total: u64 = units.iter().map(input::Unit::bytes).sum();
    tracing::info!(inputs = units.len(), bytes = total, out = %store.describe(), partition_by = %opts.partition, "replay started");
    let progress = Arc::new(Progress::default());
    let bar = (!args.no_progress).then(|| progress_bar(total));
    // The ticker stops as soon as the run ends (its channel hangs up), not at its next tick.
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let ticker = bar.clone().map(|bar| {
        let progress = progress.clone();
        std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_millis(100)) {
                let p = &progress;
                bar.set_position(p.bytes_read.load(std::sync::atomic::Ordering::Relaxed));
                bar.set_message(format!(
                    "{} rows, {} dead letters",
                    p.rows.load(std::sync::atomic::Ordering::Relaxed),
                    p.dead_letters.load(std::sync::atomic::Ordering::Relaxed)
                ));
            }
        })
    });
    let result = replay(&units, store, &fetcher, runtime.handle(), &opts, &progress);
    drop(stop);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// MiB → bytes; the flags' ranges keep this far from overflow.
pub(crate) fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("synclake").chain(args.iter().copied()))
    }

    #[test]
    fn only_replay_can_read_file_urls() {
        let Command::Replay(replay) = parse(&["replay", "in.jsonl", "--out", "lake", "--allow-file-urls"])
            .unwrap()
            .command
        else {
            panic!("not replay")
        };
        assert!(replay.allow_file_urls);
        assert!(
            !replay.fetch.options().allow_file_urls,
            "the shared group never allows them"
        );
        let err = parse(&["consume", "--stream", "s", "--out", "lake", "--allow-file-urls"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{err}");
    }

    #[test]
    fn fetch_flags_fill_in_the_library_defaults() {
        let Command::Consume(consume) = parse(&[
            "consume",
            "--stream",
            "s",
            "--out",
            "lake",
            "--fetch-allow-host",
            "127.0.0.1:9000",
            "--fetch-allow-host",
            "minio.internal",
            "--fetch-retry-window-secs",
            "60",
        ])
        .unwrap()
        .command
        else {
            panic!("not consume")
        };
        let o = consume.fetch.options();
        let d = FetchOptions::default();
        assert_eq!(
            (o.timeout, o.max_bytes, o.attempts),
            (d.timeout, d.max_bytes, d.attempts)
        );
        assert_eq!(o.retry_window, Duration::from_secs(60));
        let hosts: Vec<String> = o.allow_hosts.iter().map(ToString::to_string).collect();
        assert_eq!(hosts, ["127.0.0.1:9000", "minio.internal"]);
        let Command::Replay(replay) = parse(&["replay", "in", "--out", "lake"]).unwrap().command else {
            panic!("not replay")
        };
        assert_eq!(replay.fetch.options().retry_window, d.retry_window);
        assert!(replay.fetch.options().allow_hosts.is_empty());
        let err = parse(&["replay", "in", "--out", "lake", "--fetch-allow-host", "http://x/"]).unwrap_err();
        assert!(err.to_string().contains("not host or host:port"), "{err}");
    }
}
