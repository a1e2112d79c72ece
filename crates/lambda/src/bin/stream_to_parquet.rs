//! `stream-to-parquet`: Kinesis (Cognito Streams) → Hive-partitioned Parquet on S3.
//!
//! Configuration is read from the environment once, at cold start (see
//! `synclake_lambda::config`); the store and the HTTP client are built once and shared by
//! every invocation of the container.

use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use synclake_lambda::{KinesisBatchEvent, StreamConfig, StreamToParquet};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    lambda_runtime::tracing::init_default_subscriber();
    let config = StreamConfig::from_env(|var| std::env::var(var).ok()).inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    let function = StreamToParquet::new(&config).inspect_err(|e| {
        tracing::error!(error = %e, "cannot start");
    })?;
    tracing::info!(output = %function.output(), partition_by = %config.batch.partition,
        init_ms = started.elapsed().as_secs_f64() * 1000.0, "stream-to-parquet ready");
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisBatchEvent>| async move {
        function.handle(&event.payload).await
    }))
    .await
}
