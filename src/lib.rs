//! synclake: Amazon Cognito Sync data out of a closed service and into a queryable table.
//!
//! This package is the `synclake` command line, thin over the library crates:
//! `synclake-records` (decoding), `synclake-lake` (the table: conversion, Parquet, stores,
//! replay, one-batch commits), `synclake-kinesis` (the consumer daemon) and
//! `synclake-trigger` (the Sync Trigger rules). `ARCHITECTURE.md` at the repository's root
//! is the map. Its own modules:
//! - [`synth`]: deterministic synthetic Cognito Streams traffic, for the demo and benchmarks;
//! - [`cli`]: the commands (`replay`, `consume`, `gen`, `demo`, `trigger check|lint`), their
//!   flags and their output.

pub mod cli;
pub mod synth;
