//! Shared helpers of the lake's tests: run a replay, read a table back row by row.
#![allow(dead_code, clippy::unwrap_used)]

pub mod http;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use synclake_lake::{FetchOptions, Fetcher, Progress, ReplayOptions, ReplaySummary, S3Options, Store, input, replay};
use synclake_records::InputFormat;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// One row of the table, as plain values, plus the partition directory it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub partition: String,
    pub file: String,
    pub identity_pool_id: String,
    pub identity_id: String,
    pub dataset_name: String,
    pub dataset_operation: Option<String>,
    pub dataset_sync_count: Option<i64>,
    pub dataset_last_modified: Option<i64>,
    pub payload_type: String,
    pub key: Option<String>,
    pub value: Option<String>,
    pub op: Option<String>,
    pub sync_count: Option<i64>,
    pub last_modified: Option<i64>,
    pub device_last_modified: Option<i64>,
    pub extra: Option<String>,
    pub source: String,
    pub sequence_number: String,
    pub sub_index: Option<i32>,
    pub arrival_time: Option<i64>,
}

fn s(b: &RecordBatch, name: &str, i: usize) -> Option<String> {
    let a = b.column_by_name(name).unwrap().as_string::<i32>();
    (!a.is_null(i)).then(|| a.value(i).to_owned())
}
fn i64_(b: &RecordBatch, name: &str, i: usize) -> Option<i64> {
    let a = b.column_by_name(name).unwrap().as_primitive::<Int64Type>();
    (!a.is_null(i)).then(|| a.value(i))
}
fn ts(b: &RecordBatch, name: &str, i: usize) -> Option<i64> {
    let a = b
        .column_by_name(name)
        .unwrap()
        .as_primitive::<TimestampMillisecondType>();
    (!a.is_null(i)).then(|| a.value(i))
}

/// Parquet files of a directory tree, skipping `_`/`.`-prefixed names as table readers do.
pub fn data_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else if name.ends_with(".parquet") {
                out.push(p);
            }
        }
    }
    walk(root, &mut out);
    out
}

/// The batches of one Parquet file; none when the file vanished after it was listed (a
/// consumer restarting beside a test that polls its table deletes the files of an
/// uncommitted flush).
pub fn read_batches(path: &Path) -> Vec<RecordBatch> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// Every row of the table under `root`.
pub fn read_table(root: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for path in data_files(root) {
        let rel = path.strip_prefix(root).unwrap();
        let partition = rel
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        for b in read_batches(&path) {
            // Columns built as dictionaries (one value per payload) are stored as strings.
            assert_eq!(b.schema(), synclake_lake::schema::table_schema(), "{}", path.display());
            let sub = b.column_by_name("sub_index").unwrap().as_primitive::<Int32Type>();
            for i in 0..b.num_rows() {
                rows.push(Row {
                    partition: partition.clone(),
                    file: rel.to_string_lossy().into_owned(),
                    identity_pool_id: s(&b, "identity_pool_id", i).unwrap(),
                    identity_id: s(&b, "identity_id", i).unwrap(),
                    dataset_name: s(&b, "dataset_name", i).unwrap(),
                    dataset_operation: s(&b, "dataset_operation", i),
                    dataset_sync_count: i64_(&b, "dataset_sync_count", i),
                    dataset_last_modified: ts(&b, "dataset_last_modified", i),
                    payload_type: s(&b, "payload_type", i).unwrap(),
                    key: s(&b, "key", i),
                    value: s(&b, "value", i),
                    op: s(&b, "op", i),
                    sync_count: i64_(&b, "sync_count", i),
                    last_modified: ts(&b, "last_modified", i),
                    device_last_modified: ts(&b, "device_last_modified", i),
                    extra: s(&b, "extra", i),
                    source: s(&b, "source", i).unwrap(),
                    sequence_number: s(&b, "sequence_number", i).unwrap(),
                    sub_index: (!sub.is_null(i)).then(|| sub.value(i)),
                    arrival_time: ts(&b, "arrival_time", i),
                });
            }
        }
    }
    rows
}

/// One dead letter, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub struct Dead {
    pub source: String,
    pub sequence_number: String,
    pub stage: String,
    pub error_kind: String,
    pub error: String,
    pub raw: Vec<u8>,
    pub raw_truncated: bool,
    pub fetched_body: Option<Vec<u8>>,
}

pub fn read_dead_letters(root: &Path) -> Vec<Dead> {
    let dir = root.join("_dead_letters");
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"))
    {
        for b in read_batches(&f) {
            let raw = b.column_by_name("raw").unwrap().as_binary::<i32>();
            let trunc = b.column_by_name("raw_truncated").unwrap().as_boolean();
            let body = b.column_by_name("fetched_body").unwrap().as_binary::<i32>();
            for i in 0..b.num_rows() {
                out.push(Dead {
                    source: s(&b, "source", i).unwrap(),
                    sequence_number: s(&b, "sequence_number", i).unwrap(),
                    stage: s(&b, "stage", i).unwrap(),
                    error_kind: s(&b, "error_kind", i).unwrap(),
                    error: s(&b, "error", i).unwrap(),
                    raw: raw.value(i).to_vec(),
                    raw_truncated: trunc.value(i),
                    fetched_body: (!body.is_null(i)).then(|| body.value(i).to_vec()),
                });
            }
        }
    }
    out
}

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
