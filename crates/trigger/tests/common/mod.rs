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

/// A JSON object's entries in order, duplicates kept, values raw (a lone surrogate escape is
/// fine): what `serde_json::Value` would hide (it keeps the last of duplicate keys).
pub struct Entries(pub Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    v.push(entry);
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The response's `datasetRecords`: each record's key and its fields, in order, duplicates kept.
pub fn raw_records(d: &Decision) -> Vec<(String, Vec<(String, String)>)> {
    let response = d
        .response()
        .unwrap_or_else(|| panic!("expected accept, got {:?}", d.verdict));
    let top: Entries = serde_json::from_slice(response).unwrap();
    let recs = top
        .0
        .iter()
        .find(|(k, _)| k == "datasetRecords")
        .map(|(_, v)| v.get().to_owned())
        .unwrap();
    let recs: Entries = serde_json::from_str(&recs).unwrap();
    recs.0
        .into_iter()
        .map(|(k, v)| {
            let fields: Entries = serde_json::from_str(v.get()).unwrap();
            (
                k,
                fields.0.into_iter().map(|(f, raw)| (f, raw.get().to_owned())).collect(),
            )
        })
        .collect()
}

/// Asserts that no key appears twice in the response's `datasetRecords`; returns the keys.
pub fn unique_keys(d: &Decision) -> Vec<String> {
    let keys: Vec<String> = raw_records(d).into_iter().map(|(k, _)| k).collect();
    let mut seen = std::collections::HashSet::new();
    for k in &keys {
        assert!(seen.insert(k), "key {k:?} appears twice in datasetRecords: {keys:?}");
    }
    keys
}
