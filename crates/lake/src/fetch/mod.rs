//! Fetching the records of S3Url payloads from their presigned URLs.
//!
//! The URL comes from the record, so it is untrusted: [`policy`] decides what may be fetched
//! (https to Amazon S3 endpoints, plus hosts allowed explicitly; never a redirect; never an
//! address that is not public, checked by the `resolve` module after DNS resolution), and a
//! refused URL is a dead letter, never a request. `file://` URLs are read only when
//! [`FetchOptions::allow_file_urls`] is set, which only `replay` offers.
//!
//! The URL's lifetime is undocumented, so fetches happen as the payload is read, with a
//! timeout per attempt, a cap on the body size (enforced while reading), and retries with
//! exponential backoff for errors that may pass (connection failures, timeouts, 429, 5xx). An
//! expired or missing object (403/404) is final: the payload goes to the dead letters.
//!
//! URLs are shown (errors, logs, the dead letters' `error` column) without their query string
//! and user info: a presigned URL's signature and session token are credentials. The client's
//! own errors are stripped of the URL they carry.

pub mod policy;
mod resolve;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::io::AsyncReadExt as _;

pub use policy::{AllowedHost, AllowedHostError, Refusal};

/// Limits and permissions of S3Url fetches. `Default` is the one source of the defaults;
/// [`FetchOptions::lambda`] adapts them to a function's time limit, and flags or environment
/// variables override single fields.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Timeout of one attempt (connect + whole body).
    pub timeout: Duration,
    /// Largest body accepted; a body is refused as soon as it grows past this.
    pub max_bytes: usize,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub backoff: Duration,
    /// How long a record's retryable fetch failures may go on (across attempts and
    /// redeliveries) before it becomes a `fetch_exhausted` dead letter.
    pub retry_window: Duration,
    /// Hosts fetched besides Amazon S3 endpoints, over http or https, whatever their
    /// addresses: S3-compatible servers, test servers (`--fetch-allow-host`).
    pub allow_hosts: Vec<AllowedHost>,
    /// Also read `file://` URLs (captures whose S3 bodies were saved locally, the offline
    /// demo). Only `replay` sets it (`--allow-file-urls`); `consume` and the Lambda have no
    /// setting for it, since their records come from whoever can write to the stream.
    pub allow_file_urls: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            max_bytes: 64 * 1024 * 1024,
            attempts: 4,
            backoff: Duration::from_millis(200),
            retry_window: Duration::from_secs(15 * 60),
            allow_hosts: Vec::new(),
            allow_file_urls: false,
        }
    }
}

impl FetchOptions {
    /// The defaults of the stream-to-parquet Lambda: shorter attempts and fewer of them, so a
    /// slow URL ends the batch's prefix well within the invocation's time limit.
    pub fn lambda() -> FetchOptions {
        FetchOptions {
            timeout: Duration::from_secs(10),
            attempts: 3,
            ..FetchOptions::default()
        }
    }
}

/// Why the records behind a URL could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL does not parse, or names no local file.
    #[error("unusable S3 URL {url}: {reason}")]
    BadUrl {
        /// The URL as shown (no query string, no user info).
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The fetch policy refuses the URL: nothing was requested.
    #[error("not fetched: {url}: {reason}")]
    NotAllowed {
        /// The URL as shown (no query string, no user info).
        url: String,
        /// Why.
        #[source]
        reason: Refusal,
    },
    /// The server answered with a redirect, which is not followed (it could lead anywhere).
    #[error("GET {url}: HTTP {status} redirect (redirects are not followed)")]
    Redirect {
        /// The URL as shown.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server answered with an error status (403 is what an expired URL gets).
    #[error("GET {url}: HTTP {status}{}", if *status == 403 { " (expired or invalid presigned URL)" } else { "" })]
    Status {
        /// The URL as shown.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than allowed.
    #[error("GET {url}: body larger than {max_bytes} bytes")]
    TooLarge {
        /// The URL as shown.
        url: String,
        /// The cap.
        max_bytes: usize,
    },
    /// The request failed before a status (connect, timeout, TLS, body read).
    #[error("GET {url}: {source}")]
    Transport {
        /// The URL as shown.
        url: String,
        /// The client's error, stripped of the URL it carried.
        #[source]
        source: reqwest::Error,
    },
    /// A `file://` URL could not be read.
    #[error("read {url}: {source}")]
    File {
        /// The URL as shown.
        url: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Transport { .. } => true,
            _ => false,
        }
    }

    /// A short, stable name for dead-letter rows and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::BadUrl { .. } => "fetch_bad_url",
            FetchError::NotAllowed { .. } => "fetch_not_allowed",
            FetchError::Redirect { .. } => "fetch_redirect",
            FetchError::Status { status: 403, .. } => "fetch_expired_or_denied",
            FetchError::Status { status: 404, .. } => "fetch_not_found",
            FetchError::Status { .. } => "fetch_http_status",
            FetchError::TooLarge { .. } => "fetch_too_large",
            FetchError::Transport { .. } => "fetch_transport",
            FetchError::File { .. } => "fetch_file",
        }
    }
}

/// Fetches S3Url bodies under the policy of its [`FetchOptions`]. Cheap to clone; build one
/// per process.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetchOptions,
}

/// `url` as it may be shown: without its query string, fragment and user info.
pub fn shown_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    // Fails only for URLs that cannot have user info, which then have none.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

impl Fetcher {
    /// A fetcher with its own HTTP client: rustls, no redirects, no proxies (the address
    /// check must see the address connected to), the policy's resolver.
    pub fn new(opts: FetchOptions) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolve::PolicyResolver::new(&opts.allow_hosts))
            .build()
            .map_err(reqwest::Error::without_url)?;
        Ok(Fetcher { client, opts })
    }

    /// The limits in force.
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// GETs `url` and returns its body, retrying what may pass. A URL the policy refuses is
    /// an error without any request.
    pub async fn fetch(&self, url: &str) -> Result<Bytes, FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl {
            url: "<unparseable>".into(),
            reason: "not a URL",
        })?;
        if parsed.scheme() == "file" {
            if self.opts.allow_file_urls {
                return self.read_file(&parsed).await;
            }
            return Err(FetchError::NotAllowed {
                url: shown_url(&parsed),
                reason: Refusal::FileUrl,
            });
        }
        policy::check(&parsed, &self.opts.allow_hosts).map_err(|reason| FetchError::NotAllowed {
            url: shown_url(&parsed),
            reason,
        })?;
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            match self.get_once(&parsed).await {
                Ok(body) => return Ok(body),
                Err(e) if e.is_retryable() && attempt < self.opts.attempts => {
                    tracing::debug!(url = %shown_url(&parsed), attempt, error = %e, "S3Url fetch failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn get_once(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| transport(url, e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                url: shown_url(url),
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown_url(url),
                status: status.as_u16(),
            });
        }
        let max = self.opts.max_bytes;
        let too_large = || FetchError::TooLarge {
            url: shown_url(url),
            max_bytes: max,
        };
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| transport(url, e))?;
            if body.len() + chunk.len() > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Reads a `file://` URL, at most `max_bytes + 1` bytes of it: a device or a file that
    /// grows (`/dev/zero`) is refused as soon as it passes the cap.
    async fn read_file(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let shown = shown_url(url);
        let path = url.to_file_path().map_err(|()| FetchError::BadUrl {
            url: shown.clone(),
            reason: "not a local file path",
        })?;
        let file_error = |source| FetchError::File {
            url: shown.clone(),
            source,
        };
        let max = self.opts.max_bytes;
        let file = tokio::fs::File::open(&path).await.map_err(file_error)?;
        let mut body = Vec::new();
        file.take(max as u64 + 1)
            .read_to_end(&mut body)
            .await
            .map_err(file_error)?;
        if body.len() > max {
            return Err(FetchError::TooLarge {
                url: shown,
                max_bytes: max,
            });
        }
        Ok(Bytes::from(body))
    }
}

/// A client error as a [`FetchError`]: a refusal by the resolver is a policy refusal (final);
/// anything else is a transport error (may pass), its URL, query string included, removed.
fn transport(url: &url::Url, e: reqwest::Error) -> FetchError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(resolve::Refused(reason)) = c.downcast_ref::<resolve::Refused>() {
            return FetchError::NotAllowed {
                url: shown_url(url),
                reason: reason.clone(),
            };
        }
        cause = c.source();
    }
    FetchError::Transport {
        url: shown_url(url),
        source: e.without_url(),
    }
}

#[cfg(test)]
mod tests;
