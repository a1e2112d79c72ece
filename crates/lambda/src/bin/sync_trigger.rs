//! `sync-trigger`: Cognito Events' Sync Trigger, validated and shaped by a rules file.
//!
//! The rules are loaded and validated once, at cold start (see
//! `synclake_lambda::sync_trigger`); a sync that breaks a `reject` rule fails the invocation,
//! and Cognito refuses the update.

use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;
use synclake_lambda::sync_trigger::{SyncTrigger, TriggerConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    lambda_runtime::tracing::init_default_subscriber();
    let config = TriggerConfig::from_env(|var| std::env::var(var).ok()).inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    let function = SyncTrigger::load(&config).await.inspect_err(|e| {
        tracing::error!(error = %e, "cannot load the rules");
    })?;
    let (datasets, keys) = function.rule_counts();
    tracing::info!(
        dataset_rules = datasets,
        key_rules = keys,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "sync-trigger ready"
    );
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        function.handle(event.payload)
    }))
    .await
}
