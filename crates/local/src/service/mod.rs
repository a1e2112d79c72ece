//! The operations: who may call each one, parameter checks, and the calls into storage, the
//! Sync Trigger and the bulk-publish task. One file per group of operations.

mod datasets;
mod pool;
mod push;
mod records;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::Notify;

use crate::auth::Principal;
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::route::Operation;
use crate::store::Store;
use crate::sync_trigger::Triggers;
use crate::validate;

/// Everything a request needs, built once at start.
pub struct Service {
    pub(crate) store: Store,
    pub(crate) triggers: Triggers,
    /// Wakes the publisher when the outbox grows.
    pub(crate) wake: Arc<Notify>,
    pub(crate) pools: Vec<String>,
    requests_per_second: u32,
    /// `bulk_publish_pause_ms`.
    pub(crate) bulk_pause: std::time::Duration,
    buckets: Mutex<HashMap<String, (Instant, f64)>>,
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Developer,
    Identity,
    Either,
}

/// Query parameters of a request.
pub type Query = HashMap<String, String>;

impl Service {
    /// The service over an opened store.
    pub fn new(config: &Config, store: Store, triggers: Triggers, wake: Arc<Notify>) -> Service {
        Service {
            store,
            triggers,
            wake,
            pools: config.pools.iter().map(|p| p.id.clone()).collect(),
            requests_per_second: config.limits.requests_per_second,
            bulk_pause: std::time::Duration::from_millis(config.bulk_publish_pause_ms),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Runs a storage call off the async runtime.
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal(&e))?
    }

    /// One request: rate limit, then the operation.
    pub async fn call(
        &self,
        principal: Principal,
        op: Operation,
        query: Query,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.throttle(&principal)?;
        match op {
            Operation::BulkPublish { pool } => self.bulk_publish(&principal, pool).await,
            Operation::GetBulkPublishDetails { pool } => self.get_bulk_publish_details(&principal, pool).await,
            Operation::GetCognitoEvents { pool } => self.get_cognito_events(&principal, pool).await,
            Operation::SetCognitoEvents { pool } => self.set_cognito_events(&principal, pool, body).await,
            Operation::GetIdentityPoolConfiguration { pool } => self.get_configuration(&principal, pool).await,
            Operation::SetIdentityPoolConfiguration { pool } => self.set_configuration(&principal, pool, body).await,
            Operation::DescribeIdentityPoolUsage { pool } => self.describe_pool_usage(&principal, pool).await,
            Operation::ListIdentityPoolUsage => self.list_pool_usage(&principal, &query).await,
            Operation::DescribeIdentityUsage { pool, identity } => {
                self.describe_identity_usage(&principal, pool, identity).await
            }
            Operation::ListDatasets { pool, identity } => self.list_datasets(&principal, pool, identity, &query).await,
            Operation::DescribeDataset {
                pool,
                identity,
                dataset,
            } => self.describe_dataset(&principal, pool, identity, dataset).await,
            Operation::DeleteDataset {
                pool,
                identity,
                dataset,
            } => self.delete_dataset(&principal, pool, identity, dataset).await,
            Operation::ListRecords {
                pool,
                identity,
                dataset,
            } => self.list_records(&principal, pool, identity, dataset, &query).await,
            Operation::UpdateRecords {
                pool,
                identity,
                dataset,
            } => {
                let context = headers.get("x-amz-client-context").and_then(|v| v.to_str().ok());
                self.update_records(&principal, pool, identity, dataset, body, context)
                    .await
            }
            Operation::RegisterDevice { pool, identity } => {
                self.register_device(&principal, pool, identity, body).await
            }
            Operation::SubscribeToDataset {
                pool,
                identity,
                dataset,
                device,
            } => self.subscribe(&principal, pool, identity, dataset, device, true).await,
            Operation::UnsubscribeFromDataset {
                pool,
                identity,
                dataset,
                device,
            } => self.subscribe(&principal, pool, identity, dataset, device, false).await,
        }
    }

    /// `[limits] requests_per_second` per access key, as a token bucket of one second's burst.
    fn throttle(&self, principal: &Principal) -> Result<(), ApiError> {
        if self.requests_per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(self.requests_per_second);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = match principal {
            Principal::Developer { access_key } => access_key.clone(),
            Principal::Identity { identity, .. } => identity.clone(),
        };
        let (last, tokens) = buckets.entry(key).or_insert((now, rate));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens < 1.0 {
            return Err(ApiError::new(ErrorCode::TooManyRequests, "Rate exceeded"));
        }
        *tokens -= 1.0;
        Ok(())
    }

    /// Checks who may call an operation on `pool` (and `identity`), in the order AWS does:
    /// malformed ids, then the principal's rights, then whether the pool exists.
    fn authorize(
        &self,
        principal: &Principal,
        access: Access,
        pool: &str,
        identity: Option<&str>,
    ) -> Result<(), ApiError> {
        if !validate::is_pool_or_identity_id(pool) {
            return Err(ApiError::invalid(format!("Invalid IdentityPoolId: {pool}")));
        }
        if let Some(id) = identity
            && !validate::is_pool_or_identity_id(id)
        {
            return Err(ApiError::invalid(format!("Invalid IdentityId: {id}")));
        }
        match (principal, access) {
            (Principal::Developer { .. }, Access::Identity) => {
                return Err(ApiError::not_authorized(
                    "This operation requires Cognito Identity credentials",
                ));
            }
            (Principal::Identity { .. }, Access::Developer) => {
                return Err(ApiError::not_authorized(
                    "This operation requires developer credentials",
                ));
            }
            (
                Principal::Identity {
                    pool: own_pool,
                    identity: own,
                },
                _,
            ) => {
                if own_pool != pool || identity.is_some_and(|i| i != own) {
                    return Err(ApiError::not_authorized(format!(
                        "Access to identity '{}' is forbidden.",
                        identity.unwrap_or(pool)
                    )));
                }
            }
            (Principal::Developer { .. }, _) => {}
        }
        if !self.pools.iter().any(|p| p == pool) {
            return Err(ApiError::not_found(format!("IdentityPool '{pool}' not found.")));
        }
        Ok(())
    }
}

impl Service {
    /// The dataset and record operations' checks: either principal, within its rights, and a
    /// well-formed dataset name.
    fn authorize_dataset(
        &self,
        principal: &Principal,
        pool: &str,
        identity: &str,
        dataset: &str,
    ) -> Result<(), ApiError> {
        self.authorize(principal, Access::Either, pool, Some(identity))?;
        check_dataset_name(dataset)
    }
}

/// `maxResults`: 1 to `cap`.
fn max_results(query: &Query, default: usize, cap: usize) -> Result<usize, ApiError> {
    match query.get("maxResults") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=cap).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!("Invalid MaxResults: {v}; 1 to {cap}"))),
        },
    }
}

fn check_dataset_name(name: &str) -> Result<(), ApiError> {
    if validate::is_dataset_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid DatasetName: must be 1 to 128 characters of a-z, A-Z, 0-9, '_', '.', ':' and '-', not {name:?}"
        )))
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.is_empty() { b"{}".as_slice() } else { body };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidParameter, format!("Invalid request body: {e}")))
}

/// A 200 with a JSON body.
fn json(value: &impl Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(&e))?;
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}
