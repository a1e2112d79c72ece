//! The compiled rules: globs and regexes built once at load, so that applying them is lookups
//! and linear-time matches only.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

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
    pub(crate) regex: Option<ValueRegex>,
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
            let src = re.regex.as_str();
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

/// A key rule's `regex`, anchored on the whole value, with a faster equivalent when the pattern
/// is one character class repeated (`[\p{L}\p{N} _.-]+`, `[a-z]*`, `\w{3,}`: the usual shape).
/// The lazy DFA walks one byte per dependent table lookup (~1.7 ns a byte here); the class
/// test is a table lookup per ASCII byte without that dependency chain.
#[derive(Debug, Clone)]
pub(crate) struct ValueRegex {
    /// `^(?:pattern)$`, the reference (and the fallback for every other shape).
    pub(crate) regex: Regex,
    run: Option<ClassRun>,
}

impl ValueRegex {
    /// `regex` must be `^(?:src)$` compiled with the default options, `hir` the parse of `src`
    /// with `regex_syntax::Parser::new()` (the same options).
    pub(crate) fn new(regex: Regex, hir: &Hir) -> ValueRegex {
        ValueRegex {
            regex,
            run: ClassRun::from_hir(hir),
        }
    }

    /// Whether the whole value matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.run {
            Some(run) => run.is_match(s),
            None => self.regex.is_match(s),
        }
    }
}

/// `C{min,}` for a character class `C`, anchored at both ends: the value matches if and only if
/// every character is in `C` and there are at least `min` of them.
#[derive(Debug, Clone)]
struct ClassRun {
    /// Membership of each byte below 0x80 (entries from 0x80 are false and unused).
    ascii: [bool; 256],
    /// Non-ASCII members: sorted, disjoint, inclusive ranges.
    ranges: Vec<(char, char)>,
    min: u32,
}

impl ClassRun {
    fn from_hir(hir: &Hir) -> Option<ClassRun> {
        let HirKind::Repetition(rep) = hir.kind() else {
            return None;
        };
        if rep.max.is_some() {
            return None;
        }
        let mut sub = &*rep.sub;
        // Capture groups do not change whether a value matches.
        while let HirKind::Capture(c) = sub.kind() {
            sub = &c.sub;
        }
        let ranges: Vec<(char, char)> = match sub.kind() {
            HirKind::Class(Class::Unicode(c)) => c.ranges().iter().map(|r| (r.start(), r.end())).collect(),
            // In a `&str` regex a byte class can only hold ASCII (else the regex is refused).
            HirKind::Class(Class::Bytes(c)) if c.is_ascii() => c
                .ranges()
                .iter()
                .map(|r| (char::from(r.start()), char::from(r.end())))
                .collect(),
            HirKind::Literal(l) => {
                let text = std::str::from_utf8(&l.0).ok()?;
                let mut chars = text.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                vec![(c, c)]
            }
            _ => return None,
        };
        let mut ascii = [false; 256];
        let mut wide = Vec::new();
        for (lo, hi) in ranges {
            for b in (lo as u32)..=(hi as u32).min(0x7f) {
                ascii[b as usize] = true;
            }
            if hi as u32 >= 0x80 {
                wide.push((lo.max('\u{80}'), hi));
            }
        }
        Some(ClassRun {
            ascii,
            ranges: wide,
            min: rep.min,
        })
    }

    fn is_match(&self, s: &str) -> bool {
        match self.min {
            0 => {}
            1 if s.is_empty() => return false,
            1 => {}
            min => {
                if s.len() < min as usize || s.chars().count() < min as usize {
                    return false;
                }
            }
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // Blocks of ASCII: one table load per byte, no branch per byte.
            if let Some(block) = bytes.get(i..i + 32)
                && block.iter().fold(0u8, |acc, &b| acc | b) < 0x80
            {
                if !block.iter().fold(true, |ok, &b| ok & self.ascii[usize::from(b)]) {
                    return false;
                }
                i += 32;
                continue;
            }
            let b = bytes[i];
            if b < 0x80 {
                if !self.ascii[usize::from(b)] {
                    return false;
                }
                i += 1;
                continue;
            }
            // `i` is always on a character boundary.
            let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
                return false;
            };
            let found = self
                .ranges
                .binary_search_by(|&(lo, hi)| {
                    if hi < c {
                        std::cmp::Ordering::Less
                    } else if lo > c {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok();
            if !found {
                return false;
            }
            i += c.len_utf8();
        }
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn both(src: &str) -> (Regex, ValueRegex) {
        let hir = regex_syntax::Parser::new().parse(src).unwrap();
        let re = Regex::new(&format!("^(?:{src})$")).unwrap();
        (re.clone(), ValueRegex::new(re, &hir))
    }

    /// The class fast path answers exactly as the anchored regex.
    #[test]
    fn class_run_is_the_regex() {
        let patterns = [
            r"[\p{L}\p{N} _.-]+",
            "[a-z ]*",
            "[a-z]{3,}",
            r"\w+",
            r"\d*",
            ".*",
            "(?s).+",
            "(?i)[a-c]+",
            "([a-f0-9])+",
            "é*",
            "a+",
            "(?-u:[a-z])+",
            r"[^\x00-\x{10FFFF}]*",
            r"[^a]*",
            r"\S+",
            r"[\x{80}-\x{7ff}]+",
        ];
        let mut values: Vec<String> = [
            "",
            "a",
            "abc",
            "ab c",
            "ABC",
            "aBc",
            "é",
            "ééé",
            "Ωmega 42",
            "x-y_z.1",
            "a\nb",
            "\n",
            "日本語",
            "abc!",
            " ",
            "\u{80}",
            "\u{7ff}",
            "\u{800}",
            "\u{10FFFF}",
            "aé",
            "ß",
            "ǅ",
            "ﬃ",
            "Ⅻ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for base in ["abcdefghijklmnopqrstuvwxyz ", "ééééé", "a1b2c3"] {
            let long: String = base.chars().cycle().take(100).collect();
            values.push(long.clone());
            values.push(format!("{long}!"));
            values.push(format!("!{long}"));
            values.push(format!("{}é{}", &long[..40.min(long.len())], "abc"));
            values.push(long.to_uppercase());
        }
        let mut fast = 0;
        for p in patterns {
            let (re, v) = both(p);
            fast += usize::from(v.run.is_some());
            for s in &values {
                assert_eq!(v.is_match(s), re.is_match(s), "{p:?} on {s:?}");
            }
        }
        assert!(fast >= 14, "fast path taken for {fast} patterns");
        for p in ["[a-z]{2,5}", "ab+", "[a-z]+@[a-z]+", "a|b", "^x*$"] {
            assert!(both(p).1.run.is_none(), "{p:?}");
        }
    }
}
