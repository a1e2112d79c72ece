//! The floor under `synclake consume`'s cost: every shard of a stream read from its trim horizon
//! by the consumer's own polling reader and SDK client, and the records dropped. No decoding, no
//! table, no checkpoints: what is left is the Kinesis part alone (the SDK's calls, their answers
//! parsed, the runtime), which no consumer built on `aws-sdk-kinesis` can avoid.
//!
//! ```sh
//! cargo run --release -p synclake-bench --bin read_floor -- ENDPOINT STREAM RECORDS [EFO_CONSUMER]
//! ```
//!
//! Exits 0 once RECORDS records were read, printing `records=` and `bytes=` (payload bytes);
//! `scripts/bench-consume.sh` runs it under `/usr/bin/time` beside each consume round. With
//! EFO_CONSUMER, the shards are read through enhanced fan-out as that consumer (registered if
//! absent) instead of by polling.

use std::process::ExitCode;
use std::time::Duration;

use synclake_kinesis::PollOptions;
use synclake_kinesis::backoff::BackoffOptions;
use synclake_kinesis::client::{KinesisOptions, connect, describe_stream};
use synclake_kinesis::reader::efo::FanOutOptions;
use synclake_kinesis::reader::registration::ensure_consumer;
use synclake_kinesis::reader::{ReadEvent, ReadMode, ShardTarget, StartAt, read_shard};
use synclake_kinesis::shards::list_shards;
use tokio::sync::mpsc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (endpoint, stream, expect, efo) = match args.as_slice() {
        [endpoint, stream, expect] => (endpoint, stream, expect, None),
        [endpoint, stream, expect, efo] => (endpoint, stream, expect, Some(efo.as_str())),
        _ => {
            eprintln!("usage: read_floor ENDPOINT STREAM RECORDS [EFO_CONSUMER]");
            return ExitCode::from(2);
        }
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
    match runtime.block_on(read_all(endpoint, stream, expect, efo)) {
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
async fn read_all(endpoint: &str, stream: &str, expect: u64, efo: Option<&str>) -> Result<(u64, u64), String> {
    let opts = KinesisOptions {
        endpoint_url: Some(endpoint.to_owned()),
        region: None,
    };
    let client = connect(&opts).await;
    let stream = describe_stream(&client, stream, endpoint)
        .await
        .map_err(|e| e.to_string())?;
    let shards = list_shards(&client, &stream.arn).await.map_err(|e| e.to_string())?;
    let mode = match efo {
        Some(name) => {
            let consumer_arn = ensure_consumer(&client, &stream.arn, name)
                .await
                .map_err(|e| e.to_string())?;
            ReadMode::FanOut(FanOutOptions::new(consumer_arn))
        }
        None => ReadMode::Poll(PollOptions::default()),
    };
    let (tx, mut rx) = mpsc::channel(shards.len().max(1));
    for shard in &shards {
        let target = ShardTarget {
            client: client.clone(),
            stream_arn: stream.arn.clone(),
            shard_id: shard.id.clone(),
            start: StartAt::TrimHorizon,
            backoff: BackoffOptions::default(),
        };
        tokio::spawn(read_shard(target, mode.clone(), tx.clone()));
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
