//! The fast path for reading the event: the object structure and every string scanned by hand,
//! everything else (numbers, literals, nested arrays and objects) handed to serde_json.
//!
//! serde_json scans strings 8 bytes at a time; here a string's end is found in 32-byte blocks
//! whose test compiles to SIMD compares, about half the instructions a byte on the event's
//! megabytes of values. The reader is a *conservative* copy of serde_json's grammar: it answers
//! `Some` only for input serde_json accepts, with the very same pieces, and `None` for anything
//! else (malformed or merely unusual, e.g. `datasetRecords` not an object), in which case the
//! caller reads the event again with serde_json, whose answer (and error message) then stands.
//! So only the accepting path has to be exact; the differential tests check it is.
//!
//! What is copied from serde_json 1 (`de.rs`, `read.rs`):
//! - whitespace is `' '`, `\n`, `\t`, `\r`;
//! - an object is `{` then `}`, or entries `"key" : value` separated by `,` (no trailing
//!   comma), then `}`;
//! - a string ends at the first unescaped `"`; a byte below 0x20 in it is an error; an escape is
//!   `\` then one of `"\/bfnrt`, or `u` and four hex digits (a value's surrogates are not paired
//!   or checked: `ignore_str`; a key with escapes is decoded by serde_json itself, which checks
//!   them);
//! - after the top-level object, only whitespace.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Raw, RecordsBuilder, Str, Top};

#[cfg(test)]
mod tests;

/// Reads the event, or `None` to let serde_json read it (see the module documentation).
pub(super) fn top(input: &str) -> Option<Top<'_>> {
    let mut s = Scan {
        s: input,
        b: input.as_bytes(),
        i: 0,
    };
    let mut top = Top::default();
    s.object(|s, key| {
        if key == "datasetRecords" {
            let mut records = RecordsBuilder::new(None);
            s.object(|s, key| {
                let mut fields = Vec::with_capacity(8);
                s.object(|s, name| {
                    fields.push((name, s.value()?));
                    Some(())
                })?;
                records.record(key, fields);
                Some(())
            })?;
            top.records_found(records.finish());
        } else {
            let value = s.value()?;
            top.fields.push((key, value));
        }
        Some(())
    })?;
    s.ws();
    (s.i == s.b.len()).then_some(top)
}

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    /// Index of the next byte to read.
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Skips whitespace, then reads `c` if it is next.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// An object; `entry` reads the value after each (decoded) key.
    fn object(&mut self, mut entry: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            self.ws();
            let key = self.key()?;
            self.eat(b':')?;
            entry(self, key)?;
            if self.eat(b',').is_none() {
                return self.eat(b'}');
            }
        }
    }

    /// A key, decoded: borrowed when it has no escapes (its text between the quotes, exactly
    /// what serde_json borrows), else decoded by serde_json.
    fn key(&mut self) -> Option<Cow<'a, str>> {
        let (raw, escaped) = self.string()?;
        if escaped {
            serde_json::from_str::<Str<'a>>(raw).ok().map(|k| k.0)
        } else {
            Some(Cow::Borrowed(&raw[1..raw.len() - 1]))
        }
    }

    /// A value, raw (after whitespace, as serde_json's `RawValue`): a string is scanned here,
    /// anything else by serde_json (from here to the end of the input, so with the same bytes
    /// around it; `ignore_value` has no depth limit, in context or not).
    fn value(&mut self) -> Option<Raw<'a>> {
        self.ws();
        if self.b.get(self.i) == Some(&b'"') {
            return self.string().map(|(raw, _)| Raw(raw));
        }
        let rest = self.s.get(self.i..)?;
        let mut de = serde_json::Deserializer::from_str(rest);
        let raw = <&'a RawValue>::deserialize(&mut de).ok()?.get();
        if raw.is_empty() || raw.as_ptr() != rest.as_ptr() {
            return None;
        }
        self.i += raw.len();
        Some(Raw(&rest[..raw.len()]))
    }

    /// A string at `self.i` (which must be `"`): its raw text, quotes included, and whether it
    /// holds an escape.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        let start = self.i;
        if self.b.get(start) != Some(&b'"') {
            return None;
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i = find_special(self.b, i);
            match *self.b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some((&self.s[start..=i], escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' if self.b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                        _ => return None,
                    }
                }
                // A control character.
                _ => return None,
            }
        }
    }
}

/// Whether a byte ends a run of plain string content: a control character, `"` or `\`.
/// (`c ^ 2` maps `"` to 0x20 and 0x00..=0x1F onto itself; no short-circuit, for SIMD.)
fn special(c: u8) -> bool {
    ((c ^ 2) <= 0x20) | (c == b'\\')
}

/// Index of the first `"`, `\` or control character at or after `i`, or `b.len()`. Blocks of 32
/// bytes are tested without an early exit inside (SIMD compares), the hit located byte by byte.
pub(super) fn find_special(b: &[u8], mut i: usize) -> usize {
    const BLOCK: usize = 32;
    while let Some(block) = b.get(i..i + BLOCK) {
        if block.iter().fold(false, |any, &c| any | special(c)) {
            break;
        }
        i += BLOCK;
    }
    while i < b.len() && !special(b[i]) {
        i += 1;
    }
    i
}
