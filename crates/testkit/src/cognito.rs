//! The local Cognito Sync service as tests use it: a configuration with one pool, a developer
//! and two identities, the service started in process on a free loopback port, and
//! `aws-sdk-cognitosync` clients signed as each principal; and the service's state compared
//! with a table's (the latest value of every key, deletions applied).

use std::collections::BTreeMap;

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::config::{Credentials, Region};
use aws_sdk_cognitosync::types::{Operation, RecordPatch};
use synclake_local::{Clock, Config, Options, Running};

/// The pool of [`BASE_TABLES`].
pub const POOL: &str = "us-east-1:00000000-0000-4000-8000-000000000001";
/// A second pool, with no identities of its own in [`BASE_TABLES`].
pub const OTHER_POOL: &str = "us-east-1:00000000-0000-4000-8000-000000000002";
/// The identity of access key `AKIDA`.
pub const IDENTITY: &str = "us-east-1:00000000-0000-4000-8000-0000000000a1";
/// The identity of access key `AKIDB`.
pub const OTHER_IDENTITY: &str = "us-east-1:00000000-0000-4000-8000-0000000000b2";

/// Two pools, developer `AKIDEV`, identities `AKIDA` and `AKIDB` in [`POOL`] (after a `region`
/// line: see [`LocalService::start`]).
pub const BASE_TABLES: &str = r#"
[[pools]]
id = "us-east-1:00000000-0000-4000-8000-000000000001"
[[pools]]
id = "us-east-1:00000000-0000-4000-8000-000000000002"
[[developers]]
access_key = "AKIDEV"
secret_key = "dev-secret"
[[identities]]
pool = "us-east-1:00000000-0000-4000-8000-000000000001"
id = "us-east-1:00000000-0000-4000-8000-0000000000a1"
access_key = "AKIDA"
secret_key = "a-secret"
[[identities]]
pool = "us-east-1:00000000-0000-4000-8000-000000000001"
id = "us-east-1:00000000-0000-4000-8000-0000000000b2"
access_key = "AKIDB"
secret_key = "b-secret"
"#;

/// A service running in process, and its endpoint URL.
pub struct LocalService {
    /// The running service (its store and clock are reachable for assertions).
    pub running: Running,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl LocalService {
    /// Starts the service in memory with [`BASE_TABLES`] and `extra` TOML, which comes first
    /// (after `region`) so that it may set top-level keys as well as add tables.
    pub async fn start(extra: &str) -> LocalService {
        LocalService::start_with(&config_text(extra), None).await
    }

    /// Starts the service with a whole configuration text; `data_dir` `None` keeps it in memory.
    pub async fn start_with(config: &str, data_dir: Option<std::path::PathBuf>) -> LocalService {
        let config = Config::parse(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = Options {
            data_dir,
            verify_signatures: true,
            test_clock: true,
            sync_every_commit: false,
        };
        let running = synclake_local::start(&config, &options, listener, Clock::system())
            .await
            .unwrap();
        let url = format!("http://{}", running.addr);
        LocalService { running, url }
    }

    /// The developer's client.
    pub fn developer(&self) -> Client {
        client(&self.url, "AKIDEV", "dev-secret")
    }

    /// The client of [`IDENTITY`].
    pub fn identity(&self) -> Client {
        client(&self.url, "AKIDA", "a-secret")
    }

    /// The client of [`OTHER_IDENTITY`].
    pub fn other_identity(&self) -> Client {
        client(&self.url, "AKIDB", "b-secret")
    }
}

/// The configuration [`LocalService::start`] uses: `region`, then `extra`, then [`BASE_TABLES`].
pub fn config_text(extra: &str) -> String {
    format!("region = \"us-east-1\"\n{extra}\n{BASE_TABLES}")
}

/// A Cognito Sync client for `url`, signing with these keys, without retries (so that a
/// throttling error reaches the test).
pub fn client(url: &str, access_key: &str, secret_key: &str) -> Client {
    let config = aws_sdk_cognitosync::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Key → value of every live record, per (identity, dataset).
pub type State = BTreeMap<(String, String), BTreeMap<String, String>>;

/// The service's current state of `pool` for [`IDENTITY`] and [`OTHER_IDENTITY`], as
/// ListDatasets and ListRecords (developer credentials) show it.
pub async fn service_state(dev: &Client, pool: &str) -> State {
    let mut state = State::new();
    for identity in [IDENTITY, OTHER_IDENTITY] {
        let datasets = dev
            .list_datasets()
            .identity_pool_id(pool)
            .identity_id(identity)
            .send()
            .await
            .unwrap();
        for d in datasets.datasets.unwrap_or_default() {
            let name = d.dataset_name.unwrap();
            let records = dev
                .list_records()
                .identity_pool_id(pool)
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
pub type Latest = ((i64, i64), Option<String>);

/// The table's current state: per dataset, the rows after its last deletion, and per key the
/// row of the highest (dataset sync count, record sync count).
pub fn table_state(root: &std::path::Path) -> State {
    let rows = crate::table::read_table(root);
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

/// One sync as a device makes it: ListRecords for the session and the record sync counts, then
/// UpdateRecords of `patches` (`None`: remove). Whether the service accepted it.
pub async fn sync(c: &Client, pool: &str, identity: &str, dataset: &str, patches: Vec<(&str, Option<String>)>) -> bool {
    let listed = c
        .list_records()
        .identity_pool_id(pool)
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
        .identity_pool_id(pool)
        .identity_id(identity)
        .dataset_name(dataset)
        .sync_session_token(listed.sync_session_token.unwrap())
        .set_record_patches(Some(patches))
        .send()
        .await
        .is_ok()
}

/// One HTTP/1.1 request over a raw socket, exactly as given (no client to fix it up): the status
/// and the `x-amzn-ErrorType` header ("" when absent). A closed connection without an answer
/// is status 0.
pub async fn raw_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    s.write_all(&request).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let out = String::from_utf8_lossy(&out);
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let kind = out
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-errortype: ").map(str::to_owned))
        .unwrap_or_default();
    (status, kind)
}

/// Polls GetBulkPublishDetails for `pool` until its status is `want` or `within` has passed;
/// the last answer (the caller asserts on its status).
pub async fn wait_bulk_publish(
    dev: &Client,
    pool: &str,
    want: aws_sdk_cognitosync::types::BulkPublishStatus,
    within: std::time::Duration,
) -> aws_sdk_cognitosync::operation::get_bulk_publish_details::GetBulkPublishDetailsOutput {
    let deadline = std::time::Instant::now() + within;
    loop {
        let d = dev
            .get_bulk_publish_details()
            .identity_pool_id(pool)
            .send()
            .await
            .unwrap();
        if d.bulk_publish_status.as_ref() == Some(&want) || std::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The role the tests name when they enable Cognito Streams.
pub const STREAMS_ROLE: &str = "arn:aws:iam::123456789012:role/CognitoStreams";

/// Enables Cognito Streams for `pool` to `stream` (developer credentials).
pub async fn enable_streaming(dev: &Client, pool: &str, stream: &str) {
    use aws_sdk_cognitosync::types::{CognitoStreams, StreamingStatus};
    dev.set_identity_pool_configuration()
        .identity_pool_id(pool)
        .cognito_streams(
            CognitoStreams::builder()
                .stream_name(stream)
                .role_arn(STREAMS_ROLE)
                .streaming_status(StreamingStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}
