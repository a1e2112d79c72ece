//! A replay of local inputs into a local table, as the library runs it (no binary), and fetch
//! options that keep it off the network.

use std::path::{Path, PathBuf};

use synclake_lake::{FetchOptions, Fetcher, Progress, ReplayOptions, ReplaySummary, S3Options, Store, input, replay};
use synclake_records::InputFormat;

/// Replays `inputs` into `out` (a local directory) with `opts`.
pub fn run_replay(
    inputs: &[PathBuf],
    out: &Path,
    format: Option<InputFormat>,
    unit_bytes: u64,
    opts: &ReplayOptions,
    fetch: FetchOptions,
) -> ReplaySummary {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store = Store::open(out.to_str().unwrap(), &S3Options::default(), &std::env::temp_dir()).unwrap();
    let units = input::plan(inputs, format, unit_bytes).unwrap();
    let fetcher = Fetcher::new(fetch).unwrap();
    replay(&units, &store, &fetcher, rt.handle(), opts, &Progress::default()).unwrap()
}

/// Fetch options that never reach the network: one quick attempt, file URLs allowed, and the
/// test servers on 127.0.0.1 (any port) allowed explicitly, as the fetch policy requires.
pub fn offline_fetch() -> FetchOptions {
    FetchOptions {
        attempts: 1,
        timeout: std::time::Duration::from_secs(2),
        allow_file_urls: true,
        allow_hosts: vec!["127.0.0.1".parse().unwrap()],
        ..FetchOptions::default()
    }
}
