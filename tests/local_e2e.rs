//! The whole system on one machine: devices sync through `aws-sdk-cognitosync` with the local
//! Cognito Sync service, which streams every change into kinesis-local (large ones as S3Url
//! payloads through moto S3); `consume` writes the table; the latest value of every key in the
//! table equals the service's final state.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_cognitosync::types::BulkPublishStatus;
use synclake_kinesis::Consumer;
use synclake_testkit::cognito::{
    IDENTITY, LocalService, OTHER_IDENTITY, POOL, config_text, service_state, sync, table_state, wait_bulk_publish,
};
use synclake_testkit::consumer::{Running, consumer_config, rt};
use synclake_testkit::kinesis::{create_stream, unique_stream};
use synclake_testkit::services::{kinesis_client, kinesis_endpoint, new_bucket, s3_endpoint};
use synclake_testkit::table::read_table;

#[test]
fn devices_to_table_through_kinesis_and_s3url() {
    rt().block_on(async {
        let stream = unique_stream("local-e2e");
        let bucket = new_bucket("local-e2e");
        let extra = format!(
            "[kinesis]\nendpoint = \"{}\"\naccess_key = \"test\"\nsecret_key = \"test\"\n\
             [s3url]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\naccess_key = \"test\"\nsecret_key = \"test\"\nthreshold_bytes = 2048\n",
            kinesis_endpoint(),
            s3_endpoint()
        );
        let svc = LocalService::start_with(&config_text(&extra), None).await;
        let (dev, a, b) = (svc.developer(), svc.identity(), svc.other_identity());
        // Data from before streaming: only the bulk publish brings it to the table.
        assert!(sync(&a, POOL, IDENTITY, "before", vec![("k", Some("old".into()))]).await);
        synclake_testkit::cognito::enable_streaming(&dev, POOL, &stream).await;
        // The stream does not exist yet: these changes wait in the outbox, retried.
        assert!(sync(&a, POOL, IDENTITY, "profile", vec![("name", Some("Ada".into())), ("level", Some("1".into()))]).await);
        // Wait until a put has failed (the stream is missing) and been kept for a retry.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !svc.running.store.outbox_pending_for(&stream, 10).unwrap().iter().any(|r| r.attempts > 0) {
            assert!(Instant::now() < deadline, "no PutRecord was attempted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let kinesis = kinesis_client();
        create_stream(&kinesis, &stream, 2).await;
        for round in 0..6 {
            for (client, identity) in [(&a, IDENTITY), (&b, OTHER_IDENTITY)] {
                for d in 0..4 {
                    let dataset = format!("ds{d}");
                    let big = "x".repeat(3000 + round);
                    let value = if (round + d) % 5 == 0 { big } else { format!("r{round}-d{d}") };
                    let removal = (round == 3 && d == 1).then_some(("k1", None));
                    let mut patches = vec![("k0", Some(value)), ("k2", Some(format!("{round}")))];
                    patches.extend(removal);
                    if round != 3 || d != 1 {
                        patches.push(("k1", Some(format!("one-{round}"))));
                    }
                    assert!(sync(client, POOL, identity, &dataset, patches).await);
                }
            }
        }
        b.delete_dataset().identity_pool_id(POOL).identity_id(OTHER_IDENTITY).dataset_name("ds2").send().await.unwrap();
        assert!(sync(&b, POOL, OTHER_IDENTITY, "ds2", vec![("fresh", Some("after delete".into()))]).await);
        dev.bulk_publish().identity_pool_id(POOL).send().await.unwrap();
        let d = wait_bulk_publish(&dev, POOL, BulkPublishStatus::Succeeded, Duration::from_secs(30)).await;
        assert_eq!(d.bulk_publish_status, Some(BulkPublishStatus::Succeeded), "bulk publish did not finish");
        // Everything leaves the outbox once Kinesis acknowledged it.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (pending, failed) = svc.running.store.outbox_counts().unwrap();
            assert_eq!(failed, 0);
            if pending == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{pending} stream records still pending");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let expected = service_state(&dev, POOL).await;

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("lake");
        let consumer = Consumer::open(consumer_config(&stream, out.to_str().unwrap(), &dir.path().join("state"))).await.unwrap();
        let mut running = Running::start(consumer);
        // 1 + 48 + 2 live changes, and one bulk-published record per live dataset.
        let datasets = expected.len() as u64;
        let total = 1 + 48 + 2 + datasets;
        running.committed(total).await;
        let summary = running.stop().await;
        assert_eq!(summary.totals.dead_letters, 0, "every record decodes, S3Url bodies included");
        let rows = read_table(&out);
        assert!(rows.iter().any(|r| r.payload_type == "S3Url"), "large changes travelled as S3Url payloads");
        assert!(rows.iter().any(|r| r.dataset_name == "before"), "the bulk publish brought the data from before streaming");
        assert_eq!(table_state(&out), expected);
        svc.running.stop().await.unwrap();
    });
}
