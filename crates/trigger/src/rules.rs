//! The rules file as written by users: plain serde types, `deny_unknown_fields` everywhere so a
//! misspelt field is a lint error rather than a rule silently not enforced.
//!
//! These types say nothing about validity beyond shape; [`crate::load`] checks the semantics and
//! compiles them into a [`crate::RuleSet`]. The same types read TOML and JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Format version; only `1` exists. Optional so that small files stay small.
    #[serde(default)]
    pub version: Option<u32>,
    /// Log record values in decisions. Off by default: values are user data.
    #[serde(default)]
    pub log_values: bool,
    /// What to do with a sync that no `[[datasets]]` entry covers.
    #[serde(default)]
    pub unmatched: Unmatched,
    /// Default action for every violation, unless a dataset or key rule says otherwise
    /// (default: `reject`).
    #[serde(default)]
    pub on_violation: Option<Action>,
    /// Dataset rules, tried in file order; the first whose scope matches applies.
    #[serde(default)]
    pub datasets: Vec<DatasetRules>,
}

/// What happens to a sync no dataset rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// Return the event unchanged.
    #[default]
    Accept,
    /// Fail the sync.
    Reject,
}

/// What to do when a rule is violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Fail the whole sync: the trigger returns an error naming dataset, key and rule, and
    /// Cognito refuses the update.
    Reject,
    /// Put the old value back (`newValue` = `oldValue`; a key that had no old value gets
    /// `newValue: null`, `op: "remove"`, so it is not created).
    Restore,
    /// Leave the record out of the response; Cognito ignores omitted records, so the change
    /// is not applied.
    Drop,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Reject => "reject",
            Action::Restore => "restore",
            Action::Drop => "drop",
        })
    }
}

/// What to do with a changed record whose key matches no key rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownKeys {
    /// Let it through unchecked.
    #[default]
    Allow,
    /// Fail the sync.
    Reject,
    /// Put the old value back.
    Restore,
    /// Leave the change out.
    Drop,
}

/// Rules for the datasets one scope covers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRules {
    /// Glob (`*`, `?`, `\` escapes) on `datasetName`; default `*`.
    #[serde(default = "star")]
    pub name: String,
    /// Glob on `identityPoolId`; default `*`.
    #[serde(default = "star")]
    pub identity_pool: String,
    /// Default action for this dataset's violations.
    #[serde(default)]
    pub on_violation: Option<Action>,
    /// Most records with a value after the sync.
    #[serde(default)]
    pub max_records: Option<u64>,
    /// Most bytes (UTF-8 key + value, summed over records with a value) after the sync.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// When given, a changed key must match one of these globs.
    #[serde(default)]
    pub allowed_keys: Option<Vec<String>>,
    /// A changed key must match none of these globs.
    #[serde(default)]
    pub denied_keys: Vec<String>,
    /// Keys (literal names) that must keep a value.
    #[serde(default)]
    pub required_keys: Vec<String>,
    /// Globs of keys clients may not create, change or remove.
    #[serde(default)]
    pub read_only_keys: Vec<String>,
    /// What to do with a changed key no key rule matches.
    #[serde(default)]
    pub unknown_keys: UnknownKeys,
    /// Actions for the dataset-level checks, overriding `on_violation`.
    #[serde(default)]
    pub actions: DatasetActions,
    /// Key rules by key glob. The most specific pattern wins, not the first written.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyRule>,
}

fn star() -> String {
    "*".to_owned()
}

/// Per-check action overrides of a dataset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetActions {
    /// Action for `max_records`.
    #[serde(default)]
    pub max_records: Option<Action>,
    /// Action for `max_bytes`.
    #[serde(default)]
    pub max_bytes: Option<Action>,
    /// Action for `allowed_keys`.
    #[serde(default)]
    pub allowed_keys: Option<Action>,
    /// Action for `denied_keys`.
    #[serde(default)]
    pub denied_keys: Option<Action>,
    /// Action for `required_keys`.
    #[serde(default)]
    pub required_keys: Option<Action>,
    /// Action for `read_only_keys`.
    #[serde(default)]
    pub read_only_keys: Option<Action>,
}

/// The value type a key rule requires. Cognito values are always strings; the type says what
/// the string must spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeName {
    /// Any string.
    #[default]
    String,
    /// A base-10 `i64`: optional `-`, digits.
    Integer,
    /// A finite JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON document (nested at most `max_depth` deep, default 128); with `schema`,
    /// validated against it.
    Json,
}

/// Rules for the keys one glob matches.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRule {
    /// Required value type; `json` when `schema` is given, else `string`.
    #[serde(default, rename = "type")]
    pub value_type: Option<TypeName>,
    /// A JSON Schema (the subset documented in the README) the value must satisfy.
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
    /// The only allowed values (compared after transforms).
    #[serde(default, rename = "enum")]
    pub allowed_values: Option<Vec<String>>,
    /// Inclusive numeric bounds (integer and number types).
    #[serde(default)]
    pub range: Option<Range>,
    /// A regular expression (Rust `regex` syntax) the whole value must match.
    #[serde(default)]
    pub regex: Option<String>,
    /// Most characters (Unicode scalar values).
    #[serde(default)]
    pub max_length: Option<u64>,
    /// Deepest nesting of arrays and objects in a `json` value (1 to 128, default 128).
    #[serde(default)]
    pub max_depth: Option<u32>,
    /// Transform: strip leading and trailing whitespace.
    #[serde(default)]
    pub trim: bool,
    /// Transform: lowercase (Unicode).
    #[serde(default)]
    pub lowercase: bool,
    /// Transform: a number outside `range` is set to the nearest bound instead of violating it.
    #[serde(default)]
    pub clamp: bool,
    /// Value used when a client removes the key, or when a required key is absent.
    #[serde(default)]
    pub default: Option<String>,
    /// Action for this key rule's violations.
    #[serde(default)]
    pub on_violation: Option<Action>,
}

/// Inclusive numeric bounds; either may be left out.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Smallest allowed value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed value.
    #[serde(default)]
    pub max: Option<f64>,
}
