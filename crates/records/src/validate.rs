//! Identifier and limit checks (`docs/cognito-sync-formats.md` §1 and §4), separate from decoding.
//!
//! Decoding accepts anything well-typed so that nothing is lost; these checks report what a
//! real Cognito Sync would not have produced (a forged or corrupted payload) without dropping
//! it. Callers count and log violations.

use std::fmt;

use crate::payload::{Payload, SyncRecord};

/// Longest identity pool id or identity id.
pub const MAX_ID_CHARS: usize = 55;
/// Longest dataset name.
pub const MAX_DATASET_NAME_CHARS: usize = 128;
/// Longest record key.
pub const MAX_KEY_CHARS: usize = 1024;
/// Longest record value.
pub const MAX_VALUE_CHARS: usize = 1_048_575;
/// Most records a dataset may hold (default limit).
pub const MAX_RECORDS: usize = 1024;
/// Earliest timestamp a table can hold: 0001-01-01T00:00:00Z, in epoch milliseconds.
pub const TIMESTAMP_MIN_MS: i64 = -62_135_596_800_000;
/// Latest timestamp a table can hold: 9999-12-31T23:59:59.999Z, in epoch milliseconds.
pub const TIMESTAMP_MAX_MS: i64 = 253_402_300_799_999;

/// Whether an epoch-milliseconds timestamp lies in years 1..=9999 (a value beyond, such as a
/// date sent in nanoseconds, is no time the service wrote).
pub fn timestamp_ok(ms: i64) -> bool {
    (TIMESTAMP_MIN_MS..=TIMESTAMP_MAX_MS).contains(&ms)
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The wire name of the field (`kinesisSyncRecords[3].key` style when inside a record).
    pub field: String,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// Whether every byte of `s` passes `ok`: a fold without early exit, which the compiler
/// turns into vector code (this runs on every payload).
fn all_bytes(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    s.bytes().fold(true, |all, b| all & ok(b))
}

fn is_id(s: &str) -> bool {
    // `[\w-]+:[0-9a-f-]+`
    let Some((region, guid)) = s.split_once(':') else {
        return false;
    };
    // `\w` as in the service's (Java) pattern: ASCII word characters.
    !region.is_empty()
        && all_bytes(region, |b| b.is_ascii_alphanumeric() | (b == b'_') | (b == b'-'))
        && !guid.is_empty()
        && all_bytes(guid, |b| b.is_ascii_digit() | (b'a'..=b'f').contains(&b) | (b == b'-'))
}

fn is_dataset_name(s: &str) -> bool {
    all_bytes(s, |b| {
        b.is_ascii_alphanumeric() | (b == b'_') | (b == b'.') | (b == b':') | (b == b'-')
    })
}

/// Checks a decoded payload (its inline records, and `fetched`, the records behind its S3
/// URL) against the service's identifier patterns and limits.
pub fn validate(payload: &Payload<'_>, fetched: &[SyncRecord<'_>]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut flag = |field: String, rule| out.push(Violation { field, rule });
    for (field, id) in [
        ("identityPoolId", &payload.identity_pool_id),
        ("identityId", &payload.identity_id),
    ] {
        let id = id.as_str();
        // Byte length bounds the character count: count characters only when it might matter.
        if id.len() > MAX_ID_CHARS && id.chars().count() > MAX_ID_CHARS {
            flag(field.into(), "longer than 55 characters");
        }
        if !is_id(id) {
            flag(field.into(), "not of the form region:GUID");
        }
    }
    let name = payload.dataset_name.as_str();
    if name.is_empty() || name.len() > MAX_DATASET_NAME_CHARS {
        flag("dataSetName".into(), "not 1..128 bytes");
    }
    if !is_dataset_name(name) {
        flag("dataSetName".into(), "characters outside [a-zA-Z0-9_.:-]");
    }
    if payload.sync_count.is_some_and(|c| c < 0) {
        flag("syncCount".into(), "negative");
    }
    if payload.last_modified.is_some_and(|t| !timestamp_ok(t)) {
        flag("lastModifiedDate".into(), "outside years 1-9999");
    }
    let count = payload.records.len() + fetched.len();
    if count > MAX_RECORDS {
        flag("kinesisSyncRecords".into(), "more than 1024 records");
    }
    for (i, r) in payload.records.iter().chain(fetched).enumerate() {
        let key = r.key.as_str();
        if key.is_empty() || (key.len() > MAX_KEY_CHARS && key.chars().count() > MAX_KEY_CHARS) {
            flag(format!("kinesisSyncRecords[{i}].key"), "not 1..1024 characters");
        }
        if r.value
            .as_ref()
            .is_some_and(|v| v.as_str().len() > MAX_VALUE_CHARS && v.as_str().chars().count() > MAX_VALUE_CHARS)
        {
            flag(
                format!("kinesisSyncRecords[{i}].value"),
                "longer than 1,048,575 characters",
            );
        }
        if r.sync_count.is_some_and(|c| c < 0) {
            flag(format!("kinesisSyncRecords[{i}].syncCount"), "negative");
        }
        if r.last_modified.is_some_and(|t| !timestamp_ok(t)) {
            flag(
                format!("kinesisSyncRecords[{i}].lastModifiedDate"),
                "outside years 1-9999",
            );
        }
        if r.device_last_modified.is_some_and(|t| !timestamp_ok(t)) {
            flag(
                format!("kinesisSyncRecords[{i}].deviceLastModifiedDate"),
                "outside years 1-9999",
            );
        }
    }
    out
}
