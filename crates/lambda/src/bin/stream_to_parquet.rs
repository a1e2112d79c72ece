//! `stream-to-parquet`: Kinesis (Cognito Streams) → Hive-partitioned Parquet on S3.
//!
//! Configuration is read from the environment once, at cold start (see
//! `synclake_lambda::config`); the store and the HTTP client are built once and shared by
//! every invocation of the container.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use synclake_lambda::{KinesisBatchEvent, StreamConfig, StreamToParquet};

/// Time to answer Lambda (and log) after the batch's work stops.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// Longest a Lambda invocation runs.
const MAX_INVOCATION: Duration = Duration::from_secs(15 * 60);

/// The invocation's deadline (epoch milliseconds) as a tokio instant, less the margin.
fn deadline(epoch_ms: u64) -> Option<tokio::time::Instant> {
    let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    let left = epoch_ms.checked_sub(now_ms).map(Duration::from_millis);
    match left {
        // Lambda runs an invocation for at most 15 minutes: anything else is not a deadline
        // (a local emulator's, a skewed clock), and the batch runs without one.
        Some(left) if left > ANSWER_MARGIN && left <= MAX_INVOCATION => {
            Some(tokio::time::Instant::now() + (left - ANSWER_MARGIN))
        }
        _ => {
            tracing::warn!(
                deadline_ms = epoch_ms,
                now_ms,
                "invocation deadline is not plausible; ignored"
            );
            None
        }
    }
}

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
        let deadline = deadline(event.context.deadline);
        function.handle(&event.payload, deadline).await
    }))
    .await
}
