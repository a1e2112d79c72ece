//! Loading: text (TOML or JSON) → [`RulesFile`] (syntax and shape errors with line/column and
//! field path) → semantic checks (errors with a path like `datasets[2].keys["score"].range`) →
//! the compiled [`RuleSet`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use regex::RegexBuilder;

use crate::error::{LintError, LintErrors, LoadError, Location};
use crate::glob::{self, Glob, KeySet, Parsed};
use crate::rules::{Action, DatasetRules, KeyRule, RulesFile, TypeName, UnknownKeys};
use crate::ruleset::{DatasetRuleSet, KeyRuleSet, KeyRules, RuleSet, ValueRegex};
use crate::schema::Schema;
use crate::value_type::{MAX_JSON_DEPTH, REGEX_SIZE_LIMIT, ValueType};

/// Syntax of a rules text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// TOML.
    Toml,
    /// JSON.
    Json,
    /// JSON if the first non-blank character is `{`, else TOML.
    #[default]
    Auto,
}

impl Format {
    /// The format a file name implies: `.json` → JSON, `.toml` → TOML, else [`Format::Auto`].
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            _ => Format::Auto,
        }
    }

    fn resolve(self, text: &str) -> Format {
        match self {
            Format::Auto if text.trim_start().starts_with('{') => Format::Json,
            Format::Auto => Format::Toml,
            f => f,
        }
    }
}

/// Where rules come from.
#[derive(Debug, Clone)]
pub enum RulesSource {
    /// A local file; the format from its extension, else sniffed.
    Path(PathBuf),
    /// An environment variable holding the rules text (format sniffed).
    EnvVar(String),
    /// Bytes the caller fetched (e.g. an S3 object: this crate has no AWS SDK).
    Bytes {
        /// The rules text.
        bytes: Vec<u8>,
        /// Its format.
        format: Format,
        /// Where it came from, for messages (e.g. `s3://bucket/rules.toml`).
        origin: String,
    },
}

/// Longest rules text accepted (a guard against loading something that is not a rules file).
pub const MAX_RULES_BYTES: usize = 16 << 20;

impl RuleSet {
    /// Parses, checks and compiles rules text. Every semantic problem is reported, not only the
    /// first; a syntax error stops at itself.
    pub fn parse(text: &str, format: Format) -> Result<RuleSet, LintErrors> {
        let file = parse_file(text, format)?;
        compile(&file)
    }

    /// Reads rules from a source, then [`RuleSet::parse`]s them.
    pub fn load(source: RulesSource) -> Result<RuleSet, LoadError> {
        let (text, format, origin) = match source {
            RulesSource::Path(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                (text, Format::from_path(&path), path.display().to_string())
            }
            RulesSource::EnvVar(var) => match std::env::var(&var) {
                Ok(text) => (text, Format::Auto, format!("${var}")),
                Err(_) => return Err(LoadError::EnvVar { var }),
            },
            RulesSource::Bytes { bytes, format, origin } => match String::from_utf8(bytes) {
                Ok(text) => (text, format, origin),
                Err(e) => {
                    return Err(LoadError::NotUtf8 {
                        origin,
                        valid_up_to: e.utf8_error().valid_up_to(),
                    });
                }
            },
        };
        RuleSet::parse(&text, format).map_err(|errors| LoadError::Invalid { origin, errors })
    }

    /// Compiles an already-deserialized rules file (e.g. built in code by a test or the local
    /// Cognito Sync service).
    pub fn from_rules(file: &RulesFile) -> Result<RuleSet, LintErrors> {
        compile(file)
    }
}

/// Deserializes rules text; errors carry line/column and the field path.
pub fn parse_file(text: &str, format: Format) -> Result<RulesFile, LintErrors> {
    let one = |line_col, path, message| {
        LintErrors(vec![LintError {
            location: Location { line_col, path },
            message,
        }])
    };
    if text.len() > MAX_RULES_BYTES {
        return Err(one(
            None,
            None,
            format!("rules text is larger than {MAX_RULES_BYTES} bytes"),
        ));
    }
    match format.resolve(text) {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            let file: RulesFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = path_string(e.path());
                let inner = e.inner();
                one(Some((inner.line(), inner.column())), path, json_message(inner))
            })?;
            de.end()
                .map_err(|e| one(Some((e.line(), e.column())), None, json_message(&e)))?;
            Ok(file)
        }
        _ => {
            let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(text, &e, None))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = path_string(e.path());
                toml_error(text, e.inner(), path)
            })
        }
    }
}

/// serde_json's message without its own " at line L column C" suffix (we print location first).
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn toml_error(text: &str, e: &toml::de::Error, path: Option<String>) -> LintErrors {
    let line_col = e.span().map(|span| line_col(text, span.start));
    LintErrors(vec![LintError {
        location: Location { line_col, path },
        message: e.message().trim_end().to_owned(),
    }])
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `datasets[2].keys["score"].range` from serde_path_to_error's path; `None` at the root.
fn path_string(path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    let mut prev_key: Option<&str> = None;
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
                prev_key = None;
            }
            Segment::Map { key } => {
                if matches!(prev_key, Some("keys")) || !is_ident(key) {
                    let _ = write!(out, "[{key:?}]");
                } else {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                prev_key = Some(key.as_str());
            }
            Segment::Enum { variant } => {
                let _ = write!(out, ".{variant}");
                prev_key = None;
            }
            Segment::Unknown => {
                out.push_str(".?");
                prev_key = None;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Collects semantic errors with their paths.
struct Lint {
    errors: Vec<LintError>,
}

impl Lint {
    fn err(&mut self, path: String, message: impl Into<String>) {
        self.errors.push(LintError {
            location: Location {
                line_col: None,
                path: Some(path),
            },
            message: message.into(),
        });
    }
}

fn compile(file: &RulesFile) -> Result<RuleSet, LintErrors> {
    let mut lint = Lint { errors: Vec::new() };
    if let Some(v) = file.version
        && v != 1
    {
        lint.err("version".to_owned(), format!("unsupported version {v}; only 1 exists"));
    }
    let default_action = file.on_violation.unwrap_or(Action::Reject);
    let datasets = file
        .datasets
        .iter()
        .enumerate()
        .map(|(i, d)| compile_dataset(i, d, default_action, &mut lint))
        .collect();
    if lint.errors.is_empty() {
        Ok(RuleSet {
            log_values: file.log_values,
            unmatched: file.unmatched,
            datasets,
        })
    } else {
        Err(LintErrors(lint.errors))
    }
}

fn key_set(globs: &[String], path: &str, lint: &mut Lint) -> KeySet {
    KeySet::new(globs).unwrap_or_else(|(j, msg)| {
        lint.err(format!("{path}[{j}]"), msg);
        KeySet::default()
    })
}

fn compile_dataset(i: usize, d: &DatasetRules, default_action: Action, lint: &mut Lint) -> DatasetRuleSet {
    let p = format!("datasets[{i}]");
    let glob = |g: &str, field: &str, lint: &mut Lint| {
        Glob::new(g).unwrap_or_else(|m| {
            lint.err(format!("{p}.{field}"), m);
            Glob::Wild(glob::Matcher::Any)
        })
    };
    let name = glob(&d.name, "name", lint);
    let pool = glob(&d.identity_pool, "identity_pool", lint);
    let action = d.on_violation.unwrap_or(default_action);
    let a = &d.actions;
    let allowed = d.allowed_keys.as_ref().map(|g| {
        (
            key_set(g, &format!("{p}.allowed_keys"), lint),
            a.allowed_keys.unwrap_or(action),
        )
    });
    let denied = key_set(&d.denied_keys, &format!("{p}.denied_keys"), lint);
    let read_only = key_set(&d.read_only_keys, &format!("{p}.read_only_keys"), lint);
    for (j, k) in d.required_keys.iter().enumerate() {
        let kp = format!("{p}.required_keys[{j}]");
        if k.is_empty() || k.len() > 1024 {
            lint.err(kp, "a key is 1 to 1024 bytes");
        } else if denied.is_match(k) {
            lint.err(kp, "required key is also matched by denied_keys");
        } else if let Some((set, _)) = &allowed
            && !set.is_match(k)
        {
            lint.err(kp, "required key is not matched by allowed_keys");
        }
    }
    let keys = compile_keys(&p, d, action, lint);
    for (j, k) in d.required_keys.iter().enumerate() {
        if matches!(d.unknown_keys, UnknownKeys::Reject) && keys.find(k).is_none() {
            lint.err(
                format!("{p}.required_keys[{j}]"),
                "required key has no key rule but unknown_keys = \"reject\"",
            );
        }
    }
    DatasetRuleSet {
        index: i,
        name,
        pool,
        max_records: d.max_records.map(|n| (n, a.max_records.unwrap_or(action))),
        max_bytes: d.max_bytes.map(|n| (n, a.max_bytes.unwrap_or(action))),
        allowed,
        denied: (denied, a.denied_keys.unwrap_or(action)),
        required: (d.required_keys.clone(), a.required_keys.unwrap_or(action)),
        read_only: (read_only, a.read_only_keys.unwrap_or(action)),
        unknown: d.unknown_keys,
        keys,
    }
}

fn compile_keys(p: &str, d: &DatasetRules, action: Action, lint: &mut Lint) -> KeyRules {
    let mut rules = Vec::new();
    let mut exact = HashMap::new();
    // (literal characters, pattern, matcher, rule index)
    let mut wild: Vec<(usize, &str, glob::Matcher, usize)> = Vec::new();
    for (pattern, rule) in &d.keys {
        let kp = format!("{p}.keys[{pattern:?}]");
        let parsed = match glob::parse(pattern) {
            Ok(parsed) => parsed,
            Err(m) => {
                lint.err(kp, m);
                continue;
            }
        };
        let Some(compiled) = compile_key_rule(&kp, pattern, rule, action, lint) else {
            continue;
        };
        match parsed {
            Parsed::Literal(l) => {
                exact.insert(l, rules.len());
            }
            Parsed::Wild(m) => {
                let literal = pattern.chars().filter(|c| !matches!(c, '*' | '?' | '\\')).count();
                wild.push((literal, pattern, m, rules.len()));
            }
        }
        rules.push(compiled);
    }
    wild.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    KeyRules {
        rules,
        exact,
        wild: wild.into_iter().map(|w| (w.2, w.3)).collect(),
    }
}

/// Largest integer an `f64` holds exactly; integer-type bounds must stay within it.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

fn compile_key_rule(kp: &str, pattern: &str, r: &KeyRule, action: Action, lint: &mut Lint) -> Option<KeyRuleSet> {
    let before = lint.errors.len();
    let type_name = r.value_type.unwrap_or(if r.schema.is_some() {
        TypeName::Json
    } else {
        TypeName::String
    });
    let schema = r.schema.as_ref().and_then(|s| match Schema::compile(s) {
        Ok(s) => Some(s),
        Err(errs) => {
            for (sub, m) in errs {
                lint.err(format!("{kp}.schema{sub}"), m);
            }
            None
        }
    });
    let value_type = match type_name {
        TypeName::String => ValueType::String,
        TypeName::Integer => ValueType::Integer,
        TypeName::Number => ValueType::Number,
        TypeName::Boolean => ValueType::Boolean,
        TypeName::Json => ValueType::Json {
            schema,
            max_depth: r.max_depth.map_or(MAX_JSON_DEPTH, |d| d as usize),
        },
    };
    if let Some(depth) = r.max_depth {
        if type_name != TypeName::Json {
            lint.err(format!("{kp}.max_depth"), "max_depth applies to type \"json\"");
        } else if depth == 0 || depth as usize > MAX_JSON_DEPTH {
            lint.err(
                format!("{kp}.max_depth"),
                format!("max_depth must be from 1 to {MAX_JSON_DEPTH}"),
            );
        }
    }
    if r.schema.is_some() && type_name != TypeName::Json {
        lint.err(format!("{kp}.schema"), "a schema needs type = \"json\" (or no type)");
    }
    let (mut min, mut max) = (None, None);
    if let Some(range) = r.range {
        let rp = format!("{kp}.range");
        if !value_type.is_numeric() {
            lint.err(rp.clone(), "range applies to type \"integer\" or \"number\"");
        }
        if range.min.is_none() && range.max.is_none() {
            lint.err(rp.clone(), "range needs min, max or both");
        }
        for (b, which) in [(range.min, "min"), (range.max, "max")] {
            let Some(b) = b else { continue };
            if !b.is_finite() {
                lint.err(format!("{rp}.{which}"), "bound must be finite");
            } else if matches!(value_type, ValueType::Integer) && (b.fract() != 0.0 || b.abs() > MAX_EXACT) {
                lint.err(
                    format!("{rp}.{which}"),
                    "integer bound must be a whole number within ±2^53",
                );
            }
        }
        if let (Some(a), Some(b)) = (range.min, range.max)
            && a > b
        {
            lint.err(rp, format!("min {a} is above max {b}"));
        }
        (min, max) = (range.min, range.max);
    }
    if r.clamp && r.range.is_none() {
        lint.err(format!("{kp}.clamp"), "clamp needs a range");
    }
    if let Some(values) = &r.allowed_values {
        if values.is_empty() {
            lint.err(format!("{kp}.enum"), "enum must list at least one value");
        }
        for (j, v) in values.iter().enumerate() {
            if let Err(m) = value_type.parse(v) {
                lint.err(
                    format!("{kp}.enum[{j}]"),
                    format!("not a valid {}: {m}", value_type.name()),
                );
            }
        }
    }
    let regex = r.regex.as_ref().and_then(|src| {
        // Parse the user's pattern alone first (cheap), so that an error points into it and so
        // that something like `a)(b` cannot close our anchoring group; then compile it anchored.
        let hir = match regex_syntax::Parser::new().parse(src) {
            Ok(hir) => hir,
            Err(e) => {
                lint.err(format!("{kp}.regex"), format!("invalid regex: {e}"));
                return None;
            }
        };
        match RegexBuilder::new(&format!("^(?:{src})$"))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => Some(ValueRegex::new(re, &hir)),
            Err(e) => {
                lint.err(format!("{kp}.regex"), format!("invalid regex: {e}"));
                None
            }
        }
    });
    if lint.errors.len() > before {
        return None;
    }
    let mut rule = KeyRuleSet {
        pattern: pattern.to_owned(),
        value_type,
        allowed_values: r.allowed_values.clone(),
        min,
        max,
        regex,
        max_length: r.max_length,
        trim: r.trim,
        lowercase: r.lowercase,
        clamp: r.clamp,
        default: None,
        action: r.on_violation.unwrap_or(action),
    };
    if let Some(d) = &r.default {
        match rule.evaluate(d) {
            Ok((v, _)) => rule.default = Some(v.into_owned()),
            Err((kind, m)) => {
                lint.err(format!("{kp}.default"), format!("default value fails {kind}: {m}"));
                return None;
            }
        }
    }
    Some(rule)
}

#[cfg(test)]
mod tests;
