//! The core: source records → decoded payloads → rows per partition, or dead letters.
//!
//! One code path for every way in (replay, the Kinesis consumer, the Lambda). It is
//! synchronous and does no I/O: an S3Url payload is handed back to the caller as
//! [`Step::NeedsFetch`], the caller fetches the body however suits it (blocking thread or
//! async task) and hands it in with [`Converter::push_fetched`].

use std::collections::HashMap;

use arrow_array::RecordBatch;
use bytes::Bytes;
use synclake_records::{DecodeBuffers, DecodeError, Payload, PayloadType, SourceRecord, decode_records_body, validate};

use crate::dead_letter::{DeadLetters, Stage};
use crate::error::LakeError;
use crate::fetch::FetchError;
use crate::partition::{PartitionRenderer, PartitionSpec};
use crate::rows::RowsBuilder;

/// Counters of what the converter did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertStats {
    /// Payloads decoded into rows.
    pub payloads: u64,
    /// Rows produced.
    pub rows: u64,
    /// Payloads with no records (one null-key row each).
    pub recordless: u64,
    /// S3Url payloads whose records were fetched.
    pub s3url_fetched: u64,
    /// Inputs sent to the dead letters.
    pub dead_letters: u64,
    /// Identifier or limit violations seen (the rows are kept).
    pub violations: u64,
}

impl ConvertStats {
    /// Adds another converter's counters.
    pub fn add(&mut self, o: &ConvertStats) {
        self.payloads += o.payloads;
        self.rows += o.rows;
        self.recordless += o.recordless;
        self.s3url_fetched += o.s3url_fetched;
        self.dead_letters += o.dead_letters;
        self.violations += o.violations;
    }
}

/// What the caller must do after [`Converter::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The record became rows or a dead letter.
    Done,
    /// The payload's records are behind this URL: fetch it and call
    /// [`Converter::push_fetched`] with the same record.
    NeedsFetch(String),
}

/// Turns source records into per-partition row batches and dead letters.
pub struct Converter {
    partitions: PartitionRenderer,
    /// Each payload is decoded into the allocations of the one before.
    buffers: DecodeBuffers,
    /// Rows per partition (looked up once per payload: a fast hasher, not SipHash).
    builders: HashMap<String, RowsBuilder, ahash::RandomState>,
    scratch: String,
    /// Whether the last record pushed became rows (in the partition held by `scratch`).
    last_appended: bool,
    /// The partition of the last S3Url payload handed back for fetching.
    fetch_partition: String,
    dead: DeadLetters,
    buffered_bytes: usize,
    stats: ConvertStats,
}

/// Most idle builders kept for reuse; beyond it, empty ones are dropped at drain.
const MAX_IDLE_BUILDERS: usize = 256;

impl Converter {
    /// A converter partitioning rows by `spec`.
    pub fn new(spec: PartitionSpec) -> Self {
        Converter {
            partitions: PartitionRenderer::new(spec),
            buffers: DecodeBuffers::default(),
            builders: HashMap::default(),
            scratch: String::new(),
            last_appended: false,
            fetch_partition: String::new(),
            dead: DeadLetters::default(),
            buffered_bytes: 0,
            stats: ConvertStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ConvertStats {
        &self.stats
    }

    /// Approximate bytes of rows and dead letters buffered since the last drain.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes + self.dead.buffered_bytes()
    }

    /// The partition the last pushed record's rows went to; None when it became a dead letter
    /// or waits for its fetch. Lets a caller map partitions back to the records in them.
    pub fn last_partition(&self) -> Option<&str> {
        self.last_appended.then_some(self.scratch.as_str())
    }

    /// The partition the rows of the last [`Step::NeedsFetch`] payload will go to, known from
    /// its envelope before the fetch: a batch reserves that partition's file name for the
    /// record whatever the fetch then does.
    pub fn fetch_partition(&self) -> &str {
        &self.fetch_partition
    }

    /// Decodes one source record into rows (or a dead letter).
    pub fn push(&mut self, record: &SourceRecord<'_>) -> Step {
        self.last_appended = false;
        match self.buffers.decode(&record.data) {
            Ok(payload) if payload.payload_type == PayloadType::S3Url => {
                let url = payload.records_url.as_ref().map(|u| u.as_str().to_owned());
                if url.is_some() {
                    self.partitions.render(&payload, &mut self.fetch_partition);
                }
                self.buffers.recycle(payload);
                match url {
                    Some(url) => Step::NeedsFetch(url),
                    None => {
                        self.dead_letter(record, Stage::Decode, &DecodeError::S3UrlMissing);
                        Step::Done
                    }
                }
            }
            Ok(payload) => {
                self.append(&payload, &[], record);
                self.buffers.recycle(payload);
                Step::Done
            }
            Err(e) => {
                self.dead_letter(record, Stage::Decode, &e);
                Step::Done
            }
        }
    }

    /// Completes an S3Url payload with the fetched body (or the reason it could not be had).
    pub fn push_fetched(&mut self, record: &SourceRecord<'_>, body: Result<Bytes, &FetchError>) {
        self.last_appended = false;
        let payload = match self.buffers.decode(&record.data) {
            Ok(p) => p,
            Err(e) => return self.dead_letter(record, Stage::Decode, &e),
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => return self.dead_letter_kind(record, Stage::Fetch, e.kind(), e, None),
        };
        match decode_records_body(&body) {
            Ok(records) => {
                self.stats.s3url_fetched += 1;
                self.append(&payload, &records, record);
                self.buffers.recycle(payload);
            }
            // The URL will expire: the body goes with the dead letter.
            Err(e) => self.dead_letter_kind(record, Stage::Fetch, "fetched_body_invalid", &e, Some(&body)),
        }
    }

    /// Sends an input that failed before decoding (an unreadable envelope, an oversized line)
    /// to the dead letters.
    pub fn reject(&mut self, record: &SourceRecord<'_>, stage: Stage, kind: &str, error: &dyn std::error::Error) {
        self.last_appended = false;
        self.dead_letter_kind(record, stage, kind, error, None);
    }

    fn append(
        &mut self,
        payload: &Payload<'_>,
        fetched: &[synclake_records::SyncRecord<'_>],
        record: &SourceRecord<'_>,
    ) {
        let violations = validate(payload, fetched);
        if !violations.is_empty() {
            self.stats.violations += violations.len() as u64;
            tracing::debug!(source = %record.lineage.source, position = ?record.lineage.position,
                violations = %violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                "payload breaks Cognito Sync limits; kept");
        }
        let mut partition = std::mem::take(&mut self.scratch);
        self.partitions.render(payload, &mut partition);
        let builder = match self.builders.get_mut(partition.as_str()) {
            Some(b) => b,
            None => self.builders.entry(partition.clone()).or_default(),
        };
        let before = builder.buffered_bytes();
        let rows = builder.append(payload, fetched, &record.lineage);
        self.buffered_bytes += builder.buffered_bytes() - before;
        self.scratch = partition;
        self.last_appended = true;
        self.stats.payloads += 1;
        self.stats.rows += rows as u64;
        if payload.records.is_empty() && fetched.is_empty() {
            self.stats.recordless += 1;
        }
    }

    fn dead_letter(&mut self, record: &SourceRecord<'_>, stage: Stage, e: &DecodeError) {
        self.dead_letter_kind(record, stage, e.kind(), e, None);
    }

    fn dead_letter_kind(
        &mut self,
        record: &SourceRecord<'_>,
        stage: Stage,
        kind: &str,
        e: &dyn std::error::Error,
        fetched: Option<&[u8]>,
    ) {
        self.stats.dead_letters += 1;
        self.dead
            .push_with_body(&record.lineage, stage, kind, e, &record.data, fetched);
    }

    /// Hands the partitions worth writing now to `sink`: those holding at least `min_rows`
    /// rows, then, while all builders together hold more than `max_bytes`, the largest ones.
    /// Small partitions (late or bulk-published records scattered over old hours) stay
    /// buffered, so they end up in one file per unit instead of many tiny ones. Dead letters
    /// go to `dead_sink` every time.
    pub fn drain_ready(
        &mut self,
        min_rows: usize,
        max_bytes: usize,
        mut sink: impl FnMut(&str, &RecordBatch) -> Result<(), LakeError>,
        dead_sink: impl FnMut(&RecordBatch) -> Result<(), LakeError>,
    ) -> Result<(), LakeError> {
        let mut ready: Vec<(usize, String)> = self
            .builders
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(k, b)| (b.buffered_bytes(), k.clone()))
            .collect();
        // Largest first; ties by name, so the outcome never depends on hash order.
        ready.sort_unstable_by(|a, b| b.cmp(a));
        let mut remaining = self.buffered_bytes;
        for (bytes, partition) in ready {
            let Some(b) = self.builders.get_mut(&partition) else {
                continue;
            };
            if b.len() >= min_rows || remaining > max_bytes {
                remaining -= bytes.min(remaining);
                let batch = b.finish().map_err(|source| LakeError::Arrow { source })?;
                sink(&partition, &batch)?;
            }
        }
        self.buffered_bytes = remaining;
        self.drain_dead(dead_sink)
    }

    /// Hands every buffered partition batch to `sink` (in partition order, so output is
    /// deterministic) and the dead letters to `dead_sink`, leaving the buffers empty.
    pub fn drain(
        &mut self,
        mut sink: impl FnMut(&str, &RecordBatch) -> Result<(), LakeError>,
        dead_sink: impl FnMut(&RecordBatch) -> Result<(), LakeError>,
    ) -> Result<(), LakeError> {
        let mut partitions: Vec<String> = self
            .builders
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        partitions.sort_unstable();
        for p in &partitions {
            if let Some(b) = self.builders.get_mut(p) {
                let batch = b.finish().map_err(|source| LakeError::Arrow { source })?;
                sink(p, &batch)?;
            }
        }
        if self.builders.len() > MAX_IDLE_BUILDERS {
            self.builders.retain(|k, _| partitions.contains(k));
        }
        self.buffered_bytes = 0;
        self.drain_dead(dead_sink)
    }

    fn drain_dead(
        &mut self,
        mut dead_sink: impl FnMut(&RecordBatch) -> Result<(), LakeError>,
    ) -> Result<(), LakeError> {
        if !self.dead.is_empty() {
            dead_sink(&self.dead.finish()?)?;
        }
        Ok(())
    }
}
