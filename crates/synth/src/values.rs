//! Record values: what a key's [`Kind`] turns into.
//!
//! Values are strings in Cognito Sync; apps store numbers, booleans, times and
//! whole JSON documents in them, and the documents (saves, receipts, layouts)
//! carry the escapes and non-ASCII text that a consumer has to round-trip.
//! Each value is appended to a reused buffer; nothing here allocates.

use std::io;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::datasets::Kind;
use super::identity::uuid_hex;
use super::timeline::{DAY_MS, push_iso};
use super::words::{CURRENCIES, ENCHANTS, ITEMS, NAMES, PANELS, PRICES, SKUS, STORES, TAGS, WORDS, pick};
use super::writers::{BASE64, push_hex, push_i64, push_u64, put_f64, put_str, utf8};

/// Appends a value of `kind` for a record last modified at `ts` to `out`;
/// `aux` is scratch space for text that a JSON-in-string value quotes.
///
/// # Errors
/// Only if generated text is not UTF-8 or serde_json fails to write it,
/// both generator bugs.
pub(super) fn make_value(
    rng: &mut ChaCha8Rng,
    kind: Kind,
    ts: i64,
    out: &mut Vec<u8>,
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
            out.extend_from_slice(b"{\"level\":");
            push_i64(out, rng.random_range(1..=120));
            out.extend_from_slice(b",\"name\":");
            aux.clear();
            push_name(rng, aux);
            put_str(out, utf8(aux)?)?;
            out.extend_from_slice(b",\"tags\":[");
            for t in 0..rng.random_range(0..=3) {
                if t > 0 {
                    out.push(b',');
                }
                put_str(out, pick(rng, TAGS))?;
            }
            out.extend_from_slice(b"],\"pos\":{\"x\":");
            put_f64(out, f64::from(rng.random_range(-4000..=4000)) / 4.0)?;
            out.extend_from_slice(b",\"y\":");
            put_f64(out, f64::from(rng.random_range(-4000..=4000)) / 8.0)?;
            out.extend_from_slice(b"},\"hp\":");
            push_i64(out, rng.random_range(0..=100));
            out.extend_from_slice(b",\"flags\":{\"tutorial\":");
            out.extend_from_slice(if rng.random_bool(0.8) { b"true" } else { b"false" });
            out.extend_from_slice(b"}}");
        }
        Kind::Item => {
            out.extend_from_slice(b"{\"item\":");
            put_str(out, pick(rng, ITEMS))?;
            out.extend_from_slice(b",\"qty\":");
            push_i64(out, rng.random_range(1..=99));
            out.extend_from_slice(b",\"dur\":");
            put_f64(out, f64::from(rng.random_range(0..=100)) / 100.0)?;
            out.extend_from_slice(b",\"ench\":[");
            for t in 0..rng.random_range(0..=2) {
                if t > 0 {
                    out.push(b',');
                }
                put_str(out, pick(rng, ENCHANTS))?;
            }
            out.extend_from_slice(b"]}");
        }
        Kind::Receipt { long } => {
            out.extend_from_slice(b"{\"sku\":");
            put_str(out, pick(rng, SKUS))?;
            out.extend_from_slice(b",\"price\":");
            put_str(out, pick(rng, PRICES))?;
            out.extend_from_slice(b",\"currency\":");
            put_str(out, pick(rng, CURRENCIES))?;
            out.extend_from_slice(b",\"orderId\":\"GPA.");
            push_u64(out, rng.random_range(1000..=9999));
            out.push(b'-');
            push_u64(out, rng.random_range(1000..=9999));
            out.extend_from_slice(b"\",\"store\":");
            put_str(out, pick(rng, STORES))?;
            out.extend_from_slice(b",\"ts\":");
            push_i64(out, ts);
            if rng.random_range(0..1000) < long {
                out.extend_from_slice(b",\"receipt\":\"");
                let n = rng.random_range(2_000..=6_000);
                for _ in 0..n {
                    out.push(BASE64[rng.random_range(0..64)]);
                }
                out.extend_from_slice(b"==\"");
            }
            out.push(b'}');
        }
        Kind::LevelStats => {
            out.extend_from_slice(b"{\"stars\":");
            push_i64(out, rng.random_range(0..=3));
            out.extend_from_slice(b",\"best_ms\":");
            push_i64(out, rng.random_range(15_000..=600_000));
            out.extend_from_slice(b",\"deaths\":");
            push_i64(out, rng.random_range(0..=40));
            out.extend_from_slice(b",\"ghost\":null}");
        }
        Kind::Layout => {
            out.extend_from_slice(b"{\"panels\":[");
            for p in 0..rng.random_range(1..=4) {
                if p > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"id\":");
                put_str(out, pick(rng, PANELS))?;
                for field in [&b",\"x\":"[..], b",\"y\":", b",\"w\":", b",\"h\":"] {
                    out.extend_from_slice(field);
                    push_i64(out, rng.random_range(0..=1920));
                }
                out.push(b'}');
            }
            out.extend_from_slice(b"],\"dock\":\"left\"}");
        }
        Kind::Notification => {
            out.extend_from_slice(b"{\"title\":");
            aux.clear();
            push_text(rng, aux, 0);
            put_str(out, utf8(aux)?)?;
            out.extend_from_slice(b",\"read\":");
            out.extend_from_slice(if rng.random_bool(0.6) { b"true" } else { b"false" });
            out.extend_from_slice(b",\"ts\":");
            push_i64(out, ts - rng.random_range(0..=DAY_MS));
            out.push(b'}');
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

/// A display name from [`NAMES`], sometimes with a number, or a generated
/// `player_` handle.
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
