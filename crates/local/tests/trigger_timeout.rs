//! A Sync Trigger that never answers: the sync fails after the trigger's 5 seconds with
//! `LambdaSocketTimeoutException`, as on AWS, and nothing is stored.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_cognitosync::error::ProvideErrorMetadata as _;
use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_testkit::cognito::{IDENTITY, LocalService, POOL};

#[tokio::test]
async fn a_trigger_that_hangs_times_the_sync_out_after_five_seconds() {
    // A Lambda endpoint that accepts connections and never answers.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", hung.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let svc = LocalService::start(&format!(
        "[lambda]\nendpoint = \"{endpoint}\"\naccess_key = \"test\"\nsecret_key = \"test\"\n"
    ))
    .await;
    let (dev, me) = (svc.developer(), svc.identity());
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", "arn:aws:lambda:us-east-1:123456789012:function:hangs")
        .send()
        .await
        .unwrap();
    let token = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .send()
        .await
        .unwrap()
        .sync_session_token
        .unwrap();
    let started = Instant::now();
    let e = me
        .update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .sync_session_token(token)
        .record_patches(
            RecordPatch::builder()
                .op(Operation::Replace)
                .key("k")
                .value("v")
                .sync_count(0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.code(), Some("LambdaSocketTimeoutException"), "{e:?}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(15),
        "{took:?}"
    );
    let listed = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .send()
        .await
        .unwrap();
    assert!(!listed.dataset_exists, "nothing was stored");
    svc.running.stop().await.unwrap();
    holder.abort();
}
