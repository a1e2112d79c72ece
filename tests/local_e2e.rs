//! The whole system on one machine: devices sync through `aws-sdk-cognitosync` with the local
//! Cognito Sync service, which streams every change into kinesis-local (large ones as S3Url
//! payloads through moto S3); `consume` writes the table; the latest value of every key in the
//! table equals the service's final state.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::{BulkPublishStatus, CognitoStreams, Operation, RecordPatch, StreamingStatus};
use synclake_kinesis::Consumer;
use synclake_testkit::cognito::{IDENTITY, LocalService, OTHER_IDENTITY, POOL, config_text};
use synclake_testkit::consumer::{Running, consumer_config, rt};
use synclake_testkit::kinesis::{create_stream, unique_stream};
use synclake_testkit::services::{kinesis_client, kinesis_endpoint, new_bucket, s3_endpoint};
use synclake_testkit::table::read_table;

/// Key → value of every live record, per (identity, dataset).
type State = BTreeMap<(String, String), BTreeMap<String, String>>;

async fn sync(c: &Client, identity: &str, dataset: &str, patches: Vec<(&str, Option<String>)>) -> bool {
    let listed = c
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(identity)
        .dataset_name(dataset)
        .send()
        .await
        .unwrap();
    let counts: BTreeMap<String, i64> = listed
        .records
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.key.unwrap(), r.sync_count.unwrap()))
        .collect();
    let patches: Vec<RecordPatch> = patches
        .into_iter()
        .map(|(k, v)| {
            RecordPatch::builder()
                .op(if v.is_some() {
                    Operation::Replace
                } else {
                    Operation::Remove
                })
                .key(k)
                .set_value(v)
                .sync_count(counts.get(k).copied().unwrap_or(0))
                .build()
                .unwrap()
        })
        .collect();
    c.update_records()
        .identity_pool_id(POOL)
        .identity_id(identity)
        .dataset_name(dataset)
        .sync_session_token(listed.sync_session_token.unwrap())
        .set_record_patches(Some(patches))
        .send()
        .await
        .is_ok()
}

async fn service_state(dev: &Client) -> State {
    let mut state = State::new();
    for identity in [IDENTITY, OTHER_IDENTITY] {
        let datasets = dev
            .list_datasets()
            .identity_pool_id(POOL)
            .identity_id(identity)
            .send()
            .await
            .unwrap();
        for d in datasets.datasets.unwrap_or_default() {
            let name = d.dataset_name.unwrap();
            let records = dev
                .list_records()
                .identity_pool_id(POOL)
                .identity_id(identity)
                .dataset_name(&name)
                .send()
                .await
                .unwrap();
            let live: BTreeMap<String, String> = records
                .records
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| Some((r.key?, r.value?)))
                .collect();
            state.insert((identity.to_owned(), name), live);
        }
    }
    state
}

/// A key's newest version seen so far: (dataset sync count, record sync count) and value.
type Latest = ((i64, i64), Option<String>);

/// The table's current state: per dataset, the rows after its last deletion, and per key the
/// row of the highest (dataset sync count, record sync count).
fn table_state(root: &std::path::Path) -> State {
    let rows = read_table(root);
    let mut deleted_at: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.dataset_operation.as_deref() == Some("remove")) {
        let at = deleted_at
            .entry((r.identity_id.clone(), r.dataset_name.clone()))
            .or_default();
        *at = (*at).max(r.dataset_sync_count.unwrap());
    }
    let mut latest: BTreeMap<(String, String, String), Latest> = BTreeMap::new();
    for r in &rows {
        let Some(key) = &r.key else { continue };
        let dataset = (r.identity_id.clone(), r.dataset_name.clone());
        let version = (r.dataset_sync_count.unwrap(), r.sync_count.unwrap());
        if deleted_at.get(&dataset).is_some_and(|d| version.0 <= *d) {
            continue;
        }
        let slot = latest
            .entry((dataset.0, dataset.1, key.clone()))
            .or_insert(((-1, -1), None));
        if version > slot.0 {
            *slot = (version, r.value.clone());
        }
    }
    let mut state = State::new();
    for ((identity, dataset, key), (_, value)) in latest {
        let entry = state.entry((identity, dataset)).or_default();
        if let Some(v) = value {
            entry.insert(key, v);
        }
    }
    state.retain(|_, records| !records.is_empty());
    state
}

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
        assert!(sync(&a, IDENTITY, "before", vec![("k", Some("old".into()))]).await);
        dev.set_identity_pool_configuration()
            .identity_pool_id(POOL)
            .cognito_streams(
                CognitoStreams::builder()
                    .stream_name(&stream)
                    .role_arn("arn:aws:iam::123456789012:role/CognitoStreams")
                    .streaming_status(StreamingStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // The stream does not exist yet: these changes wait in the outbox, retried.
        assert!(sync(&a, IDENTITY, "profile", vec![("name", Some("Ada".into())), ("level", Some("1".into()))]).await);
        // Wait until a put has failed (the stream is missing) and been kept for a retry.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !svc.running.store.outbox_pending(10).unwrap().iter().any(|r| r.attempts > 0) {
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
                    assert!(sync(client, identity, &dataset, patches).await);
                }
            }
        }
        b.delete_dataset().identity_pool_id(POOL).identity_id(OTHER_IDENTITY).dataset_name("ds2").send().await.unwrap();
        assert!(sync(&b, OTHER_IDENTITY, "ds2", vec![("fresh", Some("after delete".into()))]).await);
        dev.bulk_publish().identity_pool_id(POOL).send().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while dev.get_bulk_publish_details().identity_pool_id(POOL).send().await.unwrap().bulk_publish_status != Some(BulkPublishStatus::Succeeded) {
            assert!(Instant::now() < deadline, "bulk publish did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
        let expected = service_state(&dev).await;

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
