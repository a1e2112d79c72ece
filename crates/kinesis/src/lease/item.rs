//! A lease as a DynamoDB item, and back.
//!
//! The attribute names follow the Kinesis Client Library's lease table where the meaning is
//! the same (`leaseKey`, `leaseOwner`, `leaseCounter`, `checkpoint`,
//! `checkpointSubSequenceNumber`, `ownerSwitchesSinceCheckpoint`, `parentShardId`); what KCL
//! has no field for is prefixed `synclake`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::checkpoint::{PendingFlush, ShardState, StartPoint};

/// The table's hash key: the shard id.
pub const KEY: &str = "leaseKey";
/// The worker holding the lease; absent when free.
pub const OWNER: &str = "leaseOwner";
/// Raised by every change of ownership and every heartbeat: the fencing token.
pub const COUNTER: &str = "leaseCounter";
/// A sequence number, or `SHARD_END`, `TRIM_HORIZON`, `AT_TIMESTAMP` (KCL's sentinels).
pub const CHECKPOINT: &str = "checkpoint";
/// Always 0: Cognito Streams records are not aggregated.
pub const SUB_SEQUENCE: &str = "checkpointSubSequenceNumber";
/// Ownership changes since the last checkpoint save.
pub const OWNER_SWITCHES: &str = "ownerSwitchesSinceCheckpoint";
/// The shard's parents (string set; absent when none).
pub const PARENTS: &str = "parentShardId";
/// The pending flush (JSON of [`PendingFlush`]): files to delete before reading on.
pub const PENDING: &str = "synclakePending";
/// Where reading began, before the first checkpoint (JSON of [`StartPoint`]).
pub const START: &str = "synclakeStart";
/// A worker that asked the owner to hand the lease over.
pub const HANDOFF: &str = "synclakeHandoffTo";
/// The checkpoint when the lease was last taken (`""` for none): where its holders since began.
pub const TAKEN_FROM: &str = "synclakeTakenFrom";
/// The counter the last take set: which holding took it last.
pub const TAKEN_EPOCH: &str = "synclakeTakenEpoch";

/// The key of the item binding the table to one stream, output and state identity. A shard id
/// never contains `:`, so it cannot be a lease.
pub const META_KEY: &str = "synclake:stream";

/// KCL's checkpoint of a shard read to its end.
pub const SHARD_END: &str = "SHARD_END";
const TRIM_HORIZON: &str = "TRIM_HORIZON";
const AT_TIMESTAMP: &str = "AT_TIMESTAMP";

/// One shard's lease as read from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The shard id.
    pub shard: String,
    /// The worker holding it, if any.
    pub owner: Option<String>,
    /// The fencing counter.
    pub counter: u64,
    /// The shard's progress.
    pub state: ShardState,
    /// The shard's parents.
    pub parents: Vec<String>,
    /// A worker that asked for it.
    pub handoff_to: Option<String>,
    /// The checkpoint when it was last taken (`Some("")`: none yet).
    pub taken_from: Option<String>,
    /// The counter that take set (the taking holding's epoch).
    pub taken_epoch: Option<u64>,
}

/// An item that is not a lease this program writes.
#[derive(Debug, thiserror::Error)]
#[error("lease item {key}: {reason}")]
pub struct BadItem {
    /// Its key, or `?`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl Lease {
    /// Reads an item (`None` for the meta item).
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Option<Lease>, BadItem> {
        let key = string(item, KEY).ok_or_else(|| BadItem {
            key: "?".into(),
            reason: format!("no {KEY}"),
        })?;
        if key == META_KEY {
            return Ok(None);
        }
        let bad = |reason: String| BadItem {
            key: key.clone(),
            reason,
        };
        let counter = match item.get(COUNTER) {
            None => 0,
            Some(_) => number(item, COUNTER).ok_or_else(|| bad(format!("{COUNTER} is not a count")))?,
        };
        let mut state = ShardState::default();
        match string(item, CHECKPOINT).as_deref() {
            None | Some(TRIM_HORIZON | AT_TIMESTAMP) => {}
            Some(SHARD_END) => state.finished = true,
            Some(seq) if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) => {
                state.checkpoint = Some(seq.to_owned())
            }
            Some(other) => return Err(bad(format!("checkpoint `{other}` is not a sequence number"))),
        }
        if let Some(json) = string(item, PENDING) {
            let pending: PendingFlush =
                serde_json::from_str(&json).map_err(|e| bad(format!("{PENDING} is not a pending flush: {e}")))?;
            state.pending = Some(pending);
        }
        if let Some(json) = string(item, START) {
            let start: StartPoint =
                serde_json::from_str(&json).map_err(|e| bad(format!("{START} is not a start point: {e}")))?;
            state.start = Some(start);
        }
        let parents = match item.get(PARENTS) {
            Some(AttributeValue::Ss(set)) => {
                let mut set = set.clone();
                set.sort();
                set
            }
            _ => Vec::new(),
        };
        Ok(Some(Lease {
            owner: string(item, OWNER),
            counter,
            state,
            parents,
            handoff_to: string(item, HANDOFF),
            taken_from: string(item, TAKEN_FROM),
            taken_epoch: number(item, TAKEN_EPOCH),
            shard: key,
        }))
    }
}

/// The attribute names `state_update` refers to (each is in its `SET` or its `REMOVE`).
pub const STATE_NAMES: [(&str, &str); 5] = [
    ("#cp", CHECKPOINT),
    ("#sub", SUB_SEQUENCE),
    ("#switches", OWNER_SWITCHES),
    ("#pending", PENDING),
    ("#start", START),
];

/// The `SET` assignments and `REMOVE` names that write `state` into a lease, with their
/// values (`:cp`, `:zero`, `:pending`, `:start`); names as in [`STATE_NAMES`].
pub fn state_update(
    state: &ShardState,
) -> (
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<(&'static str, AttributeValue)>,
) {
    let mut set = vec!["#sub = :zero", "#switches = :zero"];
    let mut remove = Vec::new();
    let mut values = vec![(":zero", AttributeValue::N("0".into()))];
    let checkpoint = if state.finished {
        Some(SHARD_END.to_owned())
    } else if let Some(seq) = &state.checkpoint {
        Some(seq.clone())
    } else {
        match state.start {
            Some(StartPoint::TrimHorizon) => Some(TRIM_HORIZON.to_owned()),
            Some(StartPoint::AtTimestampMs(_)) => Some(AT_TIMESTAMP.to_owned()),
            None => None,
        }
    };
    match checkpoint {
        Some(cp) => {
            set.push("#cp = :cp");
            values.push((":cp", AttributeValue::S(cp)));
        }
        None => remove.push("#cp"),
    }
    match state.pending.as_ref().and_then(|p| serde_json::to_string(p).ok()) {
        Some(json) => {
            set.push("#pending = :pending");
            values.push((":pending", AttributeValue::S(json)));
        }
        None => remove.push("#pending"),
    }
    match state.start.and_then(|s| serde_json::to_string(&s).ok()) {
        Some(json) => {
            set.push("#start = :start");
            values.push((":start", AttributeValue::S(json)));
        }
        None => remove.push("#start"),
    }
    (set, remove, values)
}

/// An `UpdateExpression` from `SET` assignments and `REMOVE` names.
pub fn update_expression(set: &[&str], remove: &[&str]) -> String {
    let mut out = String::new();
    if !set.is_empty() {
        out.push_str("SET ");
        out.push_str(&set.join(", "));
    }
    if !remove.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("REMOVE ");
        out.push_str(&remove.join(", "));
    }
    out
}

/// Whether sequence number `a` is at or after `b` (both of one shard: decimal strings of any
/// length, without leading zeros).
pub fn at_or_after(a: &str, b: &str) -> bool {
    (a.len(), a) >= (b.len(), b)
}

/// A number attribute that parses as `T`.
pub fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// A string attribute.
pub fn string(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The item `save` would leave, applied to an empty item.
    fn apply(state: &ShardState) -> HashMap<String, AttributeValue> {
        let (set, _remove, values) = state_update(state);
        let values: HashMap<&str, AttributeValue> = values.into_iter().collect();
        let mut item = HashMap::from([
            (KEY.to_owned(), AttributeValue::S("shardId-000000000001".into())),
            (COUNTER.to_owned(), AttributeValue::N("7".into())),
            (OWNER.to_owned(), AttributeValue::S("w1".into())),
        ]);
        let names: HashMap<&str, &str> = STATE_NAMES.into_iter().collect();
        for assignment in set {
            let (name, value) = assignment.split_once(" = ").expect("assignment");
            item.insert(names[name].to_owned(), values[value].clone());
        }
        item
    }

    #[test]
    fn states_round_trip_through_items() {
        let states = [
            ShardState::default(),
            ShardState {
                start: Some(StartPoint::TrimHorizon),
                ..ShardState::default()
            },
            ShardState {
                start: Some(StartPoint::AtTimestampMs(1_795_428_000_000)),
                ..ShardState::default()
            },
            ShardState {
                checkpoint: Some("49590338271490256608559692538361571095921575989136588898".into()),
                pending: Some(PendingFlush {
                    first: "4959".into(),
                    last: "4960".into(),
                    keys: vec!["dt=2026-12-07/part-a.parquet".into()],
                }),
                start: Some(StartPoint::TrimHorizon),
                finished: false,
            },
            ShardState {
                finished: true,
                ..ShardState::default()
            },
        ];
        for state in states {
            let lease = Lease::from_item(&apply(&state)).expect("reads").expect("a lease");
            assert_eq!(lease.state, state);
            assert_eq!(lease.counter, 7);
            assert_eq!(lease.owner.as_deref(), Some("w1"));
        }
    }

    #[test]
    fn a_finished_shard_reads_as_kcl_writes_it() {
        let item = apply(&ShardState {
            checkpoint: Some("42".into()),
            finished: true,
            ..ShardState::default()
        });
        assert_eq!(string(&item, CHECKPOINT).as_deref(), Some(SHARD_END));
    }

    #[test]
    fn items_that_are_not_leases_are_errors_or_skipped() {
        let meta = HashMap::from([(KEY.to_owned(), AttributeValue::S(META_KEY.into()))]);
        assert_eq!(Lease::from_item(&meta).expect("meta"), None);
        let bad = HashMap::from([
            (KEY.to_owned(), AttributeValue::S("shardId-1".into())),
            (CHECKPOINT.to_owned(), AttributeValue::S("LATEST".into())),
        ]);
        let err = Lease::from_item(&bad).expect_err("LATEST is never written");
        assert!(err.to_string().contains("shardId-1"), "{err}");
        assert!(Lease::from_item(&HashMap::new()).is_err());
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(at_or_after("100", "99"));
        assert!(at_or_after(
            "49590338271490256608559692538361571095921575989136588898",
            "4959"
        ));
        assert!(at_or_after("42", "42"));
        assert!(!at_or_after("99", "100"));
    }

    #[test]
    fn update_expressions_join_set_and_remove() {
        assert_eq!(
            update_expression(&["a = :a", "b = :b"], &["c"]),
            "SET a = :a, b = :b REMOVE c"
        );
        assert_eq!(update_expression(&[], &["c", "d"]), "REMOVE c, d");
    }
}
