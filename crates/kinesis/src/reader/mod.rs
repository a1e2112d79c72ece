//! Shard readers: polling `GetRecords` (the default) and enhanced fan-out
//! (`SubscribeToShard`). A reader owns no state worth keeping: it hands records to its shard's
//! worker over a channel, and the worker decides what is durable. Dropping the receiver (or
//! aborting the task) stops a reader.

pub mod efo;
pub mod poll;
pub mod registration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::types::{Record, ShardIteratorType};
use aws_smithy_types::DateTime;
use tokio::sync::mpsc;

use crate::backoff::BackoffOptions;

/// Where a shard is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum StartAt {
    /// The oldest record within retention.
    TrimHorizon,
    /// Records put from now on.
    Latest,
    /// The first record that arrived at or after this time.
    AtTimestamp(DateTime),
    /// The record after this sequence number (a checkpoint).
    After(String),
}

impl StartAt {
    /// The iterator type, and the sequence number or timestamp it needs.
    pub fn iterator_type(&self) -> ShardIteratorType {
        match self {
            StartAt::TrimHorizon => ShardIteratorType::TrimHorizon,
            StartAt::Latest => ShardIteratorType::Latest,
            StartAt::AtTimestamp(_) => ShardIteratorType::AtTimestamp,
            StartAt::After(_) => ShardIteratorType::AfterSequenceNumber,
        }
    }
}

/// What a reader hands to its shard's worker, in shard order.
#[derive(Debug)]
pub enum ReadEvent {
    /// The next records of the shard (possibly none: a poll that found nothing new still
    /// reports how far behind the shard's tip the reader is).
    Records {
        /// The records, in sequence order.
        records: Vec<Record>,
        /// How far the last record is behind the shard's tip.
        millis_behind_latest: Option<i64>,
    },
    /// The shard is closed and every record in it has been handed over.
    ShardEnd,
    /// The shard can no longer be read (expired past retention, stream deleted): reported,
    /// not fatal.
    Gone {
        /// What the service said.
        reason: String,
    },
}

/// One shard to read.
#[derive(Debug, Clone)]
pub struct ShardTarget {
    /// The client.
    pub client: Client,
    /// The stream's ARN.
    pub stream_arn: String,
    /// The shard.
    pub shard_id: String,
    /// Where to begin.
    pub start: StartAt,
    /// Waits after throttling and transient failures.
    pub backoff: BackoffOptions,
}

/// How shards are read.
#[derive(Debug, Clone)]
pub enum ReadMode {
    /// `GetRecords` polling, within the per-shard limits.
    Poll(poll::PollOptions),
    /// Enhanced fan-out through a registered consumer.
    FanOut(efo::FanOutOptions),
}

/// Reads `target` until its end, until it is gone, or until `tx` is closed.
pub async fn read_shard(target: ShardTarget, mode: ReadMode, tx: mpsc::Sender<ReadEvent>) {
    match mode {
        ReadMode::Poll(opts) => poll::poll_shard(target, opts, tx).await,
        ReadMode::FanOut(opts) => efo::subscribe_shard(target, opts, tx).await,
    }
}
