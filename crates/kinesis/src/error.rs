//! The consumer's failures, and the one place Kinesis errors are classified.

use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What to do about a failed Kinesis call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Over a shard or account limit: back off with jitter and try again.
    Throttled,
    /// The shard iterator is older than 5 minutes: get a new one from the last position.
    ExpiredIterator,
    /// The stream, shard or consumer does not exist (any more).
    NotFound,
    /// The credentials were refused: no retry helps.
    Credentials,
    /// The endpoint could not be reached, or answered in a way that may pass.
    Transient,
    /// A request the service will never accept.
    Fatal,
}

/// Classifies a failed call by the error code the service sent, or by how it failed to
/// get an answer.
pub fn classify<E, R>(err: &SdkError<E, R>) -> ErrorClass
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => classify_code(service.err().code()),
        // Missing credentials fail before (or instead of) sending the request.
        SdkError::ConstructionFailure(_) if mentions_credentials(err) => ErrorClass::Credentials,
        SdkError::ConstructionFailure(_) => ErrorClass::Fatal,
        SdkError::DispatchFailure(d) if !d.is_io() && !d.is_timeout() && mentions_credentials(err) => {
            ErrorClass::Credentials
        }
        _ => ErrorClass::Transient,
    }
}

fn mentions_credentials<E, R>(err: &SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DisplayErrorContext(err).to_string().contains("credentials")
}

/// Classifies a Kinesis error code.
pub fn classify_code(code: Option<&str>) -> ErrorClass {
    match code {
        Some(
            "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "ThrottlingException"
            | "Throttling"
            | "KMSThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException",
        ) => ErrorClass::Throttled,
        Some("ExpiredIteratorException") => ErrorClass::ExpiredIterator,
        Some("ResourceNotFoundException") => ErrorClass::NotFound,
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "AccessDeniedException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken",
        ) => ErrorClass::Credentials,
        Some("InternalFailure" | "InternalFailureException" | "ServiceUnavailable" | "KMSInternalException") => {
            ErrorClass::Transient
        }
        Some(_) => ErrorClass::Fatal,
        None => ErrorClass::Transient,
    }
}

/// A Kinesis call that failed, with the whole chain of causes and the SDK's debug structures:
/// for DEBUG logs.
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> String {
    DisplayErrorContext(err).to_string()
}

/// A failed call in one line for a person: the service's code and message, or the chain of
/// causes, each said once, without the SDK's debug structures.
pub fn brief<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let SdkError::ServiceError(service) = err {
        let e = service.err();
        return match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => e.to_string(),
        };
    }
    let mut line = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

/// Why credentials could not be had, when the call failed for that (before anything was sent,
/// so nothing was refused): the provider chain's own words.
fn credentials_not_loaded<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(creds) = e.downcast_ref::<CredentialsError>() {
            let mut why = creds.to_string();
            let mut inner = std::error::Error::source(creds);
            while let Some(i) = inner {
                let text = i.to_string();
                if !why.contains(&text) {
                    why.push_str(": ");
                    why.push_str(&text);
                }
                inner = i.source();
            }
            return Some(why);
        }
        cause = e.source();
    }
    None
}

/// Why the consumer stopped, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// The stream does not exist in this account and region (or at this endpoint).
    #[error("stream `{stream}` not found at {endpoint}")]
    StreamNotFound {
        /// The name or ARN given.
        stream: String,
        /// Where it was looked for.
        endpoint: String,
    },
    /// No credentials could be had from the AWS configuration chain, so none were sent.
    #[error(
        "no AWS credentials found for Kinesis ({op}: {why}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or task role; a local endpoint (--endpoint-url) still needs some, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test"
    )]
    NoCredentials {
        /// The call.
        op: &'static str,
        /// What the credential provider chain said.
        why: String,
    },
    /// The service refused the credentials.
    #[error("Kinesis refused the credentials ({op}): {detail}")]
    Credentials {
        /// The call.
        op: &'static str,
        /// The service's message.
        detail: String,
    },
    /// The endpoint could not be reached.
    #[error("Kinesis endpoint {endpoint} unreachable ({op}): {detail}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The call.
        op: &'static str,
        /// What failed.
        detail: String,
    },
    /// Another Kinesis failure that stops the consumer.
    #[error("Kinesis {op}: {detail}")]
    Kinesis {
        /// The call.
        op: &'static str,
        /// What failed.
        detail: String,
    },
    /// The checkpoint store failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// The writer fence refused this consumer, or it was taken over (boxed: its context is
    /// large and the error is rare).
    #[error(transparent)]
    Fence(Box<crate::fence::FenceError>),
    /// The output table could not be opened.
    #[error(transparent)]
    Lake(#[from] synclake_lake::LakeError),
    /// A bad setting.
    #[error("invalid setting {name}: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

impl From<crate::fence::FenceError> for ConsumeError {
    fn from(e: crate::fence::FenceError) -> Self {
        ConsumeError::Fence(Box::new(e))
    }
}

impl ConsumeError {
    /// The error for a failed start-up call (describe the stream, list its shards).
    pub fn from_sdk<E, R>(err: &SdkError<E, R>, op: &'static str, stream: &str, endpoint: &str) -> ConsumeError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        // The whole chain, with the SDK's structures, for whoever asks for it; the error
        // itself stays one line.
        tracing::debug!(op, error = %describe(err), "Kinesis call failed");
        if let Some(why) = credentials_not_loaded(err) {
            return ConsumeError::NoCredentials { op, why };
        }
        let detail = brief(err);
        match classify(err) {
            ErrorClass::NotFound => ConsumeError::StreamNotFound {
                stream: stream.to_owned(),
                endpoint: endpoint.to_owned(),
            },
            ErrorClass::Credentials => ConsumeError::Credentials { op, detail },
            ErrorClass::Transient if matches!(err, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => {
                ConsumeError::Unreachable {
                    endpoint: endpoint.to_owned(),
                    op,
                    detail,
                }
            }
            _ => ConsumeError::Kinesis { op, detail },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            classify_code(Some("ProvisionedThroughputExceededException")),
            ErrorClass::Throttled
        );
        assert_eq!(
            classify_code(Some("ExpiredIteratorException")),
            ErrorClass::ExpiredIterator
        );
        assert_eq!(classify_code(Some("ResourceNotFoundException")), ErrorClass::NotFound);
        assert_eq!(
            classify_code(Some("UnrecognizedClientException")),
            ErrorClass::Credentials
        );
        assert_eq!(classify_code(Some("InvalidArgumentException")), ErrorClass::Fatal);
        assert_eq!(classify_code(None), ErrorClass::Transient);
    }
}
