//! Properties that must always hold: every input record lands in exactly one row of exactly
//! one partition, none is invented, however the input is split into units and chunks.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use synclake_lake::{PartitionSpec, ReplayOptions, WriterOptions};
use synclake_records::InputFormat;
use synclake_testkit::replay::{offline_fetch, run_replay};
use synclake_testkit::table::read_table;

#[derive(Debug, Clone)]
struct Rec {
    key: String,
    value: Option<String>,
    sync: i64,
}

#[derive(Debug, Clone)]
struct Pay {
    pool: usize,
    dataset: String,
    modified: i64,
    records: Vec<Rec>,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        "[a-z][a-z0-9_.:-]{0,12}",
        proptest::option::of(any::<String>()),
        0i64..1_000_000,
    )
        .prop_map(|(key, value, sync)| Rec { key, value, sync })
}

fn pay() -> impl Strategy<Value = Pay> {
    (
        0usize..3,
        "[a-zA-Z0-9_.:-]{1,20}",
        1_400_000_000_000i64..1_400_300_000_000,
        prop::collection::vec(rec(), 0..6),
    )
        .prop_map(|(pool, dataset, modified, records)| Pay {
            pool,
            dataset,
            modified,
            records,
        })
}

fn to_json(p: &Pay, i: usize) -> String {
    let records: Vec<_> = p
        .records
        .iter()
        .map(|r| serde_json::json!({"key": r.key, "value": r.value, "syncCount": r.sync, "op": "replace", "lastModifiedDate": p.modified}))
        .collect();
    serde_json::json!({
        "identityPoolId": format!("us-east-1:0000000{}-0000-4000-8000-000000000000", p.pool),
        "identityId": format!("us-east-1:{:08x}-0000-4000-8000-000000000000", i),
        "dataSetName": p.dataset,
        "operation": "replace",
        "kinesisSyncRecords": records,
        "lastModifiedDate": p.modified,
        "payloadType": "Inline",
        "syncCount": 1
    })
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_record_lands_in_exactly_one_row_of_its_partition(
        payloads in prop::collection::vec(pay(), 1..60),
        unit in 200u64..5000,
        chunk in 64usize..4096,
        by_dataset in any::<bool>(),
        batch_rows in 1usize..50,
        buffer_bytes in 500usize..50_000,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in.jsonl");
        let mut text = String::new();
        let mut offsets = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            offsets.push(text.len());
            text.push_str(&to_json(p, i));
            text.push('\n');
        }
        std::fs::write(&input, &text).unwrap();
        let spec: PartitionSpec = if by_dataset { "dataset_name,dt".parse().unwrap() } else { PartitionSpec::default() };
        let opts = ReplayOptions {
            partition: spec.clone(),
            workers: 2,
            chunk_bytes: chunk,
            max_line_bytes: 1 << 20,
            batch_rows,
            buffer_bytes,
            writer: WriterOptions { row_group_rows: 7, file_rows: 13, max_open_files: 3, ..WriterOptions::default() },
            ..ReplayOptions::default()
        };
        let out = tmp.path().join("lake");
        let summary = run_replay(&[input], &out, Some(InputFormat::JsonLines), unit, &opts, offline_fetch());
        prop_assert_eq!(summary.stats.dead_letters, 0);
        let rows = read_table(&out);
        // Expected: one row per record (or one null row), keyed by (offset, sub_index).
        let mut want = BTreeMap::new();
        for (i, p) in payloads.iter().enumerate() {
            let t = chrono::DateTime::from_timestamp_millis(p.modified).unwrap();
            let mut part = String::new();
            if by_dataset {
                part.push_str("dataset_name=");
                synclake_lake::partition::push_escaped(&mut part, &p.dataset);
                part.push('/');
            }
            part.push_str(&t.format("dt=%Y-%m-%d").to_string());
            if !by_dataset {
                part.push_str(&t.format("/hr=%H").to_string());
            }
            if p.records.is_empty() {
                want.insert((offsets[i].to_string(), None), (part.clone(), None, None));
            }
            for (j, r) in p.records.iter().enumerate() {
                want.insert((offsets[i].to_string(), Some(j as i32)), (part.clone(), Some(r.key.clone()), r.value.clone()));
            }
        }
        let mut got = BTreeMap::new();
        for r in rows {
            let prev = got.insert((r.sequence_number.clone(), r.sub_index), (r.partition.clone(), r.key.clone(), r.value.clone()));
            prop_assert!(prev.is_none(), "duplicate row {:?}", (r.sequence_number, r.sub_index));
        }
        prop_assert_eq!(got, want);
    }
}
