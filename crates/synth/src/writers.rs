//! Small byte writers: JSON literals, decimal and hex digits.
//!
//! Everything appends to a caller's reused buffer and allocates nothing, so a
//! payload costs no allocations once the buffers have grown. Strings go through
//! serde_json so that their escaping is exactly JSON's.

use std::io;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Lowercase hex digits, indexed by value.
pub(super) const HEX: &[u8; 16] = b"0123456789abcdef";
/// The standard base64 alphabet, indexed by value (receipt blobs).
pub(super) const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` as `&str`; generated text is UTF-8 by construction, so an error
/// here is a generator bug, reported as I/O rather than a panic.
pub(super) fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(io::Error::other)
}

/// Writes `s` as a JSON string literal (quoted and escaped by serde_json).
pub(super) fn put_str(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    serde_json::to_writer(buf, s).map_err(io::Error::from)
}

/// Writes `v` as a JSON number.
pub(super) fn put_i64(buf: &mut Vec<u8>, v: i64) -> io::Result<()> {
    serde_json::to_writer(buf, &v).map_err(io::Error::from)
}

/// Writes `v` as a JSON number, the way serde_json formats floats.
pub(super) fn put_f64(buf: &mut Vec<u8>, v: f64) -> io::Result<()> {
    serde_json::to_writer(buf, &v).map_err(io::Error::from)
}

/// The decimal digits of `v`, written to the end of `digits`.
fn decimal(mut v: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &digits[i..]
}

/// Writes `v` in decimal.
pub(super) fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(decimal(v, &mut [0; 20]));
}

/// Writes `v` in decimal, with a leading `-` when negative.
pub(super) fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Writes `v` as [`push_i64`] does, left-padded with `0` to `width` bytes
/// (a sign counts toward the width and follows the padding).
pub(super) fn push_padded(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = [0; 20];
    let digits = decimal(v.unsigned_abs(), &mut buf);
    let len = digits.len() + usize::from(v < 0);
    for _ in len..width {
        out.push(b'0');
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(digits);
}

/// Writes `n` random lowercase hex digits.
pub(super) fn push_hex(rng: &mut ChaCha8Rng, out: &mut Vec<u8>, n: usize) {
    for _ in 0..n {
        out.push(HEX[rng.random_range(0..16)]);
    }
}
