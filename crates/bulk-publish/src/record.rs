//! Every run, recorded in the table: rows of `<table>/_bulk_publish/`, so analysts can tell when
//! the table became complete (the last SUCCEEDED run of each pool) and which rows a backfill
//! repeated. One small Parquet file per (pool, run, status), under a create-only name: recording
//! the same run twice (a Lambda retry, a second attach) writes nothing new.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use synclake_lake::{LakeError, Store};

use crate::report::{PoolReport, Status};

/// The directory of the runs, relative to the table root. `_`-prefixed: readers of the table's
/// `dt=*/hr=*` partitions never see it.
pub const DIR: &str = "_bulk_publish";

/// The schema of the rows.
pub fn schema() -> Schema {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Schema::new(vec![
        Field::new("pool", DataType::Utf8, false),
        Field::new("requested_at", ts(), false),
        Field::new("started_at", ts(), true),
        Field::new("completed_at", ts(), true),
        Field::new("status", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, true),
        Field::new("attached", DataType::Boolean, false),
    ])
}

/// The row a report gives, if any: a run that started (succeeded, failed, left in progress)
/// is a row as reported; an AlreadyStreamed answer names the last success (its start time),
/// recorded as SUCCEEDED — so a run finished after `--no-wait` or an interrupted watch still
/// gets its row (the same name as when it was watched: create-only writes it once). Refusals
/// and errors ran nothing.
pub fn row(report: &PoolReport) -> Option<PoolReport> {
    match report.status {
        Status::Succeeded | Status::Failed | Status::InProgress => Some(report.clone()),
        Status::StillRunning => Some(PoolReport {
            status: Status::InProgress,
            ..report.clone()
        }),
        Status::AlreadyStreamed if report.started_at.is_some() => Some(PoolReport {
            status: Status::Succeeded,
            attached: false,
            message: None,
            next_allowed_at: None,
            ..report.clone()
        }),
        _ => None,
    }
}

/// The object key of a report's row: the run is named by its start time (the request time
/// until the service reports one).
pub fn key(report: &PoolReport) -> String {
    let pool: String = report
        .pool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let at = report.started_at.unwrap_or(report.requested_at);
    format!("{DIR}/{pool}-{at}-{}.parquet", report.status.as_str())
}

/// The Parquet bytes of one report's row.
pub fn encode(report: &PoolReport) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let tz = "UTC";
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![report.pool.as_str()])),
        Arc::new(TimestampMillisecondArray::from(vec![report.requested_at]).with_timezone(tz)),
        Arc::new(TimestampMillisecondArray::from(vec![report.started_at]).with_timezone(tz)),
        Arc::new(TimestampMillisecondArray::from(vec![report.completed_at]).with_timezone(tz)),
        Arc::new(StringArray::from(vec![report.status.as_str()])),
        Arc::new(StringArray::from(vec![report.message.as_deref()])),
        Arc::new(BooleanArray::from(vec![report.attached])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema()), columns)?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

/// Why a run could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The row could not be encoded.
    #[error("encode the _bulk_publish row: {0}")]
    Encode(#[from] parquet::errors::ParquetError),
    /// The table refused the write.
    #[error(transparent)]
    Store(#[from] LakeError),
}

/// Records a report's [`row`]; `Ok(false)` when it was recorded before or gives no row.
pub async fn record(store: &Store, report: &PoolReport) -> Result<bool, RecordError> {
    let Some(row) = row(report) else {
        return Ok(false);
    };
    Ok(store.create_control(&key(&row), encode(&row)?).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray as _;
    use arrow_array::types::TimestampMillisecondType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn a_row_round_trips_and_names_its_run() {
        let mut r = PoolReport::new("us-east-1:0001", Status::Succeeded, 1_000);
        r.started_at = Some(2_000);
        r.completed_at = Some(3_000);
        assert_eq!(key(&r), "_bulk_publish/us-east-1_0001-2000-SUCCEEDED.parquet");
        r.message = Some("m".into());
        let bytes = bytes::Bytes::from(encode(&r).expect("encodes"));
        let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map(|r| r.filter_map(Result::ok).collect())
            .expect("reads");
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.schema().as_ref(), &schema());
        let text = |name: &str| b.column_by_name(name).map(|c| c.as_string::<i32>().value(0).to_owned());
        let time = |name: &str| {
            b.column_by_name(name)
                .map(|c| c.as_primitive::<TimestampMillisecondType>().value(0))
        };
        assert_eq!(text("pool").as_deref(), Some("us-east-1:0001"));
        assert_eq!(text("status").as_deref(), Some("SUCCEEDED"));
        assert_eq!(text("message").as_deref(), Some("m"));
        assert_eq!(
            (time("requested_at"), time("started_at"), time("completed_at")),
            (Some(1_000), Some(2_000), Some(3_000))
        );
        assert!(
            row(&PoolReport::new("p", Status::AlreadyStreamed, 0)).is_none(),
            "no start time: nothing to name"
        );
        assert!(row(&PoolReport::new("p", Status::NotConfigured, 0)).is_none());
        let mut already = PoolReport::new("p", Status::AlreadyStreamed, 5_000);
        already.started_at = Some(2_000);
        assert_eq!(
            row(&already).map(|r| key(&r)),
            Some("_bulk_publish/p-2000-SUCCEEDED.parquet".to_owned())
        );
    }
}
