//! Errors of the lake: what failed, on which object, and whether trying again may help.

use std::path::PathBuf;

/// A failure writing the table. Bad *input* never shows up here: it becomes a dead letter.
/// These are ours (a bug, a bad config) or an external service's (disk, S3).
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A local file or directory operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An input file could not be read to its end (a truncated gzip stream, an I/O error).
    /// Replay keeps what was read, records the failure as a dead letter and carries on.
    #[error("{op} {path}: {source}")]
    Input {
        /// What was being done.
        op: &'static str,
        /// The input file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error("writing Parquet file {key}: {source}")]
    Parquet {
        /// The object key of the file being written.
        key: String,
        /// The encoder's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow batch failed (a bug: the schema is fixed).
    #[error("building Arrow batch: {source}")]
    Arrow {
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The object store refused or failed an operation.
    #[error("object store {op} {key}: {source}")]
    Store {
        /// What was being done.
        op: &'static str,
        /// The object key.
        key: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The output location is not usable.
    #[error("invalid output location `{location}`: {reason}")]
    Location {
        /// What was given.
        location: String,
        /// Why it is not usable.
        reason: String,
    },
    /// An operation did not finish before the caller's deadline (it may still have taken
    /// effect).
    #[error("{op} {key}: did not finish before the deadline")]
    Deadline {
        /// What was being done.
        op: &'static str,
        /// The object key.
        key: String,
    },
    /// The caller's [`CommitGate`](crate::CommitGate) stopped a write before it committed
    /// anything (its commit intent could not be recorded).
    #[error("recording the commit intent: {reason}")]
    Gate {
        /// Why.
        reason: String,
    },
    /// A create-only commit found the object already there: an earlier attempt committed it.
    #[error("object {key} already exists")]
    AlreadyExists {
        /// The object key.
        key: String,
    },
}

impl LakeError {
    /// Whether the same operation may succeed if tried again (throttling, timeouts, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            LakeError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            LakeError::Store { source, .. } => matches!(source, object_store::Error::Generic { .. }),
            LakeError::Deadline { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Io { op, path, source }
    }

    pub(crate) fn input(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Input { op, path, source }
    }
}
