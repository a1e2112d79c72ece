//! What a run prints: the summary (human and JSON) and the process's peak memory.

use synclake_lake::{ReplaySummary, Store};

/// Peak resident set size of this process in bytes (Linux `VmHWM`), when known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const MB: f64 = 1024.0 * 1024.0;

/// Prints the end-of-run summary to stdout.
pub fn print_summary(s: &ReplaySummary, store: &Store) {
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    println!("replay summary ({})", store.describe());
    println!(
        "  inputs          {} files, {} units, {:.1} MB",
        s.files_in,
        s.units,
        s.bytes_in as f64 / MB
    );
    println!(
        "  payloads        {} ({} record-less, {} S3Url fetched)",
        s.stats.payloads, s.stats.recordless, s.stats.s3url_fetched
    );
    println!("  rows            {}", s.stats.rows);
    println!("  partitions      {}", s.rows_per_partition.len());
    println!(
        "  files           {} data, {} dead-letter",
        s.files_out, s.dead_letter_files
    );
    if s.replaced_removed > 0 {
        println!(
            "  replaced        {} files of an earlier run over the same input removed",
            s.replaced_removed
        );
    }
    println!("  dead letters    {}", s.stats.dead_letters);
    if s.stats.violations > 0 {
        println!(
            "  limit warnings  {} (rows kept; RUST_LOG=debug shows them)",
            s.stats.violations
        );
    }
    println!("  bytes written   {:.1} MB", s.bytes_out as f64 / MB);
    println!(
        "  time            {:.2} s  ({:.1} MB/s, {:.0} payloads/s, {:.0} rows/s)",
        secs,
        s.bytes_in as f64 / MB / secs,
        s.stats.payloads as f64 / secs,
        s.stats.rows as f64 / secs
    );
    if let Some(rss) = peak_rss_bytes() {
        println!("  peak RSS        {:.0} MB", rss as f64 / MB);
    }
}

/// The summary as JSON (for scripts and benchmarks).
pub fn summary_json(s: &ReplaySummary) -> serde_json::Value {
    serde_json::json!({
        "files_in": s.files_in,
        "units": s.units,
        "bytes_in": s.bytes_in,
        "payloads": s.stats.payloads,
        "rows": s.stats.rows,
        "recordless": s.stats.recordless,
        "s3url_fetched": s.stats.s3url_fetched,
        "dead_letters": s.stats.dead_letters,
        "violations": s.stats.violations,
        "partitions": s.rows_per_partition.len(),
        "rows_per_partition": s.rows_per_partition,
        "files_out": s.files_out,
        "dead_letter_files": s.dead_letter_files,
        "replaced_removed": s.replaced_removed,
        "bytes_out": s.bytes_out,
        "elapsed_secs": s.elapsed.as_secs_f64(),
        "peak_rss_bytes": peak_rss_bytes(),
    })
}

/// An error and its causes on one line, each said once. Most of our errors name their cause
/// in their own message as well as exposing it as `source()` (so logs that print only the
/// top level still say why); printing the whole chain would then say the cause twice.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        // Our messages end with their cause when they name it: only that is a repeat.
        if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(io).context("read input /nonexistent: No such file or directory (os error 2)");
        assert_eq!(
            error_chain(&e),
            "read input /nonexistent: No such file or directory (os error 2)"
        );
        let e = anyhow::anyhow!("disk full").context("committing the table");
        assert_eq!(error_chain(&e), "committing the table: disk full");
        // A short cause that only appears inside the message is still said.
        let e = anyhow::anyhow!("timed out").context("timed out waiting for the lock of /state");
        assert_eq!(error_chain(&e), "timed out waiting for the lock of /state: timed out");
    }
}
