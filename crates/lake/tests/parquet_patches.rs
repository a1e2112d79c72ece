//! The two patches to the parquet crate (vendor/parquet-patches) change no output:
//! - min/max of a dictionary array come from the dictionary values its rows reference, and
//!   equal what the per-row pass gives for the same strings written as a plain array;
//! - pages are Snappy-compressed through a buffer kept per thread, and read back whatever
//!   the order of their sizes and however many threads write at once.
//!
//! The `upstream_*` tests are upstream's own tests of the patched code, ported to the public
//! API (the crate's unit tests cannot run here: building its dev-dependencies takes too long,
//! see vendor/parquet-patches/README.md): `tests/arrow_reader/statistics.rs` `test_dictionary`
//! and `column::writer::tests::test_column_writer_compression_v1`/`_v2` with
//! `compression::tests::test_codec_snappy`'s sizes.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type};
use arrow_array::{Array, ArrayRef, DictionaryArray, Int8Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::column::reader::{get_column_reader, get_typed_column_reader};
use parquet::column::writer::{get_column_writer, get_typed_column_writer};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, Int32Type as ParquetInt32};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::{EnabledStatistics, ReaderProperties, WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedPageReader};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescriptor, ColumnPath, Type as SchemaType};

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

// Upstream's tests of the patched code, ported from parquet 60.2.0.

/// Upstream's `make_dict_batch` (`tests/arrow_reader/mod.rs`): string dictionaries with `Int8`
/// and `Int32` keys, and an `Int64` dictionary.
fn upstream_dict_batch() -> RecordBatch {
    let values = [
        Some("abc"),
        Some("def"),
        None,
        Some("def"),
        Some("abc"),
        Some("fffff"),
        Some("aaa"),
    ];
    let dict_i8_array = DictionaryArray::<Int8Type>::from_iter(values.iter().copied());
    let dict_i32_array = DictionaryArray::<Int32Type>::from_iter(values.iter().copied());
    let int64_values = Int64Array::from(vec![0, -100, 100]);
    let keys = Int8Array::from_iter([Some(0), Some(1), None, Some(0), Some(0), Some(2), Some(0)]);
    let dict_i8_int_array = DictionaryArray::<Int8Type>::try_new(keys, Arc::new(int64_values)).unwrap();
    RecordBatch::try_from_iter(vec![
        ("string_dict_i8", Arc::new(dict_i8_array) as ArrayRef),
        ("string_dict_i32", Arc::new(dict_i32_array) as ArrayRef),
        ("int_dict_i8", Arc::new(dict_i8_int_array) as ArrayRef),
    ])
    .unwrap()
}

/// Upstream's `test_dictionary` (`tests/arrow_reader/statistics.rs`, `Scenario::Dictionary`, 5
/// rows per row group), row-group and page statistics both (`Check::Both`). The first row
/// group's rows reference "abc" and "def" of a four-value dictionary (the patched pass, which
/// must leave "fffff" and "aaa" out); the second's two rows take the per-row pass.
#[test]
fn upstream_test_dictionary() {
    let batch = upstream_dict_batch();
    // Upstream's make_test_file_rg.
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(5))
        .set_bloom_filter_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let md = metadata(&out.into());
    assert_eq!(md.num_row_groups(), 2);
    let index = md.page_index().expect("page indexes are read");

    let rows: Vec<i64> = md.row_groups().iter().map(|rg| rg.num_rows()).collect();
    assert_eq!(rows, [5, 2], "row counts");
    for column in 0..2 {
        let mut chunk_bounds = Vec::new();
        for rg in 0..2 {
            let Some(Statistics::ByteArray(stats)) = md.row_group(rg).column(column).statistics() else {
                panic!("column {column}: byte-array statistics");
            };
            let bounds = (
                stats.min_opt().map(|v| v.data().to_vec()),
                stats.max_opt().map(|v| v.data().to_vec()),
            );
            assert!(stats.min_is_exact() && stats.max_is_exact(), "exact");
            chunk_bounds.push((bounds.clone(), stats.null_count_opt()));
            let Some(ColumnIndexMetaData::BYTE_ARRAY(pages)) = index.column_index(rg, column) else {
                panic!("column {column}: a byte-array column index");
            };
            assert_eq!(pages.num_pages(), 1);
            let page = (
                pages.min_value(0).map(<[u8]>::to_vec),
                pages.max_value(0).map(<[u8]>::to_vec),
            );
            assert_eq!(page, bounds, "column {column}, row group {rg}: page = chunk");
        }
        let bytes = |s: &str| Some(s.as_bytes().to_vec());
        assert_eq!(
            chunk_bounds,
            [
                ((bytes("abc"), bytes("def")), Some(1)),
                ((bytes("aaa"), bytes("fffff")), Some(0)),
            ],
            "column {column}: (min, max), null count per row group"
        );
    }
    let ints: Vec<_> = (0..2)
        .map(|rg| {
            let Some(Statistics::Int64(stats)) = md.row_group(rg).column(2).statistics() else {
                panic!("int_dict_i8: int64 statistics");
            };
            (
                stats.min_opt().copied(),
                stats.max_opt().copied(),
                stats.null_count_opt(),
            )
        })
        .collect();
    assert_eq!(ints, [(Some(-100), Some(0), Some(1)), (Some(0), Some(100), Some(0))]);
}

/// A deterministic stand-in for upstream's `rand` in its tests (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Incompressible bytes (upstream's `random_bytes`).
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

/// Random levels up to `max` for `n` slots (upstream's `column_roundtrip_random`): the values
/// to write are those whose definition level is the maximum; repetition levels start a record.
fn random_levels(rng: &mut Rng, n: usize, max_def: i16, max_rep: i16) -> (Option<Vec<i16>>, Option<Vec<i16>>, usize) {
    let mut level = |max: i16| -> Vec<i16> { (0..n).map(|_| rng.below(max as u64 + 1) as i16).collect() };
    let def = (max_def > 0).then(|| level(max_def));
    let mut rep = (max_rep > 0).then(|| level(max_rep));
    if let Some(rep) = rep.as_mut() {
        rep[0] = 0;
    }
    let values = def
        .as_ref()
        .map_or(n, |def| def.iter().filter(|&&l| l == max_def).count());
    (def, rep, values)
}

/// The maximum definition and repetition levels of a column.
type MaxLevels = (i16, i16);

/// Upstream's `column_roundtrip` (`column::writer::tests`): `values` with the given levels
/// through a column writer of `props` and back through a page reader, compared value for
/// value and level for level. Upstream takes the maximum levels from the levels given; here
/// they are passed, as a handful of random levels need not reach them.
fn column_roundtrip<T: DataType>(
    props: WriterProperties,
    values: &[T::T],
    (max_def, max_rep): MaxLevels,
    def_levels: Option<&[i16]>,
    rep_levels: Option<&[i16]>,
) where
    T::T: PartialEq + std::fmt::Debug,
{
    let descr = || {
        let column = SchemaType::primitive_type_builder("col", T::get_physical_type())
            .with_length(1)
            .build()
            .unwrap();
        Arc::new(ColumnDescriptor::new(
            Arc::new(column),
            max_def,
            max_rep,
            ColumnPath::from("col"),
        ))
    };
    let max_batch = [
        Some(values.len()),
        def_levels.map(<[_]>::len),
        rep_levels.map(<[_]>::len),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);

    let mut file = Vec::new();
    let mut sink = TrackedWrite::new(&mut file);
    let page_writer = Box::new(SerializedPageWriter::new(&mut sink));
    let mut writer = get_typed_column_writer::<T>(get_column_writer(descr(), Arc::new(props), page_writer));
    assert_eq!(
        writer.write_batch(values, def_levels, rep_levels).unwrap(),
        values.len()
    );
    let result = writer.close().unwrap();
    drop(sink);

    let page_reader = SerializedPageReader::new_with_properties(
        Arc::new(Bytes::from(file)),
        &result.metadata,
        result.rows_written as usize,
        None,
        Arc::new(ReaderProperties::builder().build()),
    )
    .unwrap();
    let mut reader = get_typed_column_reader::<T>(get_column_reader(descr(), Box::new(page_reader)));
    let mut actual_values = Vec::with_capacity(max_batch);
    let mut actual_def = def_levels.map(|_| Vec::with_capacity(max_batch));
    let mut actual_rep = rep_levels.map(|_| Vec::with_capacity(max_batch));
    let (_, values_read, levels_read) = reader
        .read_records(max_batch, actual_def.as_mut(), actual_rep.as_mut(), &mut actual_values)
        .unwrap();

    assert_eq!(values_read, values.len());
    assert!(actual_values[..values_read] == *values, "values read back");
    assert_eq!(actual_def.as_ref().map(|l| &l[..levels_read]), def_levels);
    assert_eq!(actual_rep.as_ref().map(|l| &l[..levels_read]), rep_levels);
    let rows = match (&actual_rep, def_levels) {
        (Some(rep), _) => rep.iter().filter(|&&l| l == 0).count(),
        (None, Some(_)) => levels_read,
        (None, None) => values_read,
    };
    assert_eq!(rows as u64, result.rows_written);
}

/// Upstream's `test_column_writer_compression_v1` and `_v2`: 2048 random `i32` slots with up
/// to 10 definition and repetition levels, Snappy, data pages V1 (levels compressed with the
/// values) and V2 (values compressed behind uncompressed levels, into a buffer that already
/// holds them). Also without levels (the V1 page compressed straight from the encoder).
#[test]
fn upstream_test_column_writer_compression() {
    let mut rng = Rng(42);
    for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
        for (max_def, max_rep) in [(10, 10), (10, 0), (0, 0)] {
            let props = WriterProperties::builder()
                .set_writer_version(version)
                .set_compression(Compression::SNAPPY)
                .build();
            let (def, rep, n) = random_levels(&mut rng, 2048, max_def, max_rep);
            let values: Vec<i32> = (0..n).map(|_| rng.next() as i32).collect();
            column_roundtrip::<ParquetInt32>(props, &values, (max_def, max_rep), def.as_deref(), rep.as_deref());
        }
    }
}

/// Upstream's `test_codec_snappy` sizes (100 B, 10 kB, 100 kB of random bytes), through the
/// column writer: one value per page, on one thread, larger and smaller pages in turn, and one
/// of 3 MiB whose compression bound exceeds the 2 MiB buffer the patch keeps. Dictionary off,
/// so that the values are in the data pages.
#[test]
fn upstream_snappy_sizes_through_the_column_writer() {
    let mut rng = Rng(7);
    for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
        for (max_def, max_rep) in [(0, 0), (1, 0), (3, 2)] {
            for size in [100_000, 100, 3 << 20, 10_000, 1] {
                let props = WriterProperties::builder()
                    .set_writer_version(version)
                    .set_compression(Compression::SNAPPY)
                    .set_dictionary_enabled(false)
                    .set_data_page_size_limit(1)
                    .set_write_batch_size(1)
                    .build();
                let slots = if size > 1 << 20 { 2 } else { 12 };
                let (def, rep, n) = random_levels(&mut rng, slots, max_def, max_rep);
                let values: Vec<ByteArray> = (0..n).map(|_| rng.bytes(size).into()).collect();
                column_roundtrip::<ByteArrayType>(props, &values, (max_def, max_rep), def.as_deref(), rep.as_deref());
            }
        }
    }
}
