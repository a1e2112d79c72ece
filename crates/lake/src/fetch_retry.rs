//! How long a record's S3Url fetch may keep failing before the record is given up on.
//!
//! A fetch that fails in a way that may pass (no connection, a timeout, a 5xx) ends a batch
//! before its record, and the source delivers the record again. A host that never answers
//! would hold the shard that way until retention discards its data: lost. The
//! [`RetryLedger`] remembers when each URL first failed; once its failures have gone on for
//! the retry window, the record becomes a `fetch_exhausted` dead letter (its raw bytes, URL
//! included, kept for a later replay) and the shard moves on.
//!
//! The ledger lives in memory, shared by the clones of one [`BatchOptions`](crate::BatchOptions):
//! one per consumer, one per warm Lambda container. A restart starts the window again: a
//! process restarted more often than the window never gives up, and its source's own limits
//! (retention, a Lambda event source mapping's retry limits) decide then (`docs/table.md`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::fetch::FetchError;

/// URLs remembered at once; past it the oldest are forgotten (their window starts again).
const MAX_ENTRIES: usize = 4096;

/// When each failing URL first failed, and how often. Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub struct RetryLedger {
    failing: Arc<Mutex<HashMap<String, Failing>>>,
}

#[derive(Debug, Clone, Copy)]
struct Failing {
    first: Instant,
    failures: u32,
}

/// A record whose S3Url fetch kept failing for the whole retry window.
#[derive(Debug, thiserror::Error)]
#[error(
    "S3Url fetch still failing after {failures} attempts over {}s (retry window {}s): {last}",
    .failing_for.as_secs(),
    .window.as_secs()
)]
pub struct FetchExhausted {
    /// Failed fetches (each with its own retries) seen for the URL.
    pub failures: u32,
    /// Time since the first failure.
    pub failing_for: Duration,
    /// The window that ran out.
    pub window: Duration,
    /// The last failure.
    #[source]
    pub last: FetchError,
}

impl RetryLedger {
    /// Notes the outcome of one fetch of `url`: a failure that may pass starts (or continues)
    /// its window; anything else ends it.
    pub fn note(&self, url: &str, outcome: Result<(), &FetchError>) {
        let Ok(mut failing) = self.failing.lock() else { return };
        match outcome {
            Err(e) if e.is_retryable() => {
                if failing.len() >= MAX_ENTRIES && !failing.contains_key(url) {
                    evict_oldest(&mut failing);
                }
                let entry = failing.entry(url.to_owned()).or_insert(Failing {
                    first: Instant::now(),
                    failures: 0,
                });
                entry.failures += 1;
            }
            _ => {
                failing.remove(url);
            }
        }
    }

    /// Whether `url` has been failing for at least `window`: then `last` becomes the cause of
    /// a [`FetchExhausted`]; else `last` is handed back. The URL stays remembered, so that a
    /// redelivery of its record gives up at once too.
    pub fn exhausted(&self, url: &str, window: Duration, last: FetchError) -> Result<FetchExhausted, FetchError> {
        let Ok(failing) = self.failing.lock() else {
            return Err(last);
        };
        let Some(entry) = failing.get(url).copied() else {
            return Err(last);
        };
        let failing_for = entry.first.elapsed();
        if failing_for < window {
            return Err(last);
        }
        Ok(FetchExhausted {
            failures: entry.failures,
            failing_for,
            window,
            last,
        })
    }

    /// URLs failing now.
    pub fn len(&self) -> usize {
        self.failing.lock().map_or(0, |f| f.len())
    }

    /// Whether no URL is failing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict_oldest(failing: &mut HashMap<String, Failing>) {
    if let Some(oldest) = failing.iter().min_by_key(|(_, f)| f.first).map(|(k, _)| k.clone()) {
        failing.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> FetchError {
        FetchError::Status {
            url: "https://b.s3.amazonaws.com/k".into(),
            status: 503,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_url_is_exhausted_once_it_failed_for_the_whole_window() {
        let ledger = RetryLedger::default();
        let window = Duration::from_secs(900);
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Signature=s";
        ledger.note(url, Err(&unavailable()));
        assert!(ledger.exhausted(url, window, unavailable()).is_err());
        tokio::time::advance(Duration::from_secs(899)).await;
        ledger.note(url, Err(&unavailable()));
        assert!(ledger.exhausted(url, window, unavailable()).is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        let gone = ledger.exhausted(url, window, unavailable()).expect("exhausted");
        assert_eq!(gone.failures, 2);
        assert!(gone.to_string().contains("after 2 attempts over 900s"), "{gone}");
        // Remembered: a redelivery of the record gives up at once.
        assert!(ledger.exhausted(url, window, unavailable()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_or_a_final_failure_ends_the_window() {
        let ledger = RetryLedger::default();
        ledger.note("u", Err(&unavailable()));
        ledger.note("u", Ok(()));
        assert!(ledger.is_empty());
        ledger.note("u", Err(&unavailable()));
        let expired = FetchError::Status {
            url: "u".into(),
            status: 403,
        };
        ledger.note("u", Err(&expired));
        assert!(ledger.is_empty());
        // A URL never seen failing is never exhausted, whatever the window.
        assert!(ledger.exhausted("v", Duration::ZERO, unavailable()).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_ledger_is_bounded() {
        let ledger = RetryLedger::default();
        for i in 0..MAX_ENTRIES + 10 {
            ledger.note(&format!("u{i}"), Err(&unavailable()));
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(ledger.len(), MAX_ENTRIES);
    }
}
