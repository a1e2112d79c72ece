//! One shard's worker: buffers what its reader hands over, flushes by the [`FlushPolicy`],
//! and commits each flush with the protocol in the [crate docs](crate).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_kinesis::types::Record;
use futures::future::BoxFuture;
use synclake_lake::{BatchFailure, BatchOptions, CommitGate, Fetcher, LakeError, Store, record_tag, write_batch_gated};
use synclake_records::envelope::EnvelopeItem;
use synclake_records::{Lineage, Position, SourceRecord};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff::{Backoff, BackoffOptions};
use crate::checkpoint::{CheckpointError, CheckpointStore, PendingFlush, ShardState, StartPoint};
use crate::flush::{FlushPolicy, MemoryGauge};
use crate::metrics::{Metrics, ShardMetrics};
use crate::reader::{ReadEvent, ReadMode, ShardTarget, StartAt, read_shard};
use crate::shards::list_shards;

/// What every shard worker shares.
pub struct Shared {
    /// The output table.
    pub store: Store,
    /// S3Url body fetcher.
    pub fetcher: Fetcher,
    /// How flushes are written.
    pub batch: BatchOptions,
    /// Where checkpoints live.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// When to flush.
    pub flush: FlushPolicy,
    /// Bytes buffered across shards.
    pub gauge: MemoryGauge,
    /// Waits after failed flushes and failed state updates.
    pub backoff: BackoffOptions,
    /// Told of every checkpointed flush, in order per shard (tests, tooling).
    pub commits: Option<mpsc::UnboundedSender<Committed>>,
    /// Put this stream creation time (epoch ms) in file names (see
    /// [`FileStore::file_incarnation`](crate::FileStore::file_incarnation)).
    pub file_incarnation: Option<i64>,
}

/// A flush whose records are in the table and covered by the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The shard.
    pub shard: String,
    /// Sequence numbers of the records committed, in order.
    pub sequence_numbers: Vec<String>,
}

/// How a shard worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardExit {
    /// The shard is closed (or gone) and wholly in the table; its children may be read.
    Finished,
    /// Asked to stop; what was buffered was flushed (or is protected by the pending state).
    Stopped,
    /// The reader ended without reaching the shard's end; the shard should be read again.
    ReaderEnded,
}

/// Attempts at a state update before the worker gives up (the checkpoint store is ours: its
/// failure is loud, and the pending state makes a restart safe).
const STATE_ATTEMPTS: u32 = 5;

/// How often a worker that may not take records (memory bound) looks again whether it should
/// flush or may take records again: other workers' flushes change both.
const BLOCKED_RECHECK: Duration = Duration::from_millis(100);

struct Worker {
    shared: Arc<Shared>,
    shard: String,
    state: ShardState,
    metrics: Arc<ShardMetrics>,
    buffer: Vec<Record>,
    bytes: usize,
    oldest: Option<Instant>,
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// Waits between attempts at a shard that cannot be read but is still listed.
    read_backoff: Backoff,
}

/// Reads and commits one shard until it ends or `stop` turns true.
pub async fn run_shard(
    shared: Arc<Shared>,
    target: ShardTarget,
    mode: ReadMode,
    state: ShardState,
    mut stop: watch::Receiver<bool>,
) -> Result<ShardExit, CheckpointError> {
    let mut w = Worker {
        metrics: shared.metrics.shard(&target.shard_id),
        backoff: Backoff::new(shared.backoff),
        read_backoff: Backoff::new(shared.backoff),
        shard: target.shard_id.clone(),
        shared,
        state,
        buffer: Vec::new(),
        bytes: 0,
        oldest: None,
        retry_at: None,
    };
    w.shared.gauge.join();
    let result = w.run(target, mode, &mut stop).await;
    w.shared.gauge.sub(w.bytes);
    w.shared.gauge.leave();
    w.metrics.buffered_bytes.store(0, Ordering::Relaxed);
    result
}

impl Worker {
    async fn run(
        &mut self,
        target: ShardTarget,
        mode: ReadMode,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<ShardExit, CheckpointError> {
        while self.state.pending.is_some() {
            if *stop.borrow() {
                return Ok(ShardExit::Stopped);
            }
            if !self.recover().await? {
                self.wait_or_stop(stop).await;
            }
        }
        self.record_start(&target.start).await?;
        let original_start = target.start.clone();
        let (client, stream_arn) = (target.client.clone(), target.stream_arn.clone());
        let (tx, mut rx) = mpsc::channel(1);
        let mut reader = tokio::spawn(read_shard(target.clone(), mode.clone(), tx));
        let exit = loop {
            if *stop.borrow() {
                break ShardExit::Stopped;
            }
            if self.blocked() && self.should_flush() {
                // Blocked workers take nothing, so only this notices that they must flush.
                self.flush().await?;
                continue;
            }
            let flush_at = self.flush_due_at();
            tokio::select! {
                biased;
                _ = stop.changed() => break ShardExit::Stopped,
                event = rx.recv(), if !self.blocked() => match event {
                    Some(ReadEvent::Records { records, millis_behind_latest }) => {
                        if self.read_backoff.attempts() > 0 {
                            tracing::info!(shard = %self.shard, attempts = self.read_backoff.attempts(),
                                "shard readable again");
                            self.read_backoff.reset();
                        }
                        self.take(records, millis_behind_latest);
                        if self.should_flush() {
                            self.flush().await?;
                        }
                    }
                    Some(ReadEvent::ShardEnd) => {
                        if self.finish(stop).await? {
                            break ShardExit::Finished;
                        }
                        break ShardExit::Stopped;
                    }
                    Some(ReadEvent::Gone { reason }) => {
                        // Ended only if the stream no longer lists it (expired past retention);
                        // a stream that is gone, or a shard still listed, is read again after a
                        // growing wait.
                        let listed = list_shards(&client, &stream_arn).await;
                        if !matches!(&listed, Ok(shards) if shards.iter().all(|s| s.id != self.shard)) {
                            let attempts = self.read_backoff.attempts();
                            let wait = self.read_backoff.next_wait();
                            if attempts == 0 {
                                tracing::warn!(shard = %self.shard, %reason, still_listed = listed.is_ok(),
                                    max_wait_ms = self.shared.backoff.max.as_millis() as u64,
                                    "shard cannot be read; trying again with growing waits (not logged again until it reads)");
                            } else {
                                tracing::debug!(shard = %self.shard, %reason, attempts, wait_ms = wait.as_millis() as u64,
                                    "shard still cannot be read");
                            }
                            tokio::select! {
                                _ = stop.changed() => break ShardExit::Stopped,
                                () = tokio::time::sleep(wait) => {}
                            }
                            let mut again = target.clone();
                            again.start = self.resume_position(&original_start);
                            let (tx, next_rx) = mpsc::channel(1);
                            rx = next_rx;
                            reader.abort();
                            reader = tokio::spawn(read_shard(again, mode.clone(), tx));
                            continue;
                        }
                        tracing::warn!(shard = %self.shard, %reason,
                            "shard can no longer be read and is no longer listed (expired); treating it as ended");
                        if self.finish(stop).await? {
                            break ShardExit::Finished;
                        }
                        break ShardExit::Stopped;
                    }
                    None => break ShardExit::ReaderEnded,
                },
                () = tokio::time::sleep(BLOCKED_RECHECK), if self.blocked() => {}
                () = sleep_until(flush_at), if flush_at.is_some() => self.flush().await?,
            }
        };
        reader.abort();
        if exit != ShardExit::Finished && !self.buffer.is_empty() {
            // One attempt: what it does not write stays unread (or is named in the pending
            // state), and the next run reads it again.
            self.retry_at = None;
            self.flush().await?;
        }
        Ok(exit)
    }

    /// Records where the shard's reading begins, before anything is read, unless it has a
    /// checkpoint or a recorded start already: a restart before the first checkpoint then
    /// begins at the same place (the consumer resolved `latest` to a time).
    async fn record_start(&mut self, start: &StartAt) -> Result<(), CheckpointError> {
        if self.state.checkpoint.is_some() || self.state.start.is_some() {
            return Ok(());
        }
        let point = match start {
            StartAt::TrimHorizon => StartPoint::TrimHorizon,
            StartAt::AtTimestamp(ts) => match ts.to_millis() {
                Ok(ms) => StartPoint::AtTimestampMs(ms),
                Err(_) => return Ok(()),
            },
            StartAt::Latest | StartAt::After(_) => return Ok(()),
        };
        let mut state = self.state.clone();
        state.start = Some(point);
        self.save(state).await
    }

    /// Where a new reader continues: after the last record taken (buffered or checkpointed),
    /// else where the shard's reading began.
    fn resume_position(&self, original: &StartAt) -> StartAt {
        match (self.buffer.last(), &self.state.checkpoint) {
            (Some(last), _) => StartAt::After(last.sequence_number.clone()),
            (None, Some(checkpoint)) => StartAt::After(checkpoint.clone()),
            (None, None) => original.clone(),
        }
    }

    /// Flushes everything, then marks the shard finished. False if stopped first.
    async fn finish(&mut self, stop: &mut watch::Receiver<bool>) -> Result<bool, CheckpointError> {
        while !self.buffer.is_empty() || self.state.pending.is_some() {
            if *stop.borrow() {
                return Ok(false);
            }
            self.retry_at = None;
            self.flush().await?;
            if !self.buffer.is_empty() || self.state.pending.is_some() {
                self.wait_or_stop(stop).await;
            }
        }
        let mut state = self.state.clone();
        state.finished = true;
        self.save(state).await?;
        self.metrics.finished.store(1, Ordering::Relaxed);
        tracing::info!(shard = %self.shard, checkpoint = ?self.state.checkpoint, "shard finished: all of it is in the table");
        Ok(true)
    }

    async fn wait_or_stop(&mut self, stop: &mut watch::Receiver<bool>) {
        let wait = self.backoff.next_wait();
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    fn take(&mut self, records: Vec<Record>, millis_behind_latest: Option<i64>) {
        if let Some(lag) = millis_behind_latest {
            self.metrics.millis_behind_latest.store(lag, Ordering::Relaxed);
        }
        if records.is_empty() {
            return;
        }
        let bytes: usize = records.iter().map(|r| r.data.as_ref().len()).sum();
        self.metrics.records.fetch_add(records.len() as u64, Ordering::Relaxed);
        self.metrics.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.bytes += bytes;
        self.shared.gauge.add(bytes);
        self.metrics.buffered_bytes.store(self.bytes as u64, Ordering::Relaxed);
        self.oldest.get_or_insert_with(Instant::now);
        if self.buffer.is_empty() {
            self.buffer = records;
        } else {
            self.buffer.extend(records);
        }
    }

    fn should_flush(&self) -> bool {
        let p = &self.shared.flush;
        self.retry_at.is_none()
            && (self.buffer.len() >= p.max_records
                || self.bytes >= p.max_bytes
                || self.shared.gauge.should_flush(self.bytes, p.memory_limit))
    }

    /// Whether to stop taking records: the buffer is at a limit (a flush is failing), or the
    /// shards together are over the memory limit.
    fn blocked(&self) -> bool {
        let p = &self.shared.flush;
        self.buffer.len() >= p.max_records
            || self.bytes >= p.max_bytes
            || (self.bytes > 0 && self.shared.gauge.over(p.memory_limit))
    }

    fn flush_due_at(&self) -> Option<Instant> {
        match (self.retry_at, self.oldest) {
            (Some(retry), _) => Some(retry),
            (None, Some(oldest)) => Some(oldest + self.shared.flush.max_age),
            (None, None) if self.state.pending.is_some() => Some(Instant::now()),
            (None, None) => None,
        }
    }

    /// Deletes the files a pending flush may have left, then clears it. False if a delete
    /// failed (try again later).
    async fn recover(&mut self) -> Result<bool, CheckpointError> {
        let Some(pending) = self.state.pending.clone() else {
            return Ok(true);
        };
        // A fenced write first: a worker that lost the lease must not delete what the next
        // holder's own pending flush may have committed under the same state.
        self.save(self.state.clone()).await?;
        for key in &pending.keys {
            if let Err(error) = self.shared.store.delete(key).await {
                tracing::warn!(shard = %self.shard, key = %self.shared.store.full_key(key), %error,
                    "could not delete a file an interrupted flush may have left; will try again");
                return Ok(false);
            }
        }
        // The deletions must be durable before the state forgets them: else a crash could bring
        // back a file whose records are then read (and committed) again.
        if let Err(error) = sync_dirs_of(&self.shared.store, &pending.keys) {
            tracing::warn!(shard = %self.shard, %error,
                "could not make the deletion of an interrupted flush's files durable; will try again");
            return Ok(false);
        }
        tracing::info!(shard = %self.shard, files = pending.keys.len(), first = %pending.first, last = %pending.last,
            "removed the files of an interrupted flush; its records are read again");
        let mut state = self.state.clone();
        state.pending = None;
        self.save(state).await?;
        Ok(true)
    }

    /// One flush attempt of the whole buffer.
    async fn flush(&mut self) -> Result<(), CheckpointError> {
        if self.state.pending.is_some() && !self.recover().await? {
            self.retry_at = Some(Instant::now() + self.backoff.next_wait());
            return Ok(());
        }
        let Some(last) = self.buffer.last() else {
            self.oldest = None;
            return Ok(());
        };
        let first = self.buffer[0].sequence_number.clone();
        let last = last.sequence_number.clone();
        let shared = self.shared.clone();
        let items: Vec<EnvelopeItem<'_>> = self.buffer.iter().map(|r| Ok(source_record(&self.shard, r))).collect();
        let epoch = shared.checkpoints.file_epoch(&self.shard);
        let tag_of = |i: usize| {
            let tag = items
                .get(i)
                .and_then(record_tag)
                .map(|tag| incarnation_tag(&self.shard, tag, shared.file_incarnation))
                .unwrap_or_else(|| format!("{}-{i}", self.shard));
            match epoch {
                Some(epoch) => format!("{tag}-L{epoch}"),
                None => tag,
            }
        };
        let gate = IntentGate {
            checkpoints: shared.checkpoints.as_ref(),
            shard: &self.shard,
            base: &self.state,
            first: &first,
            last: &last,
            keys: tokio::sync::Mutex::new(Vec::new()),
        };
        // Boxed: the compiler cannot otherwise see that the future is Send for every lifetime.
        // Fetched S3Url bodies count against the memory bound (`--buffer-mb`) with the
        // payloads every shard buffers: a flush whose bodies would pass it commits a prefix.
        //
        // The flush reserves its bound in the gauge while it runs, so shards flushing at once
        // share the headroom instead of each taking all of it; at least an eighth of
        // `--flush-mb` so a flush under memory pressure still takes several bodies, at most
        // `--flush-mb`.
        let policy = &self.shared.flush;
        let headroom = policy.memory_limit.saturating_sub(self.shared.gauge.bytes());
        let reserved = headroom.clamp(policy.max_bytes / 8, policy.max_bytes);
        let batch = BatchOptions {
            max_fetched_bytes: reserved,
            // The pending state names whatever an interrupted attempt left.
            remove_stale: false,
            ..shared.batch.clone()
        };
        self.shared.gauge.add(reserved);
        let write: BoxFuture<'_, _> = Box::pin(write_batch_gated(
            &items,
            &tag_of,
            &shared.store,
            &shared.fetcher,
            &batch,
            None,
            &gate,
        ));
        let outcome = write.await;
        self.shared.gauge.sub(reserved);
        drop(items);
        let written = outcome.written;
        let leftover: Vec<String> = gate
            .keys
            .into_inner()
            .into_iter()
            .filter(|k| outcome.committed.binary_search(k).is_err())
            .collect();
        // Every key the flush may have committed (its intent), for a refused checkpoint (fleets).
        let attempted: Vec<String> = match self.shared.checkpoints.file_epoch(&self.shard) {
            Some(_) => outcome.committed.iter().chain(&leftover).cloned().collect(),
            None => Vec::new(),
        };
        let mut state = self.state.clone();
        if written > 0 {
            state.checkpoint = Some(self.buffer[written - 1].sequence_number.clone());
        }
        state.pending = (!leftover.is_empty()).then(|| PendingFlush {
            first: self
                .buffer
                .get(written)
                .map_or_else(|| first.clone(), |r| r.sequence_number.clone()),
            last: last.clone(),
            keys: leftover,
        });
        if let Err(error) = self.save(state).await {
            if error.is_lease_lost() && !attempted.is_empty() {
                self.settle_fenced(&attempted, written).await;
            }
            return Err(error);
        }

        let m = &self.metrics;
        m.rows.fetch_add(outcome.stats.rows, Ordering::Relaxed);
        m.files.fetch_add(outcome.files, Ordering::Relaxed);
        m.dead_letters.fetch_add(outcome.stats.dead_letters, Ordering::Relaxed);
        m.committed_records.fetch_add(written as u64, Ordering::Relaxed);
        let drained: Vec<Record> = self.buffer.drain(..written).collect();
        let drained_bytes: usize = drained.iter().map(|r| r.data.as_ref().len()).sum();
        self.bytes -= drained_bytes;
        self.shared.gauge.sub(drained_bytes);
        m.buffered_bytes.store(self.bytes as u64, Ordering::Relaxed);
        if written > 0
            && let Some(commits) = &self.shared.commits
        {
            let _ = commits.send(Committed {
                shard: self.shard.clone(),
                sequence_numbers: drained.into_iter().map(|r| r.sequence_number).collect(),
            });
        }
        match outcome.failure {
            None => {
                m.flushes.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(shard = %self.shard, records = written, rows = outcome.stats.rows,
                    files = outcome.files, "flushed");
                self.backoff.reset();
                self.retry_at = None;
                self.oldest = None;
            }
            Some(BatchFailure::FetchBudget { index, max_bytes }) => {
                // Not a failure: the rest is flushed at once, starting with that record.
                tracing::debug!(shard = %self.shard, written, next = index, max_bytes,
                    "fetched bodies reached the buffer bound; flushing the rest next");
                m.flushes.fetch_add(1, Ordering::Relaxed);
                self.backoff.reset();
                self.retry_at = Some(Instant::now());
            }
            Some(failure) => {
                m.flush_failures.fetch_add(1, Ordering::Relaxed);
                let wait = self.backoff.next_wait();
                tracing::warn!(shard = %self.shard, written, remaining = self.buffer.len(), error = %failure,
                    retry_in_ms = wait.as_millis() as u64, "flush did not write everything; the rest is retried");
                self.retry_at = Some(Instant::now() + wait);
                if self.buffer.is_empty() {
                    self.oldest = None;
                }
            }
        }
        Ok(())
    }

    /// After the checkpoint of a flush whose files were committed was refused (the lease moved
    /// on: paused past it, or cut off): deletes those files if the holders since began before
    /// them — they read those records again — and keeps them if not, or if that cannot be
    /// told (the refused save may have landed with its answer lost).
    async fn settle_fenced(&self, keys: &[String], written: usize) {
        let Some(last) = written.checked_sub(1).map(|n| self.buffer[n].sequence_number.as_str()) else {
            // Nothing of the flush was to be checkpointed: whatever landed is read again.
            self.remove_fenced(keys).await;
            return;
        };
        match self.shared.checkpoints.redone_after(&self.shard, last).await {
            Ok(true) => self.remove_fenced(keys).await,
            Ok(false) => tracing::warn!(shard = %self.shard, files = keys.len(), through = last,
                "the lease moved on after this flush's checkpoint was saved: its files stay"),
            Err(error) => tracing::error!(shard = %self.shard, files = keys.len(), %error, example = %keys[0],
                "the lease moved on while committing and the lease table cannot be read: the files stay, and may hold records the next holder writes too"),
        }
    }

    /// Deletes files this worker committed whose records the next holders read again. Their
    /// names carry this holder's epoch, so they are nobody else's. One attempt each; what is
    /// left is logged.
    async fn remove_fenced(&self, keys: &[String]) {
        let mut left = Vec::new();
        for key in keys {
            if let Err(error) = self.shared.store.delete(key).await {
                tracing::error!(shard = %self.shard, key = %self.shared.store.full_key(key), %error,
                    "could not delete a file committed after the lease was lost: its records may be in the table twice");
                left.push(key);
            }
        }
        let _ = sync_dirs_of(&self.shared.store, keys);
        tracing::warn!(shard = %self.shard, files = keys.len(), not_deleted = left.len(),
            "the lease was lost while committing: removed the files this flush committed");
    }

    /// Saves `state` durably, retrying a few times; on success it becomes the worker's state.
    async fn save(&mut self, state: ShardState) -> Result<(), CheckpointError> {
        let mut backoff = Backoff::new(self.shared.backoff);
        loop {
            match self.shared.checkpoints.save(&self.shard, &state).await {
                Ok(()) => {
                    self.state = state;
                    return Ok(());
                }
                Err(error) if error.is_lease_lost() => return Err(error),
                Err(error) if backoff.attempts() + 1 < STATE_ATTEMPTS => {
                    tracing::warn!(shard = %self.shard, %error, "saving the shard state failed; retrying");
                    backoff.wait().await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// A Kinesis record as the core's source record, borrowing its bytes.
fn source_record<'r>(shard: &'r str, r: &'r Record) -> SourceRecord<'r> {
    SourceRecord {
        data: Cow::Borrowed(r.data.as_ref()),
        lineage: Lineage {
            source: Cow::Borrowed(shard),
            position: Position::Sequence(Cow::Borrowed(&r.sequence_number)),
            arrival_ms: r.approximate_arrival_timestamp.and_then(|t| t.to_millis().ok()),
        },
    }
}

/// A record's file tag (`<shard>-<sequence number>`) with the stream incarnation after the
/// shard id when there is one (`<shard>-i<creation ms>-<sequence number>`): the name keeps its
/// `part-<shard>-` prefix, and differs from any file of another incarnation.
fn incarnation_tag(shard: &str, tag: String, incarnation: Option<i64>) -> String {
    match (incarnation, tag.strip_prefix(shard)) {
        (None, _) => tag,
        (Some(ms), Some(rest)) => format!("{shard}-i{ms}{rest}"),
        (Some(ms), None) => format!("{tag}-i{ms}"),
    }
}

/// Fsyncs the directories that held `keys` (a local table), skipping directories that do not
/// exist (a flush that failed before creating them). On S3 a completed DELETE is durable.
fn sync_dirs_of(store: &Store, keys: &[String]) -> std::io::Result<()> {
    let Store::Local { root } = store else { return Ok(()) };
    let dirs: std::collections::BTreeSet<std::path::PathBuf> = keys
        .iter()
        .filter_map(|k| root.join(k).parent().map(std::path::Path::to_owned))
        .collect();
    for dir in dirs {
        match std::fs::File::open(&dir) {
            Ok(d) => d.sync_all()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Records the flush's commit intent (every key it will commit) before the first commit.
struct IntentGate<'a> {
    checkpoints: &'a dyn CheckpointStore,
    shard: &'a str,
    base: &'a ShardState,
    first: &'a str,
    last: &'a str,
    keys: tokio::sync::Mutex<Vec<String>>,
}

impl CommitGate for IntentGate<'_> {
    fn before_commit<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), LakeError>> {
        Box::pin(async move {
            let mut all = self.keys.lock().await;
            all.extend(keys.iter().cloned());
            all.sort_unstable();
            all.dedup();
            let mut state = self.base.clone();
            // Files an earlier flush may have left were deleted before this one began.
            state.pending = Some(PendingFlush {
                first: self.first.to_owned(),
                last: self.last.to_owned(),
                keys: all.clone(),
            });
            self.checkpoints
                .save(self.shard, &state)
                .await
                .map_err(|e| LakeError::Gate { reason: e.to_string() })?;
            // The save may have taken long: the lease must still be valid as the commits start.
            self.checkpoints
                .may_commit(self.shard)
                .map_err(|e| LakeError::Gate { reason: e.to_string() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_a_new_incarnation_are_named_apart() {
        let shard = "shardId-000000000000";
        let tag = format!("{shard}-49590338271490256608559692538361571095921575989136588898");
        assert_eq!(incarnation_tag(shard, tag.clone(), None), tag);
        let named = incarnation_tag(shard, tag.clone(), Some(1_795_428_000_000));
        assert_eq!(
            named,
            "shardId-000000000000-i1795428000000-49590338271490256608559692538361571095921575989136588898"
        );
        assert_ne!(named, tag);
        assert!(named.starts_with("shardId-"), "the consumer-file prefix stays");
    }
}
