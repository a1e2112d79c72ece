//! A storage failure is an InternalErrorException (500) with no detail of the storage, and the
//! service keeps answering what does not depend on the broken part.
#![allow(clippy::unwrap_used)]

use synclake_local::store::DB_FILE;
use synclake_testkit::cognito::{IDENTITY, LocalService, POOL, config_text};

#[tokio::test]
async fn a_broken_table_is_an_internal_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let svc = LocalService::start_with(&config_text(""), Some(dir.path().to_owned())).await;
    let me = svc.identity();
    me.list_datasets()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap();
    // Break the database under the running service, as a disk or an operator could.
    rusqlite::Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .execute_batch("DROP TABLE sessions")
        .unwrap();
    let e = me
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .dataset_name("d")
        .send()
        .await
        .unwrap_err();
    let status = e.raw_response().map(|r| r.status().as_u16());
    let e = e.into_service_error();
    assert!(e.is_internal_error_exception(), "{e:?}");
    assert_eq!(status, Some(500));
    assert!(!e.to_string().contains("sessions"), "no storage detail leaks: {e}");
    // What does not touch the broken table still works.
    me.list_datasets()
        .identity_pool_id(POOL)
        .identity_id(IDENTITY)
        .send()
        .await
        .unwrap();
    svc.running.stop().await.unwrap();
}
