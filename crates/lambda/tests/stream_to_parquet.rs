//! The stream-to-parquet handler called directly: fixture events of every payload shape, bad
//! records, S3Url payloads, partial batch failures, retries, and the table on the local S3
//! server.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use futures::TryStreamExt as _;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use synclake_lake::ReplayOptions;
use synclake_lambda::{KinesisBatchEvent, StreamConfig, StreamToParquet};
use synclake_testkit::fixtures;
use synclake_testkit::replay::{offline_fetch, run_replay};
use synclake_testkit::services::{new_bucket, s3_endpoint, s3_store};
use synclake_testkit::table::{Row, read_dead_letters, read_table};

fn function(output: &str, extra: &[(&str, &str)]) -> StreamToParquet {
    let mut vars: Vec<(String, String)> = vec![
        ("SYNCLAKE_OUT".into(), output.into()),
        ("SYNCLAKE_FETCH_ATTEMPTS".into(), "1".into()),
        ("SYNCLAKE_FETCH_TIMEOUT_SECS".into(), "5".into()),
        ("SYNCLAKE_FETCH_ALLOW_HOSTS".into(), body_server().host()),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let config = StreamConfig::from_env(|k| vars.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap();
    StreamToParquet::new(&config).unwrap()
}

fn local(dir: &Path) -> StreamToParquet {
    function(dir.to_str().unwrap(), &[])
}

fn event(json: &str) -> KinesisBatchEvent {
    KinesisBatchEvent::from_json(json).unwrap()
}

/// The S3Url fixture pointing at the fixture body on the test's body server.
fn s3url_payload() -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    v["kinesisSyncRecordsURL"] = body_server()
        .url("/records_array.json?X-Amz-Expires=900&X-Amz-Signature=s")
        .into();
    serde_json::to_vec(&v).unwrap()
}

/// The rows of a table without the lineage columns and file names: what the data says.
fn data_of(rows: &[Row]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                r.partition,
                r.identity_pool_id,
                r.identity_id,
                r.dataset_name,
                r.dataset_operation,
                r.dataset_sync_count,
                r.dataset_last_modified,
                r.payload_type,
                r.key,
                r.value,
                r.op,
                r.sync_count,
                r.last_modified,
                r.device_last_modified,
                r.extra,
                r.sub_index
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_sample_event_becomes_rows_with_kinesis_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read_to_string(fixtures().join("envelopes/lambda_kinesis_event.json")).unwrap();
    let f = local(dir.path());
    let (response, summary) = f.handle_with_summary(&event(&json), None).await.unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "a bad record is a dead letter, not a failure"
    );
    assert_eq!(
        (summary.records, summary.written, summary.rows, summary.dead_letters),
        (4, 4, 6, 1)
    );

    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let records = doc["Records"].as_array().unwrap();
    let rows = read_table(dir.path());
    assert_eq!(rows.len(), 6);
    for row in &rows {
        let record = records
            .iter()
            .find(|r| r["kinesis"]["sequenceNumber"] == row.sequence_number.as_str())
            .unwrap();
        let shard = record["eventID"].as_str().unwrap().split(':').next().unwrap();
        assert_eq!(row.source, shard);
        let seconds = record["kinesis"]["approximateArrivalTimestamp"].as_f64().unwrap();
        assert_eq!(
            row.arrival_time,
            Some((seconds * 1000.0).round() as i64),
            "arrival in ms, fraction kept"
        );
    }
    let dead = read_dead_letters(dir.path());
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].stage, "decode", "the record whose data is not a payload");
}

#[tokio::test]
async fn every_payload_shape_and_bad_input_converts_as_replay_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    for (name, bytes) in fixture_files("payloads") {
        payloads.push(if name == "s3url.json" { s3url_payload() } else { bytes });
    }
    let good = payloads.len();
    let bad = fixture_files("bad");
    payloads.extend(bad.iter().map(|(_, b)| b.clone()));
    let (response, summary) = local(dir.path())
        .handle_with_summary(&event(&kinesis_event(&payloads, 0)), None)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.written, payloads.len());
    assert_eq!(
        summary.dead_letters as usize,
        bad.len(),
        "every bad input is one dead letter"
    );

    // The same payloads through replay (one JSON document per file) give the same rows.
    let inputs = tempfile::tempdir().unwrap();
    for (i, p) in payloads[..good].iter().enumerate() {
        std::fs::write(inputs.path().join(format!("{i:02}.json")), p).unwrap();
    }
    let lake = tempfile::tempdir().unwrap();
    let (input_dir, lake_dir) = (inputs.path().to_owned(), lake.path().to_owned());
    let replayed = tokio::task::spawn_blocking(move || {
        run_replay(
            &[input_dir],
            &lake_dir,
            None,
            1 << 20,
            &ReplayOptions::default(),
            offline_fetch(),
        )
    })
    .await
    .unwrap();
    assert_eq!(replayed.stats.dead_letters, 0);
    let lambda_rows = read_table(dir.path());
    assert_eq!(lambda_rows.len() as u64, summary.rows);
    assert_eq!(data_of(&lambda_rows), data_of(&read_table(lake.path())));
    assert!(
        lambda_rows
            .iter()
            .all(|r| r.source == SHARD && r.sequence_number.len() == 56)
    );

    let dead = read_dead_letters(dir.path());
    let mut raw: Vec<Vec<u8>> = dead.iter().map(|d| d.raw.clone()).collect();
    let mut expected: Vec<Vec<u8>> = bad.into_iter().map(|(_, b)| b).collect();
    raw.sort();
    expected.sort();
    assert_eq!(raw, expected, "dead letters keep the raw bytes of each bad record");
}

/// An inline payload with one record, in hour `hour` of 2025-03-14.
fn inline(i: usize, hour: u32) -> Vec<u8> {
    let t = 1_741_910_400_000_i64 + i64::from(hour) * 3_600_000 + i as i64;
    format!(
        r#"{{"identityPoolId":"us-east-1:pool","identityId":"us-east-1:id-{i}","dataSetName":"prefs","operation":"replace","payloadType":"Inline","syncCount":{i},"lastModifiedDate":{t},"kinesisSyncRecords":[{{"key":"k","value":"v{i}","syncCount":1,"lastModifiedDate":{t},"op":"replace"}}]}}"#
    )
    .into_bytes()
}

fn rows_per_sequence(dir: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in read_table(dir) {
        *out.entry(r.sequence_number).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn a_retried_batch_overwrites_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let payloads: Vec<_> = (0..40).map(|i| inline(i, (i % 4) as u32)).collect();
    let json = kinesis_event(&payloads, 0);
    let f = local(dir.path());
    let (_, first) = f.handle_with_summary(&event(&json), None).await.unwrap();
    let (response, again) = f.handle_with_summary(&event(&json), None).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        first.committed, again.committed,
        "deterministic names from shard and first sequence"
    );
    assert!(
        first.committed[0].contains(&format!("part-{SHARD}-{}-00000.parquet", seq(0))),
        "{:?}",
        first.committed
    );
    let rows = rows_per_sequence(dir.path());
    assert_eq!(rows.len(), 40);
    assert!(rows.values().all(|n| *n == 1), "each record once after the retry");
}

#[tokio::test]
async fn a_failed_write_reports_the_first_affected_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    // Records 0..10 in hour 1, records 10..20 alternate between hours 1 and 2: hour 2's file
    // first holds record 10.
    let hour = |i: usize| if i >= 10 && i.is_multiple_of(2) { 2 } else { 1 };
    let payloads: Vec<_> = (0..20).map(|i| inline(i, hour(i))).collect();
    let blocked = dir
        .path()
        .join(format!("dt=2025-03-14/hr=02/part-{SHARD}-{}-00000.parquet", seq(10)));
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let f = local(dir.path());
    let response = f.handle(&event(&kinesis_event(&payloads, 0)), None).await.unwrap();
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        ids,
        vec![Some(seq(10))],
        "Lambda resumes at the first record not written"
    );
    let expected: BTreeMap<String, usize> = (0..10).map(|i| (seq(i), 1)).collect();
    assert_eq!(
        rows_per_sequence(dir.path()),
        expected,
        "only the records before it are in the table"
    );

    // Lambda redelivers from record 10: everything ends up in the table exactly once.
    std::fs::remove_dir_all(&blocked).unwrap();
    let response = f
        .handle(&event(&kinesis_event(&payloads[10..], 10)), None)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let expected: BTreeMap<String, usize> = (0..20).map(|i| (seq(i), 1)).collect();
    assert_eq!(rows_per_sequence(dir.path()), expected);
}

#[tokio::test]
async fn a_failure_at_the_first_record_retries_the_whole_batch_by_its_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let payloads: Vec<_> = (0..5).map(|i| inline(i, 1)).collect();
    let blocked = dir
        .path()
        .join(format!("dt=2025-03-14/hr=01/part-{SHARD}-{}-00000.parquet", seq(0)));
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let response = local(dir.path())
        .handle(&event(&kinesis_event(&payloads, 0)), None)
        .await
        .unwrap();
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(ids, vec![Some(seq(0))], "never an empty identifier");
}

#[tokio::test]
async fn a_document_that_is_not_an_event_is_kept_as_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let (response, summary) = local(dir.path())
        .handle_with_summary(&event(r#"{"detail-type":"Scheduled Event"}"#), None)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.dead_letters, 1);
    assert_eq!(
        read_dead_letters(dir.path())[0].raw,
        br#"{"detail-type":"Scheduled Event"}"#
    );
}

#[tokio::test]
async fn the_table_is_written_to_s3() {
    let bucket = new_bucket("lambda");
    let endpoint = s3_endpoint();
    let f = function(
        &format!("s3://{bucket}/cognito/table"),
        &[("SYNCLAKE_S3_ENDPOINT", &endpoint), ("SYNCLAKE_S3_PATH_STYLE", "true")],
    );
    let payloads: Vec<_> = (0..30)
        .map(|i| inline(i, (i % 3) as u32))
        .chain([b"{oops".to_vec()])
        .collect();
    let (response, summary) = f
        .handle_with_summary(&event(&kinesis_event(&payloads, 0)), None)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((summary.rows, summary.dead_letters, summary.files), (30, 1, 3));

    let store = s3_store(&bucket);
    let objects: Vec<_> = store.list(Some(&"cognito/table".into())).try_collect().await.unwrap();
    let mut keys: Vec<String> = objects.iter().map(|o| o.location.to_string()).collect();
    keys.sort();
    let expected: Vec<String> = summary.committed.iter().map(|k| format!("cognito/table/{k}")).collect();
    assert_eq!(keys, expected, "exactly the committed objects, nothing temporary");
    let mut rows = 0;
    for key in keys.iter().filter(|k| k.contains("/dt=")) {
        let bytes = store.get(&key.as_str().into()).await.unwrap().bytes().await.unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        rows += reader.map(|b| b.unwrap().num_rows()).sum::<usize>();
    }
    assert_eq!(rows, 30);
}
