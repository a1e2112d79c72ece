//! The compiled rules: globs and regexes built once at load, so that applying them is lookups
//! and linear-time matches only.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;

use crate::decision::RuleKind;
use crate::glob::{Glob, KeySet, Matcher};
use crate::rules::{Action, UnknownKeys, Unmatched};
use crate::value_type::{Numeric, ValueType};

/// A validated, compiled rules file: build it once (at Lambda cold start) and share it; applying
/// it takes `&self`, so one `RuleSet` serves any number of threads.
///
/// Build with [`RuleSet::parse`] or [`RuleSet::load`]; apply with [`RuleSet::apply`].
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) log_values: bool,
    pub(crate) unmatched: Unmatched,
    pub(crate) datasets: Vec<DatasetRuleSet>,
}

impl RuleSet {
    /// Number of `[[datasets]]` entries.
    pub fn dataset_rule_count(&self) -> usize {
        self.datasets.len()
    }

    /// Number of key rules over all datasets.
    pub fn key_rule_count(&self) -> usize {
        self.datasets.iter().map(|d| d.keys.rules.len()).sum()
    }

    /// Whether decisions log record values (`log_values = true`).
    pub fn logs_values(&self) -> bool {
        self.log_values
    }

    /// The first dataset rule whose scope covers the event.
    pub(crate) fn find(&self, identity_pool_id: &str, dataset_name: &str) -> Option<&DatasetRuleSet> {
        self.datasets
            .iter()
            .find(|d| d.name.is_match(dataset_name) && d.pool.is_match(identity_pool_id))
    }
}

/// One compiled `[[datasets]]` entry.
#[derive(Debug, Clone)]
pub(crate) struct DatasetRuleSet {
    pub(crate) index: usize,
    pub(crate) name: Glob,
    pub(crate) pool: Glob,
    pub(crate) max_records: Option<(u64, Action)>,
    pub(crate) max_bytes: Option<(u64, Action)>,
    pub(crate) allowed: Option<(KeySet, Action)>,
    pub(crate) denied: (KeySet, Action),
    pub(crate) required: (Vec<String>, Action),
    pub(crate) read_only: (KeySet, Action),
    pub(crate) unknown: UnknownKeys,
    pub(crate) keys: KeyRules,
}

/// Key rules with their lookup: exact patterns by hash, wildcard ones in precedence order
/// (more literal characters first, then pattern text), so the most specific pattern wins
/// whatever the order in the file (TOML tables have none).
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyRules {
    pub(crate) rules: Vec<KeyRuleSet>,
    pub(crate) exact: HashMap<String, usize>,
    /// Wildcard patterns in precedence order, with their rule index.
    pub(crate) wild: Vec<(Matcher, usize)>,
}

impl KeyRules {
    /// The rule for `key`: an exact pattern first, else the most specific matching glob.
    pub(crate) fn find(&self, key: &str) -> Option<&KeyRuleSet> {
        let i = match self.exact.get(key) {
            Some(&i) => i,
            None => self.wild.iter().find(|(m, _)| m.is_match(key))?.1,
        };
        self.rules.get(i)
    }
}

/// One compiled key rule.
#[derive(Debug, Clone)]
pub(crate) struct KeyRuleSet {
    pub(crate) pattern: String,
    pub(crate) value_type: ValueType,
    pub(crate) allowed_values: Option<Vec<String>>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) regex: Option<Regex>,
    pub(crate) max_length: Option<u64>,
    pub(crate) trim: bool,
    pub(crate) lowercase: bool,
    pub(crate) clamp: bool,
    /// Already transformed and checked at load.
    pub(crate) default: Option<String>,
    pub(crate) action: Action,
}

/// A value that failed a key rule: the rule and why (never quoting the value).
pub(crate) type Violation = (RuleKind, String);

impl KeyRuleSet {
    /// Transforms then checks a new value. Returns the value to store (borrowed when no
    /// transform changed it) and the last transform that changed it.
    ///
    /// Order: `trim`, `lowercase`, `max_length`, `type`, `range` (or `clamp`), `enum`,
    /// `regex`, `schema`.
    pub(crate) fn evaluate<'v>(&self, value: &'v str) -> Result<(Cow<'v, str>, Option<RuleKind>), Violation> {
        let mut v = Cow::Borrowed(value);
        let mut changed_by = None;
        if self.trim {
            let t = v.trim();
            if t.len() != v.len() {
                v = Cow::Owned(t.to_owned());
                changed_by = Some(RuleKind::Trim);
            }
        }
        if self.lowercase {
            let lower = if v.is_ascii() {
                v.bytes()
                    .any(|b| b.is_ascii_uppercase())
                    .then(|| v.to_ascii_lowercase())
            } else {
                let l = v.to_lowercase();
                (l != *v).then_some(l)
            };
            if let Some(l) = lower {
                v = Cow::Owned(l);
                changed_by = Some(RuleKind::Lowercase);
            }
        }
        if let Some(max) = self.max_length
            && v.len() as u64 > max
            && v.chars().count() as u64 > max
        {
            return Err((RuleKind::MaxLength, format!("longer than {max} characters")));
        }
        let num = self.value_type.parse(&v).map_err(|m| (RuleKind::Type, m))?;
        if let Some(n) = num {
            match self.out_of_range(n) {
                None => {}
                Some(bound) if self.clamp => {
                    v = Cow::Owned(render_bound(bound, &self.value_type));
                    changed_by = Some(RuleKind::Clamp);
                }
                Some(bound) => {
                    let side = if Some(bound) == self.min {
                        "below the minimum"
                    } else {
                        "above the maximum"
                    };
                    return Err((RuleKind::Range, format!("{side} {bound}")));
                }
            }
        }
        if let Some(values) = &self.allowed_values
            && !values.iter().any(|a| *a == *v)
        {
            return Err((RuleKind::Enum, "not one of the allowed values".to_owned()));
        }
        if let Some(re) = &self.regex
            && !re.is_match(&v)
        {
            // Show the pattern as written, without the anchoring group added at load.
            let src = re.as_str();
            let src = src
                .strip_prefix("^(?:")
                .and_then(|s| s.strip_suffix(")$"))
                .unwrap_or(src);
            return Err((RuleKind::Regex, format!("does not match /{src}/ (whole value)")));
        }
        if let Some(schema) = self.value_type.schema() {
            let doc: serde_json::Value =
                serde_json::from_str(&v).map_err(|e| (RuleKind::Type, format!("not a JSON document: {e}")))?;
            schema.validate(&doc).map_err(|m| (RuleKind::Schema, m))?;
        }
        Ok((v, changed_by))
    }

    /// The bound a number crosses, if any.
    fn out_of_range(&self, n: Numeric) -> Option<f64> {
        let below = |b: f64| match n {
            // Integer-type bounds are integral and within ±2^53 (checked at load), so `as i64`
            // is exact and the comparison is exact for every i64.
            Numeric::Int(i) => i < b as i64,
            Numeric::Float(f) => f < b,
        };
        let above = |b: f64| match n {
            Numeric::Int(i) => i > b as i64,
            Numeric::Float(f) => f > b,
        };
        if let Some(min) = self.min
            && below(min)
        {
            return Some(min);
        }
        if let Some(max) = self.max
            && above(max)
        {
            return Some(max);
        }
        None
    }
}

/// Spells a bound as a value of the type (integers without a fraction).
fn render_bound(b: f64, ty: &ValueType) -> String {
    if matches!(ty, ValueType::Integer) || (b.fract() == 0.0 && b.abs() < 9.0e15) {
        format!("{}", b as i64)
    } else {
        format!("{b}")
    }
}
