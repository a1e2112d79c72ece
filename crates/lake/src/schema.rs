//! The output table's columns, and the dead-letter table's.
//!
//! One row per record change, dataset-level fields repeated, lineage columns last. Partition
//! columns (`dt`, `hr`, …) are directory names, not stored in the files, as Hive readers expect.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Time zone of every timestamp column: the service's clocks are epoch milliseconds, UTC.
pub const UTC: &str = "UTC";

/// A timestamp readers can hold (years 1..=9999: DuckDB refuses a whole file with one beyond
/// its microsecond range, e.g. a device date sent in nanoseconds), or None. Values outside are
/// kept in `extra`.
pub fn timestamp_in_range(ms: Option<i64>) -> Option<i64> {
    ms.filter(|&v| synclake_records::validate::timestamp_ok(v))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into()))
}

/// Column names of the table, in file order.
pub mod col {
    #![allow(missing_docs)]
    pub const IDENTITY_POOL_ID: &str = "identity_pool_id";
    pub const IDENTITY_ID: &str = "identity_id";
    pub const DATASET_NAME: &str = "dataset_name";
    pub const DATASET_OPERATION: &str = "dataset_operation";
    pub const DATASET_SYNC_COUNT: &str = "dataset_sync_count";
    pub const DATASET_LAST_MODIFIED: &str = "dataset_last_modified";
    pub const PAYLOAD_TYPE: &str = "payload_type";
    pub const KEY: &str = "key";
    pub const VALUE: &str = "value";
    pub const OP: &str = "op";
    pub const SYNC_COUNT: &str = "sync_count";
    pub const LAST_MODIFIED: &str = "last_modified";
    pub const DEVICE_LAST_MODIFIED: &str = "device_last_modified";
    pub const EXTRA: &str = "extra";
    pub const SOURCE: &str = "source";
    pub const SEQUENCE_NUMBER: &str = "sequence_number";
    pub const SUB_INDEX: &str = "sub_index";
    pub const ARRIVAL_TIME: &str = "arrival_time";
}

static TABLE: LazyLock<SchemaRef> = LazyLock::new(|| {
    use col::*;
    Arc::new(Schema::new(vec![
        Field::new(IDENTITY_POOL_ID, DataType::Utf8, false),
        Field::new(IDENTITY_ID, DataType::Utf8, false),
        Field::new(DATASET_NAME, DataType::Utf8, false),
        Field::new(DATASET_OPERATION, DataType::Utf8, true),
        Field::new(DATASET_SYNC_COUNT, DataType::Int64, true),
        Field::new(DATASET_LAST_MODIFIED, ts(), true),
        Field::new(PAYLOAD_TYPE, DataType::Utf8, false),
        Field::new(KEY, DataType::Utf8, true),
        Field::new(VALUE, DataType::Utf8, true),
        Field::new(OP, DataType::Utf8, true),
        Field::new(SYNC_COUNT, DataType::Int64, true),
        Field::new(LAST_MODIFIED, ts(), true),
        Field::new(DEVICE_LAST_MODIFIED, ts(), true),
        Field::new(EXTRA, DataType::Utf8, true),
        Field::new(SOURCE, DataType::Utf8, false),
        Field::new(SEQUENCE_NUMBER, DataType::Utf8, false),
        Field::new(SUB_INDEX, DataType::Int32, true),
        Field::new(ARRIVAL_TIME, ts(), true),
    ]))
});

/// The table schema (without partition columns).
pub fn table_schema() -> SchemaRef {
    TABLE.clone()
}

static BATCH: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields: Vec<Field> = TABLE
        .fields()
        .iter()
        .map(|f| {
            let mut f = f.as_ref().clone();
            if crate::payload_columns::COLUMNS.contains(&f.name().as_str()) || f.name() == col::OP {
                f = f.with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ));
            }
            f
        })
        .collect();
    Arc::new(Schema::new(fields))
});

/// The schema of the batches rows are built in: [`table_schema`], with the
/// per-payload string columns (pool, identity, dataset name and operation, payload type,
/// source, sequence) and the record `op` as `Dictionary(Int32, Utf8)`. The files are written with
/// [`table_schema`]: the Parquet writer reads a dictionary column through its keys, so the
/// stored column (and the Arrow schema kept in the file) is a plain string column.
pub fn batch_schema() -> SchemaRef {
    BATCH.clone()
}

/// Columns whose values repeat a lot (pools, identities, dataset names, keys, enums):
/// dictionary-encoded in Parquet. Identity ids are many (thousands per file), but every
/// record of a payload repeats its identity, and rows reach the writer as a dictionary array
/// of one entry per payload, which the writer looks up once per payload, not per row. The
/// others (values, JSON, sequence numbers, timestamps) are plain: a dictionary there would
/// cost a lookup per row and overflow or rarely pay.
pub const DICTIONARY_COLUMNS: &[&str] = &[
    col::IDENTITY_POOL_ID,
    col::IDENTITY_ID,
    col::DATASET_NAME,
    col::DATASET_OPERATION,
    col::PAYLOAD_TYPE,
    col::KEY,
    col::OP,
    col::SOURCE,
];

/// Column names of the dead-letter table.
pub mod dead_col {
    #![allow(missing_docs)]
    pub const SOURCE: &str = "source";
    pub const SEQUENCE_NUMBER: &str = "sequence_number";
    pub const ARRIVAL_TIME: &str = "arrival_time";
    pub const STAGE: &str = "stage";
    pub const ERROR_KIND: &str = "error_kind";
    pub const ERROR: &str = "error";
    pub const RAW: &str = "raw";
    pub const RAW_TRUNCATED: &str = "raw_truncated";
    pub const FETCHED_BODY: &str = "fetched_body";
    pub const FAILED_AT: &str = "failed_at";
}

static DEAD: LazyLock<SchemaRef> = LazyLock::new(|| {
    use dead_col::*;
    Arc::new(Schema::new(vec![
        Field::new(SOURCE, DataType::Utf8, false),
        Field::new(SEQUENCE_NUMBER, DataType::Utf8, false),
        Field::new(ARRIVAL_TIME, ts(), true),
        Field::new(STAGE, DataType::Utf8, false),
        Field::new(ERROR_KIND, DataType::Utf8, false),
        Field::new(ERROR, DataType::Utf8, false),
        Field::new(RAW, DataType::Binary, false),
        Field::new(RAW_TRUNCATED, DataType::Boolean, false),
        Field::new(FETCHED_BODY, DataType::Binary, true),
        Field::new(FAILED_AT, ts(), false),
    ]))
});

/// The dead-letter schema: the raw bytes, why they failed, and where they came from.
pub fn dead_letter_schema() -> SchemaRef {
    DEAD.clone()
}
