//! Dead letters: input that could not become rows, kept with its raw bytes and the reason.
//!
//! Nothing is dropped. A payload that does not decode, or whose S3 records cannot be fetched,
//! becomes one row of the dead-letter table under `<table>/_dead_letters/` (a `_` prefix, so
//! table readers skip it), with where it came from, the stage, the error and the raw bytes.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::RecordBatch;
use arrow_array::builder::{BinaryBuilder, BooleanBuilder, StringBuilder, TimestampMillisecondBuilder};
use synclake_records::{Lineage, Position};

use crate::error::LakeError;
use crate::schema::{UTC, dead_letter_schema};

/// Directory of the dead-letter table, relative to the table root.
pub const DEAD_LETTER_DIR: &str = "_dead_letters";

/// Largest raw input kept per dead letter; longer input is cut and flagged `raw_truncated`.
pub const MAX_RAW_BYTES: usize = 16 * 1024 * 1024;

/// The stage at which an input failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The envelope (file, Lambda event, line) could not be read.
    Envelope,
    /// The payload could not be decoded.
    Decode,
    /// The records behind an S3 URL could not be fetched or decoded.
    Fetch,
}

impl Stage {
    /// The name stored in the `stage` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Envelope => "envelope",
            Stage::Decode => "decode",
            Stage::Fetch => "fetch",
        }
    }
}

/// Dead letters buffered as Arrow columns.
pub struct DeadLetters {
    source: StringBuilder,
    sequence: StringBuilder,
    arrival: TimestampMillisecondBuilder,
    stage: StringBuilder,
    kind: StringBuilder,
    error: StringBuilder,
    raw: BinaryBuilder,
    fetched: BinaryBuilder,
    truncated: BooleanBuilder,
    failed_at: TimestampMillisecondBuilder,
    rows: usize,
    bytes: usize,
}

impl Default for DeadLetters {
    fn default() -> Self {
        DeadLetters {
            source: StringBuilder::new(),
            sequence: StringBuilder::new(),
            arrival: TimestampMillisecondBuilder::new().with_timezone(UTC),
            stage: StringBuilder::new(),
            kind: StringBuilder::new(),
            error: StringBuilder::new(),
            raw: BinaryBuilder::new(),
            fetched: BinaryBuilder::new(),
            truncated: BooleanBuilder::new(),
            failed_at: TimestampMillisecondBuilder::new().with_timezone(UTC),
            rows: 0,
            bytes: 0,
        }
    }
}

impl DeadLetters {
    /// Buffers one dead letter and logs it at DEBUG (without its bytes: they are user data;
    /// callers report counts at WARN).
    pub fn push(&mut self, lineage: &Lineage<'_>, stage: Stage, kind: &str, error: &dyn std::error::Error, raw: &[u8]) {
        self.push_with_body(lineage, stage, kind, error, raw, None);
    }

    /// Like [`push`](Self::push), also keeping the body fetched from an S3 URL that could not
    /// be decoded: the URL expires, so this may be the only copy of those records.
    pub fn push_with_body(
        &mut self,
        lineage: &Lineage<'_>,
        stage: Stage,
        kind: &str,
        error: &dyn std::error::Error,
        raw: &[u8],
        fetched: Option<&[u8]>,
    ) {
        let mut message = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            let _ = write!(message, ": {c}");
            cause = c.source();
        }
        tracing::debug!(
            source = %lineage.source,
            position = ?lineage.position,
            stage = stage.as_str(),
            kind,
            error = %message,
            "input sent to dead letters"
        );
        self.source.append_value(&lineage.source);
        match &lineage.position {
            Position::Sequence(s) => self.sequence.append_value(s),
            Position::Offset(n) | Position::Index(n) => self.sequence.append_value(n.to_string()),
        }
        self.arrival.append_option(lineage.arrival_ms);
        self.stage.append_value(stage.as_str());
        self.kind.append_value(kind);
        self.error.append_value(&message);
        let kept = &raw[..raw.len().min(MAX_RAW_BYTES)];
        self.raw.append_value(kept);
        self.fetched.append_option(fetched);
        self.bytes += fetched.map_or(0, <[u8]>::len);
        self.truncated.append_value(kept.len() < raw.len());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.failed_at.append_value(now);
        self.rows += 1;
        self.bytes += kept.len() + message.len() + 64;
    }

    /// Dead letters buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when none is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Approximate bytes buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// The buffered dead letters as a batch; the buffer is left empty.
    pub fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(
            dead_letter_schema(),
            vec![
                Arc::new(self.source.finish()),
                Arc::new(self.sequence.finish()),
                Arc::new(self.arrival.finish()),
                Arc::new(self.stage.finish()),
                Arc::new(self.kind.finish()),
                Arc::new(self.error.finish()),
                Arc::new(self.raw.finish()),
                Arc::new(self.truncated.finish()),
                Arc::new(self.fetched.finish()),
                Arc::new(self.failed_at.finish()),
            ],
        )
        .map_err(|source| LakeError::Arrow { source })
    }
}
