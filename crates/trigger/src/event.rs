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
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

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
                    v.push((k, map.next_value::<&'de RawValue>()?));
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
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// Index in `fields` where `datasetRecords` stands.
    records_at: Option<usize>,
    records: Vec<Record<'a>>,
    /// A record or field problem found while parsing (kept out of serde's error type).
    problem: Option<EventError>,
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
                if top.records_at.is_some() {
                    top.problem.get_or_insert(EventError::DuplicateField {
                        field: "datasetRecords",
                    });
                }
                top.records_at = Some(top.fields.len());
                match map.next_value_seed(RecordsSeed)? {
                    Ok(records) => top.records = records,
                    Err(e) => {
                        top.problem.get_or_insert(e);
                    }
                }
            } else {
                let v = map.next_value::<&'de RawValue>()?;
                top.fields.push((k, v));
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
        let mut records = Vec::with_capacity(map.size_hint().unwrap_or(64).min(4096));
        let mut problem = None;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let Entries(fields) = map.next_value::<Entries<'de>>()?;
            if problem.is_none() {
                match record(key, fields) {
                    Ok(r) => records.push(r),
                    Err(e) => problem = Some(e),
                }
            }
        }
        Ok(match problem {
            Some(e) => Err(e),
            None => Ok(records),
        })
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
    Str(&'a RawValue),
}

impl<'a> Slot<'a> {
    /// The raw string, if there is one.
    pub(crate) fn raw(self) -> Option<&'a RawValue> {
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
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
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
    pub(crate) fn requested(&self) -> Option<&'a RawValue> {
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
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
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

/// Decodes a raw JSON string. Without a backslash the value is the text between the quotes
/// (serde_json already checked it while scanning), so no second scan is needed.
pub(crate) fn decode<'a>(key: &str, raw: &'a RawValue) -> Result<Cow<'a, str>, EventError> {
    let text = raw.get();
    if !text.as_bytes().contains(&b'\\')
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

impl<'a> Event<'a> {
    /// Parses an event from UTF-8 JSON text.
    pub(crate) fn parse(input: &'a str) -> Result<Event<'a>, EventError> {
        let mut de = serde_json::Deserializer::from_str(input);
        let top = TopSeed
            .deserialize(&mut de)
            .map_err(|source| EventError::Json { source })?;
        de.end().map_err(|source| EventError::Json { source })?;
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

fn record<'a>(key: Cow<'a, str>, fields: Vec<(Cow<'a, str>, &'a RawValue)>) -> Result<Record<'a>, EventError> {
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
    let slot = |v: Option<&'a RawValue>, what: &str| match v {
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

/// The new value of a record in the response.
#[derive(Debug, Clone)]
pub(crate) enum NewValue<'a> {
    /// Copy this raw JSON string (e.g. the old value, restored).
    Raw(&'a RawValue),
    /// This string.
    Text(String),
    /// `null` with `op: "remove"`.
    Delete,
}

/// What the response does with one record.
#[derive(Debug, Clone)]
pub(crate) enum Out<'a> {
    /// Copy it verbatim.
    Keep,
    /// Leave it out (Cognito ignores the change).
    Omit,
    /// Rewrite `newValue` and `op`, keeping every other field.
    Set(NewValue<'a>),
}

/// Writes a JSON string.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// Writes a record key: the exact input text when it was borrowed (had no escapes: the raw text
/// is then `"` + key + `"`), else re-escaped (same string, possibly different escapes).
// The `Cow` variant is the information used here, so `&str` would not do.
#[allow(clippy::ptr_arg)]
fn push_key(out: &mut Vec<u8>, key: &Cow<'_, str>) {
    match key {
        Cow::Borrowed(k) => {
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.push(b'"');
        }
        Cow::Owned(k) => push_json_str(out, k),
    }
}

fn push_new_value(out: &mut Vec<u8>, v: &NewValue<'_>) {
    match v {
        NewValue::Raw(r) => out.extend_from_slice(r.get().as_bytes()),
        NewValue::Text(s) => push_json_str(out, s),
        NewValue::Delete => out.extend_from_slice(b"null"),
    }
}

fn push_op(out: &mut Vec<u8>, v: &NewValue<'_>) {
    out.extend_from_slice(match v {
        NewValue::Delete => b"\"remove\"",
        _ => b"\"replace\"",
    });
}

/// Writes `{"name":raw,...}` from fields, `newValue` and `op` replaced when `set` is given
/// (and appended when absent).
fn push_record(out: &mut Vec<u8>, fields: &[(Cow<'_, str>, &RawValue)], set: Option<&NewValue<'_>>) {
    out.push(b'{');
    let (mut saw_new, mut saw_op) = (false, false);
    for (i, (name, raw)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_key(out, name);
        out.push(b':');
        match (&**name, set) {
            ("newValue", Some(v)) => {
                saw_new = true;
                push_new_value(out, v);
            }
            ("op", Some(v)) => {
                saw_op = true;
                push_op(out, v);
            }
            _ => out.extend_from_slice(raw.get().as_bytes()),
        }
    }
    if let Some(v) = set {
        let mut more = !fields.is_empty();
        if !saw_new {
            if more {
                out.push(b',');
            }
            out.extend_from_slice(b"\"newValue\":");
            push_new_value(out, v);
            more = true;
        }
        if !saw_op {
            if more {
                out.push(b',');
            }
            out.extend_from_slice(b"\"op\":");
            push_op(out, v);
        }
    }
    out.push(b'}');
}

impl Event<'_> {
    /// The response: `outs` (one per record, in order) applied, then `added` records appended.
    /// With nothing to change, the input itself.
    pub(crate) fn render(&self, outs: &[Out<'_>], added: &[(String, String)]) -> Vec<u8> {
        if added.is_empty() && outs.iter().all(|o| matches!(o, Out::Keep)) {
            return self.input.as_bytes().to_vec();
        }
        let mut out = Vec::with_capacity(self.input.len() + 64 * (added.len() + 1));
        out.push(b'{');
        for i in 0..=self.fields.len() {
            if i == self.records_at {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"datasetRecords\":");
                self.render_records(&mut out, outs, added);
            }
            if let Some((key, raw)) = self.fields.get(i) {
                if i > 0 || self.records_at == 0 {
                    out.push(b',');
                }
                push_key(&mut out, key);
                out.push(b':');
                out.extend_from_slice(raw.get().as_bytes());
            }
        }
        out.push(b'}');
        out
    }

    fn render_records(&self, out: &mut Vec<u8>, outs: &[Out<'_>], added: &[(String, String)]) {
        out.push(b'{');
        let mut first = true;
        let mut sep = |out: &mut Vec<u8>| {
            if !first {
                out.push(b',');
            }
            first = false;
        };
        for (rec, o) in self.records.iter().zip(outs) {
            let set = match o {
                Out::Omit => continue,
                Out::Keep => None,
                Out::Set(v) => Some(v),
            };
            sep(out);
            push_key(out, &rec.key);
            out.push(b':');
            push_record(out, &rec.fields, set);
        }
        for (key, value) in added {
            sep(out);
            push_json_str(out, key);
            out.extend_from_slice(b":{\"newValue\":");
            push_json_str(out, value);
            out.extend_from_slice(b",\"op\":\"replace\"}");
        }
        out.push(b'}');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EV: &str = r#"{ "version": 2, "x-extra": [1, {"a": null}],
  "identityPoolId": "p", "datasetName": "d",
  "datasetRecords": {"a": {"oldValue": "1", "newValue": "2", "op": "replace", "z": 1},
                     "b\u0041": {"newValue": "n"}, "c": {"oldValue": "o", "op": "remove"}},
  "region": "us-east-1" }"#;

    #[test]
    fn parses_fields_and_records() {
        let e = Event::parse(EV).expect("valid");
        assert_eq!(e.identity_pool_id, "p");
        assert_eq!(e.dataset_name, "d");
        let keys: Vec<&str> = e.records.iter().map(|r| &*r.key).collect();
        assert_eq!(keys, ["a", "bA", "c"]);
        assert!(matches!(e.records[1].old, Slot::Absent));
        assert_eq!(e.records[2].op, Op::Remove);
        assert!(e.records[2].requested().is_none());
        assert_eq!(e.records[1].requested().map(RawValue::get), Some("\"n\""));
    }

    #[test]
    fn unchanged_renders_identical_and_set_keeps_other_fields() {
        let e = Event::parse(EV).expect("valid");
        assert_eq!(e.render(&[Out::Keep, Out::Keep, Out::Keep], &[]), EV.as_bytes());
        let out = e.render(
            &[
                Out::Set(NewValue::Text("x".into())),
                Out::Omit,
                Out::Set(NewValue::Delete),
            ],
            &[("new".into(), "v".into())],
        );
        let out = String::from_utf8(out).expect("utf8");
        let want = concat!(
            r#"{"version":2,"x-extra":[1, {"a": null}],"identityPoolId":"p","datasetName":"d","#,
            r#""datasetRecords":{"a":{"oldValue":"1","newValue":"x","op":"replace","z":1},"#,
            r#""c":{"oldValue":"o","op":"remove","newValue":null},"new":{"newValue":"v","op":"replace"}},"#,
            r#""region":"us-east-1"}"#
        );
        assert_eq!(out, want);
        // Keep renders every field of a record raw, whatever the rest does.
        let out = e.render(&[Out::Omit, Out::Keep, Out::Omit], &[]);
        let out = String::from_utf8(out).expect("utf8");
        assert!(out.contains(r#""datasetRecords":{"bA":{"newValue":"n"}},"#), "{out}");
    }

    #[test]
    fn records_first_or_last() {
        for ev in [
            r#"{"datasetRecords":{"k":{"newValue":"a"}},"identityPoolId":"p","datasetName":"d"}"#,
            r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"newValue":"a"}}}"#,
        ] {
            let e = Event::parse(ev).expect("valid");
            let out = e.render(&[Out::Set(NewValue::Text("b".into()))], &[]);
            let want = ev.replace(r#"{"newValue":"a"}"#, r#"{"newValue":"b","op":"replace"}"#);
            assert_eq!(String::from_utf8(out).expect("utf8"), want);
        }
    }

    #[test]
    fn decode_fast_path_and_escapes() {
        let raw = |s: &str| serde_json::from_str::<&RawValue>(s).expect("raw").to_owned();
        let r = raw(r#""plain é""#);
        assert!(matches!(decode("k", &r), Ok(Cow::Borrowed("plain é"))));
        assert_eq!(decode("k", &raw(r#""a\"b\u0041""#)).expect("valid"), "a\"bA");
        assert!(decode("k", &raw(r#""\ud800""#)).is_err());
    }

    #[test]
    fn malformed_events() {
        let err = |s: &str| Event::parse(s).expect_err(s).to_string();
        assert!(err("[]").contains("not a valid JSON object"));
        assert!(err(r#"{"datasetName":"d","datasetRecords":{}}"#).contains("identityPoolId: missing"));
        assert!(err(r#"{"identityPoolId":1,"datasetName":"d","datasetRecords":{}}"#).contains("expected a string"));
        assert!(
            err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{},"datasetRecords":{}}"#)
                .contains("more than once")
        );
        assert!(
            err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"newValue":5}}}"#)
                .contains("newValue must be a string or null")
        );
        assert!(
            err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"op":"upsert"}}}"#)
                .contains("op must be")
        );
        assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":[]}"#).contains("datasetRecords"));
        assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":null}"#).contains("datasetRecords"));
        assert!(err(r#"{"identityPoolId":"p","datasetName":"d"}"#).contains("datasetRecords: missing"));
        assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":"v"}}"#).contains("JSON"));
        assert!(
            err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{},"\u006b":{}}}"#)
                .contains("more than once")
        );
        assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{}} x"#).contains("JSON"));
    }
}
