//! The floor under the stream-to-parquet handler's time: a Lambda function on the same runtime
//! (`lambda_runtime`) that takes the Kinesis event as `aws_lambda_events`' own `KinesisEvent`
//! (every record's data base64-decoded), touches every record, and answers "no failures".
//! Nothing is parsed, converted or written. No handler built on these two crates can answer a
//! batch faster than this one, so Python's time over this one's bounds the speed-up over Python
//! that any such handler can reach. `scripts/bench-lambda.sh` builds it and the benchmark
//! (`benches/stream_to_parquet.rs`) times it beside the real function.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<KinesisEvent>| async move {
        let bytes: usize = event.payload.records.iter().map(|r| r.kinesis.data.0.len()).sum();
        std::hint::black_box(bytes);
        Ok::<_, lambda_runtime::Error>(KinesisEventResponse::default())
    }))
    .await
}
