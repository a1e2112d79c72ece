//! The string columns that hold one value per payload (pool, identity, dataset, operation,
//! payload type, lineage), built as dictionaries instead of the bytes being copied once per
//! row:
//! - identity and sequence number, new with almost every payload: each value is stored once
//!   per payload, and every row holds the index of its payload (one key array for both);
//! - pool, dataset name, payload type and source, which take a few values: each distinct
//!   value is stored once per batch, found among the last few distinct values, and every row
//!   holds its index. The Parquet writer then looks up a few values per batch instead of one
//!   per payload;
//! - the dataset operation, over the fixed dictionary of [`OpColumn`].
//!
//! The columns come out as Arrow dictionary arrays. The file schema still says Utf8: the
//! Parquet writer reads a dictionary array through its keys, so the files are the same as
//! if each value had been copied into every row (see [`crate::schema::batch_schema`]).

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int32Array};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::ArrowError;
use synclake_records::Operation;

use crate::op_column::OpColumn;
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
    pub operation: Option<Operation>,
    pub payload_type: &'v str,
    pub source: &'v str,
    pub sequence: &'v str,
}

/// Distinct values of a [`FewValues`] column searched before a value is stored again. Pools,
/// dataset names (a dataset's name is one of at most a few dozen an app uses), payload types
/// and sources are fewer; with more, a repeat is merely stored twice.
const FEW: usize = 16;

/// A per-payload column of few distinct values: each stored once, a key per row.
#[derive(Default)]
struct FewValues {
    /// Each row's key, once a second value has come; until then every row's key is 0 and
    /// only `rows` counts them (pool, payload type and source rarely take a second value).
    keys: Vec<i32>,
    /// Whether `keys` holds a key for every row.
    spread: bool,
    rows: usize,
    values: StringBuilder,
}

impl FewValues {
    /// Appends `value` to the next `rows` rows.
    fn append(&mut self, value: &str, rows: usize) {
        let n = self.values.len();
        let (offsets, bytes) = (self.values.offsets_slice(), self.values.values_slice());
        let stored = |i: usize| &bytes[offsets[i] as usize..offsets[i + 1] as usize];
        // The most recent first: consecutive payloads often share a value.
        let found = (n.saturating_sub(FEW)..n)
            .rev()
            .find(|&i| stored(i) == value.as_bytes());
        let key = found.unwrap_or_else(|| {
            self.values.append_value(value);
            n
        });
        if key != 0 && !self.spread {
            self.keys.resize(self.rows, 0);
            self.spread = true;
        }
        if self.spread {
            self.keys.resize(self.rows + rows, key_of(key));
        }
        self.rows += rows;
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let keys = if std::mem::take(&mut self.spread) {
            std::mem::take(&mut self.keys)
        } else {
            vec![0; self.rows]
        };
        self.rows = 0;
        dictionary(keys.into(), None, Arc::new(self.values.finish()))
    }
}

/// A key for index `i` of a batch's values. A batch is drained long before it holds 2^31
/// payloads: the converter's row and byte limits end it at a few hundred thousand rows, and
/// the string builders' own 32-bit offsets would overflow first.
fn key_of(i: usize) -> i32 {
    i32::try_from(i).expect("fewer than 2^31 payloads in a batch")
}

/// The per-payload columns of a batch.
pub(crate) struct PayloadColumns {
    /// Each row's payload index: the keys of `identity` and `sequence`.
    payload_keys: Vec<i32>,
    identity: StringBuilder,
    sequence: StringBuilder,
    pool: FewValues,
    dataset: FewValues,
    operation: OpColumn,
    payload_type: FewValues,
    source: FewValues,
}

impl Default for PayloadColumns {
    fn default() -> Self {
        PayloadColumns {
            payload_keys: Vec::new(),
            identity: StringBuilder::new(),
            sequence: StringBuilder::new(),
            pool: FewValues::default(),
            dataset: FewValues::default(),
            operation: OpColumn::new(),
            payload_type: FewValues::default(),
            source: FewValues::default(),
        }
    }
}

impl PayloadColumns {
    /// Appends one payload's values to its next `rows` rows.
    pub(crate) fn append(&mut self, v: &PayloadValues<'_>, rows: usize) {
        let key = key_of(self.identity.len());
        self.payload_keys.resize(self.payload_keys.len() + rows, key);
        self.identity.append_value(v.identity);
        self.sequence.append_value(v.sequence);
        self.pool.append(v.pool, rows);
        self.dataset.append(v.dataset, rows);
        self.operation.append_n(v.operation, rows);
        self.payload_type.append(v.payload_type, rows);
        self.source.append(v.source, rows);
    }

    /// The columns so far, in the order of [`COLUMNS`], as dictionary arrays; the columns are
    /// left empty.
    pub(crate) fn finish(&mut self) -> Result<[ArrayRef; 7], ArrowError> {
        let keys = ScalarBuffer::from(std::mem::take(&mut self.payload_keys));
        Ok([
            self.pool.finish()?,
            dictionary(keys.clone(), None, Arc::new(self.identity.finish()))?,
            self.dataset.finish()?,
            self.operation.finish()?,
            self.payload_type.finish()?,
            self.source.finish()?,
            dictionary(keys, None, Arc::new(self.sequence.finish()))?,
        ])
    }
}

/// A dictionary array of `keys` (null where `nulls` says) into `values`.
pub(crate) fn dictionary(
    keys: ScalarBuffer<i32>,
    nulls: Option<NullBuffer>,
    values: ArrayRef,
) -> Result<ArrayRef, ArrowError> {
    let keys = Int32Array::new(keys, nulls);
    Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values)?))
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

    fn payload(name: &str, operation: Option<Operation>) -> PayloadValues<'_> {
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
        cols.append(&payload("a", Some(Operation::Replace)), 2);
        cols.append(&payload("b", None), 3);
        cols.append(&payload("c", Some(Operation::Remove)), 1);
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
        cols.append(&payload("y", Some(Operation::Replace)), 1);
        let [_, identity, _, operation, ..] = cols.finish()?;
        assert_eq!(strings(&identity), owned(&[Some("y")]));
        assert_eq!(strings(&operation), owned(&[Some("replace")]));
        Ok(())
    }

    #[test]
    fn few_valued_columns_store_each_value_once_however_they_interleave() -> Result<(), ArrowError> {
        let mut cols = PayloadColumns::default();
        let pools: Vec<String> = (0..FEW + 4).map(|i| format!("pool-{i}")).collect();
        // Two pools taking turns, then more distinct pools than are searched, then the first
        // again: every row reads its own pool whichever way it was stored.
        let order: Vec<&str> = ["pool-0", "pool-1", "pool-0", "pool-1"]
            .into_iter()
            .chain(pools.iter().map(String::as_str))
            .chain(["pool-0"])
            .collect();
        for pool in &order {
            cols.append(
                &PayloadValues {
                    pool,
                    ..payload("id", Some(Operation::Replace))
                },
                2,
            );
        }
        let [pool, _, dataset, _, payload_type, source, _] = cols.finish()?;
        let expected: Vec<Option<&str>> = order.iter().flat_map(|p| [Some(*p); 2]).collect();
        assert_eq!(strings(&pool), owned(&expected));
        let stored = |a: &ArrayRef| a.as_any_dictionary().values().len();
        // pool-0 and pool-1 once, pool-2 .. pool-19 once each, and pool-0 a second time: by
        // the end it is no longer among the last FEW values searched.
        assert_eq!(stored(&pool), 2 + (FEW + 2) + 1);
        assert_eq!((stored(&dataset), stored(&payload_type), stored(&source)), (1, 1, 1));
        Ok(())
    }
}
