//! The datasets of the synthetic app: their names, keys and the kind of value
//! each key holds, and how a payload picks one.
//!
//! Why a table: the key space of each dataset (some thousand keys in all,
//! mostly numbered families like `msg_0..msg_499`) fixes how wide records
//! spread and how often the same key recurs, which is what partitioning and
//! deduplication downstream are sensitive to. Dataset names use every
//! separator Cognito allows (`_`, `.`, `:`, `-`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::words::{
    CHECKPOINTS, COUNTRIES, DIFFICULTY, HOTBAR, KEYBINDS, LOCALES, MODELS, OSES, PRONOUNS, QUALITY, SKUS, THEMES,
};
use super::writers::push_u64;

/// How the value of a key is made (see `values::make_value`).
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// An integer in the range, as a string.
    Int(i64, i64),
    /// A fraction in [0, 1] with two decimals, as a string.
    Frac,
    /// `true` or `false`, as a string.
    Bool,
    /// An entry of the word list.
    Word(&'static [&'static str]),
    /// A display name or generated handle.
    Name,
    /// An avatar URL.
    Url,
    /// Epoch milliseconds a little before the record, as a string.
    EpochMs,
    /// ISO-8601 time a little before the record.
    IsoTime,
    /// Lowercase hex of a length in the range.
    Hex(u32, u32),
    /// Chat-like text; `long` per mille of values are a few KB long.
    Text {
        /// Per mille of values that are 1.5–6 KB long.
        long: u32,
    },
    /// A save game as a JSON document.
    GameState,
    /// An inventory slot as a JSON document.
    Item,
    /// A store receipt as a JSON document.
    Receipt {
        /// Per mille of receipts carrying a 2–6 KB base64 blob.
        long: u32,
    },
    /// Per-level statistics as a JSON document.
    LevelStats,
    /// A UI layout as a JSON document.
    Layout,
    /// A notification as a JSON document.
    Notification,
    /// A JSON array of identity ids.
    IdList,
}

/// One key, or a numbered family of keys (`prefix` + `first..first+count`).
#[derive(Clone, Copy)]
pub(super) struct KeySpec {
    name: &'static str,
    first: u32,
    count: u32,
    numbered: bool,
    /// How the values of this key are made.
    pub(super) kind: Kind,
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

/// A Cognito Sync dataset of the synthetic app.
pub(super) struct Dataset {
    /// The dataset name, as written to `dataSetName` / `datasetName`.
    pub(super) name: &'static str,
    /// Relative popularity among inline payloads.
    weight: u32,
    /// Big enough to be sent as an S3Url payload.
    big: bool,
    keys: &'static [KeySpec],
}

/// The datasets. Their order, weights and keys feed the random stream, so
/// changing any of them changes the output of every seed.
pub(super) const DATASETS: &[Dataset] = &[
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

/// Writes key number `k` of `dataset` to `key` and returns its spec.
pub(super) fn key_spec(dataset: &Dataset, mut k: u32, key: &mut Vec<u8>) -> KeySpec {
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

/// Per-dataset totals of [`DATASETS`], computed once per run.
pub(super) struct Catalog {
    /// Number of keys of each dataset.
    key_totals: Vec<u32>,
    weight_total: u32,
}

impl Catalog {
    /// Sums the keys and weights of [`DATASETS`].
    pub(super) fn new() -> Self {
        Self {
            key_totals: DATASETS.iter().map(|d| d.keys.iter().map(|k| k.count).sum()).collect(),
            weight_total: DATASETS.iter().map(|d| d.weight).sum(),
        }
    }

    /// Number of keys of dataset `ds`.
    pub(super) fn key_total(&self, ds: usize) -> u32 {
        self.key_totals[ds]
    }

    /// Index of a random dataset: by weight, or uniformly among the big ones
    /// when `big_only` (the datasets that can be sent as `S3Url`).
    pub(super) fn pick(&self, rng: &mut ChaCha8Rng, big_only: bool) -> usize {
        if big_only {
            let bigs = DATASETS.iter().filter(|d| d.big).count();
            let nth = rng.random_range(0..bigs);
            return DATASETS
                .iter()
                .enumerate()
                .filter(|(_, d)| d.big)
                .nth(nth)
                .map_or(0, |(i, _)| i);
        }
        let mut r = rng.random_range(0..self.weight_total);
        for (i, d) in DATASETS.iter().enumerate() {
            if r < d.weight {
                return i;
            }
            r -= d.weight;
        }
        0
    }
}
