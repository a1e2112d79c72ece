//! `synclake local`: the local Cognito Sync service, until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use synclake_local::{Clock, Config, Options};

/// Flags of `synclake local`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("storage").required(true).args(["data_dir", "in_memory"])))]
pub struct LocalArgs {
    /// Where to listen (port 0: any free port; the first line on stdout names it).
    #[arg(long, default_value = Config::DEFAULT_LISTEN, env = "SYNCLAKE_LOCAL_LISTEN")]
    pub listen: SocketAddr,
    /// The configuration file: pools, credentials, limits, endpoints (docs/local.md).
    #[arg(long, env = "SYNCLAKE_LOCAL_CONFIG")]
    pub config: PathBuf,
    /// Keep the database (SQLite) in this directory; it survives restarts and crashes.
    #[arg(long, env = "SYNCLAKE_LOCAL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in memory instead: gone when the process ends.
    #[arg(long)]
    pub in_memory: bool,
    /// Do not check SigV4 signatures (the access key still names the caller).
    #[arg(long)]
    pub no_verify: bool,
    /// Serve `POST /_local/clock` so tests can move the service's clock forward.
    #[arg(long)]
    pub test_clock: bool,
    /// fsync every commit: nothing acknowledged is lost to a power loss either (default: only
    /// a process crash is survived; docs/local.md, "Storage and durability").
    #[arg(long, requires = "data_dir")]
    pub sync_every_commit: bool,
}

/// Runs the service until a signal, then stops it cleanly.
pub fn run(args: LocalArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let options = Options {
        data_dir: args.data_dir.clone(),
        verify_signatures: !args.no_verify,
        test_clock: args.test_clock,
        sync_every_commit: args.sync_every_commit,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listen on {}", args.listen))?;
        let running = synclake_local::start(&config, &options, listener, Clock::system()).await?;
        // The first line on stdout is the address: tools that start us on port 0 read it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{}", running.addr).context("write to stdout")?;
        out.flush().context("write to stdout")?;
        drop(out);
        tracing::info!(addr = %running.addr, pools = config.pools.len(), "Cognito Sync is serving");
        super::consume_cmd::wait_for_signal().await;
        tracing::info!("signal received: stopping");
        running.stop().await.context("stop the service")?;
        Ok(ExitCode::SUCCESS)
    })
}
