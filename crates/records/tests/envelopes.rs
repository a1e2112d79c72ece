//! Format detection and the Lambda / `get-records` envelopes, against the fixtures.
#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;

use common::fixture;
use serde_json::{Value, json};
use synclake_records::envelope::{get_records_records, lambda_event_records, shard_of_event_id};
use synclake_records::{DecodeError, InputFormat, Lineage, Position, SourceRecord, decode_payload, detect_format};

fn first_line(data: &[u8]) -> &[u8] {
    &data[..data.iter().position(|&b| b == b'\n').map_or(data.len(), |i| i + 1)]
}

#[test]
fn detects_each_envelope_format() {
    let stream = fixture("envelopes/stream.jsonl");
    assert_eq!(detect_format(&stream, true), Some(InputFormat::JsonLines));
    assert_eq!(detect_format(first_line(&stream), false), Some(InputFormat::JsonLines));

    let lambda = fixture("envelopes/lambda_kinesis_event.json");
    assert_eq!(detect_format(&lambda, true), Some(InputFormat::LambdaEvent));
    // Pretty-printed: the first line alone is not a document.
    assert_eq!(detect_format(&lambda[..200], false), None);

    for file in ["get_records_output.json", "get_records_output_iso.json"] {
        let doc = fixture(&format!("envelopes/{file}"));
        assert_eq!(detect_format(&doc, true), Some(InputFormat::GetRecords), "{file}");
        assert_eq!(detect_format(&doc[..200], false), None, "{file}");
    }
}

#[test]
fn detects_a_pretty_printed_payload_only_when_whole() {
    let pretty = fixture("payloads/inline_docs_spelling.json");
    assert!(pretty.starts_with(b"{\n"));
    assert_eq!(detect_format(&pretty, true), Some(InputFormat::Payload));
    assert_eq!(detect_format(&pretty[..100], false), None);
    // The same payload compacted onto one line reads as JSON Lines.
    let v: Value = serde_json::from_slice(&pretty).unwrap();
    let compact = serde_json::to_vec(&v).unwrap();
    assert_eq!(detect_format(&compact, false), Some(InputFormat::JsonLines));
}

#[test]
fn detects_compact_envelopes_from_the_first_line() {
    let v: Value = serde_json::from_slice(&fixture("envelopes/lambda_kinesis_event.json")).unwrap();
    let line = serde_json::to_vec(&v).unwrap();
    assert_eq!(detect_format(&line, false), Some(InputFormat::LambdaEvent));
    let v: Value = serde_json::from_slice(&fixture("envelopes/get_records_output.json")).unwrap();
    let line = serde_json::to_vec(&v).unwrap();
    assert_eq!(detect_format(&line, false), Some(InputFormat::GetRecords));
}

#[test]
fn detect_format_edge_cases() {
    // Nothing to read: an empty JSON Lines file.
    assert_eq!(detect_format(b"", true), Some(InputFormat::JsonLines));
    assert_eq!(detect_format(b"\n  \n", true), Some(InputFormat::JsonLines));
    // Leading blank lines are skipped before looking.
    assert_eq!(detect_format(b"\n\n{\"a\":1}\n", false), Some(InputFormat::JsonLines));
    // Garbage read whole: lines, each of which will be a dead letter.
    assert_eq!(detect_format(b"not json\n", true), Some(InputFormat::JsonLines));
    assert_eq!(detect_format(b"{\n", false), None);
    // An empty Records array is still an envelope.
    assert_eq!(detect_format(b"{\"Records\":[]}", true), Some(InputFormat::LambdaEvent));
    assert!(InputFormat::LambdaEvent.is_document() && !InputFormat::JsonLines.is_document());
    assert_eq!(
        [
            InputFormat::JsonLines,
            InputFormat::LambdaEvent,
            InputFormat::GetRecords,
            InputFormat::Payload
        ]
        .map(InputFormat::name),
        ["jsonl", "lambda-event", "get-records", "payload"]
    );
}

/// Asserts that `data` is the same payload as the (pretty-printed) fixture `rel`.
fn assert_same_payload(data: &[u8], rel: &str) {
    assert!(!data.contains(&b'\n'), "{rel}: the Kinesis data is the compact form");
    let pretty = fixture(rel);
    assert_eq!(decode_payload(data).unwrap(), decode_payload(&pretty).unwrap(), "{rel}");
}

fn lineage_of<'r>(r: &'r SourceRecord<'_>) -> (&'r str, &'r str, Option<i64>) {
    let Position::Sequence(seq) = &r.lineage.position else {
        panic!("not a sequence number: {:?}", r.lineage.position)
    };
    (r.lineage.source.as_ref(), seq.as_ref(), r.lineage.arrival_ms)
}

#[test]
fn lambda_event_records_carry_shard_sequence_and_arrival() {
    let records = lambda_event_records(&fixture("envelopes/lambda_kinesis_event.json")).unwrap();
    assert_eq!(records.len(), 4);
    let lineage: Vec<_> = records.iter().map(lineage_of).collect();
    // Record 3's arrival is checked in `lambda_arrival_keeps_trailing_zero_milliseconds`.
    assert_eq!(
        lineage[..3],
        [
            (
                "shardId-000000000000",
                "49654198871431283376925146301857127409428339524738760706",
                Some(1741944097689)
            ),
            (
                "shardId-000000000000",
                "49654198871431283376925146301858336335247954153913466882",
                Some(1741965901902)
            ),
            (
                "shardId-000000000001",
                "49654198871453584122123676924998663127700987886244642834",
                Some(1741950313051)
            ),
        ]
    );
    assert_eq!(
        (lineage[3].0, lineage[3].1),
        (
            "shardId-000000000001",
            "49654198871453584122123676925000872053520602515419349010"
        )
    );
    // `data` is the compact payload, already base64-decoded.
    assert_same_payload(&records[0].data, "payloads/inline_docs_spelling.json");
    assert_same_payload(&records[1].data, "payloads/recordless_null.json");
    assert_same_payload(&records[2].data, "payloads/inline_sample_spelling.json");
    // The fourth is a payload cut inside a string: it decodes to a dead letter, not a panic.
    assert!(records[3].data.ends_with(br#""operation":"rep"#));
    let err = decode_payload(&records[3].data).unwrap_err();
    assert!(err.to_string().contains("EOF while parsing a string"), "{err}");
    let decoded: Vec<bool> = records.iter().map(|r| decode_payload(&r.data).is_ok()).collect();
    assert_eq!(decoded, [true, true, true, false]);
}

/// The fixture's fourth record arrived at 1741970112.210 s; JSON writers drop the trailing zero
/// (`1741970112.21`), which must still mean 210 ms.
///
/// Fails today: `aws_lambda_events` 1.2.1 (`SecondTimestamp`, `normalize_timestamp`) reads the
/// digits after the point as an integer count of milliseconds, so `.21` becomes 21 ms and
/// `1741970112021` comes out. Every arrival whose millisecond count ends in 0 is affected.
#[test]
fn lambda_arrival_keeps_trailing_zero_milliseconds() {
    let doc = fixture("envelopes/lambda_kinesis_event.json");
    assert!(String::from_utf8_lossy(&doc).contains("\"approximateArrivalTimestamp\": 1741970112.21\n"));
    let records = lambda_event_records(&doc).unwrap();
    assert_eq!(records[3].lineage.arrival_ms, Some(1741970112210));
}

#[test]
fn lambda_arrival_is_found_when_a_partition_key_spells_its_name() {
    // The partition key comes first and is the field's name: a quoted match that is a value.
    let doc = r#"{"Records":[{"kinesis":{"partitionKey":"approximateArrivalTimestamp",
        "kinesisSchemaVersion":"1.0","sequenceNumber":"1","data":"e30=",
        "approximateArrivalTimestamp":1545084650.25},"eventSource":"aws:kinesis",
        "eventID":"shardId-000000000000:1"}]}"#;
    let records = lambda_event_records(doc.as_bytes()).unwrap();
    assert_eq!(records[0].lineage.arrival_ms, Some(1_545_084_650_250));
}

#[test]
fn lambda_event_id_gives_the_shard() {
    assert_eq!(
        shard_of_event_id(Some("shardId-000000000001:4965")),
        Some("shardId-000000000001")
    );
    assert_eq!(shard_of_event_id(Some(":4965")), None);
    assert_eq!(shard_of_event_id(Some("no-colon")), None);
    assert_eq!(shard_of_event_id(None), None);
}

const GET_RECORDS_SEQS: [&str; 3] = [
    "49654198871431283376925146301859545261067568783088173058",
    "49654198871431283376925146301860754186887183412262879234",
    "49654198871431283376925146301861963112706798041437585410",
];
const GET_RECORDS_ARRIVALS: [i64; 3] = [1742055902571, 1742051470733, 1741970048446];

#[test]
fn get_records_in_both_timestamp_forms() {
    let mut all = Vec::new();
    for file in ["get_records_output.json", "get_records_output_iso.json"] {
        let doc = fixture(&format!("envelopes/{file}"));
        let name = format!("saved/{file}");
        let records = get_records_records(&doc, &name).unwrap();
        assert_eq!(records.len(), 3, "{file}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(
                r.lineage,
                Lineage {
                    source: Cow::Borrowed(name.as_str()),
                    position: Position::Sequence(Cow::Borrowed(GET_RECORDS_SEQS[i])),
                    arrival_ms: Some(GET_RECORDS_ARRIVALS[i]),
                },
                "{file} record {i}"
            );
            assert!(
                matches!(r.lineage.source, Cow::Borrowed(_)),
                "source is the caller's name, borrowed"
            );
        }
        assert_same_payload(&records[0].data, "payloads/device_date_absent.json");
        assert_same_payload(&records[1].data, "payloads/colon_dataset.json");
        assert_same_payload(&records[2].data, "payloads/recordless_empty.json");
        let datasets: Vec<String> = records
            .iter()
            .map(|r| decode_payload(&r.data).unwrap().dataset_name.as_str().to_owned())
            .collect();
        assert_eq!(datasets, ["legacy_client", "ui:layout.v2", "tutorial_flags"], "{file}");
        all.push(
            records
                .into_iter()
                .map(|r| (r.data.into_owned(), r.lineage.arrival_ms))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        all[0], all[1],
        "epoch seconds and ISO 8601 give the same records and arrival times"
    );
}

#[test]
fn get_records_timestamp_forms() {
    let doc = |ts: Value| {
        serde_json::to_vec(
            &json!({"Records": [{"SequenceNumber": "1", "Data": "e30=", "ApproximateArrivalTimestamp": ts}]}),
        )
        .unwrap()
    };
    for (ts, expected) in [
        (json!(1424801824.343), Some(1424801824343)),
        (json!(1424801824), Some(1424801824000)),
        (json!("2015-02-24T18:17:04.343000+00:00"), Some(1424801824343)),
        (json!("2015-02-24T18:17:04.343Z"), Some(1424801824343)),
        (json!("2015-02-24T19:17:04.343+01:00"), Some(1424801824343)),
        (json!(null), None),
    ] {
        let records = get_records_records(&doc(ts.clone()), "f").unwrap();
        assert_eq!(records[0].lineage.arrival_ms, expected, "{ts}");
        assert_eq!(*records[0].data, *b"{}");
    }
}

#[test]
fn get_records_bad_base64_names_the_record() {
    let doc = br#"{"Records":[{"SequenceNumber":"1","Data":"e30="},{"SequenceNumber":"2","Data":"not base64!"}]}"#;
    let err = get_records_records(doc, "f").unwrap_err();
    assert!(matches!(err, DecodeError::Base64 { index: 1, .. }), "{err:?}");
    assert_eq!(err.kind(), "invalid_base64");
    assert_eq!(
        err.to_string(),
        "record 1 of a get-records document: invalid base64 Data: Invalid symbol 32, offset 3."
    );
}

#[test]
fn invalid_envelope_documents_are_envelope_errors() {
    let err = lambda_event_records(br#"{"Records": 5}"#).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Envelope {
                format: "Lambda Kinesis event",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "invalid_envelope");
    assert_eq!(
        err.to_string(),
        "invalid Lambda Kinesis event document: invalid type: integer `5`, expected a sequence at line 1 column 13"
    );
    let err = lambda_event_records(b"{\"Records\": [").unwrap_err();
    assert!(matches!(err, DecodeError::Envelope { .. }), "{err:?}");

    let err = get_records_records(b"[]", "f").unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Envelope {
                format: "get-records output",
                ..
            }
        ),
        "{err:?}"
    );
    let err = get_records_records(br#"{"Records":[{"SequenceNumber":"1"}]}"#, "f").unwrap_err();
    assert!(matches!(err, DecodeError::Envelope { .. }), "{err:?}");
    assert!(err.to_string().contains("missing field `Data`"), "{err}");
    // A Lambda document is not a get-records document.
    let err = get_records_records(&fixture("envelopes/lambda_kinesis_event.json"), "f").unwrap_err();
    assert!(
        err.to_string().starts_with("invalid get-records output document: "),
        "{err}"
    );
}

#[test]
fn json_lines_fixture_lines_decode() {
    let stream = fixture("envelopes/stream.jsonl");
    let lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 8, "7 lines and a final newline");
    assert_eq!(lines[7], b"");
    let datasets: Vec<Option<String>> = lines[..7]
        .iter()
        .map(|l| (!l.is_empty()).then(|| decode_payload(l).unwrap().dataset_name.as_str().to_owned()))
        .collect();
    assert_eq!(
        datasets,
        [
            Some("game_state"),
            Some("old_profile"),
            Some("preferences"),
            None,
            Some("level_editor"),
            Some("inventory"),
            Some("settings"),
        ]
        .map(|d| d.map(str::to_owned))
    );
}
