//! The address check after DNS resolution: names the URL policy lets through but that resolve
//! to internal addresses. Public S3 names cannot be pointed at a test server, so these tests
//! resolve `localhost` (through the system resolver, as in production) and call the request
//! step past the URL check.
#![allow(clippy::unwrap_used)]

use std::str::FromStr as _;

use reqwest::dns::{Name, Resolve as _};

use super::*;

#[tokio::test]
async fn a_name_resolving_only_to_loopback_is_refused() {
    let resolver = resolve::PolicyResolver::new(&[]);
    let err = match resolver.resolve(Name::from_str("localhost").unwrap()).await {
        Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
        Err(e) => e,
    };
    let refused = err.downcast_ref::<resolve::Refused>().unwrap();
    assert!(
        matches!(&refused.0, Refusal::Address { host, class: "loopback", .. } if host == "localhost"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_allowed_name_resolves_whatever_its_addresses() {
    let allowed = [AllowedHost::from_str("localhost").unwrap()];
    let resolver = resolve::PolicyResolver::new(&allowed);
    let addrs: Vec<_> = resolver
        .resolve(Name::from_str("localhost").unwrap())
        .await
        .unwrap()
        .collect();
    assert!(
        addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty(),
        "{addrs:?}"
    );
}

#[tokio::test]
async fn the_client_connects_to_no_refused_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
    let url = url::Url::parse(&format!("http://localhost:{port}/latest/meta-data/?X-Amz-Signature=s")).unwrap();
    let err = fetcher.get_once(&url).await.unwrap_err();
    assert_eq!(err.kind(), "fetch_not_allowed", "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("loopback"), "{err}");
    // Nothing connected: the accept would be ready at once.
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a connection was made");
}
