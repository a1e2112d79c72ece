//! Wire types and decoding of Amazon Cognito Streams data. Pure: no I/O, no async.
//!
//! Modules, in the order data flows through them:
//! - [`envelope`]: the envelopes payloads arrive in (Lambda Kinesis events, `get-records`
//!   output, JSON Lines) and the [`SourceRecord`] (bytes + lineage) every way in produces;
//! - [`payload`]: the typed, borrowing decoder of one payload and of an S3Url body;
//! - [`buffers`]: allocations reused from one payload to the next;
//! - [`validate`]: identifier and limit checks, reported separately so they never drop data;
//! - [`text`]: the borrowed-when-possible string type the decoders use;
//! - [`error`]: why something could not be decoded.

pub mod buffers;
pub mod envelope;
pub mod error;
mod fast;
pub mod payload;
pub mod text;
pub mod validate;

pub use buffers::DecodeBuffers;
pub use envelope::{InputFormat, Lineage, Position, SourceRecord, detect_format};
pub use error::DecodeError;
pub use payload::{Extra, Operation, Payload, PayloadType, SyncRecord, decode_payload, decode_records_body};
pub use text::Text;
pub use validate::{Violation, validate};
