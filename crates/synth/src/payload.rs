//! The generator's state, and one payload: its kind, identity, dataset, sync
//! count and timestamp, and the JSON envelope around its records.
//!
//! Every random draw comes from one stream in a fixed order, which is what
//! makes a (`payloads`, `seed`, `start_ms`, `days`) name one output. Fields are
//! written in the order of the Cognito Streams documentation's example.

use std::io;
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::datasets::{Catalog, DATASETS};
use super::identity::Population;
use super::records::{RecordCtx, Scratch, write_records};
use super::s3url;
use super::timeline::Timeline;
use super::writers::{put_i64, put_str};
use super::{GenConfig, GenStats};

/// Inline records per payload are `1 + floor(Exp(mean))`, redrawn above 20.
const EXTRA_RECORDS_MEAN: f64 = 5.1;
const MAX_INLINE_RECORDS: u32 = 20;
/// Share of payloads that are `S3Url`.
const P_S3URL: f64 = 0.001;
/// Share of payloads that are record-less dataset deletions.
const P_RECORDLESS: f64 = 0.005;
/// Share of inline payloads that are bulk publishes with old timestamps.
const P_BULK: f64 = 0.02;
/// Share of payloads spelling the field `datasetName` (not `dataSetName`).
const P_LOWER_CASE_FIELD: f64 = 0.10;
/// Timestamp jitter of live payloads around their place on the timeline.
const JITTER_MS: i64 = 3_000;

enum PayloadKind {
    Inline { bulk: bool },
    Recordless,
    S3Url,
}

/// Everything that carries over from one payload to the next.
pub(super) struct Generator {
    rng: ChaCha8Rng,
    population: Population,
    catalog: Catalog,
    /// Dataset sync count per (identity, dataset); 0 until first touched.
    sync: Vec<u32>,
    timeline: Timeline,
    payloads: u64,
    seed: u64,
    /// Absolute directory for `S3Url` bodies, if they are written.
    s3_dir: Option<PathBuf>,
    scratch: Scratch,
    /// Reused buffer of `S3Url` bodies.
    body: Vec<u8>,
}

impl Generator {
    /// Seeds the stream and draws the population; `s3_dir` must be absolute.
    pub(super) fn new(cfg: &GenConfig, s3_dir: Option<PathBuf>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let population = Population::new(&mut rng);
        let sync = vec![0; population.len() * DATASETS.len()];
        Self {
            rng,
            population,
            catalog: Catalog::new(),
            sync,
            timeline: Timeline::new(cfg.start_ms, cfg.days),
            payloads: cfg.payloads,
            seed: cfg.seed,
            s3_dir,
            scratch: Scratch::default(),
            body: Vec::new(),
        }
    }

    /// Writes payload number `index` (without the newline) to `line` and
    /// counts it in `stats` (all but `payloads` and `bytes`).
    ///
    /// # Errors
    /// Writing an `S3Url` body fails (or, as a generator bug, writing JSON).
    pub(super) fn payload(&mut self, index: u64, line: &mut Vec<u8>, stats: &mut GenStats) -> io::Result<()> {
        let base = self.timeline.at(index, self.payloads);
        let jitter = self.rng.random_range(-JITTER_MS..=JITTER_MS);
        let live_ts = (base + jitter).clamp(self.timeline.start_ms, self.timeline.end_ms - 1);

        let roll: f64 = self.rng.random();
        let kind = if roll < P_S3URL {
            PayloadKind::S3Url
        } else if roll < P_S3URL + P_RECORDLESS {
            PayloadKind::Recordless
        } else {
            PayloadKind::Inline {
                bulk: self.rng.random_bool(P_BULK),
            }
        };

        let ident = self.population.pick(&mut self.rng);
        let ds = self.catalog.pick(&mut self.rng, matches!(kind, PayloadKind::S3Url));
        let slot = ident * DATASETS.len() + ds;
        if self.sync[slot] == 0 {
            let v: f64 = self.rng.random();
            self.sync[slot] = 1 + (v * v * 400.0) as u32;
        }
        let bulk = matches!(kind, PayloadKind::Inline { bulk: true });
        if !bulk {
            // A live sync bumps the count; a bulk publish repeats the current state.
            self.sync[slot] += if self.rng.random_bool(0.1) { 2 } else { 1 };
        }
        let sync = i64::from(self.sync[slot]);
        let lmd = if bulk {
            self.rng.random_range(self.timeline.start_ms..=live_ts)
        } else {
            live_ts
        };
        let lower_case_field = self.rng.random_bool(P_LOWER_CASE_FIELD);

        let identity = &self.population.identities[ident];
        let pool_id = &self.population.pools[identity.pool];
        let dataset = &DATASETS[ds];
        line.extend_from_slice(b"{\"identityPoolId\":");
        put_str(line, pool_id)?;
        line.extend_from_slice(b",\"identityId\":");
        put_str(line, &identity.id)?;
        line.extend_from_slice(if lower_case_field {
            b",\"datasetName\":"
        } else {
            b",\"dataSetName\":"
        });
        put_str(line, dataset.name)?;
        line.extend_from_slice(if matches!(kind, PayloadKind::Recordless) {
            b",\"operation\":\"remove\""
        } else {
            b",\"operation\":\"replace\""
        });
        let ctx = RecordCtx {
            dataset,
            key_total: self.catalog.key_total(ds),
            sync,
            lmd,
            skew_ms: identity.skew_ms,
        };
        let mut url: Option<String> = None;
        match kind {
            PayloadKind::Inline { .. } => {
                let n = loop {
                    let u: f64 = self.rng.random();
                    let n = (1.0 + (-(1.0 - u).ln() * EXTRA_RECORDS_MEAN).floor()) as u32;
                    if n <= MAX_INLINE_RECORDS {
                        break n;
                    }
                };
                line.extend_from_slice(b",\"kinesisSyncRecords\":[");
                let (records, removals) = write_records(line, &mut self.rng, &ctx, n, &mut self.scratch)?;
                line.push(b']');
                stats.records += records;
                stats.removals += removals;
            }
            PayloadKind::Recordless => {
                stats.recordless_payloads += 1;
                match self.rng.random_range(0..3) {
                    0 => {}
                    1 => line.extend_from_slice(b",\"kinesisSyncRecords\":null"),
                    _ => line.extend_from_slice(b",\"kinesisSyncRecords\":[]"),
                }
            }
            PayloadKind::S3Url => {
                stats.s3url_payloads += 1;
                line.extend_from_slice(b",\"kinesisSyncRecords\":null");
                let mut body_rng = s3url::body_rng(&mut self.rng, self.seed);
                url = Some(match &self.s3_dir {
                    Some(dir) => s3url::write_body(
                        dir,
                        index,
                        &mut body_rng,
                        &ctx,
                        &mut self.body,
                        &mut self.scratch,
                        stats,
                    )?,
                    None => s3url::presigned_url(&mut body_rng, pool_id, index),
                });
            }
        }
        line.extend_from_slice(b",\"lastModifiedDate\":");
        put_i64(line, lmd)?;
        line.extend_from_slice(b",\"kinesisSyncRecordsURL\":");
        match &url {
            Some(u) => put_str(line, u)?,
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(if url.is_some() {
            b",\"payloadType\":\"S3Url\",\"syncCount\":"
        } else {
            b",\"payloadType\":\"Inline\",\"syncCount\":"
        });
        put_i64(line, sync)?;
        line.push(b'}');
        Ok(())
    }
}
