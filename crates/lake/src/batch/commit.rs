//! Writing and committing a converted prefix: files sealed per partition and for the dead
//! letters, the commit intent told to the gate, commits in parallel by the deadline, and the
//! files an earlier attempt left under the names this batch owns removed.

use arrow_array::RecordBatch;
use futures::StreamExt as _;
use tokio::time::Instant;

use super::prefix::{Converted, VolatileName};
use super::{BatchOptions, BatchOutcome, CommitGate};
use crate::dead_letter::DEAD_LETTER_DIR;
use crate::error::LakeError;
use crate::schema::{dead_letter_schema, table_schema};
use crate::store::Store;
use crate::writer::{PartitionedWriter, SealedFile};

/// Deletes the files an earlier attempt at the same records left under the names this batch
/// owns but did not write now (a partition or dead-letter file that fetch outcomes made
/// smaller or empty this time). Only directories holding S3Url records can differ.
pub(super) async fn remove_stale(
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

/// A write attempt that did not commit everything.
pub(super) struct WriteFailed {
    pub(super) source: LakeError,
    /// Lowest record index with rows in a file that was not committed.
    pub(super) lowest_index: usize,
    /// Every key this attempt committed or tried to (a failed commit may have landed).
    pub(super) attempted: Vec<String>,
}

/// Writes and commits the converted prefix, each commit by `deadline`.
pub(super) async fn write_prefix(
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
