//! `synclake demo`: the whole data path on generated traffic, no AWS account needed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::replay_cmd::{FetchArgs, FormatArg, ReplayArgs, TableArgs, replay_into};
use super::report;
use crate::synth::{GenConfig, generate};

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
    let replay = ReplayArgs {
        inputs: vec![input],
        format: FormatArg::Auto,
        table: TableArgs {
            out: out.clone(),
            partition_by: Default::default(),
            compression: Default::default(),
            row_group_rows: 512 * 1024,
            file_rows: 10_000_000,
            file_mb: 256,
            memory_mb: 32,
            max_open_files: 32,
            s3_endpoint: None,
            s3_region: None,
            s3_path_style: false,
        },
        fetch: FetchArgs {
            fetch_timeout_secs: 30,
            fetch_max_mb: 64,
            fetch_attempts: 4,
            allow_file_urls: true,
        },
        workers: None,
        unit_mb: 256,
        buffer_mb: 48,
        no_progress: false,
        summary_json: None,
    };
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
