//! synclake: Amazon Cognito Sync data out of a closed service and into a queryable table.
//!
//! This package is the `synclake` command line, thin over the library crates:
//! `synclake-records` (decoding) and `synclake-lake` (the table). Its own modules:
//! - [`synth`]: deterministic synthetic Cognito Streams traffic, for the demo and benchmarks;
//! - [`cli`]: the commands (`replay`, `gen`, `demo`), their flags and their output.

pub mod cli;
pub mod synth;
