//! The lease table's rules, through real DynamoDB calls to the local server (moto): taking is
//! a race one worker wins, a taken-over holder is fenced out of every write, a lease not
//! renewed in time refuses writes on its own, a hand-off goes to the worker that asked, and a
//! table is bound to one stream and output.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use synclake_kinesis::Stream;
use synclake_kinesis::checkpoint::{CheckpointStore as _, PendingFlush, ShardState};
use synclake_kinesis::lease::item::Lease;
use synclake_kinesis::lease::store::{LeaseStore, Renewal};
use synclake_kinesis::lease::table::{Binding, LeaseTable};
use synclake_kinesis::lease::{Fleet, LeaseOptions};
use synclake_testkit::services::{dynamodb_client, dynamodb_endpoint};

const SHARD: &str = "shardId-000000000000";

static TABLES: AtomicU32 = AtomicU32::new(0);

fn table_name() -> String {
    format!(
        "leases-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh table with one free lease, and a store per worker on it.
async fn setup(workers: &[&str], duration: Duration) -> (String, Vec<LeaseStore>) {
    let name = table_name();
    let table = LeaseTable::new(dynamodb_client(), &name, Arc::default());
    table.ensure().await.unwrap();
    table.ensure().await.unwrap(); // exists: no error
    assert!(table.create(SHARD, &[]).await.unwrap());
    assert!(!table.create(SHARD, &[]).await.unwrap(), "created once");
    let stores = workers
        .iter()
        .map(|w| LeaseStore::new(LeaseTable::new(dynamodb_client(), &name, Arc::default()), *w, duration))
        .collect();
    (name, stores)
}

async fn lease(store: &LeaseStore) -> Lease {
    store
        .table()
        .scan()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.shard == SHARD)
        .unwrap()
}

fn checkpoint(seq: &str) -> ShardState {
    ShardState {
        checkpoint: Some(seq.into()),
        ..ShardState::default()
    }
}

#[tokio::test]
async fn a_holder_taken_over_is_refused_every_write_and_the_next_sees_its_pending_flush() {
    let (_, stores) = setup(&["a", "b"], Duration::from_secs(30)).await;
    let (a, b) = (&stores[0], &stores[1]);
    assert_eq!(a.take(&lease(a).await).await.unwrap(), Some(ShardState::default()));
    let pending = ShardState {
        checkpoint: Some("100".into()),
        pending: Some(PendingFlush {
            first: "101".into(),
            last: "150".into(),
            keys: vec!["dt=2026-12-07/part-shardId-000000000000-101-L1-0.parquet".into()],
        }),
        ..ShardState::default()
    };
    a.save(SHARD, &pending).await.unwrap();
    assert_eq!(a.renew(SHARD).await, Renewal::Held { handoff_to: None });

    // b takes it as if a had stopped renewing: it sees a's intent, and a is fenced out.
    let seen = lease(b).await;
    assert_eq!(seen.owner.as_deref(), Some("a"));
    assert_eq!(b.take(&seen).await.unwrap(), Some(pending.clone()));
    let err = a.save(SHARD, &checkpoint("150")).await.unwrap_err();
    assert!(err.is_lease_lost(), "{err}");
    assert_eq!(a.renew(SHARD).await, Renewal::Lost);
    assert!(a.save(SHARD, &checkpoint("150")).await.unwrap_err().is_lease_lost());
    b.save(SHARD, &checkpoint("100")).await.unwrap();
    let now = lease(b).await;
    assert_eq!((now.owner.as_deref(), now.state), (Some("b"), checkpoint("100")));
    assert_ne!(
        a.file_epoch(SHARD),
        b.file_epoch(SHARD),
        "two holders never name files alike"
    );
}

#[tokio::test]
async fn of_two_workers_taking_a_free_lease_one_wins() {
    let (_, stores) = setup(&["a", "b"], Duration::from_secs(30)).await;
    let seen = lease(&stores[0]).await;
    let (x, y) = tokio::join!(stores[0].take(&seen), stores[1].take(&seen));
    let won = [x.unwrap().is_some(), y.unwrap().is_some()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

#[tokio::test]
async fn a_lease_not_renewed_in_time_refuses_commits_before_anyone_could_take_it() {
    let (_, stores) = setup(&["a"], Duration::from_secs(1)).await;
    let a = &stores[0];
    a.take(&lease(a).await).await.unwrap().unwrap();
    a.save(SHARD, &checkpoint("1")).await.unwrap();
    a.may_commit(SHARD).unwrap();
    // Valid for three quarters of the duration after the last heartbeat was sent.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let err = a.may_commit(SHARD).unwrap_err();
    assert!(err.to_string().contains("not renewed in time"), "{err}");
    assert!(a.save(SHARD, &checkpoint("2")).await.unwrap_err().is_lease_lost());
    assert_eq!(lease(a).await.state, checkpoint("1"), "nothing written after");
}

#[tokio::test]
async fn a_refused_holder_tells_whether_its_files_are_read_again() {
    let (_, stores) = setup(&["a", "b"], Duration::from_secs(30)).await;
    let (a, b) = (&stores[0], &stores[1]);
    a.take(&lease(a).await).await.unwrap().unwrap();
    a.save(SHARD, &checkpoint("10")).await.unwrap();
    // While the latest take is a's own, nobody read on from it: its files stay.
    assert!(!a.redone_after(SHARD, "20").await.unwrap());
    // b takes over from checkpoint 10: a's flush through 20 (never checkpointed) is read
    // again, so its files must go; a's flush through 10 (checkpointed) is b's starting point.
    b.take(&lease(b).await).await.unwrap().unwrap();
    assert!(a.save(SHARD, &checkpoint("20")).await.unwrap_err().is_lease_lost());
    assert!(a.redone_after(SHARD, "20").await.unwrap());
    assert!(!a.redone_after(SHARD, "10").await.unwrap());
    assert!(!a.redone_after(SHARD, "9").await.unwrap());
}

#[tokio::test]
async fn a_hand_off_goes_to_the_worker_that_asked_and_fences_the_giver() {
    let (_, stores) = setup(&["a", "b", "c"], Duration::from_secs(30)).await;
    let (a, b, c) = (&stores[0], &stores[1], &stores[2]);
    a.take(&lease(a).await).await.unwrap().unwrap();
    let seen = lease(b).await;
    assert!(matches!(
        b.table().request_handoff(&seen, "b").await.unwrap(),
        synclake_kinesis::lease::table::Write::Done(_)
    ));
    assert!(
        matches!(
            c.table().request_handoff(&seen, "c").await.unwrap(),
            synclake_kinesis::lease::table::Write::Conflict
        ),
        "one request at a time"
    );
    // The holder goes on until it lets go; then the asker owns it.
    assert_eq!(
        a.renew(SHARD).await,
        Renewal::Held {
            handoff_to: Some("b".into())
        }
    );
    a.save(SHARD, &checkpoint("7")).await.unwrap();
    a.release(SHARD, Some("b")).await.unwrap();
    let handed = lease(b).await;
    assert_eq!(
        (handed.owner.as_deref(), handed.handoff_to.as_deref()),
        (Some("b"), None)
    );
    assert_eq!(b.take(&handed).await.unwrap(), Some(checkpoint("7")));
    assert!(a.save(SHARD, &checkpoint("8")).await.unwrap_err().is_lease_lost());
    // Released for good: free, the counter raised.
    b.release(SHARD, None).await.unwrap();
    let free = lease(c).await;
    assert_eq!(free.owner, None);
    assert!(free.counter > handed.counter);
}

#[tokio::test]
async fn a_table_is_bound_to_one_stream_incarnation_and_output() {
    let name = table_name();
    let table = LeaseTable::new(dynamodb_client(), &name, Arc::default());
    table.ensure().await.unwrap();
    let first = Binding {
        stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s".into(),
        stream_created_ms: 1_000,
        output: "/lake".into(),
        state_id: "id-1".into(),
    };
    assert_eq!(table.bind(&first).await.unwrap(), first);
    let second = Binding {
        state_id: "id-2".into(),
        ..first.clone()
    };
    assert_eq!(table.bind(&second).await.unwrap(), first, "the first binding stays");

    let mut options = LeaseOptions::new(&name);
    options.endpoint_url = Some(dynamodb_endpoint());
    let stream = Stream {
        name: "s".into(),
        arn: first.stream_arn.clone(),
        created_ms: 1_000,
    };
    let metrics = Arc::default();
    let fleet = Fleet::open(&options, Some("us-east-1"), &stream, "/lake", Arc::clone(&metrics))
        .await
        .unwrap();
    assert_eq!(fleet.state_id(), "id-1", "every worker names the same writer");
    let err = Fleet::open(&options, Some("us-east-1"), &stream, "/other", Arc::clone(&metrics))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("/other") && err.to_string().contains(&name),
        "{err}"
    );
    let recreated = Stream {
        created_ms: 2_000,
        ..stream
    };
    let err = Fleet::open(&options, Some("us-east-1"), &recreated, "/lake", metrics)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("re-created"), "{err}");
}
