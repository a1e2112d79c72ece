//! `synclake bulk-publish` against the local Cognito Sync service, kinesis-local and the
//! consumer: streaming off is a clear failure; enabling it and publishing brings every existing
//! dataset to the table, recorded in `_bulk_publish/`; a second run within 24 hours is
//! AlreadyStreamed; a run in progress is attached to.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::synclake;
use synclake_kinesis::Consumer;
use synclake_testkit::cognito::{
    IDENTITY, LocalService, OTHER_IDENTITY, OTHER_POOL, POOL, config_text, service_state, sync, table_state,
    wait_bulk_publish,
};
use synclake_testkit::consumer::{Running, consumer_config, rt};
use synclake_testkit::kinesis::{create_stream, unique_stream};
use synclake_testkit::services::{kinesis_client, kinesis_endpoint};
use synclake_testkit::table::read_batches;

async fn bulk_publish(url: &str, out: &str, extra: &[&str]) -> (Option<i32>, String) {
    let args: Vec<String> = [
        "bulk-publish",
        "--endpoint-url",
        url,
        "--out",
        out,
        "--poll-min-secs",
        "0.05",
        "--poll-max-secs",
        "0.2",
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(str::to_owned)
    .collect();
    // The command blocks: off the runtime, which serves the local service meanwhile.
    let o = tokio::task::spawn_blocking(move || synclake(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), text)
}

#[test]
fn every_existing_dataset_reaches_the_table_and_the_run_is_recorded() {
    rt().block_on(async {
        let stream = unique_stream("bulk");
        // The CLI signs with the test credentials (test/test): a developer here. Bulk publishes
        // pause between pages, so that a run stays IN_PROGRESS long enough to attach to.
        let extra = format!(
            "bulk_publish_pause_ms = 2500\n[[developers]]\naccess_key = \"test\"\nsecret_key = \"test\"\n\
             [kinesis]\nendpoint = \"{}\"\naccess_key = \"test\"\nsecret_key = \"test\"\n",
            kinesis_endpoint()
        );
        let svc = LocalService::start_with(&config_text(&extra), None).await;
        let (dev, a, b) = (svc.developer(), svc.identity(), svc.other_identity());
        // Data from before streaming was on: only a bulk publish brings it to the table.
        for d in 0..4 {
            let dataset = format!("old{d}");
            assert!(
                sync(
                    &a,
                    POOL,
                    IDENTITY,
                    &dataset,
                    vec![("k", Some(format!("a{d}"))), ("gone", Some("x".into()))]
                )
                .await
            );
            assert!(sync(&a, POOL, IDENTITY, &dataset, vec![("gone", None)]).await);
            assert!(sync(&b, POOL, OTHER_IDENTITY, &dataset, vec![("k", Some(format!("b{d}")))]).await);
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("lake");
        let out_s = out.to_str().unwrap().to_owned();
        let url = svc.url.clone();

        // Streaming off: a clear failure that says how to enable it.
        let (code, text) = bulk_publish(&url, &out_s, &["--pool", POOL]).await;
        assert_eq!(code, Some(4), "{text}");
        assert!(
            text.contains("NOT_CONFIGURED") && text.contains("--enable-streaming"),
            "{text}"
        );

        // Enabled by the orchestrator, run to the end.
        create_stream(&kinesis_client(), &stream, 2).await;
        let (code, text) = bulk_publish(
            &url,
            &out_s,
            &[
                "--pool",
                POOL,
                "--enable-streaming",
                "--stream",
                &stream,
                "--role-arn",
                "arn:aws:iam::123456789012:role/CognitoStreams",
                "--output",
                "json",
            ],
        )
        .await;
        assert_eq!(code, Some(0), "{text}");
        let reports: serde_json::Value = serde_json::from_str(text.trim_start_matches(|c| c != '[')).unwrap();
        assert_eq!(reports[0]["status"], "SUCCEEDED", "{text}");
        assert_eq!(reports[0]["attached"], false);

        // The stream into the table: every dataset's records, as the service holds them.
        let expected = service_state(&dev, POOL).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while svc.running.store.outbox_counts().unwrap().0 > 0 {
            assert!(Instant::now() < deadline, "stream records still pending");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let consumer = Consumer::open(consumer_config(&stream, &out_s, &dir.path().join("state")))
            .await
            .unwrap();
        let mut running = Running::start(consumer);
        running.committed(expected.len() as u64).await;
        running.stop().await;
        assert_eq!(table_state(&out), expected);
        let runs: Vec<_> = std::fs::read_dir(out.join("_bulk_publish"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(runs.len(), 1, "{runs:?}");
        let batch = &read_batches(&runs[0])[0];
        let status = batch.column_by_name("status").unwrap();
        assert_eq!(
            arrow_array::cast::AsArray::as_string::<i32>(status).value(0),
            "SUCCEEDED"
        );

        // Within 24 hours: AlreadyStreamed, a notice; with --strict, exit 5.
        let (code, text) = bulk_publish(&url, &out_s, &["--pool", POOL]).await;
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("ALREADY_STREAMED") && text.contains("next allowed"),
            "{text}"
        );
        let (code, _) = bulk_publish(&url, &out_s, &["--pool", POOL, "--strict"]).await;
        assert_eq!(code, Some(5));

        // A run already in progress (started by someone else) is attached to.
        synclake_testkit::cognito::enable_streaming(&dev, OTHER_POOL, &stream).await;
        dev.bulk_publish().identity_pool_id(OTHER_POOL).send().await.unwrap();
        let (code, text) = bulk_publish(&url, &out_s, &["--pool", OTHER_POOL, "--output", "json"]).await;
        assert_eq!(code, Some(0), "{text}");
        let reports: serde_json::Value = serde_json::from_str(text.trim_start_matches(|c| c != '[')).unwrap();
        assert_eq!(
            (reports[0]["status"].as_str(), reports[0]["attached"].as_bool()),
            (Some("SUCCEEDED"), Some(true)),
            "{text}"
        );
        svc.running.stop().await.unwrap();
    });
}

#[test]
fn ctrl_c_leaves_the_run_going_and_says_how_to_attach() {
    rt().block_on(async {
        let extra = "bulk_publish_pause_ms = 4000\n[[developers]]\naccess_key = \"test\"\nsecret_key = \"test\"\n";
        let svc = LocalService::start_with(&config_text(extra), None).await;
        let dev = svc.developer();
        synclake_testkit::cognito::enable_streaming(&dev, POOL, "embedded").await;
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_synclake"))
            .args([
                "bulk-publish",
                "--endpoint-url",
                &svc.url,
                "--pool",
                POOL,
                "--poll-min-secs",
                "0.05",
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once the run is IN_PROGRESS on the service, interrupt the command.
        let in_progress = aws_sdk_cognitosync::types::BulkPublishStatus::InProgress;
        let d = wait_bulk_publish(&dev, POOL, in_progress.clone(), Duration::from_secs(20)).await;
        assert_eq!(d.bulk_publish_status, Some(in_progress), "the run never started");
        let pid = child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(
            err.contains("go on on the server") && err.contains("run the same command again"),
            "{err}"
        );
        // The run was not stopped: it is still in progress, and ends on its own.
        let d = dev
            .get_bulk_publish_details()
            .identity_pool_id(POOL)
            .send()
            .await
            .unwrap();
        assert_eq!(
            d.bulk_publish_status,
            Some(aws_sdk_cognitosync::types::BulkPublishStatus::InProgress)
        );
        svc.running.stop().await.unwrap();
    });
}
