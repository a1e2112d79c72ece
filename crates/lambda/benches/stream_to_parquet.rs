//! Benchmark of the stream-to-parquet function as Lambda runs it: the release binary is
//! started against a minimal Lambda Runtime API served here, so **init** is measured from
//! process start to its first request for an invocation, and **handler time** from handing it
//! an event to receiving its response, deserialization included: what Lambda bills.
//! Beside it, a straightforward Python handler (json.loads + pyarrow, `python_handler.py`)
//! converts the same events to the same partitioned layout.
//!
//! Run through `scripts/bench-lambda.sh`, which generates the payloads (`synclake gen`) and
//! provides a Python with pyarrow. Environment:
//! - `SYNCLAKE_BENCH_PAYLOADS`: JSON Lines of Cognito Streams payloads;
//! - `SYNCLAKE_BENCH_PYTHON`: a Python with pyarrow (the baseline is skipped, loudly, without);
//! - `SYNCLAKE_BENCH_FLOOR`: the `floor_handler` binary of `synclake-bench`, timed the same way: a function
//!   that only takes the event as `aws_lambda_events`' `KinesisEvent` (the floor under any
//!   handler on these crates; skipped without);
//! - `SYNCLAKE_BENCH_ROUNDS`: cold starts per batch size (default 5), each followed by
//!   `SYNCLAKE_BENCH_WARM` invocations (default 10).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A Lambda Kinesis event of `payloads`, records numbered from 0.
fn event(payloads: &[&str]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let records: Vec<serde_json::Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let seq = format!("4965419887143128337692514630185712740942833952473{i:07}");
            serde_json::json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("pk-{i}"),
                    "sequenceNumber": seq, "data": engine.encode(p),
                    "approximateArrivalTimestamp": 1_741_944_097.125 + i as f64 / 1000.0},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"), "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/bench", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/cognito-sync",
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// One HTTP/1.1 request: method line and body.
struct Request {
    line: String,
    body: Vec<u8>,
}

async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.trim().parse::<usize>().unwrap());
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 65536];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some(Request {
                line: head.lines().next().unwrap_or_default().to_owned(),
                body,
            });
        }
        let mut chunk = [0u8; 65536];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The runtime side of one container: accepts the function's connection(s) and answers
/// `next` with events and `response` with 202.
struct RuntimeApi {
    listener: TcpListener,
    sock: Option<TcpStream>,
    buf: Vec<u8>,
}

impl RuntimeApi {
    async fn request(&mut self) -> Request {
        loop {
            if self.sock.is_none() {
                let (sock, _) = tokio::time::timeout(Duration::from_secs(30), self.listener.accept())
                    .await
                    .expect("the function connects within 30 s")
                    .unwrap();
                self.sock = Some(sock);
                self.buf.clear();
            }
            let sock = self.sock.as_mut().unwrap();
            match read_request(sock, &mut self.buf).await {
                Some(r) => return r,
                None => self.sock = None,
            }
        }
    }

    async fn reply(&mut self, head: &str, body: &[u8]) {
        let sock = self.sock.as_mut().unwrap();
        let msg = format!("{head}Content-Length: {}\r\n\r\n", body.len());
        sock.write_all(msg.as_bytes()).await.unwrap();
        sock.write_all(body).await.unwrap();
    }

    async fn send_event(&mut self, id: usize, event: &[u8]) {
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 900_000;
        let head = format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-{id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
             Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0\r\n\
             Content-Type: application/json\r\n"
        );
        self.reply(&head, event).await;
    }
}

struct RustRun {
    init_ms: Vec<f64>,
    handler_ms: Vec<f64>,
}

/// Cold starts the binary `rounds` times; each container handles `warm` invocations.
async fn run_rust(binary: &str, event: &str, rounds: usize, warm: usize) -> RustRun {
    let mut run = RustRun {
        init_ms: Vec::new(),
        handler_ms: Vec::new(),
    };
    for _ in 0..rounds {
        let out = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut api = RuntimeApi {
            listener,
            sock: None,
            buf: Vec::new(),
        };
        let started = Instant::now();
        let mut child = tokio::process::Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_LAMBDA_LOG_LEVEL", "warn")
            .env("SYNCLAKE_OUT", out.path())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let first = api.request().await;
        assert!(first.line.contains("/invocation/next"), "{}", first.line);
        run.init_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        for i in 0..warm {
            let sent = Instant::now();
            api.send_event(i, event.as_bytes()).await;
            let response = api.request().await;
            let elapsed = sent.elapsed().as_secs_f64() * 1000.0;
            assert!(
                response.line.contains("/response"),
                "{} {}",
                response.line,
                String::from_utf8_lossy(&response.body)
            );
            assert_eq!(&response.body[..], br#"{"batchItemFailures":[]}"#);
            run.handler_ms.push(elapsed);
            api.reply("HTTP/1.1 202 Accepted\r\n", b"{\"status\":\"OK\"}").await;
            let next = api.request().await;
            assert!(next.line.contains("/invocation/next"));
        }
        child.kill().await.unwrap();
    }
    run
}

struct PythonRun {
    import_ms: f64,
    handler_ms: Vec<f64>,
    rows: u64,
}

fn run_python(python: &str, event: &str, iterations: usize) -> PythonRun {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, event).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_handler.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&path)
        .arg(dir.path().join("lake"))
        .arg(iterations.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    PythonRun {
        import_ms: v["import_ms"].as_f64().unwrap(),
        handler_ms: v["handler_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect(),
        rows: v["rows"].as_u64().unwrap(),
    }
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let payloads_path = std::env::var("SYNCLAKE_BENCH_PAYLOADS")
        .expect("SYNCLAKE_BENCH_PAYLOADS is not set: run scripts/bench-lambda.sh");
    let text = std::fs::read_to_string(&payloads_path).unwrap();
    // S3Url payloads would be fetched from the network: a different benchmark. Payloads over
    // 1 KB are left out so that 10,000 records come to about 5 MB, as a Lambda batch must
    // (an invocation carries at most 6 MB, and base64 adds a third).
    let payloads: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"S3Url\"") && l.len() <= 1024)
        .collect();
    let rounds = env_usize("SYNCLAKE_BENCH_ROUNDS", 5);
    let warm = env_usize("SYNCLAKE_BENCH_WARM", 10);
    let python = std::env::var("SYNCLAKE_BENCH_PYTHON").ok();
    let binary = env!("CARGO_BIN_EXE_stream-to-parquet");
    let floor = std::env::var("SYNCLAKE_BENCH_FLOOR").ok();

    println!("stream-to-parquet: {rounds} cold starts × {warm} invocations per batch size");
    for size in [100usize, 10_000] {
        assert!(payloads.len() >= size, "need {size} payloads, have {}", payloads.len());
        let batch = &payloads[..size];
        let payload_bytes: usize = batch.iter().map(|p| p.len()).sum();
        let event = event(batch);
        let rust = run_rust(binary, &event, rounds, warm).await;
        println!(
            "\n{size} records: {:.2} MB of payloads, {:.2} MB event",
            payload_bytes as f64 / 1e6,
            event.len() as f64 / 1e6
        );
        println!(
            "  rust   init   median {:7.2} ms  max {:7.2} ms",
            quantile(&rust.init_ms, 0.5),
            quantile(&rust.init_ms, 1.0)
        );
        let rust_median = quantile(&rust.handler_ms, 0.5);
        println!(
            "  rust   handler median {rust_median:7.2} ms  p90 {:7.2} ms  max {:7.2} ms",
            quantile(&rust.handler_ms, 0.9),
            quantile(&rust.handler_ms, 1.0)
        );
        let floor_median = match &floor {
            Some(floor) => {
                let f = run_rust(floor, &event, rounds, warm).await;
                let median = quantile(&f.handler_ms, 0.5);
                println!(
                    "  floor  handler median {median:7.2} ms  p90 {:7.2} ms (event taken as KinesisEvent, nothing else)",
                    quantile(&f.handler_ms, 0.9)
                );
                Some(median)
            }
            None => None,
        };
        match &python {
            Some(py) => {
                let p = run_python(py, &event, warm);
                let py_median = quantile(&p.handler_ms, 0.5);
                println!(
                    "  python import  {:7.2} ms (pyarrow), handler median {py_median:7.2} ms  p90 {:7.2} ms ({} rows)",
                    p.import_ms,
                    quantile(&p.handler_ms, 0.9),
                    p.rows
                );
                println!("  ratio  python / rust handler median: {:.1}×", py_median / rust_median);
                if let Some(floor_median) = floor_median {
                    println!(
                        "  ratio  python / floor handler median: {:.1}× (the most any handler on lambda_runtime + aws_lambda_events can reach)",
                        py_median / floor_median
                    );
                }
            }
            None => println!("  python baseline skipped: SYNCLAKE_BENCH_PYTHON is not set"),
        }
    }
}
