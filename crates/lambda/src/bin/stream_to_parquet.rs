//! The stream-to-parquet Lambda function (work in progress).
fn main() {}
