//! Deterministic synthetic Amazon Cognito Streams traffic, as JSON Lines.
//!
//! Why it exists: Cognito Sync is closed to new customers and has no local
//! stand-in, so the demo, the tests and the benchmark need input that looks
//! like a real stream capture without AWS. The generator reproduces the parts
//! of real traffic that break naive consumers: both spellings of the dataset
//! name field (`dataSetName` / `datasetName`), record-less dataset deletions
//! (records absent, `null` or `[]`), `S3Url` payloads whose records live
//! elsewhere, bulk-publish payloads with old timestamps, removals with a null
//! or absent value, escapes, tabs, newlines, `|` and non-ASCII text inside
//! values, JSON documents stored as string values, and rare multi-KB values.
//!
//! Output is byte-for-byte reproducible for a given
//! (`payloads`, `seed`, `start_ms`, `days`), so benchmark runs and test
//! failures can be compared and replayed. The random stream does not depend on
//! `s3url_dir`: only the `kinesisSyncRecordsURL` of `S3Url` payloads differs
//! between a run with and one without it.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 2024-03-01T00:00:00Z in epoch milliseconds.
const DEFAULT_START_MS: i64 = 1_709_251_200_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Identities in all pools together.
const IDENTITIES: usize = 50_000;
/// (region, share of identities) of each identity pool.
const POOLS: [(&str, f64); 4] = [
    ("us-east-1", 0.45),
    ("eu-west-1", 0.25),
    ("us-east-1", 0.20),
    ("eu-west-1", 0.10),
];
/// Inline records per payload are `1 + floor(Exp(mean))`, redrawn above 20.
const EXTRA_RECORDS_MEAN: f64 = 5.1;
const MAX_INLINE_RECORDS: u32 = 20;
/// Share of payloads of each kind, and of records that are removals.
const P_S3URL: f64 = 0.001;
const P_RECORDLESS: f64 = 0.005;
const P_BULK: f64 = 0.02;
const P_LOWER_CASE_FIELD: f64 = 0.10;
const P_REMOVE: f64 = 0.05;
const P_REMOVE_VALUE_ABSENT: f64 = 0.10;
const P_DEVICE_DATE_ABSENT: f64 = 0.03;
/// Timestamp jitter of live payloads around their place on the timeline.
const JITTER_MS: i64 = 3_000;

/// What to generate: the knobs of a synthetic capture.
///
/// Why: one value fully determines the output (apart from where `S3Url` bodies
/// go), so a benchmark or test can name its input by this configuration alone.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Number of payloads (JSON lines) to write; the size of the capture.
    pub payloads: u64,
    /// Seed of the random stream; the same seed gives the same bytes.
    pub seed: u64,
    /// Start of the captured period in epoch milliseconds; live payload
    /// timestamps run from here across `days`.
    pub start_ms: i64,
    /// Length of the captured period in days (0 is treated as 1), which sets
    /// how many daily/hourly partitions the output spreads over.
    pub days: u32,
    /// Where to write the record arrays of `S3Url` payloads, referenced as
    /// `file://` URLs so they can be fetched offline; `None` writes nothing
    /// and uses presigned-looking `https` URLs that cannot be fetched.
    pub s3url_dir: Option<PathBuf>,
}

impl Default for GenConfig {
    /// Why: a sensible demo-sized capture — 10,000 payloads over the first
    /// week of March 2024, seed 42, no S3Url bodies written.
    fn default() -> Self {
        Self {
            payloads: 10_000,
            seed: 42,
            start_ms: DEFAULT_START_MS,
            days: 7,
            s3url_dir: None,
        }
    }
}

/// Counts of what [`generate`] wrote.
///
/// Why: callers (the CLI, the benchmark, tests) report throughput and check
/// the converted table against these numbers without re-reading the input.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GenStats {
    /// JSON lines written.
    pub payloads: u64,
    /// Sync records written: inline ones plus those in `S3Url` bodies that
    /// were written to `s3url_dir` (none when it is `None`).
    pub records: u64,
    /// Bytes of JSON Lines written, newlines included.
    pub bytes: u64,
    /// Payloads with `"payloadType":"S3Url"`.
    pub s3url_payloads: u64,
    /// Dataset deletions carrying no records and no URL.
    pub recordless_payloads: u64,
    /// Records with `"op":"remove"` among those counted in `records`.
    pub removals: u64,
}

/// Writes `cfg.payloads` Cognito Streams payloads to `out`, one per line.
///
/// Why: the single entry point for making realistic, reproducible input for
/// the converter; see the module documentation for what it contains. `out` is
/// buffered internally and flushed before returning.
///
/// # Errors
/// Any I/O error from `out`, or from creating `s3url_dir` and writing the
/// `S3Url` bodies into it.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> io::Result<GenStats> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let s3_dir = match &cfg.s3url_dir {
        Some(dir) => {
            fs::create_dir_all(dir)?;
            Some(std::path::absolute(dir)?)
        }
        None => None,
    };
    let mut g = Generator::new(cfg);
    let mut stats = GenStats::default();
    let mut line: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut body: Vec<u8> = Vec::new();
    for i in 0..cfg.payloads {
        line.clear();
        g.payload(i, &mut line, &mut body, s3_dir.as_deref(), &mut stats)?;
        line.push(b'\n');
        out.write_all(&line)?;
        stats.payloads += 1;
        stats.bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(stats)
}

// ---------------------------------------------------------------------------
// Vocabulary

/// How the value of a key is made.
#[derive(Clone, Copy)]
enum Kind {
    /// An integer in the range, as a string.
    Int(i64, i64),
    /// A fraction in [0, 1] with two decimals, as a string.
    Frac,
    Bool,
    Word(&'static [&'static str]),
    Name,
    Url,
    /// Epoch milliseconds a little before the record, as a string.
    EpochMs,
    /// ISO-8601 time a little before the record.
    IsoTime,
    /// Lowercase hex of a length in the range.
    Hex(u32, u32),
    /// Chat-like text; `long` per mille of values are a few KB long.
    Text {
        long: u32,
    },
    GameState,
    Item,
    Receipt {
        long: u32,
    },
    LevelStats,
    Layout,
    Notification,
    IdList,
}

/// One key, or a numbered family of keys (`prefix` + `first..first+count`).
#[derive(Clone, Copy)]
struct KeySpec {
    name: &'static str,
    first: u32,
    count: u32,
    numbered: bool,
    kind: Kind,
}

const fn one(name: &'static str, kind: Kind) -> KeySpec {
    KeySpec {
        name,
        first: 0,
        count: 1,
        numbered: false,
        kind,
    }
}

const fn many(name: &'static str, first: u32, count: u32, kind: Kind) -> KeySpec {
    KeySpec {
        name,
        first,
        count,
        numbered: true,
        kind,
    }
}

struct Dataset {
    name: &'static str,
    /// Relative popularity among inline payloads.
    weight: u32,
    /// Big enough to be sent as an S3Url payload.
    big: bool,
    keys: &'static [KeySpec],
}

const NAMES: &[&str] = &[
    "Zoë",
    "Jürgen",
    "Łukasz",
    "José",
    "Søren",
    "Ærøskøbing",
    "山田太郎",
    "さくら",
    "김민준",
    "Ольга",
    "Αλέξανδρος",
    "O'Brien",
    "\"Ace\" Rimmer",
    "back\\slash",
    "Mia 🎧",
    "Renée",
    "François",
    "Björk",
    "Nguyễn Văn An",
    "محمد",
    "xXsniperXx",
    "n00b_slayer",
    "Dr. Pixel",
    "ŻółwBoss",
    "Straße|Kid",
    "Ana María",
];
const WORDS: &[&str] = &[
    "gg",
    "nice",
    "run",
    "team",
    "up?",
    "ok",
    "lol",
    "brb",
    "wanna",
    "raid",
    "tonight",
    "at",
    "9pm",
    "boss",
    "loot",
    "again",
    "the",
    "is",
    "we",
    "need",
    "a",
    "healer",
    "Schöne",
    "Grüße",
    "très",
    "bien",
    "café",
    "naïve",
    "Straße",
    "日本語",
    "こんにちは",
    "ありがとう",
    "🎮",
    "🔥",
    "👍🏽",
    "😀",
    "👨‍👩‍👧",
    "Привет",
    "друг",
    "¿qué",
    "tal?",
    "Zoë",
    "|",
    "a|b",
    "\"quoted\"",
    "back\\slash",
    "100%",
    "<b>bold</b>",
    "&amp;",
    "Ærø",
    "€5",
    "{not:json}",
    "C:\\Games\\save",
    "ok!",
    "see",
    "you",
    "tomorrow",
    "level",
    "42",
    "done",
    "🙂",
];
const CHECKPOINTS: &[&str] = &[
    "forest-2",
    "castle:gate",
    "boss_room",
    "tutorial",
    "Château d'If",
    "dungeon|B3",
    "sky.temple",
    "万里の長城",
];
const DIFFICULTY: &[&str] = &["easy", "normal", "hard", "nightmare"];
const COUNTRIES: &[&str] = &["DE", "FR", "JP", "US", "BR", "ES", "PL", "GB", "KR", "SE"];
const LOCALES: &[&str] = &["en-US", "de-DE", "ja-JP", "fr-FR", "pt-BR", "es-ES", "ko-KR"];
const PRONOUNS: &[&str] = &["she/her", "he/him", "they/them", ""];
const THEMES: &[&str] = &["dark", "light", "system", "high-contrast", "solarized:dark"];
const KEYBINDS: &[&str] = &[
    "W",
    "A",
    "S",
    "D",
    "Space",
    "Ctrl+Shift+K",
    "Mouse4",
    "Ä",
    "Ö",
    "`",
    "\\",
    "|",
    "\t",
];
const MODELS: &[&str] = &[
    "iPhone15,2",
    "Pixel 8 Pro",
    "SM-S918B",
    "iPad13,4",
    "Quest 3",
    "Nintendo Switch",
    "Steam Deck",
];
const OSES: &[&str] = &[
    "iOS 17.3.1",
    "Android 14",
    "iPadOS 17.2",
    "Windows 11 23H2",
    "SteamOS 3.5",
];
const QUALITY: &[&str] = &["low", "medium", "high", "ultra", "custom|1080p|60"];
const HOTBAR: &[&str] = &["sword", "bow", "potion:red", "potion:blue", "map", "torch", "—"];
const ITEMS: &[&str] = &[
    "sword_of_Ærø",
    "health_potion",
    "Schild der Ewigkeit",
    "magic-wand",
    "dragon:egg",
    "日本刀",
    "🍄 mushroom",
    "arrow",
    "key|gold",
];
const ENCHANTS: &[&str] = &["fire", "ice", "poison", "lightning", "☄ meteor", "soul|bound"];
const TAGS: &[&str] = &[
    "a\"b",
    "c\\d",
    "speed-run",
    "日本",
    "co-op|pvp",
    "line\nbreak",
    "🏆",
    "pro",
];
const SKUS: &[&str] = &[
    "gems_500",
    "gems_1200",
    "starter.pack",
    "season-pass:2024",
    "remove_ads",
];
const CURRENCIES: &[&str] = &["USD", "EUR", "JPY", "GBP", "BRL", "KRW"];
const PRICES: &[&str] = &["0.99", "4.99", "9.99", "19.99", "49.99", "1200", "¥980"];
const STORES: &[&str] = &["google|play", "app_store", "steam", "amazon"];
const PANELS: &[&str] = &["map", "chat", "party", "quests", "inventory"];

const DATASETS: &[Dataset] = &[
    Dataset {
        name: "game_state",
        weight: 22,
        big: false,
        keys: &[
            one("highScore", Kind::Int(0, 250_000)),
            one("level", Kind::Int(1, 120)),
            one("lives", Kind::Int(0, 5)),
            one("coins", Kind::Int(0, 99_999)),
            one("checkpoint", Kind::Word(CHECKPOINTS)),
            one("lastPlayed", Kind::IsoTime),
            one("state.blob", Kind::GameState),
            one("difficulty", Kind::Word(DIFFICULTY)),
            one("tutorial:done", Kind::Bool),
            many("save_slot_", 1, 4, Kind::GameState),
            many("stat_", 0, 16, Kind::Int(0, 10_000)),
        ],
    },
    Dataset {
        name: "profile",
        weight: 8,
        big: false,
        keys: &[
            one("displayName", Kind::Name),
            one("avatar.url", Kind::Url),
            one("bio", Kind::Text { long: 5 }),
            one("country", Kind::Word(COUNTRIES)),
            one("birthYear", Kind::Int(1950, 2012)),
            one("email-verified", Kind::Bool),
            one("locale", Kind::Word(LOCALES)),
            one("pronouns", Kind::Word(PRONOUNS)),
            one("social:handle", Kind::Name),
            one("tagline", Kind::Text { long: 0 }),
        ],
    },
    Dataset {
        name: "settings",
        weight: 12,
        big: false,
        keys: &[
            one("settings:theme", Kind::Word(THEMES)),
            one("settings:lang", Kind::Word(LOCALES)),
            one("volume.master", Kind::Frac),
            one("volume.music", Kind::Frac),
            one("volume.sfx", Kind::Frac),
            one("notifications.enabled", Kind::Bool),
            one("ui.scale", Kind::Frac),
            one("controls|invertY", Kind::Bool),
            many("keybind_", 0, 30, Kind::Word(KEYBINDS)),
        ],
    },
    Dataset {
        name: "inventory",
        weight: 12,
        big: false,
        keys: &[
            many("inv_slot_", 0, 48, Kind::Item),
            one("gold", Kind::Int(0, 1_000_000)),
            one("gems", Kind::Int(0, 5_000)),
        ],
    },
    Dataset {
        name: "achievements",
        weight: 7,
        big: false,
        keys: &[many("ach_", 1, 80, Kind::EpochMs)],
    },
    Dataset {
        name: "friends",
        weight: 6,
        big: true,
        keys: &[many("friend:", 1000, 500, Kind::Name), one("blocked", Kind::IdList)],
    },
    Dataset {
        name: "purchases",
        weight: 3,
        big: false,
        keys: &[
            many("receipt_", 1, 100, Kind::Receipt { long: 15 }),
            one("entitlements", Kind::Word(SKUS)),
        ],
    },
    Dataset {
        name: "device.prefs",
        weight: 6,
        big: false,
        keys: &[
            one("device:model", Kind::Word(MODELS)),
            one("os.version", Kind::Word(OSES)),
            one("push-token", Kind::Hex(64, 160)),
            one("lastSeen", Kind::EpochMs),
            one("graphics.quality", Kind::Word(QUALITY)),
            one("fps_cap", Kind::Int(30, 144)),
            many("device-id-", 1, 4, Kind::Hex(16, 16)),
        ],
    },
    Dataset {
        name: "ui:layout",
        weight: 4,
        big: false,
        keys: &[
            one("panel.left|width", Kind::Int(120, 640)),
            one("panel.right|width", Kind::Int(120, 640)),
            one("layout", Kind::Layout),
            one("minimap:zoom", Kind::Frac),
            many("hotbar_", 0, 10, Kind::Word(HOTBAR)),
        ],
    },
    Dataset {
        name: "chat_history",
        weight: 10,
        big: true,
        keys: &[many("msg_", 0, 500, Kind::Text { long: 6 })],
    },
    Dataset {
        name: "level-progress",
        weight: 8,
        big: false,
        keys: &[many("level-", 1, 60, Kind::LevelStats), one("world", Kind::Int(1, 8))],
    },
    Dataset {
        name: "notifications",
        weight: 2,
        big: true,
        keys: &[
            many("notif_", 0, 200, Kind::Notification),
            one("last_seen", Kind::EpochMs),
        ],
    },
];

// ---------------------------------------------------------------------------
// The generator

struct Identity {
    pool: usize,
    id: String,
    /// Device clock skew of this identity's device, milliseconds.
    skew_ms: i64,
}

/// Reused buffers, so a payload allocates nothing once they have grown.
#[derive(Default)]
struct Scratch {
    key: Vec<u8>,
    value: Vec<u8>,
    inner: Vec<u8>,
    aux: Vec<u8>,
    chosen: Vec<u32>,
}

/// Where the records of one payload sit: dataset, counts and times.
struct RecordCtx<'a> {
    dataset: &'a Dataset,
    sync: i64,
    lmd: i64,
    skew_ms: i64,
}

struct Generator {
    rng: ChaCha8Rng,
    pools: Vec<String>,
    identities: Vec<Identity>,
    /// Dataset sync count per (identity, dataset); 0 until first touched.
    sync: Vec<u32>,
    /// Number of keys of each dataset.
    key_totals: Vec<u32>,
    weight_total: u32,
    timeline: Timeline,
    start_ms: i64,
    payloads: u64,
    seed: u64,
    scratch: Scratch,
}

enum PayloadKind {
    Inline { bulk: bool },
    Recordless,
    S3Url,
}

impl Generator {
    fn new(cfg: &GenConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut pools = Vec::with_capacity(POOLS.len());
        for (region, _) in POOLS {
            pools.push(region_uuid(region, &mut rng));
        }
        let mut identities = Vec::with_capacity(IDENTITIES);
        for _ in 0..IDENTITIES {
            let u: f64 = rng.random();
            let mut pool = POOLS.len() - 1;
            let mut acc = 0.0;
            for (p, (_, share)) in POOLS.iter().enumerate() {
                acc += share;
                if u < acc {
                    pool = p;
                    break;
                }
            }
            let id = region_uuid(POOLS[pool].0, &mut rng);
            let skew_ms = match rng.random_range(0..100) {
                0..60 => rng.random_range(-5_000..=5_000),
                60..95 => rng.random_range(-180_000..=180_000),
                _ => rng.random_range(-1_800_000..=1_800_000),
            };
            identities.push(Identity { pool, id, skew_ms });
        }
        let key_totals = DATASETS.iter().map(|d| d.keys.iter().map(|k| k.count).sum()).collect();
        Self {
            rng,
            pools,
            identities,
            sync: vec![0; IDENTITIES * DATASETS.len()],
            key_totals,
            weight_total: DATASETS.iter().map(|d| d.weight).sum(),
            timeline: Timeline::new(cfg.start_ms, cfg.days),
            start_ms: cfg.start_ms,
            payloads: cfg.payloads,
            seed: cfg.seed,
            scratch: Scratch::default(),
        }
    }

    fn pick_dataset(&mut self, big_only: bool) -> usize {
        if big_only {
            let bigs = DATASETS.iter().filter(|d| d.big).count();
            let nth = self.rng.random_range(0..bigs);
            return DATASETS
                .iter()
                .enumerate()
                .filter(|(_, d)| d.big)
                .nth(nth)
                .map_or(0, |(i, _)| i);
        }
        let mut r = self.rng.random_range(0..self.weight_total);
        for (i, d) in DATASETS.iter().enumerate() {
            if r < d.weight {
                return i;
            }
            r -= d.weight;
        }
        0
    }

    /// Writes payload number `index` (without the newline) to `line`.
    fn payload(
        &mut self,
        index: u64,
        line: &mut Vec<u8>,
        body: &mut Vec<u8>,
        s3_dir: Option<&Path>,
        stats: &mut GenStats,
    ) -> io::Result<()> {
        let base = self.timeline.at(index, self.payloads);
        let jitter = self.rng.random_range(-JITTER_MS..=JITTER_MS);
        let live_ts = (base + jitter).clamp(self.start_ms, self.timeline.end_ms - 1);

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

        // Active identities sync far more often than the long tail.
        let u: f64 = self.rng.random();
        let ident = ((u.powf(2.2) * IDENTITIES as f64) as usize).min(IDENTITIES - 1);
        let ds = self.pick_dataset(matches!(kind, PayloadKind::S3Url));
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
            self.rng.random_range(self.start_ms..=live_ts)
        } else {
            live_ts
        };
        let lower_case_field = self.rng.random_bool(P_LOWER_CASE_FIELD);

        let identity = &self.identities[ident];
        let dataset = &DATASETS[ds];
        line.extend_from_slice(b"{\"identityPoolId\":");
        put_str(line, &self.pools[identity.pool])?;
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
                let (records, removals) =
                    write_records(line, &mut self.rng, &ctx, n, self.key_totals[ds], &mut self.scratch)?;
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
                // The body has its own random stream, so the main stream is the
                // same whether or not bodies are written.
                let body_seed: u64 = self.rng.random();
                let mut body_rng = ChaCha8Rng::seed_from_u64(body_seed ^ self.seed);
                match s3_dir {
                    Some(dir) => {
                        let n = body_rng.random_range(20..=200);
                        body.clear();
                        body.push(b'[');
                        let (records, removals) =
                            write_records(body, &mut body_rng, &ctx, n, self.key_totals[ds], &mut self.scratch)?;
                        body.push(b']');
                        let path = dir.join(format!("{index}.json"));
                        fs::write(&path, &body[..])?;
                        stats.records += records;
                        stats.removals += removals;
                        url = Some(file_url(&path));
                    }
                    None => {
                        let mut u = String::with_capacity(200);
                        u.push_str("https://cognito-sync-bulk.s3.amazonaws.com/");
                        u.push_str(&self.pools[identity.pool]);
                        u.push('/');
                        u.push_str(&index.to_string());
                        u.push_str(".json?X-Amz-Expires=900&X-Amz-Signature=");
                        for _ in 0..64 {
                            u.push(char::from(HEX[body_rng.random_range(0..16)]));
                        }
                        url = Some(u);
                    }
                }
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

/// Writes `n` comma-separated record objects (distinct keys) to `buf` and
/// returns (records, removals).
fn write_records(
    buf: &mut Vec<u8>,
    rng: &mut ChaCha8Rng,
    ctx: &RecordCtx<'_>,
    n: u32,
    key_total: u32,
    s: &mut Scratch,
) -> io::Result<(u64, u64)> {
    let n = n.min(key_total);
    s.chosen.clear();
    while s.chosen.len() < n as usize {
        let k = rng.random_range(0..key_total);
        if !s.chosen.contains(&k) {
            s.chosen.push(k);
        }
    }
    let mut removals = 0;
    for i in 0..s.chosen.len() {
        let spec = key_spec(ctx.dataset, s.chosen[i], &mut s.key);
        if i > 0 {
            buf.push(b',');
        }
        // Most records changed in this sync; some carry an older version.
        let (sync, lmd) = if ctx.sync > 1 && rng.random_bool(0.15) {
            let back = rng.random_range(1..=(ctx.sync - 1).min(8));
            let age = back * rng.random_range(60_000..=6 * HOUR_MS);
            (ctx.sync - back, (ctx.lmd - age).max(0))
        } else {
            (ctx.sync, ctx.lmd - rng.random_range(0..=40))
        };
        let remove = rng.random_bool(P_REMOVE);
        buf.extend_from_slice(b"{\"key\":");
        put_str(buf, utf8(&s.key)?)?;
        if remove {
            removals += 1;
            if !rng.random_bool(P_REMOVE_VALUE_ABSENT) {
                buf.extend_from_slice(b",\"value\":null");
            }
        } else {
            s.value.clear();
            make_value(rng, spec.kind, lmd, &mut s.value, &mut s.inner, &mut s.aux)?;
            buf.extend_from_slice(b",\"value\":");
            put_str(buf, utf8(&s.value)?)?;
        }
        buf.extend_from_slice(b",\"syncCount\":");
        put_i64(buf, sync)?;
        buf.extend_from_slice(b",\"lastModifiedDate\":");
        put_i64(buf, lmd)?;
        if !rng.random_bool(P_DEVICE_DATE_ABSENT) {
            // The device wrote a little before the server saw it, by its own clock.
            let device = lmd - rng.random_range(20..=2_500) + ctx.skew_ms;
            buf.extend_from_slice(b",\"deviceLastModifiedDate\":");
            put_i64(buf, device.max(0))?;
        }
        buf.extend_from_slice(if remove {
            b",\"op\":\"remove\"}"
        } else {
            b",\"op\":\"replace\"}"
        });
    }
    Ok((s.chosen.len() as u64, removals))
}

/// Writes key number `k` of `dataset` to `key` and returns its spec.
fn key_spec(dataset: &Dataset, mut k: u32, key: &mut Vec<u8>) -> KeySpec {
    key.clear();
    let mut found = dataset.keys[0];
    for spec in dataset.keys {
        if k < spec.count {
            found = *spec;
            break;
        }
        k -= spec.count;
    }
    key.extend_from_slice(found.name.as_bytes());
    if found.numbered {
        push_u64(key, u64::from(found.first + k));
    }
    found
}

/// Writes a value of `kind` for a record last modified at `ts` to `out`;
/// `inner` and `aux` are scratch space for JSON-in-string values.
fn make_value(
    rng: &mut ChaCha8Rng,
    kind: Kind,
    ts: i64,
    out: &mut Vec<u8>,
    inner: &mut Vec<u8>,
    aux: &mut Vec<u8>,
) -> io::Result<()> {
    match kind {
        Kind::Int(lo, hi) => push_i64(out, rng.random_range(lo..=hi)),
        Kind::Frac => {
            let v: u32 = rng.random_range(0..=100);
            match v {
                100 => out.push(b'1'),
                0 => out.push(b'0'),
                _ => {
                    out.extend_from_slice(b"0.");
                    if v < 10 {
                        out.push(b'0');
                    }
                    push_u64(out, u64::from(if v.is_multiple_of(10) { v / 10 } else { v }));
                }
            }
        }
        Kind::Bool => out.extend_from_slice(if rng.random_bool(0.5) { b"true" } else { b"false" }),
        Kind::Word(words) => out.extend_from_slice(pick(rng, words).as_bytes()),
        Kind::Name => push_name(rng, out),
        Kind::Url => {
            out.extend_from_slice(b"https://cdn.example.com/avatars/");
            push_hex(rng, out, 32);
            out.extend_from_slice(b".png?v=");
            push_u64(out, rng.random_range(1..=9));
        }
        Kind::EpochMs => push_i64(out, ts - rng.random_range(0..=30 * DAY_MS)),
        Kind::IsoTime => push_iso(out, ts - rng.random_range(0..=2 * DAY_MS)),
        Kind::Hex(lo, hi) => {
            let n = rng.random_range(lo..=hi);
            push_hex(rng, out, n as usize);
        }
        Kind::Text { long } => {
            let target = if rng.random_range(0..1000) < long {
                rng.random_range(1_500..=6_000)
            } else {
                0
            };
            push_text(rng, out, target);
        }
        Kind::GameState => {
            inner.clear();
            inner.extend_from_slice(b"{\"level\":");
            push_i64(inner, rng.random_range(1..=120));
            inner.extend_from_slice(b",\"name\":");
            aux.clear();
            push_name(rng, aux);
            put_str(inner, utf8(aux)?)?;
            inner.extend_from_slice(b",\"tags\":[");
            for t in 0..rng.random_range(0..=3) {
                if t > 0 {
                    inner.push(b',');
                }
                put_str(inner, pick(rng, TAGS))?;
            }
            inner.extend_from_slice(b"],\"pos\":{\"x\":");
            put_f64(inner, f64::from(rng.random_range(-4000..=4000)) / 4.0)?;
            inner.extend_from_slice(b",\"y\":");
            put_f64(inner, f64::from(rng.random_range(-4000..=4000)) / 8.0)?;
            inner.extend_from_slice(b"},\"hp\":");
            push_i64(inner, rng.random_range(0..=100));
            inner.extend_from_slice(b",\"flags\":{\"tutorial\":");
            inner.extend_from_slice(if rng.random_bool(0.8) { b"true" } else { b"false" });
            inner.extend_from_slice(b"}}");
            out.extend_from_slice(inner);
        }
        Kind::Item => {
            inner.clear();
            inner.extend_from_slice(b"{\"item\":");
            put_str(inner, pick(rng, ITEMS))?;
            inner.extend_from_slice(b",\"qty\":");
            push_i64(inner, rng.random_range(1..=99));
            inner.extend_from_slice(b",\"dur\":");
            put_f64(inner, f64::from(rng.random_range(0..=100)) / 100.0)?;
            inner.extend_from_slice(b",\"ench\":[");
            for t in 0..rng.random_range(0..=2) {
                if t > 0 {
                    inner.push(b',');
                }
                put_str(inner, pick(rng, ENCHANTS))?;
            }
            inner.extend_from_slice(b"]}");
            out.extend_from_slice(inner);
        }
        Kind::Receipt { long } => {
            inner.clear();
            inner.extend_from_slice(b"{\"sku\":");
            put_str(inner, pick(rng, SKUS))?;
            inner.extend_from_slice(b",\"price\":");
            put_str(inner, pick(rng, PRICES))?;
            inner.extend_from_slice(b",\"currency\":");
            put_str(inner, pick(rng, CURRENCIES))?;
            inner.extend_from_slice(b",\"orderId\":\"GPA.");
            push_u64(inner, rng.random_range(1000..=9999));
            inner.push(b'-');
            push_u64(inner, rng.random_range(1000..=9999));
            inner.extend_from_slice(b"\",\"store\":");
            put_str(inner, pick(rng, STORES))?;
            inner.extend_from_slice(b",\"ts\":");
            push_i64(inner, ts);
            if rng.random_range(0..1000) < long {
                inner.extend_from_slice(b",\"receipt\":\"");
                let n = rng.random_range(2_000..=6_000);
                for _ in 0..n {
                    inner.push(BASE64[rng.random_range(0..64)]);
                }
                inner.extend_from_slice(b"==\"");
            }
            inner.push(b'}');
            out.extend_from_slice(inner);
        }
        Kind::LevelStats => {
            inner.clear();
            inner.extend_from_slice(b"{\"stars\":");
            push_i64(inner, rng.random_range(0..=3));
            inner.extend_from_slice(b",\"best_ms\":");
            push_i64(inner, rng.random_range(15_000..=600_000));
            inner.extend_from_slice(b",\"deaths\":");
            push_i64(inner, rng.random_range(0..=40));
            inner.extend_from_slice(b",\"ghost\":null}");
            out.extend_from_slice(inner);
        }
        Kind::Layout => {
            inner.clear();
            inner.extend_from_slice(b"{\"panels\":[");
            for p in 0..rng.random_range(1..=4) {
                if p > 0 {
                    inner.push(b',');
                }
                inner.extend_from_slice(b"{\"id\":");
                put_str(inner, pick(rng, PANELS))?;
                for field in [&b",\"x\":"[..], b",\"y\":", b",\"w\":", b",\"h\":"] {
                    inner.extend_from_slice(field);
                    push_i64(inner, rng.random_range(0..=1920));
                }
                inner.push(b'}');
            }
            inner.extend_from_slice(b"],\"dock\":\"left\"}");
            out.extend_from_slice(inner);
        }
        Kind::Notification => {
            inner.clear();
            inner.extend_from_slice(b"{\"title\":");
            aux.clear();
            push_text(rng, aux, 0);
            put_str(inner, utf8(aux)?)?;
            inner.extend_from_slice(b",\"read\":");
            inner.extend_from_slice(if rng.random_bool(0.6) { b"true" } else { b"false" });
            inner.extend_from_slice(b",\"ts\":");
            push_i64(inner, ts - rng.random_range(0..=DAY_MS));
            inner.push(b'}');
            out.extend_from_slice(inner);
        }
        Kind::IdList => {
            out.push(b'[');
            for i in 0..rng.random_range(0..=4) {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"us-east-1:");
                out.extend_from_slice(&uuid_hex(rng));
                out.push(b'"');
            }
            out.push(b']');
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Time

/// Maps payload index to a timestamp across the period, with more traffic in
/// the evening (UTC) and at weekends, like a real capture.
struct Timeline {
    start_ms: i64,
    end_ms: i64,
    /// Cumulative weight at the start of each hour; one more entry than hours.
    cumulative: Vec<f64>,
    /// Current hour (indices only move forward).
    hour: usize,
}

impl Timeline {
    fn new(start_ms: i64, days: u32) -> Self {
        let hours = days.max(1) as usize * 24;
        let mut cumulative = Vec::with_capacity(hours + 1);
        let mut acc = 0.0;
        cumulative.push(acc);
        for h in 0..hours {
            let t = start_ms + h as i64 * HOUR_MS;
            let hour_of_day = t.rem_euclid(DAY_MS) / HOUR_MS;
            let weekday = (t.div_euclid(DAY_MS) + 4).rem_euclid(7); // 0 = Sunday
            let phase = (hour_of_day as f64 - 19.0) / 24.0 * std::f64::consts::TAU;
            let mut w = 1.0 + 0.6 * phase.cos();
            if weekday == 0 || weekday == 6 {
                w *= 1.2;
            }
            acc += w;
            cumulative.push(acc);
        }
        Self {
            start_ms,
            end_ms: start_ms + hours as i64 * HOUR_MS,
            cumulative,
            hour: 0,
        }
    }

    /// The place of payload `index` of `total` on the timeline (monotone).
    fn at(&mut self, index: u64, total: u64) -> i64 {
        let hours = self.cumulative.len() - 1;
        let target = (index as f64 + 0.5) / total.max(1) as f64 * self.cumulative[hours];
        while self.hour + 1 < hours && self.cumulative[self.hour + 1] <= target {
            self.hour += 1;
        }
        let lo = self.cumulative[self.hour];
        let hi = self.cumulative[self.hour + 1];
        let within = ((target - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.start_ms + self.hour as i64 * HOUR_MS + (within * HOUR_MS as f64) as i64
    }
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn push_iso(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    push_padded(out, year, 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, rem / HOUR_MS, 2);
    out.push(b':');
    push_padded(out, rem / 60_000 % 60, 2);
    out.push(b':');
    push_padded(out, rem / 1000 % 60, 2);
    out.push(b'.');
    push_padded(out, rem % 1000, 3);
    out.push(b'Z');
}

// ---------------------------------------------------------------------------
// Small writers

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn pick(rng: &mut ChaCha8Rng, words: &'static [&'static str]) -> &'static str {
    words[rng.random_range(0..words.len())]
}

fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(io::Error::other)
}

/// Writes `s` as a JSON string literal (quoted and escaped by serde_json).
fn put_str(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    serde_json::to_writer(buf, s).map_err(io::Error::from)
}

fn put_i64(buf: &mut Vec<u8>, v: i64) -> io::Result<()> {
    serde_json::to_writer(buf, &v).map_err(io::Error::from)
}

fn put_f64(buf: &mut Vec<u8>, v: f64) -> io::Result<()> {
    serde_json::to_writer(buf, &v).map_err(io::Error::from)
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

fn push_padded(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut digits = Vec::with_capacity(width);
    push_i64(&mut digits, v);
    for _ in digits.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(&digits);
}

fn push_hex(rng: &mut ChaCha8Rng, out: &mut Vec<u8>, n: usize) {
    for _ in 0..n {
        out.push(HEX[rng.random_range(0..16)]);
    }
}

fn push_name(rng: &mut ChaCha8Rng, out: &mut Vec<u8>) {
    if rng.random_bool(0.35) {
        out.extend_from_slice(b"player_");
        push_u64(out, rng.random_range(1..=99_999));
    } else {
        out.extend_from_slice(pick(rng, NAMES).as_bytes());
        if rng.random_bool(0.3) {
            push_u64(out, rng.random_range(1..=99));
        }
    }
}

/// Chat-like text of 1–14 words, or of at least `min_len` bytes when that is
/// larger; separators are mostly spaces, sometimes newlines, tabs or ` | `.
fn push_text(rng: &mut ChaCha8Rng, out: &mut Vec<u8>, min_len: usize) {
    let start = out.len();
    let words = rng.random_range(1..=14);
    let mut i = 0;
    while i < words || out.len() - start < min_len {
        if i > 0 {
            let sep: &[u8] = match rng.random_range(0..100) {
                0..3 => b"\n",
                3..5 => b"\t",
                5..6 => b" | ",
                _ => b" ",
            };
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(pick(rng, WORDS).as_bytes());
        i += 1;
    }
}

/// A random version-4 UUID in lowercase hex, `8-4-4-4-12`.
fn uuid_hex(rng: &mut ChaCha8Rng) -> [u8; 36] {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0x0f)];
        at += 2;
    }
    out
}

/// `region:` followed by a random UUID, the form of pool and identity ids.
fn region_uuid(region: &str, rng: &mut ChaCha8Rng) -> String {
    let mut s = String::with_capacity(region.len() + 37);
    s.push_str(region);
    s.push(':');
    s.extend(uuid_hex(rng).iter().map(|&b| char::from(b)));
    s
}

/// `file://` URL of an absolute path, percent-encoding all but unreserved
/// characters and `/`.
fn file_url(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut url = String::with_capacity(bytes.len() + 8);
    url.push_str("file://");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            url.push(char::from(b));
        } else {
            url.push('%');
            url.push(char::from(HEX[usize::from(b >> 4)].to_ascii_uppercase()));
            url.push(char::from(HEX[usize::from(b & 0x0f)].to_ascii_uppercase()));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashSet;

    fn run(cfg: &GenConfig) -> (Vec<u8>, GenStats) {
        let mut out = Vec::new();
        let stats = generate(cfg, &mut out).expect("generate");
        (out, stats)
    }

    fn cfg(payloads: u64, seed: u64) -> GenConfig {
        GenConfig {
            payloads,
            seed,
            ..GenConfig::default()
        }
    }

    fn lines(out: &[u8]) -> Vec<Value> {
        std::str::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("line is JSON"))
            .collect()
    }

    fn file_path(url: &str) -> PathBuf {
        let rest = url.strip_prefix("file://").expect("file url");
        let mut bytes = Vec::new();
        let mut it = rest.bytes();
        while let Some(b) = it.next() {
            if b == b'%' {
                let hi = it.next().expect("hex");
                let lo = it.next().expect("hex");
                let s = [hi, lo];
                let hex = std::str::from_utf8(&s).expect("ascii");
                bytes.push(u8::from_str_radix(hex, 16).expect("hex"));
            } else {
                bytes.push(b);
            }
        }
        PathBuf::from(String::from_utf8(bytes).expect("utf-8 path"))
    }

    #[test]
    fn deterministic_per_seed() {
        let (a, sa) = run(&cfg(3_000, 1));
        let (b, sb) = run(&cfg(3_000, 1));
        let (c, _) = run(&cfg(3_000, 2));
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_ne!(a, c);
        assert_eq!(sa.bytes, a.len() as u64);
        assert_eq!(sa.payloads, 3_000);
    }

    #[test]
    fn defaults_are_as_documented() {
        let c = GenConfig::default();
        assert_eq!(
            (c.payloads, c.seed, c.start_ms, c.days),
            (10_000, 42, 1_709_251_200_000, 7)
        );
        assert!(c.s3url_dir.is_none());
        let mut iso = Vec::new();
        push_iso(&mut iso, c.start_ms + 3_723_004);
        assert_eq!(iso, b"2024-03-01T01:02:03.004Z");
    }

    #[test]
    fn zero_payloads_writes_nothing() {
        let (out, stats) = run(&cfg(0, 1));
        assert!(out.is_empty());
        assert_eq!(stats, GenStats::default());
    }

    #[test]
    fn lines_are_valid_payloads() {
        let c = cfg(5_000, 9);
        let (out, stats) = run(&c);
        let text = std::str::from_utf8(&out).expect("utf-8");
        let end = c.start_ms + i64::from(c.days) * DAY_MS;
        let mut records = 0;
        for (raw, v) in text.lines().zip(lines(&out)) {
            // Field order as in the spec example.
            assert!(
                raw.starts_with("{\"identityPoolId\":\"us-east-1:")
                    || raw.starts_with("{\"identityPoolId\":\"eu-west-1:")
            );
            let order = ["\"identityId\":", "Name\":", "\"operation\":"];
            let mut pos = 0;
            for f in order {
                let p = raw[pos..].find(f).expect(f) + pos;
                pos = p;
            }
            let tail = [
                "\"lastModifiedDate\":",
                "\"kinesisSyncRecordsURL\":",
                "\"payloadType\":",
                "\"syncCount\":",
            ];
            let mut pos = 0;
            for f in tail {
                let p = raw.rfind(f).expect(f);
                assert!(p > pos, "{f} out of order");
                pos = p;
            }
            let o = v.as_object().expect("object");
            for id in ["identityPoolId", "identityId"] {
                let s = o[id].as_str().expect(id);
                let (region, uuid) = s.split_once(':').expect("region:uuid");
                assert!(region == "us-east-1" || region == "eu-west-1");
                assert_eq!(uuid.len(), 36);
                assert!(uuid.bytes().all(|b| b == b'-' || HEX.contains(&b)));
            }
            let name = match (o.get("dataSetName"), o.get("datasetName")) {
                (Some(n), None) | (None, Some(n)) => n.as_str().expect("name"),
                _ => panic!("exactly one dataset name field: {raw}"),
            };
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)));
            let ds_sync = o["syncCount"].as_i64().expect("syncCount");
            let ds_lmd = o["lastModifiedDate"].as_i64().expect("lastModifiedDate");
            assert!(ds_sync >= 1);
            assert!((c.start_ms..end).contains(&ds_lmd));
            let op = o["operation"].as_str().expect("operation");
            match o["payloadType"].as_str().expect("payloadType") {
                "Inline" => {
                    assert!(o["kinesisSyncRecordsURL"].is_null());
                    match op {
                        "replace" => {
                            let recs = o["kinesisSyncRecords"].as_array().expect("records");
                            assert!((1..=20).contains(&recs.len()));
                            let keys: HashSet<&str> = recs.iter().map(|r| r["key"].as_str().expect("key")).collect();
                            assert_eq!(keys.len(), recs.len(), "distinct keys");
                            for r in recs {
                                records += 1;
                                assert!(!r["key"].as_str().expect("key").is_empty());
                                assert!(r["syncCount"].as_i64().expect("sync") <= ds_sync);
                                assert!(r["lastModifiedDate"].as_i64().expect("lmd") <= ds_lmd);
                                if let Some(d) = r.get("deviceLastModifiedDate") {
                                    assert!(d.is_i64());
                                }
                                match r["op"].as_str().expect("op") {
                                    "replace" => assert!(r["value"].is_string()),
                                    "remove" => assert!(r.get("value").is_none_or(Value::is_null)),
                                    other => panic!("op {other}"),
                                }
                            }
                        }
                        "remove" => {
                            let recs = o.get("kinesisSyncRecords");
                            assert!(recs.is_none_or(|r| r.is_null() || r.as_array().is_some_and(Vec::is_empty)));
                        }
                        other => panic!("operation {other}"),
                    }
                }
                "S3Url" => {
                    assert_eq!(op, "replace");
                    assert!(o["kinesisSyncRecords"].is_null());
                    let url = o["kinesisSyncRecordsURL"].as_str().expect("url");
                    assert!(url.starts_with("https://cognito-sync-bulk.s3.amazonaws.com/"));
                    assert!(url.contains(".json?X-Amz-Expires=900&X-Amz-Signature="));
                }
                other => panic!("payloadType {other}"),
            }
        }
        assert_eq!(records, stats.records);
    }

    #[test]
    fn proportions_are_plausible() {
        let (out, stats) = run(&cfg(20_000, 42));
        let all = lines(&out);
        assert_eq!(all.len(), 20_000);
        let n = all.len() as f64;
        let lower = all.iter().filter(|v| v.get("datasetName").is_some()).count() as f64;
        assert!((0.08..0.12).contains(&(lower / n)), "datasetName share {}", lower / n);
        assert!(
            (40..=170).contains(&stats.recordless_payloads),
            "recordless {}",
            stats.recordless_payloads
        );
        assert!(
            (5..=45).contains(&stats.s3url_payloads),
            "s3url {}",
            stats.s3url_payloads
        );
        let removal_share = stats.removals as f64 / stats.records as f64;
        assert!((0.04..0.06).contains(&removal_share), "removals {removal_share}");
        let avg = stats.bytes as f64 / n;
        assert!((1_100.0..1_300.0).contains(&avg), "average payload {avg} bytes");
        let per_payload = stats.records as f64 / n;
        assert!((3.0..6.0).contains(&per_payload), "records per payload {per_payload}");

        let mut recs = 0usize;
        let mut no_device = 0usize;
        let mut absent_value = 0usize;
        let mut escaped = 0usize;
        let mut non_ascii = 0usize;
        let mut long = 0usize;
        let mut pools = HashSet::new();
        let mut identities = HashSet::new();
        let mut names = HashSet::new();
        let mut late = 0usize;
        let mut max_ts = 0;
        for v in &all {
            pools.insert(v["identityPoolId"].as_str().expect("pool").to_owned());
            identities.insert(v["identityId"].as_str().expect("id").to_owned());
            let name = v.get("dataSetName").or_else(|| v.get("datasetName")).expect("name");
            names.insert(name.as_str().expect("name").to_owned());
            let ts = v["lastModifiedDate"].as_i64().expect("ts");
            if ts < max_ts - 60_000 {
                late += 1;
            }
            max_ts = max_ts.max(ts);
            for r in v
                .get("kinesisSyncRecords")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                recs += 1;
                if r.get("deviceLastModifiedDate").is_none() {
                    no_device += 1;
                }
                match r.get("value") {
                    None => absent_value += 1,
                    Some(Value::String(s)) => {
                        if s.contains(['"', '\\', '\n', '\t']) {
                            escaped += 1;
                        }
                        if !s.is_ascii() {
                            non_ascii += 1;
                        }
                        if s.len() > 1_000 {
                            long += 1;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        let recs_f = recs as f64;
        assert!(
            (0.02..0.04).contains(&(no_device as f64 / recs_f)),
            "device date absent {no_device}/{recs}"
        );
        assert!(
            absent_value > 0 && (absent_value as u64) < stats.removals / 4,
            "absent values {absent_value}"
        );
        assert!(escaped as f64 / recs_f > 0.05, "escaped values {escaped}");
        assert!(non_ascii as f64 / recs_f > 0.05, "non-ASCII values {non_ascii}");
        assert!(long > 0 && (long as f64 / recs_f) < 0.01, "long values {long}");
        assert_eq!(pools.len(), 4);
        assert!(identities.len() > 5_000, "identities {}", identities.len());
        assert_eq!(names.len(), 12);
        assert!((0.01..0.03).contains(&(late as f64 / n)), "late (bulk) payloads {late}");
        // Spread over the whole week, and not past it.
        let start = GenConfig::default().start_ms;
        assert!(max_ts > start + 6 * DAY_MS + 20 * HOUR_MS);
        assert!(max_ts < start + 7 * DAY_MS);
    }

    #[test]
    fn s3url_bodies_are_written_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s3 = dir.path().join("s3 bodies");
        let c = GenConfig {
            s3url_dir: Some(s3.clone()),
            ..cfg(20_000, 5)
        };
        let (out, stats) = run(&c);
        let (plain, plain_stats) = run(&cfg(20_000, 5));
        assert!(stats.s3url_payloads > 0);
        assert_eq!(stats.s3url_payloads, plain_stats.s3url_payloads);
        let mut inline = 0u64;
        let mut body_records = 0u64;
        let mut files = 0u64;
        let with = lines(&out);
        let without = lines(&plain);
        for (i, (v, p)) in with.iter().zip(&without).enumerate() {
            if v["payloadType"] == "S3Url" {
                let url = v["kinesisSyncRecordsURL"].as_str().expect("url");
                let path = file_path(url);
                assert!(path.is_absolute());
                assert_eq!(path, std::path::absolute(&s3).expect("abs").join(format!("{i}.json")));
                let body: Value = serde_json::from_slice(&fs::read(&path).expect("body")).expect("JSON body");
                let recs = body.as_array().expect("array body");
                assert!((20..=200).contains(&recs.len()));
                for r in recs {
                    assert!(r["key"].is_string());
                    assert!(r["op"] == "replace" || r["op"] == "remove");
                    assert!(r["syncCount"].as_i64().expect("sync") <= v["syncCount"].as_i64().expect("sync"));
                }
                body_records += recs.len() as u64;
                files += 1;
                // Only the URL differs from a run without s3url_dir.
                let mut v2 = v.clone();
                v2["kinesisSyncRecordsURL"] = p["kinesisSyncRecordsURL"].clone();
                assert_eq!(&v2, p);
            } else {
                assert_eq!(v, p);
                inline += v
                    .get("kinesisSyncRecords")
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.len() as u64);
            }
        }
        assert_eq!(files, stats.s3url_payloads);
        assert_eq!(fs::read_dir(&s3).expect("dir").count() as u64, files);
        assert_eq!(stats.records, inline + body_records);
        assert_eq!(plain_stats.records, inline);
    }
}
