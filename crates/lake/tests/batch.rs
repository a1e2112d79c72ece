//! The batch protocol (`write_batch`): what a Lambda invocation commits, and how far, when a
//! fetch or a commit fails part-way. The invariant every test checks: the table holds the
//! records before `written` exactly once, and nothing of the records after it.
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use synclake_lake::{
    BatchFailure, BatchOptions, BatchOutcome, FetchOptions, Fetcher, S3Options, Store, record_tag, write_batch,
};
use synclake_records::envelope::{BadRecord, EnvelopeItem};
use synclake_records::{DecodeError, Lineage, Position, SourceRecord};
use synclake_testkit::fixtures;
use synclake_testkit::replay::offline_fetch;
use synclake_testkit::table::{read_dead_letters, read_table};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const HOUR_MS: i64 = 3_600_000;
/// 2024-03-01T00:00:00Z.
const START_MS: i64 = 1_709_251_200_000;

fn seq(i: usize) -> String {
    format!("4959033827149025660855969253836157109592157598913658{i:04}")
}

fn lineage(i: usize) -> Lineage<'static> {
    Lineage {
        source: Cow::Borrowed("shardId-000000000001"),
        position: Position::Sequence(Cow::Owned(seq(i))),
        arrival_ms: Some(START_MS + i as i64),
    }
}

/// An inline payload with two records, in hour `hour` of 2024-03-01.
fn inline(i: usize, hour: i64) -> Vec<u8> {
    let t = START_MS + hour * HOUR_MS + i as i64;
    format!(
        r#"{{"identityPoolId":"us-east-1:pool","identityId":"us-east-1:id-{i}","dataSetName":"game","operation":"replace","payloadType":"Inline","syncCount":{i},"lastModifiedDate":{t},"kinesisSyncRecords":[{{"key":"a","value":"{i}","syncCount":1,"lastModifiedDate":{t},"op":"replace"}},{{"key":"b","value":null,"syncCount":1,"lastModifiedDate":{t},"op":"remove"}}]}}"#
    )
    .into_bytes()
}

fn s3url(i: usize, hour: i64, url: &str) -> Vec<u8> {
    let t = START_MS + hour * HOUR_MS;
    format!(
        r#"{{"identityPoolId":"us-east-1:pool","identityId":"us-east-1:id-{i}","dataSetName":"game","operation":"replace","payloadType":"S3Url","syncCount":{i},"lastModifiedDate":{t},"kinesisSyncRecordsURL":"{url}"}}"#
    )
    .into_bytes()
}

fn item(i: usize, data: Vec<u8>) -> EnvelopeItem<'static> {
    Ok(SourceRecord {
        data: Cow::Owned(data),
        lineage: lineage(i),
    })
}

fn bad(i: usize) -> EnvelopeItem<'static> {
    Err(BadRecord {
        lineage: lineage(i),
        raw: b"not base64!".to_vec(),
        error: DecodeError::Base64 {
            index: i,
            source: base64_error(),
        },
    })
}

fn base64_error() -> base64::DecodeError {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode("!").unwrap_err()
}

fn store(dir: &Path) -> Store {
    Store::open(dir.to_str().unwrap(), &S3Options::default(), &std::env::temp_dir()).unwrap()
}

/// Writes a batch as the Lambda does: files named after their first record's shard and
/// sequence number.
async fn write(items: &[EnvelopeItem<'_>], dir: &Path) -> BatchOutcome {
    let fetcher = Fetcher::new(offline_fetch()).unwrap();
    let tag_of = |i: usize| record_tag(&items[i]).unwrap();
    write_batch(items, &tag_of, &store(dir), &fetcher, &BatchOptions::default(), None).await
}

/// Rows per sequence number in the table, and dead letters per sequence number.
fn contents(dir: &Path) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut rows = BTreeMap::new();
    for r in read_table(dir) {
        *rows.entry(r.sequence_number).or_default() += 1;
    }
    let mut dead = BTreeMap::new();
    for d in read_dead_letters(dir) {
        *dead.entry(d.sequence_number).or_default() += 1;
    }
    (rows, dead)
}

/// Rows the S3Url fixture body holds.
const BODY_ROWS: usize = 5;

/// What the table should hold for `range`: two rows per inline record, [`BODY_ROWS`] per
/// record in `fetched`, one dead letter per record in `dead`.
fn expect_with(
    range: std::ops::Range<usize>,
    dead: &[usize],
    fetched: &[usize],
) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let rows = range
        .clone()
        .filter(|i| !dead.contains(i))
        .map(|i| (seq(i), if fetched.contains(&i) { BODY_ROWS } else { 2 }))
        .collect();
    let dead = range.filter(|i| dead.contains(i)).map(|i| (seq(i), 1)).collect();
    (rows, dead)
}

fn expect(range: std::ops::Range<usize>, dead: &[usize]) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    expect_with(range, dead, &[])
}

#[tokio::test]
async fn a_batch_is_written_whole_and_a_redelivery_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<_> = (0..30).map(|i| item(i, inline(i, (i % 3) as i64))).collect();
    items[7] = bad(7);
    items[11] = item(11, b"{not json".to_vec());
    let first = write(&items, dir.path()).await;
    assert_eq!(first.written, 30);
    assert!(first.failure.is_none(), "{:?}", first.failure);
    assert_eq!(first.stats.rows, 56);
    assert_eq!(first.stats.dead_letters, 2);
    assert_eq!((first.files, first.dead_letter_files), (3, 1));
    assert_eq!(contents(dir.path()), expect(0..30, &[7, 11]));

    let again = write(&items, dir.path()).await;
    assert_eq!(again.committed, first.committed, "same batch, same object names");
    assert_eq!(
        contents(dir.path()),
        expect(0..30, &[7, 11]),
        "overwritten, not duplicated"
    );
}

/// Answers every request with 503 (what S3 says when it is overloaded).
async fn unavailable_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{addr}/bucket/records.json?X-Amz-Signature=x")
}

#[tokio::test]
async fn a_fetch_that_may_pass_ends_the_batch_before_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("file://{}", fixtures().join("s3url/records_array.json").display());
    let body_rows = {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixtures().join("s3url/records_array.json")).unwrap()).unwrap();
        v.as_array().unwrap().len()
    };
    assert_eq!(body_rows, BODY_ROWS);
    let down = unavailable_server().await;
    let mut items: Vec<_> = (0..20).map(|i| item(i, inline(i, (i % 2) as i64))).collect();
    items[4] = item(4, s3url(4, 0, &body));
    items[9] = item(9, s3url(9, 1, "http://127.0.0.1:9/gone?X-Amz-Signature=x")); // refused: may pass
    items[13] = item(13, s3url(13, 0, &down));
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 9, "ends before the first fetch that may pass");
    assert!(
        matches!(outcome.failure, Some(BatchFailure::Fetch { index: 9, .. })),
        "{:?}",
        outcome.failure
    );
    assert_eq!(contents(dir.path()), expect_with(0..9, &[], &[4]));

    // Lambda redelivers from record 9; by then the body is there, and record 13's server is
    // still down.
    items[9] = item(9, s3url(9, 1, &body));
    let outcome = write(&items[9..], dir.path()).await;
    assert_eq!(outcome.written, 4, "records 9..13 of the redelivery");
    assert_eq!(contents(dir.path()), expect_with(0..13, &[], &[4, 9]));
    items[13] = item(13, s3url(13, 0, &body));
    let outcome = write(&items[13..], dir.path()).await;
    assert_eq!(outcome.written, 7);
    assert!(outcome.failure.is_none());
    assert_eq!(
        contents(dir.path()),
        expect_with(0..20, &[], &[4, 9, 13]),
        "every record exactly once"
    );
}

#[tokio::test]
async fn a_fetch_that_cannot_pass_is_a_dead_letter_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("file://{}", dir.path().join("no-such-body.json").display());
    let mut items: Vec<_> = (0..6).map(|i| item(i, inline(i, 0))).collect();
    items[2] = item(2, s3url(2, 0, &missing));
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 6);
    assert!(outcome.failure.is_none());
    assert_eq!(contents(dir.path()), expect(0..6, &[2]));
}

/// The name of the file whose first record is `i`.
fn file_of(i: usize) -> String {
    format!("part-shardId-000000000001-{}-00000.parquet", seq(i))
}

/// Blocks the commit of the file of hour `hour` whose first record is `first`: a directory
/// where it would go.
fn block(dir: &Path, first: usize, hour: i64) -> std::path::PathBuf {
    let path = dir.join(format!("dt=2024-03-01/hr={hour:02}/{}", file_of(first)));
    std::fs::create_dir_all(path.join("blocker")).unwrap();
    path
}

#[tokio::test]
async fn a_failed_commit_rewrites_the_prefix_before_the_first_affected_record() {
    let dir = tempfile::tempdir().unwrap();
    // Hours: 0 for even records < 12, 1 for even records ≥ 12 (first: 12), 2 for odd < 12,
    // 3 for odd ≥ 12 (only after the failure point: its file must go).
    let hour = |i: usize| match (i.is_multiple_of(2), i < 12) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    let items: Vec<_> = (0..20).map(|i| item(i, inline(i, hour(i)))).collect();
    let blocker = block(dir.path(), 12, 1);
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 12, "hour 1's file failed; its first record is 12");
    assert!(matches!(outcome.failure, Some(BatchFailure::Write { .. })));
    assert_eq!(
        contents(dir.path()),
        expect(0..12, &[]),
        "files rewritten with the prefix only"
    );
    assert!(
        !dir.path().join(format!("dt=2024-03-01/hr=03/{}", file_of(13))).exists(),
        "the file of a partition only records after the failure reached is deleted"
    );

    std::fs::remove_dir_all(&blocker).unwrap();
    let outcome = write(&items[12..], dir.path()).await;
    assert_eq!(outcome.written, 8);
    assert_eq!(contents(dir.path()), expect(0..20, &[]), "every record exactly once");
}

#[tokio::test]
async fn a_failure_at_the_first_record_settles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<_> = (0..10).map(|i| item(i, inline(i, (i % 2) as i64))).collect();
    block(dir.path(), 0, 0);
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 0);
    assert!(matches!(outcome.failure, Some(BatchFailure::Write { .. })));
    assert_eq!(outcome.committed, Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_dead_letter_file_counts_from_the_first_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<_> = (0..10).map(|i| item(i, inline(i, 0))).collect();
    items[6] = bad(6);
    items[8] = bad(8);
    let blocked = dir.path().join(format!("_dead_letters/{}", file_of(6)));
    std::fs::create_dir_all(blocked.join("blocker")).unwrap();
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 6);
    assert_eq!(contents(dir.path()), expect(0..6, &[]));
}

#[tokio::test]
async fn what_a_failed_attempt_left_is_overwritten_however_the_batch_is_redelivered() {
    let dir = tempfile::tempdir().unwrap();
    // Records 0..10 alternate between hours 0 and 1; records 10..20 are all in hour 2.
    let hour = |i: usize| if i >= 10 { 2 } else { (i % 2) as i64 };
    let items: Vec<_> = (0..20).map(|i| item(i, inline(i, hour(i)))).collect();
    let blocker = block(dir.path(), 0, 0);
    let outcome = write(&items, dir.path()).await;
    assert_eq!(outcome.written, 0, "the file of record 0 failed: nothing settled");
    assert!(
        dir.path().join(format!("dt=2024-03-01/hr=02/{}", file_of(10))).exists(),
        "hour 2's file was committed before the failure was known"
    );

    // Lambda bisects the failed batch: the first half, then the second.
    std::fs::remove_dir_all(&blocker).unwrap();
    assert_eq!(write(&items[..10], dir.path()).await.written, 10);
    assert_eq!(write(&items[10..], dir.path()).await.written, 10);
    assert_eq!(contents(dir.path()), expect(0..20, &[]), "every record exactly once");
}

#[tokio::test]
async fn a_fetch_still_running_at_the_deadline_ends_the_batch_in_time() {
    let dir = tempfile::tempdir().unwrap();
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow?X-Amz-Signature=x", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let mut items: Vec<_> = (0..8).map(|i| item(i, inline(i, 0))).collect();
    items[5] = item(5, s3url(5, 0, &url));
    let fetcher = Fetcher::new(offline_fetch()).unwrap();
    let tag_of = |i: usize| record_tag(&items[i]).unwrap();
    let started = tokio::time::Instant::now();
    let deadline = started + std::time::Duration::from_millis(900);
    let outcome = write_batch(
        &items,
        &tag_of,
        &store(dir.path()),
        &fetcher,
        &BatchOptions::default(),
        Some(deadline),
    )
    .await;
    assert!(tokio::time::Instant::now() <= deadline, "returned by the deadline");
    assert_eq!(outcome.written, 5);
    assert!(
        matches!(outcome.failure, Some(BatchFailure::FetchDeadline { index: 5 })),
        "{:?}",
        outcome.failure
    );
    assert_eq!(contents(dir.path()), expect(0..5, &[]));
}

/// A server on 127.0.0.1 answering each GET with `answer(path, n)`: the status and body of
/// the `n`th request (from 0) for that path.
async fn scripted_server(answer: impl Fn(&str, usize) -> (u16, Vec<u8>) + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, usize>::new()));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_owned();
                let count = {
                    let mut seen = seen.lock().unwrap();
                    let c = seen.entry(path.clone()).or_default();
                    *c += 1;
                    *c - 1
                };
                let (status, body) = answer(&path, count);
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

fn records_body() -> Vec<u8> {
    std::fs::read(fixtures().join("s3url/records_array.json")).unwrap()
}

async fn write_with(items: &[EnvelopeItem<'_>], dir: &Path, fetch: &Fetcher, opts: &BatchOptions) -> BatchOutcome {
    let tag_of = |i: usize| record_tag(&items[i]).unwrap();
    write_batch(items, &tag_of, &store(dir), fetch, opts, None).await
}

/// Records 0..10: record 3 (S3Url) alone in hour 1, record 6 (S3Url) with 7 and 8 in hour 2,
/// the rest in hour 0.
fn fetch_dependent_batch(base: &str) -> Vec<EnvelopeItem<'static>> {
    (0..10)
        .map(|i| match i {
            3 => item(3, s3url(3, 1, &format!("{base}/b/three?X-Amz-Signature=s"))),
            6 => item(6, s3url(6, 2, &format!("{base}/b/six?X-Amz-Signature=s"))),
            7 | 8 => item(i, inline(i, 2)),
            _ => item(i, inline(i, 0)),
        })
        .collect()
}

#[tokio::test]
async fn a_redelivery_whose_fetches_end_otherwise_replaces_what_the_first_attempt_wrote() {
    // The bodies are there on the first attempt and expired (403) on the redelivery: the
    // redelivery must name every file as the first attempt did, and remove the files it no
    // longer writes, so that records 3 and 6 end up as dead letters only.
    let dir = tempfile::tempdir().unwrap();
    let base = scripted_server(|_, n| {
        if n == 0 {
            (200, records_body())
        } else {
            (403, Vec::new())
        }
    })
    .await;
    let items = fetch_dependent_batch(&base);
    let fetch = Fetcher::new(offline_fetch()).unwrap();
    let first = write_with(&items, dir.path(), &fetch, &BatchOptions::default()).await;
    assert_eq!(first.written, 10);
    assert_eq!(contents(dir.path()), expect_with(0..10, &[], &[3, 6]));

    let again = write_with(&items, dir.path(), &fetch, &BatchOptions::default()).await;
    assert_eq!(again.written, 10);
    assert_eq!(contents(dir.path()), expect(0..10, &[3, 6]), "each record exactly once");
    assert!(
        !dir.path().join("dt=2024-03-01/hr=01").read_dir().unwrap().any(|e| {
            let name = e.unwrap().file_name();
            name.to_string_lossy().ends_with(".parquet")
        }),
        "hour 1 held only record 3's rows: its file is gone"
    );
}

#[tokio::test]
async fn a_redelivery_that_fetches_what_first_failed_removes_the_dead_letters() {
    // The reverse: 403 first (dead letters), then the bodies (rows).
    let dir = tempfile::tempdir().unwrap();
    let base = scripted_server(|_, n| {
        if n == 0 {
            (403, Vec::new())
        } else {
            (200, records_body())
        }
    })
    .await;
    let items = fetch_dependent_batch(&base);
    let fetch = Fetcher::new(offline_fetch()).unwrap();
    assert_eq!(
        write_with(&items, dir.path(), &fetch, &BatchOptions::default())
            .await
            .written,
        10
    );
    assert_eq!(contents(dir.path()), expect(0..10, &[3, 6]));
    assert_eq!(
        write_with(&items, dir.path(), &fetch, &BatchOptions::default())
            .await
            .written,
        10
    );
    assert_eq!(
        contents(dir.path()),
        expect_with(0..10, &[], &[3, 6]),
        "each record exactly once"
    );
}

#[tokio::test]
async fn a_fetch_that_keeps_failing_becomes_a_dead_letter_after_the_retry_window() {
    let dir = tempfile::tempdir().unwrap();
    let down = unavailable_server().await;
    let mut items: Vec<_> = (0..8).map(|i| item(i, inline(i, 0))).collect();
    items[2] = item(2, s3url(2, 0, &down));
    let window = std::time::Duration::from_millis(400);
    let fetch = Fetcher::new(FetchOptions {
        retry_window: window,
        ..offline_fetch()
    })
    .unwrap();
    let opts = BatchOptions::default();
    let started = std::time::Instant::now();
    let mut from = 0;
    let mut attempts = 0;
    // The source delivers the rest again and again, as Lambda or the consumer does.
    while from < items.len() {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "never gave up");
        let outcome = write_with(&items[from..], dir.path(), &fetch, &opts).await;
        if from + outcome.written < items.len() {
            assert!(
                matches!(outcome.failure, Some(BatchFailure::Fetch { .. })),
                "{:?}",
                outcome.failure
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        from += outcome.written;
        attempts += 1;
    }
    assert!(started.elapsed() >= window, "given up only after the window");
    assert!(attempts > 2, "retried first ({attempts} attempts)");
    assert_eq!(contents(dir.path()), expect(0..8, &[2]));
    let dead = read_dead_letters(dir.path());
    assert_eq!(dead[0].error_kind, "fetch_exhausted");
    assert!(dead[0].error.contains("HTTP 503"), "{}", dead[0].error);
    assert!(!dead[0].error.contains("X-Amz-Signature"), "{}", dead[0].error);
    assert_eq!(opts.retries.len(), 1, "remembered: a redelivery gives up at once");
}

#[tokio::test]
async fn fetched_bodies_are_bounded_per_batch_and_the_rest_follows() {
    // Twelve S3Url records whose 3 MiB bodies are not JSON: each becomes a dead letter that
    // keeps its body. With a bound of 8 MiB a batch holds at most three bodies (the first
    // always fits), and the redeliveries write the rest: every record exactly once.
    let dir = tempfile::tempdir().unwrap();
    let base = scripted_server(|_, _| (200, vec![b'x'; 3 << 20])).await;
    let items: Vec<_> = (0..12)
        .map(|i| item(i, s3url(i, (i % 2) as i64, &format!("{base}/b/{i}"))))
        .collect();
    let fetch = Fetcher::new(offline_fetch()).unwrap();
    let opts = BatchOptions {
        max_fetched_bytes: 8 << 20,
        ..BatchOptions::default()
    };
    let mut from = 0;
    let mut batches = 0;
    while from < items.len() {
        let outcome = write_with(&items[from..], dir.path(), &fetch, &opts).await;
        assert!((1..=2).contains(&outcome.written) || from + outcome.written == items.len());
        if from + outcome.written < items.len() {
            assert!(
                matches!(outcome.failure, Some(BatchFailure::FetchBudget { max_bytes, .. }) if max_bytes == 8 << 20),
                "{:?}",
                outcome.failure
            );
        }
        from += outcome.written;
        batches += 1;
    }
    assert_eq!(batches, 6, "two 3 MiB bodies per 8 MiB batch");
    let dead = read_dead_letters(dir.path());
    assert_eq!(dead.len(), 12);
    assert!(
        dead.iter()
            .all(|d| d.fetched_body.as_ref().is_some_and(|b| b.len() == 3 << 20))
    );
    assert_eq!(contents(dir.path()), expect(0..12, &(0..12).collect::<Vec<_>>()));
}

#[tokio::test]
async fn a_record_given_up_on_is_not_fetched_again_when_a_later_one_ends_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let base = scripted_server(move |path, _| {
        if path == "/b/given-up" {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        (503, Vec::new())
    })
    .await;
    let mut items: Vec<_> = (0..8).map(|i| item(i, inline(i, 0))).collect();
    items[2] = item(2, s3url(2, 0, &format!("{base}/b/given-up")));
    let fetch = Fetcher::new(FetchOptions {
        retry_window: std::time::Duration::from_millis(200),
        ..offline_fetch()
    })
    .unwrap();
    let opts = BatchOptions::default();
    assert_eq!(write_with(&items, dir.path(), &fetch, &opts).await.written, 2);
    // Past the window, the next delivery gives record 2 up; record 5 then fails for the first
    // time and ends the batch, so the prefix is converted again.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    items[5] = item(5, s3url(5, 0, &format!("{base}/b/later")));
    let outcome = write_with(&items[2..], dir.path(), &fetch, &opts).await;
    assert_eq!(outcome.written, 3, "records 2, 3 and 4: {:?}", outcome.failure);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "fetched once per delivery, not again on the re-conversion"
    );
    let dead = read_dead_letters(dir.path());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_kind, "fetch_exhausted");
}
