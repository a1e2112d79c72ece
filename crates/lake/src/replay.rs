//! `replay`: captured Cognito Streams data (files) → the table, in parallel.
//!
//! Units (see [`crate::input`]) are taken by worker threads from a shared queue. Each worker
//! reads its unit, runs the [`Converter`] over it, writes rows and dead letters into its own
//! [`PartitionedWriter`]s, and commits files as they are sealed. Memory per worker is bounded
//! by the chunk size, the writer's budget and its open-file limit, whatever the input size or
//! the number of partitions.
//!
//! S3Url bodies are fetched concurrently: an S3Url payload is held back (copied) while the
//! records after it are converted at once, and when 64 S3Url payloads or 8 MiB of them are
//! held, and at the end of the unit, their bodies are fetched
//! `--fetch-concurrency` at a time and the held payloads converted in input order, each body
//! dropped once converted. Only S3Url payloads (rare) are copied: the hot path is unchanged.
//! A worker holds at most 8 MiB of held payloads and `--fetch-concurrency` bodies (each within
//! `--fetch-max-mb`) on top of the bounds above. The table does not depend on which fetch
//! finishes first nor on `--fetch-concurrency`: an S3Url payload's rows come after the rows
//! converted while it was held, in the same files, the same way every run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use synclake_records::envelope::{get_records_items, lambda_event_items};
use synclake_records::{InputFormat, Lineage, Position, SourceRecord};
use tokio::runtime::Handle;

use crate::convert::{ConvertStats, Converter, Step};
use crate::dead_letter::{DEAD_LETTER_DIR, Stage};
use crate::error::LakeError;
use crate::fetch::Fetcher;
use crate::input::{LineSink, Part, Unit, read_document, read_lines};
use crate::partition::PartitionSpec;
use crate::schema::{dead_letter_schema, table_schema};
use crate::store::{CommitMode, Store};
use crate::writer::{PartitionedWriter, SealedFile, WriterOptions};

/// How `replay` runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Partition columns.
    pub partition: PartitionSpec,
    /// File and memory limits.
    pub writer: WriterOptions,
    /// Worker threads.
    pub workers: usize,
    /// Bytes read at a time (rows are handed to the writers after each).
    pub chunk_bytes: usize,
    /// Longest line accepted; longer ones go to the dead letters.
    pub max_line_bytes: usize,
    /// A partition's buffered rows are written once there are this many.
    pub batch_rows: usize,
    /// Memory all buffered rows of one worker may take before the largest are written.
    pub buffer_bytes: usize,
    /// S3Url bodies each worker fetches at once.
    pub fetch_concurrency: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            partition: PartitionSpec::default(),
            writer: WriterOptions::default(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            // Small enough that what one read copies out of the page cache is still in the
            // CPU's cache when it is parsed.
            chunk_bytes: 1024 * 1024,
            max_line_bytes: 8 * 1024 * 1024,
            batch_rows: 64 * 1024,
            buffer_bytes: 16 * 1024 * 1024,
            fetch_concurrency: 16,
        }
    }
}

/// Live counters, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    /// Input bytes read from disk (compressed bytes for gzip files).
    pub bytes_read: Arc<AtomicU64>,
    /// Rows written so far.
    pub rows: AtomicU64,
    /// Dead letters so far.
    pub dead_letters: AtomicU64,
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    /// Input files.
    pub files_in: usize,
    /// Units of work.
    pub units: usize,
    /// Bytes of input on disk.
    pub bytes_in: u64,
    /// Decode counters.
    pub stats: ConvertStats,
    /// Rows committed per partition directory.
    pub rows_per_partition: BTreeMap<String, u64>,
    /// Data files committed.
    pub files_out: u64,
    /// Dead-letter files committed.
    pub dead_letter_files: u64,
    /// Bytes committed (data and dead letters).
    pub bytes_out: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Keys of the files committed, relative to the table root.
    pub committed: Vec<String>,
    /// Files of an earlier run over the same input that this run did not rewrite, deleted.
    pub replaced_removed: u64,
}

/// Everything a worker needs, shared.
struct Shared<'a> {
    units: &'a [Unit],
    next: AtomicUsize,
    failed: AtomicBool,
    store: &'a Store,
    fetcher: &'a Fetcher,
    runtime: &'a Handle,
    opts: &'a ReplayOptions,
    progress: &'a Progress,
    summary: Mutex<ReplaySummary>,
}

/// Replays `units` into `store`. Stops at the first failure to write (input errors are dead
/// letters, not failures), removing the spool files of what was not committed.
pub fn replay(
    units: &[Unit],
    store: &Store,
    fetcher: &Fetcher,
    runtime: &Handle,
    opts: &ReplayOptions,
    progress: &Progress,
) -> Result<ReplaySummary, LakeError> {
    let started = Instant::now();
    // What earlier runs wrote, to remove what this run does not rewrite (replace semantics).
    let earlier = runtime.block_on(store.list_parts())?;
    let mut files: Vec<_> = units
        .iter()
        .flat_map(|u| &u.parts)
        .map(|p| Arc::as_ptr(&p.file))
        .collect();
    files.dedup();
    let shared = Shared {
        units,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        store,
        fetcher,
        runtime,
        opts,
        progress,
        summary: Mutex::new(ReplaySummary {
            files_in: files.len(),
            units: units.len(),
            bytes_in: units.iter().map(Unit::bytes).sum(),
            ..Default::default()
        }),
    };
    let workers = opts.workers.clamp(1, units.len().max(1));
    // Committed files are made durable by threads of their own while the workers go on
    // converting, so the disk's time overlaps the CPU's instead of following it; several at
    // once, because each fsync mostly waits (units seal most of their files together, at
    // their end).
    let (to_sync, queue) = mpsc::channel::<String>();
    let queue = Mutex::new(queue);
    let (results, synced) = std::thread::scope(|s| {
        let syncers: Vec<_> = (0..SYNC_THREADS)
            .map(|_| s.spawn(|| sync_files(store, &queue)))
            .collect();
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let to_sync = to_sync.clone();
                s.spawn(|| worker(&shared, to_sync))
            })
            .collect();
        drop(to_sync);
        let results: Vec<Result<(), LakeError>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(panicked())))
            .collect();
        let synced = syncers
            .into_iter()
            .try_for_each(|h| h.join().unwrap_or_else(|_| Err(panicked())));
        (results, synced)
    });
    results.into_iter().collect::<Result<(), _>>()?;
    synced?;
    let mut summary = shared.summary.into_inner().unwrap_or_else(|p| p.into_inner());
    // Every file is durable; now their directory entries, before the run reports success.
    summary.committed.sort_unstable();
    store.sync_dirs(summary.committed.iter().map(String::as_str))?;
    // Only now that the new files are durable: drop the earlier run's files of the same
    // units that were not rewritten (fewer rows this time, say, or S3 URLs since expired).
    for unit in units {
        for key in earlier.get(&unit.tag()).into_iter().flatten() {
            if summary.committed.binary_search(key).is_err() {
                runtime.block_on(store.delete(key))?;
                summary.replaced_removed += 1;
            }
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn panicked() -> LakeError {
    LakeError::Io {
        op: "run worker",
        path: "replay".into(),
        source: std::io::Error::other("worker thread panicked"),
    }
}

/// Threads making committed files durable.
const SYNC_THREADS: usize = 8;

/// fsyncs committed files taken from `queue`, until every worker has hung up. After a
/// failure it keeps draining and reports the first error.
fn sync_files(store: &Store, queue: &Mutex<mpsc::Receiver<String>>) -> Result<(), LakeError> {
    let mut result = Ok(());
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(key) = next else { return result };
        if result.is_ok() {
            result = store.sync_file(&key);
        }
    }
}

fn worker(shared: &Shared<'_>, to_sync: mpsc::Sender<String>) -> Result<(), LakeError> {
    loop {
        if shared.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(unit) = shared.units.get(i) else { return Ok(()) };
        if let Err(e) = run_unit(shared, unit, &to_sync) {
            shared.failed.store(true, Ordering::Relaxed);
            return Err(e);
        }
    }
}

/// The state of one unit being replayed: converter, writers, counters.
struct UnitRun<'s, 'a> {
    shared: &'s Shared<'a>,
    /// Where committed files go to be made durable.
    to_sync: &'s mpsc::Sender<String>,
    source: &'s str,
    conv: Converter,
    table: PartitionedWriter,
    dead: PartitionedWriter,
    rows_reported: u64,
    dead_reported: u64,
    summary: ReplaySummary,
    /// S3Url payloads waiting for their bodies, in input order (see the module docs).
    held: Vec<Held>,
    /// Their bytes.
    held_bytes: usize,
}

/// An S3Url payload held back until its body is fetched with the others'.
struct Held {
    data: Vec<u8>,
    lineage: Lineage<'static>,
    /// Its body's URL.
    url: String,
}

/// Most S3Url payloads held back per worker before their fetches start. Not derived from
/// `--fetch-concurrency`: where held payloads' rows land must not depend on it.
const MAX_HELD_PAYLOADS: usize = 64;
/// Most bytes of S3Url payloads held back per worker before their fetches start.
const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;

fn run_unit(shared: &Shared<'_>, unit: &Unit, to_sync: &mpsc::Sender<String>) -> Result<(), LakeError> {
    let opts = shared.opts;
    let tag = unit.tag();
    let mut run = UnitRun {
        shared,
        to_sync,
        source: "",
        conv: Converter::new(opts.partition.clone()),
        table: PartitionedWriter::new(
            table_schema(),
            opts.writer.table_properties(),
            opts.writer.clone(),
            tag.clone(),
        ),
        dead: PartitionedWriter::new(
            dead_letter_schema(),
            opts.writer.dead_letter_properties(),
            opts.writer.clone(),
            tag,
        ),
        rows_reported: 0,
        dead_reported: 0,
        summary: ReplaySummary::default(),
        held: Vec::new(),
        held_bytes: 0,
    };
    let result = unit
        .parts
        .iter()
        .try_for_each(|part| run.read(part))
        .and_then(|()| run.finish());
    if result.is_err() {
        run.table.abort(shared.store);
        run.dead.abort(shared.store);
    }
    result?;
    let mut total = shared.summary.lock().unwrap_or_else(|p| p.into_inner());
    total.stats.add(run.conv.stats());
    for (p, n) in run.summary.rows_per_partition {
        *total.rows_per_partition.entry(p).or_default() += n;
    }
    total.files_out += run.summary.files_out;
    total.dead_letter_files += run.summary.dead_letter_files;
    total.bytes_out += run.summary.bytes_out;
    total.committed.extend(run.summary.committed);
    Ok(())
}

impl<'s> UnitRun<'s, '_> {
    /// Reads one part; an input that cannot be read to its end becomes a dead letter (what
    /// was read before the failure is kept).
    fn read(&mut self, part: &'s Part) -> Result<(), LakeError> {
        match self.read_part(part) {
            Err(e @ LakeError::Input { .. }) => {
                let record = SourceRecord {
                    data: Cow::Borrowed(&[]),
                    lineage: Lineage {
                        source: Cow::Borrowed(self.source),
                        position: Position::Offset(part.start),
                        arrival_ms: None,
                    },
                };
                self.reject(&record, Stage::Envelope, "input_unreadable", &e);
                self.flush(false)
            }
            other => other,
        }
    }

    fn read_part(&mut self, unit: &'s Part) -> Result<(), LakeError> {
        self.source = &unit.file.key;
        let counter = self.shared.progress.bytes_read.clone();
        if !unit.file.format.is_document() {
            let opts = self.shared.opts;
            return read_lines(unit, opts.chunk_bytes, opts.max_line_bytes, counter, self);
        }
        let doc = read_document(&unit.file.path, unit.file.gzip, Some(counter))?;
        let whole = SourceRecord {
            data: Cow::Borrowed(&doc[..]),
            lineage: Lineage {
                source: Cow::Borrowed(self.source),
                position: Position::Offset(0),
                arrival_ms: None,
            },
        };
        let items = match unit.file.format {
            InputFormat::LambdaEvent => lambda_event_items(&doc),
            InputFormat::GetRecords => get_records_items(&doc, self.source),
            InputFormat::Payload | InputFormat::JsonLines => Ok(vec![Ok(whole.clone())]),
        };
        match items {
            Ok(items) => {
                for item in &items {
                    match item {
                        Ok(record) => self.push(record),
                        // One bad record of a document is one dead letter; the rest converts.
                        Err(bad) => {
                            let record = SourceRecord {
                                data: Cow::Borrowed(&bad.raw),
                                lineage: bad.lineage.clone(),
                            };
                            self.reject(&record, Stage::Envelope, bad.error.kind(), &bad.error);
                        }
                    }
                }
            }
            Err(e) => self.reject(&whole, Stage::Envelope, e.kind(), &e),
        }
        // A unit may group many documents: keep memory bounded between them.
        self.flush(false)
    }

    fn push(&mut self, record: &SourceRecord<'_>) {
        if let Step::NeedsFetch(url) = self.conv.push(record) {
            self.hold(record, url);
        }
    }

    fn hold(&mut self, record: &SourceRecord<'_>, url: String) {
        self.held_bytes += record.data.len();
        self.held.push(Held {
            data: record.data.to_vec(),
            lineage: owned(&record.lineage),
            url,
        });
        if self.held.len() >= MAX_HELD_PAYLOADS || self.held_bytes >= MAX_HELD_BYTES {
            self.release();
        }
    }

    /// Fetches the held S3Url bodies concurrently and converts the held payloads in input
    /// order.
    fn release(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        let fetcher = self.shared.fetcher;
        let concurrency = self.shared.opts.fetch_concurrency.max(1);
        // In input order, `concurrency` in flight: each body is converted as soon as it and
        // those before it are in, and dropped then, so a worker holds at most `concurrency`
        // bodies (each within the fetch size cap) besides the one being converted.
        let mut bodies = futures::stream::iter(held.iter().map(|h| h.url.as_str()))
            .map(|url| fetcher.fetch(url))
            .buffered(concurrency);
        for h in &held {
            let record = SourceRecord {
                data: Cow::Borrowed(&h.data),
                lineage: h.lineage.clone(),
            };
            // One body per held payload, in order; `None` cannot come before the end.
            let body = match self.shared.runtime.block_on(bodies.next()) {
                Some(body) => body,
                None => self.shared.runtime.block_on(fetcher.fetch(&h.url)),
            };
            self.conv.push_fetched(&record, body.as_ref().map(Bytes::clone));
        }
        drop(bodies);
        held.clear();
        self.held = held;
        self.held_bytes = 0;
    }

    /// Sends an input to the dead letters.
    fn reject(&mut self, record: &SourceRecord<'_>, stage: Stage, kind: &str, error: &dyn std::error::Error) {
        self.conv.reject(record, stage, kind, error);
    }

    /// Hands buffered rows to the writers (all of them when `all`, else the partitions worth
    /// writing now), keeps memory in budget, commits sealed files.
    fn flush(&mut self, all: bool) -> Result<(), LakeError> {
        let store = self.shared.store;
        let opts = self.shared.opts;
        let (table, dead) = (&mut self.table, &mut self.dead);
        let sink = |p: &str, b: &arrow_array::RecordBatch| table.write(store, p, b);
        let dead_sink = |b: &arrow_array::RecordBatch| dead.write(store, DEAD_LETTER_DIR, b);
        if all {
            self.conv.drain(sink, dead_sink)?;
        } else {
            self.conv
                .drain_ready(opts.batch_rows, opts.buffer_bytes, sink, dead_sink)?;
        }
        self.table.enforce_budget()?;
        self.commit_sealed()?;
        let stats = self.conv.stats();
        let p = self.shared.progress;
        p.rows.fetch_add(stats.rows - self.rows_reported, Ordering::Relaxed);
        p.dead_letters
            .fetch_add(stats.dead_letters - self.dead_reported, Ordering::Relaxed);
        self.rows_reported = stats.rows;
        self.dead_reported = stats.dead_letters;
        Ok(())
    }

    fn commit_sealed(&mut self) -> Result<(), LakeError> {
        for sealed in self.table.take_sealed() {
            let (partition, rows) = (partition_of(&sealed), sealed.rows);
            self.summary.bytes_out += self.commit(sealed)?;
            self.summary.files_out += 1;
            *self.summary.rows_per_partition.entry(partition).or_default() += rows;
        }
        for sealed in self.dead.take_sealed() {
            self.summary.bytes_out += self.commit(sealed)?;
            self.summary.dead_letter_files += 1;
        }
        Ok(())
    }

    fn commit(&mut self, sealed: SealedFile) -> Result<u64, LakeError> {
        let store = self.shared.store;
        let key = sealed.spool.key.clone();
        let size = self
            .shared
            .runtime
            .block_on(store.commit(sealed.spool, sealed.file, CommitMode::Overwrite))?;
        // The syncers outlive every worker, so the send cannot fail.
        let _ = self.to_sync.send(key.clone());
        self.summary.committed.push(key);
        Ok(size)
    }

    fn finish(&mut self) -> Result<(), LakeError> {
        self.release();
        self.flush(true)?;
        self.table.close_all()?;
        self.dead.close_all()?;
        self.commit_sealed()
    }
}

fn partition_of(sealed: &SealedFile) -> String {
    sealed
        .spool
        .key
        .rsplit_once('/')
        .map_or_else(String::new, |(dir, _)| dir.to_owned())
}

impl LineSink for UnitRun<'_, '_> {
    fn line(&mut self, offset: u64, line: &[u8]) {
        let record = SourceRecord {
            data: Cow::Borrowed(line),
            lineage: Lineage {
                source: Cow::Borrowed(self.source),
                position: Position::Offset(offset),
                arrival_ms: None,
            },
        };
        self.push(&record);
    }

    fn oversized(&mut self, offset: u64, prefix: &[u8]) {
        let record = SourceRecord {
            data: Cow::Borrowed(prefix),
            lineage: Lineage {
                source: Cow::Borrowed(self.source),
                position: Position::Offset(offset),
                arrival_ms: None,
            },
        };
        let error = std::io::Error::other(format!("line longer than {} bytes (first bytes kept)", prefix.len()));
        self.reject(&record, Stage::Envelope, "line_too_long", &error);
    }

    fn chunk_done(&mut self) -> Result<(), LakeError> {
        self.flush(false)
    }
}

/// A lineage that owns its strings, to outlive the chunk it was read from.
fn owned(l: &Lineage<'_>) -> Lineage<'static> {
    Lineage {
        source: Cow::Owned(l.source.clone().into_owned()),
        position: match &l.position {
            Position::Sequence(s) => Position::Sequence(Cow::Owned(s.clone().into_owned())),
            Position::Offset(n) => Position::Offset(*n),
            Position::Index(n) => Position::Index(*n),
        },
        arrival_ms: l.arrival_ms,
    }
}
