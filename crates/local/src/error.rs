//! What a request can fail with, on the wire: the API's modelled exceptions and the AWS front
//! door's authentication errors, each with its HTTP status.
//!
//! restJson1 errors carry the code in the `x-amzn-ErrorType` header and `{"message": ...}` in
//! the body; both boto3 and the Rust SDK build the modelled exception from the code.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The error codes the service answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A bulk publish succeeded less than 24 hours ago.
    AlreadyStreamed,
    /// The configuration changed under the request.
    ConcurrentModification,
    /// A bulk publish is already in progress.
    DuplicateRequest,
    /// An internal failure (storage).
    InternalError,
    /// The pool's configuration does not allow the request (push sync not set up).
    InvalidConfiguration,
    /// The Sync Trigger refused the sync or answered something invalid.
    InvalidLambdaFunctionOutput,
    /// A parameter is out of its domain.
    InvalidParameter,
    /// The Sync Trigger was throttled.
    LambdaThrottled,
    /// A service limit would be exceeded.
    LimitExceeded,
    /// The principal may not do this.
    NotAuthorized,
    /// A stale sync count: someone else changed the record first.
    ResourceConflict,
    /// The resource does not exist.
    ResourceNotFound,
    /// Too many requests for the principal.
    TooManyRequests,
    /// The Sync Trigger did not answer within its 5 seconds (not in the model).
    LambdaSocketTimeout,
    /// Front door: the signature does not match or has expired.
    InvalidSignature,
    /// Front door: the access key is unknown.
    UnrecognizedClient,
    /// Front door: the request is not signed.
    MissingAuthenticationToken,
    /// Front door: no operation has this method and path.
    UnknownOperation,
    /// Front door: the body is not the JSON the operation takes.
    Serialization,
}

impl ErrorCode {
    /// The `x-amzn-ErrorType` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AlreadyStreamed => "AlreadyStreamedException",
            ErrorCode::ConcurrentModification => "ConcurrentModificationException",
            ErrorCode::DuplicateRequest => "DuplicateRequestException",
            ErrorCode::InternalError => "InternalErrorException",
            ErrorCode::InvalidConfiguration => "InvalidConfigurationException",
            ErrorCode::InvalidLambdaFunctionOutput => "InvalidLambdaFunctionOutputException",
            ErrorCode::InvalidParameter => "InvalidParameterException",
            ErrorCode::LambdaThrottled => "LambdaThrottledException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::NotAuthorized => "NotAuthorizedException",
            ErrorCode::ResourceConflict => "ResourceConflictException",
            ErrorCode::ResourceNotFound => "ResourceNotFoundException",
            ErrorCode::TooManyRequests => "TooManyRequestsException",
            ErrorCode::LambdaSocketTimeout => "LambdaSocketTimeoutException",
            ErrorCode::InvalidSignature => "InvalidSignatureException",
            ErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Serialization => "SerializationException",
        }
    }

    /// The HTTP status the model gives the error.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::AlreadyStreamed
            | ErrorCode::ConcurrentModification
            | ErrorCode::DuplicateRequest
            | ErrorCode::InvalidConfiguration
            | ErrorCode::InvalidLambdaFunctionOutput
            | ErrorCode::InvalidParameter
            | ErrorCode::LimitExceeded
            | ErrorCode::LambdaSocketTimeout
            | ErrorCode::Serialization => StatusCode::BAD_REQUEST,
            ErrorCode::NotAuthorized
            | ErrorCode::InvalidSignature
            | ErrorCode::UnrecognizedClient
            | ErrorCode::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            ErrorCode::ResourceNotFound | ErrorCode::UnknownOperation => StatusCode::NOT_FOUND,
            ErrorCode::ResourceConflict => StatusCode::CONFLICT,
            ErrorCode::LambdaThrottled | ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A failed request: a code and the message the caller sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameterException`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidParameter, message)
    }

    /// `NotAuthorizedException`.
    pub fn not_authorized(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotAuthorized, message)
    }

    /// `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ResourceNotFound, message)
    }

    /// `InternalErrorException`, logged: the caller sees no detail of our storage.
    pub fn internal(cause: &dyn std::error::Error) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(ErrorCode::InternalError, "An internal error occurred")
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut response = (self.code.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code.as_str()));
        response
    }
}
