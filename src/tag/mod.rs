//! Tagging: from an article's text to its tags (places, actors, event types, weapons, casualty
//! words, numbers, dates, hedges, negations), each with its byte span in the original text.
//!
//! The steps, all over one reusable [`Scratch`]:
//! 1. normalize the text and find every whole-word match ([`crate::matcher`]);
//! 2. pick the language (the article's, or [`crate::language::detect`]);
//! 3. choose each match's entry among the pattern's candidates: the best-ranked one valid in the
//!    language, with the right case ("US" the actor, not "us") and capitalization ("May" the
//!    month, not "may");
//! 4. disambiguate places that share a name by the governorates the article mentions;
//! 5. keep ambiguous aliases ("Al-Abbas", "T2", "Hit") only with supporting context: a place cue
//!    just before ("the village of Al-Abbas"), an unambiguous place of the same governorate
//!    nearby, or (for persons' names and hand-flagged aliases) an event trigger nearby; ordinary
//!    words must also be capitalized;
//! 6. read numbers, in digits and in words ([`numbers`]), and assemble dates ([`dates`]).
//!
//! Pure and synchronous: no I/O, no clock. Called by `lexwire tag`, the extractor and the
//! service's workers.

pub mod dates;
pub mod numbers;

use std::sync::Arc;

use crate::dictionary::{Ambiguity, CueKind, Detail, Dictionary, EntryId, EntryKind, Lang};
use crate::language;
use crate::matcher::{AutomatonKind, Matcher, MatcherError, PatternId, RawMatch};
use crate::normalize::{Normalized, TextTooLarge};

pub use dates::DateValue;
pub use numbers::NumberValue;

/// How far (in bytes of the original text) an ambiguous place looks for a place of the same
/// governorate.
const PLACE_CONTEXT_BYTES: usize = 300;
/// How far an ambiguous alias looks for an event trigger.
const TRIGGER_CONTEXT_BYTES: usize = 150;

/// The dictionary and its automaton: everything needed to tag a text. Cheap to share
/// (`Arc`), immutable: a hot reload builds a new one and swaps it.
#[derive(Debug)]
pub struct Tagger {
    dict: Arc<Dictionary>,
    matcher: Matcher,
}

/// Buffers reused from one text to the next; one per worker.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: Normalized,
    raw: Vec<RawMatch>,
    pending: Vec<Pending>,
}

impl Scratch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The normalized copy of the last text tagged.
    pub fn normalized(&self) -> &Normalized {
        &self.norm
    }
}

/// One tag: what was found, where in the original text, and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub kind: EntryKind,
    /// Byte span in the original text: `text[start..end]` is the surface form.
    pub start: usize,
    pub end: usize,
    /// The dictionary entry; `None` for numbers in digits and for assembled dates.
    pub entry: Option<EntryId>,
    /// The alias that matched (index into [`Dictionary::aliases`]).
    pub alias: Option<u32>,
    pub value: TagValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    None,
    Number(NumberValue),
    Date(DateValue),
}

impl Tag {
    /// Tags of kinds that are context for extraction (cues, units), not output.
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, EntryKind::Cue | EntryKind::Unit)
    }

    pub fn number(&self) -> Option<&NumberValue> {
        match &self.value {
            TagValue::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn date(&self) -> Option<&DateValue> {
        match &self.value {
            TagValue::Date(d) => Some(d),
            _ => None,
        }
    }
}

/// The tags of one text, in text order, and the language they were read in.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub language: Lang,
    pub tags: Vec<Tag>,
}

/// A match whose entry is chosen but not yet confirmed.
#[derive(Debug, Clone)]
struct Pending {
    start: usize,
    end: usize,
    nstart: usize,
    nend: usize,
    pattern: PatternId,
    alias: u32,
    entry: EntryId,
    kind: EntryKind,
    ambiguity: Option<Ambiguity>,
    keep: bool,
}

impl Tagger {
    /// Builds the automaton over `dict`.
    ///
    /// # Errors
    /// [`MatcherError`] when the automaton cannot be built.
    pub fn new(dict: Arc<Dictionary>, kind: AutomatonKind) -> Result<Tagger, MatcherError> {
        let matcher = Matcher::new(&dict, kind)?;
        Ok(Tagger { dict, matcher })
    }

    pub fn dictionary(&self) -> &Arc<Dictionary> {
        &self.dict
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Tags `text`. `language` is the article's own claim, if any; otherwise it is detected.
    ///
    /// # Errors
    /// [`TextTooLarge`] for a text the offset map cannot address (over 2 GiB); the service's
    /// size limit rejects far smaller texts first.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use lexwire::{dictionary::Dictionary, matcher::AutomatonKind, tag::{Scratch, Tagger}};
    /// let tagger = Tagger::new(Arc::new(Dictionary::bundled().unwrap()), AutomatonKind::Dfa).unwrap();
    /// let text = "US airstrikes near Al-Bokamal killed 22 militiamen.";
    /// let tagged = tagger.tag(text, None, &mut Scratch::new()).unwrap();
    /// let surfaces: Vec<&str> = tagged.tags.iter().map(|t| &text[t.start..t.end]).collect();
    /// assert_eq!(surfaces, ["US", "airstrikes", "near", "Al-Bokamal", "killed", "22"]);
    /// ```
    pub fn tag(&self, text: &str, language: Option<Lang>, scratch: &mut Scratch) -> Result<Tagged, TextTooLarge> {
        scratch.norm.normalize(text)?;
        scratch.raw.clear();
        self.matcher.find(&scratch.norm, &mut scratch.raw);
        let language = language.unwrap_or_else(|| language::detect(&scratch.norm));

        scratch.pending.clear();
        for m in &scratch.raw {
            if let Some(p) = self.choose(text, &scratch.norm, m, language) {
                scratch.pending.push(p);
            }
        }
        self.disambiguate_places(&mut scratch.pending);
        self.confirm_ambiguous(text, &mut scratch.pending);

        let mut tags: Vec<Tag> = Vec::with_capacity(scratch.pending.len() + 8);
        let mut number_words = Vec::new();
        let mut date_words = Vec::new();
        for p in scratch.pending.iter().filter(|p| p.keep) {
            let tag = Tag {
                kind: p.kind,
                start: p.start,
                end: p.end,
                entry: Some(p.entry),
                alias: Some(p.alias),
                value: TagValue::None,
            };
            match &self.dict.entry(p.entry).detail {
                Detail::Number(word) => number_words.push((tag, *word)),
                Detail::Date(word) => date_words.push((tag, *word)),
                _ => tags.push(tag),
            }
        }
        let mut numbers = numbers::read_numbers(text, language, &number_words, &tags);
        let dates = dates::assemble(text, &date_words, &mut numbers);
        tags.extend(numbers);
        tags.extend(dates);
        tags.sort_by_key(|t| (t.start, std::cmp::Reverse(t.end)));
        Ok(Tagged { language, tags })
    }

    /// The best candidate of a match that is valid here, or `None`.
    fn choose(&self, text: &str, norm: &Normalized, m: &RawMatch, language: Lang) -> Option<Pending> {
        let (start, end) = norm.original_span(m.start, m.end);
        let surface = &text[start..end];
        let aliases = self.dict.aliases();
        let chosen = self.matcher.candidates(m.pattern).iter().copied().find(|&a| {
            let alias = &aliases[a as usize];
            alias.langs.contains(language)
                && (!alias.case_sensitive || same_case(surface, &alias.text))
                && (!alias.capitalized || surface.chars().next().is_some_and(char::is_uppercase))
        })?;
        let alias = &aliases[chosen as usize];
        Some(Pending {
            start,
            end,
            nstart: m.start,
            nend: m.end,
            pattern: m.pattern,
            alias: chosen,
            entry: alias.entry,
            kind: self.dict.entry(alias.entry).kind(),
            ambiguity: alias.ambiguity,
            keep: alias.ambiguity.is_none(),
        })
    }

    /// Where a pattern names several places of the same rank (two villages called "Al Bab"),
    /// prefers the one in a governorate that an unambiguous place of the text is in.
    fn disambiguate_places(&self, pending: &mut [Pending]) {
        let aliases = self.dict.aliases();
        let mut context: Vec<&str> = Vec::new();
        for p in pending.iter().filter(|p| p.keep && p.kind == EntryKind::Place) {
            if self.place_rivals(p.pattern).nth(1).is_none()
                && let Some(admin1) = self.admin1_of(p.entry)
                && !context.contains(&admin1)
            {
                context.push(admin1);
            }
        }
        if context.is_empty() {
            return;
        }
        for p in pending.iter_mut().filter(|p| p.kind == EntryKind::Place) {
            if self.admin1_of(p.entry).is_some_and(|a| context.contains(&a)) {
                continue;
            }
            let better = self
                .place_rivals(p.pattern)
                .find(|&a| self.admin1_of(aliases[a as usize].entry).is_some_and(|admin1| context.contains(&admin1)));
            if let Some(a) = better {
                let alias = &aliases[a as usize];
                p.alias = a;
                p.entry = alias.entry;
                p.ambiguity = alias.ambiguity;
                p.keep = alias.ambiguity.is_none();
            }
        }
    }

    /// The place candidates of a pattern that share the best candidate's rank tier and level.
    fn place_rivals(&self, pattern: PatternId) -> impl Iterator<Item = u32> + '_ {
        let candidates = self.matcher.candidates(pattern);
        let key = |a: u32| {
            let alias = &self.dict.aliases()[a as usize];
            let r = crate::matcher::rank(&self.dict, alias, a);
            (r.0, r.1, r.2)
        };
        let first = candidates.first().map(|&a| key(a));
        candidates.iter().copied().filter(move |&a| {
            Some(key(a)) == first && self.dict.entry(self.dict.aliases()[a as usize].entry).kind() == EntryKind::Place
        })
    }

    fn admin1_of(&self, entry: EntryId) -> Option<&str> {
        self.dict.entry(entry).place().and_then(|p| p.admin1.as_deref())
    }

    /// Keeps ambiguous matches that have supporting context, judged against unambiguous ones.
    fn confirm_ambiguous(&self, text: &str, pending: &mut [Pending]) {
        let mut confirmed = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let Some(ambiguity) = p.ambiguity else { continue };
            let cue_before = pending[..i].iter().rev().take(3).any(|q| {
                q.keep
                    && matches!(self.dict.entry(q.entry).detail, Detail::Cue(CueKind::Locative))
                    && p.nstart.saturating_sub(q.nend) <= 2
            });
            let place_nearby = p.kind == EntryKind::Place
                && pending.iter().any(|q| {
                    q.keep
                        && q.kind == EntryKind::Place
                        && q.entry != p.entry
                        && near(p, q, PLACE_CONTEXT_BYTES)
                        && self.same_area(p.entry, q.entry)
                });
            let trigger_nearby =
                pending.iter().any(|q| q.keep && q.kind == EntryKind::EventType && near(p, q, TRIGGER_CONTEXT_BYTES));
            let accept = match ambiguity {
                Ambiguity::CommonWord => {
                    text[p.start..p.end].chars().next().is_some_and(char::is_uppercase) && (cue_before || place_nearby)
                }
                Ambiguity::PersonName | Ambiguity::Curated => cue_before || place_nearby || trigger_nearby,
            };
            if accept {
                confirmed.push(i);
            }
        }
        for i in confirmed {
            pending[i].keep = true;
        }
    }

    /// Whether two places share a district, or a governorate when either has no district.
    fn same_area(&self, a: EntryId, b: EntryId) -> bool {
        let (Some(a), Some(b)) = (self.dict.entry(a).place(), self.dict.entry(b).place()) else {
            return false;
        };
        match (&a.admin2, &b.admin2) {
            (Some(x), Some(y)) if x == y => true,
            _ => a.admin1.is_some() && a.admin1 == b.admin1,
        }
    }
}

fn near(a: &Pending, b: &Pending, bytes: usize) -> bool {
    let gap = if b.start >= a.end { b.start - a.end } else { a.start.saturating_sub(b.end) };
    gap <= bytes
}

/// Whether `surface` has the letter case of `alias`, letter by letter ("US" vs "us").
fn same_case(surface: &str, alias: &str) -> bool {
    let mut s = surface.chars().filter(|c| c.is_alphabetic());
    let mut a = alias.chars().filter(|c| c.is_alphabetic());
    loop {
        match (s.next(), a.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.is_uppercase() == y.is_uppercase() => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case() {
        assert!(same_case("US", "US"));
        assert!(!same_case("us", "US"));
        assert!(same_case("T-2", "T2"));
        assert!(!same_case("Is", "IS"));
    }
}
