//! One Aho-Corasick automaton over every alias of every dictionary, and the word-bounded
//! search over a [`Normalized`] text.
//!
//! Each pattern is a normalized alias between two spaces (`" al bokamal "`), and in the
//! normalized text every word stands between spaces, so a match is a whole-word match by
//! construction: "Bokamalian" cannot match, and short aliases ("mi", "un") are not even reported
//! inside longer words, which keeps the automaton out of match states on most of the text. Two
//! adjacent words share the space between them, so after each match the search resumes on its
//! closing space ("American airstrikes" is two matches). Matches are leftmost-longest and do not
//! otherwise overlap: "Al-Qa'em crossing" is the crossing, not the town of Al-Qa'im and a word.
//!
//! Several entries can share a pattern ("Aleppo" is a city and a governorate). The matcher keeps
//! them all, ranked best first (see [`rank`]), and the tagger chooses among them with context.
//!
//! Patterns are split in two automata: ASCII patterns (Latin-script names and words, which
//! normalization reduces to ASCII) and the others (Arabic script). The second runs only on texts
//! that hold non-ASCII letters, and keeping Arabic bytes out of the first keeps its DFA rows
//! narrow (fewer byte classes), which is most of its memory and of its cache misses.
//!
//! Each automaton is a DFA by default; the contiguous NFA is available for comparison (the
//! benchmark `matcher` measures both, and the README says which won and why).

use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

use crate::dictionary::{Alias, AliasOrigin, Detail, Dictionary, PlaceLevel};
use crate::normalize::Normalized;

/// Index of a pattern of the automaton.
pub type PatternId = u32;

/// Which automaton the crate builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutomatonKind {
    /// A full DFA: fastest search, most memory.
    #[default]
    Dfa,
    /// The contiguous NFA: less memory, slower on large pattern sets.
    ContiguousNfa,
}

/// A whole-word match in the normalized text: `[start, end)` covers the alias without the
/// spaces around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMatch {
    pub pattern: PatternId,
    pub start: usize,
    pub end: usize,
}

/// Why the automaton could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the automaton over {patterns} patterns: {source}")]
pub struct MatcherError {
    patterns: usize,
    #[source]
    source: aho_corasick::BuildError,
}

/// The compiled automata and the table from patterns to dictionary aliases.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Patterns `0..ascii_patterns`.
    ascii: AhoCorasick,
    /// Patterns `ascii_patterns..`, numbered from 0 inside this automaton.
    other: AhoCorasick,
    ascii_patterns: u32,
    /// Candidate aliases of pattern `p`: `candidates[starts[p]..starts[p + 1]]`, best first.
    candidates: Vec<u32>,
    starts: Vec<u32>,
    /// The patterns as given to the automaton (between spaces).
    patterns: Vec<Box<str>>,
    build_time: Duration,
}

impl Matcher {
    /// Builds the automaton over every alias of `dict`.
    ///
    /// # Errors
    /// [`MatcherError`] if the automaton exceeds the crate's limits (state ids overflow); the
    /// shipped dictionaries are far below them.
    pub fn new(dict: &Dictionary, kind: AutomatonKind) -> Result<Matcher, MatcherError> {
        let started = Instant::now();
        let aliases = dict.aliases();
        // Aliases are sorted by normalized form (the dictionary dedups them that way); group
        // runs of equal forms into one pattern.
        let mut order: Vec<u32> = (0..aliases.len() as u32).collect();
        order.sort_by(|&a, &b| aliases[a as usize].normalized.cmp(&aliases[b as usize].normalized));
        let mut patterns = Vec::new();
        let mut candidates = Vec::with_capacity(aliases.len());
        let mut starts = Vec::new();
        // ASCII forms first, so that pattern ids split in two ranges.
        order.sort_by_key(|&a| !aliases[a as usize].normalized.is_ascii());
        let mut i = 0;
        while i < order.len() {
            let form = &aliases[order[i] as usize].normalized;
            let mut j = i;
            while j < order.len() && aliases[order[j] as usize].normalized == *form {
                j += 1;
            }
            let mut group: Vec<u32> = order[i..j].to_vec();
            group.sort_by_key(|&a| rank(dict, &aliases[a as usize], a));
            starts.push(candidates.len() as u32);
            candidates.extend(group);
            patterns.push(format!(" {form} ").into_boxed_str());
            i = j;
        }
        starts.push(candidates.len() as u32);

        let ascii_patterns = patterns.iter().take_while(|p| p.is_ascii()).count();
        let build = |patterns: &[Box<str>]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(match kind {
                    AutomatonKind::Dfa => AhoCorasickKind::DFA,
                    AutomatonKind::ContiguousNfa => AhoCorasickKind::ContiguousNFA,
                }))
                // Every pattern starts with a space: a prefilter on that byte would stop at
                // every word and slow the search down.
                .prefilter(false)
                .build(patterns.iter().map(|p| p.as_bytes()))
                .map_err(|source| MatcherError { patterns: patterns.len(), source })
        };
        let ascii = build(&patterns[..ascii_patterns])?;
        let other = build(&patterns[ascii_patterns..])?;
        Ok(Matcher {
            ascii,
            other,
            ascii_patterns: ascii_patterns as u32,
            candidates,
            starts,
            patterns,
            build_time: started.elapsed(),
        })
    }

    /// Appends to `out` every whole-word, leftmost-longest match in `text`, in text order;
    /// matches may share the space between two words and nothing else.
    pub fn find(&self, text: &Normalized, out: &mut Vec<RawMatch>) {
        let first = out.len();
        let hay = text.as_bytes();
        search(&self.ascii, 0, hay, 0..hay.len(), out);
        let before = out.len();
        for (start, end) in text.non_ascii_runs() {
            // Widen by one byte each side to take in the spaces around the run.
            search(&self.other, self.ascii_patterns, hay, start - 1..(end + 1).min(hay.len()), out);
        }
        if out.len() > before && before > first {
            out[first..].sort_unstable_by_key(|m| m.start);
        }
    }

    /// The candidate aliases (indices into [`Dictionary::aliases`]) of a pattern, best first.
    pub fn candidates(&self, pattern: PatternId) -> &[u32] {
        let p = pattern as usize;
        &self.candidates[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// The automaton of ASCII patterns, for benchmarks that compare against the raw crate (on
    /// ASCII text it is the only one that runs).
    pub fn ascii_automaton(&self) -> &AhoCorasick {
        &self.ascii
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// The pattern text (normalized alias between spaces).
    pub fn pattern(&self, pattern: PatternId) -> &str {
        &self.patterns[pattern as usize]
    }

    /// Heap memory of the automata, as the crate reports it, plus the pattern tables.
    pub fn memory_usage(&self) -> usize {
        self.ascii.memory_usage()
            + self.other.memory_usage()
            + self.candidates.len() * 4
            + self.starts.len() * 4
            + self.patterns.iter().map(|p| p.len() + 16).sum::<usize>()
    }

    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    pub fn kind(&self) -> AhoCorasickKind {
        self.ascii.kind()
    }
}

/// The leftmost-longest whole-word matches of one automaton, with pattern ids offset by `base`.
fn search(automaton: &AhoCorasick, base: u32, hay: &[u8], span: std::ops::Range<usize>, out: &mut Vec<RawMatch>) {
    let mut from = span.start;
    while let Some(m) = automaton.find(Input::new(hay).span(from..span.end)) {
        out.push(RawMatch { pattern: base + m.pattern().as_u32(), start: m.start() + 1, end: m.end() - 1 });
        // The closing space is the opening space of the next word.
        from = m.end() - 1;
    }
}

/// How candidates of one pattern are ordered, best first:
/// 1. the origin's tier: curated, then attested (GeoNames names, administrative names and their
///    templates), then generated variants, so that a rule-made spelling never displaces a real
///    name of another entry;
/// 2. lexicon words before places (the lexicon is curated for exactly these words);
/// 3. for places, the most specific level first (a town before the governorate of the same name),
///    then the larger population;
/// 4. the dictionary order, for a stable result.
pub fn rank(dict: &Dictionary, alias: &Alias, index: u32) -> (u8, u8, u8, std::cmp::Reverse<u64>, u32) {
    let tier = match alias.origin {
        AliasOrigin::Curated => 0,
        AliasOrigin::Primary | AliasOrigin::Alternate | AliasOrigin::Template => 1,
        AliasOrigin::Generated => 2,
    };
    let entry = dict.entry(alias.entry);
    let (is_place, level, population) = match &entry.detail {
        Detail::Place(p) => {
            let level = match p.level {
                PlaceLevel::Point => 0,
                PlaceLevel::Admin3 => 1,
                PlaceLevel::Admin2 => 2,
                PlaceLevel::Admin1 => 3,
                PlaceLevel::Country => 4,
            };
            (1, level, p.population)
        }
        _ => (0, 0, 0),
    };
    (tier, is_place, level, std::cmp::Reverse(population), index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(matcher: &Matcher, text: &str) -> Vec<String> {
        let mut n = Normalized::new();
        n.normalize(text).unwrap();
        let mut out = Vec::new();
        matcher.find(&n, &mut out);
        out.iter()
            .map(|m| {
                let (a, b) = n.original_span(m.start, m.end);
                text[a..b].to_string()
            })
            .collect()
    }

    #[test]
    fn word_bounded_leftmost_longest() {
        let dict = Dictionary::bundled().unwrap();
        let matcher = Matcher::new(&dict, AutomatonKind::Dfa).unwrap();
        assert_eq!(matches(&matcher, "near Al-Bokamal."), ["near", "Al-Bokamal"]);
        assert!(matches(&matcher, "Bokamalian culture").is_empty());
        // The crossing is one match, not the town and a word.
        assert_eq!(matches(&matcher, "the Al-Qa’em crossing"), ["Al-Qa’em crossing"]);
    }

    #[test]
    fn both_automata_find_the_same_matches() {
        let dict = Dictionary::bundled().unwrap();
        let dfa = Matcher::new(&dict, AutomatonKind::Dfa).unwrap();
        let nfa = Matcher::new(&dict, AutomatonKind::ContiguousNfa).unwrap();
        let text = "US airstrikes on Iraqi Hezbollah positions near Albu Kamal killed 22 militiamen, \
                    OSDH: un drone inconnu a pris pour cible une voiture près de Boukamal.";
        assert_eq!(matches(&dfa, text), matches(&nfa, text));
    }
}
