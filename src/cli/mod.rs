//! The `synclake` commands: flags (clap derive, env fallbacks) and what each command runs.

pub mod bulk_publish_cmd;
pub mod consume_cmd;
pub mod demo;
mod demo_devices;
pub mod flags;
pub mod gen_cmd;
pub mod local_cmd;
pub mod logging;
pub mod replay_cmd;
pub mod report;
pub mod table_cmd;
pub mod trigger_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command line of `synclake`.
#[derive(Debug, Parser)]
#[command(
    name = "synclake",
    version,
    about = "Cognito Streams records → Hive-partitioned Parquet"
)]
pub struct Cli {
    /// Log format (logs go to stderr; level from RUST_LOG, default info).
    #[arg(long, global = true, value_enum, default_value_t, env = "SYNCLAKE_LOG_FORMAT")]
    pub log_format: logging::LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert captured Cognito Streams data (files, directories, gzip) into the table.
    Replay(Box<replay_cmd::ReplayArgs>),
    /// Read a Kinesis stream into the table until stopped, exactly once (SIGINT/SIGTERM: flush,
    /// commit, exit 0).
    Consume(Box<consume_cmd::ConsumeArgs>),
    /// Write deterministic synthetic Cognito Streams traffic as JSON Lines.
    Gen(gen_cmd::GenArgs),
    /// The whole system on this machine: simulated devices sync with the local Cognito Sync
    /// service, its stream goes into ./lake, and the demo shows what landed.
    Demo(demo::DemoArgs),
    /// Run Cognito Sync itself on this machine: the 17 operations of the real API, wire-compatible
    /// with the AWS SDKs, streaming changes into Kinesis (docs/local.md).
    Local(Box<local_cmd::LocalArgs>),
    /// Cognito Sync's BulkPublish, done right: preflight, start or attach, watch, and record the
    /// run in the table (docs/bulk-publish.md).
    BulkPublish(Box<bulk_publish_cmd::BulkPublishArgs>),
    /// Sync Trigger rules offline: apply them to an event (`check`) or validate them (`lint`).
    Trigger(trigger_cmd::TriggerArgs),
    /// The table as catalogues declare it: `ddl --dialect athena|glue` (infra/README.md).
    Table(table_cmd::TableArgs),
}

/// A Cognito Sync client for the demo's local service at `url`, signing with these keys.
fn demo_client(url: &str, access_key: &str, secret_key: &str) -> aws_sdk_cognitosync::Client {
    use aws_sdk_cognitosync::config::{Credentials, Region};
    let config = aws_sdk_cognitosync::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "synclake-demo"))
        .build();
    aws_sdk_cognitosync::Client::from_conf(config)
}

/// Runs a parsed command line; the exit code says whether anything went to the dead letters.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay(args) => replay_cmd::run(*args),
        Command::Consume(args) => consume_cmd::run(*args),
        Command::Gen(args) => gen_cmd::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Trigger(args) => trigger_cmd::run(args),
        Command::Local(args) => local_cmd::run(*args),
        Command::BulkPublish(args) => bulk_publish_cmd::run(*args),
        Command::Table(args) => table_cmd::run(args),
    }
}
