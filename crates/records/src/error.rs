//! Why a payload or an envelope could not be decoded.

/// A payload or envelope that cannot be turned into rows. The input is the source's fault:
/// callers send it, with its raw bytes, to the dead letters and carry on.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not valid JSON, or a field has the wrong type (an integer sent as a float
    /// or a string, a string sent as a number, an unknown `op`). serde's message names the
    /// field's expectation and the line and column.
    #[error("invalid Cognito Streams payload: {source}")]
    Json {
        /// The parser's error, with position.
        #[source]
        source: serde_json::Error,
    },
    /// The bytes are not UTF-8 (JSON must be).
    #[error("invalid Cognito Streams payload: not UTF-8 (invalid byte at offset {valid_up_to})")]
    Utf8 {
        /// Length of the valid prefix: the offset of the first invalid byte.
        valid_up_to: usize,
    },
    /// `payloadType` is `S3Url` but there is no URL to fetch the records from.
    #[error("invalid Cognito Streams payload: payloadType is S3Url but kinesisSyncRecordsURL is absent")]
    S3UrlMissing,
    /// An input document (Lambda event, `get-records` output) is not of the expected shape.
    #[error("invalid {format} document: {source}")]
    Envelope {
        /// Which envelope format was being read.
        format: &'static str,
        /// The parser's error, with position.
        #[source]
        source: serde_json::Error,
    },
    /// A base64 `Data` field of a `get-records` document does not decode.
    #[error("record {index} of a get-records document: invalid base64 Data: {source}")]
    Base64 {
        /// Position of the record in the document.
        index: usize,
        /// The decoder's error.
        #[source]
        source: base64::DecodeError,
    },
}

impl DecodeError {
    /// A short, stable name for the kind of error, for dead-letter rows and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json { .. } => "invalid_json",
            DecodeError::Utf8 { .. } => "invalid_utf8",
            DecodeError::S3UrlMissing => "s3url_missing",
            DecodeError::Envelope { .. } => "invalid_envelope",
            DecodeError::Base64 { .. } => "invalid_base64",
        }
    }
}
