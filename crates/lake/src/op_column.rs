//! The operation columns (the record's `op` and the payload's `dataset_operation`): one of two
//! values on every row, built as a dictionary array over one fixed dictionary, so a row costs
//! a key and no string bytes.
//!
//! The Parquet writer encodes a dictionary array by looking each dictionary entry up once per
//! column chunk and each row by its key; the stored column (a dictionary-encoded string
//! column, see [`crate::schema::batch_schema`]) is the same as if every row held the string.

use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, StringArray};
use arrow_buffer::NullBufferBuilder;
use arrow_schema::ArrowError;
use synclake_records::Operation;

use crate::payload_columns::dictionary;

/// The dictionary: each operation's spelling at the index of its key. One array shared by
/// every batch, so the writer knows it again and looks its entries up once per column chunk.
static DICTIONARY: LazyLock<ArrayRef> = LazyLock::new(|| {
    Arc::new(StringArray::from(vec![
        Operation::Replace.as_str(),
        Operation::Remove.as_str(),
    ]))
});

fn key(op: Operation) -> i32 {
    match op {
        Operation::Replace => 0,
        Operation::Remove => 1,
    }
}

/// Keys of the rows' operations, null where a row has none.
pub(crate) struct OpColumn {
    keys: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl OpColumn {
    /// An empty column.
    pub(crate) fn new() -> Self {
        OpColumn {
            keys: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// Appends one row's operation.
    pub(crate) fn append(&mut self, op: Option<Operation>) {
        self.append_n(op, 1);
    }

    /// Appends `op` to the next `rows` rows.
    pub(crate) fn append_n(&mut self, op: Option<Operation>, rows: usize) {
        // A null row's key is never read.
        self.keys.resize(self.keys.len() + rows, op.map_or(0, key));
        match op {
            Some(_) => self.nulls.append_n_non_nulls(rows),
            None => self.nulls.append_n_nulls(rows),
        }
    }

    /// The rows so far as a dictionary array; the column is left empty.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        dictionary(
            std::mem::take(&mut self.keys).into(),
            self.nulls.finish(),
            DICTIONARY.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;
    use crate::payload_columns::tests::strings;

    #[test]
    fn rows_read_their_operation_or_null() -> Result<(), ArrowError> {
        let mut col = OpColumn::new();
        for op in [Some(Operation::Remove), None, Some(Operation::Replace)] {
            col.append(op);
        }
        let array = col.finish()?;
        let expected = [Some("remove"), None, Some("replace")].map(|s| s.map(str::to_owned));
        assert_eq!(strings(&array), expected);
        assert_eq!(array.null_count(), 1);
        // Left empty, and every batch shares the one dictionary.
        col.append(Some(Operation::Replace));
        let next = col.finish()?;
        assert_eq!(next.len(), 1);
        let values = |a: &ArrayRef| Arc::as_ptr(a.as_any_dictionary().values());
        assert!(std::ptr::addr_eq(values(&array), values(&next)));
        Ok(())
    }
}
