//! Identity pools and identities: who syncs, in which region, with which
//! device clock.
//!
//! Drawn once per run from the head of the main random stream, so the same
//! seed gives the same population. Ids have Cognito's `region:uuid` form.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::writers::HEX;

/// Identities in all pools together.
const IDENTITIES: usize = 50_000;
/// (region, share of identities) of each identity pool.
const POOLS: [(&str, f64); 4] = [
    ("us-east-1", 0.45),
    ("eu-west-1", 0.25),
    ("us-east-1", 0.20),
    ("eu-west-1", 0.10),
];

/// One Cognito identity and the device it syncs from.
pub(super) struct Identity {
    /// Index of its pool in [`Population::pools`].
    pub(super) pool: usize,
    /// The identity id, `region:uuid`.
    pub(super) id: String,
    /// Device clock skew of this identity's device, milliseconds.
    pub(super) skew_ms: i64,
}

/// All identity pools and identities of a run.
pub(super) struct Population {
    /// Identity pool ids, `region:uuid`.
    pub(super) pools: Vec<String>,
    /// The identities; a payload's identity is an index into this.
    pub(super) identities: Vec<Identity>,
}

impl Population {
    /// Draws the pools, then the identities with their pool and clock skew.
    pub(super) fn new(rng: &mut ChaCha8Rng) -> Self {
        let mut pools = Vec::with_capacity(POOLS.len());
        for (region, _) in POOLS {
            pools.push(region_uuid(region, rng));
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
            let id = region_uuid(POOLS[pool].0, rng);
            let skew_ms = match rng.random_range(0..100) {
                0..60 => rng.random_range(-5_000..=5_000),
                60..95 => rng.random_range(-180_000..=180_000),
                _ => rng.random_range(-1_800_000..=1_800_000),
            };
            identities.push(Identity { pool, id, skew_ms });
        }
        Self { pools, identities }
    }

    /// Index of the identity behind a payload. Skewed: active identities
    /// sync far more often than the long tail.
    pub(super) fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let u: f64 = rng.random();
        ((u.powf(2.2) * IDENTITIES as f64) as usize).min(IDENTITIES - 1)
    }

    /// Number of identities, for per-identity state.
    pub(super) fn len(&self) -> usize {
        self.identities.len()
    }
}

/// A random version-4 UUID in lowercase hex, `8-4-4-4-12`.
pub(super) fn uuid_hex(rng: &mut ChaCha8Rng) -> [u8; 36] {
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
