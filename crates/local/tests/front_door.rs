//! The front door with hand-made requests: SigV4 signed here with `aws-sigv4` as a client would,
//! then altered the ways an attacker or a broken client would; and the `/_local` endpoints'
//! guard against pages that rebind their name to loopback.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use synclake_testkit::cognito::{IDENTITY, LocalService, POOL, raw_request};

/// A signed request: (method, path, headers, body), headers including Authorization.
struct Signed {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn signed(host: &str, path: &str, body: &str, region: &str, time: SystemTime) -> Signed {
    let date = chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut headers = vec![
        ("x-amz-date".to_owned(), date),
        ("content-type".to_owned(), "application/json".to_owned()),
        ("host".to_owned(), host.to_owned()),
    ];
    let identity = Credentials::new("AKIDA", "a-secret", None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("cognito-sync")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let uri = format!("http://{host}{path}");
    let request = SignableRequest::new(
        "POST",
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params.into()).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    Signed {
        path: path.to_owned(),
        headers,
        body: body.to_owned(),
    }
}

/// Sends a request over a raw socket: (status, x-amzn-ErrorType or "").
async fn send(addr: &str, method: &str, r: &Signed) -> (u16, String) {
    raw_request(addr, method, &r.path, &r.headers, r.body.as_bytes()).await
}

fn update_path() -> String {
    format!(
        "/identitypools/{}/identities/{}/datasets/d",
        POOL.replace(':', "%3A"),
        IDENTITY.replace(':', "%3A")
    )
}

#[tokio::test]
async fn what_the_signature_covers_cannot_be_changed() {
    let svc = LocalService::start("").await;
    let addr = svc.running.addr.to_string();
    let body = r#"{"SyncSessionToken":"none","RecordPatches":[]}"#;
    let now = SystemTime::now();

    // Correctly signed: the request reaches the operation (and fails there, on its session).
    let good = signed(&addr, &update_path(), body, "us-east-1", now);
    assert_eq!(
        send(&addr, "POST", &good).await,
        (400, "InvalidParameterException".to_owned())
    );

    // The body changed after signing.
    let mut tampered = signed(&addr, &update_path(), body, "us-east-1", now);
    tampered.body = body.replace("none", "nine");
    assert_eq!(
        send(&addr, "POST", &tampered).await,
        (403, "InvalidSignatureException".to_owned())
    );

    // The path changed after signing (another identity's data).
    let mut moved = signed(&addr, &update_path(), body, "us-east-1", now);
    moved.path = moved.path.replace("0000000000a1", "0000000000b2");
    assert_eq!(
        send(&addr, "POST", &moved).await,
        (403, "InvalidSignatureException".to_owned())
    );

    // Another region's scope, a date outside the 5 minutes, the host left out of the signature.
    let other_region = signed(&addr, &update_path(), body, "eu-west-1", now);
    assert_eq!(
        send(&addr, "POST", &other_region).await,
        (403, "InvalidSignatureException".to_owned())
    );
    let stale = signed(&addr, &update_path(), body, "us-east-1", now - Duration::from_secs(600));
    assert_eq!(
        send(&addr, "POST", &stale).await,
        (403, "InvalidSignatureException".to_owned())
    );
    // A client that left the host out of SignedHeaders (aws-sigv4 always signs it, so the
    // header is edited): refused, not a crash of the signer.
    let mut hostless = signed(&addr, &update_path(), body, "us-east-1", now);
    for (name, value) in &mut hostless.headers {
        if name == "authorization" {
            *value = value.replace(";host;", ";");
        }
    }
    assert!(
        hostless
            .headers
            .iter()
            .any(|(n, v)| n == "authorization" && !v.contains("host"))
    );
    assert_eq!(
        send(&addr, "POST", &hostless).await,
        (403, "InvalidSignatureException".to_owned())
    );

    // And the service is still up.
    assert_eq!(send(&addr, "POST", &good).await.0, 400);
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn local_endpoints_refuse_a_foreign_host_name() {
    let svc = LocalService::start("").await;
    let addr = svc.running.addr.to_string();
    let get = |host: &str| Signed {
        path: "/_local/outbox".to_owned(),
        headers: vec![("host".to_owned(), host.to_owned())],
        body: String::new(),
    };
    assert_eq!(send(&addr, "GET", &get(&addr)).await.0, 200);
    assert_eq!(send(&addr, "GET", &get("localhost")).await.0, 200);
    assert_eq!(send(&addr, "GET", &get("rebound.evil.example")).await.0, 403);
    svc.running.stop().await.unwrap();
}
