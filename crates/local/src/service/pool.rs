//! Pool administration (developer credentials only): configuration, Cognito Events, BulkPublish.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{Access, Service, json, parse_body};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::PoolSettings;
use crate::validate;
use crate::wire::{BulkDetailsOut, PoolConfigurationOut, SetConfigurationIn, SetEventsIn};

/// The only Cognito event type.
const SYNC_TRIGGER: &str = "SyncTrigger";

impl Service {
    pub(super) async fn get_configuration(&self, principal: &Principal, pool: String) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let p = pool.clone();
        let mut settings = self.db(move |s| s.pool_settings(&p)).await?;
        // A pool never configured reports streaming DISABLED, as AWS does.
        settings
            .cognito_streams
            .get_or_insert_with(|| crate::model::CognitoStreams {
                streaming_status: Some("DISABLED".to_owned()),
                ..Default::default()
            });
        json(&PoolConfigurationOut {
            identity_pool_id: &pool,
            settings: &settings,
        })
    }

    pub(super) async fn set_configuration(
        &self,
        principal: &Principal,
        pool: String,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let input: SetConfigurationIn = parse_body(body)?;
        if let Some(streams) = &input.cognito_streams {
            if let Some(name) = &streams.stream_name
                && !validate::is_stream_name(name)
            {
                return Err(ApiError::invalid("Invalid StreamName: 1 to 128 characters"));
            }
            if let Some(role) = &streams.role_arn
                && !validate::is_role_arn(role)
            {
                return Err(ApiError::invalid(format!("Invalid RoleArn: {role}")));
            }
            match streams.streaming_status.as_deref() {
                None | Some("DISABLED") => {}
                Some("ENABLED") => {
                    if streams.stream_name.is_none() || streams.role_arn.is_none() {
                        return Err(ApiError::invalid(
                            "Enabling Cognito Streams needs a StreamName and a RoleArn",
                        ));
                    }
                }
                Some(other) => return Err(ApiError::invalid(format!("Invalid StreamingStatus: {other}"))),
            }
        }
        if let Some(push) = &input.push_sync {
            if let Some(arn) = push
                .application_arns
                .iter()
                .flatten()
                .find(|a| !validate::is_application_arn(a))
            {
                return Err(ApiError::invalid(format!("Invalid ApplicationArn: {arn}")));
            }
            if let Some(role) = &push.role_arn
                && !validate::is_role_arn(role)
            {
                return Err(ApiError::invalid(format!("Invalid RoleArn: {role}")));
            }
        }
        let update = PoolSettings {
            push_sync: input.push_sync,
            cognito_streams: input.cognito_streams,
        };
        let p = pool.clone();
        let settings = self.db(move |s| s.set_pool_settings(&p, update)).await?;
        json(&PoolConfigurationOut {
            identity_pool_id: &pool,
            settings: &settings,
        })
    }

    pub(super) async fn get_cognito_events(&self, principal: &Principal, pool: String) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let trigger = self.db(move |s| s.change_routing(&pool)).await?.sync_trigger;
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out {
            events: BTreeMap<&'static str, String>,
        }
        json(&Out {
            events: trigger.into_iter().map(|arn| (SYNC_TRIGGER, arn)).collect(),
        })
    }

    pub(super) async fn set_cognito_events(
        &self,
        principal: &Principal,
        pool: String,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let input: SetEventsIn = parse_body(body)?;
        if input.events.len() > 1 {
            return Err(ApiError::invalid("Events holds at most one entry"));
        }
        let arn = match input.events.into_iter().next() {
            None => None,
            Some((kind, _)) if kind != SYNC_TRIGGER => {
                return Err(ApiError::invalid(format!(
                    "Invalid event type {kind:?}; the only one is SyncTrigger"
                )));
            }
            Some((_, arn)) if arn.is_empty() => None,
            Some((_, arn)) if !validate::is_lambda_arn(&arn) => {
                return Err(ApiError::invalid(format!("Invalid Lambda function ARN: {arn}")));
            }
            Some((_, arn)) => Some(arn),
        };
        self.db(move |s| s.set_sync_trigger(&pool, arn.as_deref())).await?;
        Ok(StatusCode::OK.into_response())
    }

    pub(super) async fn bulk_publish(&self, principal: &Principal, pool: String) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let p = pool.clone();
        let stream = self.db(move |s| s.start_bulk_publish(&p)).await?;
        tracing::info!(pool = %pool, stream = %stream, "bulk publish started");
        tokio::spawn(crate::bulk::run(
            self.store.clone(),
            pool.clone(),
            stream,
            self.wake.clone(),
            self.bulk_pause,
        ));
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            identity_pool_id: &'a str,
        }
        json(&Out {
            identity_pool_id: &pool,
        })
    }

    pub(super) async fn get_bulk_publish_details(
        &self,
        principal: &Principal,
        pool: String,
    ) -> Result<Response, ApiError> {
        self.authorize(principal, Access::Developer, &pool, None)?;
        let p = pool.clone();
        let details = self.db(move |s| s.bulk_details(&p)).await?;
        json(&BulkDetailsOut::new(&pool, &details))
    }
}
