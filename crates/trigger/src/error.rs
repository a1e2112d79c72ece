//! Errors: a rules file that is not valid ([`LintErrors`], [`LoadError`]) and an event that
//! cannot be read ([`EventError`]). A sync the rules refuse is not an error of this crate but a
//! decision: see [`crate::Rejection`].

use std::fmt;
use std::path::PathBuf;

/// Where in a rules file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line and column (in characters) when the parser knows them.
    pub line_col: Option<(usize, usize)>,
    /// Path to the offending field, like `datasets[2].keys["score"].range`, when known.
    pub path: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.line_col, &self.path) {
            (Some((l, c)), Some(p)) => write!(f, "{l}:{c}: {p}"),
            (Some((l, c)), None) => write!(f, "{l}:{c}"),
            (None, Some(p)) => f.write_str(p),
            (None, None) => f.write_str("(file)"),
        }
    }
}

/// One problem in a rules file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct LintError {
    /// Where it is.
    pub location: Location,
    /// What is wrong, in words.
    pub message: String,
}

/// Every problem found in a rules file (never empty). Semantic checks go on after the first
/// problem so that `lint` reports them all at once; syntax errors stop parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LintErrors(pub Vec<LintError>);

impl fmt::Display for LintErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} error{} in rules", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// A rules source that could not be turned into a [`crate::RuleSet`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The rules file could not be read.
    #[error("cannot read rules file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable named as the source is unset or not UTF-8.
    #[error("environment variable {var} is unset or not valid UTF-8")]
    EnvVar {
        /// Its name.
        var: String,
    },
    /// The rules bytes (e.g. an S3 object) are not UTF-8.
    #[error("rules from {origin} are not valid UTF-8 (at byte {valid_up_to})")]
    NotUtf8 {
        /// Where the bytes came from, for the message.
        origin: String,
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The rules are not valid.
    #[error("rules from {origin}: {errors}")]
    Invalid {
        /// Where the rules came from, for the message.
        origin: String,
        /// Every problem found.
        #[source]
        errors: LintErrors,
    },
}

/// An event the engine cannot read. The sync cannot be judged, so a Lambda should fail it
/// (Cognito then refuses the update), exactly like a rejection.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Larger than [`crate::MAX_EVENT_BYTES`].
    #[error("event is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 (JSON must be).
    #[error("event is not valid UTF-8 (at byte {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// Not a JSON object, or malformed JSON.
    #[error("event is not a valid JSON object")]
    Json {
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A field the engine needs is missing or of the wrong type.
    #[error("event field {field}: {problem}")]
    Field {
        /// The top-level field.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// A top-level field the engine reads appears twice, so which one Cognito means is unclear.
    #[error("event field {field} appears more than once")]
    DuplicateField {
        /// The field.
        field: &'static str,
    },
    /// A record of `datasetRecords` is malformed.
    #[error("record {key:?} of datasetRecords: {problem}")]
    Record {
        /// The record key (shortened when long).
        key: String,
        /// What is wrong.
        problem: String,
    },
}
