//! Fetching the records of S3Url payloads from their presigned URLs.
//!
//! The URL's lifetime is undocumented, so fetches happen as the payload is read, with a
//! timeout per attempt, a cap on the body size, and retries with exponential backoff for
//! errors that may pass (connection failures, timeouts, 429, 5xx). An expired or missing
//! object (403/404) is final: the payload goes to the dead letters. URLs are logged without
//! their query string: the signature is a credential.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;

/// Limits of S3Url fetches.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Timeout of one attempt (connect + whole body).
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Backoff before the first retry; doubles each time.
    pub backoff: Duration,
    /// Also accept `file://` URLs (for replaying captures whose S3 bodies were saved locally,
    /// and for the offline demo). Off by default.
    pub allow_file_urls: bool,
    /// How long a record's retryable fetch failures may go on before it becomes a
    /// `fetch_exhausted` dead letter.
    pub retry_window: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            max_bytes: 64 * 1024 * 1024,
            attempts: 4,
            backoff: Duration::from_millis(200),
            allow_file_urls: false,
            retry_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Why the records behind a URL could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL does not parse or has a scheme that is not allowed.
    #[error("unusable S3 URL {url}: {reason}")]
    BadUrl {
        /// The URL without its query string.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The server answered with an error status (403 is what an expired URL gets).
    #[error("GET {url}: HTTP {status}{}", if *status == 403 { " (expired or invalid presigned URL)" } else { "" })]
    Status {
        /// The URL without its query string.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than allowed.
    #[error("GET {url}: body larger than {max_bytes} bytes")]
    TooLarge {
        /// The URL without its query string.
        url: String,
        /// The cap.
        max_bytes: usize,
    },
    /// The request failed before a status (connect, timeout, TLS, body read).
    #[error("GET {url}: {source}")]
    Transport {
        /// The URL without its query string.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A `file://` URL could not be read.
    #[error("read {url}: {source}")]
    File {
        /// The URL.
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
            FetchError::Status { status: 403, .. } => "fetch_expired_or_denied",
            FetchError::Status { status: 404, .. } => "fetch_not_found",
            FetchError::Status { .. } => "fetch_http_status",
            FetchError::TooLarge { .. } => "fetch_too_large",
            FetchError::Transport { .. } => "fetch_transport",
            FetchError::File { .. } => "fetch_file",
        }
    }
}

/// Fetches S3Url bodies. Cheap to clone; build one per process.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetchOptions,
}

fn redact(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

impl Fetcher {
    /// A fetcher with its own HTTP client (connection pool, rustls).
    pub fn new(opts: FetchOptions) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .build()?;
        Ok(Fetcher { client, opts })
    }

    /// The limits in force.
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// GETs `url` and returns its body, retrying what may pass.
    pub async fn fetch(&self, url: &str) -> Result<Bytes, FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl {
            url: "<unparseable>".into(),
            reason: "not a URL",
        })?;
        match parsed.scheme() {
            "http" | "https" => {}
            "file" if self.opts.allow_file_urls => return self.read_file(&parsed).await,
            "file" => {
                return Err(FetchError::BadUrl {
                    url: redact(&parsed),
                    reason: "file URLs are not allowed (--allow-file-urls)",
                });
            }
            _ => {
                return Err(FetchError::BadUrl {
                    url: redact(&parsed),
                    reason: "scheme is not http or https",
                });
            }
        }
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            match self.get_once(&parsed).await {
                Ok(body) => return Ok(body),
                Err(e) if e.is_retryable() && attempt < self.opts.attempts => {
                    tracing::debug!(url = %redact(&parsed), attempt, error = %e, "S3Url fetch failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn get_once(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let transport = |source| FetchError::Transport {
            url: redact(url),
            source,
        };
        let response = self.client.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: redact(url),
                status: status.as_u16(),
            });
        }
        let max = self.opts.max_bytes;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge {
                url: redact(url),
                max_bytes: max,
            });
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(transport)?;
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge {
                    url: redact(url),
                    max_bytes: max,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    async fn read_file(&self, url: &url::Url) -> Result<Bytes, FetchError> {
        let shown = redact(url);
        let path = url.to_file_path().map_err(|()| FetchError::BadUrl {
            url: shown.clone(),
            reason: "not a local file path",
        })?;
        let meta = tokio::fs::metadata(&path).await.map_err(|source| FetchError::File {
            url: shown.clone(),
            source,
        })?;
        if meta.len() > self.opts.max_bytes as u64 {
            return Err(FetchError::TooLarge {
                url: shown,
                max_bytes: self.opts.max_bytes,
            });
        }
        tokio::fs::read(&path)
            .await
            .map(Bytes::from)
            .map_err(|source| FetchError::File { url: shown, source })
    }
}
