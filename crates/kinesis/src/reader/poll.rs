//! The polling reader: `GetShardIterator`, then `GetRecords` in a loop within the per-shard
//! limits (5 calls/s, 2 MB/s), waiting when caught up, renewing an expired iterator from the
//! last record handed over, backing off with jitter when throttled.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::error::{ErrorClass, classify, describe};
use crate::reader::{ReadEvent, ShardTarget, StartAt};

/// Polling limits.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Records per `GetRecords` call (at most 10,000).
    pub limit: i32,
    /// Least time between two calls on a shard (5 calls/s per shard, shared by every reader).
    pub min_interval: Duration,
    /// Wait after a call that found the reader at the shard's tip.
    pub idle_wait: Duration,
    /// Read throughput per shard: after reading `n` bytes, the next call waits `n / this`.
    pub bytes_per_sec: u64,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            limit: 10_000,
            min_interval: Duration::from_millis(200),
            idle_wait: Duration::from_secs(1),
            bytes_per_sec: 2 * 1024 * 1024,
        }
    }
}

/// What went wrong getting an iterator or records.
enum Trouble {
    /// Get a new iterator from the last position.
    Renew,
    /// Wait and try again.
    Retry,
    /// The shard is gone.
    Gone(String),
}

/// Polls one shard; see the [module docs](self).
pub async fn poll_shard(target: ShardTarget, opts: PollOptions, tx: mpsc::Sender<ReadEvent>) {
    let mut position = target.start.clone();
    let mut backoff = Backoff::new(target.backoff);
    loop {
        let requested_at = std::time::SystemTime::now();
        let iterator = match get_iterator(&target, &position).await {
            Ok(it) => it,
            Err(Trouble::Gone(reason)) => {
                let _ = tx.send(ReadEvent::Gone { reason }).await;
                return;
            }
            Err(_) => {
                if !back_off(&mut backoff, &tx).await {
                    return;
                }
                continue;
            }
        };
        backoff.reset();
        if position == StartAt::Latest {
            // A renewal must not skip what arrived since this first iterator: from here on,
            // "latest" means "from the time it was asked for".
            position = StartAt::AtTimestamp(requested_at.into());
        }
        match poll_iterator(&target, &opts, iterator, &mut position, &mut backoff, &tx).await {
            Ok(()) => return,
            Err(Trouble::Gone(reason)) => {
                let _ = tx.send(ReadEvent::Gone { reason }).await;
                return;
            }
            Err(Trouble::Renew | Trouble::Retry) => continue,
        }
    }
}

/// Polls from `iterator` until the shard ends (`Ok`), the receiver is gone (`Ok`), or the
/// iterator must be renewed.
async fn poll_iterator(
    target: &ShardTarget,
    opts: &PollOptions,
    mut iterator: String,
    position: &mut StartAt,
    backoff: &mut Backoff,
    tx: &mpsc::Sender<ReadEvent>,
) -> Result<(), Trouble> {
    let shard = target.shard_id.as_str();
    loop {
        let started = Instant::now();
        let result = target
            .client
            .get_records()
            .shard_iterator(&iterator)
            .limit(opts.limit)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                match classify(&e) {
                    ErrorClass::ExpiredIterator => {
                        tracing::info!(shard, "shard iterator expired; renewing it from the last record read");
                        return Err(Trouble::Renew);
                    }
                    ErrorClass::NotFound => return Err(Trouble::Gone(describe(&e))),
                    ErrorClass::Throttled => {
                        tracing::warn!(shard, attempt = backoff.attempts(), "GetRecords throttled; backing off")
                    }
                    class => tracing::warn!(shard, ?class, error = %describe(&e), "GetRecords failed; backing off"),
                }
                if !back_off(backoff, tx).await {
                    return Ok(());
                }
                continue;
            }
        };
        backoff.reset();
        let bytes: usize = out.records.iter().map(|r| r.data.as_ref().len()).sum();
        let count = out.records.len();
        if let Some(last) = out.records.last() {
            *position = StartAt::After(last.sequence_number.clone());
        }
        let caught_up = count == 0 && out.millis_behind_latest.is_none_or(|m| m == 0);
        let event = ReadEvent::Records {
            records: out.records,
            millis_behind_latest: out.millis_behind_latest,
        };
        if tx.send(event).await.is_err() {
            return Ok(());
        }
        match out.next_shard_iterator {
            Some(next) if !next.is_empty() => iterator = next,
            _ => {
                tracing::info!(shard, "shard closed and read to its end");
                let _ = tx.send(ReadEvent::ShardEnd).await;
                return Ok(());
            }
        }
        let pace = Duration::from_secs_f64(bytes as f64 / opts.bytes_per_sec.max(1) as f64).max(opts.min_interval);
        let wait = if caught_up { opts.idle_wait.max(pace) } else { pace };
        tokio::time::sleep_until(started + wait).await;
    }
}

/// Waits the next backoff (`true`), unless the receiver goes first (`false`): a reader that is
/// throttled or failing hands nothing over, so only this notices that nobody reads any more.
async fn back_off(backoff: &mut Backoff, tx: &mpsc::Sender<ReadEvent>) -> bool {
    tokio::select! {
        () = backoff.wait() => true,
        () = tx.closed() => false,
    }
}

/// A fresh iterator at `position`.
async fn get_iterator(target: &ShardTarget, position: &StartAt) -> Result<String, Trouble> {
    let mut request = target
        .client
        .get_shard_iterator()
        .stream_arn(&target.stream_arn)
        .shard_id(&target.shard_id)
        .shard_iterator_type(position.iterator_type());
    match position {
        StartAt::After(seq) => request = request.starting_sequence_number(seq),
        StartAt::AtTimestamp(ts) => request = request.timestamp(*ts),
        StartAt::TrimHorizon | StartAt::Latest => {}
    }
    match request.send().await {
        Ok(out) => out.shard_iterator.ok_or_else(|| {
            tracing::warn!(shard = %target.shard_id, "GetShardIterator returned no iterator");
            Trouble::Retry
        }),
        Err(e) => {
            let class = classify(&e);
            if class == ErrorClass::NotFound {
                return Err(Trouble::Gone(describe(&e)));
            }
            tracing::warn!(shard = %target.shard_id, ?class, error = %describe(&e), "GetShardIterator failed; backing off");
            Err(Trouble::Retry)
        }
    }
}
