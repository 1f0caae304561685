//! Fatalities and injured in one sentence, as `{best, low, high}` (ACLED/UCDP conventions).
//!
//! A casualty grammar in two steps.
//!
//! **Quantities.** Every count of the sentence ([`Quantity`]): a number in digits or words
//! ("22", "twenty-two", "vingt-deux", "dozens" = 12, ACLED's convention), a range ("10-15",
//! "between 2 and 4": best is the low end, the most conservative figure), or a determiner
//! with a singular noun of people ("a civilian", "an officer", "another man": 1), with the
//! noun of people it counts when one follows within a few words ("16 Taliban Red Unit
//! militants"). A number after "including" is a part of another figure and never adds to it.
//! Measures, clock times, ordinals and years are not counts (the tagger marks them).
//!
//! **Constructions.** Each casualty word ("killed", "dead", "died", "wounded", "morts",
//! "blessés", and words that tell of the act too: "executed", "shot dead") takes its count
//! from the first construction that applies, each a small function below:
//! 1. [`subject_before`]: the count right before it, with at most auxiliaries between: "22
//!    morts", "two killed", "six others injured", "two soldiers were killed", "a civilian was
//!    killed", "leaving two militants dead";
//! 2. [`object_after`]: the count right after it, with at most quantifiers between ("killing
//!    at least two people", "the death of four militiamen", "killed 3 and wounded 5",
//!    "killing a shepherd");
//! 3. [`revised`]: a revised toll ("the death toll has risen to 23");
//! 4. [`subject_far`]: a count of people earlier in the clause ("one member of the officer's
//!    family was killed"), never the agent of a passive ("abducted by four men and stabbed to
//!    death").
//!
//! When a count stands before an active verb and another after it, the first did it and the
//! second died ("a suicide bomber killed 3 civilians"). The noun after a count need not be
//! known when it agrees with it ("killing 1 pastoralist", "two siblings were shot to death");
//! "the" and a singular noun after an active killing verb is one ("killed the driver"); kin
//! joined by a possessive add up ("a shepherd and his son": 2); deaths told without a figure
//! ("several", "a number of") or together with wounds ("killing and injuring a number of
//! fighters") count 10, ACLED's code for an unknown number of fatalities.
//!
//! Coordinated counts add up ("two soldiers and three civilians were killed": 5; "killing two
//! soldiers and three civilians": 5; "21 militants including 2 commanders and 4 soldiers were
//! killed": 25). Several figures for one role in a sentence: a revised one wins, else the
//! largest (a total and its parts).
//!
//! So "20,000 fighters", "56 missiles", "14 kilometres", "400 fighters present", "three
//! trucks destroyed" and "at 01:00 am" never become casualties: no casualty word claims them, or
//! what follows them is not people, or they are not counts at all.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::dictionary::{CasualtyRole, CueKind, Detail, Dictionary, EntryKind, NegationKind};
use crate::normalize::with_lowercase;
use crate::tag::Tag;

use super::finder::Finder;

/// A count of people with its uncertainty. 32 bits: no event harms more people than that, and
/// the dedup state keeps four counts per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    // State saved by versions that kept 64 bits restores, a larger figure as the largest.
    #[serde(deserialize_with = "saturating")]
    pub best: u32,
    #[serde(deserialize_with = "saturating")]
    pub low: u32,
    #[serde(deserialize_with = "saturating")]
    pub high: u32,
}

fn saturating<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(u32::try_from(u64::deserialize(d)?).unwrap_or(u32::MAX))
}

impl Count {
    pub fn exact(n: u32) -> Count {
        Count { best: n, low: n, high: n }
    }

    /// One of `n` equal shares, rounded up: no share of a death toll is zero.
    fn share(self, n: u64) -> Count {
        // A share is no larger than the whole: it fits.
        let part = |x: u32| u32::try_from(u64::from(x).div_ceil(n.max(1))).unwrap_or(x);
        Count { best: part(self.best), low: part(self.low), high: part(self.high) }
    }

    fn plus(self, other: Count) -> Count {
        Count {
            best: self.best.saturating_add(other.best),
            low: self.low.saturating_add(other.low),
            high: self.high.saturating_add(other.high),
        }
    }
}

/// What a sentence says about casualties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Casualties {
    pub fatalities: Option<Count>,
    pub injured: Option<Count>,
    /// A figure came with a revision cue ("increased to"): it replaces earlier ones.
    pub revised: bool,
    /// The sentence says the toll is not known ("no information").
    pub unknown: bool,
}

impl Casualties {
    pub fn is_empty(&self) -> bool {
        self.fatalities.is_none() && self.injured.is_none()
    }

    /// Someone was killed or hurt.
    pub fn harmed(&self) -> bool {
        self.fatalities.is_some_and(|n| n.best > 0) || self.injured.is_some_and(|n| n.best > 0)
    }
}

/// A number as a count of people: a whole number that fits 32 bits (4,294,967,295; a larger
/// figure counts no people).
fn people(n: &crate::tag::NumberValue) -> Option<u32> {
    n.as_count().and_then(|v| u32::try_from(v).ok())
}

/// The words of `text` (runs of alphanumeric characters), counted up to `limit`: the count
/// stops there.
pub(crate) fn words_up_to(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut n, mut in_word, mut i) = (0, false, 0);
    while i < bytes.len() && n < limit {
        let (w, len) = super::fire::alphanumeric_at(text, i);
        n += usize::from(w && !in_word);
        in_word = w;
        i += len;
    }
    n
}

/// Whether `text` holds at most `max` words, without reading far into a long text (the
/// windows of the grammar are a few words; a sentence may be megabytes).
pub(crate) fn at_most_words(text: &str, max: usize) -> bool {
    text.len() <= (max + 1) * 48 && words_up_to(text, max.saturating_add(1)) <= max
}

/// A count in the sentence.
#[derive(Debug, Clone, Copy)]
struct Quantity {
    start: usize,
    /// The end of the whole phrase: the noun of people it counts, else the number.
    end: usize,
    count: Count,
    /// A noun of people or an actor follows: it counts people.
    people: bool,
    /// Right after "including": a part of another figure.
    subset: bool,
    /// A vague word that gives no figure ("several", "a number of"): as a toll of deaths it
    /// counts 10, ACLED's code for deaths reported without a number.
    no_figure: bool,
}

/// Vague quantities that give no figure at all (not "dozens", "a few": those are figures).
const NO_FIGURE: [&str; 7] =
    ["several", "a number of", "many", "plusieurs", "un certain nombre de", "de nombreux", "عدد من"];

/// ACLED's count for deaths reported without a number (its codebook, "Reported fatalities").
const DEATHS_WITHOUT_A_NUMBER: u32 = 10;

/// Auxiliaries and adverbs that may stand between a count and its casualty word.
#[rustfmt::skip]
const AUXILIARIES: &[&str] = &[
    "was", "were", "been", "have", "has", "had", "are", "is", "being", "reportedly", "allegedly", "also", "later",
    "all", "of", "found", "left", "both", "subsequently", "then", "de", "d", "ont", "été", "a", "sont", "est", "tous",
];

/// Quantifiers and articles that may stand between a casualty word and its count.
#[rustfmt::skip]
const QUANTIFIERS: &[&str] = &[
    "at", "least", "more", "than", "some", "about", "around", "nearly", "almost", "over", "up", "to", "another",
    "an", "estimated", "a", "total", "of", "the", "other", "between", "its", "his", "her", "their",
    "au", "moins", "plus", "de", "environ", "près", "entre", "ses", "leurs", "son", "sa",
];

/// Words that join coordinated counts, with a possessive that ties the second to the first ("a
/// mother and her two children").
fn coordinates(gap: &str) -> bool {
    let g = gap.trim().trim_start_matches(',').trim();
    let g = POSSESSIVES
        .iter()
        .find_map(|p| g.strip_suffix(p).filter(|rest| rest.ends_with(' ')).map(str::trim_end))
        .filter(|rest| matches!(*rest, "and" | "et"))
        .unwrap_or(g);
    matches!(g, "" | "and" | "as well as" | "et" | "ainsi que" | "&") && (gap.contains(',') || !g.is_empty())
}

/// Possessives that join kin or companions to a victim: "and his son", "et ses deux enfants".
const POSSESSIVES: [&str; 8] = ["his", "her", "their", "son", "sa", "ses", "leur", "leurs"];

/// The last word of `text` (letters and digits), or "".
fn last_word(text: &str) -> &str {
    text.trim_end().rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("")
}

/// Whether every word of `gap` is in `allowed` (and there are at most `max`) and it holds no
/// punctuation that ends a phrase.
fn only_words(gap: &str, allowed: &[&str], max: usize) -> bool {
    if gap.len() > (max + 1) * 24 || gap.contains([',', ';', ':', '(', ')', '.', '"']) {
        return false;
    }
    let mut n = 0;
    for w in gap.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        n += 1;
        if n > max || !allowed.iter().any(|a| a.eq_ignore_ascii_case(w)) {
            return false;
        }
    }
    true
}

/// Reads the casualties of one sentence from its tags (in text order).
pub fn read(dict: &Dictionary, text: &str, sentence: std::ops::Range<usize>, tags: &[&Tag]) -> Casualties {
    let mut grammar = Grammar::new(dict, text, tags);
    // The doers' count is theirs alone: no construction may take it or add it to a list.
    let phrases = Phrases::find(text, sentence.clone());
    let doers = besides_the_doers(&grammar, &phrases).map(|(count, k)| {
        if let Some(k) = k {
            grammar.quantities.remove(k);
        }
        count
    });
    let mut out = Casualties::default();
    for (c, tag) in tags.iter().enumerate() {
        let role = match tag.entry.map(|e| &dict.entry(e).detail) {
            Some(Detail::Casualty(word)) => word.role,
            Some(Detail::Negation(NegationKind::NoCasualties)) => {
                out.fatalities.get_or_insert(Count::exact(0));
                continue;
            }
            Some(Detail::Negation(NegationKind::NoInformation)) => {
                out.unknown = true;
                continue;
            }
            _ => continue,
        };
        // "fatally wounded", "mortellement blessé": the wound is the death's, not an injury.
        if role == CasualtyRole::Injury && c > 0 && died_of(dict, text, tags[c - 1], tag) {
            continue;
        }
        grammar.deaths = role == CasualtyRole::Fatality;
        let found = subject_or_object(&grammar, c, tag)
            .map(|q| (q, false))
            .or_else(|| killed_and_injured(&grammar, c).map(|q| (q, false)))
            .or_else(|| revised(&grammar, c).map(|q| (q, true)))
            .or_else(|| subject_far(&grammar, tag).map(|q| (q, false)))
            .or_else(|| one_subject_victim(&grammar, tag).map(|q| (q, false)))
            .or_else(|| deaths_without_a_number(text, tag).map(|q| (q, false)));
        let Some((count, is_revised)) = found else { continue };
        let slot = match role {
            CasualtyRole::Fatality => &mut out.fatalities,
            CasualtyRole::Injury => &mut out.injured,
        };
        let better = match slot {
            None => true,
            Some(old) => (is_revised && !out.revised) || (is_revised == out.revised && count.best > old.best),
        };
        if better {
            *slot = Some(count);
            out.revised |= is_revised;
        }
    }
    // The doers died even when no victim did: "in addition to the bomber, five people were
    // injured" tells of one death.
    if let Some(doers) = doers {
        out.fatalities = Some(out.fatalities.map_or(doers, |dead| dead.plus(doers)));
    }
    // One toll for several events: each gets its share.
    if let Some(n) = shared_by(text, sentence.clone(), tags, &phrases) {
        out.fatalities = out.fatalities.map(|c| c.share(n));
        out.injured = out.injured.map(|c| c.share(n));
    }
    out
}

/// Whether `fatal` is an adverb of death right before the injury word `wound` ("fatally
/// wounded", "mortally injured", "mortellement blessé").
fn died_of(dict: &Dictionary, text: &str, fatal: &Tag, wound: &Tag) -> bool {
    let is_death = matches!(fatal.entry.map(|e| &dict.entry(e).detail),
        Some(Detail::Casualty(w)) if w.role == CasualtyRole::Fatality);
    let adverb =
        ["fatally", "mortally", "mortellement"].iter().any(|a| a.eq_ignore_ascii_case(&text[fatal.start..fatal.end]));
    is_death && adverb && text[fatal.end..wound.start].trim().is_empty()
}

/// The openers of [`besides_the_doers`].
const BESIDES: [&str; 6] = ["in addition to ", "besides ", "en plus du ", "en plus des ", "en plus de ", "outre "];

/// The fixed phrases the toll's constructions look for in a sentence, found in one pass.
struct Phrases {
    /// The first place of each of [`BESIDES`].
    besides: [Option<usize>; BESIDES.len()],
    /// Whether "across" is there ([`shared_by`]).
    across: bool,
}

impl Phrases {
    fn find(text: &str, sentence: std::ops::Range<usize>) -> Phrases {
        static FINDER: LazyLock<Finder> =
            LazyLock::new(|| Finder::phrases(&BESIDES.iter().copied().chain(["across"]).collect::<Vec<_>>()));
        let mut found = Phrases { besides: [None; BESIDES.len()], across: false };
        // No two of the phrases can overlap (none ends with another's start or holds another): a
        // search that resumes after each match sees them all.
        for m in FINDER.find_all(&text.as_bytes()[sentence.clone()]) {
            match found.besides.get_mut(m.pattern().as_usize()) {
                Some(first) => _ = first.get_or_insert(sentence.start + m.start()),
                None => found.across = true,
            }
        }
        found
    }
}

/// 5. The doers who died besides the victims counted: "In addition to the bomber, one person
///    died" (2), "in addition to the five assailants, six civilians were killed" (11), "outre
///    le kamikaze, trois personnes ont été tuées" (4), "in addition to the assailant, five
///    people were injured" (1 dead). A plural without a count adds nothing.
///    Returns the count and the index of its quantity.
fn besides_the_doers(g: &Grammar<'_>, phrases: &Phrases) -> Option<(Count, Option<usize>)> {
    let text = g.text;
    // The first opener of the list that the sentence holds, at its first place.
    let (start, after) = phrases.besides.iter().zip(BESIDES).find_map(|(at, o)| at.map(|at| (at, at + o.len())))?;
    if start > 0 && text[..start].chars().next_back().is_some_and(char::is_alphanumeric) {
        return None;
    }
    // The phrase runs to its comma, a few words at most.
    let rest = &text[after..super::window_after(text, after, 64)];
    let phrase = &rest[..rest.find([',', ';', '.'])?];
    let noun = phrase.rsplit(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty())?;
    if !DOERS.iter().any(|d| d.eq_ignore_ascii_case(noun)) || !at_most_words(phrase, 5) {
        return None;
    }
    let (from, to) = (after, after + phrase.len());
    match g.quantities.iter().position(|q| q.start >= from && q.end <= to) {
        Some(k) => Some((g.value(&g.quantities[k]), Some(k))),
        None if singular(noun) => Some((Count::exact(1), None)),
        None => None,
    }
}

/// Words between a count and its noun: at most three, besides at most five capitalised words of a
/// name.
fn modifiers(gap: &str) -> bool {
    let (mut lower, mut all) = (0, 0);
    for w in gap.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        all += 1;
        lower += usize::from(!w.chars().next().is_some_and(char::is_uppercase));
    }
    lower <= 3 && all <= 8
}

/// 6. A toll told across several events at once: "at least six people were killed across the
///    three attacks", "across both assaults". ACLED's and GTD's codebooks split such a total
///    evenly across the events; each event told gets its share ([`Count::share`]). Only
///    "across" says the events were told apart: "nine people were killed in the three air
///    strikes" is one event's toll, and is kept whole. Returns the number of events, when the
///    sentence gives it.
fn shared_by(text: &str, sentence: std::ops::Range<usize>, tags: &[&Tag], phrases: &Phrases) -> Option<u64> {
    const OPENERS: [&str; 4] = ["across both ", "across all ", "across the ", "across "];
    const EVENTS: [&str; 9] =
        ["attacks", "assaults", "events", "incidents", "blasts", "bombings", "explosions", "raids", "strikes"];
    if !phrases.across {
        return None;
    }
    let lower = text[sentence.clone()].to_ascii_lowercase();
    for opener in OPENERS {
        let Some(at) = lower.find(opener) else { continue };
        let after = at + opener.len();
        let rest = &lower[after..];
        let words: Vec<&str> = rest.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(3).collect();
        // The noun of events within three words: "the three coordinated attacks".
        let Some(noun) = words.iter().position(|w| EVENTS.contains(w)) else { continue };
        if opener.contains("both") {
            return Some(2);
        }
        let phrase = (sentence.start + after)..(sentence.start + after + rest.find(words[noun])?);
        let n =
            tags.iter().find(|t| t.start >= phrase.start && t.end <= phrase.end).and_then(|t| t.number()?.as_count());
        if let Some(n) = n.filter(|&n| n >= 2) {
            return Some(n);
        }
    }
    None
}

/// Nouns of the people who carried an attack out.
pub(crate) const DOERS: [&str; 16] = [
    "assailant",
    "assailants",
    "attacker",
    "attackers",
    "bomber",
    "bombers",
    "gunman",
    "gunmen",
    "perpetrator",
    "perpetrators",
    "kamikaze",
    "kamikazes",
    "assaillant",
    "assaillants",
    "auteur",
    "auteurs",
];

/// A sentence's tags and quantities.
struct Grammar<'a> {
    dict: &'a Dictionary,
    text: &'a str,
    tags: &'a [&'a Tag],
    quantities: Vec<Quantity>,
    /// The casualty word being read counts deaths (not injuries).
    deaths: bool,
}

impl<'a> Grammar<'a> {
    fn new(dict: &'a Dictionary, text: &'a str, tags: &'a [&'a Tag]) -> Self {
        let mut g = Grammar { dict, text, tags, quantities: Vec::new(), deaths: false };
        g.quantities = g.find_quantities();
        g
    }

    /// What a quantity counts for the casualty word being read.
    fn value(&self, q: &Quantity) -> Count {
        if self.deaths && q.no_figure { Count::exact(DEATHS_WITHOUT_A_NUMBER) } else { q.count }
    }

    fn cue(&self, t: &Tag, kind: CueKind) -> bool {
        t.kind == EntryKind::Cue
            && t.entry.is_some_and(|e| matches!(self.dict.entry(e).detail, Detail::Cue(k) if k == kind))
    }

    fn is_count(&self, t: &Tag) -> bool {
        t.number().is_some_and(|n| n.unit.is_none() && !n.ordinal && people(n).is_some())
            && !(t.number().is_some_and(|n| n.digits) && is_year(self.text, t))
    }

    /// A noun of people: a person word, an actor, or the people of a demonstration
    /// ("protesters", "rioters": protest triggers).
    fn is_people(&self, t: &Tag) -> bool {
        self.cue(t, CueKind::Person)
            || self.cue(t, CueKind::StateForce)
            || self.cue(t, CueKind::Civilian)
            || t.kind == EntryKind::Actor
            || t.kind == EntryKind::EventType && is_agent_noun(&self.text[t.start..t.end])
            || matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::EventType(i))
                if matches!(self.dict.event_type(*i).family.as_str(), "protest" | "riot"))
    }

    /// Every count of the sentence, in text order.
    fn find_quantities(&self) -> Vec<Quantity> {
        let (text, tags) = (self.text, self.tags);
        let value = |t: &Tag| t.number().and_then(people).unwrap_or(0);
        let mut out: Vec<Quantity> = Vec::new();
        let mut nouns_taken: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < tags.len() {
            let t = tags[i];
            if !self.is_count(t) {
                i += 1;
                continue;
            }
            // A range: "10-15", "between 2 and 4", "2 to 4".
            let mut last = i;
            let mut count = Count::exact(value(t));
            if let Some(next) = tags.get(i + 1)
                && self.is_count(next)
                && matches!(text[t.end..next.start].trim(), "-" | "–" | "to" | "and" | "à" | "et" | "or" | "ou")
                && value(next) > value(t)
                && (text[t.end..next.start].trim() != "and" || preceded_by(text, t.start, &["between", "entre"]))
            {
                count = Count { best: value(t), low: value(t), high: value(next) };
                last = i + 1;
            }
            let subset =
                i > 0 && self.cue(tags[i - 1], CueKind::Subset) && at_most_words(&text[tags[i - 1].end..t.start], 1);
            // The noun of people it counts: within three words, in the same phrase, not counting
            // the words of a name ("three former Electoral Commission employees").
            let mut noun = None;
            for (k, n) in tags[last + 1..].iter().enumerate().take(4) {
                let gap = &text[tags[last].end..n.start];
                let phrase_ends = gap.contains([',', ';', ':', '(', ')', '.']) || !modifiers(gap);
                // "une frappe aérienne russe": what follows counts strikes, not Russians.
                let other_noun = matches!(n.kind, EntryKind::EventType | EntryKind::Weapon) && !self.is_people(n);
                if phrase_ends || n.kind == EntryKind::Casualty || self.is_count(n) || other_noun {
                    break;
                }
                if self.is_people(n) {
                    // A noun of people may run over several ("four volunteer fighters").
                    let mut end = last + 1 + k;
                    while let Some(next) = tags.get(end + 1)
                        && self.is_people(next)
                        && text[tags[end].end..next.start].trim().is_empty()
                    {
                        end += 1;
                    }
                    noun = Some(end);
                    break;
                }
            }
            // "two of them", "three of the victims".
            let noun = noun.filter(|&k| !text[tags[last].end..tags[k].start].contains(" and "));
            if let Some(k) = noun {
                nouns_taken.push(k);
            }
            let surface = &text[t.start..t.end];
            let no_figure =
                t.number().is_some_and(|n| n.approximate) && NO_FIGURE.iter().any(|w| w.eq_ignore_ascii_case(surface));
            out.push(Quantity {
                start: t.start,
                end: noun.map_or(tags[last].end, |k| tags[k].end),
                count,
                no_figure,
                people: noun.is_some(),
                subset,
            });
            i = last + 1;
        }
        // A determiner with a singular noun of people: "a civilian", "an officer".
        for (k, t) in tags.iter().enumerate() {
            if nouns_taken.contains(&k) || !self.is_people(t) || !singular(&text[t.start..t.end]) {
                continue;
            }
            if let Some(start) = determiner_before(text, t.start) {
                let subset = k > 0 && self.cue(tags[k - 1], CueKind::Subset) && tags[k - 1].end <= start;
                out.push(Quantity {
                    start,
                    end: t.end,
                    count: Count::exact(1),
                    people: true,
                    subset,
                    no_figure: false,
                });
            }
        }
        out.sort_by_key(|q| q.start);
        // "a family of three", "une famille de cinq": the family is the count after it (one pass,
        // no removal in place: a sentence may hold thousands of counts).
        let mut merged: Vec<Quantity> = Vec::with_capacity(out.len());
        let mut rest = out.into_iter().peekable();
        while let Some(mut q) = rest.next() {
            if let Some(next) = rest.peek() {
                let noun = &text[q.start..q.end];
                // (No character but an ASCII letter lowercases to one of these letters.)
                let family = ["family", "famille"].iter().any(|f| {
                    noun.len() >= f.len() && noun.as_bytes()[noun.len() - f.len()..].eq_ignore_ascii_case(f.as_bytes())
                });
                let between = text.get(q.end..next.start).unwrap_or_default();
                if family && matches!(between.trim(), "of" | "de") {
                    q.count = next.count;
                    q.end = next.end;
                    rest.next();
                }
            }
            merged.push(q);
        }
        let mut out = merged;
        // "including two soldiers and five civilians": the subset runs over the coordination.
        for k in 1..out.len() {
            if out[k - 1].subset && out[k - 1].end <= out[k].start {
                // The rest of the first noun may lie between ("two Armed Forces soldiers and").
                let gap = text[out[k - 1].end..out[k].start].trim();
                let joined = ["and", "et"].iter().any(|c| gap == *c || gap.ends_with(&format!(" {c}")))
                    || gap.ends_with(',') && !gap[..gap.len() - 1].contains([',', ';', '.', ':']);
                let (from, to) = (out[k - 1].end, out[k].start);
                let word_between = tags.iter().any(|t| t.kind == EntryKind::Casualty && t.start >= from && t.end <= to);
                if joined && at_most_words(gap, 3) && !word_between {
                    out[k].subset = true;
                }
            }
        }
        out
    }

    /// The text between two positions with its dates left out ("lynché mardi un homme").
    fn without_dates(&self, from: usize, to: usize) -> std::borrow::Cow<'a, str> {
        let gap = &self.text[from..to];
        let mut dates = self.tags.iter().filter(|t| t.kind == EntryKind::Date && t.start >= from && t.end <= to);
        let Some(first) = dates.next() else { return gap.into() };
        let mut out = String::with_capacity(gap.len());
        let mut at = from;
        for d in std::iter::once(first).chain(dates) {
            out.push_str(&self.text[at..d.start]);
            out.push(' ');
            at = d.end;
        }
        out.push_str(&self.text[at..to]);
        out.into()
    }

    /// The quantities that end before position `at`, nearest first. They are sorted by start,
    /// and a phrase can end after a later one starts ("a ... 0 ... rebelle" around "0"): filter
    /// on the end, never search on it.
    fn before(&self, at: usize) -> impl Iterator<Item = (usize, &Quantity)> {
        let n = self.quantities.partition_point(|q| q.start < at);
        self.quantities[..n].iter().enumerate().rev().filter(move |(_, q)| q.end <= at)
    }

    /// `q` and the counts coordinated before it ("two soldiers and three civilians"), skipping
    /// the parts of a figure ("21 militants including 2 commanders and 4 soldiers").
    fn with_coordinated_before(&self, k: usize) -> Count {
        let qs = &self.quantities;
        let mut total = self.value(&qs[k]);
        if !qs[k].people {
            return total;
        }
        let mut head = k;
        while head > 0 {
            let prev = head - 1;
            let gap = &self.text[qs[prev].end.min(qs[head].start)..qs[head].start];
            if qs[prev].subset && prev > 0 {
                // Jump over the part: "X including Y and Z".
                let owner = prev - 1;
                if !qs[owner].people || qs[owner].subset || !coordinates(gap) {
                    break;
                }
                total = total.plus(self.value(&qs[owner]));
                head = owner;
                continue;
            }
            if !qs[prev].people || qs[prev].subset || !coordinates(gap) {
                break;
            }
            total = total.plus(self.value(&qs[prev]));
            head = prev;
        }
        total
    }

    /// `q` and the counts coordinated after it ("killing two soldiers and three civilians").
    fn with_coordinated_after(&self, k: usize, stop: usize) -> Count {
        let qs = &self.quantities;
        let mut total = self.value(&qs[k]);
        if !qs[k].people {
            return total;
        }
        let mut tail = k;
        let mut next = k + 1;
        while next < qs.len() && qs[next].start < stop {
            let gap = &self.text[qs[tail].end.min(qs[next].start)..qs[next].start];
            if qs[next].subset {
                tail = next;
                next += 1;
                continue;
            }
            if !qs[next].people || !(coordinates(gap) || qs[tail].subset && gap.trim() == "and") {
                break;
            }
            total = total.plus(self.value(&qs[next]));
            tail = next;
            next += 1;
        }
        total
    }
}

/// 1-2. The count before the casualty word, or the one after it. When both are there and
///    nothing stands between the first and the verb, the first is who did it and the second
///    the victims: "a suicide bomber killed 3 civilians", "two gunmen killed four farmers".
fn subject_or_object(g: &Grammar<'_>, c: usize, word: &Tag) -> Option<Count> {
    let Some(subject) = subject_before(g, word) else { return object_after(g, c, word) };
    // Nothing between, or an active auxiliary ("un kamikaze a tué 3 civils"), not a passive one.
    let bare = g.before(word.start).next().is_some_and(|(_, q)| {
        only_words(&g.text[q.end..word.start], &["has", "have", "had", "a", "ont", "avait", "avaient"], 1)
    });
    match object_after(g, c, word) {
        Some(object) if bare => Some(object),
        _ => Some(subject),
    }
}

/// 1. The count right before the casualty word: "22 morts", "two killed", "six others
///    injured", "two soldiers and three civilians were killed", "a civilian was killed",
///    "leaving two militants dead".
fn subject_before(g: &Grammar<'_>, word: &Tag) -> Option<Count> {
    let (k, q) = g.before(word.start).next()?;
    // A count in quotes: 'leaving "dozens" dead'.
    let gap = g.text[q.end..word.start].trim_start_matches(['"', '\u{201d}', '\'']);
    let casualty_word = &g.text[word.start..word.end];
    let told = only_words(gap, AUXILIARIES, 4)
        || one_noun_then_passive(gap, casualty_word, q.count.best)
        || q.people && (passive_of_manner(gap, casualty_word) || to_death(gap, casualty_word));
    if q.subset || !told {
        return None;
    }
    Some(g.with_coordinated_before(k))
}

/// 2. The count right after the casualty word, with at most quantifiers between: "killing at
///    least two people", "the death of four militiamen", "killed 3 and wounded 5", "killing a
///    shepherd". It must count people, or end its phrase.
fn object_after(g: &Grammar<'_>, c: usize, word: &Tag) -> Option<Count> {
    let counted = || {
        let k = g.quantities.partition_point(|q| q.start < word.end);
        let q = g.quantities.get(k)?;
        if q.subset || !only_words(&g.without_dates(word.end, q.start), QUANTIFIERS, 4) {
            return None;
        }
        // The next casualty word ends this one's phrase.
        let stop = g.tags[c + 1..].iter().find(|t| t.kind == EntryKind::Casualty).map_or(usize::MAX, |t| t.start);
        let rest = &g.text[q.end..];
        if q.start >= stop
            || !q.people && !ends_phrase(rest) && !one_unknown_noun_then_end(rest, q.count.best) && !of_them(rest)
        {
            return None;
        }
        Some(g.with_coordinated_after(k, stop))
    };
    counted().or_else(|| one_named_victim(g, c, word))
}

/// 2b. One victim named right after an active killing verb: a person's name ("shot and
///    killed Luay Abdel Wahed, an election candidate") or a determiner with any noun
///    ("executed a professor"). Not a passive verb, not a place, an actor or a date.
fn one_named_victim(g: &Grammar<'_>, c: usize, word: &Tag) -> Option<Count> {
    let verb = &g.text[word.start..word.end];
    if !super::is_passive(g.text, word) && another_one(g.text, word) {
        return Some(Count::exact(1));
    }
    let active = ["killed", "killing", "kill", "executed", "assassinated", "murdered", "gunned down", "beheaded"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v))
        && !super::is_passive(g.text, word);
    if !active {
        return None;
    }
    let rest = &g.text[word.end..super::window_after(g.text, word.end, 48)];
    let next = rest.trim_start();
    let at = word.end + (rest.len() - next.len());
    // Anything tagged there (a place, an actor, a number) is read by the other constructions.
    if g.tags.get(c + 1).is_some_and(|t| t.start <= at + 1) || next.len() == rest.len() {
        return None;
    }
    let first: String = next.chars().take_while(|ch| ch.is_alphanumeric()).collect();
    if first.eq_ignore_ascii_case("the") {
        return the_one_victim(g, c, at + first.len()).then(|| Count::exact(1));
    }
    let determiner = ["a", "an"].iter().any(|d| first.eq_ignore_ascii_case(d));
    let name = first.chars().next().is_some_and(char::is_uppercase)
        && first.chars().count() > 1
        && !["The", "Their", "His", "Her", "Its", "Him", "Them", "On", "In", "At"].contains(&first.as_str());
    (determiner || name).then(|| Count::exact(1))
}

/// 2d. "another" alone after an active casualty verb: "killed one gendarme and wounded
///    another", "tuant un soldat et en blessant un autre" is one more.
fn another_one(text: &str, word: &Tag) -> bool {
    with_lowercase(text[word.end..super::window_after(text, word.end, 24)].trim_start(), |rest| {
        ["another", "un autre", "une autre"].iter().any(|a| rest.strip_prefix(a).is_some_and(ends_phrase))
    })
}

/// 2c. "the" and a singular noun after an active killing verb: "killed the driver of a
///    minibus", "shot and killed the head of the local council", "killing the village chief".
///    The noun ends the phrase (punctuation, "of", a preposition); a plural ("killed the
///    soldiers"), a count ("the two") or a place or weapon in it is not one victim.
fn the_one_victim(g: &Grammar<'_>, c: usize, after_the: usize) -> bool {
    const ENDS: [&str; 18] = [
        "of",
        "in",
        "at",
        "on",
        "near",
        "and",
        "with",
        "from",
        "during",
        "after",
        "while",
        "who",
        "inside",
        "outside",
        "there",
        "here",
        "today",
        "yesterday",
    ];
    let rest = &g.text[after_the..super::window_after(g.text, after_the, 64)];
    let phrase_end = rest.find([',', ';', ':', '.', '(', ')']).unwrap_or(rest.len());
    let mut head = None;
    let mut end = after_the;
    let mut offset = 0;
    for (n, w) in rest[..phrase_end].split(' ').enumerate() {
        let at = offset;
        offset += w.len() + 1;
        if w.is_empty() {
            continue;
        }
        if ENDS.contains(&w) || n > 3 {
            break;
        }
        head = Some(w);
        end = after_the + at + w.len();
    }
    let Some(head) = head else { return false };
    let noun = head.chars().all(|ch| ch.is_alphabetic() || ch == '-')
        && head.chars().next().is_some_and(char::is_lowercase)
        && head.chars().count() > 2
        && singular(head);
    // Only nouns of people may be tagged in it ("the village chief"), not a place or a weapon.
    let tagged_other = g.tags[c + 1..]
        .iter()
        .take_while(|t| t.start < end)
        .any(|t| !(g.cue(t, CueKind::Person) || g.cue(t, CueKind::Civilian) || g.cue(t, CueKind::StateForce)));
    noun && !tagged_other
}

/// 3. A revised toll: "the number of deaths ... has increased to 23".
fn revised(g: &Grammar<'_>, c: usize) -> Option<Count> {
    let cue = g.tags.iter().skip(c + 1).take(12).find(|t| g.cue(t, CueKind::Revision))?;
    g.quantities
        .iter()
        .find(|q| q.start >= cue.end && !q.subset)
        .filter(|q| at_most_words(&g.text[cue.end..q.start], 1))
        .map(|q| g.value(q))
}

/// 4. A count of people earlier in the clause: "one member of the officer's family was
///    killed", "22 militiamen, mostly of the Iraqi Hezbollah, were killed".
fn subject_far(g: &Grammar<'_>, word: &Tag) -> Option<Count> {
    for (k, q) in g.before(word.start).take(6) {
        let gap = &g.text[q.end..word.start];
        if !at_most_words(gap, 20) {
            return None;
        }
        // Another casualty word between: that one owns this count.
        if g.tags.iter().any(|t| t.kind == EntryKind::Casualty && t.start >= q.end && t.end <= word.start) {
            return None;
        }
        // "abducted by four men and stabbed to death": the agent of a passive is not the victim.
        if q.people && !q.subset && !preceded_by(g.text, q.start, &["by", "par"]) {
            return Some(g.with_coordinated_before(k));
        }
    }
    None
}

/// 6. One victim as the subject of a singular passive, whatever the noun: "a drug trafficker
///    was found dead", "the commander of the brigade was killed", "Ahmed al-Ali has been shot
///    dead", "le chef du village a été tué". The singular auxiliary is the count; a relative
///    pronoun or "it" before it is not a new victim.
fn one_subject_victim(g: &Grammar<'_>, word: &Tag) -> Option<Count> {
    const SINGULAR: [&[&str]; 5] = [&["was"], &["has", "been"], &["had", "been"], &["a", "été"], &["est"]];
    let surface = &g.text[word.start..word.end];
    let own: Vec<&str> = surface.split_whitespace().collect();
    let before = super::last_words(&g.text[..word.start], 5);
    // The auxiliary is the tag's own first words ("was killed"), or the words before it, with at
    // most one participle between ("was shot dead", "was found dead").
    let subject_at = SINGULAR.iter().find_map(|aux| {
        let in_tag = own.len() > aux.len() && own.iter().zip(aux.iter()).all(|(w, a)| w.eq_ignore_ascii_case(a));
        if in_tag {
            return Some(0);
        }
        (0..3).find_map(|skip| {
            let first = before.first()?;
            if skip == 1 && ["not", "never", "pas", "jamais"].iter().any(|n| n.eq_ignore_ascii_case(first)) {
                return None;
            }
            // Two words only for a participle of manner and "to": "was stabbed to death".
            let manner = || before.get(1).is_some_and(|w| MANNER.iter().any(|m| m.eq_ignore_ascii_case(w)));
            if skip == 2 && !(first.eq_ignore_ascii_case("to") && manner()) {
                return None;
            }
            let words = before.get(skip..skip + aux.len())?;
            words.iter().rev().zip(aux.iter()).all(|(w, a)| w.eq_ignore_ascii_case(a)).then_some(skip + aux.len())
        })
    })?;
    let subject = before.get(subject_at)?;
    let pronouns = ["it", "who", "which", "that", "qui", "this", "what", "ce", "cela"];
    if pronouns.iter().any(|p| p.eq_ignore_ascii_case(subject)) || subject.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(Count::exact(1))
}

/// 7. Deaths told as such with no number: "incurring fatalities", "causing deaths",
///    "fatalities among Houthi forces", "with fatalities": ACLED codes 10 for an unknown
///    number of fatalities (its codebook, "Reported fatalities"). Only the plural noun, after a
///    verb of causing or before "among": "fatalities were not reported" is a negation the
///    tagger reads, "the fatalities of the attack" a reference.
fn deaths_without_a_number(text: &str, word: &Tag) -> Option<Count> {
    const NOUNS: &[&str] = &["fatalities", "deaths", "morts", "victimes"];
    const CAUSING: &[&str] = &[
        "incurring",
        "incurred",
        "causing",
        "caused",
        "inflicting",
        "inflicted",
        "suffering",
        "suffered",
        "with",
        "faisant",
        "causant",
        "provoquant",
        "occasionnant",
    ];
    if !with_lowercase(&text[word.start..word.end], |surface| NOUNS.contains(&surface)) {
        return None;
    }
    let before = super::last_words(&text[..word.start], 2);
    // "incurring fatalities", "with fatalities", "resulting in fatalities" (not "a rise in
    // deaths"): a count between would have been read.
    let is = |i: usize, list: &[&str]| before.get(i).is_some_and(|w| list.iter().any(|c| c.eq_ignore_ascii_case(w)));
    let caused = is(0, CAUSING) || is(0, &["in"]) && is(1, &["resulting", "resulted", "result"]);
    let rest = text[word.end..].trim_start().to_lowercase();
    let among = rest.starts_with("among ") || rest.starts_with("parmi ");
    (caused || among).then_some(Count::exact(DEATHS_WITHOUT_A_NUMBER))
}

/// 8. Deaths and wounds told with one count: "killing and injuring a number of fighters",
///    "killed and wounded 20", "killing/injuring seventy five soldiers". The count is of both;
///    how many died is not told, so it is ACLED's count for deaths without a number, and never
///    more than the count itself.
fn killed_and_injured(g: &Grammar<'_>, c: usize) -> Option<Count> {
    let (killed, injured) = (g.tags[c], g.tags.get(c + 1)?);
    let is_injury = matches!(injured.entry.map(|e| &g.dict.entry(e).detail),
        Some(Detail::Casualty(w)) if w.role == CasualtyRole::Injury);
    let joined = matches!(g.text[killed.end..injured.start].trim(), "and" | "or" | "/" | "et" | "ou");
    if !is_injury || !joined {
        return None;
    }
    let count = object_after(g, c + 1, injured)?;
    Some(Count::exact(count.best.min(DEATHS_WITHOUT_A_NUMBER)))
}

/// A trigger that names the people who did it: "suicide bombers", "kamikazes", "snipers".
fn is_agent_noun(surface: &str) -> bool {
    with_lowercase(surface.rsplit(' ').next().unwrap_or(surface), |last| {
        ["bomber", "bombers", "kamikaze", "kamikazes", "sniper", "snipers", "attacker", "attackers"].contains(&last)
    })
}

/// Whether the text after a count ends its phrase: punctuation, the end, "and" or "others"
/// ("killed 3 and wounded 5", "the toll rose to 22.").
fn ends_phrase(rest: &str) -> bool {
    let rest = rest.trim_start();
    let word_end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
    rest.is_empty()
        || rest.starts_with(['.', ',', ';', ')', ':'])
        || with_lowercase(&rest[..word_end], |next_word| {
            matches!(
                next_word,
                "and"
                    | "et"
                    | "in"
                    | "on"
                    | "dans"
                    | "en"
                    | "others"
                    | "autres"
                    | "when"
                    | "as"
                    | "near"
                    | "at"
                    | "during"
                    | "while"
                    | "after"
                    | "inside"
                    | "outside"
                    | "près"
                    | "lors"
                    | "après"
            )
        })
}

/// Whether the text after a count says it is a part of a group of people: "killed 1 of
/// them", "killing five of them", "killed one of their chiefs", "tuant trois d'entre eux".
fn of_them(rest: &str) -> bool {
    let rest = rest.trim_start();
    const PARTS: [&str; 11] = [
        "of them",
        "of whom",
        "of their ",
        "of its ",
        "of his ",
        "of the ",
        "d'entre eux",
        "d'entre elles",
        "d’entre eux",
        "de leurs ",
        "de ses ",
    ];
    PARTS.iter().any(|p| rest.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)))
}

/// Whether the text after a count is one noun the dictionary does not know and then the end of
/// the phrase, in the number of the count: a plural after a plural ("executed 9 imams in Mosul",
/// "killing 4 shepherds."), a singular after one ("killing 1 pastoralist (", "killing one
/// herder and wounding another"), or a name of a people or a force ("claimed to have killed 4
/// SSPDF.") — the object of a verb of killing is people, whatever the noun. Two unknown words
/// ("killed 3 stray dogs") or a phrase that goes on ("killing 2 birds with one stone") are not
/// read.
fn one_unknown_noun_then_end(rest: &str, count: u32) -> bool {
    let rest = rest.trim_start();
    let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    let mut after = &rest[word.len()..];
    // A name may be two words: "killed at least 12 Sudanese Misseriya (including 5 children)".
    let second: String = after.strip_prefix(' ').unwrap_or("").chars().take_while(|c| c.is_alphabetic()).collect();
    if word.chars().next().is_some_and(char::is_uppercase) && second.chars().next().is_some_and(char::is_uppercase) {
        after = &after[1 + second.len()..];
    }
    let ends = ends_phrase(after) || after.trim_start().starts_with('(');
    one_unknown_noun(&word, count) && ends
}

/// A word that can name people the dictionary does not know, in the number of `count`: a
/// plural of more than three letters ("imams") after more than one, a singular of more than
/// three ("pastoralist") after one, or a capitalised name of three or more ("Fulani", "SSPDF").
fn one_unknown_noun(word: &str, count: u32) -> bool {
    let (letters, plural, not_noun) = with_lowercase(word, |lower| {
        let plural = lower.ends_with('s') && !lower.ends_with("ss") || lower.ends_with('x');
        (lower.chars().count(), plural, NOT_NOUNS.contains(&lower))
    });
    let lowercase = word.chars().next().is_some_and(char::is_lowercase);
    let agrees = if count == 1 { !plural && !not_noun } else { plural };
    let name = word.chars().next().is_some_and(char::is_uppercase) && letters >= 3;
    lowercase && letters > 3 && agrees || name
}

/// Lowercase words after "one" that are not a noun of people: "one other", "killing one
/// and wounding two" are read elsewhere.
const NOT_NOUNS: &[&str] = &["other", "another", "more", "person", "each", "which", "where", "when", "while"];

/// Whether the text between a count and a casualty word is one noun the dictionary does not
/// know, in the count's number, and a passive auxiliary, with at most a participle of manner:
/// "3 Fulani were killed", "two Palestinians were injured", "two siblings were shot to death",
/// "1 pastoralist was killed".
fn one_noun_then_passive(gap: &str, casualty_word: &str, count: u32) -> bool {
    let gap = gap.trim_start();
    let word: String = gap.chars().take_while(|c| c.is_alphabetic()).collect();
    let rest = &gap[word.len()..];
    one_unknown_noun(&word, count) && passive_of_manner(rest, casualty_word)
}

/// Whether `gap` (before a casualty word) is a passive auxiliary with at most the participle of
/// how they died: "were", "were shot", "was stabbed to" (death).
fn passive_of_manner(gap: &str, casualty_word: &str) -> bool {
    // The auxiliary may be the casualty word's own first word ("were killed").
    let passive = |text: &str| {
        text.split(|c: char| !c.is_alphanumeric())
            .any(|w| ["was", "were", "been", "été"].iter().any(|a| a.eq_ignore_ascii_case(w)))
    };
    let allowed: Vec<&str> = AUXILIARIES.iter().chain(MANNER).copied().collect();
    only_words(gap, &allowed, 4) && (passive(gap) || passive(casualty_word))
}

/// Whether a count of people is the object of a verb "to death": "the police beat a young man
/// to death", "burned three people to death", "ont battu un homme à mort".
fn to_death(gap: &str, casualty_word: &str) -> bool {
    let to = matches!(gap.trim(), "to" | "à");
    to && ["death", "mort"].iter().any(|d| d.eq_ignore_ascii_case(casualty_word))
}

/// Participles of how someone was killed, between a passive auxiliary and the casualty word
/// ("were shot dead", "was beaten to death"). Not "fatally": it is a casualty word itself.
#[rustfmt::skip]
const MANNER: &[&str] = &[
    "shot", "stabbed", "beaten", "hacked", "burned", "burnt", "stoned", "clubbed", "bludgeoned", "strangled",
    "tortured", "to", "gunned", "abattus", "abattu", "poignardé", "poignardés", "battu",
    "battus", "à",
];

/// Whether the word before `at` is one of `words`.
fn preceded_by(text: &str, at: usize, list: &[&str]) -> bool {
    let before = text[..at].trim_end();
    let w = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    list.iter().any(|x| x.eq_ignore_ascii_case(w))
}

/// A noun of people in the singular ("civilian", "officer", "man", "femme").
fn singular(noun: &str) -> bool {
    with_lowercase(noun.rsplit(' ').next().unwrap_or(noun), |last| {
        let plural_forms =
            ["people", "men", "women", "children", "police", "personnel", "youth", "staff", "folk", "gens"];
        // Nouns whose singular ends like a plural: "son fils", "son corps".
        let both = ["fils", "corps"];
        both.contains(&last)
            || !(last.ends_with('s') && !last.ends_with("ss") || last.ends_with('x') || plural_forms.contains(&last))
    })
}

/// The start of a singular determiner ("a", "an", "another") at most three words before
/// `at`, with nothing but adjectives between ("a 25-year-old man", "a local official").
fn determiner_before(text: &str, at: usize) -> Option<usize> {
    let window_start = super::window_before(text, at, 64);
    let window = &text[window_start..at];
    let mut end = window.len();
    for _ in 0..4 {
        let head = &window[..end];
        let trimmed = head.trim_end_matches(|c: char| c.is_whitespace() || c == '-');
        if trimmed.len() != head.len() && trimmed.ends_with([',', ';', ':', '(', ')', '.']) {
            return None;
        }
        // "a 48-year-old man": a hyphenated word is one.
        let word_start = word_start_before(trimmed, |c| c.is_alphanumeric() || c == '-');
        let word = &trimmed[word_start..];
        if word.is_empty() {
            return None;
        }
        if ["a", "an", "another"].iter().any(|d| d.eq_ignore_ascii_case(word)) {
            // "a number of", "a few" are not one person; neither is "such a".
            return Some(window_start + word_start);
        }
        // "a shepherd and his son", "un berger et son fils": one more, joined to the first.
        if POSSESSIVES.iter().any(|d| d.eq_ignore_ascii_case(word))
            && ["and", "et"].iter().any(|c| c.eq_ignore_ascii_case(last_word(&trimmed[..word_start])))
        {
            return Some(window_start + word_start);
        }
        if ["of", "and", "or", "the", "his", "her", "their", "its", "by", "in", "on", "with", "from", "to"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(word))
        {
            return None;
        }
        end = word_start;
    }
    None
}

/// Where the last run of `in_word` characters of `text` starts (a byte offset, on a character
/// boundary).
pub(crate) fn word_start_before(text: &str, in_word: impl Fn(char) -> bool) -> usize {
    text.char_indices().rev().find(|&(_, c)| !in_word(c)).map_or(0, |(p, c)| p + c.len_utf8())
}

/// A four-digit number between 1900 and 2100 written without separators: a year.
fn is_year(text: &str, t: &Tag) -> bool {
    let s = &text[t.start..t.end];
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) && (1900..=2100).contains(&s.parse::<u32>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::AutomatonKind;
    use crate::tag::{Scratch, Tagger};
    use std::sync::{Arc, OnceLock};

    fn tagger() -> &'static Tagger {
        static T: OnceLock<Tagger> = OnceLock::new();
        T.get_or_init(|| Tagger::new(Arc::new(Dictionary::bundled().unwrap()), AutomatonKind::Dfa).unwrap())
    }

    fn casualties(text: &str) -> Casualties {
        let tagged = tagger().tag(text, None, &mut Scratch::new()).unwrap();
        let tags: Vec<&Tag> = tagged.tags.iter().collect();
        read(tagger().dictionary(), text, 0..text.len(), &tags)
    }

    /// Found by the generated-input fuzzing run (`tests/fuzz_inputs.rs`): a determiner phrase
    /// ("a ... rebelle") spanning a number and the casualty word made the quantities unsorted by
    /// end, and the search for the counts before the word sliced the text backwards.
    #[test]
    fn regression_quantity_spanning_the_casualty_word_sliced_backwards() {
        let found = casualties("a\n0 Each lynché rebelle.\" La ");
        assert!(found.fatalities.is_none_or(|n| n.best <= 1), "{found:?}");
    }

    fn tolls(text: &str) -> (Option<u32>, Option<u32>) {
        let c = casualties(text);
        (c.fatalities.map(|c| c.best), c.injured.map(|c| c.best))
    }

    /// A toll is 32 bits in the record and the dedup state: a larger figure is no count of
    /// people, and never wraps into a small one.
    #[test]
    fn a_figure_beyond_32_bits_is_no_toll() {
        assert_eq!(tolls("Officials said 4294967295 people were killed."), (Some(u32::MAX), None));
        for text in ["Officials said 5000000000 people were killed.", "Officials said 4294967296 people were killed."] {
            let (dead, _) = tolls(text);
            assert!(dead.is_none_or(|n| n <= DEATHS_WITHOUT_A_NUMBER), "{text}: {dead:?}");
        }
        // A 64-bit figure saved by an earlier version restores as the largest.
        let saved: Count = serde_json::from_str(r#"{"best":5000000000,"low":7,"high":5000000000}"#).unwrap();
        assert_eq!(saved, Count { best: u32::MAX, low: 7, high: u32::MAX });
        assert!(serde_json::from_str::<Count>(r#"{"best":-1,"low":0,"high":0}"#).is_err());
    }

    #[test]
    fn counts_tied_to_casualty_words() {
        let c = casualties(
            "The raids targeted machinery, destroying three machines, killing two people and wounding seven others.",
        );
        assert_eq!((c.fatalities, c.injured), (Some(Count::exact(2)), Some(Count::exact(7))));
        let c = casualties(
            "22 militiamen of the Iraqi Hezbollah, mostly of the Iraqi Hezbollah, were killed in the US aerial attacks.",
        );
        assert_eq!(c.fatalities, Some(Count::exact(22)));
        let c = casualties("which resulted in the destruction of the shipment and the death of four militiamen.");
        assert_eq!(c.fatalities, Some(Count::exact(4)));
        let c =
            casualties("Targeting 27 positions | 23 members, including nine Syrians, killed in American airstrikes");
        assert_eq!(c.fatalities, Some(Count::exact(23)));
    }

    #[test]
    fn coordinated_counts_add_up() {
        assert_eq!(tolls("Two soldiers and three civilians were killed in the attack.").0, Some(5));
        assert_eq!(tolls("The shelling killed two soldiers and three civilians.").0, Some(5));
        assert_eq!(tolls("Gunmen killed 3 and wounded 5 in the market."), (Some(3), Some(5)));
        assert_eq!(tolls("Four people were killed and 12 people were wounded in the blast."), (Some(4), Some(12)));
    }

    #[test]
    fn singular_nouns_count_one() {
        assert_eq!(tolls("A landmine went off, killing a shepherd.").0, Some(1));
        assert_eq!(tolls("A civilian was killed by sniper fire.").0, Some(1));
        assert_eq!(tolls("One member of the officer's family was killed and six injured."), (Some(1), Some(6)));
    }

    #[test]
    fn revised_tolls() {
        let c = casualties(
            "The number of deaths due to American airstrikes on positions in Deir Ezzor has increased to 23 members.",
        );
        assert_eq!((c.fatalities, c.revised), (Some(Count::exact(23)), true));
    }

    #[test]
    fn numbers_that_are_not_casualties() {
        for text in [
            "Iran has at least 20,000 Syrian and non-Syrian fighters spread over a geographic area.",
            "According to SOHR sources, the missiles, whose number reached 56, were brought in to Syria.",
            "Al-Mayadeen area, which is located 14 kilometres away from the US base.",
            "There are currently around 400 Iraqi Hezbollah fighters present in the Akashat area.",
            "It is worth noting that attack, which took place at 01:00 am Syria time, destroyed three trucks.",
            "The strikes targeted 27 positions.",
            "Soldiers were killed in clashes with 300 fighters.",
        ] {
            let c = casualties(text);
            assert_eq!((c.fatalities, c.injured), (None, None), "{text}");
        }
    }

    #[test]
    fn french_and_ranges_and_negations() {
        let c = casualties("Les frappes ont fait 22 morts et une dizaine de blessés.");
        assert_eq!(c.fatalities, Some(Count::exact(22)));
        assert_eq!(c.injured, Some(Count::exact(10)));
        let c = casualties("Between 10 and 15 people were killed.");
        assert_eq!(c.fatalities, Some(Count { best: 10, low: 10, high: 15 }));
        let c = casualties("The clashes killed between 2 and 4 fighters.");
        assert_eq!(c.fatalities, Some(Count { best: 2, low: 2, high: 4 }));
        let c = casualties("The strike caused no casualties.");
        assert_eq!(c.fatalities, Some(Count::exact(0)));
        let c = casualties("Il n'y a encore aucune information sur l'ampleur des pertes humaines.");
        assert!(c.unknown && c.fatalities.is_none());
    }

    #[test]
    fn determiners() {
        let t = "Gunmen shot a 25-year-old man.";
        assert!(determiner_before(t, t.find("man").unwrap()).is_some());
        let t = "the leader of a group of men";
        assert!(determiner_before(t, t.find("men").unwrap()).is_none());
        assert!(singular("civilian") && singular("femme") && !singular("civilians") && !singular("people"));
        assert!(singular("Man") && !singular("CORPSES") && singular("Corps") && singular("ŒUF") && !singular("ÉTATS"));
    }

    /// [`Phrases`] finds each phrase with a search that resumes after each match: it sees every
    /// one only while no two can overlap.
    #[test]
    fn the_phrases_never_overlap() {
        let phrases: Vec<&str> = BESIDES.iter().copied().chain(["across"]).collect();
        for a in &phrases {
            for b in &phrases {
                assert!(a == b || !a.contains(b), "{a:?} holds {b:?}");
                // A suffix of `a` that begins `b` (a proper one when they are the same phrase).
                let longest = if a == b { a.len() - 1 } else { a.len().min(b.len()) };
                for k in 1..=longest {
                    assert!(!a[a.len() - k..].eq_ignore_ascii_case(&b[..k]), "{a:?} ends with the start of {b:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The bounded count reads as many words as a split would find, whatever the script.
        #[test]
        fn at_most_words_counts_as_a_split(text in "[a-zA-Zé1 ,.'\\-ـق١\u{300}]{0,60}", max in 0usize..8) {
            let split = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count();
            proptest::prop_assert_eq!(at_most_words(&text, max), text.len() <= (max + 1) * 48 && split <= max);
        }
    }
}
