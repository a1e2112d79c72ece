//! The flag groups several commands share: where the table goes and how it is written
//! ([`TableArgs`]), and how S3Url bodies are fetched ([`FetchArgs`]). Every default is the
//! library's own (`WriterOptions::default()`, `FetchOptions::default()`, ...): the flags only
//! fill the option structs in, so a default lives in one place.

use std::time::Duration;

use clap::Args;
use synclake_lake::{AllowedHost, Codec, FetchOptions, PartitionSpec, S3Options, Store, WriterOptions};

/// Where the table goes and how it is written: shared by every command that writes one.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Output: a local directory or s3://bucket/prefix.
    #[arg(long, env = "SYNCLAKE_OUT")]
    pub out: String,
    /// Partition columns, in order: dt, hr, identity_pool_id, dataset_name (empty: none).
    #[arg(long, default_value_t = PartitionSpec::default(), env = "SYNCLAKE_PARTITION_BY")]
    pub partition_by: PartitionSpec,
    /// Compression: snappy, zstd, zstd:LEVEL (1-22), none.
    #[arg(long, default_value_t = WriterOptions::default().codec, env = "SYNCLAKE_COMPRESSION")]
    pub compression: Codec,
    /// Most rows per row group.
    #[arg(long, default_value_t = WriterOptions::default().row_group_rows)]
    pub row_group_rows: usize,
    /// Roll a file once it holds this many rows.
    #[arg(long, default_value_t = WriterOptions::default().file_rows)]
    pub file_rows: usize,
    /// Roll a file once it holds about this many MiB.
    #[arg(long, default_value_t = as_mib(WriterOptions::default().file_bytes),
        value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub file_mb: u64,
    /// Memory (MiB) each worker's open files may buffer before row groups are flushed.
    #[arg(long, default_value_t = as_mib(WriterOptions::default().memory_budget),
        value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub memory_mb: u64,
    /// Most files each worker keeps open; the least recently used is sealed beyond it.
    #[arg(long, default_value_t = WriterOptions::default().max_open_files)]
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
    #[arg(long, env = "SYNCLAKE_FETCH_TIMEOUT_SECS", default_value_t = FetchOptions::default().timeout.as_secs())]
    pub fetch_timeout_secs: u64,
    /// Largest S3Url body accepted, MiB.
    #[arg(long, env = "SYNCLAKE_FETCH_MAX_MB", default_value_t = as_mib(FetchOptions::default().max_bytes),
        value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub fetch_max_mb: u64,
    /// Attempts per S3Url fetch (transient errors are retried with backoff).
    #[arg(long, env = "SYNCLAKE_FETCH_ATTEMPTS", default_value_t = FetchOptions::default().attempts)]
    pub fetch_attempts: u32,
    /// How long a record's retryable fetch failures may go on before it becomes a
    /// `fetch_exhausted` dead letter, seconds.
    #[arg(long, env = "SYNCLAKE_FETCH_RETRY_WINDOW_SECS",
        default_value_t = FetchOptions::default().retry_window.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
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

/// MiB → bytes; the flags' ranges keep this far from overflow.
pub(crate) fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

/// Bytes → whole MiB, for a default shown in MiB.
pub(crate) const fn as_mib(bytes: usize) -> u64 {
    (bytes / (1024 * 1024)) as u64
}

/// A flag's positive number of seconds as a duration, or an error naming the flag.
pub fn secs(flag: &str, v: f64) -> anyhow::Result<Duration> {
    use anyhow::Context as _;
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag}: {v} is not a positive number of seconds"))
}
