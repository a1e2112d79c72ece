//! `synclake replay`: files of captured Cognito Streams data → the table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use synclake_lake::{FetchOptions, Fetcher, Progress, ReplayOptions, ReplaySummary, Store, input, replay};
use synclake_records::InputFormat;

use super::flags::{FetchArgs, TableArgs, as_mib, mib};
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
    #[arg(long, default_value_t = input::DEFAULT_UNIT_BYTES / (1024 * 1024),
        value_parser = clap::value_parser!(u64).range(1..=1048576))]
    pub unit_mb: u64,
    /// Memory (MiB) each worker's buffered rows may take before the largest partitions are
    /// written (small partitions are otherwise held until the end of the unit).
    #[arg(long, default_value_t = as_mib(ReplayOptions::default().buffer_bytes),
        value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub buffer_mb: u64,
    /// Longest JSON Lines line accepted, MiB; longer lines go to the dead letters (their
    /// first bytes kept).
    #[arg(long, default_value_t = as_mib(ReplayOptions::default().max_line_bytes),
        value_parser = clap::value_parser!(u64).range(1..=1024))]
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
