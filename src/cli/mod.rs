//! The `synclake` commands: flags (clap derive, env fallbacks) and what each command runs.

pub mod consume_cmd;
pub mod demo;
pub mod flags;
pub mod gen_cmd;
pub mod local_cmd;
pub mod logging;
pub mod replay_cmd;
pub mod report;
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
    /// Generate sample traffic, replay it into ./lake and show what came out.
    Demo(demo::DemoArgs),
    /// Run Cognito Sync itself on this machine: the 17 operations of the real API, wire-compatible
    /// with the AWS SDKs, streaming changes into Kinesis (docs/local.md).
    Local(Box<local_cmd::LocalArgs>),
    /// Sync Trigger rules offline: apply them to an event (`check`) or validate them (`lint`).
    Trigger(trigger_cmd::TriggerArgs),
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
    }
}
