//! The Sync Trigger rules engine: validate and shape the dataset changes Cognito Sync hands to a
//! Sync Trigger Lambda (Cognito Events), from a declarative rules file.
//!
//! Cognito calls the trigger on every sync with the whole dataset (`datasetRecords` holds all
//! records); the function returns the same document with only `datasetRecords` changed, or fails
//! to refuse the sync. This crate is pure (no async, no network; the only I/O is reading a rules
//! file or variable in [`RuleSet::load`]), so the `sync-trigger` Lambda, the `synclake trigger`
//! CLI and the local Cognito Sync service all call the same code in-process.
//!
//! # Modules and data flow
//!
//! ```text
//! rules text ─► load (TOML/JSON, located errors) ─► rules::RulesFile ─► load (semantic lint) ─► RuleSet
//!                                                                   (glob, value_type, schema compiled once)
//! event bytes ─► event::Event (raw pieces; only what rules read is decoded) ─► engine (ruleset lookups)
//!             ─► decision::Decision { Accept { response bytes } | Reject(Rejection), changes }
//! ```
//!
//! - [`rules`]: the rules file as users write it (serde, `deny_unknown_fields`).
//! - `load`: parsing with line/column and field paths, semantic checks, compilation ([`Format`],
//!   [`RulesSource`], [`RuleSet::parse`], [`RuleSet::load`], [`parse_file`]).
//! - `ruleset`: the compiled [`RuleSet`] and key-rule evaluation (transforms, then checks).
//! - `glob`: `*` / `?` globs compiled to linear-time regexes.
//! - `value_type`, `schema`: value types and the supported JSON Schema subset.
//! - `event`: the event read in one pass as raw text pieces, and the response rebuilt from them
//!   (or the request itself when nothing changed).
//! - `engine`: [`RuleSet::apply`].
//! - `decision`, `error`: what comes out.
//!
//! # Calling it from a Lambda
//!
//! Load the rules once at cold start, outside the handler, and take the event as raw JSON: do
//! **not** round-trip it through `aws_lambda_events::event::cognito::CognitoEvent`, whose
//! `Option<String>` fields serialize an absent `oldValue` as `null` (Cognito reads `null` as
//! "delete") and which drops unknown fields.
//!
//! ```ignore
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//! use serde_json::value::RawValue;
//! use synclake_trigger::{Format, RuleSet, RulesSource};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     lambda_runtime::tracing::init_default_subscriber();
//!     // SYNCLAKE_TRIGGER_RULES holds the rules text; or RulesSource::Path("/var/task/rules.toml"),
//!     // or for S3: fetch the object with aws-sdk-s3, then
//!     // RulesSource::Bytes { bytes, format: Format::Auto, origin: "s3://bucket/key".into() }.
//!     let rules = RuleSet::load(RulesSource::EnvVar("SYNCLAKE_TRIGGER_RULES".into()))?; // fail the cold start
//!     let rules = &rules;
//!     lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
//!         let decision = rules.apply(event.payload.get().as_bytes())?; // EventError: fail the sync
//!         let response = decision.into_result()?; // Rejection: fail the sync (Cognito refuses it)
//!         // The response is valid JSON by construction.
//!         Ok::<Box<RawValue>, Error>(RawValue::from_string(String::from_utf8(response)?)?)
//!     }))
//!     .await
//! }
//! ```
//!
//! Both [`EventError`] and [`Rejection`] should map to a failed invocation (Cognito answers
//! `InvalidLambdaFunctionOutputException` and the update does not happen); give them distinct
//! `error_type`s (e.g. `InvalidEvent`, `SyncRejected`) so that they can be told apart in logs.
//! [`RuleSet::apply`] logs one INFO line per decision (pool, dataset, outcome, rule) and one
//! DEBUG line per change; values only with `log_values = true`.

pub mod decision;
mod engine;
pub mod error;
mod event;
mod glob;
mod load;
pub mod rules;
mod ruleset;
mod schema;
mod value_type;

pub use decision::{Change, ChangeKind, Decision, Rejection, RuleKind, Verdict};
pub use error::{EventError, LintError, LintErrors, LoadError, Location};
pub use load::{Format, MAX_RULES_BYTES, RulesSource, parse_file};
pub use rules::{Action, RulesFile};
pub use ruleset::RuleSet;

/// Largest event accepted: Cognito's own limits (1 MB of values per dataset, old and new values
/// both sent, JSON escaping) stay well below it; anything larger is refused rather than parsed.
pub const MAX_EVENT_BYTES: usize = 16 << 20;
