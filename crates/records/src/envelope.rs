//! Where payloads come from: the envelopes around Cognito Streams data, and lineage.
//!
//! A [`SourceRecord`] is the unit every way in produces: the payload bytes plus where they came
//! from. Kinesis shards give a shard id, a sequence number and an arrival time; files give a
//! file name and a byte offset. The parsers here are pure: bytes in, records out.

use std::borrow::Cow;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use base64::Engine as _;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::error::DecodeError;

/// The position of a record inside its source, for the `sequence_number` lineage column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position<'a> {
    /// A Kinesis sequence number (a decimal string of up to 128 digits).
    Sequence(Cow<'a, str>),
    /// A byte offset into a (decompressed) file, for inputs that carry no sequence number.
    Offset(u64),
    /// The index of a record inside a document that carries no sequence number.
    Index(u64),
}

/// Lineage of one payload: which shard or file, which position, when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage<'a> {
    /// Shard id (`shardId-000000000001`) or the input file's name.
    pub source: Cow<'a, str>,
    /// Sequence number, or a stand-in position.
    pub position: Position<'a>,
    /// Kinesis `approximateArrivalTimestamp`, epoch milliseconds, when known.
    pub arrival_ms: Option<i64>,
}

/// Payload bytes plus lineage: what every way in (shard, Lambda event, file) hands to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord<'a> {
    /// The Kinesis data blob: one Cognito Streams payload, UTF-8 JSON (if the producer behaved).
    pub data: Cow<'a, [u8]>,
    /// Where it came from.
    pub lineage: Lineage<'a>,
}

/// The input formats `replay` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// JSON Lines: one payload per line; blank lines are skipped.
    JsonLines,
    /// A Lambda Kinesis event document (`{"Records":[{"kinesis":{…,"data":<base64>}}]}`).
    LambdaEvent,
    /// The output of `aws kinesis get-records` (`{"Records":[{"Data":<base64>,…}]}`).
    GetRecords,
    /// A file holding one payload as a (possibly pretty-printed) JSON document.
    Payload,
}

impl InputFormat {
    /// Formats that are whole JSON documents, read at once rather than line by line.
    pub fn is_document(self) -> bool {
        !matches!(self, InputFormat::JsonLines)
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::JsonLines => "jsonl",
            InputFormat::LambdaEvent => "lambda-event",
            InputFormat::GetRecords => "get-records",
            InputFormat::Payload => "payload",
        }
    }
}

#[derive(Deserialize)]
struct RecordsProbe<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RecordShapeProbe {
    kinesis: Option<IgnoredAny>,
    #[serde(rename = "Data")]
    data: Option<IgnoredAny>,
}

/// Tells the format of an input from its first bytes.
///
/// `head` is the start of the input and `whole` says whether it is all of it. A first line
/// that is a complete JSON object without `Records` means JSON Lines; a document with
/// `Records` whose elements carry `kinesis` is a Lambda event, `Data` a `get-records` output;
/// any other single object is one payload. Returns None when the first line is not complete
/// JSON and `head` is not the whole input: a pretty-printed document, to be looked at whole.
pub fn detect_format(head: &[u8], whole: bool) -> Option<InputFormat> {
    let first_line = head
        .split(|&b| b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()));
    let Some(line) = first_line else {
        return Some(InputFormat::JsonLines);
    };
    match serde_json::from_slice::<RecordsProbe>(line) {
        Ok(RecordsProbe { records: Some(records) }) => Some(document_kind(&records)),
        Ok(RecordsProbe { records: None }) => Some(InputFormat::JsonLines),
        Err(_) if !whole => None,
        // Not one complete object on the first line: a pretty-printed document, or garbage
        // (read as lines, each of which becomes a dead letter).
        Err(_) => Some(match serde_json::from_slice::<RecordsProbe>(head) {
            Ok(RecordsProbe { records: Some(records) }) => document_kind(&records),
            Ok(RecordsProbe { records: None }) => InputFormat::Payload,
            Err(_) => InputFormat::JsonLines,
        }),
    }
}

fn document_kind(records: &[&RawValue]) -> InputFormat {
    let shape = records
        .first()
        .and_then(|r| serde_json::from_str::<RecordShapeProbe>(r.get()).ok());
    match shape {
        Some(RecordShapeProbe {
            data: Some(_),
            kinesis: None,
        }) => InputFormat::GetRecords,
        _ => InputFormat::LambdaEvent,
    }
}

/// A record of an envelope document that could not be made a source record: kept whole for
/// the dead letters while the rest of the document still converts.
#[derive(Debug)]
pub struct BadRecord<'s> {
    /// What is known of where it came from.
    pub lineage: Lineage<'s>,
    /// The record as it stands in the document (its JSON, or its undecodable `Data`).
    pub raw: Vec<u8>,
    /// Why it could not be read.
    pub error: DecodeError,
}

/// One record of an envelope document, or why it could not be read.
pub type EnvelopeItem<'s> = Result<SourceRecord<'s>, BadRecord<'s>>;

#[derive(Deserialize)]
struct RecordsDoc<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

/// Splits a Lambda Kinesis event document into source records; any record that is bad (say,
/// its `data` is not base64) is an error.
pub fn lambda_event_records(doc: &[u8]) -> Result<Vec<SourceRecord<'static>>, DecodeError> {
    lambda_event_items(doc)?
        .into_iter()
        .map(|item| item.map_err(|bad| bad.error))
        .collect()
}

/// Splits a Lambda Kinesis event document into source records, record by record: a bad
/// record is returned as a [`BadRecord`] and does not spoil the others. Fails only when the
/// document itself is not a `{"Records":[…]}` object.
///
/// The shard id is taken from `eventID` (`shardId-…:<sequence>`); arrival times become epoch
/// milliseconds. `data` is decoded from base64 by `aws_lambda_events`.
pub fn lambda_event_items(doc: &[u8]) -> Result<Vec<EnvelopeItem<'static>>, DecodeError> {
    let parsed: RecordsDoc<'_> = serde_json::from_slice(doc).map_err(|source| DecodeError::Envelope {
        format: "Lambda Kinesis event",
        source,
    })?;
    Ok(parsed
        .records
        .iter()
        .enumerate()
        .map(|(i, raw)| lambda_item(i, raw))
        .collect())
}

fn lambda_item(index: usize, raw: &RawValue) -> EnvelopeItem<'static> {
    match serde_json::from_str::<KinesisEventRecord>(raw.get()) {
        Ok(record) => {
            let mut source = from_lambda_record(record);
            // `aws_lambda_events` (1.2) reads the fraction of `approximateArrivalTimestamp` as
            // a whole number of milliseconds (`.21` → 21 ms), so the arrival time is read again
            // from the text.
            if let Some(ms) = arrival_in_text(raw.get()) {
                source.lineage.arrival_ms = Some(ms);
            }
            Ok(source)
        }
        Err(source) => {
            let probe: LineageProbe = serde_json::from_str(raw.get()).unwrap_or_default();
            let shard = shard_of_event_id(probe.event_id.as_deref()).unwrap_or("unknown-shard");
            let position = match probe.kinesis.sequence_number {
                Some(seq) => Position::Sequence(Cow::Owned(seq)),
                None => Position::Index(index as u64),
            };
            Err(BadRecord {
                lineage: Lineage {
                    source: Cow::Owned(shard.to_owned()),
                    position,
                    arrival_ms: None,
                },
                raw: raw.get().as_bytes().to_vec(),
                error: DecodeError::Envelope {
                    format: "Lambda Kinesis event record",
                    source,
                },
            })
        }
    }
}

/// What lineage can be had from a record that does not parse as a whole.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LineageProbe {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    kinesis: SequenceProbe,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SequenceProbe {
    #[serde(rename = "sequenceNumber")]
    sequence_number: Option<String>,
}

/// The `approximateArrivalTimestamp` of a record that parsed, as epoch milliseconds: a number
/// as Lambda sends it, or a string of one as `aws_lambda_events` writes it.
///
/// Found by searching the record's text for the quoted field name rather than parsing the
/// record a second time (its `data` is most of it).
fn arrival_in_text(record: &str) -> Option<i64> {
    const FIELD: &str = "\"approximateArrivalTimestamp\"";
    // The quoted name may also be a string value (a partition key, say): the field is the
    // occurrence followed by a colon.
    memchr::memmem::find_iter(record.as_bytes(), FIELD.as_bytes()).find_map(|at| {
        let rest = record[at + FIELD.len()..].trim_start().strip_prefix(':')?;
        serde_json::Deserializer::from_str(rest)
            .into_iter::<ArrivalTimestamp>()
            .next()?
            .ok()?
            .epoch_ms()
    })
}

/// Epoch seconds with a fraction (Kinesis's arrival timestamps) → epoch milliseconds.
fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Turns one record of a Lambda Kinesis event into a source record.
pub fn from_lambda_record(record: aws_lambda_events::event::kinesis::KinesisEventRecord) -> SourceRecord<'static> {
    let shard = shard_of_event_id(record.event_id.as_deref())
        .unwrap_or("unknown-shard")
        .to_owned();
    let arrival = record.kinesis.approximate_arrival_timestamp.0.timestamp_millis();
    SourceRecord {
        data: Cow::Owned(record.kinesis.data.0),
        lineage: Lineage {
            source: Cow::Owned(shard),
            position: Position::Sequence(Cow::Owned(record.kinesis.sequence_number)),
            arrival_ms: Some(arrival),
        },
    }
}

/// The shard id of a Lambda `eventID` (`shardId-000000000000:49590338…`).
pub fn shard_of_event_id(event_id: Option<&str>) -> Option<&str> {
    event_id
        .and_then(|id| id.split_once(':'))
        .map(|(shard, _)| shard)
        .filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsRecord {
    sequence_number: String,
    approximate_arrival_timestamp: Option<ArrivalTimestamp>,
    data: String,
}

/// An arrival timestamp: epoch seconds with a fraction (Lambda; CLI v1 with
/// `cli_timestamp_format = wire`), the same as a string (what `aws_lambda_events` serializes),
/// or ISO 8601 (CLI v2's default).
#[derive(Deserialize)]
#[serde(untagged)]
enum ArrivalTimestamp {
    Seconds(f64),
    Text(String),
}

impl ArrivalTimestamp {
    fn epoch_ms(self) -> Option<i64> {
        match self {
            ArrivalTimestamp::Seconds(s) => Some(seconds_to_ms(s)),
            ArrivalTimestamp::Text(s) => match s.parse::<f64>() {
                Ok(seconds) if seconds.is_finite() => Some(seconds_to_ms(seconds)),
                _ => chrono::DateTime::parse_from_rfc3339(&s)
                    .ok()
                    .map(|t| t.timestamp_millis()),
            },
        }
    }
}

/// Splits the output of `aws kinesis get-records` into source records; any bad record is an
/// error.
///
/// The document names no shard, so `source` is the caller's (the file's name).
pub fn get_records_records<'s>(doc: &[u8], source: &'s str) -> Result<Vec<SourceRecord<'s>>, DecodeError> {
    get_records_items(doc, source)?
        .into_iter()
        .map(|item| item.map_err(|bad| bad.error))
        .collect()
}

/// Splits the output of `aws kinesis get-records` into source records, record by record: a
/// record whose `Data` is not base64 (or that lacks fields) is a [`BadRecord`] and does not
/// spoil the others. Fails only when the document itself is not a `{"Records":[…]}` object.
pub fn get_records_items<'s>(doc: &[u8], source: &'s str) -> Result<Vec<EnvelopeItem<'s>>, DecodeError> {
    let envelope = |source| DecodeError::Envelope {
        format: "get-records output",
        source,
    };
    let parsed: RecordsDoc<'_> = serde_json::from_slice(doc).map_err(envelope)?;
    let lineage = |index: usize, sequence: Option<String>| Lineage {
        source: Cow::Borrowed(source),
        position: sequence.map_or(Position::Index(index as u64), |s| Position::Sequence(Cow::Owned(s))),
        arrival_ms: None,
    };
    let item = |(index, raw): (usize, &&RawValue)| -> EnvelopeItem<'s> {
        let r: GetRecordsRecord = serde_json::from_str(raw.get()).map_err(|e| BadRecord {
            lineage: lineage(index, None),
            raw: raw.get().as_bytes().to_vec(),
            error: envelope(e),
        })?;
        match base64::engine::general_purpose::STANDARD.decode(r.data.as_bytes()) {
            Ok(data) => Ok(SourceRecord {
                data: Cow::Owned(data),
                lineage: Lineage {
                    // The CLI prints epoch seconds with a fraction, or ISO 8601.
                    arrival_ms: r.approximate_arrival_timestamp.and_then(ArrivalTimestamp::epoch_ms),
                    ..lineage(index, Some(r.sequence_number))
                },
            }),
            Err(source) => Err(BadRecord {
                lineage: lineage(index, Some(r.sequence_number)),
                raw: r.data.into_bytes(),
                error: DecodeError::Base64 { index, source },
            }),
        }
    };
    Ok(parsed.records.iter().enumerate().map(item).collect())
}
