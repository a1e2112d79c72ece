//! The service's configuration file: who exists (pools, developer and identity credentials),
//! the service limits, and where streams, S3Url bodies and Sync Triggers go.
//!
//! Every default lives here, once ([`Limits::default`], [`Config::DEFAULT_SESSION_TTL_SECS`],
//! ...); the CLI and the docs refer to these constants.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::validate;

/// The whole configuration, as read from the TOML file and checked once by [`Config::load`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The region the service pretends to be in: SigV4 scope, ARNs, stream records.
    pub region: String,
    /// Lifetime of a `SyncSessionToken` issued by ListRecords, in seconds.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: u64,
    /// The identity pools that exist.
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// Developer (IAM) credentials: every pool, every operation but the identity-only ones.
    #[serde(default)]
    pub developers: Vec<DeveloperConfig>,
    /// Credentials bound to one identity, as Cognito Identity hands them out.
    #[serde(default)]
    pub identities: Vec<IdentityConfig>,
    /// Service limits (AWS's defaults unless set).
    #[serde(default)]
    pub limits: Limits,
    /// Sync Trigger functions run in process from a rules file.
    #[serde(default)]
    pub triggers: Vec<TriggerConfig>,
    /// Where other Sync Trigger functions are invoked (the Lambda Invoke API).
    #[serde(default)]
    pub lambda: Option<EndpointConfig>,
    /// Where Cognito Streams records are put (`PutRecord`); absent: the embedded stream.
    #[serde(default)]
    pub kinesis: Option<EndpointConfig>,
    /// Where changes too large for one Kinesis record go (S3Url payloads).
    #[serde(default)]
    pub s3url: Option<S3UrlConfig>,
    /// A pause before each page (64 datasets) of a bulk publish, in milliseconds: 0 on AWS's
    /// scale of things; tests and demos set it to watch a run IN_PROGRESS.
    #[serde(default)]
    pub bulk_publish_pause_ms: u64,
}

/// One identity pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// `region:GUID`.
    pub id: String,
}

/// Developer credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeveloperConfig {
    /// The access key id the SDK signs with; names the principal.
    pub access_key: String,
    /// The secret the signature is checked against.
    pub secret_key: String,
}

/// Credentials of one identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The pool the identity belongs to.
    pub pool: String,
    /// The identity id (`region:GUID`).
    pub id: String,
    /// The access key id the SDK signs with.
    pub access_key: String,
    /// The secret the signature is checked against.
    pub secret_key: String,
}

/// Service limits. AWS's are adjustable on request; so are these, for tests.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Datasets one identity may hold.
    pub datasets_per_identity: u32,
    /// Live records in one dataset.
    pub records_per_dataset: u32,
    /// UTF-8 bytes of the keys and values of one dataset's live records.
    pub bytes_per_dataset: u64,
    /// Requests per second per access key; 0 means unlimited. Above it: TooManyRequests.
    pub requests_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            datasets_per_identity: 20,
            records_per_dataset: 1024,
            bytes_per_dataset: 1024 * 1024,
            requests_per_second: 0,
        }
    }
}

/// A Sync Trigger function run in process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// The function ARN that SetCognitoEvents names.
    pub function_arn: String,
    /// The synclake-trigger rules file, relative to the configuration file.
    pub rules: PathBuf,
    /// Like Lambda's reserved concurrency: invocations above it are throttled
    /// (LambdaThrottledException); 0 throttles every one. Absent: unlimited.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
}

/// An AWS endpoint the service calls, with optional static credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The endpoint URL (a local server in tests); absent: AWS's own for `region`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Static access key; absent: the default credential chain.
    #[serde(default)]
    pub access_key: Option<String>,
    /// Static secret key, with `access_key`.
    #[serde(default)]
    pub secret_key: Option<String>,
}

/// Where S3Url bodies go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3UrlConfig {
    /// The bucket.
    pub bucket: String,
    /// Key prefix of the bodies.
    #[serde(default = "default_s3url_prefix")]
    pub prefix: String,
    /// Changes whose stream record would exceed this many bytes go through S3.
    #[serde(default = "default_s3url_threshold")]
    pub threshold_bytes: usize,
    /// How long the presigned URLs stay valid.
    #[serde(default = "default_s3url_expiry")]
    pub url_expiry_secs: u64,
    /// The S3 endpoint and credentials.
    #[serde(flatten)]
    pub endpoint: EndpointConfig,
}

fn default_session_ttl() -> u64 {
    Config::DEFAULT_SESSION_TTL_SECS
}
fn default_s3url_prefix() -> String {
    "cognito-streams/".to_owned()
}
fn default_s3url_threshold() -> usize {
    Config::DEFAULT_S3URL_THRESHOLD_BYTES
}
fn default_s3url_expiry() -> u64 {
    3600
}

/// A configuration that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown fields.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of its domain.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Where `synclake local` listens unless told otherwise.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:4577";
    /// A SyncSessionToken lives an hour unless configured.
    pub const DEFAULT_SESSION_TTL_SECS: u64 = 3600;
    /// Cognito's documented threshold (newer docs): a record above 1 MB goes through S3.
    pub const DEFAULT_S3URL_THRESHOLD_BYTES: usize = 1024 * 1024;

    /// Reads and checks a configuration file; relative rules paths become relative to it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_owned(),
                source,
            },
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for trigger in &mut config.triggers {
            if trigger.rules.is_relative() {
                trigger.rules = base.join(&trigger.rules);
            }
        }
        Ok(config)
    }

    /// Parses and checks configuration text (paths stay as written).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::from("<config>"),
            source,
        })?;
        config.check().map_err(|message| ConfigError::Invalid {
            path: PathBuf::from("<config>"),
            message,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.region.is_empty() || !self.region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("region {:?} is not a region name", self.region));
        }
        let mut keys: HashMap<&str, &str> = HashMap::new();
        for pool in &self.pools {
            if !validate::is_pool_or_identity_id(&pool.id) {
                return Err(format!("pools: {:?} is not an identity pool id (region:GUID)", pool.id));
            }
        }
        for dev in &self.developers {
            if let Some(prev) = keys.insert(&dev.access_key, "developer") {
                return Err(format!(
                    "access key {:?} is declared twice ({prev} and developer)",
                    dev.access_key
                ));
            }
        }
        for identity in &self.identities {
            if !self.pools.iter().any(|p| p.id == identity.pool) {
                return Err(format!(
                    "identities: {:?} names pool {:?}, which is not in [[pools]]",
                    identity.id, identity.pool
                ));
            }
            if !validate::is_pool_or_identity_id(&identity.id) {
                return Err(format!(
                    "identities: {:?} is not an identity id (region:GUID)",
                    identity.id
                ));
            }
            if let Some(prev) = keys.insert(&identity.access_key, "identity") {
                return Err(format!(
                    "access key {:?} is declared twice ({prev} and identity)",
                    identity.access_key
                ));
            }
        }
        for trigger in &self.triggers {
            if !trigger.function_arn.starts_with("arn:aws:lambda:") {
                return Err(format!(
                    "triggers: {:?} is not a Lambda function ARN",
                    trigger.function_arn
                ));
            }
        }
        if self.session_ttl_secs == 0 {
            return Err("session_ttl_secs must be at least 1".to_owned());
        }
        Ok(())
    }
}
