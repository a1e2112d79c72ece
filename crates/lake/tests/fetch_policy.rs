//! Which URLs an S3Url payload may make us fetch: a record anyone who can write to the stream
//! controls must not turn the consumer into a proxy to internal hosts (instance metadata,
//! private services) whose answers then land in the lake.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use synclake_lake::fetch::FetchError;
use synclake_lake::{FetchOptions, Fetcher, ReplayOptions};
use synclake_testkit::fixtures;
use synclake_testkit::http::{Reply, serve};
use synclake_testkit::replay::run_replay;
use synclake_testkit::table::{read_dead_letters, read_table};

/// What an instance metadata service answers for a role's credentials.
const CREDENTIALS: &str = r#"{"Code":"Success","AccessKeyId":"ASIAEXAMPLEKEY","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","Token":"IQoJb3JpZ2luX2VjEXAMPLE"}"#;

/// A JSON Lines capture of S3Url payloads pointing at `urls`.
fn capture(dir: &Path, urls: &[String]) -> PathBuf {
    let base: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    let mut lines = String::new();
    for (i, url) in urls.iter().enumerate() {
        let mut v = base.clone();
        v["kinesisSyncRecordsURL"] = url.as_str().into();
        v["identityId"] = format!("us-east-1:identity-{i}").into();
        lines.push_str(&serde_json::to_string(&v).unwrap());
        lines.push('\n');
    }
    let path = dir.join("capture.jsonl");
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn replay_without_flags_never_fetches_an_internal_url() {
    let metadata = serve(|_| Reply::ok(CREDENTIALS));
    let tmp = tempfile::tempdir().unwrap();
    let url = metadata.url("/latest/meta-data/iam/security-credentials/role");
    let input = capture(tmp.path(), &[url]);
    let out = tmp.path().join("lake");
    let summary = run_replay(
        &[input],
        &out,
        None,
        1 << 30,
        &ReplayOptions::default(),
        FetchOptions::default(),
    );
    assert_eq!(metadata.request_count(), 0, "the internal server was not asked");
    assert_eq!(summary.stats.dead_letters, 1);
    assert!(read_table(&out).is_empty());
    let dead = read_dead_letters(&out);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].stage, "fetch");
    assert_eq!(dead[0].error_kind, "fetch_not_allowed", "{}", dead[0].error);
    assert_eq!(dead[0].fetched_body, None, "no body was stored");
    assert!(!dead[0].error.contains("ASIAEXAMPLEKEY"), "{}", dead[0].error);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_final() {
    let target = serve(|_| Reply::ok(CREDENTIALS));
    let location = target.url("/latest/meta-data/iam/security-credentials/role");
    let redirecting = serve(move |_| Reply::status(302, "").header("Location", &location));
    let fetcher = Fetcher::new(FetchOptions {
        attempts: 3,
        backoff: std::time::Duration::from_millis(1),
        allow_hosts: vec![redirecting.host().parse().unwrap(), target.host().parse().unwrap()],
        ..FetchOptions::default()
    })
    .unwrap();
    let err = fetcher
        .fetch(&redirecting.url("/bucket/key?X-Amz-Signature=s"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Redirect { status: 302, .. }), "{err}");
    assert_eq!(err.kind(), "fetch_redirect");
    assert!(!err.is_retryable());
    assert_eq!(redirecting.request_count(), 1, "not retried");
    assert_eq!(target.request_count(), 0, "the redirect was not followed");
}

#[tokio::test]
async fn urls_outside_the_policy_are_refused_without_a_request() {
    let server = serve(|_| Reply::ok("[]"));
    let port = server.addr.port();
    let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://s3.amazonaws.com@127.0.0.1:{port}/x"),
        format!("http://127.0.0.1:{port}/s3.amazonaws.com/x"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "https://s3.amazonaws.com.evil.example/x".to_owned(),
        "http://bucket.s3.amazonaws.com/x".to_owned(),
        "file:///etc/passwd".to_owned(),
        "gopher://s3.amazonaws.com/x".to_owned(),
    ] {
        let err = fetcher.fetch(&url).await.unwrap_err();
        assert_eq!(err.kind(), "fetch_not_allowed", "{url}: {err}");
        assert!(!err.is_retryable(), "{url}");
    }
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn an_allowed_host_is_fetched_over_http() {
    let server = serve(|_| Reply::ok("[]"));
    let fetcher = Fetcher::new(FetchOptions {
        allow_hosts: vec![server.host().parse().unwrap()],
        ..FetchOptions::default()
    })
    .unwrap();
    let body = fetcher
        .fetch(&server.url("/bucket/key?X-Amz-Signature=s"))
        .await
        .unwrap();
    assert_eq!(&body[..], b"[]");
    // The same server on another name is not the allowed host.
    let other = format!("http://localhost:{}/bucket/key", server.addr.port());
    assert_eq!(fetcher.fetch(&other).await.unwrap_err().kind(), "fetch_not_allowed");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn an_endless_file_is_refused_at_the_cap_while_reading() {
    let fetcher = Fetcher::new(FetchOptions {
        allow_file_urls: true,
        max_bytes: 1024 * 1024,
        ..FetchOptions::default()
    })
    .unwrap();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), fetcher.fetch("file:///dev/zero"));
    let err = read.await.expect("refused quickly").unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { max_bytes: 1048576, .. }), "{err}");
}
