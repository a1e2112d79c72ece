//! The real function binaries under the local Lambda runtime emulator (`cargo lambda watch`),
//! invoked with real event JSON through the Invoke API, writing to the local S3 server.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;
use futures::TryStreamExt as _;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use synclake_testkit::fixtures;
use synclake_testkit::services::{new_bucket, s3_endpoint, s3_store};

#[tokio::test]
async fn stream_to_parquet_runs_under_the_lambda_emulator() {
    let bucket = new_bucket("emulated");
    let endpoint = s3_endpoint();
    let logs = tempfile::tempdir().unwrap();
    let output = format!("s3://{bucket}/table");
    let emulator = Emulator::start(
        env!("CARGO_BIN_EXE_stream-to-parquet"),
        &[
            ("SYNCLAKE_OUT", &output),
            ("SYNCLAKE_S3_ENDPOINT", &endpoint),
            ("SYNCLAKE_S3_PATH_STYLE", "true"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
        logs.path(),
    );

    let sample = std::fs::read_to_string(fixtures().join("envelopes/lambda_kinesis_event.json")).unwrap();
    let (status, body) = emulator.invoke(&sample).await;
    assert_eq!(status, 200, "{body}\n{}", emulator.logs());
    let response: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": []}),
        "{}",
        emulator.logs()
    );

    // A second, generated batch through the same warm container.
    let payloads: Vec<Vec<u8>> = fixture_files("payloads")
        .into_iter()
        .filter(|(name, _)| name != "s3url.json")
        .map(|(_, b)| b)
        .collect();
    let (status, body) = emulator.invoke(&kinesis_event(&payloads, 0)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["batchItemFailures"],
        serde_json::json!([])
    );

    let store = s3_store(&bucket);
    let keys: Vec<String> = store
        .list(Some(&"table".into()))
        .map_ok(|o| o.location.to_string())
        .try_collect()
        .await
        .unwrap();
    let shard0 = keys
        .iter()
        .filter(|k| k.contains("/part-shardId-000000000000-"))
        .count();
    let shard3 = keys.iter().filter(|k| k.contains(&format!("/part-{SHARD}-"))).count();
    assert!(shard0 >= 2 && shard3 >= 2, "files of both batches: {keys:?}");
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("table/_dead_letters/")).count(),
        1,
        "the sample's bad record: {keys:?}"
    );

    let logs = emulator.logs();
    let done: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "batch done")
        .collect();
    assert_eq!(done.len(), 2, "one JSON log line per batch: {logs}");
    assert_eq!(done[0]["fields"]["records"], 4);
    assert_eq!(done[0]["fields"]["dead_letters"], 1);

    // Each invocation's counts, as Embedded Metric Format lines beside the JSON logs.
    let metrics = emulator.metric_lines();
    assert_eq!(metrics.len(), 2, "one metrics line per batch: {logs}");
    assert_eq!(metrics[0]["Records"], 4.0);
    assert_eq!(metrics[0]["DeadLetters"], 1.0);
    assert_eq!(metrics[0]["RecordsRedelivered"], 0.0);
    assert_eq!(metrics[0]["Rows"], done[0]["fields"]["rows"].as_f64().unwrap());
    assert_eq!(metrics[0]["Files"], done[0]["fields"]["files"].as_f64().unwrap());
    assert_eq!(metrics[1]["Records"], payloads.len() as f64);
}

/// Starts `binary` with only `env`, expecting it to stop at start; what it printed.
fn failed_start(binary: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new(binary)
        .env_clear()
        .envs(env.iter().copied())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{binary} started with {env:?}");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_bad_configuration_stops_the_function_at_start_naming_the_variable() {
    let text = failed_start(
        env!("CARGO_BIN_EXE_stream-to-parquet"),
        &[("SYNCLAKE_OUT", "s3://bucket/t"), ("SYNCLAKE_COMPRESSION", "lz4")],
    );
    assert!(text.contains("SYNCLAKE_COMPRESSION") && text.contains("lz4"), "{text}");
}

fn trigger_fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("trigger").join(name)).unwrap()
}

#[tokio::test]
async fn sync_trigger_runs_under_the_lambda_emulator() {
    let logs = tempfile::tempdir().unwrap();
    let rules = fixtures().join("trigger/rules/profile.toml");
    let emulator = Emulator::start(
        env!("CARGO_BIN_EXE_sync-trigger"),
        &[("SYNCLAKE_TRIGGER_RULES_FILE", rules.to_str().unwrap())],
        logs.path(),
    );

    let ok = trigger_fixture("events/profile_ok.json");
    let (status, body) = emulator.invoke(&ok).await;
    assert_eq!(status, 200, "{body}\n{}", emulator.logs());
    assert_eq!(
        body,
        ok.trim_end(),
        "valid changes only: the response is the request byte for byte (the final newline is not JSON)"
    );

    let request = trigger_fixture("events/profile_transform.json");
    let (status, body) = emulator.invoke(&request).await;
    assert_eq!(status, 200, "{body}");
    let (mut before, mut after): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&request).unwrap(),
        serde_json::from_str(&body).unwrap(),
    );
    assert_ne!(
        before["datasetRecords"], after["datasetRecords"],
        "the rules shaped the records"
    );
    before.as_object_mut().unwrap().remove("datasetRecords");
    after.as_object_mut().unwrap().remove("datasetRecords");
    assert_eq!(before, after, "only datasetRecords may change");

    let (status, body) = emulator.invoke(&trigger_fixture("events/profile_reject.json")).await;
    let text = format!("{status} {body}");
    assert!(
        text.contains("synclake.SyncRejected") && text.contains("adminFlag"),
        "a rejected sync fails the invocation, naming the key: {text}"
    );
    assert!(
        emulator.logs().contains("adminFlag"),
        "the decision is logged: {}",
        emulator.logs()
    );

    let metrics = emulator.metric_lines();
    let column = |name: &str| metrics.iter().map(|m| m[name].as_f64().unwrap()).collect::<Vec<_>>();
    assert_eq!(column("Syncs"), [1.0, 1.0, 1.0], "{metrics:?}");
    assert_eq!(column("Changed"), [0.0, 1.0, 0.0]);
    assert_eq!(column("Rejected"), [0.0, 0.0, 1.0]);
    assert_eq!(column("InvalidEvents"), [0.0, 0.0, 0.0]);
}

#[tokio::test]
async fn sync_trigger_loads_its_rules_from_s3() {
    let bucket = new_bucket("rules");
    let store = s3_store(&bucket);
    let rules = std::fs::read(fixtures().join("trigger/rules/profile.json")).unwrap();
    store.put(&"prod/rules.json".into(), rules.into()).await.unwrap();
    let endpoint = s3_endpoint();
    let url = format!("s3://{bucket}/prod/rules.json");
    let logs = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(
        env!("CARGO_BIN_EXE_sync-trigger"),
        &[
            ("SYNCLAKE_TRIGGER_RULES_URL", &url),
            ("SYNCLAKE_S3_ENDPOINT", &endpoint),
            ("SYNCLAKE_S3_PATH_STYLE", "true"),
        ],
        logs.path(),
    );
    let (status, body) = emulator.invoke(&trigger_fixture("events/profile_reject.json")).await;
    assert!(
        format!("{status} {body}").contains("synclake.SyncRejected"),
        "{status} {body}\n{}",
        emulator.logs()
    );
}

#[test]
fn invalid_rules_stop_the_sync_trigger_at_start_with_their_errors() {
    let rules = fixtures().join("trigger/rules/invalid_semantic.toml");
    let text = failed_start(
        env!("CARGO_BIN_EXE_sync-trigger"),
        &[("SYNCLAKE_TRIGGER_RULES_FILE", rules.to_str().unwrap())],
    );
    assert!(text.contains("invalid_semantic.toml"), "{text}");
}

/// The local Cognito Sync service invoking the real `sync-trigger` function through the Lambda
/// Invoke API of the emulator, as Cognito Events does on AWS.
#[tokio::test]
async fn the_local_service_runs_its_sync_trigger_under_the_lambda_emulator() {
    use aws_sdk_cognitosync::types::{Operation, RecordPatch};
    use synclake_testkit::cognito::{IDENTITY, LocalService, POOL};

    let logs = tempfile::tempdir().unwrap();
    let rules = fixtures().join("trigger/rules/profile.toml");
    let emulator = Emulator::start(
        env!("CARGO_BIN_EXE_sync-trigger"),
        &[("SYNCLAKE_TRIGGER_RULES_FILE", rules.to_str().unwrap())],
        logs.path(),
    );
    let svc = LocalService::start(&format!(
        "[lambda]\nendpoint = \"{}\"\naccess_key = \"test\"\nsecret_key = \"test\"\n",
        emulator.endpoint()
    ))
    .await;
    let (dev, me) = (svc.developer(), svc.identity());
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", "arn:aws:lambda:us-east-1:123456789012:function:_")
        .send()
        .await
        .unwrap();
    let sync = |patches: Vec<(&'static str, &'static str)>| {
        let me = me.clone();
        async move {
            let token = me
                .list_records()
                .identity_pool_id(POOL)
                .identity_id(IDENTITY)
                .dataset_name("profile")
                .send()
                .await
                .unwrap()
                .sync_session_token
                .unwrap();
            let patches = patches
                .into_iter()
                .map(|(k, v)| {
                    RecordPatch::builder()
                        .op(Operation::Replace)
                        .key(k)
                        .value(v)
                        .sync_count(0)
                        .build()
                        .unwrap()
                })
                .collect();
            me.update_records()
                .identity_pool_id(POOL)
                .identity_id(IDENTITY)
                .dataset_name("profile")
                .sync_session_token(token)
                .set_record_patches(Some(patches))
                .send()
                .await
                .map_err(|e| e.into_service_error())
        }
    };
    let stored = sync(vec![("name", "Ada"), ("email", "  Ada@Example.COM ")])
        .await
        .unwrap();
    let email = stored
        .records
        .unwrap()
        .into_iter()
        .find(|r| r.key.as_deref() == Some("email"))
        .unwrap();
    assert_eq!(
        email.value.as_deref(),
        Some("ada@example.com"),
        "the function's output is what is stored: {}",
        emulator.logs()
    );
    let rejected = sync(vec![("adminFlag", "true")]).await.unwrap_err();
    assert!(rejected.is_invalid_lambda_function_output_exception(), "{rejected:?}");
    svc.running.stop().await.unwrap();
}

/// The `bulk-publish` function under the emulator, advanced to completion by repeated
/// invocations (what a Step Functions wait loop does), against the local Cognito Sync service.
#[tokio::test]
async fn bulk_publish_advances_to_completion_under_the_lambda_emulator() {
    use synclake_testkit::cognito::{IDENTITY, LocalService, POOL, sync};

    let svc = LocalService::start("bulk_publish_pause_ms = 500").await;
    assert!(sync(&svc.identity(), POOL, IDENTITY, "saved", vec![("k", Some("v".into()))]).await);
    let logs = tempfile::tempdir().unwrap();
    let table = logs.path().join("table");
    let emulator = Emulator::start(
        env!("CARGO_BIN_EXE_bulk-publish"),
        &[
            ("SYNCLAKE_OUT", table.to_str().unwrap()),
            ("SYNCLAKE_COGNITO_SYNC_ENDPOINT", &svc.url),
            ("SYNCLAKE_ENABLE_STREAM", "cognito-stream"),
            (
                "SYNCLAKE_STREAM_ROLE_ARN",
                "arn:aws:iam::123456789012:role/CognitoStreams",
            ),
            ("AWS_ACCESS_KEY_ID", "AKIDEV"),
            ("AWS_SECRET_ACCESS_KEY", "dev-secret"),
        ],
        logs.path(),
    );
    let mut state = serde_json::json!({ "pool": POOL });
    let mut steps = 0;
    loop {
        let (status, body) = emulator.invoke(&state.to_string()).await;
        assert_eq!(status, 200, "{body}\n{}", emulator.logs());
        state = serde_json::from_str(&body).unwrap();
        steps += 1;
        if state["done"] == true {
            break;
        }
        assert_eq!(state["status"], "IN_PROGRESS", "{state}");
        assert!(steps < 100, "not done after {steps} steps: {state}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["status"], "SUCCEEDED", "{state}");
    assert!(steps >= 2, "the run was watched over several invocations");
    let runs: Vec<String> = std::fs::read_dir(table.join("_bulk_publish"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].ends_with("-SUCCEEDED.parquet"), "{runs:?}");
    assert!(
        state["started_at"].as_i64() <= state["completed_at"].as_i64(),
        "{state}"
    );
    let metrics = emulator.metric_lines();
    assert_eq!(metrics.len(), steps, "one metrics line per step");
    assert!(metrics.iter().all(|m| m["Steps"] == 1.0 && m["FailedSteps"] == 0.0));
    assert_eq!(metrics.last().unwrap()["RunSucceeded"], 1.0, "{metrics:?}");
    assert!(metrics[..steps - 1].iter().all(|m| m.get("RunSucceeded").is_none()));
    // The bulk publish put the dataset on the (embedded) stream.
    assert_eq!(svc.running.store.outbox_after(0, 10).unwrap().len(), 1);
    svc.running.stop().await.unwrap();
}
