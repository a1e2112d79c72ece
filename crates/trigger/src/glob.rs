//! Globs on dataset names, pool ids and record keys: `*` (any run of characters, including none),
//! `?` (exactly one character) and `\` (the next character literally). Nothing else is special:
//! these are names, not paths, so `*` crosses `/` and `.` and there are no classes or braces.
//!
//! Patterns without wildcards are hash lookups; the usual shapes (`p*`, `*s`, `*x*`, `a*b`) are
//! `starts_with` / `ends_with` / `contains`; any other is translated to an anchored regex. So
//! matching is linear in the key whatever the pattern and however hostile the key (the `regex`
//! crate never backtracks). This is why there is no `globset` dependency: its semantics are
//! path-oriented and it would add crates for what is a short, tested translation.

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};

/// Size limit for the compiled form of one glob or one set of globs.
const GLOB_SIZE_LIMIT: usize = 8 << 20;

/// Longest glob accepted in a rules file.
pub(crate) const MAX_GLOB_LEN: usize = 1024;

/// A glob split into what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// No wildcard: the unescaped literal.
    Literal(String),
    /// Has a wildcard: the matcher.
    Wild(Matcher),
}

/// One token of a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(String),
    Star,
    Question,
}

/// A glob with a wildcard, compiled. The common shapes (`p*`, `*s`, `*x*`, `a*b`) are plain
/// string tests; anything else (several stars, `?`) is an anchored regex, so every shape matches
/// in time linear in the key. Compiling a regex costs tens of microseconds, which is what keeps
/// the common shapes off it: a 100-rule file must load in well under 50 ms.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// `*`.
    Any,
    /// `prefix*`.
    Prefix(String),
    /// `*suffix`.
    Suffix(String),
    /// `*infix*`.
    Contains(String),
    /// `prefix*suffix`.
    PrefixSuffix(String, String),
    /// Anything else.
    Regex(Regex),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Matcher::Any, Matcher::Any) => true,
            (Matcher::Prefix(a), Matcher::Prefix(b))
            | (Matcher::Suffix(a), Matcher::Suffix(b))
            | (Matcher::Contains(a), Matcher::Contains(b)) => a == b,
            (Matcher::PrefixSuffix(a, b), Matcher::PrefixSuffix(c, d)) => a == c && b == d,
            (Matcher::Regex(a), Matcher::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Whether `s` matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Prefix(p) => s.starts_with(p.as_str()),
            Matcher::Suffix(x) => s.ends_with(x.as_str()),
            Matcher::Contains(x) => s.contains(x.as_str()),
            Matcher::PrefixSuffix(p, x) => {
                s.len() >= p.len() + x.len() && s.starts_with(p.as_str()) && s.ends_with(x.as_str())
            }
            Matcher::Regex(re) => re.is_match(s),
        }
    }
}

/// Parses a glob; the error says what is wrong with it.
pub(crate) fn parse(glob: &str) -> Result<Parsed, String> {
    if glob.is_empty() {
        return Err("empty pattern".to_owned());
    }
    if glob.len() > MAX_GLOB_LEN {
        return Err(format!("pattern longer than {MAX_GLOB_LEN} bytes"));
    }
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        let lit = match c {
            '*' => {
                // `**` is `*`.
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
                continue;
            }
            '?' => {
                tokens.push(Token::Question);
                continue;
            }
            '\\' => chars
                .next()
                .ok_or_else(|| "pattern ends with a lone `\\` escape".to_owned())?,
            c => c,
        };
        match tokens.last_mut() {
            Some(Token::Lit(s)) => s.push(lit),
            _ => tokens.push(Token::Lit(lit.to_string())),
        }
    }
    use Token::{Lit, Star};
    let m = match tokens.as_slice() {
        [Lit(l)] => return Ok(Parsed::Literal(l.clone())),
        [Star] => Matcher::Any,
        [Lit(p), Star] => Matcher::Prefix(p.clone()),
        [Star, Lit(x)] => Matcher::Suffix(x.clone()),
        [Star, Lit(x), Star] => Matcher::Contains(x.clone()),
        [Lit(p), Star, Lit(x)] => Matcher::PrefixSuffix(p.clone(), x.clone()),
        tokens => {
            let mut re = String::with_capacity(glob.len() + 8);
            re.push_str("(?s)^");
            for t in tokens {
                match t {
                    Token::Lit(l) => re.push_str(&regex::escape(l)),
                    Token::Star => re.push_str(".*"),
                    Token::Question => re.push('.'),
                }
            }
            re.push('$');
            let re = RegexBuilder::new(&re)
                .size_limit(GLOB_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("pattern too complex: {e}"))?;
            Matcher::Regex(re)
        }
    };
    Ok(Parsed::Wild(m))
}

/// One compiled glob (a dataset rule's scope).
#[derive(Debug, Clone)]
pub(crate) enum Glob {
    /// A literal.
    Exact(String),
    /// Anything else.
    Wild(Matcher),
}

impl Glob {
    /// Compiles a glob.
    pub(crate) fn new(glob: &str) -> Result<Glob, String> {
        Ok(match parse(glob)? {
            Parsed::Literal(l) => Glob::Exact(l),
            Parsed::Wild(m) => Glob::Wild(m),
        })
    }

    /// Whether `s` matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            Glob::Exact(l) => l == s,
            Glob::Wild(m) => m.is_match(s),
        }
    }
}

/// A set of globs asked only "does any match?" (allowed, denied, read-only keys).
#[derive(Debug, Clone, Default)]
pub(crate) struct KeySet {
    exact: HashSet<String>,
    wild: Vec<Matcher>,
}

impl KeySet {
    /// Compiles globs; on error, the index of the bad glob and why.
    pub(crate) fn new(globs: &[String]) -> Result<KeySet, (usize, String)> {
        let mut set = KeySet::default();
        for (i, g) in globs.iter().enumerate() {
            match parse(g).map_err(|e| (i, e))? {
                Parsed::Literal(l) => {
                    set.exact.insert(l);
                }
                Parsed::Wild(m) => set.wild.push(m),
            }
        }
        Ok(set)
    }

    /// Whether any glob matches `key`.
    pub(crate) fn is_match(&self, key: &str) -> bool {
        self.exact.contains(key) || self.wild.iter().any(|m| m.is_match(key))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(glob: &str, s: &str) -> bool {
        Glob::new(glob).expect("valid glob").is_match(s)
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc/def.g"));
        assert!(!m("a*", "ba"));
        assert!(m("*.x", "a.b.x"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "a__b__c"));
        assert!(!m("a*b*c", "a__c__b"));
        assert!(m("*", "line\nbreak"));
    }

    #[test]
    fn literals_and_escapes() {
        assert!(m("score", "score"));
        assert!(!m("score", "scores"));
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m(r"\?*", "?x"));
        assert!(m("a.b(c)+[d]", "a.b(c)+[d]"));
        assert!(!m("a.b", "axb"));
        assert_eq!(parse(r"x\").unwrap_err(), "pattern ends with a lone `\\` escape");
        assert!(parse("").is_err());
        assert_eq!(parse(r"a\*b"), Ok(Parsed::Literal("a*b".to_owned())));
        assert_eq!(parse("ab*"), Ok(Parsed::Wild(Matcher::Prefix("ab".to_owned()))));
        assert_eq!(parse("**.x"), Ok(Parsed::Wild(Matcher::Suffix(".x".to_owned()))));
        assert_eq!(parse(r"*\?*"), Ok(Parsed::Wild(Matcher::Contains("?".to_owned()))));
        assert_eq!(
            parse("a*b"),
            Ok(Parsed::Wild(Matcher::PrefixSuffix("a".to_owned(), "b".to_owned())))
        );
        assert!(matches!(parse("a?b*"), Ok(Parsed::Wild(Matcher::Regex(_)))));
        // `a*a` needs two characters at least.
        assert!(!m("a*a", "a"));
        assert!(m("a*a", "aa"));
    }

    #[test]
    fn key_sets() {
        let s = KeySet::new(&["admin".to_owned(), "sys.*".to_owned(), "?x".to_owned()]).expect("valid");
        assert!(s.is_match("admin"));
        assert!(s.is_match("sys.flag"));
        assert!(s.is_match("ax"));
        assert!(!s.is_match("user"));
        assert!(!s.is_match("administrator"));
        assert!(!KeySet::new(&[]).expect("empty").is_match("a"));
        assert_eq!(KeySet::new(&["a".to_owned(), String::new()]).unwrap_err().0, 1);
    }

    #[test]
    fn hostile_key_is_fast() {
        let key = "a".repeat(1 << 20);
        let g = Glob::new("*a*a*a*a*a*a*a*b").expect("valid");
        assert!(!g.is_match(&key));
    }
}
