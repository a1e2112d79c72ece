//! DescribeDataset, ListDatasets, DeleteDataset, and the usage operations.

use axum::response::Response;
use serde::Serialize;

use super::{Access, Query, Service, json, max_results};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::wire::{DatasetOut, IdentityUsageOut, PoolUsageOut};

/// Page sizes when `maxResults` is absent, and the most a page holds.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1024;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DatasetResponse<'a> {
    dataset: DatasetOut<'a>,
}

impl Service {
    pub(super) async fn describe_dataset(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        dataset: String,
    ) -> Result<Response, ApiError> {
        self.authorize_dataset(principal, &pool, &identity, &dataset)?;
        let d = self.db(move |s| s.describe_dataset(&pool, &identity, &dataset)).await?;
        json(&DatasetResponse { dataset: (&d).into() })
    }

    pub(super) async fn delete_dataset(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        dataset: String,
    ) -> Result<Response, ApiError> {
        self.authorize_dataset(principal, &pool, &identity, &dataset)?;
        let by = principal.modified_by().to_owned();
        let d = self
            .db(move |s| {
                let stream = s.change_routing(&pool)?.stream;
                s.delete_dataset(&pool, &identity, &dataset, &by, stream.as_deref())
            })
            .await?;
        self.wake.notify_one();
        json(&DatasetResponse { dataset: (&d).into() })
    }

    pub(super) async fn list_datasets(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        query: &Query,
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Either, &pool, Some(&identity))?;
        let max = max_results(query, DEFAULT_PAGE, MAX_PAGE)?;
        let token = query.get("nextToken").cloned();
        let (datasets, next) = self
            .db(move |s| s.list_datasets(&pool, &identity, token.as_deref(), max))
            .await?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            datasets: Vec<DatasetOut<'a>>,
            count: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_token: Option<String>,
        }
        json(&Out {
            count: datasets.len(),
            datasets: datasets.iter().map(Into::into).collect(),
            next_token: next,
        })
    }

    pub(super) async fn describe_identity_usage(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Either, &pool, Some(&identity))?;
        let id = identity.clone();
        let usage = self
            .db(move |s| s.identity_usage(&pool, &identity))
            .await?
            .ok_or_else(|| ApiError::not_found(format!("Identity '{id}' not found.")))?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            identity_usage: IdentityUsageOut<'a>,
        }
        json(&Out {
            identity_usage: (&usage).into(),
        })
    }

    pub(super) async fn describe_pool_usage(&self, principal: &Principal, pool: String) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let usage = self.db(move |s| s.pool_usage(&pool)).await?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            identity_pool_usage: PoolUsageOut<'a>,
        }
        json(&Out {
            identity_pool_usage: (&usage).into(),
        })
    }

    pub(super) async fn list_pool_usage(&self, principal: &Principal, query: &Query) -> Result<Response, ApiError> {
        if !matches!(principal, Principal::Developer { .. }) {
            return Err(ApiError::not_authorized(
                "This operation requires developer credentials",
            ));
        }
        let max = max_results(query, DEFAULT_PAGE, MAX_PAGE)?;
        let token = query.get("nextToken").cloned();
        let pools = self.pools.clone();
        let (usages, next) = self
            .db(move |s| s.list_pool_usage(&pools, token.as_deref(), max))
            .await?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            identity_pool_usages: Vec<PoolUsageOut<'a>>,
            max_results: usize,
            count: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_token: Option<String>,
        }
        json(&Out {
            count: usages.len(),
            identity_pool_usages: usages.iter().map(Into::into).collect(),
            max_results: max,
            next_token: next,
        })
    }
}
