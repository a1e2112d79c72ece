//! `synclake local --data-dir`: SIGKILL while clients write, restart on the same directory, and
//! nothing acknowledged is lost — neither a record nor its stream record.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_testkit::cognito::{IDENTITY, POOL, client, config_text, enable_streaming};
use synclake_testkit::consumer::rt;

/// Starts the binary and answers it with its endpoint URL (the first line on stdout).
fn start(config: &std::path::Path, data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synclake"))
        .args(["local", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    (child, url)
}

#[test]
fn sigkill_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("local.toml");
    std::fs::write(&config, config_text("")).unwrap();
    let data = dir.path().join("data");
    let (mut child, url) = start(&config, &data);
    let acked = rt().block_on(async {
        enable_streaming(&client(&url, "AKIDEV", "dev-secret"), POOL, "embedded").await;
        let stop = Arc::new(AtomicBool::new(false));
        let progress: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
        let mut writers = Vec::new();
        // Eight writers, each bumping its own record as fast as it can; each remembers the last
        // sync count the service acknowledged.
        for w in 0..8 {
            let c = client(&url, "AKIDA", "a-secret");
            let stop = stop.clone();
            let progress = progress.clone();
            writers.push(tokio::spawn(async move {
                let token = c
                    .list_records()
                    .identity_pool_id(POOL)
                    .identity_id(IDENTITY)
                    .dataset_name("crash")
                    .send()
                    .await
                    .unwrap()
                    .sync_session_token
                    .unwrap();
                let mut acked = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let sent = c
                        .update_records()
                        .identity_pool_id(POOL)
                        .identity_id(IDENTITY)
                        .dataset_name("crash")
                        .sync_session_token(&token)
                        .record_patches(
                            RecordPatch::builder()
                                .op(Operation::Replace)
                                .key(format!("w{w}"))
                                .value(format!("{}", acked + 1))
                                .sync_count(acked)
                                .build()
                                .unwrap(),
                        )
                        .send()
                        .await;
                    match sent {
                        Ok(_) => {
                            acked += 1;
                            progress[w].store(acked as u64, Ordering::Relaxed);
                        }
                        Err(_) => break, // the process is gone
                    }
                }
                acked
            }));
        }
        // Every writer has had 50 changes acknowledged: requests are in flight on all of them.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while progress.iter().any(|p| p.load(Ordering::Relaxed) < 50) {
            assert!(std::time::Instant::now() < deadline, "the writers made no progress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // SIGKILL mid-flight: requests are in progress on every writer.
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        for w in writers {
            acked.push(w.await.unwrap());
        }
        acked
    });
    assert!(
        acked.iter().all(|n| *n > 0),
        "every writer got acknowledgements: {acked:?}"
    );

    let (mut child, url) = start(&config, &data);
    rt().block_on(async {
        let listed = client(&url, "AKIDA", "a-secret")
            .list_records()
            .identity_pool_id(POOL)
            .identity_id(IDENTITY)
            .dataset_name("crash")
            .send()
            .await
            .unwrap();
        let records = listed.records.unwrap();
        for (w, n) in acked.iter().enumerate() {
            let r = records
                .iter()
                .find(|r| r.key.as_deref() == Some(&format!("w{w}")))
                .unwrap();
            // The acknowledged change is there; one more may have committed without its answer.
            let count = r.sync_count.unwrap();
            assert!(
                count == *n || count == *n + 1,
                "writer {w}: acknowledged {n}, stored {count}"
            );
            assert_eq!(r.value.as_deref(), Some(count.to_string().as_str()));
        }
        // Every stored change has its stream record: the embedded stream holds one per sync.
        let (mut records, mut after) = (0i64, 0i64);
        loop {
            let body = reqwest_get(&format!("{url}/_local/stream?after={after}&limit=10000")).await;
            let page: serde_json::Value = serde_json::from_str(&body).unwrap();
            let page = page["records"].as_array().unwrap();
            let Some(last) = page.last() else { break };
            after = last["seq"].as_i64().unwrap();
            records += page.len() as i64;
        }
        assert_eq!(records, listed.dataset_sync_count.unwrap());
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn reqwest_get(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}
