//! What [`crate::RuleSet::apply`] decides: accept (with the response event) or reject, and
//! every change the rules made on the way.

use std::fmt;

use crate::rules::Action;

/// The rule (the rules-file field) behind a change or a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleKind {
    /// No dataset rule covers the sync and `unmatched = "reject"`.
    Unmatched,
    /// `max_records`.
    MaxRecords,
    /// `max_bytes`.
    MaxBytes,
    /// `allowed_keys`.
    AllowedKeys,
    /// `denied_keys`.
    DeniedKeys,
    /// `required_keys`.
    RequiredKeys,
    /// `read_only_keys`.
    ReadOnlyKeys,
    /// `unknown_keys`.
    UnknownKeys,
    /// A key rule's `type`.
    Type,
    /// A key rule's `schema`.
    Schema,
    /// A key rule's `enum`.
    Enum,
    /// A key rule's `range`.
    Range,
    /// A key rule's `regex`.
    Regex,
    /// A key rule's `max_length`.
    MaxLength,
    /// Transform `trim`.
    Trim,
    /// Transform `lowercase`.
    Lowercase,
    /// Transform `clamp`.
    Clamp,
    /// Transform `default`.
    Default,
}

impl RuleKind {
    /// The rules-file name of the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Unmatched => "unmatched",
            RuleKind::MaxRecords => "max_records",
            RuleKind::MaxBytes => "max_bytes",
            RuleKind::AllowedKeys => "allowed_keys",
            RuleKind::DeniedKeys => "denied_keys",
            RuleKind::RequiredKeys => "required_keys",
            RuleKind::ReadOnlyKeys => "read_only_keys",
            RuleKind::UnknownKeys => "unknown_keys",
            RuleKind::Type => "type",
            RuleKind::Schema => "schema",
            RuleKind::Enum => "enum",
            RuleKind::Range => "range",
            RuleKind::Regex => "regex",
            RuleKind::MaxLength => "max_length",
            RuleKind::Trim => "trim",
            RuleKind::Lowercase => "lowercase",
            RuleKind::Clamp => "clamp",
            RuleKind::Default => "default",
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Its new value was rewritten by transforms (`trim`, `lowercase`, `clamp`, `default`).
    Transformed,
    /// A violation put its old value back.
    Restored,
    /// A violation left it out of the response (Cognito ignores the change).
    Dropped,
    /// It was added: a required key absent from the dataset, with its `default` (on the key's
    /// record when the event has one, e.g. a tombstone; else as a new record).
    Added,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Transformed => "transformed",
            ChangeKind::Restored => "restored",
            ChangeKind::Dropped => "dropped",
            ChangeKind::Added => "added",
        })
    }
}

/// One change the rules made to `datasetRecords`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The record key.
    pub key: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The rule that made it happen (for transforms, the last one that changed the value).
    pub rule: RuleKind,
    /// Why, without the value (user data).
    pub reason: String,
}

/// Why a sync was refused. Implements `Error` so a Lambda handler can return it as is; its
/// message names the dataset, the key and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sync rejected: dataset {dataset:?}{}: {rule}: {message}", key_part(.key))]
pub struct Rejection {
    /// `datasetName` of the event.
    pub dataset: String,
    /// The record key, for record-level rules (shortened when very long).
    pub key: Option<String>,
    /// The rule.
    pub rule: RuleKind,
    /// What is wrong, without the value.
    pub message: String,
}

fn key_part(key: &Option<String>) -> String {
    match key {
        Some(k) => format!(", key {k:?}"),
        None => String::new(),
    }
}

/// Accept (with the response) or reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The sync goes ahead; `response` is the event to return to Cognito: the request with
    /// only `datasetRecords` changed (byte-identical to the request when nothing changed).
    Accept {
        /// The response JSON.
        response: Vec<u8>,
    },
    /// The sync is refused: the Lambda must return an error.
    Reject(Rejection),
}

/// The outcome of applying the rules to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Accept or reject.
    pub verdict: Verdict,
    /// Every change made (also those made before a rejection, for the record).
    pub changes: Vec<Change>,
    /// Index in `datasets` of the dataset rule that applied, if any.
    pub dataset_rule: Option<usize>,
}

impl Decision {
    /// The response bytes when accepted.
    pub fn response(&self) -> Option<&[u8]> {
        match &self.verdict {
            Verdict::Accept { response } => Some(response),
            Verdict::Reject(_) => None,
        }
    }

    /// The rejection when rejected.
    pub fn rejection(&self) -> Option<&Rejection> {
        match &self.verdict {
            Verdict::Accept { .. } => None,
            Verdict::Reject(r) => Some(r),
        }
    }

    /// The response, or the rejection as an error: what a Lambda handler returns.
    pub fn into_result(self) -> Result<Vec<u8>, Rejection> {
        match self.verdict {
            Verdict::Accept { response } => Ok(response),
            Verdict::Reject(r) => Err(r),
        }
    }
}

/// How a violation is settled.
pub(crate) fn change_kind(action: Action) -> Option<ChangeKind> {
    match action {
        Action::Reject => None,
        Action::Restore => Some(ChangeKind::Restored),
        Action::Drop => Some(ChangeKind::Dropped),
    }
}
