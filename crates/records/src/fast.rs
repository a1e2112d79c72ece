//! The fast path of [`decode_payload`](crate::decode_payload): one pass over compact JSON of
//! the known fields, straight into a [`Payload`].
//!
//! It accepts only what it fully understands: compact JSON (no whitespace between tokens),
//! field names without escapes, each known field at most once, integers without fraction or
//! exponent, and no unknown fields (their raw text is kept in `extra`, which serde_json's
//! `RawValue` does). Everything else, valid or not, makes it give up with `None`, and the
//! caller decodes with serde_json, which yields the same payload or the precise error. So the
//! fast path never decides what is an error; tests hold it to giving what serde_json gives.
//!
//! Why it is faster: the end of a string is found 8 bytes at a time for short strings and by
//! a SIMD search for `"` or `\` for long ones (control characters, which JSON forbids inside
//! strings, are ruled out once for the whole input); field names in the usual order are
//! matched by one comparison each (see `swar.rs`); and there is no per-field visitor
//! machinery.

use std::borrow::Cow;

use crate::buffers::DecodeBuffers;
use crate::payload::{Extra, Operation, Payload, PayloadFields, PayloadType, RecordFields, SyncRecord};
use crate::text::Text;

mod swar;
use swar::same_bytes;

/// Decodes `text` (valid UTF-8) if it is compact JSON of known fields only; `None` otherwise.
/// The records vector and unescaped strings come from `buffers`.
pub(crate) fn decode<'a>(text: &'a str, buffers: &mut DecodeBuffers) -> Option<Payload<'a>> {
    // JSON forbids raw control characters inside strings, and compact JSON has none between
    // tokens: one vectorised pass rules them out, so strings end at the next `"` or `\`.
    if text.bytes().fold(false, |seen, b| seen | (b < 0x20)) {
        return None;
    }
    let mut p = Parser {
        s: text,
        at: 0,
        buffers,
    };
    let payload = p.payload()?;
    (p.at == text.len()).then_some(payload)
}

/// Most digits of an integer taken here: more could overflow an `i64`.
const MAX_DIGITS: usize = 18;

/// Bytes reserved past the first escape of a string for its unescaped text.
const ESCAPED_ROOM: usize = 256;

/// Records reserved for a non-empty `kinesisSyncRecords` array.
const RECORDS_ROOM: usize = 8;

/// The payload's fields in the order of the documented example, which `synclake gen` follows.
const USUAL_PAYLOAD: [&str; 9] = [
    "\"identityPoolId\":",
    "\"identityId\":",
    "\"dataSetName\":",
    "\"operation\":",
    "\"kinesisSyncRecords\":",
    "\"lastModifiedDate\":",
    "\"kinesisSyncRecordsURL\":",
    "\"payloadType\":",
    "\"syncCount\":",
];

/// A record's fields, in the same sense.
const USUAL_RECORD: [&str; 6] = [
    "\"key\":",
    "\"value\":",
    "\"syncCount\":",
    "\"lastModifiedDate\":",
    "\"deviceLastModifiedDate\":",
    "\"op\":",
];

struct Parser<'a, 'b> {
    s: &'a str,
    at: usize,
    buffers: &'b mut DecodeBuffers,
}

/// A field seen at most once: a second occurrence makes the fast path give up (serde_json
/// reports the duplicate).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Steps over `literal` if the input continues with it.
    fn eat_literal(&mut self, literal: &str) -> bool {
        let literal = literal.as_bytes();
        let found = self
            .s
            .as_bytes()
            .get(self.at..self.at + literal.len())
            .is_some_and(|here| same_bytes(here, literal));
        if found {
            self.at += literal.len();
        }
        found
    }

    /// `"name":` without escapes in the name.
    fn field_name(&mut self) -> Option<&'a str> {
        let Text(Cow::Borrowed(name)) = self.string()? else {
            return None;
        };
        self.eat(b':')?;
        Some(name)
    }

    /// A string, borrowed unless it has escapes.
    fn string(&mut self) -> Option<Text<'a>> {
        self.eat(b'"')?;
        let bytes = self.s.as_bytes();
        let find = |from: usize| swar::quote_or_backslash(bytes, from);
        let start = self.at;
        let mut next = find(start)?;
        if bytes[next] == b'"' {
            self.at = next + 1;
            return Some(Text(Cow::Borrowed(&self.s[start..next])));
        }
        // Room for the rest of a typical value, so that unescaping it does not grow the string
        // realloc by realloc (3% of replay's instructions when it started at the first escape).
        let mut owned = self.buffers.string();
        owned.reserve((bytes.len() - start).min(next - start + ESCAPED_ROOM));
        let mut from = start;
        loop {
            owned.push_str(&self.s[from..next]);
            self.at = next + 1;
            if bytes[next] == b'"' {
                return Some(Text(Cow::Owned(owned)));
            }
            // After a backslash.
            let escape = self.peek()?;
            self.at += 1;
            match escape {
                b'"' => owned.push('"'),
                b'\\' => owned.push('\\'),
                b'/' => owned.push('/'),
                b'b' => owned.push('\u{8}'),
                b'f' => owned.push('\u{c}'),
                b'n' => owned.push('\n'),
                b'r' => owned.push('\r'),
                b't' => owned.push('\t'),
                b'u' => owned.push(self.unicode_escape()?),
                _ => return None,
            }
            from = self.at;
            next = find(from)?;
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining a surrogate pair; a lone
    /// surrogate gives up (serde_json rejects it).
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                self.eat(b'\\')?;
                self.eat(b'u')?;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            }
            0xDC00..=0xDFFF => None,
            _ => char::from_u32(first),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.as_bytes().get(self.at..self.at + 4)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(v)
    }

    /// An integer: `0` or `-?[1-9][0-9]*` of at most 18 digits (so it cannot overflow), not
    /// followed by a fraction or exponent. Anything else gives up.
    fn integer(&mut self) -> Option<i64> {
        let bytes = self.s.as_bytes();
        let negative = self.peek()? == b'-';
        let start = self.at + usize::from(negative);
        let mut end = start;
        let mut magnitude = 0i64;
        while let Some(&d) = bytes.get(end).filter(|d| d.is_ascii_digit()) {
            if end - start == MAX_DIGITS {
                return None;
            }
            magnitude = magnitude * 10 + i64::from(d - b'0');
            end += 1;
        }
        let digits = end - start;
        if digits == 0 || (bytes[start] == b'0' && (digits > 1 || negative)) {
            return None;
        }
        if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at = end;
        Some(if negative { -magnitude } else { magnitude })
    }

    /// `null`, or what `value` reads.
    fn nullable<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.eat_literal("null") {
            return Some(None);
        }
        value(self).map(Some)
    }

    fn operation(&mut self) -> Option<Operation> {
        self.enumerated(&[("\"replace\"", Operation::Replace), ("\"remove\"", Operation::Remove)])
    }

    fn payload_type(&mut self) -> Option<PayloadType> {
        self.enumerated(&[("\"Inline\"", PayloadType::Inline), ("\"S3Url\"", PayloadType::S3Url)])
    }

    /// A string that must be one of `choices` (given as JSON literals): compared in place, or,
    /// when written with escapes, decoded first.
    fn enumerated<T: Copy>(&mut self, choices: &[(&str, T)]) -> Option<T> {
        if let Some((_, value)) = choices.iter().find(|(literal, _)| self.eat_literal(literal)) {
            return Some(*value);
        }
        let text = self.string()?;
        let (_, value) = choices.iter().find(|(l, _)| l[1..l.len() - 1] == *text.as_str())?;
        Some(*value)
    }

    /// `open`, items separated by commas, `close`; `item` reads each one.
    fn sequence(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Calls `member` for each `"name":value` of an object with the index in `fields` of its
    /// name. `fields` lists the `"name":` of each member in the order writers usually put them:
    /// a member where its entry says is matched by one comparison, without searching for the
    /// end of its name; another is looked up in `fields`, then in `aliases`. An unknown name
    /// makes the fast path give up.
    fn object(
        &mut self,
        fields: &[&'static str],
        aliases: &[(&'static str, usize)],
        mut member: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        let mut position = 0;
        self.sequence(b'{', b'}', |p| {
            let predicted = fields.get(position).is_some_and(|f| p.eat_literal(f));
            let index = if predicted {
                position
            } else {
                let name = p.field_name()?;
                // Between the quotes, before the colon.
                (fields.iter().position(|f| &f[1..f.len() - 2] == name))
                    .or_else(|| aliases.iter().find(|(a, _)| *a == name).map(|(_, i)| *i))?
            };
            position += 1;
            member(p, index)
        })
    }

    fn payload(&mut self) -> Option<Payload<'a>> {
        let mut f = PayloadFields::default();
        // Indices into USUAL_PAYLOAD; `datasetName` (AWS's sample) is `dataSetName`'s alias. A
        // second spelling goes to `extra` on the full path.
        self.object(&USUAL_PAYLOAD, &[("datasetName", 2)], |p, index| match index {
            0 => once(&mut f.pool, p.nullable(Self::string)?),
            1 => once(&mut f.identity, p.nullable(Self::string)?),
            2 => once(&mut f.dataset, p.nullable(Self::string)?),
            3 => once(&mut f.operation, p.nullable(Self::operation)?),
            4 => once(&mut f.records, p.nullable(Self::records)?),
            5 => once(&mut f.last_modified, p.nullable(Self::integer)?),
            6 => once(&mut f.url, p.nullable(Self::string)?),
            7 => once(&mut f.payload_type, p.nullable(Self::payload_type)?),
            8 => once(&mut f.sync_count, p.nullable(Self::integer)?),
            _ => None,
        })?;
        f.finish(Extra::default()).ok()
    }

    fn records(&mut self) -> Option<Vec<SyncRecord<'a>>> {
        let mut records = self.buffers.records();
        self.sequence(b'[', b']', |p| {
            if records.is_empty() {
                // Most payloads carry a few records: one allocation instead of growing.
                records.reserve(RECORDS_ROOM);
            }
            records.push(p.record()?);
            Some(())
        })?;
        Some(records)
    }

    fn record(&mut self) -> Option<SyncRecord<'a>> {
        let mut f = RecordFields::default();
        // Indices into USUAL_RECORD.
        self.object(&USUAL_RECORD, &[], |p, index| match index {
            0 => once(&mut f.key, p.nullable(Self::string)?),
            1 => once(&mut f.value, p.nullable(Self::string)?),
            2 => once(&mut f.sync_count, p.nullable(Self::integer)?),
            3 => once(&mut f.last_modified, p.nullable(Self::integer)?),
            4 => once(&mut f.device_last_modified, p.nullable(Self::integer)?),
            5 => once(&mut f.op, p.nullable(Self::operation)?),
            _ => None,
        })?;
        f.finish(Extra::default()).ok()
    }
}

#[cfg(test)]
mod tests;
