//! Streams on the local Kinesis server (kinesis-local, started by `scripts/test.sh`) as the
//! consumer tests use them: unique names, creation, resharding, puts and deletion; generated
//! payloads to put; and exactly-once checks of the table a consumer wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, StreamStatus};

use crate::{http, table};

static STREAMS: AtomicU32 = AtomicU32::new(0);

/// A stream name unique to this test process and call.
pub fn unique_stream(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        STREAMS.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a stream of `shards` shards and waits until it is active.
pub async fn create_stream(client: &Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, name).await;
}

/// Waits (up to 30 s) until the stream is active again.
pub async fn wait_active(client: &Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = client.describe_stream_summary().stream_name(name).send().await.unwrap();
        if out.stream_description_summary.unwrap().stream_status == StreamStatus::Active {
            return;
        }
        assert!(Instant::now() < deadline, "stream {name} not active within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Open shards' ids, sorted.
pub async fn open_shards(client: &Client, name: &str) -> Vec<String> {
    let out = client.list_shards().stream_name(name).send().await.unwrap();
    let mut ids: Vec<String> = out
        .shards
        .unwrap_or_default()
        .into_iter()
        .filter(|s| {
            s.sequence_number_range
                .as_ref()
                .unwrap()
                .ending_sequence_number
                .is_none()
        })
        .map(|s| s.shard_id)
        .collect();
    ids.sort();
    ids
}

/// Splits `shard` in the middle of its hash key range (of the whole space, for a stream of
/// one shard: at 2^127).
pub async fn split(client: &Client, name: &str, shard: &str) {
    let listed = client.list_shards().stream_name(name).send().await.unwrap();
    let range = listed
        .shards
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.shard_id == shard)
        .unwrap_or_else(|| panic!("{shard} is not a shard of {name}"))
        .hash_key_range
        .unwrap();
    let (start, end): (u128, u128) = (
        range.starting_hash_key.parse().unwrap(),
        range.ending_hash_key.parse().unwrap(),
    );
    let middle = start + (end - start) / 2 + 1;
    client
        .split_shard()
        .stream_name(name)
        .shard_to_split(shard)
        .new_starting_hash_key(middle.to_string())
        .send()
        .await
        .unwrap();
    wait_active(client, name).await;
}

/// Merges two adjacent shards.
pub async fn merge(client: &Client, name: &str, a: &str, b: &str) {
    client
        .merge_shards()
        .stream_name(name)
        .shard_to_merge(a)
        .adjacent_shard_to_merge(b)
        .send()
        .await
        .unwrap();
    wait_active(client, name).await;
}

/// A put record: the shard it went to and its sequence number.
pub type Put = (String, String);

/// Puts `payloads` (500 per PutRecords call, keyed by index so they spread over the shards),
/// retrying any entry the call refused. Returns where each one went, in order.
pub async fn put_all(client: &Client, name: &str, payloads: &[Vec<u8>], key_offset: usize) -> Vec<Put> {
    let mut out = Vec::with_capacity(payloads.len());
    for (c, chunk) in payloads.chunks(500).enumerate() {
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let mut results: Vec<Option<Put>> = vec![None; chunk.len()];
        for _attempt in 0..20 {
            if pending.is_empty() {
                break;
            }
            let entries: Vec<PutRecordsRequestEntry> = pending
                .iter()
                .map(|&i| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(chunk[i].clone()))
                        .partition_key(format!("k{}", key_offset + c * 500 + i))
                        .build()
                        .unwrap()
                })
                .collect();
            let resp = client
                .put_records()
                .stream_name(name)
                .set_records(Some(entries))
                .send()
                .await
                .unwrap();
            let mut still = Vec::new();
            for (&i, r) in pending.iter().zip(resp.records) {
                match (r.shard_id, r.sequence_number) {
                    (Some(shard), Some(seq)) => results[i] = Some((shard, seq)),
                    _ => still.push(i),
                }
            }
            pending = still;
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        assert!(pending.is_empty(), "{} records refused 20 times", pending.len());
        out.extend(results.into_iter().map(Option::unwrap));
    }
    out
}

/// Attempts of one PutRecord in [`put_record`] before it gives up.
const PUT_ATTEMPTS: u32 = 20;

/// Puts one record with PutRecord, and retries the call while it fails ([`PUT_ATTEMPTS`]
/// attempts, backing off from 200 ms up to 2 s). Returns where it went and the retries it took.
pub async fn put_record(client: &Client, name: &str, key: &str, data: Vec<u8>) -> (Put, u32) {
    let data = Blob::new(data);
    let mut retries = 0;
    loop {
        let sent = client
            .put_record()
            .stream_name(name)
            .data(data.clone())
            .partition_key(key)
            .send()
            .await;
        match sent {
            Ok(r) => return ((r.shard_id, r.sequence_number), retries),
            Err(e) => {
                let e = DisplayErrorContext(e);
                retries += 1;
                assert!(
                    retries < PUT_ATTEMPTS,
                    "PutRecord (key {key}) failed {PUT_ATTEMPTS} times: {e}"
                );
                eprintln!("put_record: PutRecord (key {key}) failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis((100 << retries.min(5)).min(2000))).await;
            }
        }
    }
}

/// Puts each record with a [`put_record`] call of its own, `concurrency` calls in flight at a
/// time. `records` yields (partition key, data) and is pulled as calls go out, so an input need
/// not fit in memory. `on_put(i, put)` is called once the `i`-th record (from 0, in `records`'
/// order) is stored, in the order the calls complete. Returns how many calls were retries.
///
/// The way to put many records into kinesis-local: its PutRecords ([`put_all`]) costs it time
/// in proportion to the records already in the shard, for every record put (it hashes the
/// shard's whole record list), so 200,000 records into 4 shards take over an hour that way,
/// while a PutRecord costs it a constant ~5 ms of CPU whatever the shard holds.
pub async fn put_each<I>(
    client: &Client,
    name: &str,
    records: I,
    concurrency: usize,
    on_put: impl FnMut(usize, Put),
) -> u64
where
    I: IntoIterator<Item = (String, Vec<u8>)>,
{
    let records = &Mutex::new(records.into_iter().enumerate());
    let on_put = &Mutex::new(on_put);
    let retried = &AtomicU64::new(0);
    let caller = move || async move {
        loop {
            let Some((i, (key, data))) = records.lock().unwrap().next() else {
                return;
            };
            let (put, retries) = put_record(client, name, &key, data).await;
            retried.fetch_add(u64::from(retries), Ordering::Relaxed);
            let mut on_put = on_put.lock().unwrap();
            (*on_put)(i, put);
        }
    };
    futures::future::join_all((0..concurrency.max(1)).map(|_| caller())).await;
    retried.load(Ordering::Relaxed)
}

/// What the table under `root` holds, by record: rows per (shard, sequence number), and dead
/// letters per (shard, sequence number).
#[derive(Debug, Default)]
pub struct TableRecords {
    /// (shard, sequence number) → (sub_index → how many rows).
    pub rows: BTreeMap<Put, BTreeMap<Option<i32>, usize>>,
    /// (shard, sequence number) → how many dead letters.
    pub dead: BTreeMap<Put, usize>,
}

impl TableRecords {
    /// Reads the table under `root` (rows and dead letters); empty when it does not exist yet.
    pub fn read(root: &Path) -> TableRecords {
        let mut t = TableRecords::default();
        if !root.exists() {
            return t;
        }
        for row in table::read_table(root) {
            *t.rows
                .entry((row.source, row.sequence_number))
                .or_default()
                .entry(row.sub_index)
                .or_default() += 1;
        }
        for d in table::read_dead_letters(root) {
            *t.dead.entry((d.source, d.sequence_number)).or_default() += 1;
        }
        t
    }

    /// Records present as rows or dead letters.
    pub fn records(&self) -> BTreeSet<Put> {
        self.rows.keys().chain(self.dead.keys()).cloned().collect()
    }

    /// Panics unless every put record is in the table exactly once (each of its rows once, or
    /// one dead letter, never both) and nothing else is.
    pub fn assert_exactly_once(&self, puts: &[Put]) {
        let expected: BTreeSet<Put> = puts.iter().cloned().collect();
        assert_eq!(expected.len(), puts.len(), "the puts themselves repeat");
        let duplicated_rows: Vec<_> = self
            .rows
            .iter()
            .filter(|(_, subs)| subs.values().any(|&n| n > 1))
            .map(|(k, _)| k)
            .take(5)
            .collect();
        assert!(duplicated_rows.is_empty(), "rows duplicated: {duplicated_rows:?}");
        let duplicated_dead: Vec<_> = self.dead.iter().filter(|(_, n)| **n > 1).take(5).collect();
        assert!(
            duplicated_dead.is_empty(),
            "dead letters duplicated: {duplicated_dead:?}"
        );
        let both: Vec<_> = self
            .dead
            .keys()
            .filter(|k| self.rows.contains_key(*k))
            .take(5)
            .collect();
        assert!(both.is_empty(), "records both in rows and dead letters: {both:?}");
        let present = self.records();
        let missing: Vec<_> = expected.difference(&present).take(5).collect();
        let extra: Vec<_> = present.difference(&expected).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{} of {} put records missing (e.g. {missing:?}); {} unexpected (e.g. {extra:?})",
            expected.difference(&present).count(),
            expected.len(),
            present.difference(&expected).count()
        );
    }
}

/// `n` generated payloads (seed `seed`), S3Url bodies written under `s3dir` as file:// URLs.
pub fn payloads(n: u64, seed: u64, s3dir: &Path) -> Vec<Vec<u8>> {
    let cfg = synclake_synth::GenConfig {
        payloads: n,
        seed,
        s3url_dir: Some(s3dir.to_owned()),
        ..synclake_synth::GenConfig::default()
    };
    let mut out = Vec::new();
    synclake_synth::generate(&cfg, &mut out).unwrap();
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// [`payloads`] with the S3Url bodies served over HTTP by a server on 127.0.0.1 instead of
/// file:// URLs, which `consume` never reads (records come from whoever can write to the
/// stream). Returns the payloads and the server's `host:port`, for `--fetch-allow-host`.
pub fn payloads_over_http(n: u64, seed: u64, s3dir: &Path) -> (Vec<Vec<u8>>, String) {
    let server = http::serve_dir(s3dir.to_owned());
    let from = format!("file://{}/", s3dir.display());
    let to = server.url("/");
    let mut served = 0;
    let payloads = payloads(n, seed, s3dir)
        .into_iter()
        .map(|p| {
            let text = String::from_utf8(p).unwrap();
            served += usize::from(text.contains(&from));
            text.replace(&from, &to).into_bytes()
        })
        .collect();
    assert!(served > 0, "no S3Url payload points at {from}");
    (payloads, server.host())
}

/// Deletes the stream (and its registered consumers) and waits (up to 30 s) until it is gone.
pub async fn delete_stream(client: &Client, name: &str) {
    client
        .delete_stream()
        .stream_name(name)
        .enforce_consumer_deletion(true)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.describe_stream_summary().stream_name(name).send().await {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "stream {name} not deleted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts `payloads` with an explicit hash key, so that all go to the shard owning that key.
pub async fn put_to_hash_key(client: &Client, name: &str, payloads: &[Vec<u8>], hash_key: &str) -> Vec<Put> {
    let mut out = Vec::with_capacity(payloads.len());
    for (i, payload) in payloads.iter().enumerate() {
        let r = client
            .put_record()
            .stream_name(name)
            .data(Blob::new(payload.clone()))
            .partition_key(format!("h{i}"))
            .explicit_hash_key(hash_key)
            .send()
            .await
            .unwrap();
        out.push((r.shard_id, r.sequence_number));
    }
    out
}
