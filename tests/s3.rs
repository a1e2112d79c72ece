//! The table on S3, and S3Url payloads resolved through real presigned URLs, against the
//! local S3 server (moto) that `scripts/test.sh` starts.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use arrow_array::cast::AsArray;
use common::{summary, synclake};
use futures::TryStreamExt as _;
use object_store::signer::Signer as _;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use synclake_testkit::fixtures;
use synclake_testkit::services::{new_bucket, s3_allow_host, s3_endpoint, s3_store};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A JSON Lines capture whose S3Url payload points at `url`.
fn capture_with_url(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    v["kinesisSyncRecordsURL"] = url.into();
    let inline = std::fs::read_to_string(fixtures().join("envelopes/stream.jsonl")).unwrap();
    let first = inline.lines().next().unwrap();
    let path = dir.join("capture.jsonl");
    std::fs::write(&path, format!("{first}\n{}\n", serde_json::to_string(&v).unwrap())).unwrap();
    path
}

/// Replays a capture whose S3Url payload points at `url` into `lake`; the exit status and
/// the summary.
fn replay_capture(
    dir: &std::path::Path,
    url: &str,
    lake: &std::path::Path,
) -> (std::process::Output, serde_json::Value) {
    let input = capture_with_url(dir, url);
    let summary_path = dir.join("summary.json");
    let out = synclake(&[
        "replay",
        input.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
        "--summary-json",
        summary_path.to_str().unwrap(),
        "--no-progress",
        // The local S3 server is not an Amazon S3 endpoint: allowed explicitly.
        "--fetch-allow-host",
        &s3_allow_host(),
    ]);
    (out, summary(&summary_path))
}

#[test]
fn table_is_written_to_s3_and_reads_back() {
    let bucket = new_bucket("table");
    let tmp = tempfile::tempdir().unwrap();
    let summary_path = tmp.path().join("summary.json");
    let input = fixtures().join("envelopes/lambda_kinesis_event.json");
    let out = synclake(&[
        "replay",
        input.to_str().unwrap(),
        "--out",
        &format!("s3://{bucket}/tables/cognito"),
        "--s3-endpoint",
        &s3_endpoint(),
        "--s3-path-style",
        "--summary-json",
        summary_path.to_str().unwrap(),
        "--no-progress",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one record of the event is bad: exit 2 says dead letters exist"
    );
    let summary = summary(&summary_path);
    assert_eq!(summary["rows"], 6);
    assert_eq!(summary["dead_letters"], 1);

    let store = s3_store(&bucket);
    let rt = rt();
    let objects: Vec<_> = rt
        .block_on(store.list(Some(&"tables/cognito".into())).try_collect())
        .unwrap();
    let keys: Vec<String> = objects.iter().map(|o| o.location.to_string()).collect();
    assert!(
        keys.iter().all(|k| !k.contains(".inprogress")),
        "no temporary objects: {keys:?}"
    );
    let data: Vec<_> = keys
        .iter()
        .filter(|k| k.contains("/dt=") && k.ends_with(".parquet"))
        .collect();
    let dead: Vec<_> = keys.iter().filter(|k| k.contains("/_dead_letters/")).collect();
    assert_eq!(dead.len(), 1, "{keys:?}");
    let mut rows = 0;
    for key in data {
        let bytes = rt.block_on(async { store.get(&key.as_str().into()).await.unwrap().bytes().await.unwrap() });
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let source = batch.column_by_name("source").unwrap().as_string::<i32>();
            assert!((0..batch.num_rows()).all(|i| source.value(i).starts_with("shardId-")));
            rows += batch.num_rows();
        }
    }
    assert_eq!(rows, 6);
}

#[test]
fn s3url_payload_is_fetched_through_a_presigned_url() {
    let bucket = new_bucket("bulk");
    let store = s3_store(&bucket);
    let rt = rt();
    let body = std::fs::read(fixtures().join("s3url/records_array.json")).unwrap();
    let key = object_store::path::Path::from("cognito/records.json");
    rt.block_on(store.put(&key, PutPayload::from(body))).unwrap();
    let url = rt
        .block_on(store.signed_url(reqwest::Method::GET, &key, Duration::from_secs(900)))
        .unwrap();
    assert!(
        url.query().unwrap().contains("X-Amz-Signature"),
        "a real presigned URL: {url}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let (out, s) = replay_capture(tmp.path(), url.as_str(), &lake);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(s["s3url_fetched"], 1);
    assert_eq!(s["rows"], 3 + 5, "3 inline rows + the 5 records behind the URL");
    assert_eq!(s["dead_letters"], 0);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("X-Amz-Signature"),
        "signatures are never logged"
    );
}

#[test]
fn missing_s3url_object_ends_in_the_dead_letters() {
    let bucket = new_bucket("gone");
    let store = s3_store(&bucket);
    let rt = rt();
    let key = object_store::path::Path::from("cognito/expired-and-deleted.json");
    let url = rt
        .block_on(store.signed_url(reqwest::Method::GET, &key, Duration::from_secs(900)))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let (out, s) = replay_capture(tmp.path(), url.as_str(), &lake);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(s["rows"], 3, "the inline payload still converts");
    assert_eq!(s["dead_letters"], 1);
    let dead_dir = lake.join("_dead_letters");
    let file = std::fs::read_dir(&dead_dir).unwrap().next().unwrap().unwrap().path();
    let batch = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let col = |n: &str| batch.column_by_name(n).unwrap().as_string::<i32>().value(0).to_owned();
    assert_eq!(col("stage"), "fetch");
    assert_eq!(col("error_kind"), "fetch_not_found");
    assert!(col("error").contains("HTTP 404"), "{}", col("error"));
    assert!(!col("error").contains("X-Amz-Signature"), "the signature is redacted");
    let raw = batch.column_by_name("raw").unwrap().as_binary::<i32>().value(0);
    assert!(
        std::str::from_utf8(raw).unwrap().contains("\"S3Url\""),
        "the raw payload is kept"
    );
}
