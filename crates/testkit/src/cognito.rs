//! The local Cognito Sync service as tests use it: a configuration with one pool, a developer
//! and two identities, the service started in process on a free loopback port, and
//! `aws-sdk-cognitosync` clients signed as each principal.

use aws_sdk_cognitosync::Client;
use aws_sdk_cognitosync::config::{Credentials, Region};
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
