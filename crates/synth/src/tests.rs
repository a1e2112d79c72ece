//! Tests of the generator as a whole: determinism, the shape of every line,
//! the mix of payload kinds and oddities, and `S3Url` bodies.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::timeline::{DAY_MS, HOUR_MS, push_iso};
use super::writers::{HEX, push_padded};
use super::{GenConfig, GenStats, generate};

fn run(cfg: &GenConfig) -> (Vec<u8>, GenStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).expect("generate");
    (out, stats)
}

fn cfg(payloads: u64, seed: u64) -> GenConfig {
    GenConfig {
        payloads,
        seed,
        ..GenConfig::default()
    }
}

fn lines(out: &[u8]) -> Vec<Value> {
    std::str::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("line is JSON"))
        .collect()
}

fn file_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("file://").expect("file url");
    let mut bytes = Vec::new();
    let mut it = rest.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hi = it.next().expect("hex");
            let lo = it.next().expect("hex");
            let s = [hi, lo];
            let hex = std::str::from_utf8(&s).expect("ascii");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex"));
        } else {
            bytes.push(b);
        }
    }
    PathBuf::from(String::from_utf8(bytes).expect("utf-8 path"))
}

#[test]
fn deterministic_per_seed() {
    let (a, sa) = run(&cfg(3_000, 1));
    let (b, sb) = run(&cfg(3_000, 1));
    let (c, _) = run(&cfg(3_000, 2));
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_ne!(a, c);
    assert_eq!(sa.bytes, a.len() as u64);
    assert_eq!(sa.payloads, 3_000);
}

#[test]
fn defaults_are_as_documented() {
    let c = GenConfig::default();
    assert_eq!(
        (c.payloads, c.seed, c.start_ms, c.days),
        (10_000, 42, 1_709_251_200_000, 7)
    );
    assert!(c.s3url_dir.is_none());
    let mut iso = Vec::new();
    push_iso(&mut iso, c.start_ms + 3_723_004);
    assert_eq!(iso, b"2024-03-01T01:02:03.004Z");
}

#[test]
fn zero_payloads_writes_nothing() {
    let (out, stats) = run(&cfg(0, 1));
    assert!(out.is_empty());
    assert_eq!(stats, GenStats::default());
}

#[test]
fn lines_are_valid_payloads() {
    let c = cfg(5_000, 9);
    let (out, stats) = run(&c);
    let text = std::str::from_utf8(&out).expect("utf-8");
    let end = c.start_ms + i64::from(c.days) * DAY_MS;
    let mut records = 0;
    for (raw, v) in text.lines().zip(lines(&out)) {
        // Field order as in the spec example.
        assert!(
            raw.starts_with("{\"identityPoolId\":\"us-east-1:") || raw.starts_with("{\"identityPoolId\":\"eu-west-1:")
        );
        let order = ["\"identityId\":", "Name\":", "\"operation\":"];
        let mut pos = 0;
        for f in order {
            let p = raw[pos..].find(f).expect(f) + pos;
            pos = p;
        }
        let tail = [
            "\"lastModifiedDate\":",
            "\"kinesisSyncRecordsURL\":",
            "\"payloadType\":",
            "\"syncCount\":",
        ];
        let mut pos = 0;
        for f in tail {
            let p = raw.rfind(f).expect(f);
            assert!(p > pos, "{f} out of order");
            pos = p;
        }
        let o = v.as_object().expect("object");
        for id in ["identityPoolId", "identityId"] {
            let s = o[id].as_str().expect(id);
            let (region, uuid) = s.split_once(':').expect("region:uuid");
            assert!(region == "us-east-1" || region == "eu-west-1");
            assert_eq!(uuid.len(), 36);
            assert!(uuid.bytes().all(|b| b == b'-' || HEX.contains(&b)));
        }
        let name = match (o.get("dataSetName"), o.get("datasetName")) {
            (Some(n), None) | (None, Some(n)) => n.as_str().expect("name"),
            _ => panic!("exactly one dataset name field: {raw}"),
        };
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)));
        let ds_sync = o["syncCount"].as_i64().expect("syncCount");
        let ds_lmd = o["lastModifiedDate"].as_i64().expect("lastModifiedDate");
        assert!(ds_sync >= 1);
        assert!((c.start_ms..end).contains(&ds_lmd));
        let op = o["operation"].as_str().expect("operation");
        match o["payloadType"].as_str().expect("payloadType") {
            "Inline" => {
                assert!(o["kinesisSyncRecordsURL"].is_null());
                match op {
                    "replace" => {
                        let recs = o["kinesisSyncRecords"].as_array().expect("records");
                        assert!((1..=20).contains(&recs.len()));
                        let keys: HashSet<&str> = recs.iter().map(|r| r["key"].as_str().expect("key")).collect();
                        assert_eq!(keys.len(), recs.len(), "distinct keys");
                        for r in recs {
                            records += 1;
                            assert!(!r["key"].as_str().expect("key").is_empty());
                            assert!(r["syncCount"].as_i64().expect("sync") <= ds_sync);
                            assert!(r["lastModifiedDate"].as_i64().expect("lmd") <= ds_lmd);
                            if let Some(d) = r.get("deviceLastModifiedDate") {
                                assert!(d.is_i64());
                            }
                            match r["op"].as_str().expect("op") {
                                "replace" => assert!(r["value"].is_string()),
                                "remove" => assert!(r.get("value").is_none_or(Value::is_null)),
                                other => panic!("op {other}"),
                            }
                        }
                    }
                    "remove" => {
                        let recs = o.get("kinesisSyncRecords");
                        assert!(recs.is_none_or(|r| r.is_null() || r.as_array().is_some_and(Vec::is_empty)));
                    }
                    other => panic!("operation {other}"),
                }
            }
            "S3Url" => {
                assert_eq!(op, "replace");
                assert!(o["kinesisSyncRecords"].is_null());
                let url = o["kinesisSyncRecordsURL"].as_str().expect("url");
                assert!(url.starts_with("https://cognito-sync-bulk.s3.amazonaws.com/"));
                assert!(url.contains(".json?X-Amz-Expires=900&X-Amz-Signature="));
            }
            other => panic!("payloadType {other}"),
        }
    }
    assert_eq!(records, stats.records);
}

#[test]
fn proportions_are_plausible() {
    let (out, stats) = run(&cfg(20_000, 42));
    let all = lines(&out);
    assert_eq!(all.len(), 20_000);
    let n = all.len() as f64;
    let lower = all.iter().filter(|v| v.get("datasetName").is_some()).count() as f64;
    assert!((0.08..0.12).contains(&(lower / n)), "datasetName share {}", lower / n);
    assert!(
        (40..=170).contains(&stats.recordless_payloads),
        "recordless {}",
        stats.recordless_payloads
    );
    assert!(
        (5..=45).contains(&stats.s3url_payloads),
        "s3url {}",
        stats.s3url_payloads
    );
    let removal_share = stats.removals as f64 / stats.records as f64;
    assert!((0.04..0.06).contains(&removal_share), "removals {removal_share}");
    let avg = stats.bytes as f64 / n;
    assert!((1_100.0..1_300.0).contains(&avg), "average payload {avg} bytes");
    let per_payload = stats.records as f64 / n;
    assert!((3.0..6.0).contains(&per_payload), "records per payload {per_payload}");

    let mut recs = 0usize;
    let mut no_device = 0usize;
    let mut absent_value = 0usize;
    let mut escaped = 0usize;
    let mut non_ascii = 0usize;
    let mut long = 0usize;
    let mut pools = HashSet::new();
    let mut identities = HashSet::new();
    let mut names = HashSet::new();
    let mut late = 0usize;
    let mut max_ts = 0;
    for v in &all {
        pools.insert(v["identityPoolId"].as_str().expect("pool").to_owned());
        identities.insert(v["identityId"].as_str().expect("id").to_owned());
        let name = v.get("dataSetName").or_else(|| v.get("datasetName")).expect("name");
        names.insert(name.as_str().expect("name").to_owned());
        let ts = v["lastModifiedDate"].as_i64().expect("ts");
        if ts < max_ts - 60_000 {
            late += 1;
        }
        max_ts = max_ts.max(ts);
        for r in v
            .get("kinesisSyncRecords")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            recs += 1;
            if r.get("deviceLastModifiedDate").is_none() {
                no_device += 1;
            }
            match r.get("value") {
                None => absent_value += 1,
                Some(Value::String(s)) => {
                    if s.contains(['"', '\\', '\n', '\t']) {
                        escaped += 1;
                    }
                    if !s.is_ascii() {
                        non_ascii += 1;
                    }
                    if s.len() > 1_000 {
                        long += 1;
                    }
                }
                Some(_) => {}
            }
        }
    }
    let recs_f = recs as f64;
    assert!(
        (0.02..0.04).contains(&(no_device as f64 / recs_f)),
        "device date absent {no_device}/{recs}"
    );
    assert!(
        absent_value > 0 && (absent_value as u64) < stats.removals / 4,
        "absent values {absent_value}"
    );
    assert!(escaped as f64 / recs_f > 0.05, "escaped values {escaped}");
    assert!(non_ascii as f64 / recs_f > 0.05, "non-ASCII values {non_ascii}");
    assert!(long > 0 && (long as f64 / recs_f) < 0.01, "long values {long}");
    assert_eq!(pools.len(), 4);
    assert!(identities.len() > 5_000, "identities {}", identities.len());
    assert_eq!(names.len(), 12);
    assert!((0.01..0.03).contains(&(late as f64 / n)), "late (bulk) payloads {late}");
    // Spread over the whole week, and not past it.
    let start = GenConfig::default().start_ms;
    assert!(max_ts > start + 6 * DAY_MS + 20 * HOUR_MS);
    assert!(max_ts < start + 7 * DAY_MS);
}

#[test]
fn s3url_bodies_are_written_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s3 = dir.path().join("s3 bodies");
    let c = GenConfig {
        s3url_dir: Some(s3.clone()),
        ..cfg(20_000, 5)
    };
    let (out, stats) = run(&c);
    let (plain, plain_stats) = run(&cfg(20_000, 5));
    assert!(stats.s3url_payloads > 0);
    assert_eq!(stats.s3url_payloads, plain_stats.s3url_payloads);
    let mut inline = 0u64;
    let mut body_records = 0u64;
    let mut files = 0u64;
    let with = lines(&out);
    let without = lines(&plain);
    for (i, (v, p)) in with.iter().zip(&without).enumerate() {
        if v["payloadType"] == "S3Url" {
            let url = v["kinesisSyncRecordsURL"].as_str().expect("url");
            let path = file_path(url);
            assert!(path.is_absolute());
            assert_eq!(path, std::path::absolute(&s3).expect("abs").join(format!("{i}.json")));
            let body: Value = serde_json::from_slice(&fs::read(&path).expect("body")).expect("JSON body");
            let recs = body.as_array().expect("array body");
            assert!((20..=200).contains(&recs.len()));
            for r in recs {
                assert!(r["key"].is_string());
                assert!(r["op"] == "replace" || r["op"] == "remove");
                assert!(r["syncCount"].as_i64().expect("sync") <= v["syncCount"].as_i64().expect("sync"));
            }
            body_records += recs.len() as u64;
            files += 1;
            // Only the URL differs from a run without s3url_dir.
            let mut v2 = v.clone();
            v2["kinesisSyncRecordsURL"] = p["kinesisSyncRecordsURL"].clone();
            assert_eq!(&v2, p);
        } else {
            assert_eq!(v, p);
            inline += v
                .get("kinesisSyncRecords")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
        }
    }
    assert_eq!(files, stats.s3url_payloads);
    assert_eq!(fs::read_dir(&s3).expect("dir").count() as u64, files);
    assert_eq!(stats.records, inline + body_records);
    assert_eq!(plain_stats.records, inline);
}

#[test]
fn padded_is_signed_decimal_left_filled_with_zeros() {
    for v in [0, 7, -5, 42, -12_345, 123_456, i64::MIN, i64::MAX] {
        for width in 0..6 {
            let mut out = Vec::new();
            push_padded(&mut out, v, width);
            let s = v.to_string();
            let expected = format!("{}{s}", "0".repeat(width.saturating_sub(s.len())));
            assert_eq!(String::from_utf8(out).expect("ascii"), expected, "{v} width {width}");
        }
    }
}
