//! BulkPublish, server side: a task walks every live dataset of the pool, a page per
//! transaction, and writes one stream record per dataset (all its live records) to the outbox,
//! from where the publisher puts them like any change. A restart resumes runs that were in
//! progress from the start (a bulk publish is at least once by nature).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::Store;

/// Datasets per transaction: short enough not to hold up UpdateRecords.
const PAGE: usize = 64;

/// Runs one pool's bulk publish to the end and records SUCCEEDED or FAILED.
pub async fn run(store: Store, pool: String, stream: String, wake: Arc<Notify>, pause: Duration) {
    let mut cursor = None;
    let mut published = 0usize;
    loop {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let (s, p, st, c) = (store.clone(), pool.clone(), stream.clone(), cursor.clone());
        match tokio::task::spawn_blocking(move || s.bulk_publish_page(&p, &st, &c, PAGE)).await {
            Ok(Ok((n, next))) => {
                published += n;
                wake.notify_one();
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Ok(Err(e)) => return fail(store, pool, &e.to_string()).await,
            Err(e) => return fail(store, pool, &e.to_string()).await,
        }
        // Let UpdateRecords in between pages.
        tokio::task::yield_now().await;
    }
    tracing::info!(pool = %pool, stream = %stream, datasets = published, "bulk publish succeeded");
    let result = tokio::task::spawn_blocking(move || store.finish_bulk_publish(&pool, Ok(()))).await;
    if !matches!(result, Ok(Ok(()))) {
        tracing::error!("cannot record the bulk publish's success");
    }
}

async fn fail(store: Store, pool: String, message: &str) {
    tracing::error!(pool = %pool, error = %message, "bulk publish failed");
    let message = format!("The bulk publish failed: {message}");
    let result = tokio::task::spawn_blocking(move || store.finish_bulk_publish(&pool, Err(&message))).await;
    if !matches!(result, Ok(Ok(()))) {
        tracing::error!("cannot record the bulk publish's failure");
    }
}
