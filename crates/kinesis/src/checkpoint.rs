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
    /// Where reading the shard began, recorded before its first read: until the first
    /// checkpoint, a restart begins here again (`latest` resolved once, to a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartPoint>,
}

/// A shard's first position, as recorded: concrete, so that it means the same on every restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPoint {
    /// The oldest record within retention.
    TrimHorizon,
    /// The first record that arrived at or after this time (epoch milliseconds).
    AtTimestampMs(i64),
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
    /// The stream was deleted and re-created since the state was written: its shards and
    /// sequence numbers are not the ones the checkpoints name.
    #[error(
        "checkpoint store: {path} holds the checkpoints of stream {arn} created at {recorded_ms} (epoch ms), but the stream now was created at {current_ms}: it was deleted and re-created, and the old checkpoints do not apply to it. Pass --start-over-recreated-stream to set the old state aside and read the new stream from the configured start, or use another --state"
    )]
    StreamRecreated {
        /// The state file.
        path: PathBuf,
        /// The stream.
        arn: String,
        /// Creation time recorded with the state.
        recorded_ms: i64,
        /// Creation time of the stream now.
        current_ms: i64,
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
    /// A lease table call failed.
    #[error("lease table {table}: {op}: {detail}")]
    LeaseTable {
        /// The call.
        op: &'static str,
        /// The table.
        table: String,
        /// What went wrong.
        detail: String,
    },
    /// This worker no longer holds the shard's lease: nothing more of it may be committed or
    /// checkpointed here.
    #[error("shard {shard}: the lease was lost ({reason}); another worker reads it on from its checkpoint")]
    LeaseLost {
        /// The shard.
        shard: String,
        /// How it was found out.
        reason: &'static str,
    },
    /// The lease table belongs to another stream incarnation or another output.
    #[error(
        "lease table {table} holds the leases of {field} `{recorded}`, not `{given}`: one lease table per stream and output; use another --lease-table"
    )]
    LeaseTableBound {
        /// The table.
        table: String,
        /// What differs.
        field: &'static str,
        /// What the table records.
        recorded: String,
        /// What was given.
        given: String,
    },
}

impl CheckpointError {
    /// Whether this is a lost lease (the shard moved to another worker), not a failure.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, CheckpointError::LeaseLost { .. })
    }
}

/// Where checkpoints live.
pub trait CheckpointStore: Send + Sync {
    /// Every shard's state.
    fn load_all(&self) -> BoxFuture<'_, Result<HashMap<String, ShardState>, CheckpointError>>;
    /// Replaces one shard's state, durably and atomically: after a crash, a load sees either
    /// the old state or the new one.
    fn save<'a>(&'a self, shard: &'a str, state: &'a ShardState) -> BoxFuture<'a, Result<(), CheckpointError>>;
    /// A number this holder of `shard` puts in the names of the files it writes, so that files
    /// of two holders never share a name (a lease's counter when it was taken).
    fn file_epoch(&self, _shard: &str) -> Option<u64> {
        None
    }
    /// Checked after a flush's intent is saved, right before its files are committed: whether
    /// this holder may still commit (a lease store: the lease is still valid by this worker's
    /// clock). The file store always may.
    fn may_commit(&self, _shard: &str) -> Result<(), CheckpointError> {
        Ok(())
    }
    /// `shard`'s state as this holder last wrote it, for starting its worker again (a lease
    /// store; `None` where the caller's own copy is current).
    fn held_state(&self, _shard: &str) -> Option<ShardState> {
        None
    }
    /// After this holder's checkpoint through `last` was refused (the lease moved on): whether
    /// the holders since began before `last`, so that files it committed hold records they read
    /// again. False when that cannot be told: keeping the files risks a duplicate, deleting
    /// them a loss.
    fn redone_after<'a>(&'a self, _shard: &'a str, _last: &'a str) -> BoxFuture<'a, Result<bool, CheckpointError>> {
        Box::pin(async { Ok(false) })
    }
}

/// The embedded store: `<state>/<stream>/shards/<shard>.json`, each replaced by write, fsync,
/// rename, fsync of the directory. A lock file keeps a second consumer out.
///
/// `<state>/<stream>/stream.json` binds the state to one incarnation of the stream (its ARN
/// and creation time, as the Kinesis Client Library keys its leases), to one output, and
/// carries the state's random identity (the writer fence names it in the table).
#[derive(Debug)]
pub struct FileStore {
    shards: PathBuf,
    state_id: String,
    file_incarnation: Option<i64>,
    _lock: File,
}

#[derive(Serialize, Deserialize)]
struct StreamMeta {
    stream_arn: String,
    output: String,
    /// Absent in states written before incarnations were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_created_ms: Option<i64>,
    /// Absent in states written before the writer fence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_id: Option<String>,
    /// Set when the state started over for a re-created stream: its files carry the
    /// incarnation in their names (see [`FileStore::file_incarnation`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    incarnation_in_file_names: bool,
}

/// The stream incarnation a state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incarnation<'a> {
    /// The stream's ARN.
    pub arn: &'a str,
    /// Its creation time (epoch milliseconds): a re-created stream keeps its ARN, not this.
    pub created_ms: i64,
}

impl FileStore {
    /// Opens (creating) the state of `stream` under `state_dir`, bound to the `output` table:
    /// a state written for another output is refused, and so is one written for an earlier
    /// incarnation of the stream unless `start_over` (then the old shard states are moved to
    /// `shards.replaced-<old creation ms>` and reading starts afresh). A state that predates
    /// recorded incarnations is adopted for the current one, with a warning.
    pub fn open(
        state_dir: &Path,
        stream: Incarnation<'_>,
        output: &str,
        start_over: bool,
    ) -> Result<FileStore, CheckpointError> {
        let dir = state_dir.join(safe_name(stream.arn));
        let shards = dir.join("shards");
        std::fs::create_dir_all(&shards).map_err(io("create", &shards))?;
        let lock = lock_file(&dir.join("lock"))?;
        let meta_path = dir.join("stream.json");
        let mut meta = match std::fs::read(&meta_path) {
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
                meta
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StreamMeta {
                stream_arn: stream.arn.to_owned(),
                output: output.to_owned(),
                stream_created_ms: Some(stream.created_ms),
                state_id: None,
                incarnation_in_file_names: false,
            },
            Err(e) => return Err(io("read", &meta_path)(e)),
        };
        match meta.stream_created_ms {
            Some(recorded) if recorded == stream.created_ms => {}
            Some(recorded) if start_over => {
                let aside = dir.join(format!("shards.replaced-{recorded}"));
                std::fs::rename(&shards, &aside).map_err(io("rename", &aside))?;
                std::fs::create_dir_all(&shards).map_err(io("create", &shards))?;
                File::open(&dir).and_then(|d| d.sync_all()).map_err(io("fsync", &dir))?;
                tracing::warn!(stream = stream.arn, recorded_created_ms = recorded, created_ms = stream.created_ms,
                    old_state = %aside.display(), "the stream was re-created: starting over, the old shard states set aside");
                meta.stream_created_ms = Some(stream.created_ms);
                meta.incarnation_in_file_names = true;
            }
            Some(recorded) => {
                return Err(CheckpointError::StreamRecreated {
                    path: meta_path,
                    arn: stream.arn.to_owned(),
                    recorded_ms: recorded,
                    current_ms: stream.created_ms,
                });
            }
            None => {
                if meta_path.exists() {
                    tracing::warn!(stream = stream.arn, created_ms = stream.created_ms, state = %dir.display(),
                        "the state does not record which incarnation of the stream it belongs to; adopting it for the current one");
                }
                meta.stream_created_ms = Some(stream.created_ms);
            }
        }
        let state_id = meta.state_id.get_or_insert_with(new_state_id).clone();
        let json = serde_json::to_vec_pretty(&meta).map_err(|source| CheckpointError::Corrupt {
            path: meta_path.clone(),
            source,
        })?;
        replace_file(&dir, &meta_path, &json)?;
        Ok(FileStore {
            shards,
            state_id,
            file_incarnation: meta.incarnation_in_file_names.then_some(stream.created_ms),
            _lock: lock,
        })
    }

    /// The state's identity: random, made on first use, kept for the state's life.
    pub fn state_id(&self) -> &str {
        &self.state_id
    }

    /// The stream's creation time (epoch ms) if the files this state writes must carry it in
    /// their names: after a start-over, the table may hold files of an earlier incarnation,
    /// whose shards had the same ids and possibly the same sequence numbers (kinesis-local
    /// repeats them when a stream is re-created within the second), and a file of the new
    /// incarnation must not replace one of the old.
    pub fn file_incarnation(&self) -> Option<i64> {
        self.file_incarnation
    }

    /// The directory of this stream's state.
    pub fn dir(&self) -> &Path {
        self.shards.parent().unwrap_or(&self.shards)
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

/// Opens (creating) `path` and takes an exclusive lock on it, held while the file is open:
/// [`CheckpointError::InUse`] if another process holds it.
pub(crate) fn lock_file(path: &Path) -> Result<File, CheckpointError> {
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io("open", path))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(CheckpointError::InUse { path: path.to_owned() }),
        Err(std::fs::TryLockError::Error(e)) => Err(io("lock", path)(e)),
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

/// 128 random bits, hex.
pub(crate) fn new_state_id() -> String {
    use rand::Rng as _;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

/// Keeps characters safe in a file name; replaces the rest with `_`.
pub(crate) fn safe_name(s: &str) -> String {
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
        let stream = Incarnation { arn, created_ms: 1 };
        let state = ShardState {
            checkpoint: Some("4960".into()),
            finished: false,
            pending: Some(PendingFlush {
                first: "4961".into(),
                last: "4970".into(),
                keys: vec!["dt=2026-01-01/part-x-0.parquet".into()],
            }),
            start: Some(StartPoint::AtTimestampMs(1_795_428_000_000)),
        };
        {
            let store = FileStore::open(dir.path(), stream, "/lake", false).expect("open");
            assert!(matches!(
                FileStore::open(dir.path(), stream, "/lake", false),
                Err(CheckpointError::InUse { .. })
            ));
            store.save("shardId-000000000000", &state).await.expect("save");
        }
        let store = FileStore::open(dir.path(), stream, "/lake", false).expect("reopen");
        let all = store.load_all().await.expect("load");
        assert_eq!(all.len(), 1);
        assert_eq!(all["shardId-000000000000"], state);
        drop(store);
        let err = FileStore::open(dir.path(), stream, "s3://other/lake", false).expect_err("another output");
        assert!(err.to_string().contains("s3://other/lake"), "{err}");
    }

    #[tokio::test]
    async fn a_corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::open(
            dir.path(),
            Incarnation {
                arn: "s",
                created_ms: 1,
            },
            "/lake",
            false,
        )
        .expect("open");
        std::fs::write(store.shards.join("shardId-1.json"), b"{not json").expect("write");
        let err = store.load_all().await.expect_err("corrupt");
        assert!(err.to_string().contains("shardId-1.json"), "{err}");
    }

    #[tokio::test]
    async fn a_state_of_an_earlier_incarnation_is_refused_unless_starting_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/again";
        let old = Incarnation { arn, created_ms: 1_000 };
        let new = Incarnation { arn, created_ms: 2_000 };
        let finished = ShardState {
            finished: true,
            ..ShardState::default()
        };
        let id = {
            let store = FileStore::open(dir.path(), old, "/lake", false).expect("open");
            store.save("shardId-000000000000", &finished).await.expect("save");
            store.state_id().to_owned()
        };
        let err = FileStore::open(dir.path(), new, "/lake", false).expect_err("another incarnation");
        assert!(matches!(
            err,
            CheckpointError::StreamRecreated {
                recorded_ms: 1_000,
                current_ms: 2_000,
                ..
            }
        ));
        assert!(err.to_string().contains("--start-over-recreated-stream"), "{err}");
        // Refusing changed nothing: the old incarnation still opens with its state.
        let store = FileStore::open(dir.path(), old, "/lake", false).expect("old incarnation");
        assert_eq!(store.load_all().await.expect("load").len(), 1);
        drop(store);
        let store = FileStore::open(dir.path(), new, "/lake", true).expect("start over");
        assert!(
            store.load_all().await.expect("load").is_empty(),
            "the old shard states are set aside"
        );
        assert_eq!(store.state_id(), id, "the state keeps its identity");
        assert_eq!(store.file_incarnation(), Some(2_000), "its files are named apart");
        assert!(
            store
                .dir()
                .join("shards.replaced-1000/shardId-000000000000.json")
                .exists()
        );
        drop(store);
        // From now on the state belongs to the new incarnation, flag or not.
        FileStore::open(dir.path(), new, "/lake", false).expect("new incarnation");
    }

    #[tokio::test]
    async fn a_state_without_a_recorded_incarnation_is_adopted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/legacy";
        let stream_dir = dir.path().join(safe_name(arn));
        std::fs::create_dir_all(stream_dir.join("shards")).expect("mkdir");
        std::fs::write(
            stream_dir.join("stream.json"),
            format!(r#"{{"stream_arn":"{arn}","output":"/lake"}}"#),
        )
        .expect("write");
        std::fs::write(
            stream_dir.join("shards/shardId-000000000000.json"),
            br#"{"checkpoint":"42"}"#,
        )
        .expect("write");
        let current = Incarnation { arn, created_ms: 5 };
        let store = FileStore::open(dir.path(), current, "/lake", false).expect("adopted");
        let all = store.load_all().await.expect("load");
        assert_eq!(all["shardId-000000000000"].checkpoint.as_deref(), Some("42"));
        drop(store);
        let err =
            FileStore::open(dir.path(), Incarnation { arn, created_ms: 6 }, "/lake", false).expect_err("recorded now");
        assert!(matches!(err, CheckpointError::StreamRecreated { recorded_ms: 5, .. }));
    }
}
