//! Helpers of the Lambda tests only: events as Lambda delivers them, the fixtures as files,
//! the local Lambda runtime emulator and the S3Url body server. The local S3 server and reading
//! the table back come from `synclake_testkit`.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use synclake_testkit::fixtures;
use synclake_testkit::http::{Server, serve_dir};
use synclake_testkit::services::required_env;

pub const SHARD: &str = "shardId-000000000003";

/// The sequence number of record `i` of the test stream (56 digits, like Kinesis's).
pub fn seq(i: usize) -> String {
    format!("4965419887143128337692514630185712740942833952473876{i:04}")
}

/// Arrival time of record `i`, epoch seconds with a fraction (how Lambda writes it).
pub fn arrival(i: usize) -> f64 {
    1_741_944_097.25 + i as f64
}

/// A Lambda Kinesis event whose records carry `payloads` (raw bytes, base64-encoded here),
/// numbered from `first`.
pub fn kinesis_event(payloads: &[Vec<u8>], first: usize) -> String {
    let records: Vec<serde_json::Value> = payloads
        .iter()
        .enumerate()
        .map(|(k, data)| {
            let i = first + k;
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("us-east-1:identity-{i}"),
                    "sequenceNumber": seq(i),
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": arrival(i),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{SHARD}:{}", seq(i)),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/cognito-sync",
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// The payload and bad-input fixtures, in name order: (name, bytes).
pub fn fixture_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Lambda function binary running under the local Lambda runtime emulator
/// (`cargo lambda watch --only-lambda-apis`, from the `cargo-lambda` PyPI wheel that
/// `scripts/services.sh setup` installs). Both processes are ended when it is dropped.
pub struct Emulator {
    watch: Child,
    function: Child,
    port: u16,
    /// The function's stdout and stderr, for assertions on its logs.
    pub log: PathBuf,
}

impl Emulator {
    /// Starts the emulator on a free 127.0.0.1 port and `binary` against it, with `env`.
    pub fn start(binary: &str, env: &[(&str, &str)], log_dir: &Path) -> Emulator {
        let cargo_lambda = required_env("SYNCLAKE_TEST_CARGO_LAMBDA");
        let port = free_port();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut watch = Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--ignore-changes",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(&repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cargo_lambda}: {e}"));
        wait_listening(port, "cargo lambda watch", &mut watch);
        let log = log_dir.join(format!(
            "{}.log",
            Path::new(binary).file_name().unwrap().to_string_lossy()
        ));
        let out = std::fs::File::create(&log).unwrap();
        let function = Command::new(binary)
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Emulator {
            watch,
            function,
            port,
            log,
        }
    }

    /// Invokes the function with `payload` through the Invoke API: HTTP status and body.
    pub async fn invoke(&self, payload: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}/2015-03-31/functions/_/invocations", self.port);
        let response = reqwest::Client::new()
            .post(url)
            .timeout(Duration::from_secs(60))
            .body(payload.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The Lambda API endpoint (Invoke), for SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the function logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The Embedded Metric Format lines the function wrote (one per invocation), checked
    /// against the format: every metric a directive names is in the line, with a number, and
    /// the dimension is the function's name.
    pub fn metric_lines(&self) -> Vec<serde_json::Value> {
        let lines: Vec<serde_json::Value> = self
            .logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("_aws").is_some())
            .collect();
        for v in &lines {
            let directive = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "synclake", "{v}");
            assert_eq!(directive["Dimensions"], serde_json::json!([["FunctionName"]]), "{v}");
            assert_eq!(v["FunctionName"], "_", "{v}");
            assert!(v["_aws"]["Timestamp"].as_u64().is_some(), "{v}");
            for m in directive["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                assert!(v[name].is_number(), "metric {name} has no value: {v}");
            }
        }
        lines
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.watch] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The S3Url fixture bodies (`fixtures/s3url/`) served over HTTP on 127.0.0.1, one server per
/// test process: the function never reads file:// URLs, and fetches from this host only
/// because the tests allow it (`SYNCLAKE_FETCH_ALLOW_HOSTS`).
pub fn body_server() -> &'static Server {
    static SERVER: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| serve_dir(fixtures().join("s3url")))
}
