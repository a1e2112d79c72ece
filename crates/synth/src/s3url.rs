//! `S3Url` payloads: the record array that lives outside the stream, and the
//! URL that points at it.
//!
//! Cognito Streams sends big dataset updates as `"payloadType":"S3Url"`, with
//! the records behind a presigned S3 URL that the consumer has to fetch. Given
//! a directory, the bodies are written there and referenced as `file://` URLs,
//! so the demo can fetch them offline; without one, the URL only looks
//! presigned. Each body draws from its own random stream, seeded from the main
//! one, so the main stream (and every other payload) is the same either way.

use std::fs;
use std::io;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::GenStats;
use super::records::{RecordCtx, Scratch, write_records};
use super::writers::HEX;

/// The random stream of one body: one draw from the main stream `main`,
/// mixed with the run's `seed`.
pub(super) fn body_rng(main: &mut ChaCha8Rng, seed: u64) -> ChaCha8Rng {
    let body_seed: u64 = main.random();
    ChaCha8Rng::seed_from_u64(body_seed ^ seed)
}

/// Writes the body of payload `index` (20–200 records) to `dir/{index}.json`,
/// counts its records in `stats` and returns its `file://` URL. `body` is
/// reused between calls.
///
/// # Errors
/// Writing the file fails (or, as a generator bug, writing a record does).
pub(super) fn write_body(
    dir: &Path,
    index: u64,
    rng: &mut ChaCha8Rng,
    ctx: &RecordCtx<'_>,
    body: &mut Vec<u8>,
    scratch: &mut Scratch,
    stats: &mut GenStats,
) -> io::Result<String> {
    let n = rng.random_range(20..=200);
    body.clear();
    body.push(b'[');
    let (records, removals) = write_records(body, rng, ctx, n, scratch)?;
    body.push(b']');
    let path = dir.join(format!("{index}.json"));
    fs::write(&path, &body[..])?;
    stats.records += records;
    stats.removals += removals;
    Ok(file_url(&path))
}

/// A presigned-looking `https` URL for payload `index` of pool `pool_id`,
/// for runs that write no bodies; it cannot be fetched.
pub(super) fn presigned_url(rng: &mut ChaCha8Rng, pool_id: &str, index: u64) -> String {
    let mut u = String::with_capacity(200);
    u.push_str("https://cognito-sync-bulk.s3.amazonaws.com/");
    u.push_str(pool_id);
    u.push('/');
    u.push_str(&index.to_string());
    u.push_str(".json?X-Amz-Expires=900&X-Amz-Signature=");
    for _ in 0..64 {
        u.push(char::from(HEX[rng.random_range(0..16)]));
    }
    u
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
