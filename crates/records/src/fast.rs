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
//! Why it is faster: string contents are found with a SIMD search for `"` or `\` (control
//! characters, which JSON forbids inside strings, are ruled out once for the whole input), and
//! there is no per-field visitor machinery.

use std::borrow::Cow;

use crate::payload::{Extra, Operation, Payload, PayloadFields, PayloadType, RecordFields, SyncRecord};
use crate::text::Text;

/// Decodes `text` (valid UTF-8) if it is compact JSON of known fields only; `None` otherwise.
pub(crate) fn decode(text: &str) -> Option<Payload<'_>> {
    // JSON forbids raw control characters inside strings, and compact JSON has none between
    // tokens: one vectorised pass rules them out, so strings end at the next `"` or `\`.
    if text.bytes().fold(false, |seen, b| seen | (b < 0x20)) {
        return None;
    }
    let mut p = Parser { s: text, at: 0 };
    let payload = p.payload()?;
    (p.at == text.len()).then_some(payload)
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
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

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn eat_null(&mut self) -> bool {
        let null = self.s.as_bytes()[self.at..].starts_with(b"null");
        if null {
            self.at += 4;
        }
        null
    }

    /// `"name":` without escapes in the name.
    fn field_name(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = &self.s.as_bytes()[self.at..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] != b'"' {
            return None;
        }
        let name = &self.s[self.at..self.at + end];
        self.at += end + 1;
        self.eat(b':')?;
        Some(name)
    }

    /// A string, borrowed unless it has escapes.
    fn string(&mut self) -> Option<Text<'a>> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.s.as_bytes();
        let end = start + memchr::memchr2(b'"', b'\\', &bytes[start..])?;
        if bytes[end] == b'"' {
            self.at = end + 1;
            return Some(Text(Cow::Borrowed(&self.s[start..end])));
        }
        let mut owned = String::with_capacity(end - start + 16);
        owned.push_str(&self.s[start..end]);
        self.at = end;
        loop {
            // At a backslash.
            self.at += 1;
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
            let from = self.at;
            let next = from + memchr::memchr2(b'"', b'\\', &bytes[from..])?;
            owned.push_str(&self.s[from..next]);
            self.at = next;
            if bytes[next] == b'"' {
                self.at += 1;
                return Some(Text(Cow::Owned(owned)));
            }
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
            if end - start == 18 {
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

    fn opt_string(&mut self) -> Option<Option<Text<'a>>> {
        if self.eat_null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    fn opt_integer(&mut self) -> Option<Option<i64>> {
        if self.eat_null() {
            return Some(None);
        }
        self.integer().map(Some)
    }

    fn opt_operation(&mut self) -> Option<Option<Operation>> {
        if self.eat_null() {
            return Some(None);
        }
        match self.string()?.as_str() {
            "replace" => Some(Some(Operation::Replace)),
            "remove" => Some(Some(Operation::Remove)),
            _ => None,
        }
    }

    fn opt_payload_type(&mut self) -> Option<Option<PayloadType>> {
        if self.eat_null() {
            return Some(None);
        }
        match self.string()?.as_str() {
            "Inline" => Some(Some(PayloadType::Inline)),
            "S3Url" => Some(Some(PayloadType::S3Url)),
            _ => None,
        }
    }

    /// Calls `member` for each `"name":value` of an object, the opening `{` included.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let name = self.field_name()?;
            member(self, name)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn payload(&mut self) -> Option<Payload<'a>> {
        let mut f = PayloadFields::default();
        self.object(|p, name| match name {
            "identityPoolId" => once(&mut f.pool, p.opt_string()?),
            "identityId" => once(&mut f.identity, p.opt_string()?),
            // A second spelling goes to `extra` on the full path.
            "dataSetName" | "datasetName" => once(&mut f.dataset, p.opt_string()?),
            "operation" => once(&mut f.operation, p.opt_operation()?),
            "kinesisSyncRecords" => once(&mut f.records, p.opt_records()?),
            "lastModifiedDate" => once(&mut f.last_modified, p.opt_integer()?),
            "kinesisSyncRecordsURL" => once(&mut f.url, p.opt_string()?),
            "payloadType" => once(&mut f.payload_type, p.opt_payload_type()?),
            "syncCount" => once(&mut f.sync_count, p.opt_integer()?),
            _ => None,
        })?;
        f.finish(Extra::default()).ok()
    }

    fn opt_records(&mut self) -> Option<Option<Vec<SyncRecord<'a>>>> {
        if self.eat_null() {
            return Some(None);
        }
        self.eat(b'[')?;
        let mut records = Vec::new();
        if self.eat(b']').is_some() {
            return Some(Some(records));
        }
        loop {
            records.push(self.record()?);
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(Some(records));
                }
                _ => return None,
            }
        }
    }

    fn record(&mut self) -> Option<SyncRecord<'a>> {
        let mut f = RecordFields::default();
        self.object(|p, name| match name {
            "key" => once(&mut f.key, p.opt_string()?),
            "value" => once(&mut f.value, p.opt_string()?),
            "syncCount" => once(&mut f.sync_count, p.opt_integer()?),
            "lastModifiedDate" => once(&mut f.last_modified, p.opt_integer()?),
            "deviceLastModifiedDate" => once(&mut f.device_last_modified, p.opt_integer()?),
            "op" => once(&mut f.op, p.opt_operation()?),
            _ => None,
        })?;
        f.finish(Extra::default()).ok()
    }
}

#[cfg(test)]
mod tests;
