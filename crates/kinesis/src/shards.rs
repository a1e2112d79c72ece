//! Shard discovery (paginated `ListShards`) and lineage: a child shard is read only after its
//! parents are fully in the table, so that per-key order holds across splits and merges.

use std::collections::{HashMap, HashSet};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::operation::list_shards::ListShardsError;

use crate::checkpoint::ShardState;

/// One shard of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// `shardId-…`.
    pub id: String,
    /// The shard it was split from, or the two it was merged from.
    pub parents: Vec<String>,
    /// Closed to new records (split or merged away); its records stay readable until they expire.
    pub closed: bool,
}

/// Every shard of the stream still within retention, following `NextToken` to the end.
pub async fn list_shards(client: &Client, stream_arn: &str) -> Result<Vec<ShardInfo>, SdkError<ListShardsError>> {
    let mut shards = Vec::new();
    let mut next: Option<String> = None;
    loop {
        // With a NextToken the stream must not be named again.
        let request = match &next {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_arn(stream_arn),
        };
        let out = request.send().await?;
        for shard in out.shards.unwrap_or_default() {
            let closed = shard
                .sequence_number_range
                .as_ref()
                .is_some_and(|r| r.ending_sequence_number.is_some());
            shards.push(ShardInfo {
                id: shard.shard_id,
                parents: shard
                    .parent_shard_id
                    .into_iter()
                    .chain(shard.adjacent_parent_shard_id)
                    .collect(),
                closed,
            });
        }
        match out.next_token {
            Some(token) if !token.is_empty() => next = Some(token),
            _ => return Ok(shards),
        }
    }
}

/// The shards that may be read now: not finished, and each parent finished or expired (see
/// [`parent_done`]). Sorted by id.
pub fn readable<'s>(shards: &'s [ShardInfo], states: &HashMap<String, ShardState>) -> Vec<&'s ShardInfo> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
    let mut ready: Vec<&ShardInfo> = shards
        .iter()
        .filter(|s| !states.get(&s.id).is_some_and(|st| st.finished))
        .filter(|s| s.parents.iter().all(|p| parent_done(p, &listed, states)))
        .collect();
    ready.sort_by(|a, b| a.id.cmp(&b.id));
    ready
}

/// Whether a parent no longer holds its children back: it is finished here, or the stream no
/// longer lists it. An unlisted parent has aged out of the stream's retention (its records
/// are gone whether or not this consumer read them all), so waiting for it would block its
/// children forever; [`expired_parents`] names the ones with unread records.
fn parent_done(parent: &str, listed: &HashSet<&str>, states: &HashMap<String, ShardState>) -> bool {
    states.get(parent).is_some_and(|st| st.finished) || !listed.contains(parent)
}

/// Parents of listed shards that this consumer began but did not finish, and that the stream
/// no longer lists: their records after the checkpoint expired unread. With their state, for
/// the operator (logged once per run).
pub fn expired_parents<'a>(
    shards: &[ShardInfo],
    states: &'a HashMap<String, ShardState>,
) -> Vec<(&'a str, &'a ShardState)> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
    let mut out: Vec<(&str, &ShardState)> = shards
        .iter()
        .flat_map(|s| s.parents.iter())
        .filter(|p| !listed.contains(p.as_str()))
        .filter_map(|p| states.get_key_value(p))
        .filter(|(_, st)| !st.finished)
        .map(|(p, st)| (p.as_str(), st))
        .collect();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Whether a shard without a checkpoint is a child of a shard this consumer knows: such a
/// shard is read from its start (whatever the configured start position), so that nothing
/// written between its parent's end and its own first read is skipped.
pub fn is_known_child(shard: &ShardInfo, shards: &[ShardInfo], states: &HashMap<String, ShardState>) -> bool {
    shard
        .parents
        .iter()
        .any(|p| states.contains_key(p) || shards.iter().any(|s| &s.id == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parents: &[&str]) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
            closed: false,
        }
    }

    fn finished() -> ShardState {
        ShardState {
            finished: true,
            ..ShardState::default()
        }
    }

    #[test]
    fn children_wait_for_every_parent() {
        // 0 split into 1 and 2; 1 and 2 merged into 3.
        let shards = vec![
            shard("0", &[]),
            shard("1", &["0"]),
            shard("2", &["0"]),
            shard("3", &["1", "2"]),
        ];
        let ids = |states: &HashMap<String, ShardState>| -> Vec<String> {
            readable(&shards, states).iter().map(|s| s.id.clone()).collect()
        };
        let mut states = HashMap::new();
        assert_eq!(ids(&states), ["0"]);
        states.insert("0".to_owned(), finished());
        assert_eq!(ids(&states), ["1", "2"]);
        states.insert("1".to_owned(), finished());
        assert_eq!(ids(&states), ["2"]);
        states.insert("2".to_owned(), ShardState::default());
        assert_eq!(ids(&states), ["2"]);
        states.insert("2".to_owned(), finished());
        assert_eq!(ids(&states), ["3"]);
        assert!(is_known_child(&shards[3], &shards, &states));
        assert!(!is_known_child(&shards[0], &shards, &states));
    }

    #[test]
    fn an_expired_parent_does_not_block_its_children() {
        let shards = vec![shard("5", &["4"])];
        let ready = readable(&shards, &HashMap::new());
        assert_eq!(ready.len(), 1);
        assert!(!is_known_child(&shards[0], &shards, &HashMap::new()));
    }

    #[test]
    fn a_checkpointed_parent_that_aged_out_does_not_block_its_children() {
        // 4 was split into 5 and 6, read up to a checkpoint, then expired from the stream.
        let shards = vec![shard("5", &["4"]), shard("6", &["4"])];
        let mut states = HashMap::new();
        states.insert(
            "4".to_owned(),
            ShardState {
                checkpoint: Some("4960".into()),
                ..ShardState::default()
            },
        );
        let ids: Vec<&str> = readable(&shards, &states).iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["5", "6"]);
        // The children start at their trim horizon, and the parent is reported once.
        assert!(is_known_child(&shards[0], &shards, &states));
        let expired = expired_parents(&shards, &states);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, "4");
        assert_eq!(expired[0].1.checkpoint.as_deref(), Some("4960"));
        // A listed parent with a checkpoint still holds its children back.
        let with_parent = vec![shard("4", &[]), shard("5", &["4"])];
        let ids: Vec<&str> = readable(&with_parent, &states).iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["4"]);
        assert!(expired_parents(&with_parent, &states).is_empty());
    }
}
