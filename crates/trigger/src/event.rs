//! The Sync Trigger event, read in one pass without losing a byte that matters: only
//! `identityPoolId`, `datasetName` and the records' `oldValue` / `newValue` / `op` are looked at;
//! every other value stays raw text.
//!
//! When no record changes, the response is the request itself, byte for byte. Otherwise it is
//! rebuilt from the raw pieces: every top-level field other than `datasetRecords` (known or not)
//! comes back with its value byte-for-byte and in its place; an untouched record keeps each of
//! its fields' raw values, so an absent `oldValue` stays absent (re-serializing
//! `aws_lambda_events`' `Option<String>` would turn it into `null`, which Cognito reads as
//! "delete"); a changed record keeps every field but `newValue` and `op`, in order. Only the
//! whitespace between tokens is normalized then.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::EventError;

mod render;
mod scan;
#[cfg(test)]
mod tests;

pub(crate) use render::{NewValue, Out};

/// A JSON value's raw text as it stands in the event (checked to be valid JSON when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The raw text.
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

/// A string decoded from JSON, borrowed from the input when it had no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The entries of a JSON object in order: decoded key, raw value.
struct Entries<'a>(Vec<(Cow<'a, str>, Raw<'a>)>);

impl<'de> de::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(8).min(4096));
                while let Some(Str(k)) = map.next_key::<Str<'de>>()? {
                    v.push((k, Raw(map.next_value::<&'de RawValue>()?.get())));
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The top level: every field raw, in order, except `datasetRecords`, parsed on the way.
#[derive(Default)]
struct Top<'a> {
    fields: Vec<(Cow<'a, str>, Raw<'a>)>,
    /// Index in `fields` where `datasetRecords` stands.
    records_at: Option<usize>,
    records: Vec<Record<'a>>,
    /// A record or field problem found while parsing (kept out of serde's error type).
    problem: Option<EventError>,
}

impl<'a> Top<'a> {
    /// `datasetRecords` was read (at the current place among `fields`).
    fn records_found(&mut self, records: Result<Vec<Record<'a>>, EventError>) {
        if self.records_at.is_some() {
            self.problem.get_or_insert(EventError::DuplicateField {
                field: "datasetRecords",
            });
        }
        self.records_at = Some(self.fields.len());
        match records {
            Ok(records) => self.records = records,
            Err(e) => {
                self.problem.get_or_insert(e);
            }
        }
    }
}

/// The records of `datasetRecords` as they are read: the first problem stops the collecting
/// (the rest is still read, for JSON errors).
struct RecordsBuilder<'a> {
    records: Vec<Record<'a>>,
    problem: Option<EventError>,
}

impl<'a> RecordsBuilder<'a> {
    fn new(size_hint: Option<usize>) -> Self {
        RecordsBuilder {
            records: Vec::with_capacity(size_hint.unwrap_or(64).min(4096)),
            problem: None,
        }
    }

    fn record(&mut self, key: Cow<'a, str>, fields: Vec<(Cow<'a, str>, Raw<'a>)>) {
        if self.problem.is_none() {
            match record(key, fields) {
                Ok(r) => self.records.push(r),
                Err(e) => self.problem = Some(e),
            }
        }
    }

    fn finish(self) -> Result<Vec<Record<'a>>, EventError> {
        match self.problem {
            Some(e) => Err(e),
            None => Ok(self.records),
        }
    }
}

struct TopSeed;

impl<'de> DeserializeSeed<'de> for TopSeed {
    type Value = Top<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Sync Trigger event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top::default();
        while let Some(Str(k)) = map.next_key::<Str<'de>>()? {
            if k == "datasetRecords" {
                let records = map.next_value_seed(RecordsSeed)?;
                top.records_found(records);
            } else {
                let v = map.next_value::<&'de RawValue>()?;
                top.fields.push((k, Raw(v.get())));
            }
        }
        Ok(top)
    }
}

/// `datasetRecords`: an object of records, each parsed into its fields.
struct RecordsSeed;

impl<'de> DeserializeSeed<'de> for RecordsSeed {
    type Value = Result<Vec<Record<'de>>, EventError>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed {
    type Value = Result<Vec<Record<'de>>, EventError>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of records")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = RecordsBuilder::new(map.size_hint());
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let Entries(fields) = map.next_value::<Entries<'de>>()?;
            records.record(key, fields);
        }
        Ok(records.finish())
    }
    // Anything but an object: consume it and report.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err(not_records()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(not_records()))
    }
}

fn not_records() -> EventError {
    EventError::Field {
        field: "datasetRecords",
        problem: "expected an object of records",
    }
}

/// `oldValue` or `newValue` of a record, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot<'a> {
    /// The field is not there.
    Absent,
    /// `null`.
    Null,
    /// A JSON string (raw, quotes included).
    Str(Raw<'a>),
}

impl<'a> Slot<'a> {
    /// The raw string, if there is one.
    pub(crate) fn raw(self) -> Option<Raw<'a>> {
        match self {
            Slot::Str(r) => Some(r),
            Slot::Absent | Slot::Null => None,
        }
    }
}

/// `op` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `replace`, or no `op`.
    Replace,
    /// `remove`.
    Remove,
}

/// One record of `datasetRecords`.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// The key, decoded.
    pub(crate) key: Cow<'a, str>,
    fields: Vec<(Cow<'a, str>, Raw<'a>)>,
    /// `oldValue`.
    pub(crate) old: Slot<'a>,
    /// `newValue`.
    pub(crate) new: Slot<'a>,
    /// `op`.
    pub(crate) op: Op,
}

impl<'a> Record<'a> {
    /// The value the record asks for after the sync, raw: `None` means the key ends up deleted.
    /// A `replace` without `newValue` leaves the old value.
    pub(crate) fn requested(&self) -> Option<Raw<'a>> {
        match (self.op, self.new) {
            (Op::Remove, _) | (Op::Replace, Slot::Null) => None,
            (Op::Replace, Slot::Str(r)) => Some(r),
            (Op::Replace, Slot::Absent) => self.old.raw(),
        }
    }
}

/// The parsed event.
#[derive(Debug)]
pub(crate) struct Event<'a> {
    input: &'a str,
    /// Every top-level field but `datasetRecords`, raw, in order.
    fields: Vec<(Cow<'a, str>, Raw<'a>)>,
    /// Where `datasetRecords` stands among `fields`.
    records_at: usize,
    /// `identityPoolId`.
    pub(crate) identity_pool_id: Cow<'a, str>,
    /// `datasetName`.
    pub(crate) dataset_name: Cow<'a, str>,
    /// `datasetRecords`, in order.
    pub(crate) records: Vec<Record<'a>>,
}

/// Shortens a (user-controlled) key for error messages.
pub(crate) fn short_key(key: &str) -> String {
    const MAX: usize = 200;
    if key.len() <= MAX {
        return key.to_owned();
    }
    let mut end = MAX;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &key[..end])
}

/// Whether `b` holds a backslash (a raw JSON string with escapes). Values are up to 1 MB and
/// every changed one is scanned, so this runs in 64-byte blocks whose inner loop has no early
/// exit and compiles to SIMD compares (several times faster than `contains`' word loop).
pub(crate) fn has_backslash(b: &[u8]) -> bool {
    let mut blocks = b.chunks_exact(64);
    for block in &mut blocks {
        if block.iter().fold(false, |any, &c| any | (c == b'\\')) {
            return true;
        }
    }
    blocks.remainder().contains(&b'\\')
}

/// Decodes a raw JSON string. Without a backslash the value is the text between the quotes
/// (serde_json already checked it while scanning), so no second scan is needed.
pub(crate) fn decode<'a>(key: &str, raw: Raw<'a>) -> Result<Cow<'a, str>, EventError> {
    let text = raw.get();
    if !has_backslash(text.as_bytes())
        && let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
    {
        return Ok(Cow::Borrowed(inner));
    }
    serde_json::from_str::<Str<'a>>(text)
        .map(|s| s.0)
        .map_err(|e| EventError::Record {
            key: short_key(key),
            problem: format!("value is not a valid JSON string: {e}"),
        })
}

/// A raw JSON string's content as WTF-8, never failing: a lone surrogate escape (`"\ud800"`,
/// which [`decode`] refuses) becomes its 3-byte WTF-8 sequence. Exact: two raw strings give the
/// same bytes if and only if they spell the same code points, whatever their escapes. Its length
/// is the UTF-8 length with each lone surrogate counted as its replacement, U+FFFD (also 3
/// bytes). For values that are compared or measured but not read (old values).
pub(crate) fn wtf8(raw: Raw<'_>) -> Cow<'_, [u8]> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Cow<'de, [u8]>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_vec()))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
    }
    let text = raw.get();
    if !has_backslash(text.as_bytes())
        && let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
    {
        return Cow::Borrowed(inner.as_bytes());
    }
    // serde_json documents `deserialize_bytes` on a string as yielding the WTF-8 encoding of its
    // code points. A raw value always holds a valid JSON string, so the fallback (the raw text,
    // quotes included: conservative, equal strings may then compare unequal) is not expected.
    serde_json::Deserializer::from_str(text)
        .deserialize_bytes(V)
        .unwrap_or(Cow::Borrowed(text.as_bytes()))
}

impl<'a> Event<'a> {
    /// Parses an event from UTF-8 JSON text: by the fast reader, or when it declines (malformed
    /// or unusual input) by serde_json, whose answer then stands.
    pub(crate) fn parse(input: &'a str) -> Result<Event<'a>, EventError> {
        let top = match scan::top(input) {
            Some(top) => top,
            None => Self::parse_top_serde(input)?,
        };
        Self::from_top(input, top)
    }

    /// The event's structure read by serde_json alone.
    fn parse_top_serde(input: &'a str) -> Result<Top<'a>, EventError> {
        let mut de = serde_json::Deserializer::from_str(input);
        let top = TopSeed
            .deserialize(&mut de)
            .map_err(|source| EventError::Json { source })?;
        de.end().map_err(|source| EventError::Json { source })?;
        Ok(top)
    }

    fn from_top(input: &'a str, top: Top<'a>) -> Result<Event<'a>, EventError> {
        if let Some(e) = top.problem {
            return Err(e);
        }
        let find = |field: &'static str| -> Result<Cow<'a, str>, EventError> {
            let mut found = top.fields.iter().filter(|(k, _)| k == field);
            let raw = found.next().ok_or(EventError::Field {
                field,
                problem: "missing",
            })?;
            if found.next().is_some() {
                return Err(EventError::DuplicateField { field });
            }
            serde_json::from_str::<Str<'a>>(raw.1.get())
                .map(|s| s.0)
                .map_err(|_| EventError::Field {
                    field,
                    problem: "expected a string",
                })
        };
        let identity_pool_id = find("identityPoolId")?;
        let dataset_name = find("datasetName")?;
        let records_at = top.records_at.ok_or(EventError::Field {
            field: "datasetRecords",
            problem: "missing",
        })?;
        let mut seen = HashSet::with_capacity(top.records.len());
        for r in &top.records {
            if !seen.insert(&*r.key) {
                return Err(EventError::Record {
                    key: short_key(&r.key),
                    problem: "key appears more than once in datasetRecords".to_owned(),
                });
            }
        }
        Ok(Event {
            input,
            fields: top.fields,
            records_at,
            identity_pool_id,
            dataset_name,
            records: top.records,
        })
    }

    /// The input text.
    pub(crate) fn input(&self) -> &'a str {
        self.input
    }
}

fn record<'a>(key: Cow<'a, str>, fields: Vec<(Cow<'a, str>, Raw<'a>)>) -> Result<Record<'a>, EventError> {
    let bad = |key: &str, problem: &str| EventError::Record {
        key: short_key(key),
        problem: problem.to_owned(),
    };
    let (mut old, mut new, mut op) = (None, None, None);
    for (name, value) in &fields {
        let (slot, what) = match &**name {
            "oldValue" => (&mut old, "oldValue"),
            "newValue" => (&mut new, "newValue"),
            "op" => (&mut op, "op"),
            _ => continue,
        };
        if slot.replace(*value).is_some() {
            return Err(bad(&key, &format!("{what} appears more than once")));
        }
    }
    let slot = |v: Option<Raw<'a>>, what: &str| match v {
        None => Ok(Slot::Absent),
        Some(r) if r.get() == "null" => Ok(Slot::Null),
        Some(r) if r.get().starts_with('"') => Ok(Slot::Str(r)),
        Some(_) => Err(bad(&key, &format!("{what} must be a string or null"))),
    };
    let old = slot(old, "oldValue")?;
    let new = slot(new, "newValue")?;
    let op = match op.map(|r| r.get()) {
        None | Some("null") | Some("\"replace\"") => Op::Replace,
        Some("\"remove\"") => Op::Remove,
        Some(_) => return Err(bad(&key, "op must be \"replace\" or \"remove\"")),
    };
    Ok(Record {
        key,
        fields,
        old,
        new,
        op,
    })
}
