//! `synclake bulk-publish`: Cognito Sync's BulkPublish for one pool, several or all, watched to
//! the end and recorded in the table's `_bulk_publish/` (docs/bulk-publish.md).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use synclake_bulk_publish::{EnableStreaming, Options, PoolReport, exit_code, list_pools, run_pools};
use synclake_lake::{S3Options, Store};

use super::flags::secs;

/// How the reports are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// One line per pool.
    #[default]
    Text,
    /// A JSON array of reports on stdout.
    Json,
}

/// Flags of `synclake bulk-publish`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["pool", "all_pools"])))]
#[command(group(clap::ArgGroup::new("enable").multiple(true).requires_all(["enable_streaming", "stream", "role_arn"]).args(["enable_streaming", "stream", "role_arn"])))]
pub struct BulkPublishArgs {
    /// An identity pool (repeat for several).
    #[arg(long)]
    pub pool: Vec<String>,
    /// Every identity pool of the account (ListIdentityPoolUsage).
    #[arg(long)]
    pub all_pools: bool,
    /// A Cognito Sync endpoint instead of AWS's (e.g. `synclake local`).
    #[arg(long, env = "SYNCLAKE_COGNITO_SYNC_ENDPOINT")]
    pub endpoint_url: Option<String>,
    /// The region (default: the AWS configuration chain, e.g. AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// Enable Cognito Streams first where it is off (with --stream and --role-arn).
    #[arg(long)]
    pub enable_streaming: bool,
    /// The Kinesis stream to enable streaming to.
    #[arg(long)]
    pub stream: Option<String>,
    /// The role Cognito assumes to put records on the stream.
    #[arg(long)]
    pub role_arn: Option<String>,
    /// Start the runs and return; they go on on the server.
    #[arg(long)]
    pub no_wait: bool,
    /// A pool bulk-published less than 24 hours ago is a failure (exit 5), not a notice.
    #[arg(long)]
    pub strict: bool,
    /// How the reports are printed.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Pools run at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// First pause between two status polls, seconds (it grows by half, to --poll-max-secs).
    #[arg(long, default_value_t = Options::default().poll_min.as_secs_f64())]
    pub poll_min_secs: f64,
    /// Longest pause between two status polls, seconds.
    #[arg(long, default_value_t = Options::default().poll_max.as_secs_f64())]
    pub poll_max_secs: f64,
    /// Stop watching after this long (the runs go on on the server; exit 6).
    #[arg(long, default_value_t = Options::default().max_wait.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub max_wait_secs: u64,
    /// The table whose `_bulk_publish/` records every run: a local directory or s3://bucket/prefix.
    #[arg(long, env = "SYNCLAKE_OUT")]
    pub out: Option<String>,
    /// S3 endpoint URL of the table, for S3-compatible servers.
    #[arg(long, env = "SYNCLAKE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Path-style S3 addressing.
    #[arg(long, env = "SYNCLAKE_S3_PATH_STYLE")]
    pub s3_path_style: bool,
}

impl BulkPublishArgs {
    fn options(&self) -> anyhow::Result<Options> {
        let enable = match (self.enable_streaming, &self.stream, &self.role_arn) {
            (true, Some(stream), Some(role_arn)) => Some(EnableStreaming {
                stream: stream.clone(),
                role_arn: role_arn.clone(),
            }),
            _ => None,
        };
        let (poll_min, poll_max) = (
            secs("--poll-min-secs", self.poll_min_secs)?,
            secs("--poll-max-secs", self.poll_max_secs)?,
        );
        anyhow::ensure!(
            poll_min <= poll_max,
            "--poll-min-secs ({}) is above --poll-max-secs ({})",
            self.poll_min_secs,
            self.poll_max_secs
        );
        Ok(Options {
            enable,
            wait: !self.no_wait,
            poll_min,
            poll_max,
            max_wait: Duration::from_secs(self.max_wait_secs),
            ..Options::default()
        })
    }
}

/// Runs the pools; the exit status says how the worst of them ended.
pub fn run(args: BulkPublishArgs) -> anyhow::Result<ExitCode> {
    let opts = args.options()?;
    let table = match &args.out {
        Some(out) => {
            let s3 = S3Options {
                endpoint: args.s3_endpoint.clone(),
                region: args.region.clone(),
                path_style: args.s3_path_style,
            };
            Some(Store::open(out, &s3, &std::env::temp_dir().join("synclake-spool"))?)
        }
        None => {
            tracing::warn!("no --out: the runs are not recorded in a table's _bulk_publish/");
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        let client = synclake_bulk_publish::client::connect(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let mut pools = if args.all_pools {
            list_pools(&client).await.map_err(anyhow::Error::msg)?
        } else {
            args.pool.clone()
        };
        // A pool named twice would run twice (the second attaching to the first).
        let mut seen = std::collections::HashSet::new();
        pools.retain(|p| seen.insert(p.clone()));
        if pools.is_empty() {
            anyhow::bail!("no identity pools to bulk-publish");
        }
        let progress = Progress::new(
            &pools,
            std::io::stderr().is_terminal() && args.output == OutputFormat::Text,
        );
        let on_poll = |pool: &str, status: &str| progress.set(pool, status);
        let work = run_pools(
            &client,
            &pools,
            &opts,
            usize::from(args.concurrency),
            table.as_ref(),
            &on_poll,
        );
        let (reports, unrecorded) = tokio::select! {
            done = work => done,
            _ = super::consume_cmd::wait_for_signal() => {
                progress.clear();
                eprintln!(
                    "interrupted: runs already started go on on the server (they cannot be stopped); \
                     run the same command again to attach to them (a finished run is then recorded)"
                );
                return Ok(ExitCode::from(130));
            }
        };
        progress.clear();
        print_reports(&reports, args.output)?;
        let code = exit_code(&reports, args.strict);
        Ok(ExitCode::from(if unrecorded > 0 && code == 0 { 1 } else { code }))
    })
}

fn print_reports(reports: &[PoolReport], format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(reports)?),
        OutputFormat::Text => {
            for r in reports {
                let mut line = format!("{} {}", r.pool, r.status.as_str());
                if r.attached {
                    line.push_str(" (attached to a run in progress)");
                }
                for (name, at) in [
                    ("started", r.started_at),
                    ("completed", r.completed_at),
                    ("next allowed", r.next_allowed_at),
                ] {
                    if let Some(at) = at {
                        line.push_str(&format!(", {name} {}", iso(at)));
                    }
                }
                if let Some(m) = &r.message {
                    line.push_str(&format!(": {m}"));
                }
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn iso(ms: i64) -> String {
    synclake_local::wire::iso8601(ms)
}

/// One spinner per pool on a terminal; nothing otherwise.
struct Progress {
    bars: Vec<(String, ProgressBar)>,
    multi: Option<MultiProgress>,
}

impl Progress {
    fn new(pools: &[String], on: bool) -> Progress {
        if !on {
            return Progress {
                bars: Vec::new(),
                multi: None,
            };
        }
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = pools
            .iter()
            .map(|p| {
                let bar = multi.add(
                    ProgressBar::new_spinner()
                        .with_style(style.clone())
                        .with_prefix(p.clone()),
                );
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(200));
                (p.clone(), bar)
            })
            .collect();
        Progress {
            bars,
            multi: Some(multi),
        }
    }

    fn set(&self, pool: &str, status: &str) {
        if let Some((_, bar)) = self.bars.iter().find(|(p, _)| p == pool) {
            bar.set_message(status.to_owned());
        }
    }

    fn clear(&self) {
        for (_, bar) in &self.bars {
            bar.finish_and_clear();
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}
