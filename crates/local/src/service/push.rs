//! Push sync (Cognito Identity credentials only): RegisterDevice, Subscribe/UnsubscribeFromDataset.

use axum::response::Response;
use serde::Serialize;

use super::{Access, Service, check_dataset_name, json, parse_body};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::validate;
use crate::wire::RegisterDeviceIn;

const PLATFORMS: [&str; 4] = ["APNS", "APNS_SANDBOX", "GCM", "ADM"];

impl Service {
    /// Push sync must be configured for the pool, as on AWS.
    async fn require_push(&self, pool: &str) -> Result<(), ApiError> {
        let p = pool.to_owned();
        let settings = self.db(move |s| s.pool_settings(&p)).await?;
        let configured = settings
            .push_sync
            .as_ref()
            .is_some_and(|p| p.application_arns.as_ref().is_some_and(|a| !a.is_empty()) && p.role_arn.is_some());
        if configured {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::InvalidConfiguration,
                format!("Push sync is not configured for identity pool {pool}"),
            ))
        }
    }

    pub(super) async fn register_device(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Identity, &pool, Some(&identity))?;
        let input: RegisterDeviceIn = parse_body(body)?;
        if !PLATFORMS.contains(&input.platform.as_str()) {
            return Err(ApiError::invalid(format!("Invalid Platform: {}", input.platform)));
        }
        if input.token.is_empty() {
            return Err(ApiError::invalid("Token is required"));
        }
        self.require_push(&pool).await?;
        let id = self
            .db(move |s| s.register_device(&pool, &identity, &input.platform, &input.token))
            .await?;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out {
            device_id: String,
        }
        json(&Out { device_id: id })
    }

    pub(super) async fn subscribe(
        &self,
        principal: &Principal,
        pool: String,
        identity: String,
        dataset: String,
        device: String,
        on: bool,
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Identity, &pool, Some(&identity))?;
        check_dataset_name(&dataset)?;
        if !validate::is_device_id(&device) {
            return Err(ApiError::invalid("Invalid DeviceId: 1 to 256 characters"));
        }
        self.require_push(&pool).await?;
        self.db(move |s| {
            if on {
                s.subscribe(&pool, &identity, &dataset, &device)
            } else {
                s.unsubscribe(&pool, &identity, &dataset, &device)
            }
        })
        .await?;
        json(&serde_json::json!({}))
    }
}
