//! JSON strings written without a serializer, byte for byte as `serde_json` writes them: for the
//! records lexwire writes by hand (tag lines, event records), where the serializer's string
//! escaping, one byte at a time through a table, was the largest single cost.

/// Eight copies of a byte.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

const HIGH: u64 = splat(0x80);

/// The high bit of every byte of `x` that equals zero. A borrow can only carry upward, so the
/// lowest bit set marks the first zero byte exactly, and no zero byte goes unmarked.
const fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(splat(1)) & !x & HIGH
}

/// The bytes of `x` (eight, first lowest) that JSON must escape: control characters, the quote
/// and the backslash. The lowest bit set marks the first exactly (see [`zero_bytes`]).
const fn to_escape(x: u64) -> u64 {
    let control = x.wrapping_sub(splat(0x20)) & !x & HIGH;
    control | zero_bytes(x ^ splat(b'"')) | zero_bytes(x ^ splat(b'\\'))
}

const fn must_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The first byte at or after `from` that JSON must escape.
#[inline]
fn next_to_escape(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(eight) = bytes.get(from..from + 8) {
        let marks = to_escape(u64::from_le_bytes(eight.try_into().expect("eight bytes")));
        if marks != 0 {
            return Some(from + (marks.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    bytes[from..].iter().position(|&b| must_escape(b)).map(|i| from + i)
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it: `\"`, `\\`, the short forms
/// of backspace, tab, line feed, form feed and carriage return, `\u00xx` (lowercase) for the
/// other control characters; everything else, multi-byte characters included, as it is.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    match next_to_escape(bytes, 0) {
        // Nearly every string: its own bytes.
        None => out.extend_from_slice(bytes),
        Some(at) => write_escaped(out, bytes, at),
    }
    out.push(b'"');
}

/// As [`write_str`] of `text[range]`, for a short piece of a longer text (a tag's surface, eight
/// bytes on average): see [`plain_window`].
#[inline]
pub fn write_substr(out: &mut Vec<u8>, text: &str, range: std::ops::Range<usize>) {
    match plain_window(text, range.clone()) {
        Some(window) => {
            out.reserve(WINDOW + 2);
            out.push(b'"');
            out.extend_from_slice(window);
            out.truncate(out.len() - (WINDOW - range.len()));
            out.push(b'"');
        }
        None => write_str(out, &text[range]),
    }
}

/// How many bytes [`plain_window`] reads.
pub const WINDOW: usize = 16;

/// For a piece `text[range]` of at most [`WINDOW`] bytes with nothing to escape, the window of
/// `WINDOW` bytes that starts with it (read past its end, where `text` is long enough): a
/// caller copies the window with fixed-size stores and keeps the piece's length of it, where
/// the general writer checks the bytes after its last whole word one at a time and copies
/// through a call. `None` for a longer piece, one near the end of `text`, or one to escape.
#[inline]
pub fn plain_window(text: &str, range: std::ops::Range<usize>) -> Option<&[u8; WINDOW]> {
    let len = range.len();
    let window: &[u8; WINDOW] = text.as_bytes().get(range.start..range.start + WINDOW)?.try_into().ok()?;
    if len > WINDOW {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(window[8 * i..8 * i + 8].try_into().expect("eight bytes"));
    // The top bit of each of the first `n` bytes of a word (at most eight).
    let within = |n: usize| if n >= 8 { HIGH } else { HIGH & ((1u64 << (8 * n)) - 1) };
    let marks = (to_escape(word(0)) & within(len)) | (to_escape(word(1)) & within(len.saturating_sub(8)));
    (marks == 0).then_some(window)
}

/// The inside of a JSON string whose first byte to escape is at `at`.
#[cold]
#[inline(never)]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], mut at: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    loop {
        out.extend_from_slice(&bytes[start..at]);
        let b = bytes[at];
        match b {
            b'"' => out.extend_from_slice(br#"\""#),
            b'\\' => out.extend_from_slice(br"\\"),
            0x08 => out.extend_from_slice(br"\b"),
            b'\t' => out.extend_from_slice(br"\t"),
            b'\n' => out.extend_from_slice(br"\n"),
            0x0c => out.extend_from_slice(br"\f"),
            b'\r' => out.extend_from_slice(br"\r"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]),
        }
        start = at + 1;
        match next_to_escape(bytes, start) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether `s` is written as it is between quotes: nothing in it to escape (checked at compile
/// time for the keys of [`key!`]).
pub const fn is_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if must_escape(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// Appends an object's key, quoted, and its colon: `key!(out, first "a")` opens the object with its
/// first key, `key!(out, "b")` adds one after a comma. The key is a literal with nothing to
/// escape (a compile-time check), so the bytes are a constant.
macro_rules! key {
    ($out:expr, first $key:literal) => {{
        const _: () = assert!($crate::json::is_plain($key), "a key with nothing to escape");
        $out.extend_from_slice(concat!("{\"", $key, "\":").as_bytes())
    }};
    ($out:expr, $key:literal) => {{
        const _: () = assert!($crate::json::is_plain($key), "a key with nothing to escape");
        $out.extend_from_slice(concat!(",\"", $key, "\":").as_bytes())
    }};
}
pub(crate) use key;

/// Appends an unsigned integer.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    match u32::try_from(n) {
        Ok(small) if small < EIGHT_DIGITS => {
            let (word, len) = eight_digits(small);
            out.extend_from_slice(&word.to_le_bytes());
            out.truncate(out.len() - (8 - len));
        }
        _ => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// The numbers [`eight_digits`] writes: below 10^8.
pub const EIGHT_DIGITS: u32 = 100_000_000;

/// The decimal digits of `n` (below [`EIGHT_DIGITS`]) as a word of eight ASCII bytes, the first
/// digit in its lowest byte (in memory order once stored little-endian), and how many of them
/// are `n`'s: its digits without leading zeros, one for 0. The bytes past them are zero.
///
/// All eight digits are computed at once, in lanes of one word: `n` split in two halves of four
/// digits, each half in two pairs, each pair in two digits; the divisions by 100 and 10 are
/// multiplications by a reciprocal and a shift, exact over the lane's range (below 10^4 and
/// 100). Where `itoa` writes two digits at a time through a table and the caller copies a
/// variable number of bytes (a call to `memcpy`), this is a dozen arithmetic instructions and
/// one store of eight bytes.
#[inline]
pub const fn eight_digits(n: u32) -> (u64, usize) {
    let digits = padded_digits(n) ^ splat(b'0');
    // Leading zeros are the low bytes that are zero, all but the last digit.
    let leading = (digits.trailing_zeros() / 8) as usize;
    let leading = if leading > 7 { 7 } else { leading };
    ((digits | splat(b'0')) >> (8 * leading), 8 - leading)
}

/// A date's ISO form `YYYY-MM-DD`, for a year under 10^4 and a month and a day under 100 (the
/// caller's check), from one word of digits.
#[inline]
pub const fn iso_date(year: u32, month: u32, day: u32) -> [u8; 10] {
    let w = padded_digits(year * 10_000 + month * 100 + day).to_le_bytes();
    [w[0], w[1], w[2], w[3], b'-', w[4], w[5], b'-', w[6], w[7]]
}

/// As [`eight_digits`], all eight digits: `n` padded with zeros in front to eight.
#[inline]
pub const fn padded_digits(n: u32) -> u64 {
    debug_assert!(n < EIGHT_DIGITS);
    let n = n as u64;
    // Lanes of 32 bits: the high four digits first.
    let halves = (n / 10_000) | ((n % 10_000) << 32);
    // x / 100 = x * 10486 >> 20 for x < 10^4; the mask drops what the shift brought down from
    // the next lane.
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007f_0000_007f;
    // Lanes of 16 bits: each half's hundreds, then its last two digits.
    let pairs = ((halves - 100 * hundreds) << 16) | hundreds;
    // x / 10 = x * 103 >> 10 for x < 100.
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    // Lanes of 8 bits: each pair's tens, then its ones.
    (((pairs - 10 * tens) << 8) | tens) | splat(b'0')
}

/// Appends `value` as `serde_json` writes it: for the small parts of a record (numbers with a
/// fraction, enums, nested facts) whose bytes the serializer decides.
///
/// # Errors
/// What the serializer reports.
pub fn write_serde(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    fn ours(s: &str) -> Vec<u8> {
        let mut out = b"prefix".to_vec();
        write_str(&mut out, s);
        out.split_off(6)
    }

    #[test]
    fn every_byte_that_escapes_escapes_as_serde_json_writes_it_at_every_position() {
        // Each ASCII byte alone, and at each offset of a 17-byte string (both sides of the
        // eight-byte steps and the tail), next to multi-byte characters.
        for b in 0u8..0x80 {
            let c = char::from(b);
            assert_eq!(ours(&c.to_string()), serde(&c.to_string()), "{b:#x}");
            for at in 0..17 {
                let mut s: Vec<char> = "abcdefghéjklmnopq".chars().collect();
                s[at] = c;
                let s: String = s.into_iter().collect();
                assert_eq!(ours(&s), serde(&s), "{b:#x} at {at}: {s:?}");
            }
        }
        for s in
            ["", "\"\"\"\"\"\"\"\"\"", "\\\\\\\\\\\\\\\\\\\\", "\u{7f}\u{80}\u{ff}\u{2028}\u{1f600}", "a\u{0}b\u{1f}c"]
        {
            assert_eq!(ours(s), serde(s), "{s:?}");
        }
    }

    /// Every number below a million, both sides of every power of ten, and a stride through the
    /// rest: the digits `to_string` writes, through the word and through the fallback.
    #[test]
    fn integers_are_written_as_to_string_writes_them() {
        let written = |n: u64| {
            let mut out = b"x".to_vec();
            write_u64(&mut out, n);
            String::from_utf8(out.split_off(1)).unwrap()
        };
        let around_powers = (0..20).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        let stride = (0..u64::from(EIGHT_DIGITS) + 1000).step_by(9_973);
        for n in (0..1_000_000).chain(around_powers).chain(stride).chain([u64::MAX - 1, u64::MAX]) {
            assert_eq!(written(n), n.to_string(), "{n}");
        }
    }

    proptest! {
        #[test]
        fn any_integer_is_written_as_to_string_writes_it(n in any::<u64>(), small in 0u32..EIGHT_DIGITS) {
            for n in [n, u64::from(small)] {
                let mut out = Vec::new();
                write_u64(&mut out, n);
                prop_assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
            }
        }
    }

    #[test]
    fn keys_open_an_object_or_follow_a_comma() {
        let mut out = Vec::new();
        key!(out, first "a");
        write_u64(&mut out, 7);
        key!(out, "b_c");
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, br#"{"a":7,"b_c":18446744073709551615"#);
        assert!(is_plain("event_id") && !is_plain("a\"b") && !is_plain("a\\b") && !is_plain("a\nb"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "(\\PC|[\\x00-\\x1f\"\\\\\u{7f}])*") {
            prop_assert_eq!(ours(&s), serde(&s));
        }
        /// A piece of a text is written as the piece alone is: at every start and length (up to
        /// past the 16 bytes read at once), near the text's end, with bytes to escape inside
        /// the piece, right after it and at the edges of its two words.
        #[test]
        fn a_piece_of_a_text_is_written_as_the_piece_alone(
            s in "([a-z\u{e9}\u{627} ]|[\x00-\x1f\"\\\\])*",
            start in 0..40usize,
            len in 0..24usize,
        ) {
            let start = (0..=start.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap();
            let end = (start + len).min(s.len());
            let end = (end..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap();
            let mut piece = b"prefix".to_vec();
            write_substr(&mut piece, &s, start..end);
            prop_assert_eq!(piece.split_off(6), ours(&s[start..end]));
        }
    }
}
