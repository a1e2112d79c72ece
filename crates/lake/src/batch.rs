//! One bounded batch of records → one set of files, committed as a prefix of the batch.
//!
//! What a Lambda invocation writes (and what a consumer writes per flush). Unlike
//! [`replay`](crate::replay), the caller must tell its source how far the batch got: "records
//! before index `k` are in the table; deliver `k` and after again". The protocol guarantees that
//! the files this call leaves hold the rows (and dead letters) of exactly `records[..k]`, so a
//! redelivery from `k` duplicates nothing.
//!
//! **Names.** Each file is named after the *first record in it*: `part-<tag of that
//! record>-<n>.parquet`, the tag coming from the caller (for Kinesis: shard and sequence
//! number). A name is thus a function of the records, not of how the source cut them into
//! batches: whatever redelivery later carries a file's first record (the same batch again, a
//! batch split in two by Lambda's bisect-on-error, a batch resumed after a partial failure)
//! writes that partition's file under the same name and overwrites what an earlier, failed or
//! timed-out attempt left, including a commit that reported an error but landed.
//!
//! **Steps.**
//! 1. **Convert** `records[..limit]` (at first, all). S3Url bodies are fetched concurrently;
//!    a fetch failure that may pass on retry at record `i` lowers `limit` to `i` and the
//!    conversion starts again (bodies already fetched are reused). A fetch that cannot pass
//!    (403, 404, too large) is a dead letter, like bad data.
//! 2. **Write** one file per partition and one dead-letter file, and commit them concurrently
//!    with the caller's [`CommitMode`].
//! 3. If some commits fail, `limit` becomes the lowest record index with rows in a failed
//!    file, and the prefix is converted and written again **under the same names**: files
//!    committed by the first attempt are overwritten with the prefix's rows, and those whose
//!    partitions the prefix no longer reaches (and those whose commit failed: it may have
//!    landed) are deleted, best effort (see *Names*). If the rewrite fails too, `limit` is 0: nothing is settled, and the source
//!    must deliver the whole batch again, which overwrites whatever this attempt left.
//!
//! **Deadline.** With a deadline (a Lambda's remaining time), fetching stops at two thirds of
//! the time left and commits at the deadline: records not fetched in time end the prefix, a
//! commit not finished in time counts as failed. The call returns before the deadline with what
//! it settled, rather than being killed mid-way.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow_array::RecordBatch;
use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use synclake_records::envelope::EnvelopeItem;
use synclake_records::{Position, SourceRecord};

use crate::convert::{ConvertStats, Converter, Step};
use crate::dead_letter::{DEAD_LETTER_DIR, Stage};
use crate::error::LakeError;
use crate::fetch::{FetchError, Fetcher};
use crate::fetch_retry::{FetchExhausted, RetryLedger};
use crate::partition::PartitionSpec;
use crate::schema::{dead_letter_schema, table_schema};
use crate::store::{CommitMode, Store};
use crate::writer::{PartitionedWriter, SealedFile, WriterOptions};
use tokio::time::Instant;

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
    /// Most bytes of fetched S3Url bodies one batch holds. A batch whose bodies would pass
    /// it is written as the prefix before the record that passes it (at least one S3Url
    /// record always fits), so that no column of a batch nears Arrow's 2 GiB offset limit
    /// and memory stays bounded.
    pub max_fetched_bytes: usize,
    /// When each failing S3Url first failed (shared by clones): past the fetch options'
    /// retry window, a record whose fetch still fails becomes a `fetch_exhausted` dead letter.
    pub retries: RetryLedger,
    /// After committing, delete the files of the names this batch owns that an earlier
    /// attempt at the same records left and this one did not write (a partition that fetch
    /// outcomes emptied). Needed where nothing else records what an attempt wrote (Lambda);
    /// a consumer's pending state already does, so it turns this off and saves the listing.
    pub remove_stale: bool,
}

/// The most [`BatchOptions::max_fetched_bytes`] can be: fetched bodies that do not decode are
/// kept in one `fetched_body` column, and an Arrow column holds under 2 GiB.
pub const MAX_FETCHED_BYTES_CEILING: usize = 1024 * 1024 * 1024;

/// Default of [`BatchOptions::max_fetched_bytes`].
pub const DEFAULT_MAX_FETCHED_BYTES: usize = 128 * 1024 * 1024;

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            partition: PartitionSpec::default(),
            writer: WriterOptions::default(),
            mode: CommitMode::Overwrite,
            concurrency: 16,
            max_fetched_bytes: DEFAULT_MAX_FETCHED_BYTES,
            retries: RetryLedger::default(),
            remove_stale: true,
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
    /// The records of an S3Url payload were not fetched before the deadline.
    #[error("record {index}: S3Url body not fetched before the deadline")]
    FetchDeadline {
        /// The record whose body was not fetched.
        index: usize,
    },
    /// The fetched S3Url bodies of the batch reached [`BatchOptions::max_fetched_bytes`]:
    /// the batch ends before this record, which the next batch starts with. Not a failure
    /// of anything: deliver the rest again at once.
    #[error("record {index}: fetched S3Url bodies reached the batch's bound of {max_bytes} bytes")]
    FetchBudget {
        /// The first record left for the next batch.
        index: usize,
        /// The bound.
        max_bytes: usize,
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

/// Converts and writes `items`, following the protocol in the [module docs](self): a file
/// whose first record is `items[i]` is named `part-<tag_of(i)>-<n>.parquet`. Returns by
/// `deadline` if one is given. Never fails as a whole: how far it got is in
/// [`BatchOutcome::written`], and why not further in [`BatchOutcome::failure`].
pub async fn write_batch(
    items: &[EnvelopeItem<'_>],
    tag_of: &(dyn Fn(usize) -> String + Sync),
    store: &Store,
    fetcher: &Fetcher,
    opts: &BatchOptions,
    deadline: Option<Instant>,
) -> BatchOutcome {
    write_batch_gated(items, tag_of, store, fetcher, opts, deadline, &NoGate).await
}

/// Told the keys of the files a batch is about to commit, before the first commit starts, and
/// may stop it. A consumer records them as its commit intent, so that a restart after a crash
/// knows which files an interrupted flush may have left.
pub trait CommitGate: Sync {
    /// Called once per write attempt with every key the attempt will commit (relative to the
    /// table root). An error stops the attempt before anything is committed.
    fn before_commit<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), LakeError>>;
}

struct NoGate;

impl CommitGate for NoGate {
    fn before_commit<'a>(&'a self, _keys: &'a [String]) -> BoxFuture<'a, Result<(), LakeError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// [`write_batch`], asking `gate` before each write attempt commits anything.
pub async fn write_batch_gated(
    items: &[EnvelopeItem<'_>],
    tag_of: &(dyn Fn(usize) -> String + Sync),
    store: &Store,
    fetcher: &Fetcher,
    opts: &BatchOptions,
    deadline: Option<Instant>,
    gate: &dyn CommitGate,
) -> BatchOutcome {
    let mut bodies = Bodies::default();
    let mut limit = items.len();
    let mut failure = None;
    let mut first_attempt: Option<Vec<String>> = None;
    let fetch_by = deadline.map(|d| {
        let now = Instant::now();
        now + d.saturating_duration_since(now) * 2 / 3
    });
    loop {
        let conv = convert(items, &mut limit, &mut bodies, fetcher, opts, fetch_by, &mut failure).await;
        let conv_names = conv.volatile_names();
        match write_prefix(conv, tag_of, store, opts, deadline, gate).await {
            Ok(mut outcome) => {
                if let Some(earlier) = first_attempt.take() {
                    // Files of the first attempt that the prefix did not rewrite hold rows of
                    // records it no longer covers.
                    // Best effort: a file left behind is named after its first record, which
                    // the redelivery carries, and is overwritten then.
                    for key in earlier.iter().filter(|k| outcome.committed.binary_search(k).is_err()) {
                        if let Err(error) = store.delete(key).await {
                            tracing::warn!(key = %store.full_key(key), %error,
                                "could not delete a file of the failed attempt; the redelivery will overwrite it");
                        }
                    }
                }
                if opts.remove_stale {
                    let removal = remove_stale(&conv_names, tag_of, store, &outcome.committed);
                    let removed = match deadline {
                        Some(by) => tokio::time::timeout_at(by, removal).await.unwrap_or_else(|_| {
                            Err(LakeError::Deadline {
                                op: "remove stale files",
                                key: conv_names.first().map(|(dir, _)| dir.clone()).unwrap_or_default(),
                            })
                        }),
                        None => removal.await,
                    };
                    if let Err(source) = removed {
                        return whole_batch_failed(source);
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
                attempted,
            }) => {
                if first_attempt.is_some() || lowest_index == 0 {
                    return whole_batch_failed(source);
                }
                tracing::warn!(failed_from = lowest_index, error = %source,
                    "writing a batch failed; rewriting the part before the first affected record");
                limit = lowest_index;
                failure = Some(BatchFailure::Write { source });
                first_attempt = Some(attempted);
            }
        }
    }
}

/// The file-name tag of a record read from a stream: `<shard>-<sequence number>`, with
/// characters unsafe in an object key replaced by `_`. None for a record without a sequence
/// number (files, test events): the caller names those otherwise.
pub fn record_tag(item: &EnvelopeItem<'_>) -> Option<String> {
    let lineage = match item {
        Ok(record) => &record.lineage,
        Err(bad) => &bad.lineage,
    };
    match &lineage.position {
        Position::Sequence(seq) if !seq.is_empty() => {
            let mut tag = String::with_capacity(lineage.source.len() + seq.len() + 1);
            push_safe(&mut tag, &lineage.source);
            tag.push('-');
            push_safe(&mut tag, seq);
            Some(tag)
        }
        _ => None,
    }
}

/// Keeps characters that are safe in an object key and a file name; replaces the rest.
fn push_safe(out: &mut String, s: &str) {
    out.extend(s.chars().take(128).map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
            c
        } else {
            '_'
        }
    }));
}

fn whole_batch_failed(source: LakeError) -> BatchOutcome {
    BatchOutcome {
        written: 0,
        failure: Some(BatchFailure::Write { source }),
        ..BatchOutcome::default()
    }
}

/// Fetched S3Url bodies by record index, kept across conversion attempts, and the records
/// whose fetches ran out of retry window.
#[derive(Default)]
struct Bodies {
    fetched: HashMap<usize, Result<Bytes, FetchError>>,
    exhausted: HashMap<usize, FetchExhausted>,
}

/// A converted prefix, with the lowest record index behind each file it will make.
///
/// An S3Url record *reserves* its place before it is fetched: it counts as in its envelope's
/// partition and in the dead letters alike, whatever the fetch then gives. So file names do
/// not depend on fetch outcomes, and a redelivery whose fetch ends otherwise (a body fetched
/// first, expired later) writes the same names and replaces what the first attempt left.
struct Converted {
    conv: Converter,
    /// Partition directory → lowest index of a record with rows in it (or reserved there).
    lowest_in_partition: HashMap<String, usize>,
    /// Lowest index of a record that became (or may become) a dead letter.
    lowest_dead: Option<usize>,
    /// Directories whose files hold S3Url records: what is in them depends on fetches.
    volatile: BTreeSet<String>,
}

/// A directory whose file names a batch must own whole: `(dir, lowest record index)`.
type VolatileName = (String, usize);

impl Converted {
    fn note(&mut self, index: usize) {
        match self.conv.last_partition() {
            Some(p) => self.note_partition(p.to_owned(), index),
            None => self.note_dead(index),
        }
    }

    fn note_partition(&mut self, partition: String, index: usize) {
        let lowest = self.lowest_in_partition.entry(partition).or_insert(index);
        *lowest = (*lowest).min(index);
    }

    fn note_dead(&mut self, index: usize) {
        self.lowest_dead = Some(self.lowest_dead.map_or(index, |d| d.min(index)));
    }

    /// Reserves the names an S3Url record's rows or dead letter will take.
    fn reserve(&mut self, index: usize) {
        let partition = self.conv.fetch_partition().to_owned();
        self.volatile.insert(partition.clone());
        self.volatile.insert(DEAD_LETTER_DIR.to_owned());
        self.note_partition(partition, index);
        self.note_dead(index);
    }

    /// The directories whose files depend on fetches, each with the record it is named after.
    fn volatile_names(&self) -> Vec<VolatileName> {
        self.volatile
            .iter()
            .filter_map(|dir| {
                let lowest = if dir == DEAD_LETTER_DIR {
                    self.lowest_dead
                } else {
                    self.lowest_in_partition.get(dir).copied()
                };
                lowest.map(|i| (dir.clone(), i))
            })
            .collect()
    }
}

/// Deletes the files an earlier attempt at the same records left under the names this batch
/// owns but did not write now (a partition or dead-letter file that fetch outcomes made
/// smaller or empty this time). Only directories holding S3Url records can differ.
async fn remove_stale(
    names: &[VolatileName],
    tag_of: &(dyn Fn(usize) -> String + Sync),
    store: &Store,
    committed: &[String],
) -> Result<(), LakeError> {
    let mut removed = Vec::new();
    for (dir, lowest) in names {
        let prefix = format!("part-{}-", tag_of(*lowest));
        for key in store.list_named(dir, &prefix).await? {
            let is_part = key
                .rsplit('/')
                .next()
                .and_then(|name| name.strip_prefix(&prefix))
                .and_then(|rest| rest.strip_suffix(".parquet"))
                .is_some_and(|seq| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()));
            if is_part && committed.binary_search(&key).is_err() {
                tracing::info!(key = %store.full_key(&key), "removing a file an earlier attempt at these records left");
                store.delete(&key).await?;
                removed.push(key);
            }
        }
    }
    // Durable before the batch reports success (locally; a no-op on S3).
    store.sync_dirs(removed.iter().map(String::as_str))
}

/// Converts `items[..limit]`, lowering `limit` to the first record whose S3Url fetch failed in
/// a way that may pass or did not finish by `fetch_by` (and recording that failure).
async fn convert(
    items: &[EnvelopeItem<'_>],
    limit: &mut usize,
    bodies: &mut Bodies,
    fetcher: &Fetcher,
    opts: &BatchOptions,
    fetch_by: Option<Instant>,
    failure: &mut Option<BatchFailure>,
) -> Converted {
    loop {
        let mut c = Converted {
            conv: Converter::new(opts.partition.clone()),
            lowest_in_partition: HashMap::new(),
            lowest_dead: None,
            volatile: BTreeSet::new(),
        };
        let mut deferred: Vec<(usize, String)> = Vec::new();
        for (index, item) in items[..*limit].iter().enumerate() {
            match item {
                Ok(record) => match c.conv.push(record) {
                    Step::Done => c.note(index),
                    Step::NeedsFetch(url) => {
                        c.reserve(index);
                        deferred.push((index, url));
                    }
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
        let over_budget = fetch_missing(&deferred, bodies, fetcher, opts, fetch_by).await;
        if let Some((index, stop)) = first_unsettled(&deferred, bodies, fetcher, &opts.retries, over_budget) {
            *limit = index;
            *failure = Some(stop);
            continue;
        }
        for (index, _) in &deferred {
            let Some(Ok(record)) = items.get(*index) else { continue };
            if let Some(gone) = bodies.exhausted.get(index) {
                c.conv.reject(record, Stage::Fetch, "fetch_exhausted", gone);
            } else if let Some(body) = bodies.fetched.get(index) {
                let body = match body {
                    Ok(bytes) => Ok(bytes.clone()),
                    Err(e) => Err(e),
                };
                c.conv.push_fetched(record, body);
            }
            c.note(*index);
        }
        return c;
    }
}

/// The first S3Url record the batch must end before, if any: one whose fetch failed in a way
/// that may pass (and has not run out of retry window: those become dead letters), was not
/// fetched by the deadline, or would pass the bound on fetched bytes (`over_budget`).
fn first_unsettled(
    deferred: &[(usize, String)],
    bodies: &mut Bodies,
    fetcher: &Fetcher,
    retries: &RetryLedger,
    over_budget: Option<(usize, usize)>,
) -> Option<(usize, BatchFailure)> {
    for (index, url) in deferred {
        let index = *index;
        if bodies.exhausted.contains_key(&index) {
            continue;
        }
        match bodies.fetched.remove(&index) {
            Some(Err(e)) if e.is_retryable() => match retries.exhausted(url, fetcher.options().retry_window, e) {
                Ok(gone) => {
                    tracing::warn!(index, error = %gone, "S3Url fetch kept failing; the record goes to the dead letters");
                    bodies.exhausted.insert(index, gone);
                }
                Err(source) => {
                    tracing::warn!(index, error = %source, "S3Url fetch failed; the batch ends before this record");
                    return Some((index, BatchFailure::Fetch { index, source }));
                }
            },
            Some(settled) => {
                bodies.fetched.insert(index, settled);
            }
            None => {
                let stop = match over_budget {
                    Some((at, max_bytes)) if at == index => {
                        tracing::debug!(
                            index,
                            max_bytes,
                            "fetched bodies reached the batch's bound; the batch ends before this record"
                        );
                        BatchFailure::FetchBudget { index, max_bytes }
                    }
                    _ => {
                        tracing::warn!(
                            index,
                            "S3Url fetch not done by the deadline; the batch ends before this record"
                        );
                        BatchFailure::FetchDeadline { index }
                    }
                };
                return Some((index, stop));
            }
        }
    }
    None
}

/// Fetches the bodies not fetched yet, in record order, until `fetch_by` or until the bodies
/// held would pass [`BatchOptions::max_fetched_bytes`]; those not fetched then stay absent.
/// Returns the record at which the bound stopped fetching, with the bound.
async fn fetch_missing(
    deferred: &[(usize, String)],
    bodies: &mut Bodies,
    fetcher: &Fetcher,
    opts: &BatchOptions,
    fetch_by: Option<Instant>,
) -> Option<(usize, usize)> {
    let budget = opts.max_fetched_bytes.min(MAX_FETCHED_BYTES_CEILING);
    // Bodies in order: the bound cuts the batch at the same record whatever the timing.
    let mut held = 0usize;
    let mut missing: Vec<(usize, String)> = Vec::new();
    let first = deferred.first().map(|(i, _)| *i);
    for (i, url) in deferred {
        match bodies.fetched.get(i) {
            Some(Ok(body)) => {
                held += body.len();
                if held > budget && Some(*i) != first {
                    bodies.fetched.remove(i);
                    return Some((*i, budget));
                }
            }
            Some(Err(_)) => {}
            // Given up on (its window ran out): not fetched again on a re-conversion.
            None if bodies.exhausted.contains_key(i) => {}
            // Owned (a URL per S3Url record): a future borrowing the list would not be Send
            // for every lifetime, and a consumer spawns this on a multi-threaded runtime.
            None => missing.push((*i, url.clone())),
        }
    }
    let mut fetches = futures::stream::iter(missing)
        .map(|(i, url)| async move {
            let body = fetcher.fetch(&url).await;
            (i, url, body)
        })
        .buffered(opts.concurrency.max(1));
    loop {
        let next = match fetch_by {
            Some(by) => match tokio::time::timeout_at(by, fetches.next()).await {
                Ok(next) => next,
                Err(_) => return None,
            },
            None => fetches.next().await,
        };
        let (index, url, body) = next?;
        opts.retries.note(&url, body.as_ref().map(|_| ()));
        if let Ok(bytes) = &body {
            held += bytes.len();
            if held > budget && Some(index) != first {
                // In flight beyond it are dropped: the next batch starts here.
                return Some((index, budget));
            }
        }
        bodies.fetched.insert(index, body);
    }
}

/// A write attempt that did not commit everything.
struct WriteFailed {
    source: LakeError,
    /// Lowest record index with rows in a file that was not committed.
    lowest_index: usize,
    /// Every key this attempt committed or tried to (a failed commit may have landed).
    attempted: Vec<String>,
}

/// Writes and commits the converted prefix, each commit by `deadline`.
async fn write_prefix(
    mut c: Converted,
    tag_of: &(dyn Fn(usize) -> String + Sync),
    store: &Store,
    opts: &BatchOptions,
    deadline: Option<Instant>,
    gate: &dyn CommitGate,
) -> Result<BatchOutcome, WriteFailed> {
    let stats = c.conv.stats().clone();
    let sealed = match seal_files(&mut c, tag_of, store, opts) {
        Ok(sealed) => sealed,
        Err(source) => {
            return Err(WriteFailed {
                source,
                lowest_index: 0,
                attempted: Vec::new(),
            });
        }
    };
    let attempted: Vec<String> = sealed.iter().map(|s| s.spool.key.clone()).collect();
    if let Err(source) = gate.before_commit(&attempted).await {
        for s in sealed {
            store.abort(s.spool);
        }
        return Err(WriteFailed {
            source,
            lowest_index: 0,
            attempted: Vec::new(),
        });
    }
    let results: Vec<(String, u64, Result<u64, LakeError>)> = futures::stream::iter(sealed)
        .map(|s| async move {
            let (key, rows) = (s.spool.key.clone(), s.rows);
            let commit = store.commit(s.spool, s.file, opts.mode);
            let result = match deadline {
                Some(by) => tokio::time::timeout_at(by, commit).await.unwrap_or_else(|_| {
                    Err(LakeError::Deadline {
                        op: "commit",
                        key: key.clone(),
                    })
                }),
                None => commit.await,
            };
            (key, rows, result)
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
            attempted,
        }),
    }
}

/// Encodes the converter's rows and dead letters into sealed spool files, each named after
/// the first record in it.
fn seal_files(
    c: &mut Converted,
    tag_of: &(dyn Fn(usize) -> String + Sync),
    store: &Store,
    opts: &BatchOptions,
) -> Result<Vec<SealedFile>, LakeError> {
    let mut table = PartitionedWriter::new(
        table_schema(),
        opts.writer.table_properties(),
        opts.writer.clone(),
        tag_of(0),
    );
    for (partition, lowest) in &c.lowest_in_partition {
        table.set_tag(partition, tag_of(*lowest));
    }
    let mut dead = PartitionedWriter::new(
        dead_letter_schema(),
        opts.writer.dead_letter_properties(),
        opts.writer.clone(),
        tag_of(c.lowest_dead.unwrap_or(0)),
    );
    let conv = &mut c.conv;
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
