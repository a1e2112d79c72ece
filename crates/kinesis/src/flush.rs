//! When a shard's buffered records are written: by count, bytes or age, and under memory
//! pressure across all shards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Flush thresholds, per shard; whichever is reached first.
#[derive(Debug, Clone)]
pub struct FlushPolicy {
    /// Records (Kinesis records, i.e. payloads) buffered.
    pub max_records: usize,
    /// Payload bytes buffered.
    pub max_bytes: usize,
    /// Age of the oldest buffered record (time since it was read).
    pub max_age: Duration,
    /// Payload bytes buffered across all shards. Above it, the shards holding at least their
    /// share flush, and no shard takes more records until the total is back under it.
    pub memory_limit: usize,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            max_records: 200_000,
            max_bytes: 128 * 1024 * 1024,
            max_age: Duration::from_secs(60),
            memory_limit: 1024 * 1024 * 1024,
        }
    }
}

/// Payload bytes buffered by all shard workers, and how many workers share them.
#[derive(Debug, Default)]
pub struct MemoryGauge {
    bytes: AtomicUsize,
    workers: AtomicUsize,
}

impl MemoryGauge {
    /// Total bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sub(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn join(&self) {
        self.workers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn leave(&self) {
        self.workers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether the total is at or over `limit`.
    pub fn over(&self, limit: usize) -> bool {
        self.bytes() >= limit
    }

    /// Whether a worker holding `mine` bytes should flush under `limit`: the total is over it
    /// and the worker holds at least an even share.
    pub fn should_flush(&self, mine: usize, limit: usize) -> bool {
        let workers = self.workers.load(Ordering::Relaxed).max(1);
        mine > 0 && self.over(limit) && mine.saturating_mul(workers) >= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_biggest_holders_flush_under_pressure() {
        let gauge = MemoryGauge::default();
        gauge.join();
        gauge.join();
        gauge.add(900);
        assert!(!gauge.should_flush(800, 1000));
        gauge.add(200);
        assert!(gauge.over(1000));
        assert!(gauge.should_flush(800, 1000));
        assert!(!gauge.should_flush(300, 1000));
        gauge.sub(1100);
        gauge.leave();
        gauge.leave();
        assert!(!gauge.should_flush(800, 1000));
    }
}
