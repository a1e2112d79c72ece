//! `bulk-publish`: one advance step of a pool's Cognito Sync bulk publish per invocation, for a
//! Step Functions wait loop (see `synclake_lambda::bulk_publish`).

use lambda_runtime::{LambdaEvent, service_fn};
use synclake_bulk_publish::{AdvanceInput, AdvanceState};
use synclake_lambda::bulk_publish::{BulkPublish, BulkPublishConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = BulkPublishConfig::from_env(|var| std::env::var(var).ok()).inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    let function = BulkPublish::new(&config).await.inspect_err(|e| {
        tracing::error!(error = %e, "cannot open the table");
    })?;
    tracing::info!(output = %config.output, "bulk-publish ready");
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<AdvanceInput>| async move {
        Ok::<AdvanceState, lambda_runtime::Error>(function.handle(event.payload).await)
    }))
    .await
}
