//! The Kinesis side of `scripts/bench-consume.sh`: the benchmark's streams created and filled
//! with the test kit's helpers (`synclake_testkit::kinesis`), so that the benchmark and the
//! tests put records one way.
//!
//! ```sh
//! stream_load create ENDPOINT STREAM SHARDS
//! stream_load put ENDPOINT STREAM FILE [--threads N]
//! stream_load pace ENDPOINT STREAM FILE --rate R --count N
//! ```
//!
//! `create` creates the stream and waits until it is active. `put` puts every line of FILE (its
//! newline dropped) as one record, partition key its line number from 1, with PutRecord calls,
//! N (default 8) in flight at a time, each retried when it fails: kinesis-local's PutRecords
//! slows down with every record already in the shard (see `put_each`). A line too large for a
//! record (data and key over 1 MiB) is skipped and counted.
//!
//! `pace` is the producer of the latency run (`scripts/bench_consume.py latency`): the first N
//! lines of FILE that fit a record, one PutRecord call every 1/R s from one caller (a slow call
//! delays the calls after it, not the schedule), partition keys `m0`, `m1`, …. As each record is
//! stored it prints `SHARD SEQUENCE ACK_MICROS` (ACK_MICROS: from the call sent to its answer,
//! retries included) and flushes, so that the reader can time the line's arrival.
//!
//! Results go to stdout as `key=value` lines (for the shell script), progress to stderr:
//! `create` prints `stream_arn=`, `shards=`; `put` prints `put_secs=`, `put_records=`,
//! `put_bytes=` (data bytes), `put_calls=` (PutRecord calls, retries included), `put_retried=`,
//! `put_skipped=` and `put_per_shard=` (records per shard, by shard id, comma-separated).
//! `pace` prints only its per-record lines.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use synclake_testkit::kinesis::{create_stream, put_each, put_record};
use synclake_testkit::services::kinesis_client_at;

/// Kinesis' limit on one record: data and partition key.
const MAX_RECORD: usize = 1024 * 1024;
/// Seconds between two progress lines of `put`.
const REPORT_EVERY: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: stream_load create ENDPOINT STREAM SHARDS
       stream_load put ENDPOINT STREAM FILE [--threads N]
       stream_load pace ENDPOINT STREAM FILE --rate R --count N";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = match *args.as_slice() {
        ["create", endpoint, stream, shards] => match shards.parse::<i32>() {
            Ok(shards) if shards > 0 => Command::Create {
                endpoint,
                stream,
                shards,
            },
            _ => return usage(&format!("SHARDS must be a positive whole number, not {shards:?}")),
        },
        ["put", endpoint, stream, file, ref rest @ ..] => {
            let threads = match rest {
                [] => 8,
                ["--threads", n] => match n.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return usage(&format!("--threads must be a positive whole number, not {n:?}")),
                },
                _ => return usage(&format!("unexpected arguments {rest:?}")),
            };
            Command::Put {
                endpoint,
                stream,
                file,
                threads,
            }
        }
        ["pace", endpoint, stream, file, "--rate", rate, "--count", count] => {
            match (rate.parse::<u32>(), count.parse::<usize>()) {
                (Ok(rate), Ok(count)) if rate > 0 => Command::Pace {
                    endpoint,
                    stream,
                    file,
                    rate,
                    count,
                },
                _ => {
                    return usage(&format!(
                        "--rate and --count must be whole numbers, not {rate:?}, {count:?}"
                    ));
                }
            }
        }
        _ => return usage(""),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stream_load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Command::Create {
            endpoint,
            stream,
            shards,
        } => runtime.block_on(create(endpoint, stream, shards)),
        Command::Put {
            endpoint,
            stream,
            file,
            threads,
        } => runtime.block_on(put(endpoint, stream, file, threads)),
        Command::Pace {
            endpoint,
            stream,
            file,
            rate,
            count,
        } => runtime.block_on(pace(endpoint, stream, file, rate, count)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream_load: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Command<'a> {
    Create {
        endpoint: &'a str,
        stream: &'a str,
        shards: i32,
    },
    Put {
        endpoint: &'a str,
        stream: &'a str,
        file: &'a str,
        threads: usize,
    },
    Pace {
        endpoint: &'a str,
        stream: &'a str,
        file: &'a str,
        rate: u32,
        count: usize,
    },
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("stream_load: {problem}");
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn log(msg: &str) {
    eprintln!("stream_load: {msg}");
}

/// Creates the stream, waits until it is active, prints its ARN and open shards.
async fn create(endpoint: &str, stream: &str, shards: i32) -> Result<(), String> {
    let client = kinesis_client_at(endpoint);
    create_stream(&client, stream, shards).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| format!("describe {stream}: {e}"))?
        .stream_description_summary
        .ok_or_else(|| format!("describe {stream}: no summary in the answer"))?;
    println!("stream_arn={}", summary.stream_arn);
    println!("shards={}", summary.open_shard_count);
    Ok(())
}

/// Puts every line of `file` (see the module doc) and prints what it did.
async fn put(endpoint: &str, stream: &str, file: &str, threads: usize) -> Result<(), String> {
    let client = kinesis_client_at(endpoint);
    let lines = BufReader::new(File::open(file).map_err(|e| format!("{file}: {e}"))?).split(b'\n');
    let read_error = RefCell::new(None);
    let skipped = Cell::new(0u64);
    let bytes = Cell::new(0u64);
    let records = lines
        .map_while(|line| line.map_err(|e| *read_error.borrow_mut() = Some(e)).ok())
        .enumerate()
        .filter_map(|(i, data)| {
            let key = (i + 1).to_string();
            if data.len() + key.len() > MAX_RECORD {
                skipped.set(skipped.get() + 1);
                return None;
            }
            bytes.set(bytes.get() + data.len() as u64);
            Some((key, data))
        });

    let t0 = Instant::now();
    let mut next_report = t0 + REPORT_EVERY;
    let mut stored = 0u64;
    let mut per_shard: BTreeMap<String, u64> = BTreeMap::new();
    let retried = put_each(&client, stream, records, threads, |_, (shard, _)| {
        stored += 1;
        *per_shard.entry(shard).or_default() += 1;
        let now = Instant::now();
        if now >= next_report {
            log(&format!("put {stored} records in {:.0} s", (now - t0).as_secs_f64()));
            next_report = now + REPORT_EVERY;
        }
    })
    .await;
    let secs = t0.elapsed().as_secs_f64();
    if let Some(e) = read_error.into_inner() {
        return Err(format!("{file}: {e} (after {stored} records put)"));
    }
    let counts: Vec<String> = per_shard.values().map(u64::to_string).collect();
    println!("put_secs={secs:.2}");
    println!("put_records={stored}");
    println!("put_bytes={}", bytes.get());
    println!("put_calls={}", stored + retried);
    println!("put_retried={retried}");
    println!("put_skipped={}", skipped.get());
    println!("put_per_shard={}", counts.join(","));
    Ok(())
}

/// Puts the first `count` lines of `file` that fit a record at `rate` a second (see the module
/// doc), printing each one's shard, sequence number and acknowledgement time.
async fn pace(endpoint: &str, stream: &str, file: &str, rate: u32, count: usize) -> Result<(), String> {
    let client = kinesis_client_at(endpoint);
    let mut payloads = Vec::with_capacity(count);
    for line in BufReader::new(File::open(file).map_err(|e| format!("{file}: {e}"))?).split(b'\n') {
        if payloads.len() == count {
            break;
        }
        let data = line.map_err(|e| format!("{file}: {e}"))?;
        // the longest key, `m` and the index, is under 8 bytes for any count this takes
        if data.len() + 8 <= MAX_RECORD {
            payloads.push(data);
        }
    }
    log(&format!("pace: putting {} payloads at {rate}/s", payloads.len()));
    let start = tokio::time::Instant::now();
    for (i, data) in payloads.into_iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / f64::from(rate))).await;
        let sent = Instant::now();
        let ((shard, sequence), _) = put_record(&client, stream, &format!("m{i}"), data).await;
        println!("{shard} {sequence} {}", sent.elapsed().as_micros());
    }
    Ok(())
}
