//! Value types: what a record's string value must spell. Cognito values are always strings, so
//! "integer" means "a string that is a base-10 `i64`", and so on.

use serde::de::IgnoredAny;

use crate::schema::Schema;

/// Deepest nesting a `json` value may have, and the default cap: the apps that read values
/// back parse them recursively.
pub(crate) const MAX_JSON_DEPTH: usize = 128;
/// Deepest nesting serde_json parses (its recursion limit, 128, counts the value that hits
/// it): with a schema the value is parsed, so its cap is at most this.
const MAX_PARSED_DEPTH: usize = 127;

/// Size limit for one compiled user regex (rules `regex`, schema `pattern`).
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled value type.
#[derive(Debug, Clone)]
pub(crate) enum ValueType {
    /// Any string.
    String,
    /// A base-10 `i64`: optional `-`, then ASCII digits.
    Integer,
    /// A finite number in JSON syntax.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON document nested at most `max_depth` arrays and objects deep, optionally
    /// validated against a schema.
    Json {
        /// The schema, if any.
        schema: Option<Schema>,
        /// Deepest nesting of arrays and objects accepted (at most [`MAX_JSON_DEPTH`]).
        max_depth: usize,
    },
}

/// A value read as a number (for `range` and `clamp`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Numeric {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

impl ValueType {
    /// The name used in rules files and messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Json { .. } => "json",
        }
    }

    /// Whether `range` and `clamp` apply.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, ValueType::Integer | ValueType::Number)
    }

    /// Checks `s` against the type (without the schema); returns the number it spells for
    /// numeric types. The error never quotes the value.
    pub(crate) fn parse(&self, s: &str) -> Result<Option<Numeric>, String> {
        match self {
            ValueType::String => Ok(None),
            ValueType::Integer => parse_integer(s).map(|i| Some(Numeric::Int(i))),
            ValueType::Number => parse_number(s).map(|f| Some(Numeric::Float(f))),
            ValueType::Boolean => match s {
                "true" | "false" => Ok(None),
                _ => Err("expected `true` or `false`".to_owned()),
            },
            ValueType::Json { schema, max_depth } => {
                let cap = if schema.is_some() {
                    (*max_depth).min(MAX_PARSED_DEPTH)
                } else {
                    *max_depth
                };
                if nesting_exceeds(s.as_bytes(), cap) {
                    return Err(format!("JSON nested deeper than {cap} levels"));
                }
                match schema {
                    None => serde_json::from_str::<IgnoredAny>(s)
                        .map(|_| None)
                        .map_err(|e| format!("not a JSON document: {e}")),
                    // With a schema the value is parsed once, by the schema check.
                    Some(_) => Ok(None),
                }
            }
        }
    }

    /// The schema, if any.
    pub(crate) fn schema(&self) -> Option<&Schema> {
        match self {
            ValueType::Json { schema, .. } => schema.as_ref(),
            _ => None,
        }
    }
}

/// Whether `json` opens more than `max` arrays or objects inside one another. One pass, no
/// recursion, brackets inside strings ignored; says nothing about validity (the parse that
/// follows does).
fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a strict base-10 `i64`: optional `-`, at least one ASCII digit, nothing else.
pub(crate) fn parse_integer(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected an integer (optional `-`, digits)".to_owned());
    }
    s.parse::<i64>()
        .map_err(|_| "integer out of the 64-bit range".to_owned())
}

/// Parses a finite number in JSON number syntax (so no `inf`, `NaN`, `+1`, `.5` or `1.`).
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if !is_json_number(s.as_bytes()) {
        return Err("expected a number".to_owned());
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(f),
        _ => Err("number out of range".to_owned()),
    }
}

/// `-? (0 | [1-9][0-9]*) (\. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn is_json_number(b: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_integer("0"), Ok(0));
        assert_eq!(parse_integer("-42"), Ok(-42));
        assert_eq!(parse_integer("007"), Ok(7));
        for bad in ["", "-", "+1", "1.0", " 1", "1e3", "٣"] {
            assert!(parse_integer(bad).is_err(), "{bad:?}");
        }
        assert!(parse_integer("9223372036854775808").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("1.5e3"), Ok(1500.0));
        assert_eq!(parse_number("-0"), Ok(0.0));
        for bad in ["", "inf", "NaN", "+1", ".5", "1.", "01", "1e", "1e999", "0x10"] {
            assert!(parse_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn booleans_and_json() {
        assert!(ValueType::Boolean.parse("true").is_ok());
        assert!(ValueType::Boolean.parse("True").is_err());
        let json = ValueType::Json {
            schema: None,
            max_depth: MAX_JSON_DEPTH,
        };
        assert!(json.parse(r#"{"a":[1,2]}"#).is_ok());
        assert!(json.parse("{").is_err());
    }

    #[test]
    fn json_nesting_is_capped() {
        let json = |max_depth| ValueType::Json {
            schema: None,
            max_depth,
        };
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        // A value 100,000 levels deep would overflow the stack of the apps that read it back.
        let err = json(MAX_JSON_DEPTH).parse(&nested(100_000)).expect_err("too deep");
        assert!(err.contains("deeper than 128"), "{err}");
        assert!(json(MAX_JSON_DEPTH).parse(&nested(128)).is_ok());
        assert!(json(MAX_JSON_DEPTH).parse(&nested(129)).is_err());
        assert!(json(2).parse(r#"{"a":[1]}"#).is_ok());
        assert!(json(2).parse(r#"{"a":[{}]}"#).is_err());
        // Brackets inside strings (escaped quotes too) are not nesting.
        assert!(json(1).parse(r#"["[[[\"[[", "{{"]"#).is_ok());
    }
}
