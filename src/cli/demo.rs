//! `synclake demo`: the whole system on one machine, no AWS account and no server to install.
//!
//! It starts the local Cognito Sync service in process, has simulated phones and tablets sync
//! realistic datasets through the real `aws-sdk-cognitosync` client over loopback (edits,
//! removals, conflicts between two devices of one identity, a Sync Trigger refusing a bad value,
//! a dataset deletion, a bulk publish of what existed before streaming was on), streams every
//! change through the service's embedded stream into the same table code path `consume` and the
//! Lambda use, and shows what landed and how to query it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_cognitosync::types::{BulkPublishStatus, CognitoStreams, StreamingStatus};
use clap::Args;
use synclake_lake::{BatchOptions, FetchOptions, Fetcher, S3Options, Store, record_tag, write_batch};
use synclake_local::{Clock, Config, Options};
use synclake_records::{Lineage, Position, SourceRecord};
use synclake_synth::Edit;

use super::demo_devices::{Device, DeviceStats};

const POOL: &str = "us-east-1:6e0a3c3e-1111-4b6e-9d2f-2a1c0e7d9a01";
const STREAM: &str = "cognito-demo";
const TRIGGER: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-validate";

/// The demo's Sync Trigger: a level is a whole number from 1 to 120, an email is lowercased.
const RULES: &str = r#"# The demo's Sync Trigger rules (synclake-trigger format; docs/lambda.md)
version = 1
unmatched = "accept"
on_violation = "reject"

[[datasets]]
name = "game_state"
[datasets.keys.level]
type = "integer"
range = { min = 1, max = 120 }

[[datasets]]
name = "profile"
[datasets.keys.email]
trim = true
lowercase = true
"#;

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Identities, each with a phone and a tablet.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub identities: u16,
    /// Sync rounds (every device syncs once a round).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(2..=2000))]
    pub rounds: u16,
    /// Where the table goes.
    #[arg(long, default_value = "lake")]
    pub out: PathBuf,
    /// Where the service's configuration and rules are written (reusable with `synclake local`).
    #[arg(long, default_value = "lake-demo")]
    pub work: PathBuf,
}

fn identity(i: u16) -> String {
    format!("us-east-1:00000000-0000-4000-8000-{:012x}", 0xa0 + u64::from(i))
}

fn config_text(identities: u16) -> String {
    let mut t = format!(
        "# Written by `synclake demo`: run this service yourself with\n#   synclake local --config lake-demo/local.toml --in-memory\nregion = \"us-east-1\"\n\
         [[pools]]\nid = \"{POOL}\"\n[[developers]]\naccess_key = \"AKIDEMODEV\"\nsecret_key = \"demo-dev-secret\"\n\
         [[triggers]]\nfunction_arn = \"{TRIGGER}\"\nrules = \"rules.toml\"\n"
    );
    for i in 0..identities {
        t.push_str(&format!(
            "[[identities]]\npool = \"{POOL}\"\nid = \"{}\"\naccess_key = \"AKIDEMO{i}\"\nsecret_key = \"demo-secret-{i}\"\n",
            identity(i)
        ));
    }
    t
}

fn now_ms() -> i64 {
    Clock::system().now_ms()
}

/// Runs `demo`: the service, the devices, the stream into the table, the report.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.work).with_context(|| format!("create {}", args.work.display()))?;
    let config_path = args.work.join("local.toml");
    std::fs::write(&config_path, config_text(args.identities))
        .with_context(|| format!("write {}", config_path.display()))?;
    std::fs::write(args.work.join("rules.toml"), RULES).context("write the rules")?;
    let config = Config::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(demo(args, config))
}

async fn demo(args: DemoArgs, config: Config) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listen on loopback")?;
    let options = Options {
        data_dir: None,
        verify_signatures: true,
        test_clock: false,
        sync_every_commit: false,
    };
    let service = synclake_local::start(&config, &options, listener, Clock::system()).await?;
    let url = format!("http://{}", service.addr);
    println!(
        "Cognito Sync (synclake local) on {url}: pool {POOL}, {} identities",
        args.identities
    );
    let dev = super::demo_client(&url, "AKIDEMODEV", "demo-dev-secret");
    let mut devices: Vec<(Device, Device)> = (0..args.identities)
        .map(|i| {
            let (key, secret) = (format!("AKIDEMO{i}"), format!("demo-secret-{i}"));
            let id = identity(i);
            let seed = u64::from(i) * 2;
            (
                Device::new(super::demo_client(&url, &key, &secret), POOL, &id, seed),
                Device::new(super::demo_client(&url, &key, &secret), POOL, &id, seed + 1),
            )
        })
        .collect();
    let mut stats = DeviceStats::default();

    // Round 0 happens before streaming is on: only the bulk publish brings it to the table.
    for (phone, tablet) in &mut devices {
        let (a, b) = (phone.next_edits(now_ms(), 3), tablet.next_edits(now_ms(), 3));
        phone.sync(&a, &mut stats).await?;
        tablet.sync(&b, &mut stats).await?;
    }
    dev.set_identity_pool_configuration()
        .identity_pool_id(POOL)
        .cognito_streams(
            CognitoStreams::builder()
                .stream_name(STREAM)
                .role_arn("arn:aws:iam::123456789012:role/CognitoStreams")
                .streaming_status(StreamingStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    dev.set_cognito_events()
        .identity_pool_id(POOL)
        .events("SyncTrigger", TRIGGER)
        .send()
        .await?;
    println!(
        "Cognito Streams on (stream {STREAM}, embedded); Sync Trigger {TRIGGER} (rules in {})",
        args.work.join("rules.toml").display()
    );

    // The identity that deletes a dataset mid-run: the second, or the only one.
    let deleter = devices.len().min(2) - 1;
    for round in 1..args.rounds {
        for (i, (phone, tablet)) in devices.iter_mut().enumerate() {
            let n = 1 + (round as usize + i) % 4;
            let a = phone.next_edits(now_ms(), n);
            // Every fourth round the tablet edits the phone's records at the same moment: one of
            // the two pushes meets a stale sync count, pulls, and pushes again.
            let b = if round % 4 == 0 {
                a.iter()
                    .map(|e| Edit {
                        value: Some(format!("tablet-{round}")),
                        ..e.clone()
                    })
                    .collect()
            } else {
                tablet.next_edits(now_ms(), n)
            };
            let (mut sa, mut sb) = (DeviceStats::default(), DeviceStats::default());
            let (ra, rb) = tokio::join!(phone.sync(&a, &mut sa), tablet.sync(&b, &mut sb));
            ra?;
            rb?;
            for s in [sa, sb] {
                stats.syncs += s.syncs;
                stats.records += s.records;
                stats.removals += s.removals;
                stats.conflicts += s.conflicts;
                stats.rejected += s.rejected;
            }
            if round == 1 && i == 0 {
                // A bad value: the Sync Trigger refuses the whole sync.
                let bad = [Edit {
                    dataset: "game_state",
                    key: "level".into(),
                    value: Some("over 9000".into()),
                }];
                phone.sync(&bad, &mut stats).await?;
            }
            if round == args.rounds / 2 && i == deleter {
                let _ = phone
                    .sync(
                        &[Edit {
                            dataset: "scratch-demo",
                            key: "tmp".into(),
                            value: Some("x".into()),
                        }],
                        &mut stats,
                    )
                    .await;
                phone.delete("scratch-demo").await?;
            }
        }
    }
    println!(
        "devices: {} syncs, {} records changed ({} removals), {} conflicts resolved, {} syncs refused by the Sync Trigger",
        stats.syncs, stats.records, stats.removals, stats.conflicts, stats.rejected
    );

    dev.bulk_publish().identity_pool_id(POOL).send().await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = dev.get_bulk_publish_details().identity_pool_id(POOL).send().await?;
        match d.bulk_publish_status {
            Some(BulkPublishStatus::Succeeded) => break,
            Some(BulkPublishStatus::Failed) => anyhow::bail!("the bulk publish failed: {:?}", d.failure_message),
            _ if Instant::now() > deadline => anyhow::bail!("the bulk publish did not finish within 60 s"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    println!("bulk publish: SUCCEEDED (every dataset republished, including round 0's)");

    let code = write_table(&args, &service.store).await?;
    service.stop().await.context("stop the service")?;
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(code)
}

/// The embedded stream into the table, through `write_batch` (the path of `consume` and the
/// Lambda): one batch, file names tagged by stream position.
async fn write_table(args: &DemoArgs, service: &synclake_local::store::Store) -> anyhow::Result<ExitCode> {
    let rows = service.outbox_after(0, usize::MAX)?;
    let payloads: Vec<(String, Vec<u8>)> = rows
        .iter()
        .map(|r| (r.seq.to_string(), r.change.render_inline()))
        .collect();
    let items: Vec<_> = payloads
        .iter()
        .map(|(seq, data)| {
            Ok(SourceRecord {
                data: data.as_slice().into(),
                lineage: Lineage {
                    source: STREAM.into(),
                    position: Position::Sequence(seq.as_str().into()),
                    arrival_ms: None,
                },
            })
        })
        .collect();
    let out = args.out.display().to_string();
    let store = Store::open(
        &out,
        &S3Options::default(),
        &std::env::temp_dir().join("synclake-spool"),
    )?;
    let fetcher = Fetcher::new(FetchOptions::default())?;
    let tag_of = |i: usize| record_tag(&items[i]).unwrap_or_else(|| format!("{STREAM}-{i}"));
    let outcome = write_batch(&items, &tag_of, &store, &fetcher, &BatchOptions::default(), None).await;
    if let Some(failure) = outcome.failure {
        anyhow::bail!("writing the table failed: {failure}");
    }
    println!(
        "table {out}: {} stream records → {} rows in {} files, {} dead letters",
        items.len(),
        outcome.stats.rows,
        outcome.files,
        outcome.stats.dead_letters
    );
    println!();
    println!("query it, e.g. with DuckDB — rows per day, then the current value of every key (docs/table.md):");
    println!(
        "  SELECT dt, count(*) FROM read_parquet('{out}/dt=*/hr=*/*.parquet', hive_partitioning=true) GROUP BY dt ORDER BY dt;"
    );
    println!(
        "  SELECT * FROM (SELECT identity_id, dataset_name, key, arg_max(value, (dataset_sync_count, sync_count)) AS value\n    FROM read_parquet('{out}/dt=*/hr=*/*.parquet', hive_partitioning=true) WHERE key IS NOT NULL GROUP BY ALL) WHERE value IS NOT NULL;"
    );
    println!(
        "run the service yourself: synclake local --config {} --in-memory",
        args.work.join("local.toml").display()
    );
    Ok(if outcome.stats.dead_letters > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
