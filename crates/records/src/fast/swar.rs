//! Byte tests done 8 bytes at a time in a `u64` ("SIMD within a register"), in place and
//! without a call: the fast path's tokens are short (field names, ids, keys, 13-digit
//! timestamps), where a call to `memcmp` or `memchr` costs more than the work itself.
//!
//! Words are read little-endian, so the first byte of the input is the lowest byte of the
//! word, and "the first byte that …" is the lowest flagged byte (`trailing_zeros / 8`).

/// `0x01` in every byte; `ONES * b` is `b` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;

/// Words searched in place for the end of a string before handing the rest to `memchr`.
const SHORT_WORDS: usize = 4;

/// Powers of ten up to 8 digits' worth.
const POW10: [i64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

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

/// How many bytes of `w`, from the first, are ASCII digits (0 to 8).
fn leading_digits(w: u64) -> usize {
    // A digit (0x30..=0x39) has high nibble 3, and still has it after adding 6; no byte
    // carries into the next, because no byte of UTF-8 is above 0xF4.
    let high = w & (ONES * 0xF0);
    let high_plus_6 = w.wrapping_add(ONES * 0x06) & (ONES * 0xF0);
    let not_digit = (high ^ (ONES * 0x30)) | (high_plus_6 ^ (ONES * 0x30));
    (not_digit.trailing_zeros() / 8) as usize
}

/// The number written by the first `n` (1 to 8) bytes of `w`, all digits.
fn digits_value(w: u64, n: usize) -> u64 {
    // Move the digits to the top, so that the bytes below them read as leading zeros; then
    // add up pairs of digits, pairs of pairs, and the two halves.
    let w = (w << (8 * (8 - n))) & (ONES * 0x0F);
    let w = (w.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let w = (w.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    w.wrapping_mul(10_000 << 32 | 1) >> 32
}

/// The run of ASCII digits in `s` from `start`, if it is at most `max` (at most 18) digits
/// long: its value and the index just past it. An empty run is `(0, start)`.
pub(super) fn digits(s: &[u8], start: usize, max: usize) -> Option<(i64, usize)> {
    let mut value = 0i64;
    let mut at = start;
    while let Some(w) = word_at(s, at) {
        let n = leading_digits(w);
        if at - start + n > max {
            return None;
        }
        if n == 0 {
            return Some((value, at));
        }
        // At most 18 digits in all, so neither this nor the sum can overflow.
        value = value * POW10[n] + digits_value(w, n) as i64;
        at += n;
        if n < 8 {
            return Some((value, at));
        }
    }
    // The last few bytes of the input.
    while let Some(&d) = s.get(at).filter(|d| d.is_ascii_digit()) {
        if at - start == max {
            return None;
        }
        value = value * 10 + i64::from(d - b'0');
        at += 1;
    }
    Some((value, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_reads_every_length_at_every_offset_and_end() {
        let number = "123456789012345678";
        for len in 0..=number.len() {
            for pad in 0..9 {
                for tail in ["", ",", "}", "x", "é", ".5"] {
                    let text = format!("{}{}{}", "-".repeat(pad), &number[..len], tail);
                    let expected = if len == 0 {
                        0
                    } else {
                        number[..len].parse::<i64>().unwrap_or_default()
                    };
                    assert_eq!(
                        digits(text.as_bytes(), pad, 18),
                        Some((expected, pad + len)),
                        "{text:?} from {pad}"
                    );
                }
            }
        }
    }

    #[test]
    fn digits_gives_up_past_the_limit() {
        for len in 1..=30 {
            let text = "9".repeat(len) + ",";
            let expected = (len <= 18).then(|| (text[..len].parse::<i64>().unwrap_or_default(), len));
            assert_eq!(digits(text.as_bytes(), 0, 18), expected, "{len} digits");
            assert_eq!(
                digits(&text.as_bytes()[..len], 0, 18),
                expected,
                "{len} digits at the end"
            );
        }
        assert_eq!(digits(b"1234567,", 0, 3), None);
        assert_eq!(digits(b"123,5678", 0, 3), Some((123, 3)));
    }

    #[test]
    fn leading_digits_stops_at_every_non_digit_byte() {
        for b in 0..=0xF4u8 {
            for at in 0..8 {
                let mut word = *b"00000000";
                word[at] = b;
                let expected = if b.is_ascii_digit() { 8 } else { at };
                assert_eq!(
                    leading_digits(u64::from_le_bytes(word)),
                    expected,
                    "byte {b:#x} at {at}"
                );
            }
        }
    }

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
