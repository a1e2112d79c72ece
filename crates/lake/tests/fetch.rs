//! S3Url fetch error paths a real S3 server will not produce on demand (expired URLs,
//! transient 5xx, oversized bodies, connections refused or cut mid-body), against a
//! canned-response HTTP server on 127.0.0.1 (allowed explicitly, as the fetch policy requires);
//! and that no error shows a presigned URL's signature, session token or user info.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use synclake_lake::fetch::FetchError;
use synclake_lake::{FetchOptions, Fetcher};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Serves `responses` in order (the last one repeats) and counts requests.
async fn canned(responses: Vec<String>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let response = responses[n.min(responses.len() - 1)].clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let k = sock.read(&mut buf).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..k]);
                }
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (
        format!("http://{addr}/bucket/records.json?X-Amz-Expires=900&X-Amz-Signature=deadbeef"),
        count,
    )
}

fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn fetcher(attempts: u32) -> Fetcher {
    Fetcher::new(FetchOptions {
        attempts,
        backoff: Duration::from_millis(1),
        timeout: Duration::from_secs(5),
        max_bytes: 1024,
        // The canned servers listen on 127.0.0.1, which is fetched only when allowed.
        allow_hosts: vec!["127.0.0.1".parse().unwrap()],
        ..FetchOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn expired_presigned_url_is_final_and_not_retried() {
    let expired = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    let (url, count) = canned(vec![response("403 Forbidden", expired)]).await;
    let err = fetcher(4).fetch(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 403, .. }), "{err}");
    assert_eq!(err.kind(), "fetch_expired_or_denied");
    assert!(!err.is_retryable());
    assert_eq!(count.load(Ordering::SeqCst), 1, "a 403 is not retried");
    let message = err.to_string();
    assert!(message.contains("expired or invalid presigned URL"), "{message}");
    assert!(
        !message.contains("deadbeef"),
        "the signature is not in messages: {message}"
    );
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_until_success() {
    let body = r#"[{"key":"k","value":"v","syncCount":1,"op":"replace"}]"#;
    let (url, count) = canned(vec![
        response("503 Service Unavailable", "slow down"),
        response("500 Internal Server Error", "oops"),
        response("200 OK", body),
    ])
    .await;
    let got = fetcher(4).fetch(&url).await.unwrap();
    assert_eq!(&got[..], body.as_bytes());
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts() {
    let (url, count) = canned(vec![response("500 Internal Server Error", "oops")]).await;
    let err = fetcher(3).fetch(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 500, .. }));
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (url, _) = canned(vec![response("200 OK", &"x".repeat(5000))]).await;
    let err = fetcher(1).fetch(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { max_bytes: 1024, .. }), "{err}");
}

#[tokio::test]
async fn unreachable_host_is_a_transport_error() {
    // Bind then drop: a port on which nothing listens.
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let err = fetcher(2).fetch(&format!("http://{addr}/x")).await.unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn file_and_other_schemes_are_refused_unless_allowed() {
    let err = fetcher(1).fetch("file:///etc/passwd").await.unwrap_err();
    assert!(matches!(err, FetchError::NotAllowed { .. }));
    assert!(err.to_string().contains("--allow-file-urls"));
    let err = fetcher(1).fetch("ftp://example.com/x").await.unwrap_err();
    assert_eq!(err.kind(), "fetch_not_allowed");
    let err = fetcher(1).fetch("not a url").await.unwrap_err();
    assert_eq!(err.kind(), "fetch_bad_url");
}

/// A presigned URL's credentials: the signature and the session token.
const SIGNATURE: &str = "5ec7e75161a7a7e5";
const TOKEN: &str = "FwoGZXIvYXdzSESSIONTOKEN";

fn signed(base: &str) -> String {
    format!(
        "{base}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token={TOKEN}&X-Amz-Expires=900&X-Amz-Signature={SIGNATURE}"
    )
}

/// The error with every cause, as a dead letter's `error` column holds it.
fn full_message(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    message
}

fn assert_no_credentials(message: &str) {
    assert!(!message.contains(SIGNATURE), "the signature leaked: {message}");
    assert!(!message.contains(TOKEN), "the session token leaked: {message}");
}

#[tokio::test]
async fn a_refused_connection_does_not_show_the_signature() {
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = signed(&format!("http://{addr}/bucket/records.json"));
    let err = fetcher(1).fetch(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    let message = full_message(&err);
    assert!(
        message.contains("/bucket/records.json"),
        "the URL is still named: {message}"
    );
    assert_no_credentials(&message);
    assert_no_credentials(&format!("{err:?}"));
}

#[tokio::test]
async fn a_connection_closed_mid_body_does_not_show_the_signature() {
    let (base, _) = canned(vec![
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n[{\"key\":".to_owned(),
    ])
    .await;
    let url = signed(base.split('?').next().unwrap());
    let err = fetcher(1).fetch(&url).await.unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    assert_no_credentials(&full_message(&err));
    assert_no_credentials(&format!("{err:?}"));
}

#[tokio::test]
async fn userinfo_is_not_shown_either() {
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = format!("http://admin:hunter2@{addr}/x");
    let err = fetcher(1).fetch(&url).await.unwrap_err();
    let message = full_message(&err);
    assert!(!message.contains("hunter2") && !message.contains("admin"), "{message}");
}
