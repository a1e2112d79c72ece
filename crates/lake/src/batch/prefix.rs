//! Converting a batch's prefix: the records into rows and dead letters, S3Url bodies fetched
//! within the deadline, the bound on fetched bytes and the retry window, and the lowest record
//! behind each file, by which files are named (an S3Url record reserving its names before it
//! is fetched).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use futures::StreamExt as _;
use synclake_records::SourceRecord;
use synclake_records::envelope::EnvelopeItem;
use tokio::time::Instant;

use super::{BatchFailure, BatchOptions, MAX_FETCHED_BYTES_CEILING};
use crate::convert::{Converter, Step};
use crate::dead_letter::{DEAD_LETTER_DIR, Stage};
use crate::fetch::{FetchError, Fetcher};
use crate::fetch_retry::{FetchExhausted, RetryLedger};

/// Fetched S3Url bodies by record index, kept across conversion attempts, and the records
/// whose fetches ran out of retry window.
#[derive(Default)]
pub(super) struct Bodies {
    fetched: HashMap<usize, Result<Bytes, FetchError>>,
    exhausted: HashMap<usize, FetchExhausted>,
}

/// A converted prefix, with the lowest record index behind each file it will make.
///
/// An S3Url record *reserves* its place before it is fetched: it counts as in its envelope's
/// partition and in the dead letters alike, whatever the fetch then gives. So file names do
/// not depend on fetch outcomes, and a redelivery whose fetch ends otherwise (a body fetched
/// first, expired later) writes the same names and replaces what the first attempt left.
pub(super) struct Converted {
    pub(super) conv: Converter,
    /// Partition directory → lowest index of a record with rows in it (or reserved there).
    pub(super) lowest_in_partition: HashMap<String, usize>,
    /// Lowest index of a record that became (or may become) a dead letter.
    pub(super) lowest_dead: Option<usize>,
    /// Directories whose files hold S3Url records: what is in them depends on fetches.
    volatile: BTreeSet<String>,
}

/// A directory whose file names a batch must own whole: `(dir, lowest record index)`.
pub(super) type VolatileName = (String, usize);

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
    pub(super) fn volatile_names(&self) -> Vec<VolatileName> {
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

/// Converts `items[..limit]`, lowering `limit` to the first record whose S3Url fetch failed in
/// a way that may pass or did not finish by `fetch_by` (and recording that failure).
pub(super) async fn convert(
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
