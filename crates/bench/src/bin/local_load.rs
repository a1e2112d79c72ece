//! The load of `scripts/bench-local.sh`: UpdateRecords from concurrent `aws-sdk-cognitosync`
//! clients against `synclake local`, run as its own process, for a bounded time.
//!
//! ```sh
//! local_load --synclake target/release/synclake [--clients 16] [--seconds 10] [--warmup 2]
//!            [--streaming off|embedded|kinesis --kinesis-endpoint URL] [--in-memory | --sync-every-commit]
//! ```
//!
//! Each client signs as its own identity and updates one record at a time in its own dataset,
//! cycling over 64 keys with the right sync counts (no conflicts: the benchmark measures the
//! write path, not refusals). Every request is one ListRecords-issued session, one SigV4
//! verification, one SQLite transaction (and with streaming, its stream record in the same
//! transaction). Results go to stdout as `key=value` lines: `ops`, `ops_per_sec`, `p50_ms`,
//! `p99_ms`, `max_ms`, `errors`; with Kinesis, `outbox_pending` at the end.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_testkit::cognito::{POOL, client};

struct Args {
    synclake: String,
    clients: usize,
    seconds: f64,
    warmup: f64,
    streaming: String,
    kinesis_endpoint: Option<String>,
    in_memory: bool,
    sync_every_commit: bool,
}

fn parse() -> Args {
    let mut a = Args {
        synclake: "target/release/synclake".into(),
        clients: 16,
        seconds: 10.0,
        warmup: 2.0,
        streaming: "off".into(),
        kinesis_endpoint: None,
        in_memory: false,
        sync_every_commit: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--synclake" => a.synclake = value(),
            "--clients" => a.clients = value().parse().expect("--clients"),
            "--seconds" => a.seconds = value().parse().expect("--seconds"),
            "--warmup" => a.warmup = value().parse().expect("--warmup"),
            "--streaming" => a.streaming = value(),
            "--kinesis-endpoint" => a.kinesis_endpoint = Some(value()),
            "--in-memory" => a.in_memory = true,
            "--sync-every-commit" => a.sync_every_commit = true,
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        a.seconds <= 120.0 && a.clients <= 256,
        "the load is bounded: at most 120 s and 256 clients"
    );
    a
}

fn identity(i: usize) -> String {
    format!("us-east-1:00000000-0000-4000-8000-{i:012x}")
}

fn config(a: &Args) -> String {
    let mut text = String::from("region = \"us-east-1\"\n");
    if a.streaming == "kinesis" {
        let endpoint = a
            .kinesis_endpoint
            .as_deref()
            .expect("--streaming kinesis needs --kinesis-endpoint");
        text.push_str(&format!(
            "[kinesis]\nendpoint = \"{endpoint}\"\naccess_key = \"test\"\nsecret_key = \"test\"\n"
        ));
    }
    text.push_str(&format!(
        "[[pools]]\nid = \"{POOL}\"\n[[developers]]\naccess_key = \"AKIDEV\"\nsecret_key = \"dev-secret\"\n"
    ));
    for i in 0..a.clients {
        text.push_str(&format!(
            "[[identities]]\npool = \"{POOL}\"\nid = \"{}\"\naccess_key = \"AKID{i}\"\nsecret_key = \"secret-{i}\"\n",
            identity(i)
        ));
    }
    text
}

fn start(a: &Args, dir: &std::path::Path) -> (Child, String) {
    let config_path = dir.join("local.toml");
    std::fs::write(&config_path, config(a)).expect("write the config");
    let mut cmd = Command::new(&a.synclake);
    cmd.args(["local", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path);
    if a.in_memory {
        cmd.arg("--in-memory");
    } else {
        cmd.arg("--data-dir").arg(dir.join("data"));
        if a.sync_every_commit {
            cmd.arg("--sync-every-commit");
        }
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start synclake local");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the address line")
        .to_owned();
    (child, url)
}

async fn client_loop(url: String, i: usize, warmup_end: Instant, end: Instant) -> (Vec<u32>, u64) {
    let c = client(&url, &format!("AKID{i}"), &format!("secret-{i}"));
    let id = identity(i);
    let token = c
        .list_records()
        .identity_pool_id(POOL)
        .identity_id(&id)
        .dataset_name("bench")
        .send()
        .await
        .expect("list records")
        .sync_session_token
        .expect("token");
    let mut counts = [0i64; 64];
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    let mut n = 0usize;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let k = n % counts.len();
        let sent = c
            .update_records()
            .identity_pool_id(POOL)
            .identity_id(&id)
            .dataset_name("bench")
            .sync_session_token(&token)
            .record_patches(
                RecordPatch::builder()
                    .op(Operation::Replace)
                    .key(format!("key-{k}"))
                    .value(format!("value {n} of client {i}"))
                    .sync_count(counts[k])
                    .build()
                    .expect("patch"),
            )
            .send()
            .await;
        let took = now.elapsed();
        match sent {
            Ok(_) => {
                counts[k] += 1;
                if now >= warmup_end {
                    latencies.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                }
            }
            Err(_) => errors += 1,
        }
        n += 1;
    }
    (latencies, errors)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn main() {
    let a = parse();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = start(&a, dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        if a.streaming != "off" {
            let stream = "bench-local";
            if let Some(endpoint) = &a.kinesis_endpoint {
                let k = synclake_testkit::services::kinesis_client_at(endpoint);
                synclake_testkit::kinesis::create_stream(&k, stream, 2).await;
            }
            synclake_testkit::cognito::enable_streaming(&client(&url, "AKIDEV", "dev-secret"), POOL, stream).await;
        }
        let start = Instant::now();
        let warmup_end = start + Duration::from_secs_f64(a.warmup);
        let end = warmup_end + Duration::from_secs_f64(a.seconds);
        let tasks: Vec<_> = (0..a.clients)
            .map(|i| tokio::spawn(client_loop(url.clone(), i, warmup_end, end)))
            .collect();
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.expect("client task");
            all.extend(l);
            errors += e;
        }
        let pending = if a.streaming == "kinesis" {
            reqwest_like(&url).await
        } else {
            String::new()
        };
        (all, errors, pending)
    });
    let (mut latencies, errors, pending) = result;
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort_unstable();
    let ops = latencies.len();
    println!("clients={}", a.clients);
    println!("streaming={}", a.streaming);
    println!("ops={ops}");
    println!("ops_per_sec={:.0}", ops as f64 / a.seconds);
    println!("p50_ms={:.2}", percentile(&latencies, 0.50));
    println!("p99_ms={:.2}", percentile(&latencies, 0.99));
    println!("max_ms={:.2}", percentile(&latencies, 1.0));
    println!("errors={errors}");
    if !pending.is_empty() {
        println!("outbox={pending}");
    }
}

/// `GET /_local/outbox` with a bare socket (one request; no HTTP client needed).
async fn reqwest_like(url: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = url.trim_start_matches("http://");
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let _ = s
        .write_all(format!("GET /_local/outbox HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out.rsplit("\r\n\r\n").next().unwrap_or_default().to_owned()
}
