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

#[tokio::test]
async fn sync_every_commit_asks_sqlite_for_an_fsync_per_commit() {
    for (flag, expected) in [(false, 1), (true, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let options = synclake_local::Options {
            data_dir: Some(dir.path().to_owned()),
            verify_signatures: true,
            test_clock: false,
            sync_every_commit: flag,
        };
        let config = synclake_local::Config::parse(&config_text("")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = synclake_local::start(&config, &options, listener, synclake_local::Clock::system())
            .await
            .unwrap();
        // 1 = NORMAL (a process crash loses nothing acknowledged), 2 = FULL (nor a power loss).
        assert_eq!(
            running.store.synchronous().unwrap(),
            expected,
            "--sync-every-commit {flag}"
        );
        running.stop().await.unwrap();
    }
}
