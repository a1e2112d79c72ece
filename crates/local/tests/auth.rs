//! Who may call what: signatures, developer-only and identity-only operations, identity
//! isolation, throttling, and concurrent writers of one record.
#![allow(clippy::unwrap_used)]

use aws_sdk_cognitosync::error::ProvideErrorMetadata as _;
use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_testkit::cognito::{IDENTITY, LocalService, OTHER_IDENTITY, OTHER_POOL, POOL, client};

#[tokio::test]
async fn signatures_are_checked() {
    let svc = LocalService::start("").await;
    let wrong = client(&svc.url, "AKIDA", "not-the-secret");
    let e = wrong
        .list_datasets()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    let unknown = client(&svc.url, "AKIDNOBODY", "x");
    let e = unknown
        .list_datasets()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"));
    let unsigned = reqwest_like_get(&svc.url).await;
    assert_eq!(unsigned, (403, "MissingAuthenticationTokenException".to_owned()));
    svc.running.stop().await.unwrap();
}

/// An unsigned request, with a raw socket (no HTTP client dependency for one GET).
async fn reqwest_like_get(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET /identitypools HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let kind = out
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-amzn-errortype: ")
                .map(str::to_owned)
        })
        .unwrap();
    let kind = out
        .to_ascii_lowercase()
        .find(&kind)
        .map(|i| out[i..i + kind.len()].to_owned())
        .unwrap();
    (status, kind)
}

#[tokio::test]
async fn each_principal_reaches_only_what_it_may() {
    let svc = LocalService::start("").await;
    let (dev, me, other) = (svc.developer(), svc.identity(), svc.other_identity());
    // Identity credentials: not the pool's administration, not another identity's data.
    let e = me
        .get_identity_pool_configuration()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    let e = me
        .bulk_publish()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    let e = me
        .list_datasets()
        .identity_pool_id(POOL)
        .identity_id(OTHER_IDENTITY)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    let e = other
        .describe_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    let e = me
        .list_datasets()
        .identity_pool_id(OTHER_POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    // Developer credentials: not the identity-only push operations.
    let e = dev
        .register_device()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .platform(aws_sdk_cognitosync::types::Platform::Gcm)
        .token("t")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_authorized_exception());
    // ... but every identity's data, and only pools that exist.
    dev.list_datasets()
        .identity_pool_id(POOL)
        .identity_id(OTHER_IDENTITY)
        .send()
        .await
        .unwrap();
    let e = dev
        .describe_identity_pool_usage()
        .identity_pool_id("us-east-1:00000000-0000-4000-8000-0000000000ff")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = dev
        .describe_identity_pool_usage()
        .identity_pool_id("not-a-pool")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_parameter_exception());
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn requests_above_the_rate_are_refused() {
    let svc = LocalService::start("[limits]\nrequests_per_second = 3").await;
    let me = svc.identity();
    let mut refused = 0;
    for _ in 0..10 {
        if let Err(e) = me
            .list_datasets()
            .identity_pool_id(POOL)
            .identity_id(IDENTITY)
            .send()
            .await
        {
            assert!(e.into_service_error().is_too_many_requests_exception());
            refused += 1;
        }
    }
    assert!(refused >= 5, "only {refused} of 10 refused at 3/s");
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn one_writer_wins_a_contended_record() {
    let svc = LocalService::start("").await;
    let token = svc
        .identity()
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("contended")
        .send()
        .await
        .unwrap()
        .sync_session_token
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let c = svc.identity();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            c.update_records()
                .identity_pool_id(POOL)
                .identity_id(IDENTITY)
                .dataset_name("contended")
                .sync_session_token(token)
                .record_patches(
                    RecordPatch::builder()
                        .op(Operation::Replace)
                        .key("k")
                        .value(format!("writer {i}"))
                        .sync_count(0)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .map(|o| o.records.unwrap()[0].value.clone().unwrap())
                .map_err(|e| e.into_service_error())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(value) => winners.push(value),
            Err(e) => assert!(e.is_resource_conflict_exception(), "{e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    let listed = svc
        .identity()
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("contended")
        .send()
        .await
        .unwrap();
    let record = &listed.records.unwrap()[0];
    assert_eq!(
        record.value.as_ref(),
        Some(&winners[0]),
        "the stored value is the winner's"
    );
    assert_eq!(record.sync_count, Some(1));
    svc.running.stop().await.unwrap();
}
