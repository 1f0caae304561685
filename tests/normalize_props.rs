//! Property tests for the normalization offset map: whatever the input, every span the matcher
//! can report maps back onto character boundaries of the original, and the original slice
//! normalizes to exactly the matched text.

use lexwire::normalize::{Normalized, normalize_str};
use proptest::prelude::*;

/// Characters that exercise every path: ASCII, Latin with diacritics, expansions, combining
/// marks, Arabic with harakat and tatweel, quotes and dashes, invisible characters, astral.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => prop::char::range('A', 'Z'),
        2 => Just(' '),
        1 => prop::sample::select(vec![
            '-', '\'', '.', ',', '\n', '\t', '0', '7', 'é', 'Ï', 'ß', 'ẞ', 'Œ', 'ø', 'İ', 'ı', '\u{0301}', '\u{0308}',
            '’', '‘', 'ʼ', 'ʿ', '“', '”', '—', '–', '\u{00A0}', '\u{00AD}', '\u{200B}', '\u{FEFF}', 'ا', 'أ', 'ل', 'ب',
            'و', 'ك', 'م', '\u{0640}', '\u{064E}', '\u{0651}', 'ة', 'ى', '٣', 'Ж', 'λ', 'Σ', '中', '😀', '\u{10FFFF}',
            'ǅ', 'ﬁ', '½', '\u{1E9E}', 'Å', '\u{0345}',
        ]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(interesting_char(), 0..120).prop_map(|v| v.into_iter().collect())
}

/// Word spans of the normalized copy: maximal runs of non-space bytes.
fn words(n: &Normalized) -> Vec<(usize, usize)> {
    let b = n.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && b[i] != b' ' {
            i += 1;
        }
        out.push((s, i));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn shape_of_the_copy(s in text()) {
        let mut n = Normalized::new();
        n.normalize(&s).unwrap();
        let t = n.as_str();
        prop_assert!(t.starts_with(' ') && t.ends_with(' ') && t.len() >= 2);
        prop_assert!(t.chars().all(|c| c == ' ' || c.is_alphanumeric()));
        prop_assert!(!t.chars().any(|c| c.is_uppercase()));
    }

    #[test]
    fn every_span_maps_to_char_boundaries_and_covers_the_text(s in text()) {
        let mut n = Normalized::new();
        n.normalize(&s).unwrap();
        let ws = words(&n);
        // Single words and runs of up to three consecutive words, as multi-word aliases match.
        for i in 0..ws.len() {
            for j in i..ws.len().min(i + 3) {
                let (ns, ne) = (ws[i].0, ws[j].1);
                let (a, b) = n.original_span(ns, ne);
                prop_assert!(a <= b && b <= s.len());
                prop_assert!(s.is_char_boundary(a) && s.is_char_boundary(b), "span {}..{} of {:?}", a, b, s);
                let matched = &n.as_str()[ns..ne];
                prop_assert_eq!(normalize_str(&s[a..b]), matched, "original slice {:?}", &s[a..b]);
            }
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing(s in text()) {
        let once = normalize_str(&s);
        prop_assert_eq!(normalize_str(&once), once.clone());
    }

    #[test]
    fn ascii_maps_byte_for_byte(s in "[ -~\n\t]{0,200}") {
        let mut n = Normalized::new();
        n.normalize(&s).unwrap();
        prop_assert_eq!(n.as_bytes().len(), s.len() + 2);
        for k in 1..=s.len() {
            prop_assert_eq!(n.original_offset(k), k - 1);
        }
    }
}

#[test]
fn reusing_one_value_gives_the_same_result_as_a_fresh_one() {
    let mut reused = Normalized::new();
    for s in ["Al-Bokamal — Deïr ez-Zor", "", "  x  ", "دير الزّور", "ß ß ß"] {
        reused.normalize(s).unwrap();
        let mut fresh = Normalized::new();
        fresh.normalize(s).unwrap();
        assert_eq!(reused.as_str(), fresh.as_str());
        for k in 0..=fresh.as_bytes().len() {
            if fresh.as_str().is_char_boundary(k) {
                assert_eq!(reused.original_offset(k), fresh.original_offset(k));
            }
        }
    }
}
