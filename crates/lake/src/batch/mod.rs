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
//!
//! Modules: `prefix` converts a prefix (fetches, bounds, the record behind each file name);
//! `commit` writes, commits and removes what an earlier attempt left.

mod commit;
mod prefix;

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use synclake_records::Position;
use synclake_records::envelope::EnvelopeItem;
use tokio::time::Instant;

use crate::convert::ConvertStats;
use crate::error::LakeError;
use crate::fetch::{FetchError, Fetcher};
use crate::fetch_retry::RetryLedger;
use crate::partition::PartitionSpec;
use crate::store::{CommitMode, Store};
use crate::writer::WriterOptions;
use commit::{WriteFailed, remove_stale, write_prefix};
use prefix::{Bodies, convert};

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
