//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::{Value, json};
use synclake_trigger::{Decision, Format, RuleSet};

/// `fixtures/trigger/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/trigger")
        .join(rel)
}

/// Reads a fixture.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// Compiles TOML rules or panics with the lint errors.
pub fn rules(toml: &str) -> RuleSet {
    RuleSet::parse(toml, Format::Toml).unwrap_or_else(|e| panic!("{e}"))
}

/// An event for pool `us-east-1:p`, dataset `name`, with `records` as given (a JSON object).
pub fn event(dataset: &str, records: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": 2,
        "eventType": "SyncTrigger",
        "region": "us-east-1",
        "identityPoolId": "us-east-1:p",
        "identityId": "us-east-1:i",
        "datasetName": dataset,
        "datasetRecords": records,
    }))
    .unwrap()
}

/// The response's `datasetRecords`, parsed.
pub fn records(d: &Decision) -> serde_json::Map<String, Value> {
    let response = d
        .response()
        .unwrap_or_else(|| panic!("expected accept, got {:?}", d.verdict));
    let v: Value = serde_json::from_slice(response).unwrap();
    v["datasetRecords"].as_object().unwrap().clone()
}
