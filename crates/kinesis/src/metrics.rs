//! Counters per shard, rendered in the Prometheus text format and logged periodically.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One shard's counters.
#[derive(Debug)]
pub struct ShardMetrics {
    /// Records read.
    pub records: AtomicU64,
    /// Payload bytes read.
    pub bytes: AtomicU64,
    /// Rows committed to the table.
    pub rows: AtomicU64,
    /// Data files committed.
    pub files: AtomicU64,
    /// Records sent to the dead letters.
    pub dead_letters: AtomicU64,
    /// Flushes completed.
    pub flushes: AtomicU64,
    /// Flush attempts that did not write everything.
    pub flush_failures: AtomicU64,
    /// Records in the table, by checkpoint.
    pub committed_records: AtomicU64,
    /// `millisBehindLatest` of the last read; -1 before the first.
    pub millis_behind_latest: AtomicI64,
    /// Payload bytes waiting for the next flush.
    pub buffered_bytes: AtomicU64,
    /// 1 once the shard is closed and wholly in the table.
    pub finished: AtomicU64,
}

impl Default for ShardMetrics {
    fn default() -> Self {
        ShardMetrics {
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            files: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            flush_failures: AtomicU64::new(0),
            committed_records: AtomicU64::new(0),
            millis_behind_latest: AtomicI64::new(-1),
            buffered_bytes: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }
    }
}

/// Every shard's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    shards: Mutex<BTreeMap<String, Arc<ShardMetrics>>>,
    /// The worker's lease counters (a fleet sharing a lease table).
    pub leases: Arc<LeaseMetrics>,
}

/// One worker's lease counters: rendered once it works through a lease table.
#[derive(Debug, Default)]
pub struct LeaseMetrics {
    /// Set when a lease table is in use.
    pub enabled: AtomicBool,
    /// Leases held now.
    pub owned: AtomicU64,
    /// Leases taken (free, expired or handed over).
    pub acquired: AtomicU64,
    /// Leases taken from a worker that stopped renewing them.
    pub takeovers: AtomicU64,
    /// Leases lost: taken over, or not renewed in time.
    pub lost: AtomicU64,
    /// Leases handed to a worker that asked.
    pub handed_off: AtomicU64,
    /// DynamoDB requests made to the lease table.
    pub table_calls: AtomicU64,
}

type LeaseFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&LeaseMetrics) -> &AtomicU64,
);

const LEASE_FAMILIES: [LeaseFamily; 6] = [
    (
        "synclake_consume_leases_owned",
        "gauge",
        "Leases this worker holds.",
        |m| &m.owned,
    ),
    (
        "synclake_consume_leases_acquired_total",
        "counter",
        "Leases taken (free, expired or handed over).",
        |m| &m.acquired,
    ),
    (
        "synclake_consume_lease_takeovers_total",
        "counter",
        "Leases taken from a worker that stopped renewing them.",
        |m| &m.takeovers,
    ),
    (
        "synclake_consume_leases_lost_total",
        "counter",
        "Leases lost: taken over or not renewed in time.",
        |m| &m.lost,
    ),
    (
        "synclake_consume_leases_handed_off_total",
        "counter",
        "Leases handed to a worker that asked.",
        |m| &m.handed_off,
    ),
    (
        "synclake_consume_lease_table_calls_total",
        "counter",
        "DynamoDB requests made to the lease table.",
        |m| &m.table_calls,
    ),
];

/// Totals over all shards, for the periodic report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Records read.
    pub records: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// Rows committed.
    pub rows: u64,
    /// Data files committed.
    pub files: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Records in the table, by checkpoint.
    pub committed_records: u64,
    /// Largest `millisBehindLatest` of a shard being read.
    pub max_millis_behind: i64,
    /// Shards known.
    pub shards: u64,
}

type Family = (&'static str, &'static str, &'static str, fn(&ShardMetrics) -> i64);

const FAMILIES: [Family; 11] = [
    (
        "synclake_consume_records_total",
        "counter",
        "Kinesis records read.",
        |m| load(&m.records),
    ),
    ("synclake_consume_bytes_total", "counter", "Payload bytes read.", |m| {
        load(&m.bytes)
    }),
    (
        "synclake_consume_rows_total",
        "counter",
        "Rows committed to the table.",
        |m| load(&m.rows),
    ),
    (
        "synclake_consume_files_total",
        "counter",
        "Data files committed.",
        |m| load(&m.files),
    ),
    (
        "synclake_consume_dead_letters_total",
        "counter",
        "Records sent to the dead letters.",
        |m| load(&m.dead_letters),
    ),
    ("synclake_consume_flushes_total", "counter", "Flushes completed.", |m| {
        load(&m.flushes)
    }),
    (
        "synclake_consume_flush_failures_total",
        "counter",
        "Flush attempts that did not write everything.",
        |m| load(&m.flush_failures),
    ),
    (
        "synclake_consume_committed_records_total",
        "counter",
        "Records covered by the checkpoint.",
        |m| load(&m.committed_records),
    ),
    (
        "synclake_consume_millis_behind_latest",
        "gauge",
        "How far the last read is behind the shard's tip (-1: not read yet).",
        |m| m.millis_behind_latest.load(Ordering::Relaxed),
    ),
    (
        "synclake_consume_buffered_bytes",
        "gauge",
        "Payload bytes waiting for the next flush.",
        |m| load(&m.buffered_bytes),
    ),
    (
        "synclake_consume_shard_finished",
        "gauge",
        "1 once the shard is closed and wholly in the table.",
        |m| load(&m.finished),
    ),
];

fn load(a: &AtomicU64) -> i64 {
    i64::try_from(a.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
}

impl Metrics {
    /// The counters of `shard`, created at zero.
    pub fn shard(&self, shard: &str) -> Arc<ShardMetrics> {
        let mut shards = self.shards.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shards.entry(shard.to_owned()).or_default().clone()
    }

    /// Each shard's counters, by shard id.
    pub fn snapshot(&self) -> Vec<(String, Arc<ShardMetrics>)> {
        let shards = self.shards.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shards.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Sums over all shards.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for (_, m) in self.snapshot() {
            t.shards += 1;
            t.records += m.records.load(Ordering::Relaxed);
            t.bytes += m.bytes.load(Ordering::Relaxed);
            t.rows += m.rows.load(Ordering::Relaxed);
            t.files += m.files.load(Ordering::Relaxed);
            t.dead_letters += m.dead_letters.load(Ordering::Relaxed);
            t.committed_records += m.committed_records.load(Ordering::Relaxed);
            if m.finished.load(Ordering::Relaxed) == 0 {
                t.max_millis_behind = t.max_millis_behind.max(m.millis_behind_latest.load(Ordering::Relaxed));
            }
        }
        t
    }

    /// The Prometheus text exposition of every counter, labelled by shard.
    pub fn render(&self) -> String {
        let shards = self.snapshot();
        let mut out = String::with_capacity(256 + shards.len() * FAMILIES.len() * 64);
        for (name, kind, help, get) in FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (shard, m) in &shards {
                let _ = writeln!(out, "{name}{{shard=\"{}\"}} {}", escape_label(shard), get(m));
            }
        }
        if self.leases.enabled.load(Ordering::Relaxed) {
            for (name, kind, help, get) in LEASE_FAMILIES {
                let value = get(&self.leases).load(Ordering::Relaxed);
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
            }
        }
        out
    }
}

/// Escapes a label value (`\`, `"`, newline).
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_per_shard() {
        let metrics = Metrics::default();
        metrics
            .shard("shardId-000000000001")
            .records
            .fetch_add(5, Ordering::Relaxed);
        metrics
            .shard("shardId-000000000000")
            .rows
            .fetch_add(7, Ordering::Relaxed);
        let text = metrics.render();
        assert!(
            text.contains("synclake_consume_records_total{shard=\"shardId-000000000001\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("synclake_consume_rows_total{shard=\"shardId-000000000000\"} 7\n"),
            "{text}"
        );
        assert!(text.contains("synclake_consume_millis_behind_latest{shard=\"shardId-000000000000\"} -1\n"));
        assert_eq!(text.matches("# TYPE").count(), FAMILIES.len());
        metrics.leases.enabled.store(true, Ordering::Relaxed);
        metrics.leases.owned.store(2, Ordering::Relaxed);
        let text = metrics.render();
        assert!(text.contains("\nsynclake_consume_leases_owned 2\n"), "{text}");
        assert_eq!(text.matches("# TYPE").count(), FAMILIES.len() + LEASE_FAMILIES.len());
        assert_eq!(metrics.totals().records, 5);
        assert_eq!(escape_label("a\"b\\"), "a\\\"b\\\\");
    }
}
