//! The floor under `synclake consume`'s cost: every shard of a stream read from its trim horizon
//! by the consumer's own polling reader and SDK client, and the records dropped. No decoding, no
//! table, no checkpoints: what is left is the Kinesis part alone (the SDK's calls, their answers
//! parsed, the runtime), which no consumer built on `aws-sdk-kinesis` can avoid.
//!
//! ```sh
//! cargo run --release -p synclake-kinesis --example read_floor -- ENDPOINT STREAM RECORDS
//! ```
//!
//! Exits 0 once RECORDS records were read, printing `records=` and `bytes=` (payload bytes);
//! `scripts/bench-consume.sh` runs it under `/usr/bin/time` beside each consume round.

use std::process::ExitCode;
use std::time::Duration;

use synclake_kinesis::PollOptions;
use synclake_kinesis::backoff::BackoffOptions;
use synclake_kinesis::client::{KinesisOptions, connect, describe_stream};
use synclake_kinesis::reader::{ReadEvent, ReadMode, ShardTarget, StartAt, read_shard};
use synclake_kinesis::shards::list_shards;
use tokio::sync::mpsc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, stream, expect] = args.as_slice() else {
        eprintln!("usage: read_floor ENDPOINT STREAM RECORDS");
        return ExitCode::from(2);
    };
    let Ok(expect) = expect.parse::<u64>() else {
        eprintln!("read_floor: RECORDS must be a whole number, not {expect:?}");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("read_floor: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(read_all(endpoint, stream, expect)) {
        Ok((records, bytes)) => {
            println!("records={records}");
            println!("bytes={bytes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("read_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads every shard until `expect` records came in; (records, payload bytes).
async fn read_all(endpoint: &str, stream: &str, expect: u64) -> Result<(u64, u64), String> {
    let opts = KinesisOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: None,
    };
    let client = connect(&opts).await;
    let stream = describe_stream(&client, stream, endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let shards = list_shards(&client, &stream.arn).await.map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::channel(shards.len().max(1));
    for shard in &shards {
        let target = ShardTarget {
            client: client.clone(),
            stream_arn: stream.arn.clone(),
            shard_id: shard.id.clone(),
            start: StartAt::TrimHorizon,
            backoff: BackoffOptions::default(),
        };
        tokio::spawn(read_shard(target, ReadMode::Poll(PollOptions::default()), tx.clone()));
    }
    drop(tx);
    let (mut records, mut bytes) = (0u64, 0u64);
    while records < expect {
        match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
            Ok(Some(ReadEvent::Records { records: batch, .. })) => {
                records += batch.len() as u64;
                bytes += batch.iter().map(|r| r.data.as_ref().len() as u64).sum::<u64>();
            }
            Ok(Some(ReadEvent::ShardEnd | ReadEvent::Gone { .. })) => {}
            Ok(None) => return Err(format!("every reader ended after {records} of {expect} records")),
            Err(_) => return Err(format!("no records for 120 s after {records} of {expect}")),
        }
    }
    Ok((records, bytes))
}
