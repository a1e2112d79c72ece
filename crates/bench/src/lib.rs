//! Benchmark tools, not for users. Each binary is a *floor*: the least any implementation built
//! on the crates synclake must use pays for the same work, measured by the benchmark scripts in
//! the same run as synclake itself, so that a ratio to a peer can be read against what is
//! possible at all (`BENCHMARKS.md`).
//!
//! - `read_floor`: every shard of a stream read by the consumer's own reader and SDK client, the
//!   records dropped (`scripts/bench-consume.sh`);
//! - `floor_handler`: a Lambda function that only takes the Kinesis event as
//!   `aws_lambda_events`' `KinesisEvent` (`scripts/bench-lambda.sh`).
