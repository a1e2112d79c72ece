//! Test support shared by synclake's integration tests, so that each helper exists once.
//!
//! A `publish = false` crate: a dev-dependency (of the root package, `synclake-lake`,
//! `synclake-lambda` and `synclake-kinesis`), and a dependency of `synclake-bench` only, whose
//! benchmark tools create and fill their streams with the same helpers. Its modules:
//!
//! - [`services`]: the local services `scripts/test.sh` starts (moto S3 and DynamoDB,
//!   kinesis-local), as the tests reach them: endpoints, clients, unique buckets.
//! - [`kinesis`]: streams on the local Kinesis (unique names, create, reshard, put, delete),
//!   generated payloads to put, and exactly-once checks of the table a consumer wrote.
//! - [`table`]: a table written by synclake read back as plain rows and dead letters.
//! - [`replay`]: a replay of local inputs into a local table, and fetch options for it.
//! - [`http`]: a loopback HTTP/1.1 server with scripted replies, for fetch tests.
//! - [`cognito`]: the local Cognito Sync service started in process, and SDK clients for it.
//! - [`consumer`]: an in-process consumer on the local Kinesis: the shared test configuration
//!   and a handle on it running in the background.
//! - [`lease`]: lease tables on the local DynamoDB: read them, plant a dead worker's state.
//!
//! The data flow of a typical end-to-end test: [`kinesis::payloads`] (or fixtures under
//! [`fixtures`]) → a stream or capture → synclake → a table → [`table::read_table`] /
//! [`kinesis::TableRecords`] → assertions.
//!
//! Helpers that depend on the calling test's own package (its `CARGO_BIN_EXE_*` binaries, its
//! `CARGO_MANIFEST_DIR`) stay in that package's `tests/common/mod.rs`.
//!
//! `clippy::unwrap_used` is allowed crate-wide: a helper that cannot do what the test asked
//! has nothing better to do than panic, and the panic is the test's failure message.
#![allow(clippy::unwrap_used)]

pub mod cognito;
pub mod consumer;
pub mod http;
pub mod kinesis;
pub mod lease;
pub mod replay;
pub mod services;
pub mod table;

use std::path::{Path, PathBuf};

/// The repository's `fixtures/` directory (real-shaped inputs shared by every crate's tests).
pub fn fixtures() -> PathBuf {
    workspace_root().join("fixtures")
}

/// The workspace root: this crate lives at `crates/testkit` under it.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap().to_owned()
}
