//! The string columns that hold one value per payload (pool, identity, dataset, operation,
//! payload type, lineage): each value is stored once per payload, and every row holds the
//! index of its payload, one key array shared by all of them, instead of the bytes being
//! copied once per row.
//!
//! The columns come out as Arrow dictionary arrays. The file schema still says Utf8: the
//! Parquet writer reads a dictionary array through its keys, so the files are the same as
//! if each value had been copied into every row (see [`crate::schema::batch_schema`]).

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int32Array};
use arrow_buffer::{NullBuffer, NullBufferBuilder, ScalarBuffer};
use arrow_schema::ArrowError;

use crate::schema::col;

/// The per-payload columns, in the order [`PayloadColumns::finish`] returns them (the table's
/// order); [`crate::schema::batch_schema`] types them as dictionaries.
pub(crate) const COLUMNS: [&str; 7] = [
    col::IDENTITY_POOL_ID,
    col::IDENTITY_ID,
    col::DATASET_NAME,
    col::DATASET_OPERATION,
    col::PAYLOAD_TYPE,
    col::SOURCE,
    col::SEQUENCE_NUMBER,
];

/// One payload's values of the per-payload columns.
pub(crate) struct PayloadValues<'v> {
    pub pool: &'v str,
    pub identity: &'v str,
    pub dataset: &'v str,
    /// The dataset operation, which may be missing (the only nullable one).
    pub operation: Option<&'v str>,
    pub payload_type: &'v str,
    pub source: &'v str,
    pub sequence: &'v str,
}

/// Values once per payload, a key (the payload's index) once per row.
pub(crate) struct PayloadColumns {
    keys: Vec<i32>,
    pool: StringBuilder,
    identity: StringBuilder,
    dataset: StringBuilder,
    operation: StringBuilder,
    operation_nulls: NullBufferBuilder,
    payload_type: StringBuilder,
    source: StringBuilder,
    sequence: StringBuilder,
}

impl Default for PayloadColumns {
    fn default() -> Self {
        PayloadColumns {
            keys: Vec::new(),
            pool: StringBuilder::new(),
            identity: StringBuilder::new(),
            dataset: StringBuilder::new(),
            operation: StringBuilder::new(),
            operation_nulls: NullBufferBuilder::new(0),
            payload_type: StringBuilder::new(),
            source: StringBuilder::new(),
            sequence: StringBuilder::new(),
        }
    }
}

impl PayloadColumns {
    /// Appends one payload's values to its next `rows` rows.
    pub(crate) fn append(&mut self, v: &PayloadValues<'_>, rows: usize) {
        // A batch is drained long before it holds 2^31 payloads: the converter's row and
        // byte limits end it at a few hundred thousand rows, and the string builders' own
        // 32-bit offsets would overflow first.
        let key = i32::try_from(self.pool.len()).expect("fewer than 2^31 payloads in a batch");
        self.keys.resize(self.keys.len() + rows, key);
        self.pool.append_value(v.pool);
        self.identity.append_value(v.identity);
        self.dataset.append_value(v.dataset);
        match v.operation {
            Some(op) => {
                self.operation.append_value(op);
                self.operation_nulls.append_n_non_nulls(rows);
            }
            None => {
                // Never read: the rows' keys are null.
                self.operation.append_value("");
                self.operation_nulls.append_n_nulls(rows);
            }
        }
        self.payload_type.append_value(v.payload_type);
        self.source.append_value(v.source);
        self.sequence.append_value(v.sequence);
    }

    /// The columns so far, in the order of [`COLUMNS`], as dictionary arrays; the columns are
    /// left empty.
    pub(crate) fn finish(&mut self) -> Result<[ArrayRef; 7], ArrowError> {
        let keys = ScalarBuffer::from(std::mem::take(&mut self.keys));
        let operation_nulls = self.operation_nulls.finish();
        Ok([
            dictionary(&keys, None, &mut self.pool)?,
            dictionary(&keys, None, &mut self.identity)?,
            dictionary(&keys, None, &mut self.dataset)?,
            dictionary(&keys, operation_nulls, &mut self.operation)?,
            dictionary(&keys, None, &mut self.payload_type)?,
            dictionary(&keys, None, &mut self.source)?,
            dictionary(&keys, None, &mut self.sequence)?,
        ])
    }
}

fn dictionary(
    keys: &ScalarBuffer<i32>,
    nulls: Option<NullBuffer>,
    values: &mut StringBuilder,
) -> Result<ArrayRef, ArrowError> {
    let keys = Int32Array::new(keys.clone(), nulls);
    Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
        keys,
        Arc::new(values.finish()),
    )?))
}

#[cfg(test)]
pub(crate) mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;

    /// Each row's value, read through the keys.
    pub(crate) fn strings(array: &ArrayRef) -> Vec<Option<String>> {
        let dict = array.as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        dict.keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize).to_owned()))
            .collect()
    }

    fn payload<'v>(name: &'v str, operation: Option<&'v str>) -> PayloadValues<'v> {
        PayloadValues {
            pool: "pool",
            identity: name,
            dataset: "ds",
            operation,
            payload_type: "Inline",
            source: "file",
            sequence: name,
        }
    }

    fn owned(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_owned)).collect()
    }

    #[test]
    fn every_row_reads_its_payloads_values() -> Result<(), ArrowError> {
        let mut cols = PayloadColumns::default();
        cols.append(&payload("a", Some("replace")), 2);
        cols.append(&payload("b", None), 3);
        cols.append(&payload("c", Some("remove")), 1);
        let [pool, identity, _, operation, payload_type, _, sequence] = cols.finish()?;
        assert_eq!(pool.len(), 6);
        let ids = [Some("a"), Some("a"), Some("b"), Some("b"), Some("b"), Some("c")];
        assert_eq!(strings(&identity), owned(&ids));
        assert_eq!(strings(&sequence), owned(&ids));
        assert_eq!(strings(&payload_type), owned(&[Some("Inline"); 6]));
        // A payload without an operation: null on each of its rows, not an empty string.
        let ops = [Some("replace"), Some("replace"), None, None, None, Some("remove")];
        assert_eq!(strings(&operation), owned(&ops));
        assert_eq!(operation.null_count(), 3);
        assert_eq!(identity.null_count(), 0);
        Ok(())
    }

    #[test]
    fn finish_leaves_the_columns_empty() -> Result<(), ArrowError> {
        let mut cols = PayloadColumns::default();
        cols.append(&payload("x", None), 4);
        assert!(cols.finish()?.iter().all(|c| c.len() == 4));
        assert!(cols.finish()?.iter().all(|c| c.is_empty()));
        // Keys start again from 0: the next batch does not point into the last one.
        cols.append(&payload("y", Some("replace")), 1);
        let [_, identity, _, operation, ..] = cols.finish()?;
        assert_eq!(strings(&identity), owned(&[Some("y")]));
        assert_eq!(strings(&operation), owned(&[Some("replace")]));
        Ok(())
    }
}
