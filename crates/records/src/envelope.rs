//! Where payloads come from: the envelopes around Cognito Streams data, and lineage.
//!
//! A [`SourceRecord`] is the unit every way in produces: the payload bytes plus where they came
//! from. Kinesis shards give a shard id, a sequence number and an arrival time; files give a
//! file name and a byte offset. The parsers here are pure: bytes in, records out.

use std::borrow::Cow;

use aws_lambda_events::event::kinesis::KinesisEvent;
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

/// Splits a Lambda Kinesis event document into source records.
///
/// The shard id is taken from `eventID` (`shardId-…:<sequence>`); arrival times become epoch
/// milliseconds. `data` is decoded from base64 by `aws_lambda_events`.
pub fn lambda_event_records(doc: &[u8]) -> Result<Vec<SourceRecord<'static>>, DecodeError> {
    let envelope = |source| DecodeError::Envelope {
        format: "Lambda Kinesis event",
        source,
    };
    let event: KinesisEvent = serde_json::from_slice(doc).map_err(envelope)?;
    // `aws_lambda_events` (1.2) reads the fraction of `approximateArrivalTimestamp` as a whole
    // number of milliseconds (`.21` → 21 ms), so the arrival times are taken from the text.
    let arrivals: ArrivalProbe = serde_json::from_slice(doc).map_err(envelope)?;
    Ok(event
        .records
        .into_iter()
        .zip(
            arrivals
                .records
                .into_iter()
                .map(|r| r.kinesis.approximate_arrival_timestamp),
        )
        .map(|(record, arrival)| {
            let mut source = from_lambda_record(record);
            if let Some(seconds) = arrival {
                source.lineage.arrival_ms = Some(seconds_to_ms(seconds));
            }
            source
        })
        .collect())
}

#[derive(Deserialize)]
struct ArrivalProbe {
    #[serde(rename = "Records")]
    records: Vec<ArrivalRecord>,
}

#[derive(Deserialize)]
struct ArrivalRecord {
    kinesis: ArrivalKinesis,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArrivalKinesis {
    approximate_arrival_timestamp: Option<f64>,
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
struct GetRecordsOutput {
    records: Vec<GetRecordsRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsRecord {
    sequence_number: String,
    approximate_arrival_timestamp: Option<ArrivalTimestamp>,
    data: String,
}

/// `ApproximateArrivalTimestamp` as the AWS CLI prints it: epoch seconds with a fraction
/// (CLI v1, `cli_timestamp_format = wire`) or ISO 8601 (CLI v2's default).
#[derive(Deserialize)]
#[serde(untagged)]
enum ArrivalTimestamp {
    Seconds(f64),
    Iso(String),
}

impl ArrivalTimestamp {
    fn epoch_ms(self) -> Option<i64> {
        match self {
            ArrivalTimestamp::Seconds(s) => Some(seconds_to_ms(s)),
            ArrivalTimestamp::Iso(s) => chrono::DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.timestamp_millis()),
        }
    }
}

/// Splits the output of `aws kinesis get-records` into source records.
///
/// The document names no shard, so `source` is the caller's (the file's name).
pub fn get_records_records<'s>(doc: &[u8], source: &'s str) -> Result<Vec<SourceRecord<'s>>, DecodeError> {
    let out: GetRecordsOutput = serde_json::from_slice(doc).map_err(|source| DecodeError::Envelope {
        format: "get-records output",
        source,
    })?;
    out.records
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r.data.as_bytes())
                .map_err(|source| DecodeError::Base64 { index, source })?;
            Ok(SourceRecord {
                data: Cow::Owned(data),
                lineage: Lineage {
                    source: Cow::Borrowed(source),
                    position: Position::Sequence(Cow::Owned(r.sequence_number)),
                    // The CLI prints epoch seconds with a fraction; keep millisecond precision.
                    arrival_ms: r.approximate_arrival_timestamp.and_then(ArrivalTimestamp::epoch_ms),
                },
            })
        })
        .collect()
}
