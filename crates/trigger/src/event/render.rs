//! The response, rebuilt from the event's raw pieces: every top-level field but `datasetRecords`
//! and every untouched record field copied as raw text, only `newValue` / `op` of changed
//! records written anew.

use std::borrow::Cow;

use super::{Event, Raw};

/// The new value of a record in the response.
#[derive(Debug, Clone)]
pub(crate) enum NewValue<'a> {
    /// Copy this raw JSON string (e.g. the old value, restored).
    Raw(Raw<'a>),
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
fn push_record(out: &mut Vec<u8>, fields: &[(Cow<'_, str>, Raw<'_>)], set: Option<&NewValue<'_>>) {
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
