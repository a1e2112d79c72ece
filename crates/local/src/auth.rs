//! Who is calling: the SigV4 `Authorization` header names an access key, the configuration maps
//! it to a principal, and the signature is recomputed with `aws-sigv4` over the headers the
//! client signed and compared.
//!
//! The front-door errors are AWS's own: no signature → `MissingAuthenticationTokenException`,
//! an unknown key → `UnrecognizedClientException`, a wrong or stale signature →
//! `InvalidSignatureException`, all 403.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, Method, Uri};

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};

/// The SigV4 service name of Cognito Sync.
pub const SIGNING_NAME: &str = "cognito-sync";

/// How far a request's `X-Amz-Date` may be from the server's wall clock.
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// The caller, as its access key names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Developer (IAM) credentials: every pool.
    Developer {
        /// The access key id.
        access_key: String,
    },
    /// Cognito Identity credentials: one identity of one pool.
    Identity {
        /// The pool.
        pool: String,
        /// The identity id.
        identity: String,
    },
}

impl Principal {
    /// What `LastModifiedBy` records for a change made by this principal.
    pub fn modified_by(&self) -> &str {
        match self {
            Principal::Developer { access_key } => access_key,
            Principal::Identity { identity, .. } => identity,
        }
    }
}

struct Secret {
    secret_key: String,
    principal: Principal,
}

/// Access keys and their secrets, and whether signatures are checked.
pub struct Authenticator {
    keys: HashMap<String, Secret>,
    region: String,
    verify: bool,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct AuthHeader<'a> {
    access_key: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

impl Authenticator {
    /// From the configuration's developers and identities; `verify` false trusts any signature.
    pub fn new(config: &Config, verify: bool) -> Authenticator {
        let mut keys = HashMap::new();
        for dev in &config.developers {
            keys.insert(
                dev.access_key.clone(),
                Secret {
                    secret_key: dev.secret_key.clone(),
                    principal: Principal::Developer {
                        access_key: dev.access_key.clone(),
                    },
                },
            );
        }
        for id in &config.identities {
            keys.insert(
                id.access_key.clone(),
                Secret {
                    secret_key: id.secret_key.clone(),
                    principal: Principal::Identity {
                        pool: id.pool.clone(),
                        identity: id.id.clone(),
                    },
                },
            );
        }
        Authenticator {
            keys,
            region: config.region.clone(),
            verify,
        }
    }

    /// The principal of a request, or the front-door error AWS gives.
    pub fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Principal, ApiError> {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return Err(ApiError::new(
                ErrorCode::MissingAuthenticationToken,
                "Missing Authentication Token",
            ));
        };
        let header = parse_authorization(value).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidSignature,
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters",
            )
        })?;
        let Some(secret) = self.keys.get(header.access_key) else {
            return Err(ApiError::new(
                ErrorCode::UnrecognizedClient,
                "The security token included in the request is invalid.",
            ));
        };
        if !self.verify {
            return Ok(secret.principal.clone());
        }
        if header.region != self.region {
            return Err(ApiError::new(
                ErrorCode::InvalidSignature,
                format!(
                    "Credential should be scoped to a valid region, not '{}'. Credential should be scoped to correct service: '{}'.",
                    header.region, SIGNING_NAME
                ),
            ));
        }
        if header.service != SIGNING_NAME {
            return Err(ApiError::new(
                ErrorCode::InvalidSignature,
                format!("Credential should be scoped to correct service: '{SIGNING_NAME}'."),
            ));
        }
        // AWS's own rule, and what the canonical request needs: the host and the date are signed.
        for required in ["host", "x-amz-date"] {
            if !header.signed_headers.contains(&required) {
                return Err(ApiError::new(
                    ErrorCode::InvalidSignature,
                    format!("'{required}' must be a 'SignedHeader' in the AWS Authorization."),
                ));
            }
        }
        let time = request_time(headers)?;
        let expected = self.signature(&header, secret, time, method, uri, headers, body)?;
        if !constant_time_eq(expected.as_bytes(), header.signature.as_bytes()) {
            return Err(ApiError::new(
                ErrorCode::InvalidSignature,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ));
        }
        Ok(secret.principal.clone())
    }

    #[allow(clippy::too_many_arguments)]
    fn signature(
        &self,
        header: &AuthHeader<'_>,
        secret: &Secret,
        time: SystemTime,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, ApiError> {
        let mut signed: Vec<(&str, &str)> = Vec::with_capacity(header.signed_headers.len());
        for name in &header.signed_headers {
            // A header that is not valid text cannot have been signed as the client meant.
            let value = headers.get(*name).and_then(|v| v.to_str().ok()).unwrap_or("");
            signed.push((name, value));
        }
        let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
        let credentials = Credentials::new(
            header.access_key,
            secret.secret_key.clone(),
            token.map(str::to_owned),
            None,
            "synclake-local",
        );
        let identity = credentials.into();
        let mut settings = SigningSettings::default();
        // Sign exactly what the client listed, nothing more and nothing less.
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| ApiError::internal(&e))?;
        let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let request = SignableRequest::new(
            method.as_str(),
            path_and_query,
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| ApiError::new(ErrorCode::InvalidSignature, "The request could not be canonicalized"))?;
        let output = sign(request, &params.into())
            .map_err(|_| ApiError::new(ErrorCode::InvalidSignature, "The request could not be canonicalized"))?;
        Ok(output.signature().to_owned())
    }
}

fn parse_authorization(value: &str) -> Option<AuthHeader<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key = scope.next()?;
    let _date = scope.next()?;
    let region = scope.next()?;
    let service = scope.next()?;
    Some(AuthHeader {
        access_key,
        region,
        service,
        signed_headers: signed_headers?.split(';').collect(),
        signature: signature?,
    })
}

/// `X-Amz-Date` as a time, within [`MAX_SKEW`] of the wall clock (never the test clock: SDKs
/// sign with the real time).
fn request_time(headers: &HeaderMap) -> Result<SystemTime, ApiError> {
    let Some(text) = headers.get("x-amz-date").and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ").map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidSignature,
            format!("Date must be in ISO-8601 'basic format'. Got '{text}'."),
        )
    })?;
    let secs = u64::try_from(parsed.and_utc().timestamp())
        .map_err(|_| ApiError::new(ErrorCode::InvalidSignature, "Signature expired"))?;
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let now = SystemTime::now();
    let skew = now
        .duration_since(time)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            format!(
                "Signature expired: {text} is now earlier or later than the allowed 5 min. skew from the server time."
            ),
        ));
    }
    Ok(time)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parts() {
        let h = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/cognito-sync/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
        )
        .expect("parses");
        assert_eq!(h.access_key, "AKID");
        assert_eq!(h.region, "us-east-1");
        assert_eq!(h.service, "cognito-sync");
        assert_eq!(h.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(h.signature, "abcd");
        assert!(parse_authorization("Basic abc").is_none());
    }
}
