//! Benchmark tools, not for users. Most binaries are *floors*: the least any implementation
//! built on the crates synclake must use pays for the same work, measured by the benchmark
//! scripts in the same run as synclake itself, so that a ratio to a peer can be read against
//! what is possible at all (`BENCHMARKS.md`).
//!
//! - `read_floor`: every shard of a stream read by the consumer's own reader and SDK client, the
//!   records dropped (`scripts/bench-consume.sh`);
//! - `floor_handler`: a Lambda function that only takes the Kinesis event as
//!   `aws_lambda_events`' `KinesisEvent` (`scripts/bench-lambda.sh`).
//!
//! And one that is no floor: `stream_load`, the benchmark's streams created and filled (and the
//! latency run's paced puts) with the test kit's Kinesis helpers (`scripts/bench-consume.sh`).
