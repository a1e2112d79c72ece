//! A table written by synclake, read back as plain values: data files, rows with the partition
//! directory they were found in, and dead letters. Every batch is checked against the table
//! schema on the way.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// One row of the table, as plain values, plus the partition directory it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The partition directory, relative to the table root (`dt=…/…`).
    pub partition: String,
    /// The data file, relative to the table root.
    pub file: String,
    /// The `identity_pool_id` column.
    pub identity_pool_id: String,
    /// The `identity_id` column.
    pub identity_id: String,
    /// The `dataset_name` column.
    pub dataset_name: String,
    /// The `dataset_operation` column.
    pub dataset_operation: Option<String>,
    /// The `dataset_sync_count` column.
    pub dataset_sync_count: Option<i64>,
    /// The `dataset_last_modified` column, epoch milliseconds.
    pub dataset_last_modified: Option<i64>,
    /// The `payload_type` column.
    pub payload_type: String,
    /// The `key` column.
    pub key: Option<String>,
    /// The `value` column.
    pub value: Option<String>,
    /// The `op` column.
    pub op: Option<String>,
    /// The `sync_count` column.
    pub sync_count: Option<i64>,
    /// The `last_modified` column, epoch milliseconds.
    pub last_modified: Option<i64>,
    /// The `device_last_modified` column, epoch milliseconds.
    pub device_last_modified: Option<i64>,
    /// The `extra` column (unknown fields as JSON).
    pub extra: Option<String>,
    /// The `source` column (the shard, or the input).
    pub source: String,
    /// The `sequence_number` column.
    pub sequence_number: String,
    /// The `sub_index` column (the record within an aggregated Kinesis record).
    pub sub_index: Option<i32>,
    /// The `arrival_time` column, epoch milliseconds.
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
    /// The `source` column (the shard, or the input).
    pub source: String,
    /// The `sequence_number` column.
    pub sequence_number: String,
    /// The `stage` column: where the record failed.
    pub stage: String,
    /// The `error_kind` column.
    pub error_kind: String,
    /// The `error` column: the message.
    pub error: String,
    /// The `raw` column: the record as received (possibly truncated).
    pub raw: Vec<u8>,
    /// The `raw_truncated` column.
    pub raw_truncated: bool,
    /// The `fetched_body` column: the S3Url body, when one was fetched.
    pub fetched_body: Option<Vec<u8>>,
}

/// Every dead letter of the table under `root` (`_dead_letters/*.parquet`); none when the
/// table has no dead letters.
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
