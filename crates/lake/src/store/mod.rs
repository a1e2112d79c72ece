//! Where the table lives: a local directory or an object store (S3), and how files get there.
//!
//! Every file is first written to a *spool* file (hidden, in the partition directory for
//! local tables so a commit is a rename; in a spool directory for S3), then committed in one
//! step: a rename or hard link locally, one PUT (or a multipart upload completed in one call)
//! on S3. Readers never see half a file under its final name. Temporary names start with `.`
//! and end in `.inprogress`, which pyarrow, Athena and a `*.parquet` glob all skip.
//!
//! `control` adds the small, rare operations beside the data path: control objects written
//! create-only (the consumer's writer marker) and the sweep of temporary files a killed process
//! left.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt as _;

use crate::error::LakeError;

mod control;

pub use control::sweep_spool_dir;

/// Files up to this size are committed with one PUT; larger ones with a multipart upload.
pub const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;

/// How to reach S3 (or an S3-compatible server).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Endpoint URL, for S3-compatible servers (`http://127.0.0.1:5000`); None for AWS.
    pub endpoint: Option<String>,
    /// Region; None takes `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most local servers need.
    pub path_style: bool,
}

/// What a commit does when the object is already there, and when it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Replace it: re-running over the same input rewrites the same files. Locally the file
    /// is not fsynced here: call [`Store::sync`] on the committed keys before reporting
    /// success (one pass at the end of a run, when the kernel has written most of it back).
    Overwrite,
    /// Fail with [`LakeError::AlreadyExists`]: the basis of exactly-once commits. Durable on
    /// return (the file is fsynced before it is linked in place).
    CreateOnly,
}

/// The output location of a table.
#[derive(Debug, Clone)]
pub enum Store {
    /// A local directory.
    Local {
        /// The table's root directory.
        root: PathBuf,
    },
    /// An object store (S3), under a prefix.
    Object {
        /// The store client.
        store: Arc<dyn ObjectStore>,
        /// Key prefix of the table (no trailing slash; may be empty).
        prefix: String,
        /// The location as the user gave it, for messages.
        url: String,
        /// Where files are spooled before upload.
        spool_dir: PathBuf,
    },
}

/// A file being written, not yet visible under its final name.
#[derive(Debug)]
pub struct Spool {
    /// The temporary file's path.
    pub path: PathBuf,
    /// The final key, relative to the table root (`dt=…/hr=…/part-….parquet`).
    pub key: String,
}

static SPOOL_SEQ: AtomicU64 = AtomicU64::new(0);

/// An S3 client for `bucket`: credentials and region from the environment (as every AWS SDK
/// takes them), endpoint, region and addressing from `s3`.
pub fn s3_client(bucket: &str, s3: &S3Options) -> Result<AmazonS3, object_store::Error> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &s3.region {
        builder = builder.with_region(region);
    }
    if s3.path_style {
        builder = builder.with_virtual_hosted_style_request(false);
    }
    builder.build()
}

impl Store {
    /// Opens `location`: `s3://bucket/prefix` or a local directory path (created if absent).
    pub fn open(location: &str, s3: &S3Options, spool_dir: &Path) -> Result<Store, LakeError> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LakeError::Location {
                    location: location.into(),
                    reason: "no bucket name".into(),
                });
            }
            let store = s3_client(bucket, s3).map_err(|e| LakeError::Location {
                location: location.into(),
                reason: e.to_string(),
            })?;
            std::fs::create_dir_all(spool_dir).map_err(LakeError::io("create spool directory", spool_dir))?;
            return Ok(Store::Object {
                store: Arc::new(store),
                prefix: prefix.trim_matches('/').to_owned(),
                url: location.to_owned(),
                spool_dir: spool_dir.to_owned(),
            });
        }
        if location.contains("://") {
            return Err(LakeError::Location {
                location: location.into(),
                reason: "only local paths and s3:// URLs are supported".into(),
            });
        }
        let root = PathBuf::from(location);
        std::fs::create_dir_all(&root).map_err(LakeError::io("create output directory", &root))?;
        Ok(Store::Local { root })
    }

    /// The location as the user gave it.
    pub fn describe(&self) -> String {
        match self {
            Store::Local { root } => root.display().to_string(),
            Store::Object { url, .. } => url.clone(),
        }
    }

    /// The full object key or path of `key` (relative to the table root).
    pub fn full_key(&self, key: &str) -> String {
        match self {
            Store::Local { root } => root.join(key).display().to_string(),
            Store::Object { prefix, .. } if prefix.is_empty() => key.to_owned(),
            Store::Object { prefix, .. } => format!("{prefix}/{key}"),
        }
    }

    /// Creates the spool file for `key`.
    pub fn create(&self, key: &str) -> Result<(Spool, BufWriter<File>), LakeError> {
        let path = match self {
            Store::Local { root } => {
                let fin = root.join(key);
                let dir = fin.parent().unwrap_or(root);
                std::fs::create_dir_all(dir).map_err(LakeError::io("create partition directory", dir))?;
                let name = fin.file_name().and_then(|n| n.to_str()).unwrap_or("part");
                dir.join(format!(".{name}.inprogress"))
            }
            Store::Object { spool_dir, .. } => {
                let n = SPOOL_SEQ.fetch_add(1, Ordering::Relaxed);
                spool_dir.join(format!(".spool-{}-{n}.inprogress", std::process::id()))
            }
        };
        let file = File::create(&path).map_err(LakeError::io("create spool file", &path))?;
        Ok((
            Spool {
                path,
                key: key.to_owned(),
            },
            BufWriter::with_capacity(64 * 1024, file),
        ))
    }

    /// Makes a finished spool file visible under its final key.
    ///
    /// `file` is the spool's file, flushed. Locally: rename (overwrite), or fsync then hard
    /// link + unlink (create-only, atomic and durable). On S3: one PUT, or a multipart upload
    /// (durable when it returns).
    pub async fn commit(&self, spool: Spool, file: File, mode: CommitMode) -> Result<u64, LakeError> {
        let size = file
            .metadata()
            .map_err(LakeError::io("stat spool file", &spool.path))?
            .len();
        match self {
            Store::Local { root } => {
                if mode == CommitMode::CreateOnly {
                    file.sync_all().map_err(LakeError::io("fsync", &spool.path))?;
                }
                drop(file);
                let fin = root.join(&spool.key);
                match mode {
                    CommitMode::Overwrite => {
                        std::fs::rename(&spool.path, &fin).map_err(LakeError::io("rename", &fin))?;
                    }
                    CommitMode::CreateOnly => {
                        let linked = std::fs::hard_link(&spool.path, &fin);
                        let _ = std::fs::remove_file(&spool.path);
                        match linked {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                                return Err(LakeError::AlreadyExists { key: spool.key });
                            }
                            Err(e) => return Err(LakeError::io("link", &fin)(e)),
                        }
                    }
                }
                Ok(size)
            }
            Store::Object { store, .. } => {
                drop(file);
                let key = self.full_key(&spool.key);
                let result = upload(store.as_ref(), &spool.path, &key, size, mode).await;
                let _ = tokio::fs::remove_file(&spool.path).await;
                result.map(|()| size)
            }
        }
    }

    /// Makes committed files (keys relative to the table root) and their directories durable:
    /// fsync of each file, then of each directory once, so the renames survive a crash. A
    /// no-op on S3, where a completed PUT is durable.
    pub fn sync<'k>(&self, keys: impl IntoIterator<Item = &'k str> + Clone) -> Result<(), LakeError> {
        for key in keys.clone() {
            self.sync_file(key)?;
        }
        self.sync_dirs(keys)
    }

    /// Makes one committed file's data durable (fsync); a no-op on S3.
    pub fn sync_file(&self, key: &str) -> Result<(), LakeError> {
        let Store::Local { root } = self else { return Ok(()) };
        let path = root.join(key);
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(LakeError::io("fsync", &path))
    }

    /// Makes the directory entries of committed files durable: one fsync per directory, so
    /// the renames survive a crash. A no-op on S3.
    pub fn sync_dirs<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<(), LakeError> {
        let Store::Local { root } = self else { return Ok(()) };
        let dirs: std::collections::BTreeSet<_> = keys
            .into_iter()
            .filter_map(|key| root.join(key).parent().map(Path::to_owned))
            .collect();
        for dir in dirs {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(LakeError::io("fsync directory", &dir))?;
        }
        Ok(())
    }

    /// Keys (relative to the table root) of the data and dead-letter files named
    /// `part-<tag>-<seq>.parquet` under the table, grouped by tag: what earlier runs wrote.
    pub async fn list_parts(&self) -> Result<HashMap<String, Vec<String>>, LakeError> {
        let mut keys = Vec::new();
        match self {
            Store::Local { root } => list_local(root, "", &mut keys)?,
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
                    let rel = key
                        .strip_prefix(prefix.as_str())
                        .unwrap_or(&key)
                        .trim_start_matches('/');
                    keys.push(rel.to_owned());
                }
            }
        }
        let mut parts: HashMap<String, Vec<String>> = HashMap::new();
        for key in keys {
            if let Some(tag) = part_tag(&key) {
                parts.entry(tag.to_owned()).or_default().push(key);
            }
        }
        Ok(parts)
    }

    /// Deletes a committed file (relative key).
    pub async fn delete(&self, key: &str) -> Result<(), LakeError> {
        match self {
            Store::Local { root } => {
                let path = root.join(key);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LakeError::io("delete", &path)(e)),
                    _ => Ok(()),
                }
            }
            Store::Object { store, .. } => {
                let full = self.full_key(key);
                store
                    .delete(&ObjectPath::from(full.as_str()))
                    .await
                    .map_err(|source| LakeError::Store {
                        op: "delete",
                        key: full,
                        source,
                    })
            }
        }
    }

    /// Keys (relative to the table root) of the files in directory `dir` whose names start
    /// with `name_prefix`. A directory that does not exist holds none. On S3 it costs one
    /// request (a listing that starts at the prefix), whatever the directory holds.
    pub async fn list_named(&self, dir: &str, name_prefix: &str) -> Result<Vec<String>, LakeError> {
        let join = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        let mut keys = Vec::new();
        match self {
            Store::Local { root } => {
                let path = root.join(dir);
                let entries = match std::fs::read_dir(&path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
                    Err(e) => return Err(LakeError::io("list directory", &path)(e)),
                };
                for entry in entries {
                    let name = entry.map_err(LakeError::io("list directory", &path))?.file_name();
                    if let Some(name) = name.to_str().filter(|n| n.starts_with(name_prefix)) {
                        keys.push(join(name));
                    }
                }
            }
            Store::Object { store, .. } => {
                // Listed from the first name that could match, in key order, stopping at the
                // first that does not: one request however large the directory is.
                let full_dir = self.full_key(dir);
                let (base, start) = if full_dir.is_empty() {
                    (None, name_prefix.to_owned())
                } else {
                    (
                        Some(ObjectPath::from(full_dir.as_str())),
                        format!("{full_dir}/{name_prefix}"),
                    )
                };
                let mut listing = store.list_with_offset(base.as_ref(), &ObjectPath::from(start.as_str()));
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(|source| LakeError::Store {
                        op: "list",
                        key: full_dir.clone(),
                        source,
                    })?;
                    match meta.location.as_ref().strip_prefix(start.as_str()) {
                        Some(rest) if !rest.contains('/') => keys.push(join(&format!("{name_prefix}{rest}"))),
                        Some(_) => {}
                        None => break,
                    }
                }
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }

    /// Removes a spool file that will not be committed.
    pub fn abort(&self, spool: Spool) {
        let _ = std::fs::remove_file(&spool.path);
    }
}

/// The `<tag>` of a `…/part-<tag>-<seq>.parquet` key, where the tag is
/// `<16 hex>-<12 digits>` (see `Unit::tag`).
fn part_tag(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next()?;
    let rest = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let (tag, seq) = rest.rsplit_once('-')?;
    let (hash, start) = tag.split_once('-')?;
    let ok = hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && start.len() == 12
        && start.bytes().all(|b| b.is_ascii_digit())
        && !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(tag)
}

fn list_local(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), LakeError> {
    for entry in std::fs::read_dir(dir).map_err(LakeError::io("list table", dir))? {
        let entry = entry.map_err(LakeError::io("list table", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(LakeError::io("list table", dir))?;
        if kind.is_dir() {
            list_local(&entry.path(), &key, out)?;
        } else if kind.is_file() {
            out.push(key);
        }
    }
    Ok(())
}

async fn upload(store: &dyn ObjectStore, path: &Path, key: &str, size: u64, mode: CommitMode) -> Result<(), LakeError> {
    let location = ObjectPath::from(key);
    let put_mode = match mode {
        CommitMode::Overwrite => PutMode::Overwrite,
        CommitMode::CreateOnly => PutMode::Create,
    };
    if size <= SINGLE_PUT_MAX {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(LakeError::io("read spool file", path))?;
        let opts = PutOptions {
            mode: put_mode,
            ..Default::default()
        };
        return match store.put_opts(&location, PutPayload::from(bytes), opts).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(LakeError::AlreadyExists { key: key.into() }),
            Err(source) => Err(LakeError::Store {
                op: "put",
                key: key.into(),
                source,
            }),
        };
    }
    // Multipart uploads have no create-only form; create-only callers keep files under
    // SINGLE_PUT_MAX.
    let upload = store
        .put_multipart(&location)
        .await
        .map_err(|source| LakeError::Store {
            op: "start multipart upload",
            key: key.into(),
            source,
        })?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
    if let Err(e) = upload_parts(&mut writer, path, key).await {
        // Uploaded parts are billed until the upload is aborted.
        let _ = writer.abort().await;
        return Err(e);
    }
    writer.finish().await.map_err(|source| LakeError::Store {
        op: "complete multipart upload",
        key: key.into(),
        source,
    })?;
    Ok(())
}

async fn upload_parts(writer: &mut WriteMultipart, path: &Path, key: &str) -> Result<(), LakeError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(LakeError::io("open spool file", path))?;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(LakeError::io("read spool file", path))?;
        if n == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(4).await.map_err(|source| LakeError::Store {
            op: "upload part",
            key: key.into(),
            source,
        })?;
        writer.write(&buf[..n]);
    }
}
