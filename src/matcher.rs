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
//! The search loop is lexwire's own, over the crate's automata (its public `Automaton` trait):
//! the crate's `find` returns to the caller after every match and looks the pattern up for every
//! intermediate match state of a leftmost-longest search; here only the final match of each
//! search is resolved, lengths come from a compact table, and the search restarts on the shared
//! space without leaving the loop. On real text, where a match comes every few dozen bytes, that
//! is most of the difference between the two (the benchmark measures both on one automaton).
//!
//! Each automaton is a DFA where memory allows: the ASCII one first, then the other, as long as
//! their total stays under [`DEFAULT_DFA_BUDGET`] (configurable); an automaton that would not
//! fit is a contiguous NFA instead (a fraction of the memory, somewhat slower). Whether a DFA
//! fits is known before it is built ([`dfa_bytes`] computes its size from the patterns as the
//! crate lays it out), so an oversize DFA is never built: building one to measure it took a
//! gigabyte for 200,000 aliases. The benchmark `matcher` measures both kinds, and the README
//! says which won and why.

use std::time::{Duration, Instant};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{AhoCorasickKind, Anchored, MatchKind, dfa, nfa};

use crate::dictionary::{Alias, AliasOrigin, Ambiguity, Detail, Dictionary, EntryKind, LangMask, PlaceLevel};
use crate::normalize::Normalized;

/// Index of a pattern of the automaton.
pub type PatternId = u32;

/// Which automata the crate builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutomatonKind {
    /// A full DFA where the memory budget allows, else the contiguous NFA.
    #[default]
    Dfa,
    /// The contiguous NFA for both automata: least memory, slower on large pattern sets.
    ContiguousNfa,
}

/// The default memory budget for DFAs, all automata together.
pub const DEFAULT_DFA_BUDGET: usize = 64 * 1024 * 1024;

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

/// What the tagger needs to know of a pattern's best candidate, packed so that the common
/// case (one candidate, no flags) touches one small record instead of the alias and entry
/// tables.
#[derive(Debug, Clone, Copy)]
pub struct PatternInfo {
    pub alias: u32,
    pub entry: u32,
    pub kind: EntryKind,
    pub langs: LangMask,
    pub ambiguity: Option<Ambiguity>,
    flags: u8,
}

impl PatternInfo {
    const CASE_SENSITIVE: u8 = 1;
    const CAPITALIZED: u8 = 2;
    const SEVERAL_CANDIDATES: u8 = 4;
    const PLACE_RIVALS: u8 = 8;

    /// The best candidate is the answer whenever it is valid in the language: no other
    /// candidate, no case rule.
    pub fn is_simple(&self) -> bool {
        self.flags & (Self::CASE_SENSITIVE | Self::CAPITALIZED | Self::SEVERAL_CANDIDATES) == 0
    }

    /// Several places share the best rank: context may choose another.
    pub fn has_place_rivals(&self) -> bool {
        self.flags & Self::PLACE_RIVALS != 0
    }
}

/// The compiled automata and the table from patterns to dictionary aliases.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Per pattern, its best candidate.
    info: Vec<PatternInfo>,
    /// Patterns `0..ascii_patterns`.
    ascii: Engine,
    /// Patterns `ascii_patterns..`, numbered from 0 inside this automaton.
    other: Engine,
    ascii_patterns: u32,
    /// Length in bytes of each pattern, spaces included.
    lengths: Vec<u16>,
    /// Candidate aliases of pattern `p`: `candidates[starts[p]..starts[p + 1]]`, best first.
    candidates: Vec<u32>,
    starts: Vec<u32>,
    /// The patterns as given to the automaton (between spaces).
    patterns: Vec<Box<str>>,
    /// What a DFA over each automaton's patterns takes (or would take), in bytes.
    dfa_estimates: (usize, usize),
    build_time: Duration,
}

impl Matcher {
    /// Builds the automaton over every alias of `dict`.
    ///
    /// # Errors
    /// [`MatcherError`] if the automaton exceeds the crate's limits (state ids overflow); the
    /// shipped dictionaries are far below them.
    pub fn new(dict: &Dictionary, kind: AutomatonKind) -> Result<Matcher, MatcherError> {
        Self::with_budget(dict, kind, DEFAULT_DFA_BUDGET)
    }

    /// Builds the automata, with DFAs only while their total memory stays under `dfa_budget`
    /// bytes.
    ///
    /// # Errors
    /// See [`Matcher::new`].
    pub fn with_budget(dict: &Dictionary, kind: AutomatonKind, dfa_budget: usize) -> Result<Matcher, MatcherError> {
        let started = Instant::now();
        let aliases = dict.aliases();
        // Aliases are sorted by normalized form (the dictionary dedups them that way); group
        // runs of equal forms into one pattern.
        let mut order: Vec<u32> = (0..aliases.len() as u32).collect();
        order.sort_by(|&a, &b| aliases[a as usize].normalized.cmp(&aliases[b as usize].normalized));
        let mut patterns = Vec::new();
        let mut candidates = Vec::with_capacity(aliases.len());
        let mut starts = Vec::new();
        let mut info = Vec::new();
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
            info.push(pattern_info(dict, &group));
            starts.push(candidates.len() as u32);
            candidates.extend(group);
            patterns.push(format!(" {form} ").into_boxed_str());
            i = j;
        }
        starts.push(candidates.len() as u32);

        let ascii_patterns = patterns.iter().take_while(|p| p.is_ascii()).count();
        let mut budget = if kind == AutomatonKind::Dfa { dfa_budget } else { 0 };
        let (ascii, ascii_estimate) = build_within(&patterns[..ascii_patterns], &mut budget)?;
        let (other, other_estimate) = build_within(&patterns[ascii_patterns..], &mut budget)?;
        let lengths = patterns.iter().map(|p| p.len().min(u16::MAX as usize) as u16).collect();
        Ok(Matcher {
            info,
            lengths,
            ascii,
            other,
            ascii_patterns: ascii_patterns as u32,
            candidates,
            starts,
            patterns,
            dfa_estimates: (ascii_estimate, other_estimate),
            build_time: started.elapsed(),
        })
    }

    /// Appends to `out` every whole-word, leftmost-longest match in `text`, in text order;
    /// matches may share the space between two words and nothing else.
    pub fn find(&self, text: &Normalized, out: &mut Vec<RawMatch>) {
        let first = out.len();
        let hay = text.as_bytes();
        self.ascii.search(&self.lengths, 0, hay, 0..hay.len(), out);
        let ascii_end = out.len();
        for (start, end) in text.non_ascii_runs() {
            // Widen by one byte each side to take in the spaces around the run.
            self.other.search(&self.lengths, self.ascii_patterns, hay, start - 1..(end + 1).min(hay.len()), out);
        }
        if out.len() > ascii_end && ascii_end > first {
            // Two runs in text order, the second usually short: merge from the back in place.
            let others: Vec<RawMatch> = out[ascii_end..].to_vec();
            let (mut a, mut b, mut w) = (ascii_end, others.len(), out.len());
            while b > 0 {
                if a > first && out[a - 1].start > others[b - 1].start {
                    out[w - 1] = out[a - 1];
                    a -= 1;
                } else {
                    out[w - 1] = others[b - 1];
                    b -= 1;
                }
                w -= 1;
            }
        }
    }

    /// The packed facts of a pattern's best candidate.
    pub fn info(&self, pattern: PatternId) -> &PatternInfo {
        &self.info[pattern as usize]
    }

    /// The candidate aliases (indices into [`Dictionary::aliases`]) of a pattern, best first.
    pub fn candidates(&self, pattern: PatternId) -> &[u32] {
        let p = pattern as usize;
        &self.candidates[self.starts[p] as usize..self.starts[p + 1] as usize]
    }

    /// The patterns of the ASCII automaton (on ASCII text the only one that runs), for
    /// benchmarks that build the crate's own searcher over the same automaton.
    pub fn ascii_patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns[..self.ascii_patterns as usize].iter().map(|p| p.as_ref())
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
            + self.info.len() * std::mem::size_of::<PatternInfo>()
            + self.lengths.len() * 2
            + self.candidates.len() * 4
            + self.starts.len() * 4
            + self.patterns.iter().map(|p| p.len() + 16).sum::<usize>()
    }

    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    /// The heap a DFA over the ASCII patterns and one over the others takes (or would take, if
    /// it was not built), as estimated before building.
    pub fn dfa_estimates(&self) -> (usize, usize) {
        self.dfa_estimates
    }

    /// The kinds of the ASCII and of the other automaton.
    pub fn kinds(&self) -> (AhoCorasickKind, AhoCorasickKind) {
        (self.ascii.kind(), self.other.kind())
    }
}

fn pattern_info(dict: &Dictionary, candidates: &[u32]) -> PatternInfo {
    let best = &dict.aliases()[candidates[0] as usize];
    let mut flags = 0;
    if best.case_sensitive {
        flags |= PatternInfo::CASE_SENSITIVE;
    }
    if best.capitalized {
        flags |= PatternInfo::CAPITALIZED;
    }
    if candidates.len() > 1 {
        flags |= PatternInfo::SEVERAL_CANDIDATES;
    }
    let top = |a: u32| {
        let r = rank(dict, &dict.aliases()[a as usize], a);
        (r.0, r.1, r.2)
    };
    let places_at_top = candidates
        .iter()
        .filter(|&&a| {
            top(a) == top(candidates[0]) && dict.entry(dict.aliases()[a as usize].entry).kind() == EntryKind::Place
        })
        .count();
    if places_at_top > 1 {
        flags |= PatternInfo::PLACE_RIVALS;
    }
    PatternInfo {
        alias: candidates[0],
        entry: best.entry,
        kind: dict.entry(best.entry).kind(),
        langs: best.langs,
        ambiguity: best.ambiguity,
        flags,
    }
}

/// One automaton, a DFA or a contiguous NFA, searched by [`Engine::search`].
#[derive(Debug, Clone)]
enum Engine {
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
}

impl Engine {
    fn kind(&self) -> AhoCorasickKind {
        match self {
            Engine::Dfa(_) => AhoCorasickKind::DFA,
            Engine::Nfa(_) => AhoCorasickKind::ContiguousNFA,
        }
    }

    fn memory_usage(&self) -> usize {
        match self {
            Engine::Dfa(a) => a.memory_usage(),
            Engine::Nfa(a) => a.memory_usage(),
        }
    }

    /// Appends the leftmost-longest whole-word matches in `hay[span]`, pattern ids offset by
    /// `base`. Matches may share a space; each search restarts on the closing space of the last.
    fn search(&self, lengths: &[u16], base: u32, hay: &[u8], span: std::ops::Range<usize>, out: &mut Vec<RawMatch>) {
        match self {
            Engine::Dfa(a) => search(a, lengths, base, hay, span, out),
            Engine::Nfa(a) => search(a, lengths, base, hay, span, out),
        }
    }
}

#[inline(always)]
fn search<A: Automaton>(
    aut: &A,
    lengths: &[u16],
    base: u32,
    hay: &[u8],
    span: std::ops::Range<usize>,
    out: &mut Vec<RawMatch>,
) {
    let Ok(start) = aut.start_state(Anchored::No) else { return };
    let mut report = |sid: StateID, end: usize| {
        let pattern = base + aut.match_pattern(sid, 0).as_u32();
        let len = lengths[pattern as usize] as usize;
        // `end` is one past the closing space; the alias is between the two spaces.
        out.push(RawMatch { pattern, start: end - len + 1, end: end - 1 });
    };
    let mut sid = start;
    let mut at = span.start;
    // The last match state seen and where it ended: with leftmost-longest semantics the search
    // goes on while a longer match is possible, and the automaton goes dead when none is.
    let mut last: Option<(StateID, usize)> = None;
    while at < span.end {
        sid = aut.next_state(Anchored::No, sid, hay[at]);
        at += 1;
        if aut.is_special(sid) {
            if aut.is_dead(sid) {
                if let Some((msid, end)) = last.take() {
                    report(msid, end);
                    // Restart on the closing space: it opens the next word.
                    at = end - 1;
                }
                sid = start;
            } else if aut.is_match(sid) {
                last = Some((sid, at));
            }
        }
    }
    if let Some((msid, end)) = last {
        report(msid, end);
    }
}

/// A DFA over `patterns` if it fits in `budget` (which it then uses up), else a contiguous NFA;
/// and the estimated size of the DFA. The DFA is built only when the estimate fits.
fn build_within(patterns: &[Box<str>], budget: &mut usize) -> Result<(Engine, usize), MatcherError> {
    let bytes = patterns.iter().map(|p| p.as_bytes());
    let error = |source| MatcherError { patterns: patterns.len(), source };
    let estimate = dfa_bytes(patterns);
    if *budget > 0 && estimate <= *budget {
        // No prefilter: every pattern starts with a space, so one would stop at every word.
        let dfa = dfa::Builder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .prefilter(false)
            .build(bytes.clone())
            .map_err(error)?;
        if dfa.memory_usage() <= *budget {
            *budget -= dfa.memory_usage();
            return Ok((Engine::Dfa(dfa), estimate));
        }
        // The estimate follows the crate's layout; a new version of the crate may change it.
        tracing::warn!(
            patterns = patterns.len(),
            dfa_bytes = dfa.memory_usage(),
            estimate_bytes = estimate,
            budget_bytes = *budget,
            "DFA over budget although estimated within it: using the contiguous NFA"
        );
    } else if *budget > 0 {
        tracing::info!(
            patterns = patterns.len(),
            dfa_bytes = estimate,
            budget_bytes = *budget,
            "a DFA would be over budget: using the contiguous NFA"
        );
    }
    let nfa = nfa::contiguous::Builder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .prefilter(false)
        .build(bytes)
        .map_err(error)?;
    Ok((Engine::Nfa(nfa), estimate))
}

/// The heap of the aho-corasick DFA over `patterns` (leftmost-longest, unanchored start, byte
/// classes, no prefilter), computed from the patterns alone as the crate (1.1) lays it out: a
/// transition table of one `u32` per state and byte class, the class count rounded up to a power
/// of two; a state per distinct non-empty prefix of the patterns, plus four (dead, fail and the
/// two start states); and a match list per pattern. That is the transition table exactly; the
/// match lists are a little more (a state whose failure state matches copies its match), which
/// the check after building catches. A test holds it within 1% of the crate's `memory_usage` on
/// the shipped dictionary.
pub fn dfa_bytes(patterns: &[Box<str>]) -> usize {
    let mut sorted: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    sorted.sort_unstable();
    let mut prefixes = 0usize;
    let mut used = [false; 256];
    let mut previous: &[u8] = &[];
    for p in &sorted {
        let shared = p.iter().zip(previous).take_while(|(a, b)| a == b).count();
        prefixes += p.len() - shared;
        for &b in *p {
            used[usize::from(b)] = true;
        }
        previous = p;
    }
    // A class ends after each byte a pattern uses and after the byte before it.
    let mut ends = [false; 256];
    for b in (0..256).filter(|&b| used[b]) {
        ends[b] = true;
        if b > 0 {
            ends[b - 1] = true;
        }
    }
    let classes = 1 + ends[..255].iter().filter(|&&e| e).count();
    let states = prefixes + 4;
    let transitions = states.saturating_mul(classes.next_power_of_two()).saturating_mul(4);
    let matches = patterns.len() * (std::mem::size_of::<Vec<u32>>() + 4 + 4);
    transitions.saturating_add(matches)
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
    fn the_dfa_estimate_is_the_crates_size() {
        let dict = Dictionary::bundled().unwrap();
        let matcher = Matcher::new(&dict, AutomatonKind::ContiguousNfa).unwrap();
        let ascii: Vec<Box<str>> = matcher.ascii_patterns().map(Box::from).collect();
        let other: Vec<Box<str>> = matcher.patterns[ascii.len()..].to_vec();
        for patterns in [ascii, other, vec![" a ".into(), " ab ".into(), " b ".into()], Vec::new()] {
            let dfa = dfa::Builder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .prefilter(false)
                .build(patterns.iter().map(|p| p.as_bytes()))
                .unwrap();
            let (actual, estimate) = (dfa.memory_usage(), dfa_bytes(&patterns));
            assert!(actual.abs_diff(estimate) <= actual / 100, "{actual} vs {estimate}");
        }
    }

    #[test]
    fn an_oversize_dfa_is_not_built() {
        let dict = Dictionary::bundled().unwrap();
        let full = Matcher::new(&dict, AutomatonKind::Dfa).unwrap();
        let (ascii, _) = full.dfa_estimates();
        let tight = Matcher::with_budget(&dict, AutomatonKind::Dfa, ascii - 1).unwrap();
        assert_eq!(tight.kinds().0, AhoCorasickKind::ContiguousNFA);
        let roomy = Matcher::with_budget(&dict, AutomatonKind::Dfa, ascii + ascii / 100).unwrap();
        assert_eq!(roomy.kinds().0, AhoCorasickKind::DFA);
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
