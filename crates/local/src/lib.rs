//! The local Cognito Sync service: the 17 operations of the real API (restJson1, 2014-06-30),
//! wire-compatible with the official SDKs, over an embedded SQLite database, streaming every
//! change into Kinesis in the Cognito Streams format and running Sync Triggers.
//!
//! Cognito Sync is closed to new customers and nothing else emulates it; this is the upstream of
//! everything else synclake does, on one machine, with no AWS account.
//!
//! # Modules and data flow
//!
//! ```text
//! HTTP request ─► server (axum) ─► auth (SigV4 with aws-sigv4 → Principal) ─► route (Operation)
//!   ─► service (who may call what, parameter checks) ─► sync_trigger (rules in process | Lambda Invoke)
//!   ─► store (SQLite: the change, its stream record in the outbox, its push notifications, one transaction)
//!   ─► publisher (outbox ─► Kinesis PutRecord; S3Url through object_store) ─► the table, via consume / the Lambda
//! BulkPublish ─► bulk (a task writing every dataset to the outbox)
//! ```
//!
//! - [`config`]: the configuration file (who exists, limits, endpoints); every default.
//! - `auth`, `route`, `service`, `wire`, `error`: the API surface.
//! - `store`: storage and its durability and concurrency promises.
//! - `payload`, `publisher`, `bulk`: Cognito Streams out.
//! - `sync_trigger`: Cognito Events.
//! - [`clock`]: wall time with a test offset.
//! - [`server`]: [`server::start`] ties them together; `inspect`: the `/_local/*` endpoints.

pub mod auth;
mod aws;
mod bulk;
pub mod clock;
pub mod config;
pub mod error;
mod inspect;
pub mod model;
pub mod payload;
mod publisher;
pub mod route;
pub mod server;
mod service;
pub mod store;
pub mod sync_trigger;
pub mod validate;
pub mod wire;

pub use clock::Clock;
pub use config::Config;
pub use server::{Options, Running, StartError, start};
