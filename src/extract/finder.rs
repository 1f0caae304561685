//! The small fixed lists of words and phrases extraction rules look for in a sentence, ASCII
//! case aside.
//!
//! A DFA walks a text one byte at a time, each step waiting for the load of the last (the hot
//! instruction in `perf`), and extraction ran four of them over each candidate's sentence: 6-10%
//! of the whole offline path's time. A finder instead lowercases the text's ASCII letters into a
//! buffer and runs the crate's packed searcher (SIMD, Teddy) over it with the lists lowercased. Lowercasing
//! both sides is what ASCII case-insensitive matching means, byte for byte, so the matches are
//! the DFA's (a test compares them); the DFA stays for a list the packed searcher cannot take.

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Match, MatchKind};

/// A searcher of a fixed list, ASCII case aside.
#[derive(Debug)]
pub(crate) enum Finder {
    /// The lowercased list, searched in the lowercased text.
    Packed(packed::Searcher),
    /// The list as a DFA over the text as it is, where the packed searcher cannot be built (no
    /// SIMD for it on the machine, or too many patterns).
    Dfa(AhoCorasick),
}

impl Finder {
    /// Finds phrases of which no two can overlap (none holds another, none ends with another's
    /// start: checked here), so that every occurrence is a match whatever the semantics.
    ///
    /// # Panics
    /// If two phrases could overlap, or one is empty or listed twice (the lists are the code's
    /// own).
    pub(crate) fn phrases(phrases: &[&str]) -> Finder {
        let lower: Vec<String> = phrases.iter().map(|p| p.to_ascii_lowercase()).collect();
        for a in &lower {
            for b in &lower {
                let holds = a != b && b.contains(a.as_str());
                let chains = (1..a.len()).any(|k| a.is_char_boundary(k) && b.starts_with(&a[k..]));
                assert!(!holds && !chains, "phrases that may overlap: {a:?}, {b:?}");
            }
        }
        Finder::build(phrases)
    }

    /// Finds words leftmost-longest: a search that meets a word of the list at a word's start
    /// takes the longest one there ("these", not "the"), and a match inside a longer word ends
    /// within it, before the next word starts (callers keep the whole words).
    pub(crate) fn leftmost_longest(words: &[&str]) -> Finder {
        Finder::build(words)
    }

    /// A leftmost-longest searcher of `patterns`.
    ///
    /// # Panics
    /// If a pattern is empty or listed twice, ASCII case aside (the searchers could then name
    /// different ones of the two for a match).
    fn build(patterns: &[&str]) -> Finder {
        assert!(patterns.iter().all(|p| !p.is_empty()), "no empty pattern: {patterns:?}");
        for (i, p) in patterns.iter().enumerate() {
            assert!(!patterns[..i].iter().any(|q| q.eq_ignore_ascii_case(p)), "{p:?} listed twice");
        }
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostLongest)
            .builder()
            .extend(patterns.iter().map(|p| p.to_ascii_lowercase()))
            .build();
        match packed {
            Some(packed) => Finder::Packed(packed),
            None => Finder::dfa(patterns, MatchKind::LeftmostLongest),
        }
    }

    /// The list as a DFA, ASCII case-insensitive.
    fn dfa(patterns: &[&str], kind: MatchKind) -> Finder {
        let dfa = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(kind)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns)
            .expect("a few fixed phrases always build");
        Finder::Dfa(dfa)
    }

    /// The matches in `haystack`, in order, none overlapping (no allocation when there are
    /// none, as in most sentences).
    pub(crate) fn find_all(&self, haystack: &[u8]) -> Vec<Match> {
        match self {
            Finder::Packed(packed) => lowercased(haystack, |lower| packed.find_iter(lower).collect()),
            Finder::Dfa(dfa) => dfa.find_iter(haystack).collect(),
        }
    }

    /// Whether anything of the list is in `haystack`.
    pub(crate) fn is_match(&self, haystack: &[u8]) -> bool {
        match self {
            Finder::Packed(packed) => lowercased(haystack, |lower| packed.find(lower).is_some()),
            Finder::Dfa(dfa) => dfa.is_match(haystack),
        }
    }
}

/// `f` of `haystack` with its ASCII letters lowercased: in a buffer on the stack for a sentence
/// of ordinary length (an allocation for each of a sentence's searches showed in the profile),
/// else in one on the heap.
fn lowercased<R>(haystack: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    const ON_STACK: usize = 1024;
    if haystack.len() <= ON_STACK {
        let mut buffer = [0u8; ON_STACK];
        let lower = &mut buffer[..haystack.len()];
        lower.copy_from_slice(haystack);
        lower.make_ascii_lowercase();
        f(lower)
    } else {
        f(&haystack.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dfa(patterns: &[&str], kind: MatchKind, text: &str) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(kind)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns)
            .unwrap();
        ac.find_iter(text).map(|m| (m.start(), m.end(), m.pattern().as_usize())).collect()
    }

    fn ours(finder: &Finder, text: &str) -> Vec<(usize, usize, usize)> {
        finder.find_all(text.as_bytes()).into_iter().map(|m| (m.start(), m.end(), m.pattern().as_usize())).collect()
    }

    #[test]
    fn overlapping_phrases_are_refused() {
        assert!(std::panic::catch_unwind(|| Finder::phrases(&["in addition", "addition to"])).is_err());
        assert!(std::panic::catch_unwind(|| Finder::phrases(&["en plus de", "plus"])).is_err());
        assert!(std::panic::catch_unwind(|| Finder::phrases(&["aba"])).is_err(), "a phrase that overlaps itself");
    }

    /// On the machines the packed searcher has SIMD for, the rules' lists take the fast path.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_lists_of_the_rules_are_searched_packed() {
        let definite_and_doers: Vec<&str> = ["the", "all", "both", "these", "those", "les", "ces", "tous"]
            .into_iter()
            .chain(super::super::casualties::DOERS)
            .collect();
        let lists: [&[&str]; 3] = [
            &super::super::PLACE_NOUNS,
            &["in", "near", "at", "outside", "dans", "près", "à", "en"],
            &definite_and_doers,
        ];
        for list in lists {
            assert!(matches!(Finder::leftmost_longest(list), Finder::Packed(_)), "{list:?}");
        }
        let besides = ["in addition to ", "besides ", "en plus du ", "en plus des ", "en plus de ", "outre ", "across"];
        assert!(matches!(Finder::phrases(&besides), Finder::Packed(_)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// The matches of a DFA over the text with the same settings (standard semantics for
        /// phrases that cannot overlap), on texts made of the patterns, their pieces, other
        /// words, non-ASCII letters and case changes.
        #[test]
        fn finds_what_the_dfa_finds(pieces in proptest::collection::vec((0..40usize, 0..3u8), 0..60)) {
            const PHRASES: [&str; 7] =
                ["in addition to ", "besides ", "en plus du ", "en plus des ", "en plus de ", "outre ", "across"];
            const WORDS: [&str; 12] =
                ["in", "near", "at", "outside", "dans", "près", "à", "en", "the", "these", "village", "localité"];
            const OTHER: [&str; 12] = ["in addition", "to ", "plus ", "é", "À", "PRÈS", " ", "x", "Ès", "-", "\n", "ACROSS"];
            let all: Vec<&str> = PHRASES.iter().chain(&WORDS).chain(&OTHER).copied().collect();
            let text: String = pieces
                .iter()
                .map(|&(i, case)| {
                    let p = all[i % all.len()];
                    match case {
                        0 => p.to_string(),
                        1 => p.to_uppercase(),
                        _ => p.chars().enumerate().map(|(k, c)| if k % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect(),
                    }
                })
                .collect();
            let phrases = Finder::phrases(&PHRASES);
            let expected = dfa(&PHRASES, MatchKind::Standard, &text);
            prop_assert_eq!(ours(&phrases, &text), expected.clone());
            prop_assert_eq!(phrases.is_match(text.as_bytes()), !expected.is_empty());
            let words = Finder::leftmost_longest(&WORDS);
            prop_assert_eq!(ours(&words, &text), dfa(&WORDS, MatchKind::LeftmostLongest, &text));
            // Past the stack buffer: the same text, repeated beyond 1 KB.
            if !text.is_empty() {
                let long = text.repeat(1025 / text.len() + 1);
                prop_assert_eq!(ours(&words, &long), dfa(&WORDS, MatchKind::LeftmostLongest, &long));
                prop_assert_eq!(ours(&phrases, &long), dfa(&PHRASES, MatchKind::Standard, &long));
            }
            // The fallback for machines without the packed searcher.
            prop_assert_eq!(ours(&Finder::dfa(&WORDS, MatchKind::LeftmostLongest), &text), ours(&words, &text));
            prop_assert_eq!(ours(&Finder::dfa(&PHRASES, MatchKind::Standard), &text), ours(&phrases, &text));
            // The phrases' fallback is built leftmost-longest: the same as standard, since they
            // cannot overlap.
            prop_assert_eq!(ours(&Finder::dfa(&PHRASES, MatchKind::LeftmostLongest), &text), expected);
        }
    }
}
