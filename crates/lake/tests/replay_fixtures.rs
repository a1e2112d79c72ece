//! Replay of the real-shaped fixtures: every payload shape, every envelope, bad input, and
//! the table read back column by column.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;

use synclake_lake::ReplayOptions;
use synclake_records::InputFormat;
use synclake_testkit::fixtures;
use synclake_testkit::replay::{offline_fetch, run_replay};
use synclake_testkit::table::{Row, data_files, read_dead_letters, read_table};

fn opts() -> ReplayOptions {
    ReplayOptions {
        workers: 2,
        ..ReplayOptions::default()
    }
}

/// stream.jsonl with its S3Url payload pointed at the local copy of the S3 body.
fn stream_with_local_s3url(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixtures().join("envelopes/stream.jsonl")).unwrap();
    let body = fixtures().join("s3url/records_array.json").canonicalize().unwrap();
    let url = format!("file://{}", body.display());
    let patched: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("\"S3Url\"") {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["kinesisSyncRecordsURL"] = url.clone().into();
                serde_json::to_string(&v).unwrap()
            } else {
                l.to_owned()
            }
        })
        .collect();
    let path = dir.join("stream.jsonl");
    std::fs::write(&path, patched.join("\n") + "\n").unwrap();
    path
}

#[test]
fn stream_jsonl_becomes_rows_with_lineage_and_s3url_records() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream_with_local_s3url(tmp.path());
    let out = tmp.path().join("lake");
    let summary = run_replay(
        std::slice::from_ref(&input),
        &out,
        None,
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    assert_eq!(summary.stats.payloads, 6);
    assert_eq!(summary.stats.rows, 15, "10 inline rows + 5 behind the S3 URL");
    assert_eq!(summary.stats.s3url_fetched, 1);
    assert_eq!(summary.stats.recordless, 1);
    assert_eq!(summary.stats.dead_letters, 0);
    assert_eq!(
        summary.committed.len() as u64,
        summary.files_out + summary.dead_letter_files,
        "every committed file is made durable at the end"
    );
    let rows = read_table(&out);
    assert_eq!(rows.len(), 15);
    // Every row is in the partition of its dataset's lastModifiedDate.
    for r in &rows {
        let t = chrono::DateTime::from_timestamp_millis(r.dataset_last_modified.unwrap()).unwrap();
        assert_eq!(r.partition, t.format("dt=%Y-%m-%d/hr=%H").to_string());
        assert_eq!(r.source, "stream.jsonl");
        assert_eq!(r.arrival_time, None);
    }
    // Record-less event: one row, null record columns.
    let nulls: Vec<_> = rows.iter().filter(|r| r.key.is_none()).collect();
    assert_eq!(nulls.len(), 1);
    assert_eq!(nulls[0].dataset_operation.as_deref(), Some("remove"));
    assert_eq!(nulls[0].sub_index, None);
    // The S3Url rows carry payload_type S3Url and the body's keys in order.
    let s3: Vec<_> = rows.iter().filter(|r| r.payload_type == "S3Url").collect();
    let keys: Vec<_> = s3.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, ["map_001", "map_002", "map_legacy", "map_003", "active_map"]);
    assert_eq!(
        s3.iter().map(|r| r.sub_index.unwrap()).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    // Lineage: sequence_number is the byte offset of the line.
    let text = std::fs::read(&input).unwrap();
    for r in &rows {
        let offset: usize = r.sequence_number.parse().unwrap();
        assert!(
            offset == 0 || text[offset - 1] == b'\n',
            "offset {offset} starts a line"
        );
    }
}

#[test]
fn values_round_trip_column_by_column_against_an_independent_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lake");
    let dir = fixtures().join("payloads");
    let summary = run_replay(
        std::slice::from_ref(&dir),
        &out,
        Some(InputFormat::Payload),
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    let rows = read_table(&out);
    // The S3Url fixture's URL is fake and not fetched by file; it lands in the dead letters.
    let dead = read_dead_letters(&out);
    assert_eq!(summary.stats.dead_letters as usize, dead.len());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("payloads/{}", path.file_name().unwrap().to_string_lossy());
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mine: Vec<_> = rows.iter().filter(|r| r.source == name).collect();
        if v["payloadType"] == "S3Url" {
            assert!(mine.is_empty());
            let d = dead.iter().find(|d| d.source == name).unwrap();
            assert_eq!(d.stage, "fetch");
            assert_eq!(d.raw, std::fs::read(&path).unwrap(), "dead letter keeps the raw bytes");
            continue;
        }
        let records = v["kinesisSyncRecords"].as_array().cloned().unwrap_or_default();
        assert_eq!(mine.len(), records.len().max(1), "{name}");
        let dataset = v.get("dataSetName").or_else(|| v.get("datasetName")).unwrap();
        for (i, rec) in records.iter().enumerate() {
            let row = mine.iter().find(|r| r.sub_index == Some(i as i32)).unwrap();
            assert_eq!(row.identity_pool_id, v["identityPoolId"].as_str().unwrap(), "{name}");
            assert_eq!(row.identity_id, v["identityId"].as_str().unwrap());
            assert_eq!(row.dataset_name, dataset.as_str().unwrap());
            // Null, not an empty string, when the payload has no operation.
            assert_eq!(
                row.dataset_operation.as_deref(),
                v.get("operation").and_then(|x| x.as_str()),
                "{name}"
            );
            assert_eq!(row.dataset_sync_count, v["syncCount"].as_i64());
            assert_eq!(row.dataset_last_modified, v["lastModifiedDate"].as_i64());
            assert_eq!(row.key.as_deref(), rec["key"].as_str());
            assert_eq!(
                row.value.as_deref(),
                rec.get("value").and_then(|x| x.as_str()),
                "{name} value {i}"
            );
            assert_eq!(row.op.as_deref(), rec["op"].as_str());
            assert_eq!(row.sync_count, rec["syncCount"].as_i64());
            assert_eq!(row.last_modified, rec["lastModifiedDate"].as_i64());
            assert_eq!(
                row.device_last_modified,
                rec.get("deviceLastModifiedDate").and_then(|x| x.as_i64())
            );
        }
    }
    // Unknown fields are kept in `extra`, payload- and record-level.
    let extra: Vec<_> = rows
        .iter()
        .filter(|r| r.source == "payloads/extra_fields.json")
        .collect();
    assert_eq!(extra.len(), 2);
    for r in &extra {
        let e: serde_json::Value = serde_json::from_str(r.extra.as_deref().unwrap()).unwrap();
        assert_eq!(e["payload"]["region"], "us-east-1");
        assert_eq!(e["payload"]["newField"], serde_json::json!({"a": [1, 2]}));
    }
    assert!(extra.iter().any(|r| {
        r.extra
            .as_deref()
            .unwrap()
            .contains("\"record\":{\"deviceId\":\"abc\"}")
    }));
    // Values are never truncated.
    let long = rows.iter().find(|r| r.source == "payloads/long_value.json").unwrap();
    assert_eq!(long.value.as_ref().unwrap().chars().count(), 1_048_575);
    // Identifiers with ':' and '.' pass through unchanged.
    assert!(rows.iter().any(|r| r.dataset_name == "ui:layout.v2"));
}

#[test]
fn lambda_event_and_get_records_documents_keep_kinesis_lineage() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lake");
    let lambda = fixtures().join("envelopes/lambda_kinesis_event.json");
    let get = fixtures().join("envelopes/get_records_output.json");
    let summary = run_replay(&[lambda, get], &out, None, 1 << 30, &opts(), offline_fetch());
    assert_eq!(summary.stats.rows, 11, "6 from the Lambda event, 5 from get-records");
    assert_eq!(summary.stats.dead_letters, 1);
    let rows = read_table(&out);
    let shards: std::collections::BTreeSet<_> = rows
        .iter()
        .filter(|r| r.source.starts_with("shardId-"))
        .map(|r| r.source.clone())
        .collect();
    assert_eq!(
        shards.into_iter().collect::<Vec<_>>(),
        ["shardId-000000000000", "shardId-000000000001"]
    );
    for r in &rows {
        assert!(r.sequence_number.len() > 20 && r.sequence_number.bytes().all(|b| b.is_ascii_digit()));
        assert!(r.arrival_time.is_some(), "Kinesis arrival time becomes arrival_time");
    }
    assert_eq!(rows.iter().filter(|r| r.source == "get_records_output.json").count(), 5);
    let dead = read_dead_letters(&out);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].source, "shardId-000000000001");
    assert_eq!(dead[0].stage, "decode");
    assert!(dead[0].error.contains("EOF"), "{}", dead[0].error);
}

#[test]
fn bad_inputs_all_go_to_dead_letters_with_raw_bytes_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    let mut expected = 0;
    for entry in std::fs::read_dir(fixtures().join("bad")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        // One payload per line: compact multi-line JSON onto one line where it parses.
        let line = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => serde_json::to_vec(&v).unwrap(),
            Err(_) => bytes.iter().copied().filter(|&b| b != b'\n').collect(),
        };
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue; // empty.txt: nothing to convert, nothing to lose
        }
        expected += 1;
        lines.push(line);
    }
    let input = tmp.path().join("bad.jsonl");
    let mut f = std::fs::File::create(&input).unwrap();
    for l in &lines {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    drop(f);
    let out = tmp.path().join("lake");
    let summary = run_replay(
        &[input],
        &out,
        Some(InputFormat::JsonLines),
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    assert_eq!(summary.stats.rows, 0);
    assert_eq!(summary.stats.dead_letters, expected);
    let dead = read_dead_letters(&out);
    assert_eq!(dead.len(), expected as usize);
    let mut raws: Vec<_> = dead.iter().map(|d| d.raw.clone()).collect();
    let mut want = lines.clone();
    raws.sort();
    want.sort();
    assert_eq!(raws, want, "each dead letter holds its line's exact bytes");
    assert!(
        dead.iter()
            .all(|d| !d.error.is_empty() && !d.error_kind.is_empty() && !d.raw_truncated)
    );
    assert!(read_table(&out).is_empty());
}

#[test]
fn gzip_input_gives_the_same_rows_as_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = stream_with_local_s3url(tmp.path());
    let gz = tmp.path().join("stream.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    enc.finish().unwrap();
    let a = run_replay(&[plain], &tmp.path().join("a"), None, 1 << 30, &opts(), offline_fetch());
    let b = run_replay(&[gz], &tmp.path().join("b"), None, 1 << 30, &opts(), offline_fetch());
    assert_eq!(a.stats, b.stats);
    let strip = |rows: Vec<Row>| {
        let mut v: Vec<_> = rows
            .into_iter()
            .map(|r| Row {
                file: String::new(),
                source: String::new(),
                ..r
            })
            .collect();
        v.sort_by(|x, y| (&x.sequence_number, x.sub_index).cmp(&(&y.sequence_number, y.sub_index)));
        v
    };
    assert_eq!(
        strip(read_table(&tmp.path().join("a"))),
        strip(read_table(&tmp.path().join("b")))
    );
}

#[test]
fn oversized_line_is_a_truncated_dead_letter_and_the_next_line_still_converts() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixtures().join("envelopes/stream.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let huge = format!("{{\"junk\":\"{}\"}}", "x".repeat(3000));
    let input = tmp.path().join("big.jsonl");
    std::fs::write(&input, format!("{first}\n{huge}\n{first}\n")).unwrap();
    let out = tmp.path().join("lake");
    let o = ReplayOptions {
        max_line_bytes: 1000,
        chunk_bytes: 512,
        ..opts()
    };
    let summary = run_replay(
        &[input],
        &out,
        Some(InputFormat::JsonLines),
        1 << 30,
        &o,
        offline_fetch(),
    );
    assert_eq!(summary.stats.rows, 6, "both good lines convert");
    let dead = read_dead_letters(&out);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_kind, "line_too_long");
    assert_eq!(dead[0].raw.len(), 1000);
    assert_eq!(dead[0].sequence_number, (first.len() + 1).to_string());
}

#[test]
fn rerun_over_the_same_input_replaces_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream_with_local_s3url(tmp.path());
    let out = tmp.path().join("lake");
    let o = ReplayOptions {
        chunk_bytes: 1024,
        ..opts()
    };
    run_replay(std::slice::from_ref(&input), &out, None, 1500, &o, offline_fetch());
    let first: Vec<_> = data_files(&out);
    let rows_first = read_table(&out).len();
    run_replay(&[input], &out, None, 1500, &o, offline_fetch());
    assert_eq!(data_files(&out), first, "same names");
    assert_eq!(read_table(&out).len(), rows_first, "nothing duplicated");
    assert!(first.len() > 3, "small units gave several files: {first:?}");
}

#[test]
fn many_small_files_are_grouped_into_few_units_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tmp.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    let event = std::fs::read(fixtures().join("envelopes/lambda_kinesis_event.json")).unwrap();
    for i in 0..40 {
        std::fs::write(events.join(format!("invocation-{i:03}.json")), &event).unwrap();
    }
    let out = tmp.path().join("lake");
    let size = event.len() as u64;
    // Room for 10 files per unit: 4 units.
    let summary = run_replay(
        std::slice::from_ref(&events),
        &out,
        None,
        size * 10,
        &opts(),
        offline_fetch(),
    );
    assert_eq!(summary.files_in, 40);
    assert_eq!(summary.units, 4);
    assert_eq!(summary.stats.rows, 40 * 6);
    assert_eq!(summary.stats.dead_letters, 40);
    let files = data_files(&out);
    let partitions: std::collections::BTreeSet<_> = read_table(&out).into_iter().map(|r| r.partition).collect();
    assert_eq!(
        files.len(),
        4 * partitions.len(),
        "one file per partition per unit, not per input file"
    );
    assert_eq!(read_dead_letters(&out).len(), 40);
    // Lineage still names the shard of each record, whichever file it came from.
    assert!(read_table(&out).iter().all(|r| r.source.starts_with("shardId-")));
}

#[test]
fn same_named_inputs_from_different_runs_never_overwrite_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(fixtures().join("envelopes/stream.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let day1 = tmp.path().join("day1");
    let day2 = tmp.path().join("day2");
    std::fs::create_dir_all(&day1).unwrap();
    std::fs::create_dir_all(&day2).unwrap();
    // Same name, same partitions, different content.
    std::fs::write(day1.join("stream.jsonl"), format!("{}\n", lines[0])).unwrap();
    std::fs::write(day2.join("stream.jsonl"), format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let out = tmp.path().join("lake");
    let a = run_replay(
        &[day1.join("stream.jsonl")],
        &out,
        None,
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    let b = run_replay(
        &[day2.join("stream.jsonl")],
        &out,
        None,
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    assert_eq!(read_table(&out).len() as u64, a.stats.rows + b.stats.rows);
    // And the same input again replaces its own files.
    run_replay(
        &[day2.join("stream.jsonl")],
        &out,
        None,
        1 << 30,
        &opts(),
        offline_fetch(),
    );
    assert_eq!(read_table(&out).len() as u64, a.stats.rows + b.stats.rows);
}

#[test]
fn a_truncated_gzip_input_keeps_what_was_read_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = stream_with_local_s3url(tmp.path());
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Enough lines that the readable prefix holds complete ones.
    for _ in 0..200 {
        enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    }
    let gz = enc.finish().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::write(inputs.join("a-truncated.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::copy(&plain, inputs.join("b-intact.jsonl")).unwrap();
    let out = tmp.path().join("lake");
    // One unit per file.
    let summary = run_replay(&[inputs], &out, None, 64, &opts(), offline_fetch());
    let dead = read_dead_letters(&out);
    let unreadable: Vec<_> = dead.iter().filter(|d| d.error_kind == "input_unreadable").collect();
    assert_eq!(unreadable.len(), 1, "{dead:?}");
    assert_eq!(unreadable[0].source, "inputs/a-truncated.jsonl.gz");
    assert!(
        unreadable[0].error.contains("a-truncated.jsonl.gz"),
        "{}",
        unreadable[0].error
    );
    let rows = read_table(&out);
    assert_eq!(
        rows.iter().filter(|r| r.source == "inputs/b-intact.jsonl").count(),
        15,
        "the next file converts"
    );
    assert!(
        rows.iter()
            .filter(|r| r.source == "inputs/a-truncated.jsonl.gz")
            .count()
            > 15,
        "the readable prefix is kept"
    );
    assert_eq!(summary.stats.rows as usize, rows.len());
}

#[test]
fn timestamps_readers_cannot_hold_become_null_and_are_kept_in_extra() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/inline_docs_spelling.json")).unwrap()).unwrap();
    // A client that sent nanoseconds, and a dataset date far beyond year 9999.
    v["kinesisSyncRecords"][0]["deviceLastModifiedDate"] = 1_700_000_000_000_000_000i64.into();
    let mut far = v.clone();
    far["lastModifiedDate"] = 300_000_000_000_000i64.into();
    let input = tmp.path().join("odd.jsonl");
    std::fs::write(&input, format!("{v}\n{far}\n")).unwrap();
    let out = tmp.path().join("lake");
    let summary = run_replay(&[input], &out, None, 1 << 30, &opts(), offline_fetch());
    assert_eq!(summary.stats.dead_letters, 0, "kept as rows, not dropped");
    let rows = read_table(&out);
    assert_eq!(rows.len(), 6);
    let first = rows
        .iter()
        .find(|r| r.sequence_number == "0" && r.sub_index == Some(0))
        .unwrap();
    assert_eq!(first.device_last_modified, None);
    let extra: serde_json::Value = serde_json::from_str(first.extra.as_deref().unwrap()).unwrap();
    assert_eq!(
        extra["out_of_range"]["kinesisSyncRecords.deviceLastModifiedDate"],
        1_700_000_000_000_000_000i64
    );
    let far_rows: Vec<_> = rows.iter().filter(|r| r.sequence_number != "0").collect();
    assert_eq!(far_rows.len(), 3);
    for r in far_rows {
        assert_eq!(
            r.partition,
            "dt=__HIVE_DEFAULT_PARTITION__/hr=__HIVE_DEFAULT_PARTITION__"
        );
        assert_eq!(r.dataset_last_modified, None);
        let extra: serde_json::Value = serde_json::from_str(r.extra.as_deref().unwrap()).unwrap();
        assert_eq!(extra["out_of_range"]["lastModifiedDate"], 300_000_000_000_000i64);
    }
}

#[test]
fn an_s3url_body_that_does_not_decode_is_kept_in_the_dead_letter() {
    let tmp = tempfile::tempdir().unwrap();
    let body = br#"{"records":[{"key":"k","value":"v","syncCount":"7"}]}"#;
    let body_path = tmp.path().join("body.json");
    std::fs::write(&body_path, body).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    v["kinesisSyncRecordsURL"] = format!("file://{}", body_path.display()).into();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, format!("{v}\n")).unwrap();
    let out = tmp.path().join("lake");
    let summary = run_replay(&[input], &out, None, 1 << 30, &opts(), offline_fetch());
    assert_eq!(summary.stats.dead_letters, 1);
    let dead = read_dead_letters(&out);
    assert_eq!(dead[0].error_kind, "fetched_body_invalid");
    assert_eq!(
        dead[0].fetched_body.as_deref(),
        Some(&body[..]),
        "the body outlives its URL"
    );
    assert!(read_dead_letters(&out).iter().all(|d| d.stage == "fetch"));
}

#[test]
fn a_symlink_loop_in_an_input_directory_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::copy(
        fixtures().join("envelopes/get_records_output.json"),
        inputs.join("a.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&inputs, inputs.join("loop")).unwrap();
    let out = tmp.path().join("lake");
    let summary = run_replay(&[inputs], &out, None, 1 << 30, &opts(), offline_fetch());
    assert_eq!(summary.files_in, 1);
    assert_eq!(summary.stats.rows, 5);
}

#[test]
fn a_rerun_that_writes_fewer_files_removes_the_earlier_runs_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream_with_local_s3url(tmp.path());
    let body = fixtures().join("s3url/records_array.json");
    // The S3Url body as a local copy we can make disappear, as an expired URL would.
    let copy = tmp.path().join("body.json");
    std::fs::copy(&body, &copy).unwrap();
    let text = std::fs::read_to_string(&input).unwrap().replace(
        &body.canonicalize().unwrap().display().to_string(),
        &copy.display().to_string(),
    );
    std::fs::write(&input, text).unwrap();
    let out = tmp.path().join("lake");
    let o = ReplayOptions {
        writer: synclake_lake::WriterOptions {
            file_rows: 2,
            ..Default::default()
        },
        ..opts()
    };
    let first = run_replay(std::slice::from_ref(&input), &out, None, 1 << 30, &o, offline_fetch());
    assert_eq!(first.stats.rows, 15);
    assert_eq!(read_table(&out).len(), 15);
    std::fs::remove_file(&copy).unwrap();
    let second = run_replay(std::slice::from_ref(&input), &out, None, 1 << 30, &o, offline_fetch());
    assert_eq!(second.stats.rows, 10);
    assert!(
        second.replaced_removed > 0,
        "the earlier run's extra files were removed"
    );
    assert_eq!(read_table(&out).len(), 10, "the table holds exactly this run's rows");
    assert_eq!(read_dead_letters(&out).len(), 1);
}

#[test]
fn a_partition_value_too_long_for_a_directory_name_goes_to_the_null_partition() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/colon_dataset.json")).unwrap()).unwrap();
    let name = ":".repeat(128); // valid: 1..128 of [a-zA-Z0-9_.:-]; escapes to 384 bytes
    v["dataSetName"] = name.clone().into();
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, format!("{v}\n")).unwrap();
    let out = tmp.path().join("lake");
    let o = ReplayOptions {
        partition: "dataset_name".parse().unwrap(),
        ..opts()
    };
    let summary = run_replay(&[input], &out, None, 1 << 30, &o, offline_fetch());
    assert_eq!(summary.stats.rows, 2);
    let rows = read_table(&out);
    assert!(
        rows.iter()
            .all(|r| r.partition == "dataset_name=__HIVE_DEFAULT_PARTITION__")
    );
    assert!(
        rows.iter().all(|r| r.dataset_name == name),
        "the column keeps the true value"
    );
}

#[test]
fn one_bad_record_of_a_document_is_one_dead_letter_and_the_rest_converts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut get: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("envelopes/get_records_output.json")).unwrap()).unwrap();
    get["Records"][1]["Data"] = "not base64!".into();
    let bad_seq = get["Records"][1]["SequenceNumber"].as_str().unwrap().to_owned();
    let mut lambda: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("envelopes/lambda_kinesis_event.json")).unwrap())
            .unwrap();
    lambda["Records"][0]["kinesis"]["data"] = "%%%".into();
    let inputs = tmp.path().join("docs");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::write(inputs.join("get.json"), get.to_string()).unwrap();
    std::fs::write(inputs.join("lambda.json"), lambda.to_string()).unwrap();
    let out = tmp.path().join("lake");
    let summary = run_replay(&[inputs], &out, None, 1 << 30, &opts(), offline_fetch());
    // get-records: 5 rows less the bad record's 2; Lambda: 6 rows less the bad record's 3.
    assert_eq!(summary.stats.rows, 3 + 3);
    let dead = read_dead_letters(&out);
    let get_dead = dead.iter().find(|d| d.error_kind == "invalid_base64").unwrap();
    assert_eq!(get_dead.sequence_number, bad_seq);
    assert_eq!(get_dead.raw, b"not base64!");
    let lambda_dead = dead
        .iter()
        .find(|d| d.source == "shardId-000000000000" && d.stage == "envelope")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&lambda_dead.raw).contains("%%%"),
        "the record's JSON is kept"
    );
    // The fixture's own bad record (valid base64 of bad JSON) is still a decode dead letter.
    assert_eq!(dead.len(), 3);
}
