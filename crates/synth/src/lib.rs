//! Deterministic synthetic Amazon Cognito Streams traffic, as JSON Lines.
//!
//! Why it exists: Cognito Sync is closed to new customers and has no local
//! stand-in, so the demo, the tests and the benchmark need input that looks
//! like a real stream capture without AWS. The generator reproduces the parts
//! of real traffic that break naive consumers: both spellings of the dataset
//! name field (`dataSetName` / `datasetName`), record-less dataset deletions
//! (records absent, `null` or `[]`), `S3Url` payloads whose records live
//! elsewhere, bulk-publish payloads with old timestamps, removals with a null
//! or absent value, escapes, tabs, newlines, `|` and non-ASCII text inside
//! values, JSON documents stored as string values, and rare multi-KB values.
//!
//! Output is byte-for-byte reproducible for a given
//! (`payloads`, `seed`, `start_ms`, `days`), so benchmark runs and test
//! failures can be compared and replayed. The random stream does not depend on
//! `s3url_dir`: only the `kinesisSyncRecordsURL` of `S3Url` payloads differs
//! between a run with and one without it.
//!
//! The public API is [`GenConfig`], [`generate`] and the [`GenStats`] it
//! returns; and [`Edits`], the same datasets as edits a simulated device
//! syncs through the Cognito Sync API (the demo). Modules, in the order a payload passes through them:
//! - `payload`: the generator's state and one payload's envelope (kind,
//!   identity, dataset, sync count, timestamp);
//! - `identity`: identity pools and identities, drawn once per run;
//! - `timeline`: where each payload falls in the captured period, and
//!   ISO-8601 timestamps;
//! - `datasets`: the datasets, their keys and the kind of value of each key;
//! - `records`: the sync records of an inline payload or an `S3Url` body;
//! - `values`: record values, from integers to JSON documents as strings;
//! - `words`: the word lists values are drawn from;
//! - `s3url`: `S3Url` bodies and the URLs that point at them;
//! - `writers`: small byte writers (JSON literals, decimal, hex).

mod datasets;
mod edits;
mod identity;
mod payload;
mod records;
mod s3url;
mod timeline;
mod values;
mod words;
mod writers;

#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

pub use edits::{Edit, Edits};
use payload::Generator;

/// 2024-03-01T00:00:00Z in epoch milliseconds.
const DEFAULT_START_MS: i64 = 1_709_251_200_000;

/// What to generate: the knobs of a synthetic capture.
///
/// Why: one value fully determines the output (apart from where `S3Url` bodies
/// go), so a benchmark or test can name its input by this configuration alone.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Number of payloads (JSON lines) to write; the size of the capture.
    pub payloads: u64,
    /// Seed of the random stream; the same seed gives the same bytes.
    pub seed: u64,
    /// Start of the captured period in epoch milliseconds; live payload
    /// timestamps run from here across `days`.
    pub start_ms: i64,
    /// Length of the captured period in days (0 is treated as 1), which sets
    /// how many daily/hourly partitions the output spreads over.
    pub days: u32,
    /// Where to write the record arrays of `S3Url` payloads, referenced as
    /// `file://` URLs so they can be fetched offline; `None` writes nothing
    /// and uses presigned-looking `https` URLs that cannot be fetched.
    pub s3url_dir: Option<PathBuf>,
}

impl Default for GenConfig {
    /// Why: a sensible demo-sized capture — 10,000 payloads over the first
    /// week of March 2024, seed 42, no S3Url bodies written.
    fn default() -> Self {
        Self {
            payloads: 10_000,
            seed: 42,
            start_ms: DEFAULT_START_MS,
            days: 7,
            s3url_dir: None,
        }
    }
}

/// Counts of what [`generate`] wrote.
///
/// Why: callers (the CLI, the benchmark, tests) report throughput and check
/// the converted table against these numbers without re-reading the input.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GenStats {
    /// JSON lines written.
    pub payloads: u64,
    /// Sync records written: inline ones plus those in `S3Url` bodies that
    /// were written to `s3url_dir` (none when it is `None`).
    pub records: u64,
    /// Bytes of JSON Lines written, newlines included.
    pub bytes: u64,
    /// Payloads with `"payloadType":"S3Url"`.
    pub s3url_payloads: u64,
    /// Dataset deletions carrying no records and no URL.
    pub recordless_payloads: u64,
    /// Records with `"op":"remove"` among those counted in `records`.
    pub removals: u64,
}

/// Writes `cfg.payloads` Cognito Streams payloads to `out`, one per line.
///
/// Why: the single entry point for making realistic, reproducible input for
/// the converter; see the module documentation for what it contains. `out` is
/// buffered internally and flushed before returning.
///
/// # Errors
/// Any I/O error from `out`, or from creating `s3url_dir` and writing the
/// `S3Url` bodies into it.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> io::Result<GenStats> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let s3_dir = match &cfg.s3url_dir {
        Some(dir) => {
            fs::create_dir_all(dir)?;
            Some(std::path::absolute(dir)?)
        }
        None => None,
    };
    let mut g = Generator::new(cfg, s3_dir);
    let mut stats = GenStats::default();
    let mut line: Vec<u8> = Vec::with_capacity(16 * 1024);
    for i in 0..cfg.payloads {
        line.clear();
        g.payload(i, &mut line, &mut stats)?;
        line.push(b'\n');
        out.write_all(&line)?;
        stats.payloads += 1;
        stats.bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(stats)
}
