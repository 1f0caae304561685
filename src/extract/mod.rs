//! Event extraction: from an article's tags to candidate events, one per event the article
//! reports.
//!
//! The unit is the sentence ([`sentences`]). A sentence with an event trigger makes a
//! candidate:
//! - **type**: the trigger of the most violent family in the sentence; a generic one
//!   ("targeted", "strikes") is refined by the weapon named (drone/aircraft → air strike,
//!   missile/rocket/artillery → shelling, explosive → IED) or by an air force as its actor;
//!   a denial ("denied") or an intention before the trigger ("intended to") makes none;
//! - **location**: the most specific place of the sentence (the first after the trigger, else
//!   the last before), else the last place of the paragraph, else the article's dominant
//!   place; `geo_precision` 1 for a town, 2 for "near"/an area/a district or a place taken
//!   from the paragraph, 3 for a governorate, a country or the article-wide fallback;
//! - **date**: the sentence's own date, else the last date of this or the previous paragraph,
//!   else, for violent events only, the publication date at week precision (news reports
//!   recent violence); a strategic development with no date near it is not reported ("at
//!   least four shipments in less than a month" is a summary, not an event);
//! - **actors** with roles: next to the trigger or after "by" is the actor ("US strikes",
//!   "bombardements israéliens", "targeted by American aircraft"); after the trigger or after
//!   "on"/"against" is the target; before it, victims of a casualty word are targets;
//! - **casualties** ([`casualties`]), **weapons**, a **confidence**, and the sentence as
//!   evidence.
//!
//! A sentence with no trigger word makes a candidate through a construction of its own
//! ([`Extractor::event_without_a_trigger`]): fire counted by the round ([`fire`]), a split phrase
//! of a strategic development ([`split_phrases`]), people gathered to demand something; or
//! through its toll when it names a doer ("a sniper killed a soldier").
//!
//! Candidates of one article that describe one event (same family, compatible dates, places
//! in one governorate, compatible actors) are merged into one, whose location is the most
//! specific place when its places share a district, else their governorate.
//!
//! Pure: the publication date is a parameter, nothing reads a clock.

pub mod casualties;
pub mod dates;
mod finder;
pub mod fire;
pub mod sentences;
pub mod split_phrases;

use std::sync::{Arc, LazyLock};

use finder::Finder;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dictionary::gazetteer::km;
use crate::dictionary::requirements::UNIDENTIFIED_ACTOR;
use crate::dictionary::{
    CueKind, DatePrecision, Detail, Dictionary, EntryId, EntryKind, Lang, NegationKind, PlaceLevel, WeaponCategory,
};
use crate::normalize::with_lowercase;
use crate::tag::Tag;
use casualties::{Casualties, at_most_words};
use dates::ResolvedDate;
use sentences::Sentence;

/// An actor's part in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Actor,
    Target,
    Unknown,
}

/// A place as the text names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceMention {
    pub entry: EntryId,
    pub start: usize,
    pub end: usize,
}

/// An event as one article reports it. Serializable: the service's articles stage sends the
/// candidates it extracted to the dedup stage (entry ids and event types are indices into the
/// dictionary, so both ends must serve the same dictionary version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Index into [`Dictionary::event_types`].
    pub event_type: u16,
    /// The type is a generic one the sentence could not refine.
    pub generic: bool,
    pub date: ResolvedDate,
    /// The date is written in the event's own sentence (not inherited or assumed).
    pub date_explicit: bool,
    pub location: Option<PlaceMention>,
    pub geo_precision: u8,
    /// Every place the event's sentences name.
    pub places: Vec<PlaceMention>,
    pub actors: Vec<(EntryId, Role)>,
    pub casualties: Casualties,
    pub weapons: Vec<EntryId>,
    pub confidence: f32,
    /// The first sentence reporting it: `text[start..end]`.
    pub evidence: (usize, usize),
    pub paragraph: u32,
    /// Its trigger refers to an event already told ("the attack", "les frappes"): it merges
    /// with that event whoever the sentence names as actors.
    pub reference: bool,
    /// The location of each sentence merged into it.
    pub located: Vec<PlaceMention>,
    /// What its sentences tell of a demonstration.
    pub signals: Signals,
    /// Its type is the fallback of a ground word that names no weapon ("attacked": an armed
    /// clash): a specific type told of the same event in another sentence replaces it.
    pub fallback: bool,
    /// Its sentence names a place the gazetteer lacks inside the area of `location`: no
    /// other sentence's town replaces it.
    pub pinned: bool,
    /// A place the sentence names that the gazetteer lacks, inside the location ("in
    /// Iztacalco, Mexico City", "near Krymske, Luhansk"): byte offsets of its name.
    pub locality: Option<(usize, usize)>,
}

/// What extraction needs to know about the article.
#[derive(Debug, Clone, Copy)]
pub struct ArticleContext<'a> {
    pub text: &'a str,
    /// Tags in text order ([`crate::tag::Tagger::tag`]).
    pub tags: &'a [Tag],
    pub language: Lang,
    /// Relative dates resolve against it; without it only dates with a year do.
    pub published: Option<NaiveDate>,
}

/// Counts of what extraction dropped, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractStats {
    pub sentences: usize,
    pub candidates: usize,
    /// Trigger sentences without any date to give the event.
    pub undated: usize,
    /// Trigger sentences negated ("denied") or about intentions ("plans to").
    pub negated: usize,
}

/// A toll read from a sentence with no event, waiting for the event its paragraph tells next.
struct PendingToll {
    toll: Casualties,
    paragraph: u32,
    /// Index of the sentence it was read from.
    sentence: usize,
    dates: Vec<(usize, ResolvedDate)>,
    last_date: Option<(ResolvedDate, u32)>,
}

/// Extracts candidate events. Holds the dictionary and the taxonomy codes it refines to.
#[derive(Debug, Clone)]
pub struct Extractor {
    dict: Arc<Dictionary>,
    air_strike: u16,
    shelling: u16,
    ied: u16,
    grenade: Option<u16>,
    armed_clash: Option<u16>,
    attack_on_civilians: Option<u16>,
    protests: ProtestTypes,
    seizures: Seizures,
}

/// What a seizing verb ("seized", "captured", "s'est emparé de") is coded as, by what was
/// seized: a place is territory taken, people an abduction, weapons a disrupted weapons use,
/// anything else (a vehicle, goods, land) looting or property seizure (ACLED's codebook).
#[derive(Debug, Clone, Copy)]
struct Seizures {
    territory: u16,
    people: u16,
    weapons: Option<u16>,
    things: u16,
}

/// The protest and riot sub-types a demonstration is coded with, by what the text tells of it
/// (ACLED's codebook): violence by the demonstrators makes a violent demonstration; lethal or
/// injuring force against peaceful demonstrators, excessive force; authorities dispersing or
/// arresting them, a protest with intervention; else a peaceful protest. Absent from a
/// dictionary that lacks the codes: such a dictionary keeps its triggers' types.
#[derive(Debug, Clone, Copy)]
struct ProtestTypes {
    peaceful: u16,
    intervention: u16,
    excessive_force: u16,
    violent: u16,
    mob: Option<u16>,
}

/// The people on each side of a trigger ([`Extractor::sides`]).
#[derive(Debug, Clone, Copy, Default)]
struct Sides {
    doer_civilian: bool,
    /// The doer is a crowd of civilians: a plural noun of people ("locals", "villagers", "300
    /// people"), not one person ("a man").
    doer_crowd: bool,
    target_civilian: bool,
    target_armed: bool,
}

/// What a sentence tells of a demonstration besides its trigger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// Demonstrators are named ("protesters", "demonstrators", "a protest").
    pub protest: bool,
    /// Authorities intervened: "dispersed", "tear gas".
    pub intervention: bool,
    /// Demonstrators or a crowd used violence: "threw stones", "set fire to".
    pub rioting: bool,
}

impl Signals {
    fn union(self, o: Signals) -> Signals {
        Signals {
            protest: self.protest || o.protest,
            intervention: self.intervention || o.intervention,
            rioting: self.rioting || o.rioting,
        }
    }
}

/// Event families from the most violent: a sentence with triggers of several families is an
/// event of the first ("US strikes on a weapons shipment" is a strike). Every loaded event type
/// has one of them.
const FAMILY_ORDER: [&str; 8] = crate::dictionary::requirements::FAMILIES;

/// How far from a governorate's point a town named with it may lie and still be taken as in it.
const GOVERNORATE_REACH_KM: f64 = 150.0;

/// Population from which a town is a city that names a wider area as much as itself.
const BIG_CITY: u64 = 150_000;

/// Actors whose strikes without a named weapon are air strikes.
const AIR_FORCES: [&str; 4] =
    ["actor:us_led_coalition", "actor:israeli_forces", "actor:russian_forces", "actor:turkish_forces"];

impl Extractor {
    /// # Errors
    /// None on a loaded dictionary: loading checks that the taxonomy has every code extraction
    /// names ([`crate::dictionary::requirements`]). The `Result` is kept for the callers.
    pub fn new(dict: Arc<Dictionary>) -> Result<Extractor, String> {
        let t = *dict.required_types();
        Ok(Extractor {
            air_strike: t.air_strike,
            shelling: t.shelling,
            ied: t.ied,
            grenade: Some(t.grenade),
            armed_clash: Some(t.armed_clash),
            attack_on_civilians: Some(t.attack_on_civilians),
            protests: ProtestTypes {
                peaceful: t.peaceful_protest,
                intervention: t.protest_with_intervention,
                excessive_force: t.excessive_force_against_protesters,
                violent: t.violent_demonstration,
                mob: Some(t.mob_violence),
            },
            seizures: Seizures {
                territory: t.territory_taken,
                people: t.abduction,
                weapons: dict.event_type_by_code("disrupted_weapons_use"),
                things: t.looting,
            },
            dict,
        })
    }

    pub fn dictionary(&self) -> &Arc<Dictionary> {
        &self.dict
    }

    /// The candidate events of one article, merged per event, in order of first mention.
    pub fn extract(&self, article: &ArticleContext<'_>, out: &mut Vec<Candidate>) -> ExtractStats {
        let mut sentences = Vec::new();
        let stats = self.extract_sentences(article, &mut sentences);
        let first = out.len();
        for candidate in sentences {
            merge_into_article(&self.dict, candidate, out, first);
        }
        for c in &mut out[first..] {
            self.settle_location(c);
            self.settle_protest(c);
        }
        stats
    }

    /// One candidate per trigger sentence, before merging (for inspection and tests).
    pub fn extract_sentences(&self, article: &ArticleContext<'_>, out: &mut Vec<Candidate>) -> ExtractStats {
        let mut stats = ExtractStats::default();
        let mut sentences = Vec::new();
        sentences::split(article.text, &mut sentences);
        stats.sentences = sentences.len();
        let dominant = self.dominant_place(article.tags);
        // Every non-country place of each paragraph, for sentences that name none.
        let mut paragraph_places: Vec<Vec<PlaceMention>> = Vec::new();
        {
            let mut cursor = 0;
            for sentence in &sentences {
                while paragraph_places.len() <= sentence.paragraph as usize {
                    paragraph_places.push(Vec::new());
                }
                while cursor < article.tags.len() && article.tags[cursor].start < sentence.end {
                    let t = &article.tags[cursor];
                    if t.start >= sentence.start
                        && let Some(p) = self.place_mention(t).filter(|p| !self.is_country(p.entry))
                    {
                        paragraph_places[sentence.paragraph as usize].push(p);
                    }
                    cursor += 1;
                }
            }
        }

        let mut cursor = 0;
        let first = out.len();
        // A toll told before its event in the same paragraph ("Four people were killed. Gunmen
        // attacked ..."): the sentence it was read from, its dates and the last date then.
        let mut pending_toll: Option<PendingToll> = None;
        let mut previous_date: Option<NaiveDate> = None;
        // The last date and place seen, with their paragraph.
        let mut last_date: Option<(ResolvedDate, u32)> = None;
        // A sentence's tags, in a list kept from one sentence to the next.
        let mut tags: Vec<&Tag> = Vec::new();
        for (index, sentence) in sentences.iter().enumerate() {
            if pending_toll.as_ref().is_some_and(|p| p.paragraph != sentence.paragraph)
                && let Some(p) = pending_toll.take()
            {
                self.unclaimed_toll(article, &sentences, p, &paragraph_places, dominant, out, &mut stats);
            }
            while cursor < article.tags.len() && article.tags[cursor].start < sentence.start {
                cursor += 1;
            }
            let end = cursor + article.tags[cursor..].partition_point(|t| t.start < sentence.end);
            tags.clear();
            tags.extend(&article.tags[cursor..end]);
            cursor = end;

            // Dates of this sentence, resolved in order ("a day earlier" follows the last).
            let mut sentence_dates: Vec<(usize, ResolvedDate)> = Vec::new();
            if let Some(published) = article.published {
                for t in tags.iter().filter(|t| t.kind == EntryKind::Date) {
                    if let Some(r) = t.date().and_then(|v| dates::resolve(v, published, previous_date)) {
                        previous_date = Some(r.date);
                        sentence_dates.push((t.start, r));
                    }
                }
            } else {
                for t in tags.iter().filter(|t| t.kind == EntryKind::Date) {
                    if let Some(v) = t.date().filter(|v| v.year.is_some())
                        && let Some(r) = dates::resolve(v, NaiveDate::MAX, None)
                    {
                        sentence_dates.push((t.start, r));
                    }
                }
            }

            // A candidate with no trigger word, of the type a construction gives it.
            let implicit_event = |implicit: u16| {
                let around = &paragraph_places[sentence.paragraph as usize];
                self.candidate(article, sentence, &tags, &sentence_dates, last_date, around, dominant, Some(implicit))
            };
            let summary = self.tells_of_a_period(article.text, &tags);
            if summary {
                // "Since 2011, more than 500,000 people have been killed": a sum, not an event.
                if tags.iter().any(|t| trigger_type(&self.dict, t).is_some() || t.kind == EntryKind::Casualty) {
                    stats.negated += 1;
                }
            } else if out.len() > first && self.background(article.published, &sentence_dates) {
                // "Sternenko stabbed a man in self-defence ... on 24 May 2018.": after the
                // article's own event, a sentence dated years before it is background.
                if tags.iter().any(|t| trigger_type(&self.dict, t).is_some()) {
                    stats.negated += 1;
                }
            } else if tags.iter().any(|t| trigger_type(&self.dict, t).is_some()) {
                let around = &paragraph_places[sentence.paragraph as usize];
                match self.candidate(article, sentence, &tags, &sentence_dates, last_date, around, dominant, None) {
                    Ok(mut candidate) => {
                        stats.candidates += 1;
                        if let Some(pending) = pending_toll.take() {
                            candidate.casualties = merge_casualties(pending.toll, candidate.casualties);
                        }
                        if let Some(protest) = out[first..].last_mut().filter(|p| {
                            self.arrests_at_the_protest(p, &candidate) && self.arrests_of_a_crowd(article.text, &tags)
                        }) {
                            // "Around 40 people protested in Gomel. Around 20 were arrested by
                            // the police.": the arrests are how the protest was stopped.
                            protest.signals.intervention = true;
                        } else {
                            out.push(candidate);
                        }
                    }
                    Err(Skip::Undated) => stats.undated += 1,
                    Err(Skip::Negated) => stats.negated += 1,
                }
            } else if let Some(implicit) = self.event_without_a_trigger(article.text, sentence, &tags) {
                record(implicit_event(implicit), out, &mut stats);
            } else if tags.iter().any(|t| matches!(t.kind, EntryKind::Casualty | EntryKind::Cue | EntryKind::Negation))
            {
                // A toll in a sentence of its own ("Eight people were killed and 10 injured in
                // this attack.", "No fatalities were reported."), or what became of a
                // demonstration ("Police dispersed them with tear gas."): it belongs to the event
                // just told in this paragraph or the one before, else (a toll) to the next one
                // told in this paragraph.
                let toll = casualties::read(&self.dict, article.text, sentence.start..sentence.end, &tags);
                let signals = self.signals(article.text, &tags);
                let previous = out[first..].last_mut().filter(|c| c.paragraph + 1 >= sentence.paragraph);
                match previous {
                    Some(c) => {
                        if !toll.is_empty() {
                            c.casualties = merge_casualties(c.casualties, toll);
                        }
                        c.signals = c.signals.union(signals);
                    }
                    // With its own doer or weapon ("a Turkish drone killed three fighters",
                    // "a sniper killed a soldier") it is an event of its own.
                    None if toll.harmed() && self.names_a_doer(article.text, &tags) => {
                        record(implicit_event(self.dict.required_types().attack), out, &mut stats);
                    }
                    None if !toll.is_empty() => {
                        let dates = sentence_dates.clone();
                        pending_toll = Some(PendingToll {
                            toll,
                            paragraph: sentence.paragraph,
                            sentence: index,
                            dates,
                            last_date,
                        });
                    }
                    None => {}
                }
            }

            if let Some(&(_, d)) = sentence_dates.last() {
                last_date = Some((d, sentence.paragraph));
            }
        }
        if let Some(p) = pending_toll.take() {
            self.unclaimed_toll(article, &sentences, p, &paragraph_places, dominant, out, &mut stats);
        }
        stats
    }

    /// Whether an event type is a demonstration: of the protest or riot family, but not mob
    /// violence (a crowd outside any demonstration).
    fn is_demonstration(&self, event_type: u16) -> bool {
        let family = self.dict.event_type(event_type).family.as_str();
        (family == "protest" || family == "riot") && Some(event_type) != self.protests.mob
    }

    /// Whether `arrests` tells how the demonstration `protest`, told just before in the same
    /// paragraph, was stopped: an arrests event of the same day (or of no date of its own) and
    /// place (or of no place of its own). ACLED codes the demonstration a protest with
    /// intervention, with no arrests event.
    fn arrests_at_the_protest(&self, protest: &Candidate, arrests: &Candidate) -> bool {
        self.is_demonstration(protest.event_type)
            && arrests.event_type == self.dict.required_types().arrests
            && arrests.paragraph == protest.paragraph
            && (!arrests.date_explicit || arrests.date.date == protest.date.date)
            && arrests.location.is_none_or(|a| protest.places.iter().any(|p| p.entry == a.entry))
    }

    /// Whether an arrests sentence tells of many arrested, as of a crowd: demonstrators named
    /// ("arrested demonstrators") or a number of people ("around 20 people were arrested") —
    /// not one person, who may be the arrest the protest was about ("He was arrested in March").
    fn arrests_of_a_crowd(&self, text: &str, tags: &[&Tag]) -> bool {
        let people = |t: &Tag| {
            matches!(
                t.entry.map(|e| &self.dict.entry(e).detail),
                Some(Detail::Cue(CueKind::Person | CueKind::StateForce | CueKind::Civilian))
            )
        };
        // The people of a demonstration ("protesters", "demonstrators", "manifestants"), not the
        // demonstration itself ("arrested right after the protest").
        let demonstrators = |t: &Tag| {
            with_lowercase(text[t.start..t.end].rsplit(' ').next().unwrap_or(""), |head| {
                ["ers", "ors", "ants"].iter().any(|s| head.ends_with(s))
            })
        };
        tags.iter().any(|t| demonstrators(t) && trigger_type(&self.dict, t).is_some_and(|i| self.is_demonstration(i)))
            || tags.iter().enumerate().any(|(i, t)| {
                t.number().is_some_and(|n| n.value > 1.0)
                    && tags[i + 1..].iter().take_while(|p| at_most_words(&text[t.end..p.start], 3)).any(|p| people(p))
            })
    }

    /// A toll no event of its paragraph claimed ("... encountered militants, in which four
    /// militants were killed"; "Two persons were killed by a gang"): people were killed, so it is
    /// an event of its own: a ground attack when armed men are named, else an attack on civilians,
    /// which the victims refine like a toll with its doer named.
    #[allow(clippy::too_many_arguments)]
    fn unclaimed_toll(
        &self,
        article: &ArticleContext<'_>,
        sentences: &[Sentence],
        pending: PendingToll,
        paragraph_places: &[Vec<PlaceMention>],
        dominant: Option<PlaceMention>,
        out: &mut Vec<Candidate>,
        stats: &mut ExtractStats,
    ) {
        if !pending.toll.harmed() {
            return;
        }
        let sentence = &sentences[pending.sentence];
        let from = article.tags.partition_point(|t| t.start < sentence.start);
        let to = article.tags.partition_point(|t| t.start < sentence.end);
        let tags: Vec<&Tag> = article.tags[from..to].iter().collect();
        if self.no_ones_doing(&tags) {
            return;
        }
        let around = &paragraph_places[sentence.paragraph as usize];
        // No armed man in the sentence ("the body of a man was found", "two persons were
        // killed"): by ACLED's codebook, violence against civilians.
        let required = self.dict.required_types();
        let implicit = Some(if self.names_armed_men(&tags) { required.attack } else { required.attack_on_civilians });
        let made =
            self.candidate(article, sentence, &tags, &pending.dates, pending.last_date, around, dominant, implicit);
        record(made, out, stats);
    }

    /// Whether a sentence names armed men: an actor that is not civilians, or a noun of fighters
    /// ("militants", "soldiers", "police").
    fn names_armed_men(&self, tags: &[&Tag]) -> bool {
        tags.iter().any(|t| match t.entry.map(|e| &self.dict.entry(e).detail) {
            Some(Detail::Actor(a)) => a.actor_type != "civilians",
            Some(Detail::Cue(CueKind::Person | CueKind::StateForce)) => true,
            _ => false,
        })
    }

    /// Whether a sentence names armed men outside the state's forces: an organised actor that is
    /// neither civilians nor state forces, or a noun of fighters ("militants", "gunmen"; not the
    /// neutral "members", "others").
    fn names_non_state_armed_men(&self, text: &str, tags: &[&Tag]) -> bool {
        tags.iter().any(|t| match t.entry.map(|e| &self.dict.entry(e).detail) {
            Some(Detail::Actor(a)) => a.actor_type != "civilians" && a.actor_type != "state_forces",
            Some(Detail::Cue(CueKind::Person)) => !is_neutral_person(&text[t.start..t.end]),
            // "armed individuals", "armed youth"
            Some(Detail::Cue(CueKind::Civilian)) => said_armed(text, t),
            _ => false,
        })
    }

    /// Whether the people a clash trigger names as its sides include civilians: those after
    /// "between", "with" or "against" right after it ("a clash between two farmer groups",
    /// "clashed with residents"), and, for an active trigger, the subject before it ("Indian
    /// nationals clashed with police"). Not the people a passive clause names ("a civilian was
    /// killed in clashes": a victim, not a side).
    fn clash_side_civilian(&self, text: &str, tags: &[&Tag], trigger: &Tag) -> bool {
        const LINKS: [&str; 6] = ["between", "with", "against", "entre", "avec", "contre"];
        if fought_with_arms(text, trigger) {
            return false;
        }
        let civilian = |t: &Tag| {
            let noun = match t.entry.map(|e| &self.dict.entry(e).detail) {
                Some(Detail::Cue(CueKind::Civilian)) => !said_armed(text, t),
                Some(Detail::Cue(CueKind::Person)) => member_of_a_civil_body(text, t),
                Some(Detail::Actor(a)) => a.actor_type == "civilians",
                _ => false,
            };
            // A capitalised noun inside the sentence is part of a name ("National Resistance
            // forces"), not a crowd.
            let capitalised = text[t.start..].chars().next().is_some_and(char::is_uppercase);
            noun && !(capitalised
                && !last_words(&text[..t.start], 1).is_empty()
                && !text[..t.start].trim_end().ends_with('.'))
        };
        let at = tags.iter().position(|t| t.start == trigger.start).unwrap_or(0);
        let window = &text[trigger.end..window_after(text, trigger.end, 40)];
        let linked = window
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(3)
            .position(|w| LINKS.iter().any(|l| l.eq_ignore_ascii_case(w)));
        let after = linked.is_some()
            && tags[at + 1..].iter().take_while(|t| at_most_words(&text[trigger.end..t.start], 8)).any(|t| civilian(t));
        let before = !is_passive(text, trigger)
            && !in_prepositional_phrase(text, trigger)
            && tags[..at]
                .iter()
                .rev()
                .take_while(|t| at_most_words(&text[t.end..trigger.start], 6))
                .any(|t| civilian(t));
        after || before
    }

    #[allow(clippy::too_many_arguments)]
    fn candidate(
        &self,
        article: &ArticleContext<'_>,
        sentence: &Sentence,
        tags: &[&Tag],
        sentence_dates: &[(usize, ResolvedDate)],
        last_date: Option<(ResolvedDate, u32)>,
        paragraph_places: &[PlaceMention],
        dominant: Option<PlaceMention>,
        implicit: Option<u16>,
    ) -> Result<Candidate, Skip> {
        let dict = &*self.dict;
        let text = article.text;
        let detail = |t: &Tag| t.entry.map(|e| &dict.entry(e).detail);
        let cue = |t: &Tag, kind: CueKind| matches!(detail(t), Some(Detail::Cue(k)) if *k == kind);

        // The trigger: not a mere time reference to another event ("after the attack") when
        // the sentence has another; then the most violent family, then a new event before one
        // already told ("the attack"), then a specific type over a generic one.
        let mut triggers: Vec<(&Tag, u16)> =
            tags.iter().filter_map(|t| trigger_type(dict, t).map(|i| (*t, i))).collect();
        // A killing told with no word for the act ("a sniper killed a soldier"): the casualty
        // word stands for a ground attack, which the weapon or the victims refine.
        // Fire counted by the round with no word for the act ("observed 12 shots involving
        // small arms near X"): the count stands for the trigger.
        let fire = fire::counted(text, sentence.start..sentence.end, tags);
        let implicit_trigger = triggers.is_empty() && implicit.is_some();
        // A split phrase ("declared a coronavirus lockdown") has no tag of its own: its span
        // stands for one.
        let split: Option<Tag> = implicit_trigger
            .then(|| split_phrases::find(&text[sentence.start..sentence.end]))
            .flatten()
            .map(|((start, end), _)| Tag {
                kind: EntryKind::EventType,
                start: sentence.start + start,
                end: sentence.start + end,
                entry: None,
                alias: None,
                value: crate::tag::TagValue::None,
            });
        if triggers.is_empty()
            && let Some(i) = implicit
            && let Some(word) = tags
                .iter()
                .find(|t| t.kind == EntryKind::Casualty)
                .or_else(|| fire.and_then(|f| tags.iter().find(|t| t.kind == EntryKind::Number && t.start == f.span.0)))
                .or_else(|| tags.iter().find(|t| cue(t, CueKind::Gathering) || cue(t, CueKind::Rioting)))
                .copied()
                .or(split.as_ref())
        {
            triggers.push((word, i));
        }
        // "after the attack": a timing word in the trigger's own clause ("since 2019, a car
        // bomb" is not one).
        let timing = |t: &Tag| {
            let window = &text[sentence.start.max(window_before(text, t.start, 60))..t.start];
            let clause = window.rfind([',', ';', ':']).map_or(window, |p| &window[p + 1..]);
            last_words(clause, 4).iter().any(|w| {
                ["after", "following", "since", "before", "après", "depuis", "avant"]
                    .iter()
                    .any(|x| w.eq_ignore_ascii_case(x))
            })
        };
        // A trigger after "intended to", "for fear of" tells of something not done.
        let intended = |t: &Tag| tags.iter().any(|c| cue(c, CueKind::Intention) && c.end <= t.start);
        let triggers: Vec<(&Tag, u16)> = triggers.into_iter().filter(|(t, _)| !intended(t)).collect();
        if triggers.is_empty() {
            return Err(Skip::Negated);
        }
        // "families protested against the killing of", "a demonstration in remembrance of
        // activists who had been executed": violence a demonstration is about is no event of
        // the sentence when the demonstration is one.
        let demonstration = |i: u16| self.is_demonstration(i);
        // So is a demonstration told as the cause of another ("a demonstration against the
        // detention of activists during recent riots").
        let has_demonstration = triggers.iter().any(|(_, i)| demonstration(*i));
        let cause = |t: &Tag| told_as_cause(text, sentence.start, t);
        let any_not_cause = has_demonstration && triggers.iter().any(|(t, _)| !cause(t));
        let triggers: Vec<(&Tag, u16)> = triggers
            .into_iter()
            .filter(|(t, i)| !(has_demonstration && (!demonstration(*i) || any_not_cause) && cause(t)))
            .collect();
        // An explosive defused, intercepted, recovered or gone off in its planters' hands ("defused
        // five IEDs", "recovered four IEDs", "a timed IED was found", "landmines they were planting
        // exploded prematurely", "a landmine left over from the war") is a disrupted weapons use
        // (ACLED), not an explosion: the disrupting word decides for every explosive of the sentence.
        let triggers = match self.seizures.weapons {
            Some(disrupted) => {
                let remote = |i: u16| dict.event_type(i).family == "remote_violence";
                // "attempted to defuse a device" that then went off is no disruption.
                let tried = |t: &Tag| {
                    let before = last_words(&text[..t.start], 2);
                    before.iter().any(|w| {
                        ["attempted", "tried", "trying", "attempting", "while"]
                            .iter()
                            .any(|x| x.eq_ignore_ascii_case(w))
                    })
                };
                let disrupting =
                    triggers.iter().any(|(t, i)| *i == disrupted && !tried(t) || remote(*i) && recovered(text, t));
                triggers.into_iter().map(|(t, i)| (t, if disrupting && remote(i) { disrupted } else { i })).collect()
            }
            None => triggers,
        };
        let all_timing = triggers.iter().all(|(t, _)| timing(t));
        // A generic word nothing in the sentence refines ("raid" with no weapon) gives way to a
        // specific one of any family ("arrested").
        let sentence_weapons: Vec<EntryId> =
            tags.iter().filter(|t| t.kind == EntryKind::Weapon).filter_map(|t| t.entry).collect();
        let vague = |i: u16| {
            dict.event_type(i).refine_by_weapon
                && self
                    .refine_generic_by(i, &sentence_weapons, &[], Sides::default(), false)
                    .is_none_or(|(_, by_fallback)| by_fallback)
        };
        // Remote violence told within a battle ("a clash involving heavy artillery fire", "clashed
        // with heavy artillery fire") is the battle (ACLED codebook): a specific battle word goes
        // before the remote violence family.
        // The chosen trigger's key holds whether it refers to an event told before: read once.
        let ((_, _, trigger_is_reference, _, _), (trigger, mut event_type)) = triggers
            .iter()
            .filter(|(t, _)| all_timing || !timing(t))
            .map(|&(t, i)| {
                let ty = dict.event_type(i);
                let family = if ty.family == "battle" && !ty.refine_by_weapon {
                    0
                } else {
                    FAMILY_ORDER.iter().position(|f| *f == ty.family).unwrap_or(FAMILY_ORDER.len())
                };
                ((vague(i), family, is_reference(text, t), ty.refine_by_weapon, t.start), (t, i))
            })
            .min_by_key(|(key, _)| *key)
            .expect("the sentence has a trigger");
        let reference = trigger_is_reference || names_the_doers_again(&text[sentence.start..sentence.end]);
        if tags
            .iter()
            .any(|t| matches!(detail(t), Some(Detail::Negation(NegationKind::Denial))) && denies_an_event(text, t))
        {
            return Err(Skip::Negated);
        }

        let weapons: Vec<EntryId> = dedup(tags.iter().filter(|t| t.kind == EntryKind::Weapon).filter_map(|t| t.entry));
        let actors = self.roles(text, tags, trigger, article.language);
        // The people on each side of the trigger, read once for the rules below that ask.
        let sides_read = std::cell::OnceCell::new();
        let sides = || *sides_read.get_or_init(|| self.sides(text, tags, trigger));
        let mut generic = dict.event_type(event_type).refine_by_weapon;
        let mut fallback = false;
        if generic {
            // A mention of an event told before ("killed across the three attacks") has no
            // doer or target of its own around it.
            let sides = if reference { Sides::default() } else { sides() };
            if let Some((t, by_fallback)) =
                self.refine_generic_by(event_type, &weapons, &actors, sides, is_fire_verb(text, trigger))
            {
                event_type = t;
                generic = false;
                fallback = by_fallback;
            }
        }
        // A generic word that nothing in its sentence makes an event of ("the church feels
        // unfairly targeted by this law"): no weapon, no place, no one harmed, no actor.
        if generic
            && !tags.iter().any(|t| {
                matches!(t.kind, EntryKind::Place | EntryKind::Casualty | EntryKind::Actor | EntryKind::Weapon)
            })
        {
            return Err(Skip::Negated);
        }
        // "seized a vehicle", "captured two soldiers": a seizing verb takes territory only when
        // what it seizes is a place.
        if event_type == self.seizures.territory {
            event_type = self.what_was_seized(text, sentence, tags, trigger).unwrap_or(event_type);
        }
        // Demonstrators who fight ("rioters ... blocked roads and clashed with the army",
        // "protesters attacked the police") make the demonstration violent: the violence is the
        // riot's (ACLED: violence during a riot is the riot).
        if matches!(dict.event_type(event_type).family.as_str(), "battle" | "violence_against_civilians")
            && let Some(&(_, riot)) = triggers.iter().find(|(t, i)| {
                self.is_demonstration(*i) && t.start < trigger.start && names_demonstrators(&text[t.start..t.end])
            })
        {
            event_type = riot;
        }
        // Violence whose victims are armed ("a soldier was shot", "gunmen shot at a police
        // station") is a clash: ACLED's violence against civilians needs civilian victims.
        if Some(event_type) == self.attack_on_civilians
            && !generic
            && let Some(clash) = self.armed_clash
        {
            let sides = sides();
            if sides.target_armed && !sides.target_civilian {
                event_type = clash;
            }
        }
        // A one-sided battle word whose victims are civilians ("killed 3 civilians during an
        // incursion", "ambushed and killed 4 youths") is an attack: ACLED's armed clash needs
        // two armed sides. Two-sided words ("clashes", "fighting") stay clashes, civilians
        // caught in them included.
        if Some(event_type) == self.armed_clash
            && !generic
            && !reference
            && ONE_SIDED_BATTLE_WORDS.iter().any(|w| text[trigger.start..trigger.end].eq_ignore_ascii_case(w))
            && let Some(attack) = self.attack_on_civilians
        {
            let sides = sides();
            if sides.target_civilian && !sides.target_armed {
                event_type = attack;
            }
        }
        // Violence by an unarmed crowd ("villagers clashed with residents", "a mob beat and
        // injured a thief", "a mob clashed with police") is mob violence:
        // ACLED's armed clash needs organised armed sides, its attack an armed doer.
        if (Some(event_type) == self.armed_clash || Some(event_type) == self.attack_on_civilians)
            && !generic
            && let Some(mob) = self.protests.mob
        {
            let firearm = tags.iter().any(|t| t.kind == EntryKind::Weapon && !is_melee(dict, t));
            let armed = self.names_armed_men(tags);
            let mob_named = tags.iter().any(|t| matches!(detail(t), Some(Detail::EventType(i)) if *i == mob));
            // A crowd named as such may fight armed men ("a mob threw stones at police"); people
            // ("two men", "individuals") who attack others are not a crowd. A fight fought with
            // stones by people no armed organisation names ("two groups clashed and pelted stones
            // at each other") is a crowd's too.
            let clash = Some(event_type) == self.armed_clash;
            let organised =
                tags.iter().any(|t| matches!(detail(t), Some(Detail::Actor(a)) if a.actor_type != "civilians"));
            // Not a mention of an event told before ("killed across the three attacks"). A crowd
            // may clash with the state's forces ("residents clashed with police"): a mob, where
            // a clash with other armed men stays a clash.
            let sides = sides();
            let crowd = mob_named
                || clash && !reference && !armed && sides.doer_civilian
                // A crowd of civilians that attacks ("a thief was beaten up by locals",
                // "villagers beat up four persons"): a mob.
                || !clash && !reference && !fought_with_arms(text, trigger) && sides.doer_crowd
                // A fight with blades, sticks or stones and no firearm ("two groups clashed with
                // machetes"): fought as a crowd fights, whoever the sides are.
                || clash
                    && !reference
                    && !fought_with_arms(text, trigger)
                    && tags.iter().any(|t| t.kind == EntryKind::Weapon)
                || clash
                    && !reference
                    && !self.names_non_state_armed_men(text, tags)
                    && self.clash_side_civilian(text, tags, trigger)
                || clash && !organised && tags.iter().any(|t| cue(t, CueKind::Rioting));
            if !firearm && crowd {
                event_type = mob;
            }
        }
        // A clash one of whose sides is demonstrators ("a clash ensued between demonstrators
        // and police", "police clashed with the protesters"), with no firearm, is the
        // demonstration turned violent (ACLED: a riot, not a battle).
        if Some(event_type) == self.armed_clash
            && !reference
            && !tags.iter().any(|t| t.kind == EntryKind::Weapon && !is_melee(dict, t))
            && tags.iter().any(|t| {
                matches!(detail(t), Some(Detail::EventType(i)) if self.is_demonstration(*i))
                    && names_demonstrators(&text[t.start..t.end])
                    && (t.start >= trigger.end && at_most_words(&text[trigger.end..t.start], 6)
                        // the subject, however long its phrase ("rioters demonstrating against
                        // the exchange rate and living conditions clashed with soldiers")
                        || t.end <= trigger.start
                            && at_most_words(&text[t.end..trigger.start], 16)
                            && !text[t.end..trigger.start].contains([';', '.']))
            })
        {
            event_type = self.protests.violent;
        }
        // Aircraft that watch are not striking.
        if event_type == self.air_strike
            && generic_trigger(dict, trigger)
            && tags.iter().any(|t| cue(t, CueKind::Surveillance))
        {
            return Err(Skip::Negated);
        }

        // Date.
        let family = &dict.event_type(event_type).family;
        let own = sentence_dates.iter().min_by_key(|(at, _)| at.abs_diff(trigger.start)).map(|&(_, d)| d);
        let near = last_date.filter(|(_, p)| p + 1 >= sentence.paragraph).map(|(d, _)| d);
        let (date, date_explicit) = match (own, near, article.published) {
            (Some(d), _, _) => (d, true),
            (None, Some(d), _) => (d, false),
            // Shipments and deployments with no date near them are summaries of a period ("at
            // least four shipments in less than a month"), not events.
            (None, None, Some(published)) if !matches!(family.as_str(), "weapons_transfer" | "deployment") => {
                (ResolvedDate { date: published, precision: DatePrecision::Week }, false)
            }
            _ => return Err(Skip::Undated),
        };

        // Location: the sentence's own place; else the paragraph's, the next one first (the
        // place often follows: "... near an illegal crossing. The crossing is near Albu Kamal");
        // else the article's; else a country the sentence names.
        let places: Vec<PlaceMention> = tags
            .iter()
            .filter_map(|t| {
                let p = self.place_mention(t)?;
                // A short form of its own name ("Tuz" for "Ţūz Khūrmātū") may go on with the rest.
                let short_form = dict.entry(p.entry).name.split_whitespace().count()
                    > text[t.start..t.end].split_whitespace().count();
                (short_form || !prefix_of_an_unknown_name(text, tags, t)).then_some(p)
            })
            .map(|p| self.widen_to_countryside(text, p))
            .collect();
        let local: Vec<PlaceMention> = self.without_homonym_parts(text, self.consistent(&places));
        // "in the village of X", "in X village" with X unknown to the gazetteer: the event is
        // in the area the sentence names, never at another town of the article.
        let unknown_name = unknown_named_place(text, sentence, tags);
        let unknown_place = unknown_name.is_some();
        let from_paragraph = || {
            paragraph_places
                .iter()
                .find(|p| p.start >= sentence.end)
                .or_else(|| paragraph_places.iter().rev().find(|p| p.end <= sentence.start))
                .copied()
        };
        let locality = unknown_name.or_else(|| unknown_locality(text, sentence, tags));
        let (location, geo_precision, local_found) = match self.sentence_place(text, tags, &local, trigger) {
            // An unknown village in a known area: the area, at least "near" precision.
            Some((l, p)) if unknown_place || locality.is_some() => (l, p.max(2), true),
            Some((l, p)) => (l, p, true),
            None => match (from_paragraph(), dominant) {
                (Some(p), _) => (Some(p), self.precision(p.entry, false).max(2), true),
                (None, Some(p)) => (Some(p), 3, false),
                (None, None) => (places.first().copied(), 3, false),
            },
        };

        let mut casualties = casualties::read(dict, text, sentence.start..sentence.end, tags);
        // A demonstration about deaths ("after the death of a fellow prisoner") harmed no one
        // there, unless the sentence tells of force or violence at it.
        if demonstration(event_type)
            && !tags.iter().any(|t| cue(t, CueKind::Intervention) || cue(t, CueKind::Rioting))
            && tags.iter().filter(|t| t.kind == EntryKind::Casualty).all(|t| told_as_cause(text, sentence.start, t))
        {
            casualties = Casualties::default();
        }
        if let Some(fire) = fire
            && (implicit_trigger || trigger.start >= fire.span.0 && trigger.end <= fire.span.1)
            && let Some(t) = self.type_of_counted_fire(fire, &weapons, casualties.harmed())
        {
            event_type = t;
            generic = false;
        }
        let hedged = tags.iter().any(|t| t.kind == EntryKind::Hedge);
        let mut confidence: f32 = 0.5;
        if !generic {
            confidence += 0.15;
        }
        if geo_precision <= 2 && places.iter().any(|p| Some(p.entry) == location.map(|l| l.entry)) {
            confidence += 0.1;
        }
        if date_explicit {
            confidence += 0.1;
        } else if !matches!(date.precision, DatePrecision::Day) {
            confidence -= 0.1;
        }
        if casualties.fatalities.is_some() || casualties.injured.is_some() {
            confidence += 0.05;
        }
        if hedged {
            confidence -= 0.25;
        }
        Ok(Candidate {
            event_type,
            generic,
            date,
            date_explicit,
            location,
            geo_precision,
            places,
            actors,
            casualties,
            weapons,
            confidence: round2(confidence.clamp(0.05, 0.95)),
            evidence: (sentence.start, sentence.end),
            paragraph: sentence.paragraph,
            reference,
            pinned: unknown_place && local_found,
            locality: locality.filter(|_| local_found),
            signals: self.signals(text, tags),
            fallback,
            // Article-wide fallbacks say nothing of where this sentence's event was.
            located: location.filter(|_| local_found).into_iter().collect(),
        })
    }

    /// What a bare seizing verb ("seized", "captured", "s'est emparé de") seized, as the type it
    /// makes ([`Seizures`]); `None` when the verb says more ("seized control of") or what it
    /// seized is a place. The object is the words after the verb (before it in the passive: "a
    /// vehicle was seized") up to a preposition that begins a circumstance ("in", "near",
    /// "belonging to").
    fn what_was_seized(&self, text: &str, sentence: &Sentence, tags: &[&Tag], trigger: &Tag) -> Option<u16> {
        const VERBS: &[&str] = &[
            "seized",
            "captured",
            "s'est emparé",
            "s'est emparée",
            "se sont emparés",
            "se sont emparées",
            "s'emparent",
            "s'empare",
            "استولى على",
            "استولت على",
        ];
        const PASSIVE: &[&str] = &["was", "were", "been", "being", "été"];
        const STOPS: &[&str] = &[
            "in",
            "near",
            "at",
            "on",
            "from",
            "during",
            "while",
            "after",
            "before",
            "belonging",
            "hidden",
            "by",
            "for",
            "with",
            "dans",
            "près",
            "lors",
            "pendant",
            "après",
            "avant",
            "appartenant",
            "par",
            "pour",
            "avec",
            "à",
        ];
        const PLACES: &[&str] = &[
            "town",
            "towns",
            "village",
            "villages",
            "city",
            "cities",
            "area",
            "areas",
            "base",
            "bases",
            "airbase",
            "camp",
            "camps",
            "position",
            "positions",
            "hill",
            "hills",
            "district",
            "districts",
            "territory",
            "territories",
            "neighbourhood",
            "neighborhood",
            "region",
            "airport",
            "checkpoint",
            "checkpoints",
            "outpost",
            "outposts",
            "post",
            "posts",
            "headquarters",
            "barracks",
            "ville",
            "localité",
            "quartier",
            "région",
            "aéroport",
            "colline",
            "poste",
            "postes",
        ];
        if !with_lowercase(&text[trigger.start..trigger.end], |surface| VERBS.contains(&surface)) {
            return None;
        }
        let from = sentence.start.max(window_before(text, trigger.start, 160));
        let before = &text[from..trigger.start];
        let passive = last_words(before, 1).first().is_some_and(|w| PASSIVE.iter().any(|p| w.eq_ignore_ascii_case(p)));
        let span = if passive {
            let clause = before.rfind([',', ';', ':']).map_or(0, |p| p + 1);
            from + clause..trigger.start
        } else {
            let rest = &text[trigger.end..window_after(text, trigger.end, 120).min(sentence.end)];
            trigger.end..trigger.end + rest.find([',', ';', ':', '.']).unwrap_or(rest.len())
        };
        // The object: up to the first preposition of a circumstance.
        let mut end = span.end;
        for (at, w) in fire::words_with_offsets(&text[span.clone()]) {
            if !passive && STOPS.iter().any(|s| w.eq_ignore_ascii_case(s)) {
                end = span.start + at;
                break;
            }
        }
        let object = &text[span.start..end.max(span.start)];
        let words: Vec<String> = object.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect();
        let inside: Vec<&&Tag> = tags.iter().filter(|t| t.start >= span.start && t.end <= end).collect();
        let detail = |t: &Tag| t.entry.map(|e| &self.dict.entry(e).detail);
        if inside.iter().any(|t| t.kind == EntryKind::Place) || words.iter().any(|w| PLACES.contains(&w.as_str())) {
            return None;
        }
        if inside.iter().any(|t| {
            t.kind == EntryKind::Actor
                || matches!(detail(t), Some(Detail::Cue(CueKind::Person | CueKind::StateForce | CueKind::Civilian)))
        }) {
            return Some(self.seizures.people);
        }
        if inside.iter().any(|t| t.kind == EntryKind::Weapon) {
            return self.seizures.weapons.or(Some(self.seizures.things));
        }
        Some(self.seizures.things)
    }

    /// The type of fire counted by the round ([`fire`]), when the count decides it: an
    /// exchange, shots or small arms are a clash, explosions, projectiles or shells shelling (unless aircraft
    /// are named). Counted explosions stay a device's when people were harmed or an explosive
    /// is named ("four explosions killed seven people").
    fn type_of_counted_fire(&self, fire: fire::CountedFire, weapons: &[EntryId], harmed: bool) -> Option<u16> {
        let category = |cs: &[WeaponCategory]| {
            weapons.iter().any(|&w| matches!(&self.dict.entry(w).detail, Detail::Weapon(x) if cs.contains(&x.category)))
        };
        if fire.explosions_only && (harmed || category(&[WeaponCategory::Explosive, WeaponCategory::Grenade])) {
            return None;
        }
        // Shots beside explosions without small arms named: the heavier fire decides. Bursts
        // of heavy weapons alone ("20 bursts of fire involving heavy machineguns") are fire from
        // afar (ACLED: other heavy weapons platforms), not direct fire.
        let heavy_only = category(&[WeaponCategory::Artillery]) && !category(&[WeaponCategory::SmallArms]);
        if fire.exchange || fire.direct && !fire.remote && !heavy_only || category(&[WeaponCategory::SmallArms]) {
            return self.armed_clash;
        }
        if heavy_only {
            return Some(self.shelling);
        }
        if fire.remote && !category(&[WeaponCategory::Aerial, WeaponCategory::Drone]) {
            return Some(self.shelling);
        }
        None
    }

    /// A town named for its countryside is its governorate: "Idlib's southern countryside",
    /// "the western countryside of Daraa", "rural Hama", "la campagne ouest de Deraa", "la
    /// campagne d'Idleb". Other places are left as they are.
    fn widen_to_countryside(&self, text: &str, p: PlaceMention) -> PlaceMention {
        let Some(place) = self.dict.entry(p.entry).place() else { return p };
        if place.level != PlaceLevel::Point {
            return p;
        }
        let Some(area) = place.admin1.as_deref().and_then(|a| self.dict.find_joined("admin1:", a)) else {
            return p;
        };
        let widen = PlaceMention { entry: area, ..p };
        const AREAS: [&str; 6] = ["countryside", "desert", "province", "governorate", "badia", "campagne"];
        const DIRECTIONS: [&str; 16] = [
            "north",
            "south",
            "east",
            "west",
            "northern",
            "southern",
            "eastern",
            "western",
            "northeastern",
            "northwestern",
            "southeastern",
            "southwestern",
            "nord",
            "sud",
            "est",
            "ouest",
        ];
        let is = |w: &str, list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(w));
        // After: "Idlib's (southern) countryside".
        let after = &text[p.end..window_after(text, p.end, 40)];
        if let Some(rest) = after.strip_prefix("'s ").or_else(|| after.strip_prefix("’s ")) {
            let mut words = rest.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
            let first = words.next().unwrap_or("");
            let second = words.next().unwrap_or("");
            if is(first, &AREAS) || is(first, &DIRECTIONS) && is(second, &AREAS) {
                return widen;
            }
        }
        // Before: "countryside of (the) X", "campagne ouest de X", "rural X".
        let before = last_words(&text[window_before(text, p.start, 40)..p.start], 4);
        let of = |w: &str| is(w, &["of", "de", "d"]);
        let rural = before.first().is_some_and(|w| is(w, &["rural"]));
        let skip_the = usize::from(before.first().is_some_and(|w| is(w, &["the"])));
        let named = before.get(skip_the).is_some_and(|w| of(w))
            && (before.get(skip_the + 1).is_some_and(|w| is(w, &AREAS))
                || before.get(skip_the + 1).is_some_and(|w| is(w, &DIRECTIONS))
                    && before.get(skip_the + 2).is_some_and(|w| is(w, &AREAS)));
        if rural || named { widen } else { p }
    }

    /// The places of a sentence that can be where its event was: not countries, and not a town
    /// outside the governorate or the country the sentence names with it ("in Qarah Tapah,
    /// Diyala, Iraq" where the gazetteer knows only a Syrian Qarah).
    fn consistent(&self, places: &[PlaceMention]) -> Vec<PlaceMention> {
        let place = |p: &PlaceMention| self.dict.entry(p.entry).place();
        let level = |p: &PlaceMention| place(p).map(|pl| pl.level);
        let governorates: Vec<&crate::dictionary::Place> =
            places.iter().filter(|p| level(p) == Some(PlaceLevel::Admin1)).filter_map(place).collect();
        let countries: Vec<&str> = places
            .iter()
            .filter(|p| level(p) == Some(PlaceLevel::Country))
            .filter_map(|p| place(p).map(|pl| pl.country.as_str()))
            .collect();
        places
            .iter()
            .filter(|p| !self.is_country(p.entry))
            .filter(|p| {
                let Some(pl) = place(p) else { return true };
                let in_country = countries.is_empty() || countries.contains(&pl.country.as_str());
                // Sources draw governorate borders differently: a town counts as in a
                // governorate of its country within the governorate's reach.
                let in_governorate = pl.level == PlaceLevel::Admin1
                    || governorates.is_empty()
                    || governorates.iter().any(|g| {
                        g.country == pl.country
                            && (g.admin1 == pl.admin1 || km(g.lat, g.lon, pl.lat, pl.lon) <= GOVERNORATE_REACH_KM)
                    });
                in_country && in_governorate
            })
            .copied()
            .collect()
    }

    /// Places named as a part of another: "Imam Qasim neighborhood, Kirkuk city", "Al Qayyarah
    /// Market in Sadr City neighborhood, Baghdad". The name before "neighborhood", "market",
    /// "street" names a part of the place named after it; when the gazetteer's place of that
    /// name lies far from it, it is a town of the same name elsewhere, not the event's place.
    fn without_homonym_parts(&self, text: &str, places: Vec<PlaceMention>) -> Vec<PlaceMention> {
        const PARTS: [&str; 9] =
            ["neighborhood", "neighbourhood", "quarter", "market", "street", "square", "souk", "quartier", "marché"];
        let point = |p: &PlaceMention| self.dict.entry(p.entry).place().map(|pl| (pl.lat, pl.lon));
        let part = |p: &PlaceMention| {
            let next = text[p.end..window_after(text, p.end, 24)]
                .split(|c: char| !c.is_alphanumeric())
                .find(|w| !w.is_empty())
                .unwrap_or("");
            PARTS.iter().any(|w| w.eq_ignore_ascii_case(next))
        };
        places
            .iter()
            .filter(|p| {
                !(part(p)
                    && places.iter().any(|q| {
                        q.start > p.end
                            && matches!((point(p), point(q)), (Some(a), Some(b)) if km(a.0, a.1, b.0, b.1) > 25.0)
                    }))
            })
            .copied()
            .collect()
    }

    /// Whether a sentence sums up a period rather than telling of an event: a period cue ("so
    /// far this year", "since the start of the war") or "since" with a year ("since 2011").
    fn tells_of_a_period(&self, text: &str, tags: &[&Tag]) -> bool {
        tags.iter().any(|t| {
            let cue = matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Cue(CueKind::Period)));
            // "Since 2011, ..." opening the sentence, or "... have been killed since 2011"; not
            // "the deadliest attack since 2019".
            let since_year = t.kind == EntryKind::Date
                && t.date().is_some_and(|d| d.year.is_some() && d.month.is_none())
                && last_words(&text[..t.start], 1)
                    .iter()
                    .any(|w| ["since", "depuis"].iter().any(|x| w.eq_ignore_ascii_case(x)))
                && (tags.first().is_some_and(|f| f.start >= t.start)
                    && at_most_words(&text[sentence_start(text, t.start)..t.start], 1)
                    || perfect_tense(&text[sentence_start(text, t.start)..t.start]));
            cue || since_year
        }) || there_have_been(text, tags)
    }

    /// Whether every date of a sentence lies more than a year before the article's
    /// publication: what it tells is history, not news.
    fn background(&self, published: Option<NaiveDate>, dates: &[(usize, ResolvedDate)]) -> bool {
        const HISTORY_DAYS: i64 = 365;
        published
            .is_some_and(|p| !dates.is_empty() && dates.iter().all(|(_, d)| (p - d.date).num_days() > HISTORY_DAYS))
    }

    /// The place of a sentence: its most specific places, the first after the trigger or
    /// else the last before; with its precision.
    fn sentence_place(
        &self,
        text: &str,
        tags: &[&Tag],
        places: &[PlaceMention],
        trigger: &Tag,
    ) -> Option<(Option<PlaceMention>, u8)> {
        let level = |p: &PlaceMention| self.dict.entry(p.entry).place().map_or(PlaceLevel::Country, |pl| pl.level);
        // A town before a city of the size of a governorate's capital named with it ("in the
        // Deir Al-Zour area in the city of Albukamal").
        let big = |p: &PlaceMention| self.dict.entry(p.entry).place().is_some_and(|pl| pl.population >= BIG_CITY);
        let best = places.iter().map(|p| (level(p), big(p))).min()?;
        let of_best: Vec<&PlaceMention> = places.iter().filter(|p| (level(p), big(p)) == best).collect();
        let chosen = of_best
            .iter()
            .find(|p| p.start >= trigger.end)
            .or_else(|| of_best.iter().rev().find(|p| p.end <= trigger.start))
            .or(of_best.first())
            .copied()?;
        // "near X", "the outskirts of X", "east of X": a cue right before the place.
        let near = tags.iter().any(|t| {
            t.end <= chosen.start
                && matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Cue(CueKind::Locative)))
                && at_most_words(&text[t.end..chosen.start], 1)
        });
        Some((Some(*chosen), self.precision(chosen.entry, near)))
    }

    /// ACLED geo-precision of a place: 1 a town, 2 near a town, an area or a district, 3 a
    /// governorate or a country.
    fn precision(&self, entry: EntryId, near: bool) -> u8 {
        let Some(p) = self.dict.entry(entry).place() else { return 3 };
        match p.level {
            PlaceLevel::Point => {
                let area = matches!(p.feature_class.as_str(), "L" | "T") || p.uncertainty_km.is_some_and(|u| u >= 10.0);
                if near || area { 2 } else { 1 }
            }
            PlaceLevel::Admin3 | PlaceLevel::Admin2 => 2,
            PlaceLevel::Admin1 | PlaceLevel::Country => 3,
        }
    }

    fn place_mention(&self, t: &Tag) -> Option<PlaceMention> {
        (t.kind == EntryKind::Place).then_some(())?;
        Some(PlaceMention { entry: t.entry?, start: t.start, end: t.end })
    }

    fn is_country(&self, entry: EntryId) -> bool {
        self.dict.entry(entry).place().is_some_and(|p| p.level == PlaceLevel::Country)
    }

    /// The place the article is about: its most mentioned town or site, else its most
    /// mentioned governorate.
    fn dominant_place(&self, tags: &[Tag]) -> Option<PlaceMention> {
        // Per place: how often it is named, and its first mention.
        let mut seen: std::collections::HashMap<EntryId, usize> = std::collections::HashMap::new();
        let mut counts: Vec<(EntryId, usize, PlaceMention)> = Vec::new();
        for t in tags {
            let Some(p) = self.place_mention(t) else { continue };
            match seen.get(&p.entry) {
                Some(&k) => counts[k].1 += 1,
                None => {
                    seen.insert(p.entry, counts.len());
                    counts.push((p.entry, 1, p));
                }
            }
        }
        let rank = |e: EntryId| match self.dict.entry(e).place().map(|p| p.level) {
            Some(PlaceLevel::Point) => 0,
            Some(PlaceLevel::Admin3 | PlaceLevel::Admin2) => 1,
            Some(PlaceLevel::Admin1) => 2,
            _ => 3,
        };
        let best_rank = counts.iter().map(|c| rank(c.0)).filter(|&r| r < 3).min()?;
        counts
            .iter()
            .filter(|c| rank(c.0) == best_rank)
            .max_by_key(|c| (c.1, std::cmp::Reverse(c.2.start)))
            .map(|c| c.2)
    }

    /// Actors of a sentence with their roles around `trigger`. An actor right next to the
    /// trigger or after "by" is the doer ("US strikes", "bombardements israéliens", "targeted by
    /// American aircraft"); when there is one, the other actors are its targets or victims
    /// ("22 militiamen of Iraqi Hezbollah ... in US strikes"). Otherwise an actor after the
    /// trigger, or after "on"/"against", is a target, and one before it the doer, unless a
    /// casualty word follows it ("X were killed in strikes").
    fn roles(&self, text: &str, tags: &[&Tag], trigger: &Tag, lang: Lang) -> Vec<(EntryId, Role)> {
        let actor_tags: Vec<(usize, &Tag, EntryId, bool)> = tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == EntryKind::Actor)
            .filter_map(|(i, t)| {
                let entry = t.entry?;
                let civilians =
                    matches!(&self.dict.entry(entry).detail, Detail::Actor(a) if a.actor_type == "civilians");
                Some((i, *t, entry, civilians))
            })
            .collect();
        // "targeted by X", "strikes by X": an agent right after the trigger; not "used by X" or
        // "areas controlled by X" elsewhere in the sentence.
        let strong = |a: &Tag| {
            let before = last_words(&text[..a.start], 2);
            let agent = before.iter().any(|w| w.eq_ignore_ascii_case("by") || w.eq_ignore_ascii_case("par"));
            agent && a.start >= trigger.end && at_most_words(&text[trigger.end..a.start], 4)
                || a.end <= trigger.start && at_most_words(&text[a.end..trigger.start], 1)
                || lang == Lang::Fr && a.start >= trigger.end && at_most_words(&text[trigger.end..a.start], 0)
        };
        let any_strong = actor_tags.iter().any(|(_, a, _, civilians)| !civilians && strong(a));
        // "X was targeted", "des positions ... ont été prises pour cible": the subject is hit.
        let passive = last_words(&text[..trigger.start], 2).iter().any(|w| {
            ["was", "were", "been", "being", "is", "are", "été", "être", "est", "sont"]
                .iter()
                .any(|x| w.eq_ignore_ascii_case(x))
        });
        // "the arrival of X", "X est arrivée": whoever a deployment names is deploying.
        let family = trigger_type(&self.dict, trigger).map_or("", |i| self.dict.event_type(i).family.as_str());
        let deployment = family == "deployment";
        let violent = FAMILY_ORDER[..3].contains(&family);
        let mut out: Vec<(EntryId, Role)> = Vec::new();
        for &(i, a, entry, civilians) in &actor_tags {
            let before = last_words(&text[..a.start], 3);
            let is_any = |ws: &[&str]| before.iter().any(|w| ws.iter().any(|p| w.eq_ignore_ascii_case(p)));
            let after_preposition =
                is_any(&["on", "against", "targeting", "targeted", "at", "contre", "sur", "visant"]);
            // "militiamen of X", "positions of X", "des forces du régime": X owns what is hit.
            let owner = violent
                && last_words(&text[..a.start], 1)
                    .iter()
                    .any(|w| ["of", "de", "des", "du", "d"].iter().any(|p| w.eq_ignore_ascii_case(p)));
            // "X ... was targeted in an airstrike": a passive between the actor and the trigger.
            let passive_between = a.end <= trigger.start
                && text[a.end.max(window_before(text, trigger.start, 200))..trigger.start]
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| ["was", "were", "been", "été"].iter().any(|x| w.eq_ignore_ascii_case(x)));
            let victim =
                tags[i + 1..].iter().take_while(|t| t.start < trigger.start).any(|t| t.kind == EntryKind::Casualty);
            let doer = !civilians && (strong(a) || deployment && !after_preposition);
            let hit = civilians
                || any_strong
                || after_preposition
                || owner
                || a.start >= trigger.end
                || (passive || passive_between) && a.end <= trigger.start
                || victim;
            let role = if doer || !hit { Role::Actor } else { Role::Target };
            match out.iter_mut().find(|(e, _)| *e == entry) {
                Some(existing) => existing.1 = existing.1.min(role),
                None => out.push((entry, role)),
            }
        }
        out
    }

    /// The type of a generic trigger ("targeted", "strikes", "attacked") from what the sentence
    /// names: the weapon (drone or aircraft: an air strike; missile, rocket or artillery:
    /// shelling; a grenade; another explosive: an IED), else an air force as the doer (an air
    /// strike). A generic ground word ("attacked", "raided": its type maps to an armed clash)
    /// with none of these is an attack on civilians when civilians are named, else an armed
    /// clash, as ACLED codes an attack by an armed group. `None`: it stays generic.
    ///
    /// With the type, whether it is only the fallback of a ground word that names no weapon
    /// (another sentence's specific type may replace it).
    fn refine_generic_by(
        &self,
        generic: u16,
        weapons: &[EntryId],
        actors: &[(EntryId, Role)],
        sides: Sides,
        fired: bool,
    ) -> Option<(u16, bool)> {
        let dict = &*self.dict;
        let categories: Vec<WeaponCategory> = weapons
            .iter()
            .filter_map(|&w| match &dict.entry(w).detail {
                Detail::Weapon(w) => Some(w.category),
                _ => None,
            })
            .collect();
        let has = |cs: &[WeaponCategory]| categories.iter().any(|c| cs.contains(c));
        if has(&[WeaponCategory::Drone, WeaponCategory::Aerial]) {
            return Some((self.air_strike, false));
        }
        if has(&[WeaponCategory::Missile, WeaponCategory::Rocket, WeaponCategory::Artillery]) {
            // Heavy weapons with small arms in an attack are an exchange of direct fire, a clash
            // (ACLED: shelling is fire from afar with no ground engagement); fired at where
            // civilians live ("fired 14.5mm and 7.62mm machine guns at residential areas"), no
            // one fires back: fire from afar.
            if has(&[WeaponCategory::SmallArms])
                && !(fired && sides.target_civilian)
                && dict.event_type(generic).acled_sub_event_type == "Armed clash"
                && let Some(clash) = self.armed_clash
            {
                return Some((clash, false));
            }
            return Some((self.shelling, false));
        }
        if has(&[WeaponCategory::Grenade]) {
            return Some((self.grenade.unwrap_or(self.ied), false));
        }
        if has(&[WeaponCategory::Explosive]) {
            return Some((self.ied, false));
        }
        if actors.iter().any(|(a, role)| *role == Role::Actor && AIR_FORCES.contains(&dict.entry(*a).id.as_str())) {
            return Some((self.air_strike, false));
        }
        if dict.event_type(generic).acled_sub_event_type == "Armed clash" {
            let civilians = actors
                .iter()
                .any(|(a, _)| matches!(&dict.entry(*a).detail, Detail::Actor(x) if x.actor_type == "civilians"));
            // A crowd that attacks is a mob; armed men who attack civilians, an attack.
            let fallback = if sides.doer_civilian && !sides.target_civilian {
                self.protests.mob.or(self.attack_on_civilians)
            } else if sides.target_civilian || civilians && !sides.target_armed {
                self.attack_on_civilians
            } else {
                self.armed_clash
            };
            return fallback.map(|t| (t, true));
        }
        None
    }

    /// Who the people named on each side of a trigger are: civilians ("villagers", "a
    /// woman", the civilians actor) or armed. The doer stands before an active trigger or after
    /// "by"; the target after an active trigger or before a passive one.
    fn sides(&self, text: &str, tags: &[&Tag], trigger: &Tag) -> Sides {
        let kind = |t: &Tag| match t.entry.map(|e| &self.dict.entry(e).detail) {
            Some(Detail::Cue(CueKind::Civilian)) => Some(true),
            Some(Detail::Actor(a)) => Some(a.actor_type == "civilians"),
            Some(Detail::Cue(CueKind::Person | CueKind::StateForce)) => {
                let head = text[t.start..t.end].rsplit(' ').next().unwrap_or("");
                // "a former rebel commander", "an off-duty policeman": no longer fighting.
                let former = last_words(&text[..t.start], 2).iter().any(|w| {
                    ["former", "retired", "off", "ex", "ancien", "ancienne", "anciens"]
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(w))
                });
                // "a police officer ... who was off-duty", "a soldier (assumed off-duty)".
                let after = &text[t.end..window_after(text, t.end, 60)];
                let clause = after.find(['.', ';']).map_or(after, |p| &after[..p]);
                // ASCII case aside: no other character lowercases to a letter of these.
                static OFF_DUTY: LazyLock<Finder> = LazyLock::new(|| {
                    Finder::phrases(&["off-duty", "off duty", "not on duty", "hors service", "pas en service"])
                });
                let off_duty = OFF_DUTY.is_match(clause.as_bytes());
                if former || off_duty { Some(true) } else { (!is_neutral_person(head)).then_some(false) }
            }
            _ => None,
        };
        let agent = |t: &Tag| {
            last_words(&text[..t.start], 3)
                .iter()
                .any(|w| w.eq_ignore_ascii_case("by") || w.eq_ignore_ascii_case("par"))
        };
        let passive = is_passive(text, trigger);
        let prepositional = in_prepositional_phrase(text, trigger);
        let at = tags.iter().position(|t| t.start == trigger.start).unwrap_or(0);
        // A noun of people right before a noun trigger qualifies it: the doer ("during a police
        // raid", "in an army attack"), not the one it hit.
        let adjunct = (!passive && prepositional)
            .then(|| at.checked_sub(1))
            .flatten()
            .map(|i| tags[i])
            .filter(|t| t.end <= trigger.start && at_most_words(&text[t.end..trigger.start], 0))
            .and_then(|t| kind(t).map(|k| (t.start, k)));
        // The nearest person before (within the clause) and after (within a few words), the
        // agent after "by" left out of the latter.
        let before = tags[..at]
            .iter()
            .rev()
            .take_while(|t| at_most_words(&text[t.end..trigger.start], 8))
            .find_map(|t| kind(t).map(|k| (k, *t)));
        let before_the_adjunct = tags[..at]
            .iter()
            .rev()
            .filter(|t| adjunct.is_none_or(|(start, _)| t.start < start))
            .take_while(|t| at_most_words(&text[t.end..trigger.start], 8))
            .find_map(|t| kind(t));
        let after = tags[at + 1..]
            .iter()
            .take_while(|t| at_most_words(&text[trigger.end..t.start], 6))
            .filter(|t| !agent(t))
            .find_map(|t| kind(t));
        let by_agent = tags[at + 1..]
            .iter()
            .take_while(|t| at_most_words(&text[trigger.end..t.start], 8))
            .filter(|t| agent(t))
            .find_map(|t| kind(t).map(|k| (k, *t)));
        // What the trigger hits, named as a place: where people live ("attacked Nacoba village",
        // "raided a cattle camp", its people are civilians) or a post of armed men ("an attack
        // on a military base", "attacked the gendarmerie station": armed).
        let site = {
            let window = &text[trigger.end..window_after(text, trigger.end, 100)];
            let (mut words, mut n) = ([""; 8], 0);
            for (_, w) in fire::words_with_offsets(window).filter(|(_, w)| !w.starts_with(|c: char| c.is_ascii_digit()))
            {
                if n == words.len() {
                    break;
                }
                words[n] = w;
                n += 1;
            }
            let any = |list: &[&str]| words[..n].iter().any(|w| list.iter().any(|d| d.eq_ignore_ascii_case(w)));
            // A town or village named right after an active trigger ("militants attacked
            // Namava"): its people.
            let town_after =
                tags[at + 1..].iter().take_while(|t| at_most_words(&text[trigger.end..t.start], 0)).any(|t| {
                    t.kind == EntryKind::Place
                        && t.entry
                            .and_then(|e| self.dict.entry(e).place())
                            .is_some_and(|p| p.level == PlaceLevel::Point)
                });
            // A name the gazetteer lacks right after an active trigger ("gunmen attacked Danhono
            // in Chikun LGA", "attacked Ahmed at his home"): a village or a person, civilians.
            let name_after =
                !passive && tags.get(at + 1).is_none_or(|t| !at_most_words(&text[trigger.end..t.start], 0)) && {
                    let next = text[trigger.end..window_after(text, trigger.end, 40)].trim_start();
                    let word: String = next.chars().take_while(|c| c.is_alphabetic()).collect();
                    word.chars().next().is_some_and(char::is_uppercase)
                        && word.chars().count() > 2
                        && !["The", "A", "An", "Its", "Their", "His", "Her"].contains(&word.as_str())
                };
            if any(&ARMED_SITES) {
                Some(false)
            } else if any(&DWELLINGS) || !passive && (town_after || name_after) {
                Some(true)
            } else {
                None
            }
        };
        // A passive trigger, or one inside a prepositional phrase ("a man was killed in a
        // drive-by shooting by armed men", "people were killed in the attack"): the clause's
        // subject before it is the target, the doer only comes after "by".
        let (doer, target) = if passive || prepositional {
            (by_agent.map(|(k, _)| k).or(adjunct.map(|(_, k)| k)), before_the_adjunct.or(site))
        } else {
            (before.map(|(k, _)| k), after.or(site))
        };
        let doer_tag = if passive || prepositional { by_agent } else { before };
        let doer_crowd = doer_tag.is_some_and(|(civilian, t)| {
            civilian
                && matches!(
                    t.entry.map(|e| &self.dict.entry(e).detail),
                    Some(Detail::Cue(CueKind::Civilian)) | Some(Detail::Actor(_))
                )
                && is_a_crowd(text, t)
                // not the people a casualty word counts ("killed three civilians in an ambush")
                && !tags.iter().any(|c| {
                    c.kind == EntryKind::Casualty && c.end <= t.start && at_most_words(&text[c.end..t.start], 2)
                })
        });
        // Else the people the sentence's toll counts ("1 policeman was killed and 1 wounded
        // when they were shot by gunmen"): civilians if any of them is, else armed.
        let target = target.or_else(|| self.victims(text, tags, &kind));
        Sides {
            doer_civilian: doer == Some(true),
            doer_crowd,
            target_civilian: target == Some(true),
            target_armed: target == Some(false),
        }
    }

    /// The type of an event a sentence with no trigger word tells, by a construction:
    /// - fire counted by the round ("observed a total of 6 shots involving small arms near X"),
    ///   a clash to be refined by what was fired; shots need a weapon named beside them ("1.5
    ///   million shots" of a vaccine are not fire), and a toll makes it no such report;
    /// - a strategic development in a split phrase ("declared a coronavirus lockdown",
    ///   "reinforcements, including six armoured vehicles, reached");
    /// - a demonstration with no word for it ("merchants gathered in front of the city hall to
    ///   demand the reopening of shops"), violent when a crowd's rioting act is told ("residents
    ///   closed the road by burning tyres").
    fn event_without_a_trigger(&self, text: &str, sentence: &Sentence, tags: &[&Tag]) -> Option<u16> {
        let fire = || {
            !tags.iter().any(|t| t.kind == EntryKind::Casualty)
                && fire::counted(text, sentence.start..sentence.end, tags)
                    .is_some_and(|f| f.remote || tags.iter().any(|t| t.kind == EntryKind::Weapon))
        };
        if fire() {
            return self.armed_clash;
        }
        if let Some(i) = split_phrases::find(&text[sentence.start..sentence.end])
            .and_then(|(_, code)| self.dict.event_type_by_code(code))
        {
            return Some(i);
        }
        if self.gathered_to_demand(text, tags) {
            return Some(self.protests.peaceful);
        }
        // A crowd's violence told with no word for the demonstration ("residents closed the
        // road by burning tyres, denouncing ...", "migrant workers pelted stones at police"):
        // a rioting act by civilians, or with what they want, is a violent demonstration.
        let cue = |t: &Tag, kind: CueKind| matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Cue(k)) if *k == kind);
        let rioting = tags.iter().any(|t| cue(t, CueKind::Rioting));
        let crowd = tags.iter().any(|t| {
            cue(t, CueKind::Civilian) && !said_armed(text, t) || cue(t, CueKind::Demand) || cue(t, CueKind::Gathering)
        }) && !self.names_non_state_armed_men(text, tags);
        (rioting && crowd).then_some(self.protests.violent)
    }

    /// Whether people came together or blocked a way and the sentence says, after it, what
    /// for: "gathered in front of a union to demand salary increases", "blocked the national
    /// road demanding justice", "se sont rassemblés devant la mairie pour réclamer". A demand
    /// for someone's release counts, though it is no release ("demanding the release of").
    fn gathered_to_demand(&self, text: &str, tags: &[&Tag]) -> bool {
        let cue = |t: &Tag, kind: CueKind| matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Cue(k)) if *k == kind);
        let Some(gathering) = tags.iter().find(|t| cue(t, CueKind::Gathering)) else {
            return false;
        };
        tags.iter().filter(|t| t.start >= gathering.end).any(|t| {
            cue(t, CueKind::Demand)
                || cue(t, CueKind::NotEvent) && {
                    with_lowercase(&text[t.start..t.end], |surface| {
                        ["demand", "call", "réclam", "demandant", "exige"].iter().any(|w| surface.starts_with(w))
                    })
                }
        })
    }

    /// Who the sentence's casualty words count: the subject of a passive ("3 soldiers were
    /// killed"), the object of an active verb ("killing two civilians"); `Some(true)` if any is a
    /// civilian, `Some(false)` if all are armed, `None` if none is named.
    fn victims(&self, text: &str, tags: &[&Tag], kind: &dyn Fn(&Tag) -> Option<bool>) -> Option<bool> {
        let mut found = None;
        for (i, c) in tags.iter().enumerate().filter(|(_, t)| t.kind == EntryKind::Casualty) {
            // The subject of a passive ("3 soldiers were killed"); the object of an active verb
            // ("killing two civilians"), never its subject, who is the doer.
            let victim = if is_passive(text, c) {
                tags[..i].iter().rev().take_while(|p| at_most_words(&text[p.end..c.start], 4)).find_map(|p| kind(p))
            } else {
                tags[i + 1..].iter().take_while(|p| at_most_words(&text[c.end..p.start], 3)).find_map(|p| kind(p))
            };
            match victim {
                Some(true) => return Some(true),
                Some(false) => found = Some(false),
                None => {}
            }
        }
        found
    }

    /// Deaths told with an accident or a disaster ("a fire broke out, killing two workers",
    /// "three people drowned"): no one's doing, so no conflict event.
    fn no_ones_doing(&self, tags: &[&Tag]) -> bool {
        tags.iter().any(|t| matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Cue(CueKind::NotEvent))))
    }

    /// Whether a sentence names who or what did the harm: a weapon, someone before an active
    /// casualty word ("a Turkish drone killed", "gunmen killed"), or someone after "by" ("were
    /// killed by several armed men"). Not when it tells of an accident.
    fn names_a_doer(&self, text: &str, tags: &[&Tag]) -> bool {
        let Some(word) = tags.iter().position(|t| t.kind == EntryKind::Casualty) else { return false };
        if self.no_ones_doing(tags) {
            return false;
        }
        let someone = |t: &Tag| {
            t.kind == EntryKind::Actor
                && !matches!(t.entry.map(|e| &self.dict.entry(e).detail), Some(Detail::Actor(a)) if a.actor_type == "civilians")
                || matches!(
                    t.entry.map(|e| &self.dict.entry(e).detail),
                    Some(Detail::Cue(CueKind::Person | CueKind::StateForce | CueKind::Civilian))
                )
        };
        let w = tags[word];
        let passive = is_passive(text, w);
        if tags.iter().any(|t| t.kind == EntryKind::Weapon) {
            return true;
        }
        if passive {
            // "were killed and 8 wounded following an operation by ANDSF forces"
            tags[word + 1..]
                .iter()
                .take_while(|t| at_most_words(&text[w.end..t.start], 12))
                .any(|t| someone(t) && last_words(&text[..t.start], 3).iter().any(|x| x.eq_ignore_ascii_case("by")))
        } else {
            tags[..word].iter().rev().take_while(|t| at_most_words(&text[t.end..w.start], 8)).any(|t| someone(t))
        }
    }

    /// What a sentence's tags tell of a demonstration.
    /// An arrest told as done, by a verb ("arrested", "were detained"), not a noun of what a
    /// protest is about ("the arrest of", "detained activists" after "release").
    fn arrest_made(&self, text: &str, t: &Tag) -> bool {
        let surface = &text[t.start..t.end];
        let verb = surface
            .split_whitespace()
            .last()
            .is_some_and(|w| w.ends_with("ed") || w.ends_with("és") || w.ends_with("é"));
        let before = last_words(&text[..t.start], 2);
        let about = ["the", "against", "over", "of", "for", "release", "releasing", "free", "contre", "libération"];
        verb && !before.first().is_some_and(|w| about.iter().any(|a| a.eq_ignore_ascii_case(w)))
    }

    fn signals(&self, text: &str, tags: &[&Tag]) -> Signals {
        let mut s = Signals::default();
        for t in tags {
            match t.entry.map(|e| &self.dict.entry(e).detail) {
                Some(Detail::Cue(CueKind::Intervention)) => s.intervention = true,
                Some(Detail::Cue(CueKind::Rioting)) => s.rioting = true,
                _ => {}
            }
            // "police detained three members taking part in an unauthorised protest"; not the
            // arrest a protest is about ("protesting the arrest of", "against detained activists").
            if trigger_type(&self.dict, t) == Some(self.dict.required_types().arrests) && self.arrest_made(text, t) {
                s.intervention = true;
            }
            if let Some(i) = trigger_type(&self.dict, t) {
                s.protest |= self.is_demonstration(i);
                // A word that tells the intervention itself ("dispersed the protesters"),
                // whichever trigger the sentence was typed by; not one the protest is about.
                let intervening = i == self.protests.intervention || i == self.protests.excessive_force;
                s.intervention |= intervening && !told_as_cause(text, sentence_start(text, t.start), t);
            }
        }
        s
    }

    /// A demonstration's sub-type from all its sentences ([`ProtestTypes`]); violence against
    /// civilians whose victims are demonstrators is excessive force against them.
    fn settle_protest(&self, c: &mut Candidate) {
        let p = self.protests;
        let family = self.dict.event_type(c.event_type).family.as_str();
        let demonstration = self.is_demonstration(c.event_type);
        let harmed = |c: &Candidate| {
            c.casualties.fatalities.is_some_and(|n| n.best > 0) || c.casualties.injured.is_some_and(|n| n.best > 0)
        };
        c.event_type = if demonstration {
            // A word for the riot itself ("rioters blocked the highway") needs no other sign.
            if c.signals.rioting || c.event_type == p.violent {
                p.violent
            } else if harmed(c) {
                p.excessive_force
            } else if c.signals.intervention {
                p.intervention
            } else {
                p.peaceful
            }
        } else if family == "violence_against_civilians" && c.signals.protest && !c.signals.rioting {
            p.excessive_force
        } else {
            return;
        };
        c.generic = false;
    }

    /// A merged candidate's location: its most specific place when the locations of its
    /// sentences share a district, else their common governorate.
    fn settle_location(&self, c: &mut Candidate) {
        let points: Vec<&PlaceMention> = c
            .located
            .iter()
            .filter(|p| matches!(self.dict.entry(p.entry).place().map(|pl| pl.level), Some(PlaceLevel::Point)))
            .collect();
        let districts: Vec<Option<&str>> =
            points.iter().map(|p| self.dict.entry(p.entry).place().and_then(|pl| pl.admin2.as_deref())).collect();
        let spread = districts.windows(2).any(|w| w[0] != w[1]);
        if !spread {
            return;
        }
        let governorates: Vec<Option<&str>> =
            points.iter().map(|p| self.dict.entry(p.entry).place().and_then(|pl| pl.admin1.as_deref())).collect();
        if let Some(Some(admin1)) = governorates.first()
            && governorates.iter().all(|g| g == &Some(*admin1))
            && let Some(area) = self.dict.find_joined("admin1:", admin1)
        {
            let at = c.places.iter().find(|p| p.entry == area).copied();
            c.location = Some(at.unwrap_or(PlaceMention { entry: area, start: 0, end: 0 }));
            c.geo_precision = 3;
        }
    }
}

/// Why a trigger sentence makes no candidate.
enum Skip {
    Undated,
    Negated,
}

/// The start of the window of at most `len` bytes that ends at `at`, on a character boundary:
/// extraction looks a few words around a tag, never across a whole long text.
pub(crate) fn window_before(text: &str, at: usize, len: usize) -> usize {
    let mut from = at.saturating_sub(len);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    from
}

/// The end of the window of at most `len` bytes that starts at `at`, on a character boundary.
pub(crate) fn window_after(text: &str, at: usize, len: usize) -> usize {
    let mut to = at.saturating_add(len).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    to
}

/// Where the sentence holding byte `at` starts, looking back at most 300 bytes.
fn sentence_start(text: &str, at: usize) -> usize {
    let from = window_before(text, at, 300);
    text[from..at].rfind(['.', '!', '?', '\n']).map_or(from, |p| from + p + 1)
}

/// Whether a clause is in the present perfect ("have been killed", "ont été tués"): it sums
/// up a period when "since" follows.
fn perfect_tense(clause: &str) -> bool {
    with_lowercase(clause, |lower| {
        ["have been", "has been", "have died", "have killed", "ont été", "a été"].iter().any(|p| lower.contains(p))
    })
}

/// "There have been several attacks in the Biobio region", "there have been dozens of
/// killings this year": a sentence that opens on "there have been" counts events over a period.
fn there_have_been(text: &str, tags: &[&Tag]) -> bool {
    let Some(first) = tags.first() else { return false };
    let start = sentence_start(text, first.start);
    let opening = text[start..].trim_start();
    ["there have been ", "there has been ", "il y a eu "]
        .iter()
        .any(|o| opening.get(..o.len()).is_some_and(|h| h.eq_ignore_ascii_case(o)))
}

/// Whether a tag is a verb in the passive: an auxiliary just before it or opening it ("were
/// killed", "a man was found dead", "ont été tués").
pub(crate) fn is_passive(text: &str, t: &Tag) -> bool {
    let aux = |w: &str| ["was", "were", "been", "being", "été", "is", "are"].iter().any(|a| w.eq_ignore_ascii_case(a));
    // The word's own auxiliaries, its last word aside: "were killed", "have been killed", "ont
    // été tués".
    let mut own = fire::words_with_offsets(&text[t.start..t.end]).map(|(_, w)| w).peekable();
    let mut own_aux = false;
    while let Some(w) = own.next() {
        if own.peek().is_some() && aux(w) {
            own_aux = true;
            break;
        }
    }
    own_aux || last_words(&text[..t.start], 2).iter().any(|w| aux(w))
}

/// Battle words that tell of one side acting, not of two fighting: with civilian victims they
/// are an attack.
const ONE_SIDED_BATTLE_WORDS: [&str; 7] =
    ["ambush", "ambushed", "ambushes", "incursion", "incursions", "embuscade", "embuscades"];

/// Posts of armed men: what an attack on them hits is armed ("an attack on a military base",
/// "attacked the gendarmerie station", "ambushed a patrol").
const ARMED_SITES: [&str; 22] = [
    "base",
    "bases",
    "barracks",
    "checkpoint",
    "checkpoints",
    "outpost",
    "outposts",
    "post",
    "posts",
    "patrol",
    "patrols",
    "convoy",
    "convoys",
    "positions",
    "position",
    "garrison",
    "headquarters",
    "caserne",
    "poste",
    "patrouille",
    "convoi",
    "barrage",
];

/// Places where civilians live or gather: what an attack on them hits is civilians.
const DWELLINGS: [&str; 28] = [
    "residential",
    "neighbourhood",
    "neighbourhoods",
    "neighborhood",
    "neighborhoods",
    "résidentiel",
    "village",
    "villages",
    "hamlet",
    "hamlets",
    "camp",
    "camps",
    "home",
    "homes",
    "house",
    "houses",
    "market",
    "settlement",
    "settlements",
    "farm",
    "farms",
    "villageois",
    "douar",
    "maison",
    "maisons",
    "marché",
    "hameau",
    "campement",
];

/// Nouns of a kind of place that follow or precede a place's name: "Falahat village", "the
/// village of Falahat", "le village de Tell Karam".
const PLACE_NOUNS: [&str; 14] = [
    "village",
    "town",
    "neighborhood",
    "neighbourhood",
    "district",
    "area",
    "city",
    "suburb",
    "camp",
    "region",
    "quartier",
    "hameau",
    "localité",
    "bourgade",
];

/// The name of a place the gazetteer does not know that the sentence names with a noun that says
/// it is one: "in the village of Um Adasa", "in Falahat village", "dans le village de Tell Karam". A
/// capitalized name with no place tag on it, right after "<noun> of" / "<noun> de", or right
/// before the noun. The nouns are found by one search of the sentence for all of them.
fn unknown_named_place(text: &str, sentence: &Sentence, tags: &[&Tag]) -> Option<(usize, usize)> {
    let s = &text[sentence.start..sentence.end];
    let tagged = |at: usize| {
        let k = tags.partition_point(|t| t.end <= at);
        tags.get(k).is_some_and(|t| t.start <= at && t.kind == EntryKind::Place)
    };
    let capital = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    // Words by bytes: ASCII letters and digits, and every non-ASCII byte (so "localité" and
    // Arabic words stay whole), whatever the script. The nouns are found by the searcher, each
    // a whole word; most sentences have none.
    static NOUNS: LazyLock<Finder> = LazyLock::new(|| Finder::leftmost_longest(&PLACE_NOUNS));
    let bytes = s.as_bytes();
    let in_word = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let nouns = NOUNS.find_all(bytes).into_iter().filter(|m| {
        (m.start() == 0 || !in_word(bytes[m.start() - 1])) && bytes.get(m.end()).is_none_or(|&b| !in_word(b))
    });
    for m in nouns {
        let (at, word) = (m.start(), &s[m.start()..m.end()]);
        // The word before the noun, if any.
        let previous = bytes[..at].iter().rposition(|&b| in_word(b)).map(|last| {
            let first = bytes[..last].iter().rposition(|&b| !in_word(b)).map_or(0, |p| p + 1);
            (first, &s[first..=last])
        });
        // "X village": the word before is a capitalized, untagged name (not "The").
        if let Some((p, w)) = previous
            && p > 0
            && capital(w)
            && !matches!(w, "The" | "A" | "An" | "This" | "That" | "Le" | "La" | "Les")
            && s[p + w.len()..at].trim().is_empty()
            && !tagged(sentence.start + p)
        {
            return Some((sentence.start + p, sentence.start + p + w.len()));
        }
        // "<noun> of X", "<noun> de X", "<noun> d'X".
        let rest = &s[at + word.len()..];
        let name = rest
            .strip_prefix(" of ")
            .or_else(|| rest.strip_prefix(" de "))
            .or_else(|| rest.strip_prefix(" d'"))
            .or_else(|| rest.strip_prefix(" d’"));
        if let Some(name) = name {
            let name = name.trim_start_matches(['"', '\'', '‘', '“']);
            let pos = sentence.start + (s.len() - name.len());
            if capital(name) && !tagged(pos) {
                // The name: its capitalised words.
                // The name: its capitalised words, up to a punctuation mark.
                let mut len = 0;
                for w in name.split(' ') {
                    let bare = w.trim_end_matches([',', '.', ';', ':', ')']);
                    if !capital(bare) {
                        break;
                    }
                    len += usize::from(len > 0) + bare.len();
                    if bare.len() < w.len() {
                        break;
                    }
                }
                return Some((pos, pos + len.max(1)));
            }
        }
    }
    None
}

/// The name of a place the gazetteer lacks, told inside a place it knows: a capitalised name
/// nothing tagged, after "in", "near", "at" or "outside", that ends the sentence or is followed
/// by a comma or a parenthesis and a known place ("in Iztacalco, Ciudad de Mexico", "near Krymske, Luhansk", "in Sheikh
/// Zuweid (Rafah, North Sinai)"). Lowercase particles inside a name stay in it ("Guru ki
/// Wadali", "Tlacotepec de Benito Juarez"), and so do numbers ("Zolote-4").
fn unknown_locality(text: &str, sentence: &Sentence, tags: &[&Tag]) -> Option<(usize, usize)> {
    const BEFORE: [&str; 8] = ["in", "near", "at", "outside", "dans", "près", "à", "en"];
    const PARTICLES: [&str; 11] = ["de", "del", "la", "los", "las", "al", "el", "ki", "da", "do", "des"];
    const NOT_NAMES: [&str; 6] = ["The", "A", "An", "Le", "La", "Les"];
    let s = &text[sentence.start..sentence.end];
    let tagged = |at: usize| {
        let k = tags.partition_point(|t| t.end <= at);
        tags.get(k).is_some_and(|t| t.start <= at)
    };
    let capital = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    static BEFORE_WORDS: LazyLock<WordFinder> = LazyLock::new(|| WordFinder::new(BEFORE));
    for (_, after, _) in BEFORE_WORDS.find(s) {
        // The name: capitalised words (particles between them), none tagged, from the next word.
        let (mut start, mut end) = (None, None);
        let mut previous = after;
        for (k, (p, x)) in fire::words_with_offsets(&s[after..]).map(|(p, x)| (after + p, x)).enumerate() {
            let gap = &s[previous..p];
            if k > 0 && !gap.chars().all(|c| c == ' ' || c == '-') {
                break;
            }
            start.get_or_insert(p);
            let numbered = end.is_some() && gap == "-" && x.bytes().all(|b| b.is_ascii_digit());
            if numbered || capital(x) && !tagged(sentence.start + p) && !(k == 0 && NOT_NAMES.contains(&x)) {
                end = Some(p + x.len());
            } else if !(end.is_some() && PARTICLES.contains(&x)) {
                break;
            }
            previous = p + x.len();
        }
        let (Some(start), Some(end)) = (start, end) else { continue };
        // Then ", Known" or " (Known": the area that holds it; or the end of the sentence ("the
        // monitors observed 5 explosions near Zolote-4."): a place by its position, a name
        // nothing else in the dictionary claims.
        let rest = &s[end..];
        let after = rest.strip_prefix(", ").or_else(|| rest.strip_prefix(" ("));
        if let Some(after) = after {
            let at_area = sentence.start + (s.len() - after.len());
            if tags.iter().any(|t| t.start == at_area && t.kind == EntryKind::Place) {
                return Some((sentence.start + start, sentence.start + end));
            }
        }
        if rest.trim_end().trim_end_matches(['.', '!', '"', '\'', '”']).is_empty() {
            return Some((sentence.start + start, sentence.start + end));
        }
    }
    None
}

/// The event type a tag announces: a trigger, or a casualty word that tells of the act too
/// ("executed", "shot dead").
fn trigger_type(dict: &Dictionary, t: &Tag) -> Option<u16> {
    match t.entry.map(|e| &dict.entry(e).detail) {
        Some(Detail::EventType(i)) => Some(*i),
        Some(Detail::Casualty(word)) => word.implies,
        _ => None,
    }
}

/// Whether a trigger follows a definite article, a demonstrative or "both"/"all", possibly with
/// an actor or adjective between ("the attack", "the US aerial attacks", "ces frappes", "both
/// attacks"), or "one of" ("one of three coordinated attacks"): it mentions an event told.
fn is_reference(text: &str, trigger: &Tag) -> bool {
    // The three words before it, and two more for "one of".
    let before = last_words(&text[..trigger.start], 5);
    // A verb in the past ("members of the ruling party clashed") takes no determiner: "the"
    // before it belongs to its subject.
    let verb = text[trigger.start..trigger.end]
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .is_some_and(|w| w.len() > 3 && w.as_bytes()[w.len() - 2..].eq_ignore_ascii_case(b"ed"));
    let definite = !verb
        && before.iter().take(3).any(|w| {
            ["the", "this", "these", "that", "those", "both", "all", "le", "la", "les", "l", "ce", "ces", "cette"]
                .iter()
                .any(|d| w.eq_ignore_ascii_case(d))
        });
    // "This was one of three coordinated attacks": the event told is one of a set.
    // (last_words runs backwards: "of" before "one".)
    let one_of = before.windows(2).any(|w| {
        (w[0].eq_ignore_ascii_case("of") && w[1].eq_ignore_ascii_case("one"))
            || w[0].eq_ignore_ascii_case("des") && (w[1].eq_ignore_ascii_case("une") || w[1].eq_ignore_ascii_case("un"))
    });
    definite || one_of
}

/// Whether a sentence names the doers of an event already told, with a definite determiner:
/// "security forces killed the four assailants", "killing all four attackers", "les
/// assaillants ont pris la fuite". It tells more of that event, not of a new one.
fn names_the_doers_again(sentence: &str) -> bool {
    const DEFINITE: [&str; 8] = ["the", "all", "both", "these", "those", "les", "ces", "tous"];
    static WORDS: LazyLock<WordFinder> =
        LazyLock::new(|| WordFinder::new(DEFINITE.iter().chain(&casualties::DOERS).copied()));
    // A noun of doers at most three words after the last definite determiner.
    let mut definite_end = None;
    for (start, end, k) in WORDS.find(sentence) {
        if k < DEFINITE.len() {
            definite_end = Some(end);
        } else if definite_end.is_some_and(|e| casualties::words_up_to(&sentence[e..start], 3) <= 2) {
            return true;
        }
    }
    false
}

/// Finds the whole words of a fixed list in a text, ASCII case aside: one pass of a searcher,
/// where reading each word of the text and comparing it with the list takes more.
struct WordFinder(Finder);

impl WordFinder {
    /// # Panics
    /// If a word holds a character that is not alphanumeric (the lists are the code's own).
    fn new<'w>(words: impl IntoIterator<Item = &'w str>) -> WordFinder {
        let words: Vec<&str> = words.into_iter().collect();
        assert!(words.iter().all(|w| w.chars().all(char::is_alphanumeric)), "whole words only: {words:?}");
        WordFinder(Finder::leftmost_longest(&words))
    }

    /// (start, end, index in the list) of each word of the list that is a whole word of `text`
    /// (a run of alphanumeric characters, as [`fire::words_with_offsets`] reads them), in text
    /// order.
    fn find<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize, usize)> + 't {
        self.0.find_all(text.as_bytes()).into_iter().map(|m| (m.start(), m.end(), m.pattern().as_usize())).filter(
            |&(s, e, _)| {
                text[..s].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
                    && text[e..].chars().next().is_none_or(|c| !c.is_alphanumeric())
            },
        )
    }
}

/// Whether a trigger is the noun of a prepositional phrase, with at most two words between
/// the determiner and it: "in the attack", "during the ensuing clash", "lors de l'attaque".
fn in_prepositional_phrase(text: &str, trigger: &Tag) -> bool {
    const DETERMINERS: [&str; 11] = ["the", "a", "an", "this", "that", "these", "those", "le", "la", "les", "l"];
    const PREPOSITIONS: [&str; 20] = [
        "in",
        "during",
        "after",
        "following",
        "from",
        "of",
        "by",
        "for",
        "at",
        "since",
        "amid",
        "before",
        "dans",
        "lors",
        "pendant",
        "après",
        "de",
        "par",
        "du",
        "des",
    ];
    let before = last_words(&text[..trigger.start], 4);
    before
        .iter()
        .take(3)
        .position(|w| DETERMINERS.iter().any(|d| w.eq_ignore_ascii_case(d)))
        .is_some_and(|i| before.get(i + 1).is_some_and(|p| PREPOSITIONS.iter().any(|x| p.eq_ignore_ascii_case(x))))
}

/// Counts a candidate made, or why none was.
fn record(made: Result<Candidate, Skip>, out: &mut Vec<Candidate>, stats: &mut ExtractStats) {
    match made {
        Ok(candidate) => {
            stats.candidates += 1;
            out.push(candidate);
        }
        Err(Skip::Undated) => stats.undated += 1,
        Err(Skip::Negated) => stats.negated += 1,
    }
}

/// Whether a trigger or casualty word tells what a demonstration is about, not what happened
/// at it: a cause word earlier in its clause ("protested against the killing of", "in
/// remembrance of ... executed", "after the death of", "demanding justice for"), or a passive
/// relative clause ("children who have been kidnapped", "a dog which was beaten to death").
fn told_as_cause(text: &str, sentence_start: usize, t: &Tag) -> bool {
    const CAUSE: [&str; 24] = [
        "against",
        "over",
        "about",
        "remembrance",
        "memory",
        "commemorate",
        "commemorating",
        "mourn",
        "mourning",
        "justice",
        "demanding",
        "demand",
        "demanded",
        "after",
        "following",
        "death",
        "deaths",
        "contre",
        "après",
        "suite",
        "mémoire",
        "hommage",
        "réclamer",
        "exiger",
    ];
    const RELATIVE: [&str; 6] = ["who", "which", "that", "whose", "qui", "dont"];
    const PASSIVE: [&str; 7] = ["been", "was", "were", "is", "are", "été", "est"];
    let window = &text[sentence_start.max(window_before(text, t.start, 120))..t.start];
    let clause = window.rfind([';', ':']).map_or(window, |p| &window[p + 1..]);
    let words = last_words(clause, 10);
    let near = last_words(clause, 4);
    words.iter().any(|w| CAUSE.iter().any(|c| c.eq_ignore_ascii_case(w)))
        || near.iter().any(|w| PASSIVE.iter().any(|p| p.eq_ignore_ascii_case(w)))
            && near.iter().any(|w| RELATIVE.iter().any(|r| r.eq_ignore_ascii_case(w)))
}

/// Whether an explosive named by `t` was found rather than set off: the object of a verb of
/// finding in its clause ("police recovered four improvised explosive devices", "unearthed
/// and defused five IEDs") or the subject of one right after ("a timed IED was found").
fn recovered(text: &str, t: &Tag) -> bool {
    const FINDING: [&str; 14] = [
        "recovered",
        "unearthed",
        "found",
        "discovered",
        "uncovered",
        "seized",
        "seizing",
        "confiscated",
        "defused",
        "diffused",
        "découvert",
        "découverte",
        "saisi",
        "retrouvé",
    ];
    let window = &text[window_before(text, t.start, 80)..t.start];
    let clause = window.rfind([',', ';', ':', '.']).map_or(window, |p| &window[p + 1..]);
    let before = last_words(clause, 6);
    let after_text = &text[t.end..window_after(text, t.end, 40)];
    let after: Vec<&str> = after_text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(3).collect();
    let is_finding = |w: &&str| FINDING.iter().any(|f| f.eq_ignore_ascii_case(w));
    let passive = after.first().is_some_and(|w| ["was", "were", "a", "ont"].iter().any(|a| a.eq_ignore_ascii_case(w)));
    before.iter().any(is_finding) || passive && after.get(1).is_some_and(is_finding)
}

/// Whether a denial word denies the event ("the group denied carrying out the attack"), not
/// something refused to people ("after being denied access to buses", "the denial of permits").
fn denies_an_event(text: &str, t: &Tag) -> bool {
    const PASSIVE: [&str; 7] = ["being", "been", "was", "were", "is", "are", "été"];
    let passive = last_words(&text[..t.start], 1).iter().any(|w| PASSIVE.iter().any(|p| p.eq_ignore_ascii_case(w)));
    let next: Vec<&str> =
        text[t.end..].split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(2).collect();
    let denial_of_something = text[t.start..t.end].eq_ignore_ascii_case("denial")
        && next.first().is_some_and(|w| w.eq_ignore_ascii_case("of"))
        && !next.get(1).is_some_and(|w| ["responsibility", "involvement"].iter().any(|r| r.eq_ignore_ascii_case(w)));
    !passive && !denial_of_something
}

/// Whether the word before a tag says the people are armed ("armed individuals", "armed youth",
/// "civils armés" reads the other way and is not caught).
/// Whether a trigger is a verb of firing ("fired", "firing", "tiré"), which tells of fire
/// at a place or a target, not of an assault.
fn is_fire_verb(text: &str, trigger: &Tag) -> bool {
    with_lowercase(&text[trigger.start..trigger.end], |surface| {
        ["fired", "firing", "fires", "tiré", "tirant", "ont tiré"].contains(&surface)
    })
}

/// Whether a trigger's own word says arms were used: "shoot-out", "exchange of fire", "armed
/// clash", "shot dead", "opened fire", "bullet wounds".
fn fought_with_arms(text: &str, trigger: &Tag) -> bool {
    const ARMED_TRIGGER: [&str; 11] =
        ["armed", "fire", "shoot", "shot", "gun", "bullet", "exchange", "armé", "tirs", "feu", "balle"];
    with_lowercase(&text[trigger.start..trigger.end], |surface| ARMED_TRIGGER.iter().any(|w| surface.contains(w)))
        || said_armed(text, trigger)
}

fn said_armed(text: &str, t: &Tag) -> bool {
    last_words(&text[..t.start], 1).iter().any(|w| w.eq_ignore_ascii_case("armed"))
}

/// "members", "others", "victims": person nouns that say nothing of who the people are (the
/// last word of a person cue's surface).
fn is_neutral_person(surface: &str) -> bool {
    const NEUTRAL: [&str; 8] = ["member", "members", "others", "victims", "membre", "membres", "autres", "victimes"];
    let head = surface.rsplit(' ').next().unwrap_or("");
    NEUTRAL.iter().any(|n| n.eq_ignore_ascii_case(head))
}

/// Whether a place tag is the first word of a longer name the gazetteer lacks: "Balad Ruz" is
/// not Balad, "Mosul Dam" not Mosul. The next word is capitalised, untagged and not a noun that
/// names a part or kind of the place ("Kirkuk City", "Mosul Airport", "Hit District"). (The
/// caller keeps a surface that is a short form of its place's name: "Tuz Khormato" is Ţūz
/// Khūrmātū spelt otherwise.)
fn prefix_of_an_unknown_name(text: &str, tags: &[&Tag], t: &Tag) -> bool {
    const KINDS: [&str; 40] = [
        "City",
        "Town",
        "Village",
        "District",
        "Governorate",
        "Province",
        "Region",
        "Area",
        "Airport",
        "University",
        "Market",
        "Street",
        "Road",
        "Square",
        "Countryside",
        "Camp",
        "Refinery",
        "Hospital",
        "Prison",
        "Bridge",
        "Mosque",
        "Station",
        "Junction",
        "Port",
        "Stadium",
        "LGA",
        "County",
        "Subdivision",
        "Municipality",
        "Department",
        "State",
        "Commune",
        "Township",
        "Division",
        "Sector",
        "Prefecture",
        "North",
        "South",
        "East",
        "West",
    ];
    if t.kind != EntryKind::Place || !text[t.end..].starts_with(' ') {
        return false;
    }
    let at = t.end + 1;
    let word: &str = text[at..].split(|c: char| !c.is_alphabetic()).next().unwrap_or("");
    word.chars().next().is_some_and(char::is_uppercase)
        && word.chars().count() >= 2
        && !KINDS.iter().any(|k| k.eq_ignore_ascii_case(word))
        && tags.get(tags.partition_point(|o| o.start < at)).is_none_or(|o| o.start != at)
}

/// Whether a demonstration word names the people ("protesters", "demonstrators",
/// "manifestants"), not the act.
/// Whether a noun of civilians names a crowd: several people ("locals", "villagers", "300
/// people", "youth"), not one ("a man", "a resident"); not people nobody knows ("unknown
/// people", "two individuals": unidentified assailants, ACLED's unidentified armed group), nor
/// members of a named body ("BJP workers", "UTM supporters": the party's men).
fn is_a_crowd(text: &str, t: &Tag) -> bool {
    const COLLECTIVE: [&str; 8] = ["people", "youth", "mob", "crowd", "gens", "foule", "jeunesse", "population"];
    const ANONYMOUS: [&str; 7] =
        ["individuals", "persons", "individus", "personnes", "strangers", "assailants", "inconnus"];
    const UNKNOWN: [&str; 8] =
        ["unknown", "unidentified", "armed", "masked", "inconnus", "inconnues", "armés", "armées"];
    let surface = &text[t.start..t.end];
    let (plural, anonymous) = with_lowercase(surface.rsplit(' ').next().unwrap_or(surface), |head| {
        let plural =
            COLLECTIVE.contains(&head) || head.chars().count() > 3 && (head.ends_with('s') || head.ends_with('x'));
        (plural, ANONYMOUS.contains(&head))
    });
    let before = last_words(&text[..t.start], 1);
    let unknown = before.iter().any(|w| UNKNOWN.iter().any(|u| u.eq_ignore_ascii_case(w)));
    let named_body = before.iter().any(|w| w.chars().next().is_some_and(char::is_uppercase))
        && !text[..t.start].trim_end().ends_with(['.', ','])
        && !before.iter().any(|w| ["On", "In", "At", "Le", "La", "Les", "En", "À"].contains(w));
    plural && !anonymous && !unknown && !named_body
}

fn names_demonstrators(surface: &str) -> bool {
    with_lowercase(surface.rsplit(' ').next().unwrap_or(surface), |last| {
        [
            "protesters",
            "protestors",
            "demonstrators",
            "protester",
            "demonstrator",
            "rioters",
            "rioter",
            "manifestants",
            "manifestantes",
            "émeutiers",
        ]
        .contains(&last)
    })
}

/// "members of the opposition party", "supporters of the union", "membres du parti": people
/// named by a body that takes no part in fighting (a party, a union, a community, a caste), so a
/// crowd when they clash, not one side of an armed clash.
fn member_of_a_civil_body(text: &str, t: &Tag) -> bool {
    const BODIES: [&str; 12] = [
        "party",
        "parties",
        "union",
        "unions",
        "community",
        "communities",
        "caste",
        "castes",
        "parti",
        "partis",
        "syndicat",
        "communauté",
    ];
    text[t.end..window_after(text, t.end, 60)]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .take_while(|w| !["and", "with", "against", "et", "avec", "contre"].iter().any(|s| s.eq_ignore_ascii_case(w)))
        .any(|w| BODIES.iter().any(|b| b.eq_ignore_ascii_case(w)))
}

/// Sticks, stones, knives: what a crowd fights with.
fn is_melee(dict: &Dictionary, t: &Tag) -> bool {
    t.entry.is_some_and(|e| matches!(&dict.entry(e).detail, Detail::Weapon(w) if w.category == WeaponCategory::Melee))
}

fn generic_trigger(dict: &Dictionary, trigger: &Tag) -> bool {
    matches!(trigger.entry.map(|e| &dict.entry(e).detail), Some(Detail::EventType(i)) if dict.event_type(*i).refine_by_weapon)
}

/// The most words [`last_words`] is asked for.
const LAST_WORDS_MAX: usize = 10;

/// The words [`last_words`] found, last first, held in place (no allocation: the grammar asks
/// for them around every tag it reads).
struct LastWords<'a> {
    words: [&'a str; LAST_WORDS_MAX],
    len: usize,
}

impl<'a> std::ops::Deref for LastWords<'a> {
    type Target = [&'a str];

    fn deref(&self) -> &[&'a str] {
        &self.words[..self.len]
    }
}

/// The last `n` (at most [`LAST_WORDS_MAX`]) words before the end of `text`, last first: runs
/// of alphanumeric characters. Lowercase ASCII comparisons are left to the caller.
fn last_words(text: &str, n: usize) -> LastWords<'_> {
    use fire::{BYTE_CLASS, ByteClass};
    debug_assert!(n <= LAST_WORDS_MAX, "at most {LAST_WORDS_MAX} words");
    let n = n.min(LAST_WORDS_MAX);
    let mut found = LastWords { words: [""; LAST_WORDS_MAX], len: 0 };
    let bytes = text.as_bytes();
    // Whether the character that ends at `at` is alphanumeric, and its length, for a character
    // of more than one byte.
    let multibyte = |at: usize| {
        let c = text[..at].chars().next_back().expect("a character ends here");
        (c.is_alphanumeric(), c.len_utf8())
    };
    // Backwards a word at a time: the separators before `at`, then the word's characters; an
    // ASCII byte is one character, read from the table.
    let mut at = text.len();
    while found.len < n {
        loop {
            let Some(&b) = bytes[..at].last() else { return found };
            match BYTE_CLASS[usize::from(b)] {
                ByteClass::Alphanumeric => break,
                ByteClass::Separator => at -= 1,
                ByteClass::Multibyte => match multibyte(at) {
                    (true, _) => break,
                    (false, len) => at -= len,
                },
            }
        }
        let end = at;
        while let Some(&b) = bytes[..at].last() {
            match BYTE_CLASS[usize::from(b)] {
                ByteClass::Alphanumeric => at -= 1,
                ByteClass::Separator => break,
                ByteClass::Multibyte => match multibyte(at) {
                    (true, len) => at -= len,
                    (false, _) => break,
                },
            }
        }
        found.words[found.len] = &text[at..end];
        found.len += 1;
    }
    found
}

fn dedup<T: PartialEq + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// Merges `candidate` into a candidate of the same article (`out[first..]`) that reports the
/// same event, or appends it.
fn merge_into_article(dict: &Dictionary, candidate: Candidate, out: &mut Vec<Candidate>, first: usize) {
    // Protests and riots are one gathering told in several sentences: one family here; the
    // sub-type is settled once the article is read.
    let family = |c: &Candidate| match dict.event_type(c.event_type).family.as_str() {
        "riot" if c.event_type != dict.required_types().mob_violence => "protest",
        f => f,
    };
    let admin1 = |p: &PlaceMention| dict.entry(p.entry).place().and_then(|pl| pl.admin1.clone());
    let is_country = |p: &PlaceMention| dict.entry(p.entry).place().is_some_and(|pl| pl.level == PlaceLevel::Country);
    // A sentence that names no place of its own ("Five people were killed in the blast.")
    // borrowed its location from its neighbours: it cannot contradict another's.
    let places_compatible = |a: &Candidate, b: &Candidate| match (a.location, b.location) {
        _ if a.places.is_empty() || b.places.is_empty() => true,
        (Some(x), Some(y)) => {
            x.entry == y.entry || is_country(&x) || is_country(&y) || admin1(&x).is_some() && admin1(&x) == admin1(&y)
        }
        _ => true,
    };
    let actors_compatible = |a: &Candidate, b: &Candidate| {
        let doers = |c: &Candidate| -> Vec<EntryId> {
            c.actors
                .iter()
                .filter(|(e, r)| *r == Role::Actor && dict.entry(*e).id != UNIDENTIFIED_ACTOR)
                .map(|(e, _)| *e)
                .collect()
        };
        let (x, y) = (doers(a), doers(b));
        x.is_empty() || y.is_empty() || x.iter().any(|e| y.contains(e))
    };
    // "Assailants attacked a checkpoint. Five people were killed in the blast.": a reference
    // to an event just told joins it across the violent families.
    let violent = |c: &Candidate| FAMILY_ORDER[..3].contains(&family(c));
    // "Rioters set fire to a mall. The attack caused material damage.": a reference with no
    // place of its own tells more of the event just told, whatever its family.
    // "An explosive device was discovered near a checkpoint. The device detonated as soldiers
    // tried to defuse it": the disruption failed, the event is the explosion.
    let failed = |c: &Candidate| {
        dict.event_type(c.event_type).code == "disrupted_weapons_use"
            && dict.event_type(candidate.event_type).family == "remote_violence"
    };
    let joins = |c: &Candidate, any_family: bool| {
        (family(c) == family(&candidate)
            || candidate.reference && (violent(c) && violent(&candidate) || any_family)
            || any_family && failed(c))
            && c.date.compatible(&candidate.date, 1)
            && places_compatible(c, &candidate)
            && (candidate.reference || actors_compatible(c, &candidate))
    };
    let kin_at = out[first..].iter().rposition(|c| joins(c, false));
    let just_before = (out.len() > first)
        .then(|| out.len() - 1 - first)
        .filter(|&k| candidate.reference && candidate.places.is_empty() || failed(&out[first + k]))
        .filter(|&k| joins(&out[first + k], true));
    let Some(k) = kin_at.or(just_before) else {
        out.push(candidate);
        return;
    };
    let c = &mut out[first + k];
    // A reference across families ("The attack caused material damage." after an arson) tells
    // more of the event; it does not retype it.
    let kin = family(c) == family(&candidate) || violent(c) && violent(&candidate);
    if failed(c) {
        c.event_type = candidate.event_type;
    }
    if kin && (c.generic || c.fallback) && !candidate.generic && !candidate.fallback {
        c.event_type = candidate.event_type;
        c.generic = false;
        c.fallback = false;
    }
    // The most precise date, an explicit one first.
    let rank = |x: &Candidate| (!x.date_explicit, x.date.precision);
    if rank(&candidate) < rank(c) {
        c.date = candidate.date;
        c.date_explicit = candidate.date_explicit;
    }
    if (candidate.geo_precision < c.geo_precision && !c.pinned) || c.location.is_none() || candidate.pinned && !c.pinned
    {
        c.location = candidate.location;
        c.geo_precision = candidate.geo_precision;
        c.pinned = candidate.pinned;
        c.locality = candidate.locality;
    }
    for p in candidate.places {
        if !c.places.iter().any(|q| q.entry == p.entry) {
            c.places.push(p);
        }
    }
    for p in candidate.located {
        if !c.located.iter().any(|q| q.entry == p.entry) {
            c.located.push(p);
        }
    }
    for (e, r) in candidate.actors {
        match c.actors.iter_mut().find(|(x, _)| *x == e) {
            Some(existing) => existing.1 = existing.1.min(r),
            None => c.actors.push((e, r)),
        }
    }
    for w in candidate.weapons {
        if !c.weapons.contains(&w) {
            c.weapons.push(w);
        }
    }
    c.casualties = merge_casualties(c.casualties, candidate.casualties);
    c.confidence = c.confidence.max(candidate.confidence);
    c.reference &= candidate.reference;
    c.signals = c.signals.union(candidate.signals);
}

/// One source's figures for one event from several sentences: a revised figure wins, else the
/// largest (a total and its parts).
pub fn merge_casualties(a: Casualties, b: Casualties) -> Casualties {
    let pick = |x: Option<casualties::Count>, y: Option<casualties::Count>, xr: bool, yr: bool| match (x, y) {
        (Some(x), Some(y)) => Some(if yr && !xr || yr == xr && y.best > x.best { y } else { x }),
        (x, y) => x.or(y),
    };
    Casualties {
        fatalities: pick(a.fatalities, b.fatalities, a.revised, b.revised),
        injured: pick(a.injured, b.injured, a.revised, b.revised),
        revised: a.revised || b.revised,
        unknown: a.unknown && b.unknown,
    }
}

#[cfg(test)]
mod last_words_tests {
    use super::*;

    /// The words as first written: split on what is not alphanumeric, from the end.
    fn reference(text: &str, n: usize) -> Vec<&str> {
        text.rsplit(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(n).collect()
    }

    #[test]
    fn the_last_words_last_first() {
        assert_eq!(&*last_words("three people were killed by", 2), ["by", "killed"]);
        assert_eq!(&*last_words("a été tué, près d'Alep ", 3), ["Alep", "d", "près"]);
        assert_eq!(&*last_words("قتل ثلاثة", 5), ["ثلاثة", "قتل"]);
        assert!(last_words("  -- ", 3).is_empty());
        assert!(last_words("words", 0).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn the_same_words_as_a_split_from_the_end(text in "[a-zé1 ,.'\\-ـق\u{300}]{0,40}", n in 0..=LAST_WORDS_MAX) {
            proptest::prop_assert_eq!(last_words(&text, n).to_vec(), reference(&text, n));
        }
    }
}

#[cfg(test)]
mod word_finder_tests {
    use super::*;
    use proptest::prelude::*;

    /// As first written: every word of the sentence compared with the lists.
    fn doers_again_reference(sentence: &str) -> bool {
        const DEFINITE: [&str; 8] = ["the", "all", "both", "these", "those", "les", "ces", "tous"];
        let mut since_definite = usize::MAX;
        for w in sentence.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            if since_definite <= 3 && casualties::DOERS.iter().any(|d| w.eq_ignore_ascii_case(d)) {
                return true;
            }
            since_definite =
                if DEFINITE.iter().any(|d| w.eq_ignore_ascii_case(d)) { 1 } else { since_definite.saturating_add(1) };
        }
        false
    }

    #[test]
    fn whole_words_only() {
        let finder = WordFinder::new(["in", "près", "the"]);
        let found: Vec<_> = finder.find("In Bint Jbeil, près d'Inkerman: thein; THE").collect();
        assert_eq!(found, [(0, 2, 0), (15, 20, 1), (40, 43, 2)]);
        assert_eq!(finder.find("éin inà").count(), 0, "letters outside ASCII join words too");
    }

    #[test]
    fn doers_told_again() {
        assert!(names_the_doers_again("Security forces killed the four assailants."));
        assert!(names_the_doers_again("les assaillants ont pris la fuite"));
        assert!(!names_the_doers_again("The army said that six days later, assailants attacked."));
    }

    proptest! {
        #[test]
        fn doers_again_as_word_by_word(
            words in proptest::collection::vec(
                "(the|The|ALL|both|les|tous|four|armed|attackers|Gunmen|bomber|kamikazes|é|xthe|attackersé|1)",
                0..12,
            ),
            separators in proptest::collection::vec("( |, |-|'|\u{300}|é)", 12),
        ) {
            let sentence: String =
                words.iter().zip(&separators).flat_map(|(w, s)| [w.as_str(), s.as_str()]).collect();
            prop_assert_eq!(names_the_doers_again(&sentence), doers_again_reference(&sentence));
        }
    }
}
