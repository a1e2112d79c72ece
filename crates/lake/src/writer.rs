//! Rolled Parquet files per partition, with memory bounded across all of them.
//!
//! A [`PartitionedWriter`] keeps one open file per partition it has seen recently. A file is
//! sealed when it reaches the row or byte limit, when it is the least recently used one and
//! too many are open, or at [`PartitionedWriter::close_all`]. Across open files, buffered row
//! groups are flushed (largest first) whenever their memory passes the budget, so memory does
//! not depend on how many partitions the input spans. File names come from the writer's `tag`
//! (derived from the input position) and a sequence number per partition, so the same input,
//! split the same way, always yields the same names.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::LakeError;
use crate::schema::{DICTIONARY_COLUMNS, col};
use crate::store::{Spool, Store};

/// Compression codec of the data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// Snappy: fast, what most engines default to.
    #[default]
    Snappy,
    /// Zstandard at the given level (1..=22): smaller files, more CPU.
    Zstd(i32),
    /// No compression.
    None,
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "snappy" => Ok(Codec::Snappy),
            "zstd" => Ok(Codec::Zstd(3)),
            "none" | "uncompressed" => Ok(Codec::None),
            _ => match s.strip_prefix("zstd:").map(str::parse::<i32>) {
                Some(Ok(level)) if (1..=22).contains(&level) => Ok(Codec::Zstd(level)),
                _ => Err(format!("unknown compression `{s}` (snappy, zstd, zstd:<1-22>, none)")),
            },
        }
    }
}

impl std::fmt::Display for Codec {
    /// The spelling [`Codec::from_str`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Codec::Snappy => f.write_str("snappy"),
            Codec::Zstd(level) => write!(f, "zstd:{level}"),
            Codec::None => f.write_str("none"),
        }
    }
}

/// Limits of the files and of the memory they buffer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Compression codec.
    pub codec: Codec,
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// A file is sealed once it holds this many rows.
    pub file_rows: usize,
    /// A file is sealed once it holds about this many bytes.
    pub file_bytes: usize,
    /// Memory buffered by all open files of one writer before row groups are flushed.
    pub memory_budget: usize,
    /// Most files open at once in one writer; the least recently used is sealed beyond it.
    pub max_open_files: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            codec: Codec::Snappy,
            row_group_rows: 512 * 1024,
            file_rows: 10_000_000,
            file_bytes: 256 * 1024 * 1024,
            memory_budget: 16 * 1024 * 1024,
            max_open_files: 16,
        }
    }
}

impl WriterOptions {
    /// Parquet writer properties for the table (statistics on, dictionary on the
    /// low-cardinality columns only).
    pub fn table_properties(&self) -> WriterProperties {
        let mut b = self.base_properties().set_dictionary_enabled(false);
        for col in DICTIONARY_COLUMNS {
            b = b.set_column_dictionary_enabled(ColumnPath::from(*col), true);
        }
        // Min/max of user values, JSON, ids (long, with a shared prefix: a costly comparison
        // per row) and sequence numbers prune nothing in unsorted data. Timestamps, counts,
        // names, keys and enums keep theirs.
        for col in [
            col::VALUE,
            col::EXTRA,
            col::IDENTITY_POOL_ID,
            col::IDENTITY_ID,
            col::SOURCE,
            col::SEQUENCE_NUMBER,
        ] {
            b = b.set_column_statistics_enabled(ColumnPath::from(col), EnabledStatistics::None);
        }
        b.build()
    }

    /// Parquet writer properties for the dead letters (no dictionaries: raw bytes).
    pub fn dead_letter_properties(&self) -> WriterProperties {
        self.base_properties().set_dictionary_enabled(false).build()
    }

    fn base_properties(&self) -> parquet::file::properties::WriterPropertiesBuilder {
        let compression = match self.codec {
            Codec::Snappy => Compression::SNAPPY,
            Codec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default()),
            Codec::None => Compression::UNCOMPRESSED,
        };
        WriterProperties::builder()
            .set_compression(compression)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_created_by(concat!("synclake ", env!("CARGO_PKG_VERSION")).to_owned())
    }
}

/// A file that is complete and waits for [`Store::commit`].
#[derive(Debug)]
pub struct SealedFile {
    /// The spool file and its final key.
    pub spool: Spool,
    /// The spool file, flushed.
    pub file: File,
    /// Rows in the file.
    pub rows: u64,
}

struct OpenFile {
    writer: ArrowWriter<BufWriter<File>>,
    spool: Spool,
    rows: usize,
    last_used: u64,
}

/// Open Parquet files, one per partition, sealed as they fill.
pub struct PartitionedWriter {
    schema: SchemaRef,
    props: WriterProperties,
    opts: WriterOptions,
    tag: String,
    /// Tags of partitions named otherwise than `tag` (see [`PartitionedWriter::set_tag`]).
    partition_tags: HashMap<String, String>,
    /// Next file number per partition: numbering in one partition does not depend on what
    /// happens in others.
    next_seq: HashMap<String, u32>,
    clock: u64,
    open: HashMap<String, OpenFile>,
    sealed: Vec<SealedFile>,
}

impl PartitionedWriter {
    /// A writer of `schema` files named `part-<tag>-<seq>.parquet`.
    pub fn new(schema: SchemaRef, props: WriterProperties, opts: WriterOptions, tag: String) -> Self {
        PartitionedWriter {
            schema,
            props,
            opts,
            tag,
            partition_tags: HashMap::new(),
            next_seq: HashMap::new(),
            clock: 0,
            open: HashMap::new(),
            sealed: Vec::new(),
        }
    }

    /// Names the files of `partition` with `tag` instead of the writer's tag (a batch names
    /// each partition's file after the first record in it). Set before the first write to it.
    pub fn set_tag(&mut self, partition: &str, tag: String) {
        self.partition_tags.insert(partition.to_owned(), tag);
    }

    /// Appends `batch` to the open file of `partition` (a relative directory, may be empty).
    pub fn write(&mut self, store: &Store, partition: &str, batch: &RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.clock += 1;
        if !self.open.contains_key(partition) {
            if self.open.len() >= self.opts.max_open_files {
                self.seal_least_recent()?;
            }
            let file = self.open_file(store, partition)?;
            self.open.insert(partition.to_owned(), file);
        }
        let Some(file) = self.open.get_mut(partition) else {
            return Ok(());
        };
        file.last_used = self.clock;
        file.writer.write(batch).map_err(|source| LakeError::Parquet {
            key: file.spool.key.clone(),
            source,
        })?;
        file.rows += batch.num_rows();
        if file.rows >= self.opts.file_rows
            || file.writer.bytes_written() + file.writer.in_progress_size() >= self.opts.file_bytes
        {
            self.seal(partition)?;
        }
        Ok(())
    }

    /// Flushes buffered row groups, largest first, until the open files together hold less
    /// than half the memory budget. Call after each batch of writes.
    pub fn enforce_budget(&mut self) -> Result<(), LakeError> {
        let total: usize = self.open.values().map(|f| f.writer.memory_size()).sum();
        if total <= self.opts.memory_budget {
            return Ok(());
        }
        let mut sizes: Vec<(usize, String)> = self
            .open
            .iter()
            .map(|(k, f)| (f.writer.memory_size(), k.clone()))
            .collect();
        // Largest first; ties by name so the outcome does not depend on hash order.
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let mut remaining = total;
        for (size, partition) in sizes {
            if remaining <= self.opts.memory_budget / 2 {
                break;
            }
            if let Some(file) = self.open.get_mut(&partition) {
                file.writer.flush().map_err(|source| LakeError::Parquet {
                    key: file.spool.key.clone(),
                    source,
                })?;
                remaining -= size.min(remaining);
            }
        }
        Ok(())
    }

    /// Seals every open file (in name order, for determinism).
    pub fn close_all(&mut self) -> Result<(), LakeError> {
        let mut partitions: Vec<String> = self.open.keys().cloned().collect();
        partitions.sort_unstable();
        for p in partitions {
            self.seal(&p)?;
        }
        Ok(())
    }

    /// Files sealed since the last call, to be committed by the caller.
    pub fn take_sealed(&mut self) -> Vec<SealedFile> {
        std::mem::take(&mut self.sealed)
    }

    /// Removes the spool files of everything open or sealed and not yet committed (after a
    /// failure elsewhere).
    pub fn abort(&mut self, store: &Store) {
        for (_, f) in self.open.drain() {
            store.abort(f.spool);
        }
        for s in self.sealed.drain(..) {
            store.abort(s.spool);
        }
    }

    fn open_file(&mut self, store: &Store, partition: &str) -> Result<OpenFile, LakeError> {
        let seq = self.next_seq.entry(partition.to_owned()).or_default();
        let tag = self.partition_tags.get(partition).unwrap_or(&self.tag);
        let name = format!("part-{tag}-{:05}.parquet", *seq);
        *seq += 1;
        let key = if partition.is_empty() {
            name
        } else {
            format!("{partition}/{name}")
        };
        let (spool, sink) = store.create(&key)?;
        let writer = ArrowWriter::try_new(sink, self.schema.clone(), Some(self.props.clone())).map_err(|source| {
            LakeError::Parquet {
                key: key.clone(),
                source,
            }
        })?;
        Ok(OpenFile {
            writer,
            spool,
            rows: 0,
            last_used: self.clock,
        })
    }

    fn seal_least_recent(&mut self) -> Result<(), LakeError> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(k, f)| (f.last_used, (*k).clone()))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(p) => self.seal(&p),
            None => Ok(()),
        }
    }

    fn seal(&mut self, partition: &str) -> Result<(), LakeError> {
        let Some(file) = self.open.remove(partition) else {
            return Ok(());
        };
        let key = file.spool.key.clone();
        // `into_inner` writes the footer, then hands back the sink.
        let flushed = file
            .writer
            .into_inner()
            .map_err(|source| LakeError::Parquet { key, source })
            .and_then(|sink| {
                sink.into_inner()
                    .map_err(|e| LakeError::io("flush", &file.spool.path)(e.into_error()))
            });
        match flushed {
            Ok(handle) => {
                self.sealed.push(SealedFile {
                    spool: file.spool,
                    file: handle,
                    rows: file.rows as u64,
                });
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(&file.spool.path);
                Err(e)
            }
        }
    }
}
