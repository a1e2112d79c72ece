//! The sync-trigger function: Cognito Events' Sync Trigger, answered by the rules engine of
//! `synclake-trigger`.
//!
//! The rules are loaded and validated once, at cold start, from exactly one of:
//! - `SYNCLAKE_TRIGGER_RULES`: the rules text itself (TOML or JSON);
//! - `SYNCLAKE_TRIGGER_RULES_FILE`: a path (a file packaged with the function, say);
//! - `SYNCLAKE_TRIGGER_RULES_URL`: an S3 object, `s3://bucket/key` (the function's role needs
//!   `s3:GetObject` on it; `SYNCLAKE_S3_ENDPOINT` / `SYNCLAKE_S3_PATH_STYLE` as for
//!   stream-to-parquet).
//!
//! A rules file that does not load stops the function at start with every lint error listed,
//! instead of letting syncs through unchecked.
//!
//! The event is taken and returned as raw JSON rather than as `aws_lambda_events`'
//! `CognitoEvent`: that type writes an absent `oldValue` back as `null` (which Cognito reads
//! as "delete this record") and drops fields it does not know, and Cognito refuses a response
//! whose fields other than `datasetRecords` changed. The engine returns every other field byte
//! for byte, and untouched records exactly as they came.

use std::path::PathBuf;

use lambda_runtime::Diagnostic;
use object_store::ObjectStoreExt as _;
use serde_json::value::RawValue;
use synclake_lake::S3Options;
use synclake_lake::store::s3_client;
use synclake_trigger::{EventError, Format, LoadError, Rejection, RuleSet, RulesSource};

use crate::config::{ConfigError, s3_options};
use crate::metrics::{Metrics, name};

/// Where the rules come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesLocation {
    /// The text is in `SYNCLAKE_TRIGGER_RULES`.
    Inline,
    /// A local file.
    File(PathBuf),
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
    },
}

/// The function's settings.
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    /// Where the rules are.
    pub rules: RulesLocation,
    /// How to reach S3, for rules in S3.
    pub s3: S3Options,
}

const RULES_VARS: [&str; 3] = [
    "SYNCLAKE_TRIGGER_RULES",
    "SYNCLAKE_TRIGGER_RULES_FILE",
    "SYNCLAKE_TRIGGER_RULES_URL",
];

impl TriggerConfig {
    /// Reads the settings through `env`, checking that exactly one rules source is given.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<TriggerConfig, ConfigError> {
        let get = |var: &str| env(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let given: Vec<&'static str> = RULES_VARS.into_iter().filter(|v| get(v).is_some()).collect();
        let rules = match given.as_slice() {
            ["SYNCLAKE_TRIGGER_RULES"] => RulesLocation::Inline,
            ["SYNCLAKE_TRIGGER_RULES_FILE"] => {
                RulesLocation::File(PathBuf::from(get("SYNCLAKE_TRIGGER_RULES_FILE").unwrap_or_default()))
            }
            ["SYNCLAKE_TRIGGER_RULES_URL"] => {
                let url = get("SYNCLAKE_TRIGGER_RULES_URL").unwrap_or_default();
                match url.strip_prefix("s3://").and_then(|rest| rest.split_once('/')) {
                    Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => RulesLocation::S3 {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    },
                    _ => {
                        return Err(ConfigError {
                            var: "SYNCLAKE_TRIGGER_RULES_URL",
                            reason: format!("`{url}`: expected s3://bucket/key"),
                        });
                    }
                }
            }
            [] => {
                return Err(ConfigError {
                    var: "SYNCLAKE_TRIGGER_RULES",
                    reason: "no rules: set SYNCLAKE_TRIGGER_RULES (text), SYNCLAKE_TRIGGER_RULES_FILE (path) \
                             or SYNCLAKE_TRIGGER_RULES_URL (s3://bucket/key)"
                        .into(),
                });
            }
            [first, ..] => {
                return Err(ConfigError {
                    var: first,
                    reason: format!("set only one of {}", given.join(", ")),
                });
            }
        };
        Ok(TriggerConfig {
            rules,
            s3: s3_options(&get)?,
        })
    }
}

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum TriggerInitError {
    /// A setting is missing or invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The rules could not be read or are invalid (every lint error is listed).
    #[error("rules: {0}")]
    Rules(#[from] LoadError),
    /// The rules object could not be fetched from S3.
    #[error("rules s3://{bucket}/{key}: {source}")]
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
}

/// Why a sync is refused (the invocation fails, and Cognito refuses the update).
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// A rule rejected the sync.
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// The event is not a Sync Trigger event the engine can read.
    #[error("invalid Sync Trigger event: {0}")]
    InvalidEvent(#[from] EventError),
    /// The engine's response is not valid JSON (a bug; the sync is refused rather than passed
    /// through unchecked).
    #[error("response is not valid JSON: {0}")]
    Response(#[from] serde_json::Error),
}

impl From<TriggerError> for Diagnostic {
    fn from(e: TriggerError) -> Diagnostic {
        let error_type = match &e {
            TriggerError::Rejected(_) => "synclake.SyncRejected",
            TriggerError::InvalidEvent(_) => "synclake.InvalidEvent",
            TriggerError::Response(_) => "synclake.InternalError",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The function: the compiled rules, shared by every invocation of the container.
#[derive(Debug)]
pub struct SyncTrigger {
    rules: RuleSet,
}

impl SyncTrigger {
    /// Loads and validates the rules from where the configuration says.
    pub async fn load(config: &TriggerConfig) -> Result<SyncTrigger, TriggerInitError> {
        let source = match &config.rules {
            RulesLocation::Inline => RulesSource::EnvVar("SYNCLAKE_TRIGGER_RULES".into()),
            RulesLocation::File(path) => RulesSource::Path(path.clone()),
            RulesLocation::S3 { bucket, key } => {
                let fail = |source| TriggerInitError::S3 {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    source,
                };
                let store = s3_client(bucket, &config.s3).map_err(fail)?;
                let object = store.get(&key.as_str().into()).await.map_err(fail)?;
                let bytes = object.bytes().await.map_err(fail)?;
                RulesSource::Bytes {
                    bytes: bytes.to_vec(),
                    format: Format::from_path(std::path::Path::new(key)),
                    origin: format!("s3://{bucket}/{key}"),
                }
            }
        };
        Ok(SyncTrigger {
            rules: RuleSet::load(source)?,
        })
    }

    /// A function over already loaded rules.
    pub fn new(rules: RuleSet) -> SyncTrigger {
        SyncTrigger { rules }
    }

    /// Rules loaded, for the start-up log line.
    pub fn rule_counts(&self) -> (usize, usize) {
        (self.rules.dataset_rule_count(), self.rules.key_rule_count())
    }

    /// Applies the rules to one Sync Trigger event: the (possibly changed) event, or why the
    /// sync is refused.
    pub fn handle(&self, event: Box<RawValue>) -> Result<Box<RawValue>, TriggerError> {
        let result = self.decide(event);
        let failed = |kind: fn(&TriggerError) -> bool| u64::from(result.as_ref().is_err_and(kind));
        Metrics::default()
            .count(name::SYNCS, 1)
            .count(name::CHANGED, u64::from(matches!(result, Ok((_, true)))))
            .count(name::REJECTED, failed(|e| matches!(e, TriggerError::Rejected(_))))
            .count(
                name::INVALID_EVENTS,
                failed(|e| !matches!(e, TriggerError::Rejected(_))),
            )
            .emit();
        result.map(|(response, _)| response)
    }

    /// The answer, and whether the rules changed the event.
    fn decide(&self, event: Box<RawValue>) -> Result<(Box<RawValue>, bool), TriggerError> {
        let response = self.rules.apply(event.get().as_bytes())?.into_result()?;
        if response == event.get().as_bytes() {
            // Nothing changed (the usual case): hand the request back rather than validate a
            // copy of it.
            return Ok((event, false));
        }
        // The engine builds the response from the request's own (valid) JSON pieces.
        let text = String::from_utf8(response)
            .map_err(|e| TriggerError::Response(serde::de::Error::custom(format!("not UTF-8: {e}"))))?;
        Ok((RawValue::from_string(text)?, true))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<TriggerConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        TriggerConfig::from_env(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn exactly_one_rules_source() {
        assert_eq!(
            config(&[("SYNCLAKE_TRIGGER_RULES", "[x]")]).unwrap().rules,
            RulesLocation::Inline
        );
        assert_eq!(
            config(&[("SYNCLAKE_TRIGGER_RULES_FILE", "/var/task/rules.toml")])
                .unwrap()
                .rules,
            RulesLocation::File("/var/task/rules.toml".into())
        );
        assert_eq!(
            config(&[("SYNCLAKE_TRIGGER_RULES_URL", "s3://b/rules/prod.toml")])
                .unwrap()
                .rules,
            RulesLocation::S3 {
                bucket: "b".into(),
                key: "rules/prod.toml".into()
            }
        );
        let none = config(&[]).unwrap_err();
        assert!(none.to_string().contains("no rules"), "{none}");
        let two = config(&[("SYNCLAKE_TRIGGER_RULES", "x"), ("SYNCLAKE_TRIGGER_RULES_FILE", "y")]).unwrap_err();
        assert!(two.to_string().contains("only one"), "{two}");
        let bad = config(&[("SYNCLAKE_TRIGGER_RULES_URL", "s3://bucket-only")]).unwrap_err();
        assert_eq!(bad.var, "SYNCLAKE_TRIGGER_RULES_URL");
    }
}
