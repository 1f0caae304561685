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
//! gigabyte for 200,000 aliases. The ASCII DFA reads every digit as `0` ([`Folded`]): on the
//! shipped patterns that halves its rows, and a check of the digits keeps the matches exact.
//! The benchmark `matcher` measures both kinds, and the README says which won and why.

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

/// [`DEFAULT_DFA_BUDGET`] in MiB, the unit of `dictionary.dfa_budget_mb` and `--dfa-budget-mb`.
pub const DEFAULT_DFA_BUDGET_MB: u64 = (DEFAULT_DFA_BUDGET >> 20) as u64;

/// A DFA budget given in MiB (`dictionary.dfa_budget_mb`, `--dfa-budget-mb`), in bytes; one too
/// large for the machine's addresses is all of them.
pub fn dfa_budget_from_mib(mib: u64) -> usize {
    usize::try_from(mib).unwrap_or(usize::MAX).saturating_mul(1 << 20)
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
    /// The memory the DFAs could take (0: NFAs were asked for).
    dfa_budget: usize,
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
        let asked = if kind == AutomatonKind::Dfa { dfa_budget } else { 0 };
        let mut budget = asked;
        let (ascii, ascii_estimate) = build_within(&patterns[..ascii_patterns], &mut budget, true)?;
        let (other, other_estimate) = build_within(&patterns[ascii_patterns..], &mut budget, false)?;
        let lengths = patterns.iter().map(|p| p.len().min(u16::MAX as usize) as u16).collect();
        tracing::debug!(
            patterns = patterns.len(),
            ascii = ?ascii.kind(),
            ascii_bytes = ascii.memory_usage(),
            other = ?other.kind(),
            other_bytes = other.memory_usage(),
            build_ms = started.elapsed().as_millis() as u64,
            "automata built"
        );
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
            dfa_budget: asked,
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

    /// The memory the DFAs could take when built, in bytes (0 when NFAs were asked for).
    pub fn dfa_budget(&self) -> usize {
        self.dfa_budget
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
    /// A DFA over the patterns with their digits folded (see [`Folded`]).
    Folded(Box<Folded>),
}

/// A DFA over the patterns with every ASCII digit read as `0`, searched over the text read the
/// same way, with an exact automaton for the rare match that no real pattern confirms.
///
/// A DFA row holds a transition per byte class, rounded up to a power of two, and every byte a
/// pattern uses is a class of its own: the shipped ASCII patterns use the 26 letters, the space
/// and eight digits, 41 classes in rows of 64. Read as one digit, they take 32 classes in rows of
/// 32: half the memory (36 MB instead of 70, under the budget where the other was over) and rows
/// of two cache lines instead of four.
///
/// Folding keeps every match of a real pattern (a real pattern matches the folded text where it
/// matches the text) and adds false ones where a folded pattern with digits matches other digits
/// ("since 2016" matches the fold of "since 2011"). So a search from the same point finds its
/// leftmost-longest folded match at or before the real one; when a real pattern has exactly its
/// bytes there, that is the real leftmost-longest match too, and when none has, the search from
/// that point is run again over the real patterns.
#[derive(Debug, Clone)]
struct Folded {
    dfa: dfa::DFA,
    /// Per folded pattern, its real pattern; for a folded pattern that holds a digit,
    /// [`Folded::DIGITS`] and the index of the real patterns in `digits`.
    real: Vec<u32>,
    /// The real patterns, with their bytes, of each folded pattern that holds a digit.
    digits: Vec<Vec<(u32, Box<[u8]>)>>,
    /// Over the real patterns.
    exact: nfa::contiguous::NFA,
}

/// Patterns with their digits folded, before the automaton is built.
struct Folding {
    forms: Vec<Box<str>>,
    real: Vec<u32>,
    digits: Vec<Vec<(u32, Box<[u8]>)>>,
}

impl Folded {
    const DIGITS: u32 = 1 << 31;

    /// Folds `patterns`: the folded forms, each with its real pattern or group of them; `None`
    /// when no pattern holds a digit (the plain DFA is then the same automaton).
    fn fold(patterns: &[Box<str>]) -> Option<Folding> {
        if !patterns.iter().any(|p| p.bytes().any(|b| b.is_ascii_digit())) {
            return None;
        }
        let mut folded: Vec<(Box<[u8]>, u32)> =
            patterns.iter().enumerate().map(|(p, text)| (text.bytes().map(fold_digit).collect(), p as u32)).collect();
        folded.sort_unstable();
        let mut folding = Folding { forms: Vec::new(), real: Vec::new(), digits: Vec::new() };
        for group in folded.chunk_by(|a, b| a.0 == b.0) {
            let form = &group[0].0;
            if form.contains(&b'0') {
                folding.real.push(Folded::DIGITS | folding.digits.len() as u32);
                folding.digits.push(group.iter().map(|&(_, p)| (p, patterns[p as usize].as_bytes().into())).collect());
            } else {
                folding.real.push(group[0].1);
            }
            // Folding maps ASCII to ASCII: the form is the pattern's text.
            folding.forms.push(String::from_utf8_lossy(form).into());
        }
        Some(folding)
    }

    fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
            + self.exact.memory_usage()
            + self.real.len() * 4
            + self.digits.iter().flatten().map(|(_, p)| p.len() + 24).sum::<usize>()
    }

    /// As [`search`], over the folded text.
    fn search(&self, lengths: &[u16], base: u32, hay: &[u8], span: std::ops::Range<usize>, out: &mut Vec<RawMatch>) {
        let (Ok(start), Ok(exact_start)) = (self.dfa.start_state(Anchored::No), self.exact.start_state(Anchored::No))
        else {
            return;
        };
        let mut from = span.start;
        while let Some((sid, end)) = first_match::<_, true>(&self.dfa, start, hay, from, span.end) {
            let real = self.real[self.dfa.match_pattern(sid, 0).as_usize()];
            let confirmed = if real & Folded::DIGITS == 0 {
                Some((real, end))
            } else {
                let group = &self.digits[(real & !Folded::DIGITS) as usize];
                let len = lengths[(base + group[0].0) as usize] as usize;
                let here = &hay[end - len..end];
                group.iter().find(|(_, p)| **p == *here).map(|&(p, _)| (p, end))
            };
            let found = confirmed.or_else(|| {
                first_match::<_, false>(&self.exact, exact_start, hay, from, span.end)
                    .map(|(sid, end)| (self.exact.match_pattern(sid, 0).as_u32(), end))
            });
            let Some((pattern, end)) = found else { return };
            push_match(lengths, base + pattern, end, out);
            // Restart on the closing space: it opens the next word.
            from = end - 1;
        }
    }
}

/// How the folded automata read a byte: every ASCII digit as `0` (public for the benchmark that
/// gives the raw crate the same automaton).
#[inline(always)]
pub fn fold_digit(b: u8) -> u8 {
    if b.is_ascii_digit() { b'0' } else { b }
}

impl Engine {
    fn kind(&self) -> AhoCorasickKind {
        match self {
            Engine::Dfa(_) | Engine::Folded(_) => AhoCorasickKind::DFA,
            Engine::Nfa(_) => AhoCorasickKind::ContiguousNFA,
        }
    }

    fn memory_usage(&self) -> usize {
        match self {
            Engine::Dfa(a) => a.memory_usage(),
            Engine::Nfa(a) => a.memory_usage(),
            Engine::Folded(f) => f.memory_usage(),
        }
    }

    /// Appends the leftmost-longest whole-word matches in `hay[span]`, pattern ids offset by
    /// `base`. Matches may share a space; each search restarts on the closing space of the last.
    fn search(&self, lengths: &[u16], base: u32, hay: &[u8], span: std::ops::Range<usize>, out: &mut Vec<RawMatch>) {
        match self {
            Engine::Dfa(a) => search(a, lengths, base, hay, span, out),
            Engine::Nfa(a) => search(a, lengths, base, hay, span, out),
            Engine::Folded(f) => f.search(lengths, base, hay, span, out),
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
    let mut from = span.start;
    while let Some((sid, end)) = first_match::<_, false>(aut, start, hay, from, span.end) {
        push_match(lengths, base + aut.match_pattern(sid, 0).as_u32(), end, out);
        // Restart on the closing space: it opens the next word.
        from = end - 1;
    }
}

/// The first leftmost-longest match of a search from `at`: its match state and where it ends.
/// With leftmost-longest semantics the search goes on while a longer match is possible, and the
/// automaton goes dead when none is. `FOLD` reads every digit as `0` ([`Folded`]).
#[inline(always)]
fn first_match<A: Automaton, const FOLD: bool>(
    aut: &A,
    start: StateID,
    hay: &[u8],
    mut at: usize,
    end: usize,
) -> Option<(StateID, usize)> {
    let mut sid = start;
    // The last match state seen and where it ended.
    let mut last = None;
    while at < end {
        let byte = if FOLD { fold_digit(hay[at]) } else { hay[at] };
        sid = aut.next_state(Anchored::No, sid, byte);
        at += 1;
        if aut.is_special(sid) {
            if aut.is_dead(sid) {
                if last.is_some() {
                    return last;
                }
                sid = start;
            } else if aut.is_match(sid) {
                last = Some((sid, at));
            }
        }
    }
    last
}

/// Appends the match of `pattern` ending at `end`, one past its closing space: the alias is
/// between the two spaces.
#[inline(always)]
fn push_match(lengths: &[u16], pattern: PatternId, end: usize, out: &mut Vec<RawMatch>) {
    let len = lengths[pattern as usize] as usize;
    out.push(RawMatch { pattern, start: end - len + 1, end: end - 1 });
}

/// A DFA over `patterns` if it fits in `budget` (which it then uses up), else a contiguous NFA;
/// and the estimated size of the DFA. The DFA is built only when the estimate fits. With
/// `fold_digits`, the DFA is over the patterns with their digits folded ([`Folded`]), never larger.
fn build_within(patterns: &[Box<str>], budget: &mut usize, fold_digits: bool) -> Result<(Engine, usize), MatcherError> {
    let error = |source| MatcherError { patterns: patterns.len(), source };
    let nfa = |patterns: &[Box<str>]| {
        nfa::contiguous::Builder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .prefilter(false)
            .build(patterns.iter().map(|p| p.as_bytes()))
            .map_err(error)
    };
    let folding = if fold_digits { Folded::fold(patterns) } else { None };
    let forms = folding.as_ref().map_or(patterns, |f| &f.forms);
    let estimate = dfa_bytes(forms);
    if *budget > 0 && estimate <= *budget {
        // No prefilter: every pattern starts with a space, so one would stop at every word.
        let dfa = dfa::Builder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .prefilter(false)
            .build(forms.iter().map(|p| p.as_bytes()))
            .map_err(error)?;
        if dfa.memory_usage() <= *budget {
            *budget -= dfa.memory_usage();
            let engine = match folding {
                Some(Folding { real, digits, .. }) => {
                    Engine::Folded(Box::new(Folded { dfa, real, digits, exact: nfa(patterns)? }))
                }
                None => Engine::Dfa(dfa),
            };
            return Ok((engine, estimate));
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
    Ok((Engine::Nfa(nfa(patterns)?), estimate))
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
        assert!(matches!(dfa.ascii, Engine::Folded(_)), "the shipped ASCII patterns fit as a folded DFA");
        assert_eq!(nfa.kinds(), (AhoCorasickKind::ContiguousNFA, AhoCorasickKind::ContiguousNFA));
        let text = "US airstrikes on Iraqi Hezbollah positions near Albu Kamal killed 22 militiamen, \
                    OSDH: un drone inconnu a pris pour cible une voiture près de Boukamal. Since March \
                    2016 fighting near the T4 and T-2 stations, 14.5mm and 12.7 mm guns (not 12.8 mm), \
                    a ZU-23 and a ZU-24, the 4th division and the 5th, depuis 2011, depuis 2013.";
        assert_eq!(matches(&dfa, text), matches(&nfa, text));
    }

    #[test]
    fn a_folded_match_no_real_pattern_has_is_searched_again() {
        let dict = Dictionary::bundled().unwrap();
        let dfa = Matcher::new(&dict, AutomatonKind::Dfa).unwrap();
        // "since march 0000" is the fold of "since March 2011": confirmed here...
        assert_eq!(matches(&dfa, "since March 2011 fighting"), ["since March 2011", "fighting"]);
        // ...but not here, where the real patterns find the month inside it.
        assert_eq!(matches(&dfa, "since March 2016 fighting"), ["March", "fighting"]);
        assert_eq!(matches(&dfa, "14.5mm and 12.7 mm guns, not 12.8 mm"), ["14.5mm", "12.7 mm"]);
    }

    /// Every match of the engine over `patterns`, as (pattern, start, end).
    fn engine_matches(engine: &Engine, patterns: &[Box<str>], text: &str) -> Vec<RawMatch> {
        let lengths: Vec<u16> = patterns.iter().map(|p| p.len() as u16).collect();
        let hay = format!(" {text} ");
        let mut out = Vec::new();
        engine.search(&lengths, 0, hay.as_bytes(), 0..hay.len(), &mut out);
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// The folded DFA finds what a contiguous NFA over the real patterns finds, on patterns
        /// that fold together in every way (same length, nested, one inside another's fold) and
        /// texts made of their words and other digits.
        #[test]
        fn the_folded_dfa_finds_what_the_real_patterns_find(
            picks in proptest::collection::vec(0..24usize, 1..12),
            words in proptest::collection::vec(0..14usize, 0..40),
        ) {
            const PATTERNS: [&str; 24] = [
                "a", "a1", "a2", "a9", "1", "7", "12", "19", "a 1", "a 2", "a1 b", "a2 b c", "b", "b c",
                "a 12 b", "a 19 b", "c 0", "c 00", "1 a", "2 a", "c", "a 1 b c", "b 2", "b 22",
            ];
            const WORDS: [&str; 14] = ["a", "b", "c", "0", "1", "2", "7", "9", "12", "19", "23", "a1", "a3", "b2"];
            let mut patterns: Vec<Box<str>> = picks.iter().map(|&i| format!(" {} ", PATTERNS[i]).into()).collect();
            patterns.sort();
            patterns.dedup();
            let text = words.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(" ");
            let (folded, _) = build_within(&patterns, &mut usize::MAX.clone(), true).unwrap();
            let (real, _) = build_within(&patterns, &mut 0, false).unwrap();
            let has_digits = patterns.iter().any(|p| p.bytes().any(|b| b.is_ascii_digit()));
            proptest::prop_assert_eq!(matches!(folded, Engine::Folded(_)), has_digits);
            proptest::prop_assert_eq!(engine_matches(&folded, &patterns, &text), engine_matches(&real, &patterns, &text));
        }
    }
}
