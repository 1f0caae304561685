//! Fire counted by the round, the way ceasefire monitors and front-line reports tell it: "a
//! total of 25 projectiles/explosions involving unknown weapons near X", "12 shots involving
//! small arms", "dozens of explosions", "trois explosions et des tirs". A number, then one or
//! more nouns of rounds joined by "/", ",", "and", "or".
//!
//! What was fired decides the ACLED sub-event type (codebook: shelling is fire from afar with
//! no engagement on the ground; two sides exchanging fire is an armed clash):
//! - rounds that explode or fly (explosions, projectiles, shells) are **remote** fire;
//! - shots and gunshots are **direct** fire, small arms;
//! - bursts of fire say neither: the weapon named decides, or the trigger stands;
//! - fire "in both directions" is an **exchange**.
//!
//! A counted explosion is a round only when nothing says it was a device: "four explosions
//! killed seven people" in a city is a bombing, and the extractor keeps the device reading
//! when the sentence tells of people harmed or names an explosive.

use crate::dictionary::EntryKind;
use crate::tag::Tag;

use super::window_after;

/// What a sentence's counted rounds say of the fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedFire {
    /// Explosions, projectiles, shells.
    pub remote: bool,
    /// Shots, gunshots.
    pub direct: bool,
    /// The noun "explosion(s)" is the only remote round named.
    pub explosions_only: bool,
    /// "in both directions": two sides fired.
    pub exchange: bool,
    /// Byte span of the count and its nouns ("25 projectiles/explosions").
    pub span: (usize, usize),
}

/// Nouns of rounds, lowercase, as word sequences; the second field says remote (true), direct
/// (false) or neither (None).
const ROUNDS: &[(&[&str], Option<bool>)] = &[
    (&["explosions"], Some(true)),
    (&["explosion"], Some(true)),
    (&["projectiles"], Some(true)),
    (&["projectile"], Some(true)),
    (&["shells"], Some(true)),
    (&["obus"], Some(true)),
    (&["shots"], Some(false)),
    (&["gunshots"], Some(false)),
    (&["tirs"], Some(false)),
    (&["coups", "de", "feu"], Some(false)),
    (&["bursts", "of", "fire"], None),
    (&["bursts"], None),
    (&["rafales", "de", "tirs"], None),
    (&["rafales"], None),
];

/// Words that join two nouns of rounds ("/" and "," are not words and vanish in the split).
const JOINS: &[&str] = &["and", "or", "et", "ou"];

/// Phrases saying two sides fired at each other.
const BOTH_WAYS: &[&str] = &["both directions", "les deux sens", "les deux directions"];

/// The first count of rounds in `text[range]`: a number tag followed by nouns of rounds, with
/// at most one word between ("12 loud explosions").
pub fn counted(text: &str, range: std::ops::Range<usize>, tags: &[&Tag]) -> Option<CountedFire> {
    let sentence = &text[range.clone()];
    for t in tags.iter().filter(|t| t.kind == EntryKind::Number && t.end <= range.end) {
        let after = &text[t.end..window_after(text, t.end, 120)];
        // Most numbers count something else: look at the two words after it before reading on.
        let starts_a_noun = |w: &str| ROUNDS.iter().any(|(noun, _)| noun[0].eq_ignore_ascii_case(w));
        if !words_with_offsets(after).take(2).any(|(_, w)| starts_a_noun(w)) {
            continue;
        }
        let words: Vec<(usize, &str)> = words_with_offsets(after).take(16).collect();
        let mut i = 0;
        let mut fire = CountedFire {
            remote: false,
            direct: false,
            explosions_only: true,
            exchange: false,
            span: (t.start, t.end),
        };
        let mut nouns = 0;
        let mut skipped = false;
        while i < words.len() {
            match noun_at(&words[i..]) {
                Some((len, kind)) => {
                    let first = words[i].1;
                    match kind {
                        Some(true) => {
                            fire.remote = true;
                            if !first.eq_ignore_ascii_case("explosions") && !first.eq_ignore_ascii_case("explosion") {
                                fire.explosions_only = false;
                            }
                        }
                        Some(false) => fire.direct = true,
                        None => {}
                    }
                    let (at, last) = words[i + len - 1];
                    fire.span.1 = t.end + at + last.len();
                    nouns += 1;
                    i += len;
                    if i < words.len() && JOINS.iter().any(|j| words[i].1.eq_ignore_ascii_case(j)) {
                        i += 1;
                    }
                }
                // One word between the count and its noun ("12 loud explosions"), no more.
                None if nouns == 0 && !skipped => {
                    skipped = true;
                    i += 1;
                }
                None => break,
            }
        }
        if nouns > 0 {
            let lower = sentence.to_lowercase();
            fire.exchange = BOTH_WAYS.iter().any(|p| lower.contains(p));
            if !fire.remote {
                fire.explosions_only = false;
            }
            return Some(fire);
        }
    }
    None
}

/// The noun of rounds starting at `words[0]`: its length in words and its kind.
fn noun_at(words: &[(usize, &str)]) -> Option<(usize, Option<bool>)> {
    ROUNDS.iter().find_map(|(noun, kind)| {
        (words.len() >= noun.len() && noun.iter().zip(words).all(|(n, (_, w))| w.eq_ignore_ascii_case(n)))
            .then_some((noun.len(), *kind))
    })
}

/// The words of `text` (runs of letters and digits, [`char::is_alphanumeric`]) with their byte
/// offsets. ASCII bytes are read as bytes; a character is decoded only where one begins.
pub(crate) fn words_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> + Clone {
    let mut rest = 0;
    std::iter::from_fn(move || {
        let start = next_boundary(text, rest, true)?;
        let end = next_boundary(text, start, false).unwrap_or(text.len());
        rest = end;
        Some((start, &text[start..end]))
    })
}

/// The offset of the first character from `from` that is alphanumeric (`alphanumeric`) or is not.
fn next_boundary(text: &str, from: usize, alphanumeric: bool) -> Option<usize> {
    let mut i = from;
    while i < text.len() {
        let (w, len) = alphanumeric_at(text, i);
        if w == alphanumeric {
            return Some(i);
        }
        i += len;
    }
    None
}

/// What a byte is to the word readers: an ASCII character, alphanumeric or not, or a byte of a
/// multi-byte character (which the reader decodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteClass {
    Separator,
    Alphanumeric,
    Multibyte,
}

/// [`ByteClass`] by byte: one load where three range tests were.
pub(crate) static BYTE_CLASS: [ByteClass; 256] = {
    let mut table = [ByteClass::Multibyte; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = if (b as u8).is_ascii_alphanumeric() { ByteClass::Alphanumeric } else { ByteClass::Separator };
        b += 1;
    }
    table
};

/// Whether the character that starts at byte `i` of `text` (a character boundary) is
/// alphanumeric, and its length: an ASCII byte is read as it is, any other character decoded.
// Inlined: called per character on the extraction's hot paths (not inlined, 1% more instructions).
#[inline(always)]
pub(crate) fn alphanumeric_at(text: &str, i: usize) -> (bool, usize) {
    match BYTE_CLASS[usize::from(text.as_bytes()[i])] {
        ByteClass::Alphanumeric => (true, 1),
        ByteClass::Separator => (false, 1),
        ByteClass::Multibyte => {
            let c = text[i..].chars().next().expect("a character starts here");
            (c.is_alphanumeric(), c.len_utf8())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The words as first written: a character at a time.
    fn reference(text: &str) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let mut rest = 0;
        while let Some(found) = text[rest..].find(char::is_alphanumeric) {
            let start = rest + found;
            let len = text[start..].find(|c: char| !c.is_alphanumeric()).unwrap_or(text.len() - start);
            out.push((start, &text[start..start + len]));
            rest = start + len;
        }
        out
    }

    #[test]
    fn words_in_any_script() {
        let text = "12 obus/explosions, près de Zolote-4 et ١٢ قذيفة — «Ṭūz»!";
        assert_eq!(words_with_offsets(text).collect::<Vec<_>>(), reference(text));
        assert_eq!(
            words_with_offsets("près de Zolote-4").map(|(_, w)| w).collect::<Vec<_>>(),
            ["près", "de", "Zolote", "4"]
        );
    }

    proptest! {
        #[test]
        fn the_same_words_as_a_character_at_a_time(text in "[a-zA-Zé0-9 ,.'\\-ـق١\u{300}—«»]{0,40}") {
            prop_assert_eq!(words_with_offsets(&text).collect::<Vec<_>>(), reference(&text));
        }
    }
}
