//! Payloads → Arrow rows: one row per record change, built column by column.
//!
//! The builders are reused across batches: appending a payload copies its strings straight
//! from the (borrowed) decoded payload into the column buffers, with no per-row allocation.
//! Strings that hold one value per payload (pool, identity, dataset, lineage) are copied once
//! per payload, not once per row (see `payload_columns.rs`).

use std::sync::Arc;

use arrow_array::ArrowPrimitiveType;
use arrow_array::builder::{Int32Builder, Int64Builder, PrimitiveBuilder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;
use synclake_records::{Lineage, Payload, Position, SyncRecord};

use crate::op_column::OpColumn;
use crate::payload_columns::{PayloadColumns, PayloadValues};
use crate::schema::{UTC, batch_schema, timestamp_in_range};

/// Column builders for the table's rows; [`RowsBuilder::finish`] yields a batch and resets.
pub struct RowsBuilder {
    /// Pool, identity, dataset, operation, payload type, source, sequence.
    per_payload: PayloadColumns,
    dataset_sync: Int64Builder,
    dataset_modified: TimestampMillisecondBuilder,
    key: StringBuilder,
    value: StringBuilder,
    op: OpColumn,
    sync: Int64Builder,
    modified: TimestampMillisecondBuilder,
    device_modified: TimestampMillisecondBuilder,
    extra: StringBuilder,
    sub_index: Int32Builder,
    arrival: TimestampMillisecondBuilder,
    rows: usize,
    bytes: usize,
    scratch: String,
}

impl Default for RowsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn ts() -> TimestampMillisecondBuilder {
    TimestampMillisecondBuilder::new().with_timezone(UTC)
}

impl RowsBuilder {
    /// Empty builders.
    pub fn new() -> Self {
        RowsBuilder {
            per_payload: PayloadColumns::default(),
            dataset_sync: Int64Builder::new(),
            dataset_modified: ts(),
            key: StringBuilder::new(),
            value: StringBuilder::new(),
            op: OpColumn::new(),
            sync: Int64Builder::new(),
            modified: ts(),
            device_modified: ts(),
            extra: StringBuilder::new(),
            sub_index: Int32Builder::new(),
            arrival: ts(),
            rows: 0,
            bytes: 0,
            scratch: String::new(),
        }
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Approximate bytes buffered (string data plus fixed-width columns).
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Appends the rows of one payload: one per record (inline records first, then `fetched`,
    /// the records behind an S3 URL), or one row with null record columns when it has none.
    /// Returns the number of rows appended.
    pub fn append(&mut self, payload: &Payload<'_>, fetched: &[SyncRecord<'_>], lineage: &Lineage<'_>) -> usize {
        let mut n = 0;
        for record in payload.records.iter().chain(fetched) {
            self.append_record(payload, Some(record), n);
            n += 1;
        }
        if n == 0 {
            self.append_record(payload, None, 0);
            n = 1;
        }
        // Dataset-level and lineage columns repeat one value over the payload's rows: filled
        // once per payload, column by column, rather than once per row.
        self.append_dataset(payload, lineage, n);
        self.rows += n;
        n
    }

    fn append_dataset(&mut self, p: &Payload<'_>, lineage: &Lineage<'_>, n: usize) {
        let mut offset = itoa::Buffer::new();
        let sequence = match &lineage.position {
            Position::Sequence(s) => s.as_ref(),
            Position::Offset(o) | Position::Index(o) => offset.format(*o),
        };
        let values = PayloadValues {
            pool: p.identity_pool_id.as_str(),
            identity: p.identity_id.as_str(),
            dataset: p.dataset_name.as_str(),
            operation: p.operation,
            payload_type: p.payload_type.as_str(),
            source: &lineage.source,
            sequence,
        };
        self.per_payload.append(&values, n);
        append_n(&mut self.dataset_sync, p.sync_count, n);
        append_n(&mut self.dataset_modified, timestamp_in_range(p.last_modified), n);
        append_n(&mut self.arrival, lineage.arrival_ms, n);
        self.bytes += n
            * (80
                + p.identity_pool_id.as_str().len()
                + p.identity_id.as_str().len()
                + p.dataset_name.as_str().len()
                + lineage.source.len());
    }

    fn append_record(&mut self, p: &Payload<'_>, r: Option<&SyncRecord<'_>>, index: usize) {
        let Some(r) = r else {
            self.key.append_null();
            self.value.append_null();
            self.op.append(None);
            self.sync.append_null();
            self.modified.append_null();
            self.device_modified.append_null();
            self.sub_index.append_null();
            self.append_extra(p, None);
            return;
        };
        self.key.append_value(r.key.as_str());
        let value = r.value.as_ref().map(|v| v.as_str());
        self.value.append_option(value);
        self.op.append(r.op);
        self.sync.append_option(r.sync_count);
        self.modified.append_option(timestamp_in_range(r.last_modified));
        self.device_modified
            .append_option(timestamp_in_range(r.device_last_modified));
        self.sub_index.append_value(i32::try_from(index).unwrap_or(i32::MAX));
        self.bytes += r.key.as_str().len() + value.map_or(0, str::len);
        self.append_extra(p, Some(r));
    }

    /// `extra` is `{"payload":{…},"record":{…},"out_of_range":{…}}` with only the parts that
    /// have fields, or null. `out_of_range` holds timestamps the columns cannot (null there).
    fn append_extra(&mut self, p: &Payload<'_>, r: Option<&SyncRecord<'_>>) {
        let record_extra = r.map(|r| &r.extra).filter(|e| !e.is_empty());
        let outside = |v: Option<i64>| v.filter(|_| timestamp_in_range(v).is_none());
        let out_of_range = [
            ("lastModifiedDate", outside(p.last_modified)),
            (
                "kinesisSyncRecords.lastModifiedDate",
                r.and_then(|r| outside(r.last_modified)),
            ),
            (
                "kinesisSyncRecords.deviceLastModifiedDate",
                r.and_then(|r| outside(r.device_last_modified)),
            ),
        ];
        let any_outside = out_of_range.iter().any(|(_, v)| v.is_some());
        if p.extra.is_empty() && record_extra.is_none() && !any_outside {
            self.extra.append_null();
            return;
        }
        self.scratch.clear();
        self.scratch.push('{');
        if !p.extra.is_empty() {
            self.scratch.push_str("\"payload\":{");
            p.extra.write_members(&mut self.scratch);
            self.scratch.push('}');
        }
        if let Some(e) = record_extra {
            if !p.extra.is_empty() {
                self.scratch.push(',');
            }
            self.scratch.push_str("\"record\":{");
            e.write_members(&mut self.scratch);
            self.scratch.push('}');
        }
        if any_outside {
            if self.scratch.len() > 1 {
                self.scratch.push(',');
            }
            self.scratch.push_str("\"out_of_range\":{");
            let mut first = true;
            for (name, v) in out_of_range.iter().filter_map(|(n, v)| v.map(|v| (n, v))) {
                if !first {
                    self.scratch.push(',');
                }
                first = false;
                self.scratch.push('"');
                self.scratch.push_str(name);
                self.scratch.push_str("\":");
                self.scratch.push_str(itoa::Buffer::new().format(v));
            }
            self.scratch.push('}');
        }
        self.scratch.push('}');
        self.bytes += self.scratch.len();
        self.extra.append_value(&self.scratch);
    }

    /// The buffered rows as a batch of [`batch_schema`] (written as the table schema); the
    /// builders are left empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        self.bytes = 0;
        let [pool, identity, dataset, operation, payload_type, source, sequence] = self.per_payload.finish()?;
        RecordBatch::try_new(
            batch_schema(),
            vec![
                pool,
                identity,
                dataset,
                operation,
                Arc::new(self.dataset_sync.finish()),
                Arc::new(self.dataset_modified.finish()),
                payload_type,
                take_str(&mut self.key),
                take_str(&mut self.value),
                self.op.finish()?,
                Arc::new(self.sync.finish()),
                Arc::new(self.modified.finish()),
                Arc::new(self.device_modified.finish()),
                take_str(&mut self.extra),
                source,
                sequence,
                Arc::new(self.sub_index.finish()),
                Arc::new(self.arrival.finish()),
            ],
        )
    }
}

/// Appends `value` (or null) `n` times.
fn append_n<T: ArrowPrimitiveType>(builder: &mut PrimitiveBuilder<T>, value: Option<T::Native>, n: usize) {
    match value {
        Some(v) => builder.append_value_n(v, n),
        None => builder.append_nulls(n),
    }
}

/// Finishes a string column (the builder is left empty).
fn take_str(builder: &mut StringBuilder) -> ArrayRef {
    Arc::new(builder.finish())
}
