//! The Kinesis event as the function receives it.
//!
//! The runtime hands the event over as JSON. It is kept raw and split record by record by the
//! same reader `replay` uses for Lambda event files ([`lambda_event_items`]), which parses each
//! record with `aws_lambda_events`' own [`KinesisEventRecord`] type. Deserializing the whole
//! event as one `KinesisEvent` instead would have two costs here: one record whose `data` is
//! not base64 would fail the whole batch (Lambda would redeliver it forever: a stuck shard,
//! where the record belongs in the dead letters), and `aws_lambda_events` 1.2 reads the
//! fraction of `approximateArrivalTimestamp` as a whole number of milliseconds (`.25` becomes
//! 25 ms, not 250), which would corrupt the `arrival_time` lineage column.
//!
//! [`KinesisEventRecord`]: aws_lambda_events::event::kinesis::KinesisEventRecord

use std::sync::OnceLock;

use aws_lambda_events::event::kinesis::KinesisEvent;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use synclake_lake::record_tag;
use synclake_records::envelope::{BadRecord, EnvelopeItem, lambda_event_items};
use synclake_records::{Lineage, Position};

/// A Kinesis event (`{"Records":[…]}`), as raw JSON.
#[derive(Debug)]
pub struct KinesisBatchEvent(Box<RawValue>);

impl<'de> Deserialize<'de> for KinesisBatchEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(KinesisBatchEvent)
    }
}

impl KinesisBatchEvent {
    /// An event from its JSON text.
    pub fn from_json(json: &str) -> Result<KinesisBatchEvent, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// An event from a typed [`KinesisEvent`] (for callers holding one; its arrival times
    /// carry `aws_lambda_events`' parsing, see the module docs).
    pub fn from_event(event: &KinesisEvent) -> Result<KinesisBatchEvent, serde_json::Error> {
        serde_json::value::to_raw_value(event).map(KinesisBatchEvent)
    }

    /// The event's JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The records of the event, in order, each a source record or a bad record. A document
    /// that is not a Kinesis event at all is one bad record, so it still reaches the dead
    /// letters.
    pub fn items(&self) -> Vec<EnvelopeItem<'static>> {
        let json = self.0.get().as_bytes();
        lambda_event_items(json).unwrap_or_else(|error| {
            vec![Err(BadRecord {
                lineage: Lineage {
                    source: "lambda-event".into(),
                    position: Position::Index(0),
                    arrival_ms: None,
                },
                raw: json.to_vec(),
                error,
            })]
        })
    }
}

/// File-name tags for a batch: `tag_of(i)` names the files whose first record is `items[i]`
/// (see [`synclake_lake::batch`]): `<shard>-<sequence number>` of that record.
///
/// Names are thus a function of the records, not of how Lambda cut the stream into batches:
/// a redelivery (the same batch again, half of it after a bisect, the rest of it after a
/// partial failure) that carries a file's first record rewrites that file under the same name.
/// One output prefix per stream: shard ids repeat across streams (and the `source` column could
/// not tell them apart either). A record without a sequence number (not a real Kinesis event)
/// is named after the batch's content, hashed only if such a record is asked for.
pub struct BatchTags<'i, 'a> {
    items: &'i [EnvelopeItem<'a>],
    fallback: OnceLock<String>,
}

impl<'i, 'a> BatchTags<'i, 'a> {
    /// The tags of `items`' files, computed when asked (a batch names a file per partition,
    /// not per record).
    pub fn new(items: &'i [EnvelopeItem<'a>]) -> Self {
        BatchTags {
            items,
            fallback: OnceLock::new(),
        }
    }

    /// The tag of the files whose first record is `items[i]`.
    pub fn tag(&self, i: usize) -> String {
        self.items.get(i).and_then(record_tag).unwrap_or_else(|| {
            self.fallback
                .get_or_init(|| format!("event-{:016x}", fnv1a(self.items)))
                .clone()
        })
    }
}

fn fnv1a(items: &[EnvelopeItem<'_>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for item in items {
        let bytes: &[u8] = match item {
            Ok(record) => &record.data,
            Err(bad) => &bad.raw,
        };
        for b in bytes.iter().chain(b"\x00") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const EVENT: &str = r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"p",
        "sequenceNumber":"49590338271490256608559692538361571095921575989136588898","data":"e30=",
        "approximateArrivalTimestamp":1545084650.25},"eventSource":"aws:kinesis","eventVersion":"1.0",
        "eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName":"aws:kinesis:record","awsRegion":"us-east-1",
        "eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/cognito"}]}"#;

    #[test]
    fn tag_is_shard_and_sequence() {
        let event = KinesisBatchEvent::from_json(EVENT).unwrap();
        let items = event.items();
        assert_eq!(
            BatchTags::new(&items).tag(0),
            "shardId-000000000006-49590338271490256608559692538361571095921575989136588898"
        );
        let record = items[0].as_ref().unwrap();
        assert_eq!(
            record.lineage.arrival_ms,
            Some(1_545_084_650_250),
            "fraction read as seconds"
        );
    }

    #[test]
    fn a_typed_event_converts() {
        let typed: KinesisEvent = serde_json::from_str(EVENT).unwrap();
        let event = KinesisBatchEvent::from_event(&typed).unwrap();
        let items = event.items();
        assert_eq!(items.len(), 1);
        let record = items[0].as_ref().unwrap();
        assert_eq!(&*record.data, b"{}");
        // `aws_lambda_events` read `.25` as 25 ms; the typed event carries that on.
        assert_eq!(record.lineage.arrival_ms, Some(1_545_084_650_025));
    }

    #[test]
    fn a_document_that_is_not_an_event_is_one_bad_record() {
        let event = KinesisBatchEvent::from_json(r#"{"hello":"world"}"#).unwrap();
        let items = event.items();
        assert_eq!(items.len(), 1);
        let bad = items[0].as_ref().unwrap_err();
        assert_eq!(bad.raw, br#"{"hello":"world"}"#);
        assert!(BatchTags::new(&items).tag(0).starts_with("event-"));
    }

    #[test]
    fn unsafe_characters_do_not_reach_the_key() {
        let json = EVENT.replace("shardId-000000000006:", "shard/../x y:");
        let items = KinesisBatchEvent::from_json(&json).unwrap().items();
        let tag = &BatchTags::new(&items).tag(0);
        assert!(tag.starts_with("shard_.._x_y-4959"), "{tag}");
    }
}
