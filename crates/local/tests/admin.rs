//! Pool administration, Cognito Events, bulk publish and push sync through `aws-sdk-cognitosync`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::{BulkPublishStatus, Operation, Platform, PushSync, RecordPatch, StreamingStatus};
use synclake_testkit::cognito::{IDENTITY, LocalService, POOL};

const TRIGGER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:validate";

async fn put(
    c: &Client,
    dataset: &str,
    key: &str,
    value: &str,
    count: i64,
) -> Result<Vec<aws_sdk_cognitosync::types::Record>, aws_sdk_cognitosync::operation::update_records::UpdateRecordsError>
{
    let token = c
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name(dataset)
        .send()
        .await
        .unwrap()
        .sync_session_token
        .unwrap();
    c.update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name(dataset)
        .sync_session_token(token)
        .record_patches(
            RecordPatch::builder()
                .op(Operation::Replace)
                .key(key)
                .value(value)
                .sync_count(count)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map(|o| o.records.unwrap_or_default())
        .map_err(|e| e.into_service_error())
}

async fn enable_streaming(dev: &Client) {
    synclake_testkit::cognito::enable_streaming(dev, POOL, "cognito-stream").await;
}

async fn wait_bulk(
    dev: &Client,
    want: BulkPublishStatus,
) -> aws_sdk_cognitosync::operation::get_bulk_publish_details::GetBulkPublishDetailsOutput {
    synclake_testkit::cognito::wait_bulk_publish(dev, POOL, want, Duration::from_secs(20)).await
}

#[tokio::test]
async fn streaming_puts_every_change_and_bulk_publish_every_dataset() {
    let svc = LocalService::start("").await;
    let (dev, me) = (svc.developer(), svc.identity());
    let before = dev
        .get_identity_pool_configuration()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap();
    assert_eq!(
        before.cognito_streams.unwrap().streaming_status,
        Some(StreamingStatus::Disabled)
    );
    put(&me, "early", "k", "before streaming", 0).await.unwrap();
    let refused = dev
        .bulk_publish()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(refused.is_invalid_parameter_exception(), "streaming off: {refused:?}");
    let not_started = dev
        .get_bulk_publish_details()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap();
    assert_eq!(not_started.bulk_publish_status, Some(BulkPublishStatus::NotStarted));

    enable_streaming(&dev).await;
    put(&me, "live", "k", "after", 0).await.unwrap();
    me.delete_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("live")
        .send()
        .await
        .unwrap();
    let stream = svc.running.store.outbox_after(0, 100).unwrap();
    assert_eq!(stream.len(), 2, "one record per change once streaming is on");
    let live: serde_json::Value = serde_json::from_slice(&stream[0].change.render_inline()).unwrap();
    assert_eq!(live["dataSetName"], "live");
    assert_eq!(live["kinesisSyncRecords"][0]["value"], "after");
    let removal: serde_json::Value = serde_json::from_slice(&stream[1].change.render_inline()).unwrap();
    assert_eq!(removal["operation"], "remove");

    dev.bulk_publish().identity_pool_id(POOL).send().await.unwrap();
    let done = wait_bulk(&dev, BulkPublishStatus::Succeeded).await;
    assert_eq!(done.bulk_publish_status, Some(BulkPublishStatus::Succeeded));
    assert!(done.bulk_publish_start_time.is_some() && done.bulk_publish_complete_time.is_some());
    let stream = svc.running.store.outbox_after(2, 100).unwrap();
    let names: Vec<&str> = stream.iter().map(|r| r.change.dataset.as_str()).collect();
    assert_eq!(
        names,
        ["early"],
        "the bulk publish carries the dataset made before streaming"
    );

    let again = dev
        .bulk_publish()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_already_streamed_exception(), "{again:?}");
    svc.running.clock.advance(24 * 3600 * 1000 + 1);
    dev.bulk_publish().identity_pool_id(POOL).send().await.unwrap();
    wait_bulk(&dev, BulkPublishStatus::Succeeded).await;
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_running_bulk_publish_refuses_duplicates_and_configuration_changes() {
    let svc = LocalService::start("").await;
    let dev = svc.developer();
    enable_streaming(&dev).await;
    // Admitted through storage, with no task behind it: the run stays IN_PROGRESS.
    svc.running.store.start_bulk_publish(POOL).unwrap();
    let running = dev
        .get_bulk_publish_details()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap();
    assert_eq!(running.bulk_publish_status, Some(BulkPublishStatus::InProgress));
    let duplicate = dev
        .bulk_publish()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(duplicate.is_duplicate_request_exception(), "{duplicate:?}");
    let change = dev
        .set_identity_pool_configuration()
        .identity_pool_id(POOL)
        .push_sync(
            PushSync::builder()
                .role_arn("arn:aws:iam::123456789012:role/Push")
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(change.is_concurrent_modification_exception(), "{change:?}");
    // A failed run does not start the 24-hour window.
    svc.running
        .store
        .finish_bulk_publish(POOL, Err("test failure"))
        .unwrap();
    let failed = dev
        .get_bulk_publish_details()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.bulk_publish_status, Some(BulkPublishStatus::Failed));
    assert!(failed.failure_message.unwrap().contains("test failure"));
    dev.bulk_publish().identity_pool_id(POOL).send().await.unwrap();
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn sync_trigger_transforms_rejects_and_is_throttled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "version = 1\nunmatched = \"accept\"\non_violation = \"reject\"\n[[datasets]]\nname = \"*\"\n[datasets.keys.score]\ntype = \"integer\"\n[datasets.keys.email]\ntrim = true\nlowercase = true\n",
    )
    .unwrap();
    let rules = dir.path().join("rules.toml");
    let extra = format!(
        "[[triggers]]\nfunction_arn = \"{TRIGGER_ARN}\"\nrules = {rules:?}\n[[triggers]]\nfunction_arn = \"{TRIGGER_ARN}-throttled\"\nrules = {rules:?}\nreserved_concurrency = 0\n"
    );
    let svc = LocalService::start(&extra).await;
    let (dev, me) = (svc.developer(), svc.identity());
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", TRIGGER_ARN)
        .send()
        .await
        .unwrap();
    let events = dev.get_cognito_events().identity_pool_id(POOL).send().await.unwrap();
    assert_eq!(
        events.events.unwrap().get("SyncTrigger").map(String::as_str),
        Some(TRIGGER_ARN)
    );

    let stored = put(&me, "profile", "email", "  Ada@Example.COM ", 0).await.unwrap();
    assert_eq!(
        stored[0].value.as_deref(),
        Some("ada@example.com"),
        "the trigger's value is stored"
    );
    let rejected = put(&me, "profile", "score", "lots", 0).await.unwrap_err();
    assert!(rejected.is_invalid_lambda_function_output_exception(), "{rejected:?}");
    // Developer credentials do not run the trigger.
    let dev_put = put(&dev, "profile", "score", "lots", 0).await.unwrap();
    assert_eq!(dev_put[0].value.as_deref(), Some("lots"));

    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", format!("{TRIGGER_ARN}-throttled"))
        .send()
        .await
        .unwrap();
    let throttled = put(&me, "profile", "level", "1", 0).await.unwrap_err();
    assert!(throttled.is_lambda_throttled_exception(), "{throttled:?}");
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", "")
        .send()
        .await
        .unwrap();
    assert!(
        dev.get_cognito_events()
            .identity_pool_id(POOL)
            .send()
            .await
            .unwrap()
            .events
            .unwrap_or_default()
            .is_empty()
    );
    let bad = dev
        .set_cognito_events()
        .identity_pool_id(POOL)
        .events("Other", TRIGGER_ARN)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_invalid_parameter_exception());
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn push_sync_records_the_notifications_it_would_send() {
    let svc = LocalService::start("").await;
    let (dev, me) = (svc.developer(), svc.identity());
    let unconfigured = me
        .register_device()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .platform(Platform::Gcm)
        .token("push-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(unconfigured.is_invalid_configuration_exception(), "{unconfigured:?}");
    dev.set_identity_pool_configuration()
        .identity_pool_id(POOL)
        .push_sync(
            PushSync::builder()
                .application_arns("arn:aws:sns:us-east-1:123456789012:app/GCM/game")
                .role_arn("arn:aws:iam::123456789012:role/Push")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let device = me
        .register_device()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .platform(Platform::Gcm)
        .token("push-token")
        .send()
        .await
        .unwrap()
        .device_id
        .unwrap();
    me.subscribe_to_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .device_id(&device)
        .send()
        .await
        .unwrap();
    put(&me, "game", "k", "v", 0).await.unwrap();
    let sent = svc.running.store.notifications(0, 10).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].1.device_id.as_str(),
            sent[0].1.dataset_name.as_str(),
            sent[0].1.sync_count
        ),
        (device.as_str(), "game", 1)
    );
    me.unsubscribe_from_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .device_id(&device)
        .send()
        .await
        .unwrap();
    put(&me, "game", "k", "w", 1).await.unwrap();
    assert_eq!(
        svc.running.store.notifications(0, 10).unwrap().len(),
        1,
        "no notification after unsubscribing"
    );
    let unknown = me
        .subscribe_to_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .device_id("no-such-device")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(unknown.is_resource_not_found_exception());
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn usage_figures_follow_the_data() {
    let svc = LocalService::start("").await;
    let (dev, me) = (svc.developer(), svc.identity());
    put(&me, "a", "key", "value", 0).await.unwrap();
    put(&me, "b", "k", "v", 0).await.unwrap();
    let usage = me
        .describe_identity_usage()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap()
        .identity_usage
        .unwrap();
    assert_eq!((usage.dataset_count, usage.data_storage), (2, Some(10)));
    let pool = dev
        .describe_identity_pool_usage()
        .identity_pool_id(POOL)
        .send()
        .await
        .unwrap()
        .identity_pool_usage
        .unwrap();
    assert_eq!(pool.data_storage, Some(10));
    assert_eq!(pool.sync_sessions_count, Some(2));
    let all = dev.list_identity_pool_usage().max_results(1).send().await.unwrap();
    assert_eq!((all.count, all.max_results), (1, 1));
    assert!(all.next_token.is_some());
    let rest = dev
        .list_identity_pool_usage()
        .next_token(all.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.count, 1);
    assert!(rest.next_token.is_none());
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_bulk_publish_in_progress_at_a_crash_resumes_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = synclake_testkit::cognito::config_text("");
    let svc = LocalService::start_with(&config, Some(dir.path().to_owned())).await;
    let (dev, me) = (svc.developer(), svc.identity());
    put(&me, "kept", "k", "v", 0).await.unwrap();
    enable_streaming(&dev).await;
    // Admitted, and the process stops before its task ran.
    svc.running.store.start_bulk_publish(POOL).unwrap();
    svc.running.stop().await.unwrap();
    let svc = LocalService::start_with(&config, Some(dir.path().to_owned())).await;
    let done = wait_bulk(&svc.developer(), BulkPublishStatus::Succeeded).await;
    assert_eq!(done.bulk_publish_status, Some(BulkPublishStatus::Succeeded));
    let names: Vec<String> = svc
        .running
        .store
        .outbox_after(0, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.change.dataset)
        .collect();
    assert_eq!(names, ["kept"]);
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_stale_count_is_a_conflict_before_the_trigger_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A trigger that rejects every value: were it run, the answer would be a rejection.
    std::fs::write(dir.path().join("rules.toml"), "version = 1\nunmatched = \"accept\"\non_violation = \"reject\"\n[[datasets]]\nname = \"*\"\n[datasets.keys.k]\ntype = \"integer\"\n").unwrap();
    let rules = dir.path().join("rules.toml");
    let svc = LocalService::start(&format!(
        "[[triggers]]\nfunction_arn = \"{TRIGGER_ARN}\"\nrules = {rules:?}\n"
    ))
    .await;
    let (dev, me) = (svc.developer(), svc.identity());
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", TRIGGER_ARN)
        .send()
        .await
        .unwrap();
    put(&me, "d", "k", "1", 0).await.unwrap();
    let stale = put(&me, "d", "k", "not a number", 0).await.unwrap_err();
    assert!(stale.is_resource_conflict_exception(), "{stale:?}");
    svc.running.stop().await.unwrap();
}
