//! `synclake demo`: the whole data path on generated traffic, no AWS account needed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser};

use super::replay_cmd::{ReplayArgs, replay_into};
use super::report;
use synclake_synth::{GenConfig, generate};

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Payloads to generate.
    #[arg(long, default_value_t = 20_000)]
    pub payloads: u64,
    /// Where the table goes.
    #[arg(long, default_value = "lake")]
    pub out: PathBuf,
    /// Where the generated input goes.
    #[arg(long, default_value = "lake-input")]
    pub input: PathBuf,
}

#[derive(Parser)]
struct DemoReplay {
    #[command(flatten)]
    args: ReplayArgs,
}

/// Runs `demo`: generate → replay → show rows per partition and how to query the table.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.input).with_context(|| format!("create {}", args.input.display()))?;
    let input = args.input.join("stream.jsonl");
    let cfg = GenConfig {
        payloads: args.payloads,
        s3url_dir: Some(std::path::absolute(args.input.join("_s3")).context("resolve input directory")?),
        ..GenConfig::default()
    };
    let file = std::fs::File::create(&input).with_context(|| format!("create {}", input.display()))?;
    let gen_stats = generate(&cfg, file).with_context(|| format!("write {}", input.display()))?;
    println!(
        "generated {} payloads ({} records, {} S3Url, {} record-less) into {}",
        gen_stats.payloads,
        gen_stats.records,
        gen_stats.s3url_payloads,
        gen_stats.recordless_payloads,
        input.display()
    );
    let out = args.out.display().to_string();
    // The demo is `replay` with its defaults, parsed like a command line so they live in
    // one place.
    let replay = DemoReplay::try_parse_from([
        "replay".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        out.as_ref(),
        "--allow-file-urls".as_ref(),
    ])?
    .args;
    let store = replay.table.open_store()?;
    let summary = replay_into(&replay, &store)?;
    report::print_summary(&summary, &store);
    println!();
    println!("rows per partition (first 12 of {}):", summary.rows_per_partition.len());
    for (partition, rows) in summary.rows_per_partition.iter().take(12) {
        println!("  {partition:<28} {rows:>8}");
    }
    println!();
    println!("query it, e.g. with DuckDB:");
    println!(
        "  SELECT dt, count(*) FROM read_parquet('{out}/dt=*/hr=*/*.parquet', hive_partitioning=true) GROUP BY dt ORDER BY dt;"
    );
    Ok(if summary.stats.dead_letters > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
