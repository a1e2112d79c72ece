//! `synclake gen`: synthetic traffic for demos and benchmarks.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use synclake_synth::{GenConfig, generate};

/// Flags of `gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Payloads to write.
    #[arg(long, default_value_t = 10_000)]
    pub payloads: u64,
    /// Seed: the same seed and counts give byte-identical output.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days the timestamps span, from 2024-03-01 UTC.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Write the records of S3Url payloads here and point their URLs at them (file://);
    /// without it, S3Url payloads point at unreachable https URLs.
    #[arg(long)]
    pub s3url_dir: Option<PathBuf>,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Runs `gen`.
pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    let cfg = GenConfig {
        payloads: args.payloads,
        seed: args.seed,
        days: args.days,
        s3url_dir: args.s3url_dir.map(|d| std::path::absolute(&d).unwrap_or(d)),
        ..GenConfig::default()
    };
    let stats = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
            generate(&cfg, file).with_context(|| format!("write {}", path.display()))?
        }
        None => {
            let stdout = std::io::stdout().lock();
            let stats = generate(&cfg, stdout).context("write to stdout")?;
            std::io::stdout().flush().context("write to stdout")?;
            stats
        }
    };
    tracing::info!(
        payloads = stats.payloads,
        records = stats.records,
        bytes = stats.bytes,
        s3url = stats.s3url_payloads,
        recordless = stats.recordless_payloads,
        "generated"
    );
    Ok(ExitCode::SUCCESS)
}
