//! Control objects (the consumer's writer marker, written create-only) and the sweep of the
//! temporary files a killed process left.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use futures::StreamExt as _;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use super::{SPOOL_SEQ, Store, list_local};
use crate::error::LakeError;

/// Control objects (the consumer's writer marker) and the sweep of temporary files a killed
/// process left: small, rare operations beside the data path.
impl Store {
    /// Reads a small control object (key relative to the table root); `None` if absent.
    pub async fn read_control(&self, key: &str) -> Result<Option<Vec<u8>>, LakeError> {
        match self {
            Store::Local { root } => {
                let path = root.join(key);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(LakeError::io("read", &path)(e)),
                }
            }
            Store::Object { store, .. } => {
                let full = self.full_key(key);
                match store.get(&ObjectPath::from(full.as_str())).await {
                    Ok(got) => got
                        .bytes()
                        .await
                        .map(|b| Some(b.to_vec()))
                        .map_err(|source| LakeError::Store {
                            op: "get",
                            key: full,
                            source,
                        }),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(source) => Err(LakeError::Store {
                        op: "get",
                        key: full,
                        source,
                    }),
                }
            }
        }
    }

    /// Creates a small control object only if it does not exist yet, whole and durable:
    /// locally a fsynced temporary file hard-linked into place (the link fails if the name
    /// exists), on S3 a PUT with `If-None-Match: *`. `Ok(false)` if it existed.
    pub async fn create_control(&self, key: &str, bytes: Vec<u8>) -> Result<bool, LakeError> {
        match self {
            Store::Local { root } => {
                let fin = root.join(key);
                let tmp = write_control_temp(&fin, &bytes)?;
                let linked = std::fs::hard_link(&tmp, &fin);
                let _ = std::fs::remove_file(&tmp);
                match linked {
                    Ok(()) => {
                        sync_parent(&fin)?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(LakeError::io("link", &fin)(e)),
                }
            }
            Store::Object { store, .. } => {
                let full = self.full_key(key);
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                };
                match store
                    .put_opts(&ObjectPath::from(full.as_str()), PutPayload::from(bytes), opts)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                        Ok(false)
                    }
                    Err(source) => Err(LakeError::Store {
                        op: "put (create-only)",
                        key: full,
                        source,
                    }),
                }
            }
        }
    }

    /// Replaces a small control object, whole and durable.
    pub async fn replace_control(&self, key: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        match self {
            Store::Local { root } => {
                let fin = root.join(key);
                let tmp = write_control_temp(&fin, &bytes)?;
                std::fs::rename(&tmp, &fin).map_err(LakeError::io("rename", &fin))?;
                sync_parent(&fin)
            }
            Store::Object { store, .. } => {
                let full = self.full_key(key);
                store
                    .put(&ObjectPath::from(full.as_str()), PutPayload::from(bytes))
                    .await
                    .map(|_| ())
                    .map_err(|source| LakeError::Store {
                        op: "put",
                        key: full,
                        source,
                    })
            }
        }
    }

    /// The key (relative to the table root) of some file whose name satisfies `name_matches`,
    /// if there is one.
    pub async fn find_file(&self, name_matches: impl Fn(&str) -> bool) -> Result<Option<String>, LakeError> {
        let name_of = |key: &str| key.rsplit('/').next().map(str::to_owned).unwrap_or_default();
        match self {
            Store::Local { root } => {
                let mut keys = Vec::new();
                list_local(root, "", &mut keys)?;
                Ok(keys.into_iter().find(|k| name_matches(&name_of(k))))
            }
            Store::Object { store, prefix, .. } => {
                let base = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
                let mut listing = store.list(base.as_ref());
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(|source| LakeError::Store {
                        op: "list",
                        key: prefix.clone(),
                        source,
                    })?;
                    let key = meta.location.to_string();
                    if name_matches(&name_of(&key)) {
                        let rel = key.strip_prefix(prefix.as_str()).unwrap_or(&key);
                        return Ok(Some(rel.trim_start_matches('/').to_owned()));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Deletes the spool files of a local table (`.<name>.inprogress` in partition
    /// directories) whose `<name>` starts with `name_prefix` and that were last modified
    /// before `older_than`: what a killed writer left. Returns their paths. Nothing to do on
    /// S3, whose spool files live in the writer's own spool directory (see
    /// [`sweep_spool_dir`]).
    pub fn sweep_temp_files(&self, name_prefix: &str, older_than: SystemTime) -> Result<Vec<PathBuf>, LakeError> {
        let Store::Local { root } = self else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        list_local(root, "", &mut keys)?;
        let hidden = format!(".{name_prefix}");
        let mut swept = Vec::new();
        for key in keys {
            let name = key.rsplit('/').next().unwrap_or(&key);
            if !(name.starts_with(&hidden) && name.ends_with(".inprogress")) {
                continue;
            }
            let path = root.join(&key);
            if modified_before(&path, older_than)? {
                remove_if_present(&path)?;
                swept.push(path);
            }
        }
        Ok(swept)
    }
}

/// Deletes the S3 spool files (`.spool-<pid>-<n>.inprogress`) in `dir` last modified before
/// `older_than`. Only for a spool directory no other process writes to (a consumer's, under
/// its locked state directory), called before this process spools anything: then every such
/// file was left by an earlier run, whatever its process id (in a container, every run may
/// be process 1).
pub fn sweep_spool_dir(dir: &Path, older_than: SystemTime) -> Result<Vec<PathBuf>, LakeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LakeError::io("list spool directory", dir)(e)),
    };
    let mut swept = Vec::new();
    for entry in entries {
        let entry = entry.map_err(LakeError::io("list spool directory", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(".spool-") && name.ends_with(".inprogress")) {
            continue;
        }
        let path = entry.path();
        if modified_before(&path, older_than)? {
            remove_if_present(&path)?;
            swept.push(path);
        }
    }
    Ok(swept)
}

fn write_control_temp(fin: &Path, bytes: &[u8]) -> Result<PathBuf, LakeError> {
    use std::io::Write as _;
    let dir = fin.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(LakeError::io("create directory", dir))?;
    let n = SPOOL_SEQ.fetch_add(1, Ordering::Relaxed);
    let name = fin.file_name().and_then(|n| n.to_str()).unwrap_or("control");
    let tmp = dir.join(format!(".{name}.{}-{n}.inprogress", std::process::id()));
    let mut file = File::create(&tmp).map_err(LakeError::io("create", &tmp))?;
    file.write_all(bytes).map_err(LakeError::io("write", &tmp))?;
    file.sync_all().map_err(LakeError::io("fsync", &tmp))?;
    Ok(tmp)
}

fn sync_parent(path: &Path) -> Result<(), LakeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LakeError::io("fsync directory", dir))
}

fn modified_before(path: &Path, older_than: SystemTime) -> Result<bool, LakeError> {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(modified) => Ok(modified < older_than),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(LakeError::io("stat", path)(e)),
    }
}

fn remove_if_present(path: &Path) -> Result<(), LakeError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LakeError::io("delete", path)(e)),
        _ => Ok(()),
    }
}
