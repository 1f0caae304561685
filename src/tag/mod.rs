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
//! 6. drop a place far from the country the text is about that nothing else supports: the one
//!    place of its country, its country not named, over [`FOREIGN_PLACE_KM`] from every place
//!    of the text's main country ("Colonia" is Köln's Spanish name, but "in Culiacan, a man was
//!    found dead in Colonia 21 de Marzo" is in Mexico);
//! 7. read numbers, in digits and in words ([`numbers`]), and assemble dates ([`dates`]).
//!
//! Pure and synchronous: no I/O, no clock. Called by `lexwire tag`, the extractor and the
//! service's workers.

pub mod dates;
pub mod numbers;

use std::sync::Arc;

use crate::dictionary::gazetteer::km;
use crate::dictionary::{AliasOrigin, Ambiguity, CueKind, Detail, Dictionary, EntryId, EntryKind, Lang, PlaceLevel};
use crate::encode::SharedFragments;
use crate::language;
use crate::matcher::{AutomatonKind, Matcher, MatcherError, PatternId, RawMatch};
use crate::normalize::{Normalized, TextTooLarge};

pub use dates::DateValue;
pub use numbers::NumberValue;

/// How far (in bytes of the original text) an ambiguous place looks for a place of the same
/// governorate.
const PLACE_CONTEXT_BYTES: usize = 300;
/// A place this far from every place of the text's main country, alone of its country, is taken
/// for a false match (a neighbourhood or a person that shares a far town's name). Far enough to
/// keep what news names across a border (Kilis and Tal Rifaat, Diffa and Maiduguri, Hudaydah and
/// Jizan), near enough to drop other continents.
pub const FOREIGN_PLACE_KM: f64 = 1500.0;
/// How many places of the main country a foreign place is measured against (bounds the cost on
/// a text that is all place names).
const FOREIGN_PLACE_CHECKS: usize = 64;
/// How far an ambiguous alias looks for an event trigger.
const TRIGGER_CONTEXT_BYTES: usize = 150;

/// The dictionary and its automaton: everything needed to tag a text. Cheap to share
/// (`Arc`), immutable: a hot reload builds a new one and swaps it.
#[derive(Debug)]
pub struct Tagger {
    dict: Arc<Dictionary>,
    matcher: Matcher,
    /// The JSON of the dictionary's tags, encoded on first use (`lexwire tag`).
    fragments: SharedFragments,
}

/// Buffers reused from one text to the next; one per worker. After the first texts, tagging
/// allocates nothing but the output.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: Normalized,
    raw: Vec<RawMatch>,
    pending: Vec<Pending>,
    number_words: Vec<(Tag, crate::dictionary::NumberWord)>,
    date_words: Vec<(Tag, crate::dictionary::DateWord)>,
    tokens: Vec<numbers::Token>,
    numbers: Vec<Tag>,
    dates: Vec<Tag>,
    merged: Vec<Tag>,
    short: Vec<Tag>,
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
        Self::with_dfa_budget(dict, kind, crate::matcher::DEFAULT_DFA_BUDGET)
    }

    /// As [`Tagger::new`], with DFAs only while their total stays under `dfa_budget` bytes (0:
    /// contiguous NFAs only).
    ///
    /// # Errors
    /// See [`Tagger::new`].
    pub fn with_dfa_budget(
        dict: Arc<Dictionary>,
        kind: AutomatonKind,
        dfa_budget: usize,
    ) -> Result<Tagger, MatcherError> {
        let matcher = Matcher::with_budget(&dict, kind, dfa_budget)?;
        let fragments = SharedFragments::new(dict.aliases().len());
        Ok(Tagger { dict, matcher, fragments })
    }

    /// The JSON of the dictionary's tags, shared by every [`crate::encode::TagWriter`].
    pub fn fragments(&self) -> &SharedFragments {
        &self.fragments
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
    /// let surfaces: Vec<&str> =
    ///     tagged.tags.iter().filter(|t| !t.is_internal()).map(|t| &text[t.start..t.end]).collect();
    /// assert_eq!(surfaces, ["US", "airstrikes", "Al-Bokamal", "killed", "22"]);
    /// ```
    pub fn tag(&self, text: &str, language: Option<Lang>, scratch: &mut Scratch) -> Result<Tagged, TextTooLarge> {
        let mut tags = Vec::new();
        let language = self.tag_into(text, language, scratch, &mut tags)?;
        Ok(Tagged { language, tags })
    }

    /// As [`Tagger::tag`], into a buffer the caller reuses (cleared first); returns the
    /// language.
    ///
    /// # Errors
    /// See [`Tagger::tag`].
    pub fn tag_into(
        &self,
        text: &str,
        language: Option<Lang>,
        scratch: &mut Scratch,
        tags: &mut Vec<Tag>,
    ) -> Result<Lang, TextTooLarge> {
        tags.clear();
        scratch.norm.normalize(text)?;
        scratch.raw.clear();
        self.matcher.find(&scratch.norm, &mut scratch.raw);
        let language = language.unwrap_or_else(|| language::detect(&scratch.norm));

        scratch.pending.clear();
        let mut cursor = scratch.norm.cursor();
        for m in &scratch.raw {
            let (start, end) = cursor.original_span(m.start, m.end);
            if let Some(p) = self.choose(text, start, end, m, language) {
                scratch.pending.push(p);
            }
        }
        self.disambiguate_places(&mut scratch.pending);
        self.confirm_ambiguous(text, &mut scratch.pending);
        self.keep_to_the_texts_countries(&mut scratch.pending);

        scratch.number_words.clear();
        scratch.date_words.clear();
        for p in scratch.pending.iter().filter(|p| p.keep) {
            let tag = Tag {
                kind: p.kind,
                start: p.start,
                end: p.end,
                entry: Some(p.entry),
                alias: Some(p.alias),
                value: TagValue::None,
            };
            // Only numbers and dates need their entry's detail here.
            match p.kind {
                EntryKind::Number | EntryKind::Date => match &self.dict.entry(p.entry).detail {
                    Detail::Number(word) => scratch.number_words.push((tag, *word)),
                    Detail::Date(word) => scratch.date_words.push((tag, *word)),
                    _ => tags.push(tag),
                },
                _ => tags.push(tag),
            }
        }
        scratch.numbers.clear();
        numbers::read_numbers(text, language, &scratch.number_words, tags, &mut scratch.tokens, &mut scratch.numbers);
        scratch.dates.clear();
        dates::assemble(text, language == Lang::Fr, &scratch.date_words, &mut scratch.numbers, &mut scratch.dates);
        // Three lists in text order: merge them. The dictionary's tags move to the scratch list
        // by a swap of the two vectors (not a copy), and the merge writes into the emptied one.
        if !scratch.numbers.is_empty() || !scratch.dates.is_empty() {
            std::mem::swap(&mut scratch.merged, tags);
            tags.clear();
            merge_by_start(&scratch.merged, &scratch.numbers, &scratch.dates, &mut scratch.short, tags);
        }
        Ok(language)
    }

    /// The best candidate of a match that is valid here, or `None`.
    fn choose(&self, text: &str, start: usize, end: usize, m: &RawMatch, language: Lang) -> Option<Pending> {
        let info = self.matcher.info(m.pattern);
        if info.is_simple() {
            return info.langs.contains(language).then_some(Pending {
                start,
                end,
                nstart: m.start,
                nend: m.end,
                pattern: m.pattern,
                alias: info.alias,
                entry: info.entry,
                kind: info.kind,
                ambiguity: info.ambiguity,
                keep: info.ambiguity.is_none(),
            });
        }
        // The original text is read only for the case rules: it is cold in cache here, the
        // matcher having read the normalized copy.
        let surface = || &text[start..end];
        let aliases = self.dict.aliases();
        let chosen = self.matcher.candidates(m.pattern).iter().copied().find(|&a| {
            let alias = &aliases[a as usize];
            alias.langs.contains(language)
                && (!alias.case_sensitive || same_case(surface(), &alias.text))
                && (!alias.capitalized || surface().chars().next().is_some_and(char::is_uppercase))
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
        let has_rivals = |p: &Pending| p.kind == EntryKind::Place && self.matcher.info(p.pattern).has_place_rivals();
        if !pending.iter().any(has_rivals) {
            return;
        }
        let aliases = self.dict.aliases();
        let mut context: Vec<&str> = Vec::new();
        for p in pending.iter().filter(|p| p.keep && p.kind == EntryKind::Place) {
            if !self.matcher.info(p.pattern).has_place_rivals()
                && let Some(admin1) = self.admin1_of(p.entry)
                && !context.contains(&admin1)
            {
                context.push(admin1);
            }
        }
        if context.is_empty() {
            return;
        }
        for p in pending.iter_mut().filter(|p| has_rivals(p)) {
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
    /// `pending` is in text order, so each looks only at its window.
    fn confirm_ambiguous(&self, text: &str, pending: &mut [Pending]) {
        let mut confirmed = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let Some(ambiguity) = p.ambiguity else { continue };
            let cue_before = pending[..i].iter().rev().take(3).any(|q| {
                q.keep
                    && matches!(self.dict.entry(q.entry).detail, Detail::Cue(CueKind::Locative))
                    && p.nstart.saturating_sub(q.nend) <= 2
            });
            let window = |bytes: usize| {
                let from = pending.partition_point(|q| q.end + bytes < p.start);
                let to = pending.partition_point(|q| q.start <= p.end + bytes);
                &pending[from..to.max(from)]
            };
            let place_nearby = p.kind == EntryKind::Place
                && window(PLACE_CONTEXT_BYTES).iter().any(|q| {
                    q.keep && q.kind == EntryKind::Place && q.entry != p.entry && self.same_area(p.entry, q.entry)
                });
            let trigger_nearby = window(TRIGGER_CONTEXT_BYTES).iter().any(|q| q.keep && q.kind == EntryKind::EventType);
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

    /// Step 6 of the module: keeps a text's places to the countries it is about. The main
    /// country is the one with the most distinct places (a country's own name counts as one);
    /// on a tie, the one named first by a canonical name (not an alternate or generated one),
    /// then the one named first (news and coded data name the main place first). A place
    /// that is the only one of its country, whose country the text does not name, and that lies
    /// over [`FOREIGN_PLACE_KM`] from every place of the main country, is dropped.
    fn keep_to_the_texts_countries(&self, pending: &mut [Pending]) {
        let country_of = |p: &Pending| -> Option<&str> {
            (p.keep && p.kind == EntryKind::Place).then_some(())?;
            self.dict.entry(p.entry).place().map(|place| place.country.as_str())
        };
        let mut countries = pending.iter().filter_map(country_of);
        let Some(first) = countries.next() else { return };
        if countries.all(|c| c == first) {
            return;
        }
        struct Support<'a> {
            country: &'a str,
            entries: Vec<EntryId>,
            named: bool,
            first: usize,
            first_canonical: usize,
        }
        let mut support: Vec<Support> = Vec::new();
        let aliases = self.dict.aliases();
        for (i, p) in pending.iter().enumerate() {
            let Some(country) = country_of(p) else { continue };
            let k = match support.iter().position(|s| s.country == country) {
                Some(k) => k,
                None => {
                    support.push(Support {
                        country,
                        entries: Vec::new(),
                        named: false,
                        first: i,
                        first_canonical: usize::MAX,
                    });
                    support.len() - 1
                }
            };
            let s = &mut support[k];
            let place = self.dict.entry(p.entry).place();
            if place.is_some_and(|place| place.level == PlaceLevel::Country) {
                s.named = true;
            } else if s.entries.len() < FOREIGN_PLACE_CHECKS && !s.entries.contains(&p.entry) {
                s.entries.push(p.entry);
            }
            if matches!(aliases[p.alias as usize].origin, AliasOrigin::Primary | AliasOrigin::Curated) {
                s.first_canonical = s.first_canonical.min(i);
            }
        }
        let weight = |s: &Support| s.entries.len() + usize::from(s.named);
        let Some(main) = support.iter().min_by_key(|s| (std::cmp::Reverse(weight(s)), s.first_canonical, s.first))
        else {
            return;
        };
        let points: Vec<(f64, f64)> =
            main.entries.iter().filter_map(|&e| self.dict.entry(e).place()).map(|p| (p.lat, p.lon)).collect();
        if points.is_empty() {
            return;
        }
        for s in support.iter().filter(|s| s.country != main.country && !s.named && s.entries.len() == 1) {
            let Some(place) = self.dict.entry(s.entries[0]).place() else { continue };
            let far = points.iter().all(|&(lat, lon)| km(place.lat, place.lon, lat, lon) > FOREIGN_PLACE_KM);
            if far {
                for p in pending.iter_mut().filter(|p| p.keep && p.entry == s.entries[0]) {
                    p.keep = false;
                }
            }
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

/// Merges three lists sorted by start into `out`: the two short ones first (into `short`), then
/// with the long one.
fn merge_by_start(long: &[Tag], b: &[Tag], c: &[Tag], short: &mut Vec<Tag>, out: &mut Vec<Tag>) {
    short.clear();
    merge_two(b, c, short);
    out.reserve(long.len() + short.len());
    merge_two(long, short, out);
}

fn merge_two(a: &[Tag], b: &[Tag], out: &mut Vec<Tag>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j].start < a[i].start {
            out.push(b[j].clone());
            j += 1;
        } else {
            out.push(a[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
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
