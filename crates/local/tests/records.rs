//! Datasets and records through `aws-sdk-cognitosync`: sync counts, conflicts, removals,
//! `lastSyncCount` deltas, paging, sessions, deletion, limits.
#![allow(clippy::unwrap_used)]

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_testkit::cognito::{IDENTITY, LocalService, POOL};

fn patch(op: Operation, key: &str, value: Option<&str>, count: i64) -> RecordPatch {
    RecordPatch::builder()
        .op(op)
        .key(key)
        .set_value(value.map(str::to_owned))
        .sync_count(count)
        .build()
        .unwrap()
}

async fn session(c: &Client, dataset: &str) -> String {
    let out = c
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name(dataset)
        .send()
        .await
        .unwrap();
    out.sync_session_token.unwrap()
}

async fn update(
    c: &Client,
    dataset: &str,
    patches: Vec<RecordPatch>,
) -> Result<Vec<aws_sdk_cognitosync::types::Record>, aws_sdk_cognitosync::operation::update_records::UpdateRecordsError>
{
    let token = session(c, dataset).await;
    c.update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name(dataset)
        .sync_session_token(token)
        .set_record_patches(Some(patches))
        .send()
        .await
        .map(|o| o.records.unwrap_or_default())
        .map_err(|e| e.into_service_error())
}

#[tokio::test]
async fn sync_counts_conflicts_and_deltas() {
    let svc = LocalService::start("").await;
    let me = svc.identity();
    let first = update(
        &me,
        "game",
        vec![
            patch(Operation::Replace, "score", Some("1"), 0),
            patch(Operation::Replace, "level", Some("3"), 0),
        ],
    )
    .await
    .unwrap();
    assert_eq!(first.iter().map(|r| r.sync_count.unwrap()).collect::<Vec<_>>(), [1, 1]);
    let listed = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.dataset_sync_count, Some(1));
    assert!(listed.dataset_exists);
    assert_eq!(listed.last_modified_by.as_deref(), Some(IDENTITY));
    assert!(listed.sync_session_token.is_some());

    // A stale count is refused whole: nothing of the request is applied.
    let err = update(
        &me,
        "game",
        vec![
            patch(Operation::Replace, "level", Some("4"), 1),
            patch(Operation::Replace, "score", Some("2"), 0),
        ],
    )
    .await
    .unwrap_err();
    assert!(err.is_resource_conflict_exception(), "{err:?}");
    let second = update(&me, "game", vec![patch(Operation::Replace, "score", Some("2"), 1)])
        .await
        .unwrap();
    assert_eq!(second[0].sync_count, Some(2));
    let removed = update(&me, "game", vec![patch(Operation::Remove, "level", None, 1)])
        .await
        .unwrap();
    assert_eq!(removed[0].value, None);

    // Only what changed after sync count 1: score (2) and the removal of level (3).
    let delta = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .last_sync_count(1)
        .send()
        .await
        .unwrap();
    let records = delta.records.unwrap();
    assert_eq!(delta.dataset_sync_count, Some(3));
    assert_eq!(records.len(), 2);
    let level = records.iter().find(|r| r.key.as_deref() == Some("level")).unwrap();
    assert_eq!((level.value.as_deref(), level.sync_count), (None, Some(2)));
    let score = records.iter().find(|r| r.key.as_deref() == Some("score")).unwrap();
    assert_eq!((score.value.as_deref(), score.sync_count), (Some("2"), Some(2)));
    assert!(score.last_modified_date.is_some());
    let described = me
        .describe_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("game")
        .send()
        .await
        .unwrap();
    let d = described.dataset.unwrap();
    assert_eq!(d.num_records, Some(1));
    // The live record's key and value, and the removed record's key (still listed to devices).
    assert_eq!(d.data_storage, Some(("score".len() + 1 + "level".len()) as i64));
    assert_eq!(d.last_modified_by.as_deref(), Some(IDENTITY));
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn paging_covers_every_record_once() {
    let svc = LocalService::start("").await;
    let me = svc.identity();
    let patches = (0..25)
        .map(|i| patch(Operation::Replace, &format!("k{i:02}"), Some("v"), 0))
        .collect();
    update(&me, "paged", patches).await.unwrap();
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = me
            .list_records()
            .identity_pool_id(POOL)
            .identity_id(IDENTITY)
            .dataset_name("paged")
            .max_results(7)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.count <= 7);
        keys.extend(page.records.unwrap().into_iter().map(|r| r.key.unwrap()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(keys, (0..25).map(|i| format!("k{i:02}")).collect::<Vec<_>>());
    let datasets = me
        .list_datasets()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(datasets.count, 1);
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn sessions_are_required_and_expire() {
    let svc = LocalService::start("session_ttl_secs = 60").await;
    let me = svc.identity();
    let refused = me
        .update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .sync_session_token("not-a-session")
        .record_patches(patch(Operation::Replace, "k", Some("v"), 0))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(refused.is_invalid_parameter_exception(), "{refused:?}");
    let token = session(&me, "d").await;
    svc.running.clock.advance(61_000);
    let expired = me
        .update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .sync_session_token(token)
        .record_patches(patch(Operation::Replace, "k", Some("v"), 0))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(expired.is_invalid_parameter_exception(), "{expired:?}");
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn deletion_is_reported_to_clients_that_saw_the_dataset() {
    let svc = LocalService::start("").await;
    let me = svc.identity();
    update(&me, "gone", vec![patch(Operation::Replace, "a", Some("1"), 0)])
        .await
        .unwrap();
    let deleted = me
        .delete_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("gone")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.dataset.unwrap().num_records,
        Some(1),
        "answers the dataset as it was"
    );
    let missing = me
        .describe_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("gone")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception());
    let again = me
        .delete_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("gone")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_resource_not_found_exception());
    let listed = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("gone")
        .last_sync_count(1)
        .send()
        .await
        .unwrap();
    assert!(listed.dataset_deleted_after_requested_sync_count);
    assert!(!listed.dataset_exists);
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn limits_give_limit_exceeded() {
    let svc =
        LocalService::start("[limits]\ndatasets_per_identity = 2\nrecords_per_dataset = 3\nbytes_per_dataset = 100")
            .await;
    let me = svc.identity();
    update(&me, "a", vec![patch(Operation::Replace, "k", Some("v"), 0)])
        .await
        .unwrap();
    update(&me, "b", vec![patch(Operation::Replace, "k", Some("v"), 0)])
        .await
        .unwrap();
    let third = update(&me, "c", vec![patch(Operation::Replace, "k", Some("v"), 0)])
        .await
        .unwrap_err();
    assert!(third.is_limit_exceeded_exception(), "{third:?}");
    let many = (0..4)
        .map(|i| patch(Operation::Replace, &format!("r{i}"), Some("v"), 0))
        .collect();
    assert!(update(&me, "a", many).await.unwrap_err().is_limit_exceeded_exception());
    let big = update(
        &me,
        "b",
        vec![patch(Operation::Replace, "big", Some(&"x".repeat(200)), 0)],
    )
    .await
    .unwrap_err();
    assert!(big.is_limit_exceeded_exception(), "{big:?}");
    let bad_name = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("no spaces")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad_name.is_invalid_parameter_exception());
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_change_while_paging_is_in_the_next_sync_not_lost() {
    let svc = LocalService::start("").await;
    let me = svc.identity();
    update(
        &me,
        "p",
        (0..6)
            .map(|i| patch(Operation::Replace, &format!("k{i}"), Some("v1"), 0))
            .collect(),
    )
    .await
    .unwrap();
    let list = |token: Option<String>, since: i64| {
        me.list_records()
            .identity_pool_id(POOL)
            .identity_id(IDENTITY)
            .dataset_name("p")
            .last_sync_count(since)
            .max_results(3)
            .set_next_token(token)
            .send()
    };
    let first = list(None, 0).await.unwrap();
    assert_eq!(first.dataset_sync_count, Some(1));
    // k0, already paged past, changes before the second page is read.
    update(&me, "p", vec![patch(Operation::Replace, "k0", Some("v2"), 1)])
        .await
        .unwrap();
    let second = list(first.next_token.clone(), 0).await.unwrap();
    assert_eq!(second.dataset_sync_count, Some(1), "every page answers as of the first");
    assert!(second.next_token.is_none());
    // The device stores 1 and syncs again: the change is there.
    let next = list(None, 1).await.unwrap();
    let records = next.records.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value.as_deref(), Some("v2"));
    assert_eq!(next.dataset_sync_count, Some(2));
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_dataset_made_again_after_deletion_continues_its_count() {
    let svc = LocalService::start("[limits]\ndatasets_per_identity = 1").await;
    let me = svc.identity();
    update(&me, "again", vec![patch(Operation::Replace, "a", Some("1"), 0)])
        .await
        .unwrap();
    me.delete_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("again")
        .send()
        .await
        .unwrap();
    // The deleted dataset no longer counts against the limit of one.
    let made = update(&me, "again", vec![patch(Operation::Replace, "b", Some("2"), 0)])
        .await
        .unwrap();
    assert_eq!(made[0].sync_count, Some(1), "records start over");
    let listed = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("again")
        .last_sync_count(1)
        .send()
        .await
        .unwrap();
    assert!(listed.dataset_exists);
    assert!(
        listed.dataset_deleted_after_requested_sync_count,
        "a device that saw count 1 must start over"
    );
    assert_eq!(listed.dataset_sync_count, Some(3), "1 write, 1 deletion, 1 write");
    let keys: Vec<String> = listed.records.unwrap().into_iter().filter_map(|r| r.key).collect();
    assert_eq!(keys, ["b"]);
    let d = me
        .describe_dataset()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("again")
        .send()
        .await
        .unwrap()
        .dataset
        .unwrap();
    assert_eq!((d.num_records, d.data_storage), (Some(1), Some(2)));
    svc.running.stop().await.unwrap();
}

#[tokio::test]
async fn removals_of_unknown_records_and_absurd_dates_store_nothing() {
    let svc = LocalService::start("").await;
    let me = svc.identity();
    update(&me, "r", vec![patch(Operation::Replace, "kept", Some("v"), 0)])
        .await
        .unwrap();
    let removed = update(
        &me,
        "r",
        (0..50)
            .map(|i| patch(Operation::Remove, &format!("never-{i}"), None, 0))
            .collect(),
    )
    .await
    .unwrap();
    assert!(removed.is_empty(), "nothing was stored: {removed:?}");
    let all = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("r")
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.records.unwrap().len(),
        1,
        "no tombstones for records the server never had"
    );
    let token = session(&me, "r").await;
    let far = RecordPatch::builder()
        .op(Operation::Replace)
        .key("when")
        .value("v")
        .sync_count(0)
        .device_last_modified_date(aws_sdk_cognitosync::primitives::DateTime::from_secs(300_000_000_000))
        .build()
        .unwrap();
    let e = me
        .update_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("r")
        .sync_session_token(token)
        .record_patches(far)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_parameter_exception(), "{e:?}");
    svc.running.stop().await.unwrap();
}
