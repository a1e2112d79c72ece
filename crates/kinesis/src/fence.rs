//! The writer fence: one consumer state writes a stream into a table.
//!
//! The state directory's lock only keeps out a second consumer on the same host and path. Two
//! states writing one stream into one table would both read every record (duplicates), and one's
//! recovery would delete files the other committed. So the table names its writer: an owner
//! marker `_synclake/consumers/<stream ARN>.json` (readers skip `_` paths) binds the table and
//! stream to one state identity (a random id the state keeps, see
//! [`FileStore::state_id`](crate::FileStore::state_id)). The marker is created create-only
//! (a local hard link, or an S3 PUT with `If-None-Match: *`), so two first starts cannot both
//! win. A consumer refuses to start when the marker names another state, or when its state is
//! empty while the table already holds consumer files and names no writer, unless told to take
//! over. A running consumer looks at the marker again at every shard discovery and stops if
//! it was taken over.

use serde::{Deserialize, Serialize};
use synclake_lake::{LakeError, Store};

use crate::checkpoint::safe_name;

/// Where the markers live, under the table root.
pub const CONSUMERS_DIR: &str = "_synclake/consumers";

/// Names of the files a consumer writes start with this (`part-shardId-…`).
const CONSUMER_FILE_PREFIX: &str = "part-shardId-";

/// The content of an owner marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The stream written.
    pub stream_arn: String,
    /// The writing state's identity.
    pub state_id: String,
    /// Its directory, for messages.
    pub state_dir: String,
    /// The host it ran on when it claimed the table, for messages.
    pub host: String,
}

/// A refusal of the fence.
#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    /// Another state writes this stream into this table.
    #[error(
        "output {output}: stream {stream} is written by another consumer state ({other_id} at {other_dir} on {other_host}, marker {marker}); this state is {state_id} at {state_dir}. Two states on one table duplicate rows: run one consumer per stream and table (to move it, copy its state directory), or stop the other one and pass --take-over-output"
    )]
    OwnedByAnother {
        /// The table.
        output: String,
        /// The stream.
        stream: String,
        /// The marker's full key.
        marker: String,
        /// The other state's id, directory and host.
        other_id: String,
        /// Its directory.
        other_dir: String,
        /// Its host.
        other_host: String,
        /// This state's id.
        state_id: String,
        /// This state's directory.
        state_dir: String,
    },
    /// An empty state would read the stream again into a table that already holds its files.
    #[error(
        "output {output} already holds consumer files (e.g. {example}) but names no writer for stream {stream}, and the state at {state_dir} is empty: starting here would read the stream again and duplicate rows. Point --state at the state that wrote them, or pass --take-over-output if they are not this stream's or duplicates are acceptable"
    )]
    ExistingOutput {
        /// The table.
        output: String,
        /// The stream.
        stream: String,
        /// A consumer file found.
        example: String,
        /// This state's directory.
        state_dir: String,
    },
    /// While running, another state took the table over.
    #[error(
        "output {output}: stream {stream} was taken over by consumer state {other_id} ({other_dir} on {other_host}); this consumer stops"
    )]
    Displaced {
        /// The table.
        output: String,
        /// The stream.
        stream: String,
        /// The new writer.
        other_id: String,
        /// Its directory.
        other_dir: String,
        /// Its host.
        other_host: String,
    },
    /// The marker is not JSON this program writes.
    #[error("writer marker {marker} is not an owner marker: {source}")]
    Corrupt {
        /// The marker's full key.
        marker: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Reading or writing the marker failed.
    #[error("writer marker: {0}")]
    Store(#[from] LakeError),
}

/// The marker's key (relative to the table root) for `stream_arn`.
pub fn marker_key(stream_arn: &str) -> String {
    format!("{CONSUMERS_DIR}/{}.json", safe_name(stream_arn))
}

/// Makes `me` the writer of its stream in `store`, or refuses (see the [module docs](self)).
/// `state_empty`: the state has no shard state yet. `take_over`: replace another state's marker,
/// and accept an empty state over existing consumer files.
pub async fn claim(store: &Store, me: &Owner, state_empty: bool, take_over: bool) -> Result<(), FenceError> {
    let key = marker_key(&me.stream_arn);
    let json = serde_json::to_vec_pretty(me).map_err(|source| FenceError::Corrupt {
        marker: store.full_key(&key),
        source,
    })?;
    // Twice at most: a lost create-only race is followed by reading the winner's marker.
    for _ in 0..2 {
        match read(store, &key).await? {
            Some(owner) if owner.state_id == me.state_id => return Ok(()),
            Some(owner) if take_over => {
                store.replace_control(&key, json).await?;
                tracing::warn!(marker = %store.full_key(&key), previous_state = %owner.state_id,
                    previous_dir = %owner.state_dir, previous_host = %owner.host, state = %me.state_id,
                    "took the output over from another consumer state");
                return Ok(());
            }
            Some(owner) => return Err(owned_by_another(store, &key, me, owner)),
            None => {
                if state_empty
                    && !take_over
                    && let Some(example) = store.find_file(|name| name.starts_with(CONSUMER_FILE_PREFIX)).await?
                {
                    return Err(FenceError::ExistingOutput {
                        output: store.describe(),
                        stream: me.stream_arn.clone(),
                        example: store.full_key(&example),
                        state_dir: me.state_dir.clone(),
                    });
                }
                if store.create_control(&key, json.clone()).await? {
                    tracing::info!(marker = %store.full_key(&key), state = %me.state_id, "this state is the output's writer of the stream");
                    return Ok(());
                }
            }
        }
    }
    match read(store, &key).await? {
        Some(owner) if owner.state_id != me.state_id => Err(owned_by_another(store, &key, me, owner)),
        _ => Ok(()),
    }
}

/// Checks that `me` is still the writer; an error if another state took over. A marker that
/// cannot be read is no reason to stop (logged).
pub async fn still_owner(store: &Store, me: &Owner) -> Result<(), FenceError> {
    let key = marker_key(&me.stream_arn);
    match read(store, &key).await {
        Ok(Some(owner)) if owner.state_id != me.state_id => Err(FenceError::Displaced {
            output: store.describe(),
            stream: me.stream_arn.clone(),
            other_id: owner.state_id,
            other_dir: owner.state_dir,
            other_host: owner.host,
        }),
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::warn!(marker = %store.full_key(&key), %error, "could not read the writer marker; trying again later");
            Ok(())
        }
    }
}

async fn read(store: &Store, key: &str) -> Result<Option<Owner>, FenceError> {
    let Some(bytes) = store.read_control(key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| FenceError::Corrupt {
            marker: store.full_key(key),
            source,
        })
}

fn owned_by_another(store: &Store, key: &str, me: &Owner, owner: Owner) -> FenceError {
    FenceError::OwnedByAnother {
        output: store.describe(),
        stream: me.stream_arn.clone(),
        marker: store.full_key(key),
        other_id: owner.state_id,
        other_dir: owner.state_dir,
        other_host: owner.host,
        state_id: me.state_id.clone(),
        state_dir: me.state_dir.clone(),
    }
}

/// This host's name, for messages: the kernel's, or `HOSTNAME`, else "unknown".
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
