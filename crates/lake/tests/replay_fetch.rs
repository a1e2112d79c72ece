//! `replay` fetches the S3Url bodies of a unit concurrently, and the table it writes does not
//! depend on the order in which the fetches finish.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use synclake_lake::{FetchOptions, ReplayOptions};
use synclake_testkit::fixtures;
use synclake_testkit::http::{Reply, Server, serve};
use synclake_testkit::replay::run_replay;
use synclake_testkit::table::{read_dead_letters, read_table};

const PAYLOADS: usize = 8;

/// Answers `/body/<i>` with the fixture body after `300 - 30 * i` ms, so the fetches finish
/// in the reverse of the order they were asked in.
fn slow_server() -> Server {
    let body = std::fs::read(fixtures().join("s3url/records_array.json")).unwrap();
    serve(move |target| {
        let i: u64 = target
            .trim_start_matches("/body/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Reply::ok(body.clone()).delayed(Duration::from_millis(300 - 30 * i))
    })
}

/// Inline payloads interleaved with S3Url payloads pointing at `server`, one partition.
fn capture(dir: &Path, server: &Server) -> PathBuf {
    let s3url: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    let mut lines = String::new();
    for i in 0..PAYLOADS {
        let inline = serde_json::json!({
            "identityPoolId": "us-east-1:pool", "identityId": format!("us-east-1:inline-{i}"),
            "dataSetName": "game", "operation": "replace", "payloadType": "Inline",
            "syncCount": i, "lastModifiedDate": 1742033700000_i64,
            "kinesisSyncRecords": [{"key": "k", "value": format!("v{i}"), "syncCount": i,
                "lastModifiedDate": 1742033700000_i64, "deviceLastModifiedDate": 1742033700000_i64, "op": "replace"}],
        });
        lines.push_str(&serde_json::to_string(&inline).unwrap());
        lines.push('\n');
        let mut v = s3url.clone();
        v["kinesisSyncRecordsURL"] = server.url(&format!("/body/{i}?X-Amz-Signature=s")).into();
        v["identityId"] = format!("us-east-1:s3url-{i}").into();
        lines.push_str(&serde_json::to_string(&v).unwrap());
        lines.push('\n');
    }
    let path = dir.join("capture.jsonl");
    std::fs::write(&path, lines).unwrap();
    path
}

fn fetch_options(server: &Server) -> FetchOptions {
    FetchOptions {
        attempts: 1,
        allow_hosts: vec![server.host().parse().unwrap()],
        timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

#[test]
fn s3url_bodies_of_a_unit_are_fetched_concurrently() {
    let server = slow_server();
    let tmp = tempfile::tempdir().unwrap();
    let input = capture(tmp.path(), &server);
    let out = tmp.path().join("lake");
    let opts = ReplayOptions {
        workers: 1,
        ..ReplayOptions::default()
    };
    let summary = run_replay(&[input], &out, None, 1 << 30, &opts, fetch_options(&server));
    assert_eq!(
        summary.stats.s3url_fetched,
        PAYLOADS as u64,
        "{:?}",
        read_dead_letters(&out)
    );
    assert_eq!(server.request_count(), PAYLOADS);
    assert!(
        server.max_in_flight() > 1,
        "fetches overlapped (at most {} at once)",
        server.max_in_flight()
    );
    // The inline payloads are converted at once, in input order; the S3Url payloads, held
    // until their bodies are in, follow in input order too (the unit ends before 64 are held).
    let ids: Vec<String> = read_table(&out).into_iter().map(|r| r.identity_id).collect();
    let body_rows = ids.iter().filter(|id| *id == "us-east-1:s3url-0").count();
    assert!(body_rows > 1);
    let mut expected: Vec<String> = (0..PAYLOADS).map(|i| format!("us-east-1:inline-{i}")).collect();
    for i in 0..PAYLOADS {
        expected.extend(std::iter::repeat_n(format!("us-east-1:s3url-{i}"), body_rows));
    }
    assert_eq!(ids, expected);
}

#[test]
fn the_table_is_the_same_whatever_the_fetch_concurrency() {
    let server = slow_server();
    let tmp = tempfile::tempdir().unwrap();
    let input = capture(tmp.path(), &server);
    let run = |name: &str, fetch_concurrency: usize| {
        let out = tmp.path().join(name);
        let opts = ReplayOptions {
            workers: 1,
            fetch_concurrency,
            ..ReplayOptions::default()
        };
        let summary = run_replay(
            std::slice::from_ref(&input),
            &out,
            None,
            1 << 30,
            &opts,
            fetch_options(&server),
        );
        let rows: Vec<_> = read_table(&out)
            .into_iter()
            .map(|r| (r.file, r.identity_id, r.key, r.value, r.sequence_number))
            .collect();
        (summary.committed, rows)
    };
    let (one_files, one_rows) = run("one-at-a-time", 1);
    let (many_files, many_rows) = run("concurrent", 16);
    assert_eq!(one_files, many_files, "same files");
    assert_eq!(one_rows, many_rows, "same rows in the same order");
    assert_eq!(one_rows.len(), many_rows.len());
    assert!(!one_rows.is_empty());
}
