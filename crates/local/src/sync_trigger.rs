//! Cognito Events: the Sync Trigger run on UpdateRecords made with identity credentials.
//!
//! The trigger gets the whole dataset (`datasetRecords`, every live record plus the patched
//! ones with their old and new values) and answers the same document; its `datasetRecords` say
//! what is stored. A function named in the configuration's `[[triggers]]` runs in process from
//! its rules file (the same engine as the `sync-trigger` Lambda); any other is invoked through
//! the Lambda Invoke API at `[lambda] endpoint`. It has 5 seconds, as on AWS.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use synclake_trigger::{RuleSet, RulesSource};
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::model::{Op, RecordPatch};
use crate::store::PreparedUpdate;

/// A Sync Trigger has 5 seconds; not adjustable on AWS either.
pub const TRIGGER_TIMEOUT: Duration = Duration::from_secs(5);

struct InProcess {
    rules: RuleSet,
    /// `None`: unlimited; `Some` with 0 permits throttles every invocation.
    permits: Option<Arc<Semaphore>>,
}

/// The functions a Sync Trigger can name.
pub struct Triggers {
    in_process: HashMap<String, InProcess>,
    lambda: Option<aws_sdk_lambda::Client>,
    region: String,
}

/// The in-process rules could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("Sync Trigger {arn}: {source}")]
pub struct TriggerLoadError {
    arn: String,
    #[source]
    source: synclake_trigger::LoadError,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventOut<'a> {
    version: u32,
    event_type: &'static str,
    region: &'a str,
    identity_pool_id: &'a str,
    identity_id: &'a str,
    dataset_name: &'a str,
    dataset_records: BTreeMap<&'a str, RecordOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    old_value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_value: Option<&'a str>,
    op: &'static str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventIn {
    identity_pool_id: String,
    identity_id: String,
    dataset_name: String,
    #[serde(default)]
    dataset_records: BTreeMap<String, RecordIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordIn {
    #[serde(default)]
    new_value: Option<String>,
    #[serde(default)]
    op: Option<String>,
}

/// Where the trigger is invoked: the dataset and who changes it.
pub struct TriggerCall<'a> {
    /// The function ARN.
    pub arn: &'a str,
    /// The pool.
    pub pool: &'a str,
    /// The identity.
    pub identity: &'a str,
    /// The dataset.
    pub dataset: &'a str,
    /// The `x-amz-Client-Context` header, passed on to Lambda.
    pub client_context: Option<&'a str>,
}

impl Triggers {
    /// Loads every in-process rules file (a bad file fails the start) and builds the Lambda
    /// client when `[lambda]` is set.
    pub async fn load(config: &Config) -> Result<Triggers, TriggerLoadError> {
        let lambda = match &config.lambda {
            // No SDK retries: throttling is the caller's answer (LambdaThrottled), and a retried
            // 5xx would run the trigger twice and eat into its 5 seconds.
            Some(endpoint) => {
                let sdk = crate::aws::sdk_config(&config.region, endpoint).await;
                let conf = aws_sdk_lambda::config::Builder::from(&sdk)
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
                    .build();
                Some(aws_sdk_lambda::Client::from_conf(conf))
            }
            None => None,
        };
        Triggers::with_lambda(config, lambda)
    }

    /// The configuration's in-process triggers, and `lambda` for every other ARN (a client
    /// built by the caller: another endpoint, or an SDK-level mock in tests).
    pub fn with_lambda(config: &Config, lambda: Option<aws_sdk_lambda::Client>) -> Result<Triggers, TriggerLoadError> {
        let mut in_process = HashMap::new();
        for t in &config.triggers {
            let rules = RuleSet::load(RulesSource::Path(t.rules.clone())).map_err(|source| TriggerLoadError {
                arn: t.function_arn.clone(),
                source,
            })?;
            let permits = t.reserved_concurrency.map(|n| Arc::new(Semaphore::new(n as usize)));
            in_process.insert(t.function_arn.clone(), InProcess { rules, permits });
        }
        Ok(Triggers {
            in_process,
            lambda,
            region: config.region.clone(),
        })
    }

    /// Runs the trigger on `patches` over the dataset's `current` records and answers the
    /// patches to apply instead: the patched keys with the trigger's values, plus any other key
    /// whose value it changed (expected at its current sync count).
    pub async fn run(
        &self,
        call: &TriggerCall<'_>,
        current: &PreparedUpdate,
        patches: &[RecordPatch],
    ) -> Result<Vec<RecordPatch>, ApiError> {
        let event = self.event(call, current, patches);
        let response = tokio::time::timeout(TRIGGER_TIMEOUT, self.invoke(call, event))
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::LambdaSocketTimeout,
                    format!("The Sync Trigger {} did not answer within 5 seconds", call.arn),
                )
            })??;
        apply_response(call, current, patches, &response)
    }

    fn event(&self, call: &TriggerCall<'_>, current: &PreparedUpdate, patches: &[RecordPatch]) -> Vec<u8> {
        let mut records: BTreeMap<&str, RecordOut<'_>> = current
            .records
            .values()
            .filter_map(|r| {
                r.value.as_deref().map(|v| {
                    (
                        r.key.as_str(),
                        RecordOut {
                            old_value: Some(v),
                            new_value: Some(v),
                            op: Op::Replace.as_str(),
                        },
                    )
                })
            })
            .collect();
        for p in patches {
            let old = current.records.get(&p.key).and_then(|r| r.value.as_deref());
            records.insert(
                &p.key,
                RecordOut {
                    old_value: old,
                    new_value: if p.op == Op::Replace { p.value.as_deref() } else { None },
                    op: p.op.as_str(),
                },
            );
        }
        let event = EventOut {
            version: 2,
            event_type: "SyncTrigger",
            region: &self.region,
            identity_pool_id: call.pool,
            identity_id: call.identity,
            dataset_name: call.dataset,
            dataset_records: records,
        };
        serde_json::to_vec(&event).unwrap_or_default()
    }

    async fn invoke(&self, call: &TriggerCall<'_>, event: Vec<u8>) -> Result<Vec<u8>, ApiError> {
        if let Some(f) = self.in_process.get(call.arn) {
            let _permit = match &f.permits {
                Some(sem) => Some(sem.clone().try_acquire_owned().map_err(|_| {
                    ApiError::new(
                        ErrorCode::LambdaThrottled,
                        format!("The Sync Trigger {} was throttled", call.arn),
                    )
                })?),
                None => None,
            };
            let decision = f.rules.apply(&event).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidLambdaFunctionOutput,
                    format!("The Sync Trigger failed: {e}"),
                )
            })?;
            return decision
                .into_result()
                .map_err(|rejection| ApiError::new(ErrorCode::InvalidLambdaFunctionOutput, rejection.to_string()));
        }
        let Some(client) = &self.lambda else {
            return Err(ApiError::new(
                ErrorCode::InvalidLambdaFunctionOutput,
                format!(
                    "The Sync Trigger {} is neither an in-process trigger nor reachable: no [lambda] endpoint is configured",
                    call.arn
                ),
            ));
        };
        // By name (and version or alias), in the endpoint's own account and region: what local
        // Lambda emulators route on. A full ARN means the same function on AWS.
        let (name, qualifier) = function_name(call.arn);
        let mut request = client
            .invoke()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_owned))
            .payload(aws_smithy_types::Blob::new(event));
        if let Some(ctx) = call.client_context {
            request = request.client_context(ctx);
        }
        let output = request.send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_too_many_requests_exception()) {
                ApiError::new(
                    ErrorCode::LambdaThrottled,
                    format!("The Sync Trigger {} was throttled", call.arn),
                )
            } else {
                ApiError::new(
                    ErrorCode::InvalidLambdaFunctionOutput,
                    format!(
                        "The Sync Trigger {} could not be invoked: {}",
                        call.arn,
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    ),
                )
            }
        })?;
        let payload = output.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            let message = serde_json::from_slice::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_else(|| kind.to_owned());
            return Err(ApiError::new(ErrorCode::InvalidLambdaFunctionOutput, message));
        }
        Ok(payload)
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` → (name, qualifier).
fn function_name(arn: &str) -> (&str, Option<&str>) {
    match arn.split_once(":function:") {
        Some((_, rest)) => match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        },
        None => (arn, None),
    }
}

fn apply_response(
    call: &TriggerCall<'_>,
    current: &PreparedUpdate,
    patches: &[RecordPatch],
    response: &[u8],
) -> Result<Vec<RecordPatch>, ApiError> {
    let invalid = |m: &str| {
        ApiError::new(
            ErrorCode::InvalidLambdaFunctionOutput,
            format!("The Sync Trigger's output is invalid: {m}"),
        )
    };
    let out: EventIn = serde_json::from_slice(response).map_err(|e| invalid(&e.to_string()))?;
    if out.identity_pool_id != call.pool || out.identity_id != call.identity || out.dataset_name != call.dataset {
        return Err(invalid("only datasetRecords may change"));
    }
    let mut result: Vec<RecordPatch> = patches.to_vec();
    for (key, rec) in out.dataset_records {
        let remove = rec.op.as_deref() == Some("remove") || rec.new_value.is_none();
        let desired = if remove { None } else { rec.new_value };
        if desired.as_deref().is_some_and(|v| !crate::validate::is_record_value(v)) {
            return Err(invalid(&format!("the value of {key:?} is longer than the API allows")));
        }
        if let Some(p) = result.iter_mut().find(|p| p.key == key) {
            p.op = if desired.is_some() { Op::Replace } else { Op::Remove };
            p.value = desired;
            continue;
        }
        let existing = current.records.get(&key);
        if existing.and_then(|r| r.value.as_ref()) == desired.as_ref() {
            continue;
        }
        if !crate::validate::is_record_key(&key)
            || desired.as_deref().is_some_and(|v| !crate::validate::is_record_value(v))
        {
            return Err(invalid(&format!("record {key:?} is out of the API's limits")));
        }
        result.push(RecordPatch {
            op: if desired.is_some() { Op::Replace } else { Op::Remove },
            key,
            value: desired,
            sync_count: existing.map_or(0, |r| r.sync_count),
            device_last_modified_ms: None,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn function_names_come_from_the_arn() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:1:function:f"), ("f", None));
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:f:live"),
            ("f", Some("live"))
        );
    }
}
