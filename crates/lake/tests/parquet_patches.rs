//! The two patches to the parquet crate (vendor/parquet-patches) change no output:
//! - min/max of a dictionary array come from the dictionary values its rows reference, and
//!   equal what the per-row pass gives for the same strings written as a plain array;
//! - pages are Snappy-compressed through a buffer kept per thread, and read back whatever
//!   the order of their sizes and however many threads write at once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::ReadOptionsBuilder;
use parquet::file::statistics::Statistics;

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        // Several pages and mini-batches per column chunk.
        .set_data_page_row_count_limit(700)
        .set_write_batch_size(256)
        .build()
}

/// One column `c` of `array`, written to Parquet in memory (a required column when `array`
/// has no nulls: its pages then have no definition levels).
fn write(array: ArrayRef) -> Bytes {
    let nullable = array.null_count() > 0;
    let schema = Arc::new(Schema::new(vec![Field::new("c", array.data_type().clone(), nullable)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props())).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out.into()
}

fn metadata(file: &Bytes) -> ParquetMetaData {
    let options = ReadOptionsBuilder::new().with_page_index().build();
    let reader = SerializedFileReader::new_with_options(file.clone(), options).unwrap();
    reader.metadata().clone()
}

/// A min and a max (None: not written).
type Bounds = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The chunk's min and max, and every page's.
fn min_max(file: &Bytes) -> (Bounds, Vec<Bounds>) {
    let md = metadata(file);
    let Some(Statistics::ByteArray(chunk)) = md.row_group(0).column(0).statistics() else {
        panic!("a byte-array column has byte-array statistics");
    };
    let chunk = (
        chunk.min_opt().map(|v| v.data().to_vec()),
        chunk.max_opt().map(|v| v.data().to_vec()),
    );
    let index = md.page_index().expect("page indexes are read");
    let Some(ColumnIndexMetaData::BYTE_ARRAY(pages)) = index.column_index(0, 0) else {
        panic!("a byte-array column index");
    };
    let pages = (0..pages.num_pages() as usize)
        .map(|i| {
            (
                pages.min_value(i).map(<[u8]>::to_vec),
                pages.max_value(i).map(<[u8]>::to_vec),
            )
        })
        .collect();
    (chunk, pages)
}

/// The values of a string array, owned.
fn owned(array: &dyn Array) -> Vec<Option<String>> {
    array.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect()
}

/// The values of column `c`, read back.
fn strings(file: &Bytes) -> Vec<Option<String>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = batch.column(0);
        match column.as_dictionary_opt::<Int32Type>() {
            Some(dict) => {
                let dict = dict.downcast_dict::<StringArray>().unwrap();
                out.extend(dict.into_iter().map(|v| v.map(str::to_owned)));
            }
            None => out.extend(owned(column)),
        }
    }
    out
}

/// A dictionary array whose rows use `keys` (None: null) into `values`, and the same strings
/// as a plain array.
fn both(values: &[&str], keys: &[Option<i32>]) -> (ArrayRef, ArrayRef) {
    let dict = DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(keys.to_vec()),
        Arc::new(StringArray::from(values.to_vec())),
    )
    .unwrap();
    let plain: StringArray = keys.iter().map(|k| k.map(|k| values[k as usize])).collect();
    (Arc::new(dict), Arc::new(plain))
}

#[test]
fn dictionary_statistics_leave_out_values_no_row_uses() {
    // "a" and "zz" are in the dictionary but in no row: min/max must not see them.
    let values = ["a", "mid", "k", "zz", "q", "kk"];
    let keys: Vec<Option<i32>> = (0..3000)
        .map(|i| match i % 7 {
            0 => None,
            1 | 2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            _ => Some(5),
        })
        .collect();
    let (dict, plain) = both(&values, &keys);
    let (dict_file, plain_file) = (write(dict), write(plain));
    let ((min, max), pages) = min_max(&dict_file);
    assert_eq!((min.as_deref(), max.as_deref()), (Some(&b"k"[..]), Some(&b"q"[..])));
    assert!(pages.len() > 1, "several pages: {}", pages.len());
    assert_eq!(min_max(&dict_file), min_max(&plain_file), "as the per-row pass gives");
    assert_eq!(strings(&dict_file), strings(&plain_file));
}

#[test]
fn dictionary_statistics_of_a_dictionary_larger_than_a_mini_batch() {
    // More dictionary values (600) than rows in a mini-batch (256), fewer than in the column
    // (so that the writer takes the dictionary path): the per-row pass is taken.
    let values: Vec<String> = (0..600).map(|i| format!("v{:05}", (i * 7919) % 600)).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let keys: Vec<Option<i32>> = (0..1500).map(|i| (i % 11 != 0).then_some((i * 7) % 599)).collect();
    let (dict, plain) = both(&values, &keys);
    let (dict_file, plain_file) = (write(dict), write(plain));
    assert_eq!(min_max(&dict_file), min_max(&plain_file));
    assert_eq!(strings(&dict_file), strings(&plain_file));
}

/// Not the patch's path (no value to intern, so the writer skips the dictionary cache), but
/// the behaviour around it: no min/max, every null counted.
#[test]
fn all_null_pages_of_a_dictionary_column_have_no_min_max() {
    let (dict, plain) = both(&["x", "y"], &[None; 900]);
    let (dict_file, plain_file) = (write(dict), write(plain));
    let md = metadata(&dict_file);
    let stats = md.row_group(0).column(0).statistics().unwrap();
    assert_eq!(stats.null_count_opt(), Some(900));
    assert!(stats.min_bytes_opt().is_none() && stats.max_bytes_opt().is_none());
    assert_eq!(strings(&dict_file), strings(&plain_file));
}

/// Values of `len` bytes each, different from row to row; every fifth null if `nulls`.
fn values(rows: usize, len: usize, seed: usize, nulls: bool) -> ArrayRef {
    let array: StringArray = (0..rows)
        .map(|i| {
            let mut s = format!("{seed}-{i}-");
            while s.len() < len {
                s.push(char::from(b'a' + ((i * 31 + s.len() * 7 + seed) % 26) as u8));
            }
            (!nulls || i % 5 != 1).then_some(s)
        })
        .collect();
    Arc::new(array)
}

#[test]
fn snappy_pages_read_back_whatever_their_sizes_and_threads() {
    // Large pages then small ones then large again, on several threads at once: a buffer kept
    // from a larger page must never leak bytes into a smaller one.
    // (rows, bytes per value, nulls): pages with and without definition levels, and one value
    // of 3 MB, whose page is larger than the kept buffer.
    let shapes = [
        (3000, 900, true),
        (500, 3, false),
        (2000, 5000, false),
        (1, 3_000_000, false),
        (10, 1, true),
        (4000, 40, false),
    ];
    std::thread::scope(|s| {
        for thread in 0..4 {
            s.spawn(move || {
                for (i, &(rows, len, nulls)) in shapes.iter().enumerate() {
                    let array = values(rows, len, thread * 10 + i, nulls);
                    let file = write(array.clone());
                    assert_eq!(strings(&file), owned(&array), "thread {thread}, shape {i}");
                }
            });
        }
    });
}
