//! Log set-up: `tracing` to stderr, text or JSON, filtered by `RUST_LOG` (default `info`, the
//! AWS configuration chain's chatter left out).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The filter when `RUST_LOG` is not set. The Sync Trigger engine logs each decision at INFO,
/// right for a Lambda invocation; in `synclake local` and the demo a decision is one request
/// among thousands, so only its warnings show unless asked for.
const DEFAULT_FILTER: &str = "info,aws_config=error,synclake_trigger::engine=warn";

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(format: LogFormat) {
    // Without RUST_LOG: INFO, less the AWS configuration chain's WARN lines about the sources
    // it tried and did not find (an instance metadata service off EC2, say), each a page of
    // debug structures; a call that then fails says what is missing in one line.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}
