//! Sync records: the `kinesisSyncRecords` of an inline payload, or the array
//! in an `S3Url` body.
//!
//! Each record gets a distinct key of its dataset, a sync count and time at or
//! a little before the dataset's (some records carry an older version), a
//! device time skewed by the identity's clock, and now and then a removal with
//! a null or absent value.

use std::io;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::datasets::{Dataset, key_spec};
use super::timeline::HOUR_MS;
use super::values::make_value;
use super::writers::{put_i64, put_str, utf8};

/// Share of records that are removals.
const P_REMOVE: f64 = 0.05;
/// Share of removals whose `value` is absent rather than `null`.
const P_REMOVE_VALUE_ABSENT: f64 = 0.10;
/// Share of records without a `deviceLastModifiedDate`.
const P_DEVICE_DATE_ABSENT: f64 = 0.03;

/// Reused buffers, so a payload allocates nothing once they have grown.
#[derive(Default)]
pub(super) struct Scratch {
    key: Vec<u8>,
    value: Vec<u8>,
    aux: Vec<u8>,
    chosen: Vec<u32>,
}

/// Where the records of one payload sit: dataset, counts and times.
pub(super) struct RecordCtx<'a> {
    /// The dataset the records belong to.
    pub(super) dataset: &'a Dataset,
    /// Number of keys of `dataset`.
    pub(super) key_total: u32,
    /// The dataset's sync count after this payload.
    pub(super) sync: i64,
    /// The payload's `lastModifiedDate`, epoch milliseconds.
    pub(super) lmd: i64,
    /// Device clock skew of the syncing identity, milliseconds.
    pub(super) skew_ms: i64,
}

/// Writes `n` comma-separated record objects (distinct keys, at most as many
/// as the dataset has) to `buf` and returns (records, removals).
///
/// # Errors
/// Only if generated text is not UTF-8 or serde_json fails to write it,
/// both generator bugs.
pub(super) fn write_records(
    buf: &mut Vec<u8>,
    rng: &mut ChaCha8Rng,
    ctx: &RecordCtx<'_>,
    n: u32,
    s: &mut Scratch,
) -> io::Result<(u64, u64)> {
    let n = n.min(ctx.key_total);
    s.chosen.clear();
    while s.chosen.len() < n as usize {
        let k = rng.random_range(0..ctx.key_total);
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
            make_value(rng, spec.kind, lmd, &mut s.value, &mut s.aux)?;
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
