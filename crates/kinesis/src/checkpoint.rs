//! Checkpoints: how far each shard is in the table, and what an unfinished flush may have left.
//!
//! [`CheckpointStore`] is the interface the consumer needs; [`FileStore`] is the embedded
//! default (one small JSON file per shard under `--state`, replaced atomically). A lease table
//! for several workers implements the same trait.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// What is durable about one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardState {
    /// The last sequence number whose record is in the table: reading resumes after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The shard is closed and all of it is in the table; its children may be read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finished: bool,
    /// A flush that started committing and has not been checkpointed: the files it may have
    /// left. A restart deletes them before reading the shard again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingFlush>,
}

/// The commit intent of a flush: recorded before its first file is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFlush {
    /// Sequence number of the flush's first record.
    pub first: String,
    /// Sequence number of its last record.
    pub last: String,
    /// Keys (relative to the table root) of every file the flush tried to commit.
    pub keys: Vec<String>,
}

/// A checkpoint store failure.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the store failed.
    #[error("checkpoint store: {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not what this program writes.
    #[error("checkpoint store: {path} is not a shard state: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Another consumer holds the state directory.
    #[error("checkpoint store: {path} is in use by another `synclake consume`; one consumer per state directory")]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The state belongs to another output table.
    #[error(
        "checkpoint store: {path} holds the checkpoints of output `{recorded}`, not `{given}`; use another --state for another output"
    )]
    OutputChanged {
        /// The state file.
        path: PathBuf,
        /// The output recorded with the checkpoints.
        recorded: String,
        /// The output given now.
        given: String,
    },
}

/// Where checkpoints live.
pub trait CheckpointStore: Send + Sync {
    /// Every shard's state.
    fn load_all(&self) -> BoxFuture<'_, Result<HashMap<String, ShardState>, CheckpointError>>;
    /// Replaces one shard's state, durably and atomically: after a crash, a load sees either
    /// the old state or the new one.
    fn save<'a>(&'a self, shard: &'a str, state: &'a ShardState) -> BoxFuture<'a, Result<(), CheckpointError>>;
}

/// The embedded store: `<state>/<stream>/shards/<shard>.json`, each replaced by write, fsync,
/// rename, fsync of the directory. A lock file keeps a second consumer out.
#[derive(Debug)]
pub struct FileStore {
    shards: PathBuf,
    _lock: File,
}

#[derive(Serialize, Deserialize)]
struct StreamMeta {
    stream_arn: String,
    output: String,
}

impl FileStore {
    /// Opens (creating) the state of `stream_arn` under `state_dir`, bound to the `output`
    /// table: a state written for another output is refused.
    pub fn open(state_dir: &Path, stream_arn: &str, output: &str) -> Result<FileStore, CheckpointError> {
        let dir = state_dir.join(safe_name(stream_arn));
        let shards = dir.join("shards");
        std::fs::create_dir_all(&shards).map_err(io("create", &shards))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(CheckpointError::InUse { path: lock_path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        let meta_path = dir.join("stream.json");
        match std::fs::read(&meta_path) {
            Ok(bytes) => {
                let meta: StreamMeta = serde_json::from_slice(&bytes).map_err(|source| CheckpointError::Corrupt {
                    path: meta_path.clone(),
                    source,
                })?;
                if meta.output != output {
                    return Err(CheckpointError::OutputChanged {
                        path: meta_path,
                        recorded: meta.output,
                        given: output.to_owned(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let meta = StreamMeta {
                    stream_arn: stream_arn.to_owned(),
                    output: output.to_owned(),
                };
                let json = serde_json::to_vec_pretty(&meta).map_err(|source| CheckpointError::Corrupt {
                    path: meta_path.clone(),
                    source,
                })?;
                replace_file(&dir, &meta_path, &json)?;
            }
            Err(e) => return Err(io("read", &meta_path)(e)),
        }
        Ok(FileStore { shards, _lock: lock })
    }

    fn load_all_blocking(shards: &Path) -> Result<HashMap<String, ShardState>, CheckpointError> {
        let mut out = HashMap::new();
        for entry in std::fs::read_dir(shards).map_err(io("list", shards))? {
            let path = entry.map_err(io("list", shards))?.path();
            let Some(shard) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let bytes = std::fs::read(&path).map_err(io("read", &path))?;
            let state: ShardState = serde_json::from_slice(&bytes).map_err(|source| CheckpointError::Corrupt {
                path: path.clone(),
                source,
            })?;
            out.insert(shard.to_owned(), state);
        }
        Ok(out)
    }
}

impl CheckpointStore for FileStore {
    fn load_all(&self) -> BoxFuture<'_, Result<HashMap<String, ShardState>, CheckpointError>> {
        let shards = self.shards.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || FileStore::load_all_blocking(&shards))
                .await
                .unwrap_or_else(|e| Err(io("load", Path::new("checkpoints"))(std::io::Error::other(e))))
        })
    }

    fn save<'a>(&'a self, shard: &'a str, state: &'a ShardState) -> BoxFuture<'a, Result<(), CheckpointError>> {
        let dir = self.shards.clone();
        let path = dir.join(format!("{}.json", safe_name(shard)));
        let json = serde_json::to_vec(state);
        Box::pin(async move {
            let json = json.map_err(|source| CheckpointError::Corrupt {
                path: path.clone(),
                source,
            })?;
            let target = path.clone();
            tokio::task::spawn_blocking(move || replace_file(&dir, &target, &json))
                .await
                .unwrap_or_else(|e| Err(io("save", &path)(std::io::Error::other(e))))
        })
    }
}

/// Replaces `path` (in `dir`) with `bytes` atomically and durably.
fn replace_file(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(bytes).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("fsync", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io("rename", path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync", dir))
}

/// Keeps characters safe in a file name; replaces the rest with `_`.
fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.to_owned();
    move |source| CheckpointError::Io { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn states_survive_reopening_and_bind_to_the_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
        let state = ShardState {
            checkpoint: Some("4960".into()),
            finished: false,
            pending: Some(PendingFlush {
                first: "4961".into(),
                last: "4970".into(),
                keys: vec!["dt=2026-01-01/part-x-0.parquet".into()],
            }),
        };
        {
            let store = FileStore::open(dir.path(), arn, "/lake").expect("open");
            assert!(matches!(
                FileStore::open(dir.path(), arn, "/lake"),
                Err(CheckpointError::InUse { .. })
            ));
            store.save("shardId-000000000000", &state).await.expect("save");
        }
        let store = FileStore::open(dir.path(), arn, "/lake").expect("reopen");
        let all = store.load_all().await.expect("load");
        assert_eq!(all.len(), 1);
        assert_eq!(all["shardId-000000000000"], state);
        drop(store);
        let err = FileStore::open(dir.path(), arn, "s3://other/lake").expect_err("another output");
        assert!(err.to_string().contains("s3://other/lake"), "{err}");
    }

    #[tokio::test]
    async fn a_corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::open(dir.path(), "s", "/lake").expect("open");
        std::fs::write(store.shards.join("shardId-1.json"), b"{not json").expect("write");
        let err = store.load_all().await.expect_err("corrupt");
        assert!(err.to_string().contains("shardId-1.json"), "{err}");
    }
}
