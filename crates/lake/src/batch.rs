//! One bounded batch of records → one set of files, committed as a prefix of the batch.
//!
//! What a Lambda invocation writes (and what a consumer writes per flush). Unlike
//! [`replay`](crate::replay), the caller must tell its source how far the batch got: "records
//! before index `k` are in the table; deliver `k` and after again". The protocol guarantees that
//! the files named under `tag` hold the rows (and dead letters) of exactly `records[..k]`, so
//! a redelivery from `k` under another tag duplicates nothing:
//!
//! 1. **Convert** `records[..limit]` (at first, all). S3Url bodies are fetched concurrently;
//!    a fetch failure that may pass on retry at record `i` lowers `limit` to `i` and the
//!    conversion starts again (bodies already fetched are reused). A fetch that cannot pass
//!    (403, 404, too large) is a dead letter, like bad data.
//! 2. **Write** one file per partition and one dead-letter file, named
//!    `part-<tag>-<n>.parquet`, and commit them concurrently with the caller's [`CommitMode`].
//! 3. If some commits fail, `limit` becomes the lowest record index with rows in a failed
//!    file, and the prefix is converted and written again **under the same names**: files
//!    committed by the first attempt are overwritten with the prefix's rows, and those whose
//!    partitions the prefix no longer reaches are deleted. If that fails too, `limit` is 0:
//!    nothing is settled, and the source must deliver the whole batch again. Because names
//!    derive from `tag` (the caller makes it from the first record's position), that
//!    redelivery overwrites whatever this attempt left.

use std::collections::{BTreeMap, HashMap};

use arrow_array::RecordBatch;
use bytes::Bytes;
use futures::StreamExt as _;
use synclake_records::SourceRecord;
use synclake_records::envelope::EnvelopeItem;

use crate::convert::{ConvertStats, Converter, Step};
use crate::dead_letter::{DEAD_LETTER_DIR, Stage};
use crate::error::LakeError;
use crate::fetch::{FetchError, Fetcher};
use crate::partition::PartitionSpec;
use crate::schema::{dead_letter_schema, table_schema};
use crate::store::{CommitMode, Store};
use crate::writer::{PartitionedWriter, SealedFile, WriterOptions};

/// How a batch is written.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Partition columns.
    pub partition: PartitionSpec,
    /// File limits (a batch normally makes one file per partition).
    pub writer: WriterOptions,
    /// What a commit does when the object exists: [`CommitMode::Overwrite`] for sources that
    /// redeliver a batch under the same tag (Lambda).
    pub mode: CommitMode,
    /// Fetches and commits in flight at once.
    pub concurrency: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            partition: PartitionSpec::default(),
            writer: WriterOptions::default(),
            mode: CommitMode::Overwrite,
            concurrency: 16,
        }
    }
}

/// Why a batch was not written to its end.
#[derive(Debug, thiserror::Error)]
pub enum BatchFailure {
    /// The records of an S3Url payload could not be fetched, for a reason that may pass.
    #[error("record {index}: {source}")]
    Fetch {
        /// The record whose body could not be fetched.
        index: usize,
        /// The fetch error.
        #[source]
        source: FetchError,
    },
    /// A file could not be written or committed.
    #[error("{source}")]
    Write {
        /// The failure.
        #[source]
        source: LakeError,
    },
}

/// What [`write_batch`] did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// `records[..written]` are in the table (as rows or dead letters); the rest must be
    /// delivered again. Equal to the batch length when all went well.
    pub written: usize,
    /// Why `written` falls short, if it does.
    pub failure: Option<BatchFailure>,
    /// Decode counters of the written prefix.
    pub stats: ConvertStats,
    /// Rows committed per partition directory.
    pub rows_per_partition: BTreeMap<String, u64>,
    /// Keys of the files committed (relative to the table root), sorted.
    pub committed: Vec<String>,
    /// Data files committed.
    pub files: u64,
    /// Dead-letter files committed.
    pub dead_letter_files: u64,
    /// Bytes committed.
    pub bytes: u64,
}

/// Converts and writes `items` as files named `part-<tag>-<n>.parquet`, following the
/// protocol in the [module docs](self). Never fails as a whole: how far it got is in
/// [`BatchOutcome::written`], and why not further in [`BatchOutcome::failure`].
pub async fn write_batch(
    items: &[EnvelopeItem<'_>],
    tag: &str,
    store: &Store,
    fetcher: &Fetcher,
    opts: &BatchOptions,
) -> BatchOutcome {
    let mut bodies = Bodies::default();
    let mut limit = items.len();
    let mut failure = None;
    let mut first_attempt: Option<Vec<String>> = None;
    loop {
        let conv = convert(items, &mut limit, &mut bodies, fetcher, opts, &mut failure).await;
        match write_prefix(conv, tag, store, opts).await {
            Ok(mut outcome) => {
                if let Some(earlier) = first_attempt.take() {
                    // Files of the first attempt that the prefix did not rewrite hold rows of
                    // records it no longer covers.
                    for key in earlier.iter().filter(|k| outcome.committed.binary_search(k).is_err()) {
                        if let Err(source) = store.delete(key).await {
                            return whole_batch_failed(source);
                        }
                    }
                }
                if let Err(source) = store.sync(outcome.committed.iter().map(String::as_str)) {
                    return whole_batch_failed(source);
                }
                outcome.written = limit;
                outcome.failure = failure;
                return outcome;
            }
            Err(WriteFailed {
                source,
                lowest_index,
                committed,
            }) => {
                if first_attempt.is_some() || lowest_index == 0 {
                    return whole_batch_failed(source);
                }
                tracing::warn!(tag, failed_from = lowest_index, error = %source,
                    "writing a batch failed; rewriting the part before the first affected record");
                limit = lowest_index;
                failure = Some(BatchFailure::Write { source });
                first_attempt = Some(committed);
            }
        }
    }
}

fn whole_batch_failed(source: LakeError) -> BatchOutcome {
    BatchOutcome {
        written: 0,
        failure: Some(BatchFailure::Write { source }),
        ..BatchOutcome::default()
    }
}

/// Fetched S3Url bodies by record index, kept across conversion attempts.
#[derive(Default)]
struct Bodies(HashMap<usize, Result<Bytes, FetchError>>);

/// A converted prefix, with the lowest record index behind each file it will make.
struct Converted {
    conv: Converter,
    /// Partition directory → lowest index of a record with rows in it.
    lowest_in_partition: HashMap<String, usize>,
    /// Lowest index of a record that became a dead letter.
    lowest_dead: Option<usize>,
}

impl Converted {
    fn note(&mut self, index: usize) {
        match self.conv.last_partition() {
            Some(p) => match self.lowest_in_partition.get_mut(p) {
                Some(lowest) => *lowest = (*lowest).min(index),
                None => {
                    self.lowest_in_partition.insert(p.to_owned(), index);
                }
            },
            None => self.lowest_dead = Some(self.lowest_dead.map_or(index, |d| d.min(index))),
        }
    }
}

/// Converts `items[..limit]`, lowering `limit` to the first record whose S3Url fetch failed in
/// a way that may pass (and recording that failure).
async fn convert(
    items: &[EnvelopeItem<'_>],
    limit: &mut usize,
    bodies: &mut Bodies,
    fetcher: &Fetcher,
    opts: &BatchOptions,
    failure: &mut Option<BatchFailure>,
) -> Converted {
    loop {
        let mut c = Converted {
            conv: Converter::new(opts.partition.clone()),
            lowest_in_partition: HashMap::new(),
            lowest_dead: None,
        };
        let mut deferred: Vec<(usize, String)> = Vec::new();
        for (index, item) in items[..*limit].iter().enumerate() {
            match item {
                Ok(record) => match c.conv.push(record) {
                    Step::Done => c.note(index),
                    Step::NeedsFetch(url) => deferred.push((index, url)),
                },
                Err(bad) => {
                    let record = SourceRecord {
                        data: std::borrow::Cow::Borrowed(&bad.raw),
                        lineage: bad.lineage.clone(),
                    };
                    c.conv.reject(&record, Stage::Envelope, bad.error.kind(), &bad.error);
                    c.note(index);
                }
            }
        }
        fetch_missing(&deferred, bodies, fetcher, opts.concurrency).await;
        let retry_from = deferred
            .iter()
            .map(|(i, _)| *i)
            .find(|i| matches!(bodies.0.get(i), Some(Err(e)) if e.is_retryable()));
        if let Some(index) = retry_from {
            *limit = index;
            if let Some(Err(source)) = bodies.0.remove(&index) {
                tracing::warn!(index, error = %source, "S3Url fetch failed; the batch ends before this record");
                *failure = Some(BatchFailure::Fetch { index, source });
            }
            continue;
        }
        for (index, _) in &deferred {
            if let (Some(Ok(record)), Some(body)) = (items.get(*index), bodies.0.get(index)) {
                let body = match body {
                    Ok(bytes) => Ok(bytes.clone()),
                    Err(e) => Err(e),
                };
                c.conv.push_fetched(record, body);
                c.note(*index);
            }
        }
        return c;
    }
}

async fn fetch_missing(deferred: &[(usize, String)], bodies: &mut Bodies, fetcher: &Fetcher, concurrency: usize) {
    let missing = deferred.iter().filter(|(i, _)| !bodies.0.contains_key(i));
    let fetched: Vec<(usize, Result<Bytes, FetchError>)> = futures::stream::iter(missing)
        .map(|(i, url)| async move { (*i, fetcher.fetch(url).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    bodies.0.extend(fetched);
}

/// A write attempt that did not commit everything.
struct WriteFailed {
    source: LakeError,
    /// Lowest record index with rows in a file that was not committed.
    lowest_index: usize,
    /// What was committed anyway, sorted.
    committed: Vec<String>,
}

/// Writes and commits the converted prefix.
async fn write_prefix(
    mut c: Converted,
    tag: &str,
    store: &Store,
    opts: &BatchOptions,
) -> Result<BatchOutcome, WriteFailed> {
    let stats = c.conv.stats().clone();
    let sealed = match seal_files(&mut c.conv, tag, store, opts) {
        Ok(sealed) => sealed,
        Err(source) => {
            return Err(WriteFailed {
                source,
                lowest_index: 0,
                committed: Vec::new(),
            });
        }
    };
    let results: Vec<(String, u64, Result<u64, LakeError>)> = futures::stream::iter(sealed)
        .map(|s| async move {
            let (key, rows) = (s.spool.key.clone(), s.rows);
            (key, rows, store.commit(s.spool, s.file, opts.mode).await)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut outcome = BatchOutcome {
        stats,
        ..BatchOutcome::default()
    };
    let mut first_error: Option<(usize, LakeError)> = None;
    for (key, rows, result) in results {
        let dir = key.rsplit_once('/').map_or("", |(dir, _)| dir);
        match result {
            Ok(size) => {
                outcome.bytes += size;
                if dir == DEAD_LETTER_DIR {
                    outcome.dead_letter_files += 1;
                } else {
                    outcome.files += 1;
                    *outcome.rows_per_partition.entry(dir.to_owned()).or_default() += rows;
                }
                outcome.committed.push(key);
            }
            Err(source) => {
                let lowest = if dir == DEAD_LETTER_DIR {
                    c.lowest_dead
                } else {
                    c.lowest_in_partition.get(dir).copied()
                }
                .unwrap_or(0);
                tracing::error!(key = %store.full_key(&key), retryable = source.is_retryable(), error = %source,
                    "committing a batch file failed");
                if first_error.as_ref().is_none_or(|(l, _)| lowest < *l) {
                    first_error = Some((lowest, source));
                }
            }
        }
    }
    outcome.committed.sort_unstable();
    match first_error {
        None => Ok(outcome),
        Some((lowest_index, source)) => Err(WriteFailed {
            source,
            lowest_index,
            committed: outcome.committed,
        }),
    }
}

/// Encodes the converter's rows and dead letters into sealed spool files.
fn seal_files(
    conv: &mut Converter,
    tag: &str,
    store: &Store,
    opts: &BatchOptions,
) -> Result<Vec<SealedFile>, LakeError> {
    let mut table = PartitionedWriter::new(
        table_schema(),
        opts.writer.table_properties(),
        opts.writer.clone(),
        tag.to_owned(),
    );
    let mut dead = PartitionedWriter::new(
        dead_letter_schema(),
        opts.writer.dead_letter_properties(),
        opts.writer.clone(),
        tag.to_owned(),
    );
    let result = (|| {
        conv.drain(
            |p: &str, b: &RecordBatch| table.write(store, p, b),
            |b: &RecordBatch| dead.write(store, DEAD_LETTER_DIR, b),
        )?;
        table.close_all()?;
        dead.close_all()
    })();
    if let Err(e) = result {
        table.abort(store);
        dead.abort(store);
        return Err(e);
    }
    let mut sealed = table.take_sealed();
    sealed.extend(dead.take_sealed());
    Ok(sealed)
}
