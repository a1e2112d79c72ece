//! Byte tests done 8 bytes at a time in a `u64` ("SIMD within a register"), in place and
//! without a call: the fast path's tokens are short (field names, ids, keys), where a call to
//! `memcmp` or `memchr` costs more than the work itself.
//!
//! Words are read little-endian, so the first byte of the input is the lowest byte of the
//! word, and "the first byte that …" is the lowest flagged byte (`trailing_zeros / 8`).

/// `0x01` in every byte; `ONES * b` is `b` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Words searched in place for the end of a string before handing the rest to `memchr`.
const SHORT_WORDS: usize = 4;

/// The 8 bytes of `s` at `at` as a little-endian word, if there are 8.
fn word_at(s: &[u8], at: usize) -> Option<u64> {
    let bytes = s.get(at..at.checked_add(8)?)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// The high bit of each byte of `x` that is zero. Exact for the lowest zero byte; a borrow
/// can also flag bytes above it, which no caller looks at.
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & (ONES * 0x80)
}

/// Whether two slices of the same length are equal, compared 8 bytes at a time in place: the
/// literals compared here (field names, `null`, enum values) are 4 to 26 bytes long.
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 <= n {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    // The last 8 bytes, overlapping what was compared.
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// Index of the first `"` or `\` in `s` at or after `from`.
pub(super) fn quote_or_backslash(s: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for _ in 0..SHORT_WORDS {
        let Some(w) = word_at(s, at) else { break };
        let found = zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    // A long string, or the last few bytes of the input: memchr's vector search.
    memchr::memchr2(b'"', b'\\', s.get(at..)?).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_or_backslash_agrees_with_a_plain_search() {
        let base: Vec<u8> = "abcdefghijklmnopqrstuvwxyzé0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            .bytes()
            .collect();
        for len in 0..base.len() {
            for at in 0..=len {
                for needle in [b'"', b'\\'] {
                    let mut s = base[..len].to_vec();
                    if at < len {
                        s[at] = needle;
                    }
                    for from in [0, 1, 3].into_iter().filter(|&f| f <= len) {
                        let plain = s[from..]
                            .iter()
                            .position(|&b| b == b'"' || b == b'\\')
                            .map(|i| from + i);
                        assert_eq!(quote_or_backslash(&s, from), plain, "{s:?} from {from}");
                    }
                }
            }
        }
        assert_eq!(quote_or_backslash(b"ab", 3), None);
    }
}
