//! synclake: Amazon Cognito Sync data out of a closed service and into a queryable table.
//!
//! This package is the `synclake` command line, thin over the library crates:
//! `synclake-records` (decoding), `synclake-lake` (the table: conversion, Parquet, stores,
//! replay, one-batch commits), `synclake-kinesis` (the consumer daemon),
//! `synclake-trigger` (the Sync Trigger rules) and `synclake-synth` (synthetic traffic for
//! `gen`, `demo`, tests and benchmarks). `ARCHITECTURE.md` at the repository's root is the
//! map. Its module:
//! - [`cli`]: the commands (`replay`, `consume`, `gen`, `demo`, `trigger check|lint`), their
//!   flags and their output.

pub mod cli;
