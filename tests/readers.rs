//! DuckDB and pyarrow read the table as one table, partition columns included, and agree with
//! the input on rows per partition and on a sample of values.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{python, repo, synclake};
use synclake_testkit::fixtures;

/// Rows per partition and every (offset, sub_index) → (key, value) expected from the input,
/// computed independently of synclake from the JSON Lines and the S3Url bodies.
type Values = BTreeMap<(u64, Option<i64>), (Option<String>, Option<String>)>;
type Expected = (BTreeMap<String, u64>, Values);

fn expected(input: &std::path::Path, partition: impl Fn(&serde_json::Value) -> String) -> Expected {
    let text = std::fs::read_to_string(input).unwrap();
    let mut per = BTreeMap::new();
    let mut values = BTreeMap::new();
    let mut offset = 0u64;
    for line in text.split_inclusive('\n') {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut records = v["kinesisSyncRecords"].as_array().cloned().unwrap_or_default();
        if v["payloadType"] == "S3Url" {
            let url = url::Url::parse(v["kinesisSyncRecordsURL"].as_str().unwrap()).unwrap();
            let body: serde_json::Value =
                serde_json::from_slice(&std::fs::read(url.to_file_path().unwrap()).unwrap()).unwrap();
            records.extend(body.as_array().unwrap().iter().cloned());
        }
        *per.entry(partition(&v)).or_default() += records.len().max(1) as u64;
        if records.is_empty() {
            values.insert((offset, None), (None, None));
        }
        for (i, r) in records.iter().enumerate() {
            let s = |k: &str| r.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            values.insert((offset, Some(i as i64)), (s("key"), s("value")));
        }
        offset += line.len() as u64;
    }
    (per, values)
}

fn dt_hr(ms: i64) -> (String, String) {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    (t.format("%Y-%m-%d").to_string(), t.format("%H").to_string())
}

fn read_with_python(table: &std::path::Path, columns: &str) -> serde_json::Value {
    let out = Command::new(python())
        .arg(repo().join("tests/py/read_table.py"))
        .arg(table)
        .arg(columns)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "read_table.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(table: &std::path::Path, columns: &str, per: &BTreeMap<String, u64>, values: &Values) {
    let got = read_with_python(table, columns);
    let total: u64 = per.values().sum();
    for reader in ["duckdb", "pyarrow"] {
        assert_eq!(got[reader]["rows"], total, "{reader} row count");
        let counts: BTreeMap<String, u64> = serde_json::from_value(got[reader]["per_partition"].clone()).unwrap();
        assert_eq!(&counts, per, "{reader} rows per partition");
        let cols: Vec<String> = serde_json::from_value(got[reader]["columns"].clone()).unwrap();
        for c in columns
            .split(',')
            .chain(["identity_pool_id", "key", "value", "extra", "arrival_time"])
        {
            assert!(cols.iter().any(|x| x == c), "{reader} sees column {c}: {cols:?}");
        }
    }
    let sample = got["sample"].as_array().unwrap();
    assert!(sample.len() >= 20, "a real sample: {}", sample.len());
    for row in sample {
        let offset: u64 = row["sequence_number"].as_str().unwrap().parse().unwrap();
        let sub = row["sub_index"].as_i64();
        let want = &values[&(offset, sub)];
        assert_eq!(
            row["key"].as_str().map(str::to_owned),
            want.0,
            "key at {offset}/{sub:?}"
        );
        assert_eq!(
            row["value"].as_str().map(str::to_owned),
            want.1,
            "value at {offset}/{sub:?}"
        );
    }
}

fn replay(input: &std::path::Path, lake: &std::path::Path, extra: &[&str]) {
    let mut args = vec![
        "replay",
        input.to_str().unwrap(),
        "--out",
        lake.to_str().unwrap(),
        "--allow-file-urls",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    let out = synclake(&args);
    assert_eq!(out.status.code(), Some(0));
}

/// Generates `payloads` payloads (S3Url bodies beside them) into `dir/gen.jsonl`.
fn generate(dir: &std::path::Path, payloads: &str, seed: &str) -> std::path::PathBuf {
    let input = dir.join("gen.jsonl");
    let s3 = dir.join("s3");
    let args = [
        "gen",
        "--payloads",
        payloads,
        "--seed",
        seed,
        "--s3url-dir",
        s3.to_str().unwrap(),
    ];
    let out = synclake(&[&args[..], &["--out", input.to_str().unwrap()]].concat());
    assert!(out.status.success());
    input
}

#[test]
fn duckdb_and_pyarrow_read_the_default_dt_hr_table() {
    let tmp = tempfile::tempdir().unwrap();
    let input = generate(tmp.path(), "3000", "11");
    let (per, values) = expected(&input, |v| {
        let (dt, hr) = dt_hr(v["lastModifiedDate"].as_i64().unwrap());
        format!("dt={dt}/hr={hr}")
    });
    let lake = tmp.path().join("lake");
    // Small units: several files per partition, and dead-letter and temp-looking names must
    // not be read as rows.
    replay(&input, &lake, &["--unit-mb", "1"]);
    // A leftover of an interrupted run: a hidden spool file inside a partition.
    let some_partition = std::fs::read_dir(lake.join(per.keys().next().unwrap()))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(
        some_partition.with_file_name(".part-crashed.parquet.inprogress"),
        b"PAR1 half a file",
    )
    .unwrap();
    std::fs::create_dir_all(lake.join("_dead_letters")).unwrap();
    std::fs::copy(
        fixtures().join("envelopes/lambda_kinesis_event.json"),
        lake.join("_dead_letters/not-a-table-file.parquet"),
    )
    .unwrap();
    check(&lake, "dt,hr", &per, &values);
}

#[test]
fn partition_values_with_colons_read_back_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let input = generate(tmp.path(), "1500", "5");
    let (per, values) = expected(&input, |v| {
        let name = v
            .get("dataSetName")
            .or_else(|| v.get("datasetName"))
            .unwrap()
            .as_str()
            .unwrap();
        format!(
            "identity_pool_id={}/dataset_name={name}",
            v["identityPoolId"].as_str().unwrap()
        )
    });
    assert!(
        per.keys().any(|k| k.contains("ui:layout")),
        "dataset names with ':' are in the input"
    );
    let lake = tmp.path().join("lake");
    replay(&input, &lake, &["--partition-by", "identity_pool_id,dataset_name"]);
    assert!(
        std::fs::read_dir(&lake)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("%3A"))
    );
    check(&lake, "identity_pool_id,dataset_name", &per, &values);
}

#[test]
fn readers_accept_a_table_with_out_of_range_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/inline_docs_spelling.json")).unwrap()).unwrap();
    v["kinesisSyncRecords"][0]["deviceLastModifiedDate"] = 1_700_000_000_000_000_000i64.into();
    v["kinesisSyncRecords"][1]["lastModifiedDate"] = (-100_000_000_000_000i64).into();
    let input = tmp.path().join("odd.jsonl");
    std::fs::write(&input, format!("{v}\n")).unwrap();
    let lake = tmp.path().join("lake");
    replay(&input, &lake, &[]);
    let got = read_with_python(&lake, "dt,hr");
    for reader in ["duckdb", "pyarrow"] {
        assert_eq!(got[reader]["rows"], 3, "{reader} reads every row");
    }
}
