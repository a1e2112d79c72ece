//! Allocations a decoder reuses from one payload to the next.
//!
//! Decoding a payload allocates its records vector and a string for each value written with
//! escapes (JSON-in-string values always are). A caller that decodes payload after payload
//! hands each one back to [`DecodeBuffers::recycle`] when done with it, so the next payload
//! is decoded into the same allocations instead of new ones.

use std::borrow::Cow;

use crate::error::DecodeError;
use crate::payload::{Payload, SyncRecord, decode_with};
use crate::text::Text;

/// Most spare strings kept.
const MAX_STRINGS: usize = 64;

/// Largest spare string kept, in bytes of capacity: a rare huge value is not held on to.
const MAX_STRING_CAPACITY: usize = 64 * 1024;

/// Largest records vector kept, in records: the service's limit per dataset. A forged payload
/// of a million records is decoded, but its vector is not held on to.
const MAX_RECORDS_CAPACITY: usize = crate::validate::MAX_RECORDS;

/// Spare allocations for [`DecodeBuffers::decode`]; see the module documentation.
#[derive(Default)]
pub struct DecodeBuffers {
    /// An empty records vector with the capacity the last payloads needed.
    records: Vec<SyncRecord<'static>>,
    /// Empty strings with capacity.
    strings: Vec<String>,
}

impl DecodeBuffers {
    /// Decodes one payload as [`crate::decode_payload`] does, into the spare allocations.
    pub fn decode<'a>(&mut self, data: &'a [u8]) -> Result<Payload<'a>, DecodeError> {
        decode_with(data, self)
    }

    /// Takes back the allocations of a payload the caller is done with.
    pub fn recycle(&mut self, payload: Payload<'_>) {
        let mut records = payload.records;
        for record in &mut records {
            if let Cow::Owned(key) = &mut record.key.0 {
                self.keep(std::mem::take(key));
            }
            if let Some(Text(Cow::Owned(value))) = &mut record.value {
                self.keep(std::mem::take(value));
            }
        }
        if records.capacity() > self.records.capacity() && records.capacity() <= MAX_RECORDS_CAPACITY {
            self.records = empty_with_lifetime(records);
        }
    }

    /// An empty records vector, with capacity when one was recycled.
    pub(crate) fn records<'a>(&mut self) -> Vec<SyncRecord<'a>> {
        empty_with_lifetime(std::mem::take(&mut self.records))
    }

    /// An empty string, with capacity when one was recycled.
    pub(crate) fn string(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    fn keep(&mut self, mut s: String) {
        if self.strings.len() < MAX_STRINGS && s.capacity() <= MAX_STRING_CAPACITY {
            s.clear();
            self.strings.push(s);
        }
    }
}

/// `records`, emptied, as a vector of records of another lifetime: the same allocation, as
/// the layout does not depend on the lifetime (the standard library collects a mapped
/// `IntoIter` in place).
#[expect(
    clippy::unnecessary_filter_map,
    reason = "`filter` would keep the lifetime; this changes it, over no items"
)]
fn empty_with_lifetime<'b>(mut records: Vec<SyncRecord<'_>>) -> Vec<SyncRecord<'b>> {
    records.clear();
    records.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = r#"{"identityPoolId":"us-east-1:0a","identityId":"us-east-1:0b","dataSetName":"d","operation":"replace","kinesisSyncRecords":[{"key":"k1","value":"{\"a\":1}","syncCount":1,"lastModifiedDate":1,"deviceLastModifiedDate":1,"op":"replace"},{"key":"k2","value":"plain","syncCount":1,"lastModifiedDate":1,"deviceLastModifiedDate":1,"op":"replace"}],"lastModifiedDate":1,"kinesisSyncRecordsURL":null,"payloadType":"Inline","syncCount":1}"#;

    #[test]
    fn a_recycled_payload_lends_its_allocations_to_the_next() -> Result<(), DecodeError> {
        let mut buffers = DecodeBuffers::default();
        let first = buffers.decode(PAYLOAD.as_bytes())?;
        assert_eq!(first, crate::decode_payload(PAYLOAD.as_bytes())?);
        let records_at = first.records.as_ptr();
        let Some(Text(Cow::Owned(escaped))) = &first.records[0].value else {
            panic!("an escaped value is unescaped into an owned string");
        };
        let string_at = escaped.as_ptr();
        buffers.recycle(first);
        assert_eq!(buffers.strings.len(), 1, "the escaped value's string is kept");

        let second = buffers.decode(PAYLOAD.as_bytes())?;
        assert_eq!(second, crate::decode_payload(PAYLOAD.as_bytes())?);
        assert_eq!(second.records.as_ptr(), records_at, "the same records vector");
        let Some(Text(Cow::Owned(escaped))) = &second.records[0].value else {
            panic!("an escaped value is unescaped into an owned string");
        };
        assert_eq!(escaped.as_ptr(), string_at, "the same string");
        assert!(buffers.strings.is_empty());
        Ok(())
    }

    #[test]
    fn spares_stay_bounded() {
        let mut buffers = DecodeBuffers::default();
        let many = format!(
            r#"{{"identityPoolId":"p:1","identityId":"i:2","dataSetName":"d","kinesisSyncRecords":[{}]}}"#,
            vec![r#"{"key":"k"}"#; MAX_RECORDS_CAPACITY + 1].join(",")
        );
        let payload = buffers.decode(many.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(payload.records.len(), MAX_RECORDS_CAPACITY + 1);
        buffers.recycle(payload);
        assert_eq!(buffers.records.capacity(), 0, "a vector beyond the limit is not kept");

        buffers.keep(String::with_capacity(MAX_STRING_CAPACITY + 1));
        assert!(buffers.strings.is_empty(), "a huge string is not held on to");
        for _ in 0..MAX_STRINGS + 10 {
            buffers.keep("spare".to_owned());
        }
        assert_eq!(buffers.strings.len(), MAX_STRINGS);
        assert!(buffers.strings.iter().all(String::is_empty));
    }
}
