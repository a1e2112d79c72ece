//! `synclake demo`: the whole system in one command, with no server to install.
#![allow(clippy::unwrap_used)]

mod common;

use common::synclake;
use synclake_testkit::table::{read_dead_letters, read_table};

#[test]
fn the_demo_runs_the_whole_system_into_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let work = dir.path().join("work");
    let run = synclake(&[
        "demo",
        "--identities",
        "3",
        "--rounds",
        "9",
        "--out",
        out.to_str().unwrap(),
        "--work",
        work.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{text}");
    assert!(text.contains("bulk publish: SUCCEEDED"), "{text}");
    let conflicts: u64 = text
        .split(" conflicts resolved")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        conflicts > 0,
        "two devices of one identity met a stale sync count: {text}"
    );
    assert!(
        text.contains("syncs refused by the Sync Trigger") && !text.contains(" 0 syncs refused"),
        "{text}"
    );
    let rows = read_table(&out);
    assert!(rows.len() > 100, "{} rows", rows.len());
    assert!(read_dead_letters(&out).is_empty());
    // The dataset deleted mid-run is in the table as a record-less removal.
    assert!(rows.iter().any(|r| r.dataset_name == "scratch-demo"
        && r.dataset_operation.as_deref() == Some("remove")
        && r.key.is_none()));
    // Removals reached the table as rows of op remove without a value.
    assert!(
        rows.iter()
            .any(|r| r.op.as_deref() == Some("remove") && r.value.is_none() && r.key.is_some())
    );
    // The refused value never reached the table.
    assert!(!rows.iter().any(|r| r.value.as_deref() == Some("over 9000")));
    // The configuration it wrote starts the service on its own.
    assert!(
        std::fs::read_to_string(work.join("local.toml"))
            .unwrap()
            .contains("[[identities]]")
    );
}
