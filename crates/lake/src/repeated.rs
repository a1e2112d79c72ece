//! A string column whose value repeats over a payload's rows (pool, identity, dataset name,
//! lineage): the value is stored once per payload and each row holds its index, instead of
//! the bytes being copied once per row.
//!
//! The column comes out as an Arrow dictionary array. The file schema still says Utf8: the
//! Parquet writer reads a dictionary array through its keys, so the files are the same as
//! if the value had been copied into every row (see [`crate::schema::batch_schema`]).

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, Int32Builder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray};
use arrow_schema::ArrowError;

/// Values once per run of equal values, keys once per row.
#[derive(Default)]
pub(crate) struct RepeatedColumn {
    values: StringBuilder,
    keys: Int32Builder,
}

impl RepeatedColumn {
    /// Appends `value` (or null) to the next `n` rows.
    pub(crate) fn append_n(&mut self, value: Option<&str>, n: usize) {
        let Some(value) = value else {
            self.keys.append_nulls(n);
            return;
        };
        if self.last() != Some(value.as_bytes()) {
            self.values.append_value(value);
        }
        // A batch is drained long before it holds 2^31 payloads: the converter's row and
        // byte limits end it at a few hundred thousand rows, and the string builder's own
        // 32-bit offsets would overflow first.
        let key = i32::try_from(self.values.len() - 1).expect("fewer than 2^31 values in a batch");
        self.keys.append_value_n(key, n);
    }

    /// The value appended last, if any.
    fn last(&self) -> Option<&[u8]> {
        let offsets = self.values.offsets_slice();
        let [.., start, end] = offsets else { return None };
        self.values.values_slice().get(*start as usize..*end as usize)
    }

    /// The rows so far as a dictionary array; the column is left empty.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let keys = self.keys.finish();
        let values = Arc::new(self.values.finish());
        Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values)?))
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;

    fn strings(array: &ArrayRef) -> Vec<Option<String>> {
        let dict = array.as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        dict.keys()
            .iter()
            .map(|k| k.map(|k| values.value(k as usize).to_owned()))
            .collect()
    }

    #[test]
    fn repeats_each_value_over_its_rows_and_stores_a_run_once() -> Result<(), ArrowError> {
        let mut col = RepeatedColumn::default();
        col.append_n(Some("a"), 2);
        col.append_n(Some("a"), 1);
        col.append_n(None, 2);
        col.append_n(Some(""), 1);
        col.append_n(Some("b"), 3);
        col.append_n(Some("a"), 1);
        let array = col.finish()?;
        let want = [
            Some("a"),
            Some("a"),
            Some("a"),
            None,
            None,
            Some(""),
            Some("b"),
            Some("b"),
            Some("b"),
            Some("a"),
        ];
        let want: Vec<Option<String>> = want.iter().map(|w| w.map(str::to_owned)).collect();
        assert_eq!(strings(&array), want);
        // "a" (rows 0-2), "" , "b", "a" again: runs, not rows.
        assert_eq!(array.as_dictionary::<Int32Type>().values().len(), 4);
        Ok(())
    }

    #[test]
    fn finish_leaves_it_empty() -> Result<(), ArrowError> {
        let mut col = RepeatedColumn::default();
        col.append_n(Some("x"), 4);
        assert_eq!(col.finish()?.len(), 4);
        let empty = col.finish()?;
        assert_eq!(empty.len(), 0);
        col.append_n(Some("x"), 1);
        // The run does not carry over from the previous batch.
        assert_eq!(strings(&col.finish()?), vec![Some("x".to_owned())]);
        Ok(())
    }
}
