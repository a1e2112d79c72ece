//! The sync-trigger Lambda function (work in progress).
fn main() {}
