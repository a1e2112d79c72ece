//! Configuration of the stream-to-parquet function: read from the environment once, at cold
//! start, and validated then. A bad setting stops the function before it takes an invocation
//! (Lambda reports `Runtime.ExitError`; the log line and the error name the variable) instead
//! of surfacing as odd output later.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use synclake_lake::batch::MAX_FETCHED_BYTES_CEILING;
use synclake_lake::{
    AllowedHost, BatchOptions, Codec, CommitMode, FetchOptions, PartitionSpec, S3Options, WriterOptions,
};

/// Where the table goes, how it is laid out, and how S3Url bodies are fetched.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// `s3://bucket/prefix`, or a local directory (for local runs and tests).
    pub output: String,
    /// How to reach S3.
    pub s3: S3Options,
    /// Partitioning, files, commit mode and concurrency of each batch.
    pub batch: BatchOptions,
    /// Limits of S3Url fetches.
    pub fetch: FetchOptions,
    /// Where files are spooled before upload (Lambda's `/tmp`).
    pub spool_dir: PathBuf,
}

/// A setting that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl StreamConfig {
    /// Reads the configuration through `env` (`std::env::var(..).ok()` in the function; a map
    /// in tests), validating every variable.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<StreamConfig, ConfigError> {
        let get = |var: &'static str| env(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        // The variable's name until the CLI and the function shared one spelling: refused
        // with the new name rather than ignored, so an upgrade fails at start, saying why.
        if get("SYNCLAKE_OUTPUT").is_some() {
            return Err(ConfigError {
                var: "SYNCLAKE_OUTPUT",
                reason: "renamed: set SYNCLAKE_OUT (the name the CLI reads too) instead".into(),
            });
        }
        let output = get("SYNCLAKE_OUT").ok_or_else(|| ConfigError {
            var: "SYNCLAKE_OUT",
            reason: "not set: where to write the table (s3://bucket/prefix)".into(),
        })?;
        if output.contains("://") && !output.starts_with("s3://") {
            return Err(ConfigError {
                var: "SYNCLAKE_OUT",
                reason: format!("`{output}` is neither an s3:// URL nor a local path"),
            });
        }
        let partition: PartitionSpec = parse(&get, "SYNCLAKE_PARTITION_BY", PartitionSpec::default())?;
        let codec: Codec = match get("SYNCLAKE_COMPRESSION") {
            None => Codec::default(),
            Some(v) => v.parse().map_err(|reason| ConfigError {
                var: "SYNCLAKE_COMPRESSION",
                reason,
            })?,
        };
        // The function's defaults are the library's Lambda preset; each variable overrides one.
        let defaults = FetchOptions::lambda();
        let timeout_secs: u64 = parse(&get, "SYNCLAKE_FETCH_TIMEOUT_SECS", defaults.timeout.as_secs())?;
        let max_mb: usize = parse(&get, "SYNCLAKE_FETCH_MAX_MB", defaults.max_bytes / (1024 * 1024))?;
        let attempts: u32 = parse(&get, "SYNCLAKE_FETCH_ATTEMPTS", defaults.attempts)?;
        let retry_window_secs: u64 = parse(
            &get,
            "SYNCLAKE_FETCH_RETRY_WINDOW_SECS",
            defaults.retry_window.as_secs(),
        )?;
        let allow_hosts = get("SYNCLAKE_FETCH_ALLOW_HOSTS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(|h| {
                        h.parse::<AllowedHost>().map_err(|e| ConfigError {
                            var: "SYNCLAKE_FETCH_ALLOW_HOSTS",
                            reason: e.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        // Records come from whoever can write to the stream: the function never reads local
        // files for them. The variable once existed; refuse it rather than ignore it.
        if get("SYNCLAKE_ALLOW_FILE_URLS").is_some_and(|v| !v.eq_ignore_ascii_case("false") && v != "0") {
            return Err(ConfigError {
                var: "SYNCLAKE_ALLOW_FILE_URLS",
                reason: "no longer supported: the function never reads file:// URLs (only `synclake replay --allow-file-urls` does)".into(),
            });
        }
        let batch_defaults = BatchOptions::default();
        let concurrency: usize = parse(&get, "SYNCLAKE_CONCURRENCY", batch_defaults.concurrency)?;
        let max_fetched_mb: usize = parse(
            &get,
            "SYNCLAKE_MAX_FETCHED_MB",
            batch_defaults.max_fetched_bytes / (1024 * 1024),
        )?;
        check(
            "SYNCLAKE_FETCH_TIMEOUT_SECS",
            (1..=900).contains(&timeout_secs),
            "1..=900",
        )?;
        check("SYNCLAKE_FETCH_MAX_MB", (1..=1024).contains(&max_mb), "1..=1024")?;
        check("SYNCLAKE_FETCH_ATTEMPTS", (1..=10).contains(&attempts), "1..=10")?;
        check(
            "SYNCLAKE_FETCH_RETRY_WINDOW_SECS",
            (1..=7 * 24 * 3600).contains(&retry_window_secs),
            "1..=604800",
        )?;
        check("SYNCLAKE_CONCURRENCY", (1..=256).contains(&concurrency), "1..=256")?;
        check(
            "SYNCLAKE_MAX_FETCHED_MB",
            (1..=MAX_FETCHED_BYTES_CEILING / (1024 * 1024)).contains(&max_fetched_mb),
            "1..=1024",
        )?;
        if let Some(format) = get("AWS_LAMBDA_LOG_FORMAT")
            && !format.eq_ignore_ascii_case("json")
            && !format.eq_ignore_ascii_case("text")
        {
            return Err(ConfigError {
                var: "AWS_LAMBDA_LOG_FORMAT",
                reason: format!("`{format}`: expected Text or JSON"),
            });
        }
        Ok(StreamConfig {
            output,
            s3: s3_options(&get)?,
            batch: BatchOptions {
                partition,
                writer: WriterOptions {
                    codec,
                    ..WriterOptions::default()
                },
                mode: CommitMode::Overwrite,
                concurrency,
                max_fetched_bytes: max_fetched_mb * 1024 * 1024,
                ..batch_defaults
            },
            fetch: FetchOptions {
                timeout: Duration::from_secs(timeout_secs),
                max_bytes: max_mb * 1024 * 1024,
                attempts,
                retry_window: Duration::from_secs(retry_window_secs),
                allow_hosts,
                allow_file_urls: false,
                ..defaults
            },
            spool_dir: get("SYNCLAKE_SPOOL_DIR")
                .map_or_else(|| std::env::temp_dir().join("synclake-spool"), PathBuf::from),
        })
    }
}

/// How to reach S3 (`SYNCLAKE_S3_ENDPOINT`, `SYNCLAKE_S3_PATH_STYLE`), for every function that
/// reads or writes it.
pub(crate) fn s3_options(get: &impl Fn(&'static str) -> Option<String>) -> Result<S3Options, ConfigError> {
    Ok(S3Options {
        endpoint: get("SYNCLAKE_S3_ENDPOINT"),
        region: None,
        path_style: parse(get, "SYNCLAKE_S3_PATH_STYLE", false)?,
    })
}

fn parse<T: FromStr>(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| ConfigError {
            var,
            reason: format!("`{v}`: {e}"),
        }),
    }
}

fn check(var: &'static str, ok: bool, range: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            var,
            reason: format!("out of range (expected {range})"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<StreamConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        StreamConfig::from_env(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_need_only_the_output() {
        let c = config(&[("SYNCLAKE_OUT", "s3://bucket/table")]).unwrap();
        assert_eq!(c.output, "s3://bucket/table");
        assert_eq!(c.batch.partition, PartitionSpec::default());
        assert_eq!(c.batch.writer.codec, Codec::Snappy);
        assert_eq!(c.batch.mode, CommitMode::Overwrite);
        let lambda = FetchOptions::lambda();
        assert_eq!(c.fetch.attempts, lambda.attempts);
        assert_eq!(c.fetch.timeout, lambda.timeout);
        assert_eq!(c.fetch.retry_window, FetchOptions::default().retry_window);
        assert!(c.fetch.allow_hosts.is_empty());
        assert!(!c.fetch.allow_file_urls);
        assert!(!c.s3.path_style);
        // An explicit "off" for the old file-URL switch is what the function does anyway.
        let c = config(&[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_ALLOW_FILE_URLS", "false")]).unwrap();
        assert!(!c.fetch.allow_file_urls);
    }

    #[test]
    fn every_setting_is_read() {
        let c = config(&[
            ("SYNCLAKE_OUT", "s3://b/p"),
            ("SYNCLAKE_PARTITION_BY", "identity_pool_id,dt"),
            ("SYNCLAKE_COMPRESSION", "zstd:5"),
            ("SYNCLAKE_FETCH_TIMEOUT_SECS", "3"),
            ("SYNCLAKE_FETCH_MAX_MB", "2"),
            ("SYNCLAKE_FETCH_ATTEMPTS", "1"),
            ("SYNCLAKE_FETCH_RETRY_WINDOW_SECS", "120"),
            ("SYNCLAKE_FETCH_ALLOW_HOSTS", "127.0.0.1:9000, minio.internal"),
            ("SYNCLAKE_CONCURRENCY", "4"),
            ("SYNCLAKE_MAX_FETCHED_MB", "64"),
            ("SYNCLAKE_S3_ENDPOINT", "http://127.0.0.1:5000"),
            ("SYNCLAKE_S3_PATH_STYLE", "true"),
            ("SYNCLAKE_SPOOL_DIR", "/tmp/x"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ])
        .unwrap();
        assert_eq!(c.batch.partition.to_string(), "identity_pool_id,dt");
        assert_eq!(c.batch.writer.codec, Codec::Zstd(5));
        assert_eq!(c.fetch.timeout, Duration::from_secs(3));
        assert_eq!(c.fetch.max_bytes, 2 * 1024 * 1024);
        assert_eq!(c.fetch.attempts, 1);
        assert_eq!(c.fetch.retry_window, Duration::from_secs(120));
        let hosts: Vec<String> = c.fetch.allow_hosts.iter().map(ToString::to_string).collect();
        assert_eq!(hosts, ["127.0.0.1:9000", "minio.internal"]);
        assert!(!c.fetch.allow_file_urls);
        assert_eq!(c.batch.concurrency, 4);
        assert_eq!(c.batch.max_fetched_bytes, 64 * 1024 * 1024);
        assert_eq!(c.s3.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(c.s3.path_style);
        assert_eq!(c.spool_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn errors_name_the_variable() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (&[], "SYNCLAKE_OUT", "not set"),
            (&[("SYNCLAKE_OUT", "gs://b/p")], "SYNCLAKE_OUT", "neither"),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_PARTITION_BY", "dt,day")],
                "SYNCLAKE_PARTITION_BY",
                "day",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_COMPRESSION", "lz4")],
                "SYNCLAKE_COMPRESSION",
                "lz4",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_FETCH_MAX_MB", "lots")],
                "SYNCLAKE_FETCH_MAX_MB",
                "lots",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_FETCH_ATTEMPTS", "0")],
                "SYNCLAKE_FETCH_ATTEMPTS",
                "out of range",
            ),
            (&[("SYNCLAKE_OUTPUT", "s3://b")], "SYNCLAKE_OUTPUT", "set SYNCLAKE_OUT"),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_ALLOW_FILE_URLS", "true")],
                "SYNCLAKE_ALLOW_FILE_URLS",
                "never reads file://",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_FETCH_ALLOW_HOSTS", "http://x/")],
                "SYNCLAKE_FETCH_ALLOW_HOSTS",
                "not host or host:port",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_MAX_FETCHED_MB", "2048")],
                "SYNCLAKE_MAX_FETCHED_MB",
                "out of range",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_FETCH_RETRY_WINDOW_SECS", "0")],
                "SYNCLAKE_FETCH_RETRY_WINDOW_SECS",
                "out of range",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("SYNCLAKE_S3_PATH_STYLE", "yes")],
                "SYNCLAKE_S3_PATH_STYLE",
                "yes",
            ),
            (
                &[("SYNCLAKE_OUT", "s3://b"), ("AWS_LAMBDA_LOG_FORMAT", "xml")],
                "AWS_LAMBDA_LOG_FORMAT",
                "xml",
            ),
        ];
        for (vars, var, needle) in cases {
            let e = config(vars).unwrap_err();
            assert_eq!(e.var, *var, "{vars:?}");
            let msg = e.to_string();
            assert!(msg.starts_with(var) && msg.contains(needle), "{msg}");
        }
    }
}
