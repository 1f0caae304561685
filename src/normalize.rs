//! Text normalization for matching, with a byte-offset map back to the original text.
//!
//! The matcher never sees the original text. It sees a *normalized copy* in which:
//! - letters are case-folded (Unicode lowercase, plus `ß` → `ss` and a few ligatures),
//! - diacritics are removed (canonical decomposition, combining marks dropped: `Deïr` → `deir`),
//! - Arabic tatweel and harakat are removed, alef forms unified (`أ إ آ ٱ` → `ا`), and `ى` → `ي`,
//!   `ة` → `ه`, Persian `ی ک` → `ي ك`, Arabic-Indic digits → ASCII digits,
//! - every character that is not a letter or a digit (spaces, hyphens, apostrophes `' ’ ‘ ʼ`,
//!   punctuation, symbols) becomes one space,
//! - the copy starts and ends with a space.
//!
//! So every word in the copy is delimited by spaces, which is what lets the matcher put the
//! word boundaries into the patterns themselves (`" al bokamal "`) instead of checking them
//! after the fact. Separators are not collapsed: one separator in the text is one space in the
//! copy, so plain ASCII text maps to the original byte for byte. The price: a multi-word name
//! written with two separators where its alias has one ("Albu  Kamal", "Al - Bukamal") does not
//! match. Aliases are normalized by the same function, so "U.S. forces" still matches itself.
//!
//! [`Normalized::original_span`] maps a span of the copy back to the original text. The map is
//! sparse: it records an anchor only where the two texts stop advancing in step (a non-ASCII
//! character whose folded form has another length, a deleted mark), so ASCII text costs nothing
//! to map. Every mapped offset is a character boundary of the original, and characters deleted
//! by normalization (combining marks, tatweel, soft hyphens) stay attached to the character
//! before them.
//!
//! Plain ASCII is folded run by run in a loop the compiler vectorizes; only non-ASCII
//! characters take the slow path, and the folding of the common non-ASCII blocks (Latin-1 to
//! Arabic, general punctuation) is computed once into a table.
//!
//! Called by [`crate::matcher`] (for texts) and by the dictionary builder (for aliases), so both
//! sides of a match are normalized by the same function.

use std::sync::LazyLock;

/// A normalized copy of a text, with the map back to the original's byte offsets.
///
/// Reuse one value across texts: [`Normalized::normalize`] clears and refills it without
/// reallocating once its buffers have grown.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    text: Vec<u8>,
    /// Sorted by `norm`; the first is always `(1, 0)`.
    anchors: Vec<Anchor>,
    original_len: usize,
    arabic_letters: usize,
    /// Stretches `[start, end)` of the copy that hold its non-ASCII bytes (letters of other
    /// scripts), merged when less than [`RUN_GAP`] bytes apart.
    non_ascii_runs: Vec<(u32, u32)>,
}

/// Non-ASCII stretches closer than this are one run, so that a multi-word Arabic name with an
/// ASCII word inside ("محطة T2") stays in one run.
const RUN_GAP: u32 = 32;

/// A point where the normalized copy and the original are known to correspond: the byte at
/// `norm` in the copy comes from the character starting at `orig` in the original. Between two
/// anchors both texts advance one byte at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    norm: u32,
    orig: u32,
}

/// The largest text [`Normalized`] accepts: offsets are stored as `u32`.
pub const MAX_TEXT_BYTES: usize = (u32::MAX / 2) as usize;

/// Why a text cannot be normalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text of {len} bytes is larger than the {max} bytes the matcher accepts")]
pub struct TextTooLarge {
    pub len: usize,
    pub max: usize,
}

impl Normalized {
    /// An empty value, ready to be filled by [`Normalized::normalize`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalizes `original` into this value, replacing what it held.
    ///
    /// # Errors
    /// [`TextTooLarge`] when `original` is longer than [`MAX_TEXT_BYTES`].
    ///
    /// # Examples
    /// ```
    /// use lexwire::normalize::Normalized;
    /// let mut n = Normalized::new();
    /// n.normalize("Deïr ez-Zor’s  ALBU—Kamal").unwrap();
    /// assert_eq!(n.as_str(), " deir ez zor s  albu kamal ");
    /// ```
    pub fn normalize(&mut self, original: &str) -> Result<(), TextTooLarge> {
        if original.len() > MAX_TEXT_BYTES {
            return Err(TextTooLarge { len: original.len(), max: MAX_TEXT_BYTES });
        }
        self.text.clear();
        self.anchors.clear();
        self.original_len = original.len();
        self.arabic_letters = 0;
        self.non_ascii_runs.clear();
        self.text.reserve(original.len() + 2);
        self.text.push(b' ');
        self.anchors.push(Anchor { norm: 1, orig: 0 });

        let bytes = original.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // An ASCII run, folded in one pass that the compiler vectorizes; then one
            // non-ASCII character on the slow path.
            let run_end = next_non_ascii(bytes, i);
            self.text.extend(bytes[i..run_end].iter().map(|&b| fold_ascii_byte(b)));
            i = run_end;
            if i >= bytes.len() {
                break;
            }
            // `original` is a str and `bytes[i]` is not ASCII, so a char starts here.
            let c = original[i..].chars().next().expect("char at a char boundary");
            let len = c.len_utf8();
            self.push_folded_char(c, i, len);
            i += len;
        }
        self.push_anchor(self.text.len(), bytes.len());
        self.text.push(b' ');
        Ok(())
    }

    /// The normalized copy. It starts and ends with a space.
    pub fn as_str(&self) -> &str {
        // Only whole UTF-8 sequences and ASCII bytes are ever pushed.
        std::str::from_utf8(&self.text).expect("normalized text is UTF-8")
    }

    /// The normalized copy as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// Length of the original text this copy was made from.
    pub fn original_len(&self) -> usize {
        self.original_len
    }

    /// The stretches of the copy that hold letters outside ASCII (Arabic, Greek, Cyrillic...),
    /// in order: patterns in those scripts can only match there.
    pub fn non_ascii_runs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.non_ascii_runs.iter().map(|&(s, e)| (s as usize, e as usize))
    }

    /// How many Arabic-script letters the original held (for language detection).
    pub fn arabic_letters(&self) -> usize {
        self.arabic_letters
    }

    /// The byte offset in the original text of the normalized byte at `norm` (which must be a
    /// character boundary of the copy, as every match boundary is). `norm == len` maps to the
    /// end of the original.
    pub fn original_offset(&self, norm: usize) -> usize {
        if norm >= self.text.len() {
            return self.original_len;
        }
        let idx = self.anchors.partition_point(|a| a.norm as usize <= norm);
        // The first anchor is (1, 0); offset 0 is the leading space, which maps to 0 too.
        let Some(anchor) = idx.checked_sub(1).map(|i| self.anchors[i]) else {
            return 0;
        };
        (anchor.orig as usize + (norm - anchor.norm as usize)).min(self.original_len)
    }

    /// A cursor that maps increasing offsets without searching: for the matches of one text, in
    /// order.
    pub fn cursor(&self) -> OffsetCursor<'_> {
        OffsetCursor { norm: self, next: 0 }
    }

    /// The span of the original text that produced the normalized span `[start, end)`.
    ///
    /// `start` and `end` are boundaries of normalized characters. The result lies on character
    /// boundaries of the original; it includes characters that normalization deleted right after
    /// the span's last character (a trailing combining mark) but not the separator that follows.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.original_offset(start);
        let e = self.original_offset(end).max(s);
        (s, e)
    }

    fn push_anchor(&mut self, norm: usize, orig: usize) {
        let anchor = Anchor { norm: norm as u32, orig: orig as u32 };
        match self.anchors.last_mut() {
            Some(last) if last.norm == anchor.norm => *last = anchor,
            Some(last) if last.orig as i64 - last.norm as i64 == anchor.orig as i64 - anchor.norm as i64 => {}
            _ => self.anchors.push(anchor),
        }
    }

    /// Appends the folded form of `c` (found at `orig..orig + len` in the original) and records
    /// the anchors that keep the map exact.
    fn push_folded_char(&mut self, c: char, orig: usize, len: usize) {
        let before = self.text.len();
        let folded = fold_char(c);
        if is_arabic_letter(c) {
            self.arabic_letters += 1;
        }
        self.text.extend_from_slice(folded.as_bytes());
        if folded.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
            let (start, end) = (before as u32, self.text.len() as u32);
            match self.non_ascii_runs.last_mut() {
                Some(run) if start - run.1 < RUN_GAP => run.1 = end,
                _ => self.non_ascii_runs.push((start, end)),
            }
        }
        // Every further character of an expansion (ß → "ss") maps to the start of `c`.
        let mut offset = 0;
        for ch in folded.chars() {
            if offset > 0 {
                self.push_anchor(before + offset, orig);
            }
            offset += ch.len_utf8();
        }
        // The byte after the expansion maps to the byte after `c`.
        if folded.len() != len || folded.chars().nth(1).is_some() {
            self.push_anchor(self.text.len(), orig + len);
        }
    }
}

/// Maps normalized offsets to original ones for offsets that never decrease, walking the
/// anchors once instead of searching them for every offset.
#[derive(Debug, Clone)]
pub struct OffsetCursor<'a> {
    norm: &'a Normalized,
    /// Index of the first anchor beyond the last offset mapped.
    next: usize,
}

impl OffsetCursor<'_> {
    /// As [`Normalized::original_span`], for spans that start at or after the previous span's
    /// end; falls back to a search otherwise.
    pub fn original_span(&mut self, start: usize, end: usize) -> (usize, usize) {
        let s = self.offset(start);
        let e = self.offset(end).max(s);
        (s, e)
    }

    fn offset(&mut self, norm: usize) -> usize {
        let anchors = &self.norm.anchors;
        if norm >= self.norm.text.len() {
            return self.norm.original_len;
        }
        if self.next > 0 && anchors[self.next - 1].norm as usize > norm {
            return self.norm.original_offset(norm);
        }
        while self.next < anchors.len() && anchors[self.next].norm as usize <= norm {
            self.next += 1;
        }
        match self.next.checked_sub(1) {
            Some(i) => (anchors[i].orig as usize + (norm - anchors[i].norm as usize)).min(self.norm.original_len),
            None => 0,
        }
    }
}

/// Normalizes a short string (an alias, a query) in one call.
///
/// The result has no leading or trailing space; each separator inside is one space, as in
/// [`Normalized`].
///
/// # Examples
/// ```
/// assert_eq!(lexwire::normalize::normalize_str("Al-Qa’em"), "al qa em");
/// assert_eq!(lexwire::normalize::normalize_str("دير الزّور"), "دير الزور");
/// ```
pub fn normalize_str(s: &str) -> String {
    let mut n = Normalized::new();
    match n.normalize(s) {
        Ok(()) => n.as_str().trim().to_string(),
        Err(_) => String::new(),
    }
}

/// The position of the first non-ASCII byte at or after `from` (or the end), checking 64 bytes
/// at a time with the standard library's word-at-a-time `is_ascii`.
#[inline]
fn next_non_ascii(bytes: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = bytes.get(from..from + 64) {
        if !chunk.is_ascii() {
            break;
        }
        from += 64;
    }
    bytes[from..].iter().position(|b| !b.is_ascii()).map_or(bytes.len(), |p| from + p)
}

/// ASCII folding: letters to lowercase, digits kept, everything else a space. Written without
/// branches or tables so that the loop over an ASCII run vectorizes.
#[inline(always)]
fn fold_ascii_byte(b: u8) -> u8 {
    let is_upper = b.wrapping_sub(b'A') < 26;
    let lower = b | ((is_upper as u8) << 5);
    let is_alnum = lower.wrapping_sub(b'a') < 26 || lower.wrapping_sub(b'0') < 10;
    if is_alnum { lower } else { b' ' }
}

/// The folded form of one non-ASCII character: empty (deleted), a space (separator), or one or
/// more lowercase letters and digits.
fn fold_char(c: char) -> Folded {
    let cp = c as u32;
    let table = &*FOLD_TABLE;
    if let Some(entry) = cp.checked_sub(TABLE_START).and_then(|k| table.get(k as usize)) {
        return *entry;
    }
    if let Some(entry) = cp.checked_sub(PUNCT_START).and_then(|k| PUNCT_TABLE.get(k as usize)) {
        return *entry;
    }
    fold_char_uncached(c)
}

const TABLE_START: u32 = 0x80;
const TABLE_END: u32 = 0x800; // every two-byte UTF-8 character: Latin, Greek, Cyrillic, Arabic
const PUNCT_START: u32 = 0x2000;
const PUNCT_END: u32 = 0x2070; // General Punctuation: dashes, quotes, spaces, zero-width marks

static FOLD_TABLE: LazyLock<Vec<Folded>> = LazyLock::new(|| {
    (TABLE_START..TABLE_END).map(|cp| char::from_u32(cp).map_or(Folded::SPACE, fold_char_uncached)).collect()
});

static PUNCT_TABLE: LazyLock<Vec<Folded>> = LazyLock::new(|| {
    (PUNCT_START..PUNCT_END).map(|cp| char::from_u32(cp).map_or(Folded::SPACE, fold_char_uncached)).collect()
});

/// A folded character: at most [`Folded::CAP`] bytes of UTF-8, inline.
#[derive(Clone, Copy, Debug)]
struct Folded {
    len: u8,
    bytes: [u8; Folded::CAP],
}

impl Folded {
    const CAP: usize = 11;
    const EMPTY: Folded = Folded { len: 0, bytes: [0; Folded::CAP] };
    const SPACE: Folded = Folded { len: 1, bytes: [b' ', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] };

    fn push(&mut self, c: char) {
        let len = c.len_utf8();
        if self.len as usize + len <= Self::CAP {
            c.encode_utf8(&mut self.bytes[self.len as usize..]);
            self.len += len as u8;
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    fn len(&self) -> usize {
        self.len as usize
    }

    fn chars(&self) -> std::str::Chars<'_> {
        std::str::from_utf8(self.as_bytes()).expect("whole chars only").chars()
    }
}

fn is_arabic_letter(c: char) -> bool {
    matches!(c, '\u{0620}'..='\u{064A}' | '\u{0671}'..='\u{06D3}')
}

fn fold_char_uncached(c: char) -> Folded {
    let mut out = Folded::EMPTY;
    match c {
        // Marks and invisible characters that must not split a word.
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{0640}' => return out,
        // Apostrophe-like letters (modifier letters are alphabetic, but here they separate).
        '\u{02B9}'..='\u{02BF}' | '\u{02C8}' | '\u{02CA}' | '\u{02CB}' => return Folded::SPACE,
        'ß' | 'ẞ' => {
            out.push('s');
            out.push('s');
            return out;
        }
        'æ' | 'Æ' => return pair('a', 'e'),
        'œ' | 'Œ' => return pair('o', 'e'),
        'ø' | 'Ø' => return single('o'),
        'ł' | 'Ł' => return single('l'),
        'đ' | 'Đ' | 'ð' | 'Ð' => return single('d'),
        'ı' => return single('i'),
        'þ' | 'Þ' => return pair('t', 'h'),
        // Arabic letter forms.
        'ٱ' => return single('ا'),
        'ى' => return single('ي'),
        'ة' => return single('ه'),
        'ی' | 'ې' => return single('ي'),
        'ک' => return single('ك'),
        '٠'..='٩' => return single(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '۰'..='۹' => return single(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        _ => {}
    }
    for lower in c.to_lowercase() {
        unicode_normalization::char::decompose_canonical(lower, |d| {
            if unicode_normalization::char::is_combining_mark(d) {
                return;
            }
            if d.is_alphanumeric() {
                out.push(d);
            } else if out.len() == 0 || out.as_bytes().last() != Some(&b' ') {
                out.push(' ');
            }
        });
    }
    out
}

fn single(c: char) -> Folded {
    let mut out = Folded::EMPTY;
    out.push(c);
    out
}

fn pair(a: char, b: char) -> Folded {
    let mut out = Folded::EMPTY;
    out.push(a);
    out.push(b);
    out
}

/// `f` of `s` lowercased as [`str::to_lowercase`] does, without an allocation when `s` is ASCII
/// and short, as a word or a surface nearly always is (an allocation a word showed in the
/// profile): the lowercase of an ASCII string is its ASCII lowercase.
pub fn with_lowercase<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buffer = [0u8; 64];
    match buffer.get_mut(..s.len()) {
        Some(bytes) if s.is_ascii() => {
            bytes.copy_from_slice(s.as_bytes());
            bytes.make_ascii_lowercase();
            f(std::str::from_utf8(bytes).expect("ASCII is UTF-8"))
        }
        _ => f(&s.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut n = Normalized::new();
        n.normalize(s).unwrap();
        n.as_str().to_string()
    }

    #[test]
    fn folds_case_diacritics_and_separators() {
        let cases = [
            ("Al-Bokamal", " al bokamal "),
            ("AlbuKamal", " albukamal "),
            ("Deïr ez-Zor", " deir ez zor "),
            ("Al-Qa’em", " al qa em "),
            ("Al-Mazare’ area", " al mazare  area "),
            ("  trucks  used  ", "   trucks  used   "),
            ("“Liwa Fatemiyoun”", "  liwa fatemiyoun  "),
            ("Straße", " strasse "),
            ("ŒUVRE", " oeuvre "),
            ("U.S.-led", " u s  led "),
            ("", "  "),
            ("...", "     "),
            ("x.", " x  "),
            ("Bok\u{00AD}amal", " bokamal "),
            ("e\u{0301}lan", " elan "),
            ("İstanbul", " istanbul "),
        ];
        for (input, expected) in cases {
            assert_eq!(norm(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn folds_arabic() {
        assert_eq!(norm("البوكمال"), " البوكمال ");
        assert_eq!(norm("دير الزّور"), " دير الزور "); // shadda removed
        assert_eq!(norm("أبو كمال"), " ابو كمال "); // hamza-on-alef unified
        assert_eq!(norm("إدلب"), " ادلب ");
        assert_eq!(norm("الميـــادين"), " الميادين "); // tatweel removed
        assert_eq!(norm("القنيطرة"), " القنيطره ");
        assert_eq!(norm("٢٢ قتيلا"), " 22 قتيلا ");
    }

    #[test]
    fn ascii_spans_map_exactly() {
        let text = "22 militiamen of the Iraqi Hezbollah, near Al-Bokamal.";
        let mut n = Normalized::new();
        n.normalize(text).unwrap();
        let s = n.as_str();
        let k = s.find("al bokamal").unwrap();
        let (a, b) = n.original_span(k, k + "al bokamal".len());
        assert_eq!(&text[a..b], "Al-Bokamal");
    }

    #[test]
    fn spans_survive_double_spaces_and_multibyte_chars() {
        let text = "Près de  Boukamal, « Deïr ez-Zor »  et Al-Qa’em…  fin";
        let mut n = Normalized::new();
        n.normalize(text).unwrap();
        for (needle, surface) in
            [("boukamal", "Boukamal"), ("deir ez zor", "Deïr ez-Zor"), ("al qa em", "Al-Qa’em"), ("fin", "fin")]
        {
            let k = n.as_str().find(needle).unwrap();
            let (a, b) = n.original_span(k, k + needle.len());
            assert_eq!(&text[a..b], surface, "needle {needle:?}");
        }
    }

    #[test]
    fn deleted_marks_stay_with_their_letter() {
        let text = "cafe\u{0301} noir";
        let mut n = Normalized::new();
        n.normalize(text).unwrap();
        let k = n.as_str().find("cafe").unwrap();
        let (a, b) = n.original_span(k, k + 4);
        assert_eq!(&text[a..b], "cafe\u{0301}");
    }

    #[test]
    fn expansions_map_to_char_starts() {
        let text = "Straße";
        let mut n = Normalized::new();
        n.normalize(text).unwrap();
        assert_eq!(n.as_str(), " strasse ");
        // Each 's' of "ss" maps to the start of 'ß' (byte 4); 'e' to byte 6.
        assert_eq!(n.original_offset(5), 4);
        assert_eq!(n.original_offset(6), 4);
        assert_eq!(n.original_offset(7), 6);
    }

    proptest::proptest! {
        /// The stack copy is `to_lowercase`, ASCII or not, short or long: "KILLED", the Kelvin
        /// sign (lowercase 'k'), 'İ' (two characters), Arabic, and words longer than the buffer.
        #[test]
        fn with_lowercase_is_to_lowercase(s in "([A-Za-z -]|\u{212A}|İ|É|ß|ق){0,80}") {
            proptest::prop_assert_eq!(with_lowercase(&s, str::to_string), s.to_lowercase());
        }
    }
}
