//! Deduplication: many reports of one event become one record, created once and then updated.
//!
//! Two layers, over bounded, time-windowed state:
//! 1. **articles**: an article seen before (same id, same text) is skipped whole, so a
//!    redelivered message changes nothing; nor does an article whose text an event already
//!    holds as a report (a process stopped after writing the event's state, before the
//!    article's). The same id with a new text is an edit: it updates its own events. Each
//!    event's evidence sentence is sketched ([`minhash`]); an article whose sketches match an
//!    earlier article's is a near-duplicate (`duplicate_of`), and a sentence republished from an
//!    earlier article joins the event its twin produced when place, date, tolls and sides agree.
//!    No report is ever dropped: what matches nothing is a new event.
//! 2. **events**: a candidate merges into a known event only on evidence (`Deduper::best_match`):
//!    the type family, the same day, a place that agrees on a specific footing
//!    (`place_agreement` 2 or more), no different doers, targets or sub-types. Agreement on a
//!    governorate or a country and a day alone (or no place on one side) makes a new event
//!    linked to the known one (`possible_duplicates`). The closest match wins; ties go to the
//!    smallest event id, so the result does not depend on hash order.
//!
//! A match updates the event (revision + 1, source added or replaced, more precise date or
//! place adopted, actors and weapons added). Tolls are kept per reporting outlet: the latest
//! report of an outlet replaces its earlier figure (SOHR's "death toll update"); across outlets
//! the event shows the most conservative figure as `best`, the lowest and highest as `low` and
//! `high`.
//!
//! State is bounded by a window on two clocks (`Clock`): publication dates, and for what has
//! none the day it was received. An event is forgotten `window_days` after its latest report,
//! an article `window_days` after its publication (or receipt), counted back from the newest
//! time seen on its clock; a publication date further than `max_future_days` past its receipt
//! is clamped to it, so one outlier cannot empty the state. Caps on events and articles bound
//! it further (the least recently reported go first, undated first), each eviction a B-tree's
//! first entry. Every change is recorded as a key/value pair ([`StateChange`]) that a compacted
//! changelog can persist; [`Deduper::restore`] rebuilds the state from them.
//!
//! Pure and synchronous: time is what the caller passes (publication dates, the receipt day of
//! [`ArticleMeta::received`]), never a clock read here.

pub mod keys;
pub mod minhash;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use foldhash::fast::FixedState;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dictionary::{DatePrecision, Detail, Dictionary, EntryId, Lang, PlaceLevel};
use crate::extract::casualties::Count;
use crate::extract::dates::ResolvedDate;
use crate::extract::{Candidate, Role};
use crate::normalize::Normalized;
pub use keys::EventKey;
use keys::{ArticleHandles, Interner, SharedCodings, SharedPlaces};
use minhash::{Sketch, SketchBuilder, SketchIndex};

/// Dedup settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Events and articles older than this many days before the newest publication date are
    /// forgotten.
    pub window_days: u32,
    /// At most this many live events; beyond it, the oldest are forgotten.
    pub max_events: usize,
    /// At most this many remembered articles.
    pub max_articles: usize,
    /// Two points this close (km) can be one event's place.
    pub distance_km: f64,
    /// At most this many sources kept per event (the count of reports goes on).
    pub max_sources: usize,
    /// Evidence sentences are cut to this many characters.
    pub evidence_chars: usize,
    /// Sketch similarity from which an evidence sentence is a republication.
    pub sentence_similarity: f64,
    /// Sketch similarity from which an article is a near-duplicate of another.
    pub article_similarity: f64,
    /// A publication date more than this many days after the time the article was received
    /// (the message's timestamp, or the clock) is not believed: the state takes the received
    /// time instead, so one outlier cannot move the window.
    pub max_future_days: u32,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window_days: 14,
            max_events: 200_000,
            max_articles: 200_000,
            distance_km: 25.0,
            max_sources: 50,
            evidence_chars: 300,
            sentence_similarity: 0.6,
            article_similarity: 0.8,
            max_future_days: 1,
        }
    }
}

/// An event as lexwire knows it: what its record says.
#[derive(Debug, Clone, PartialEq)]
pub struct EventState {
    /// Written as the id (`ev_` and 16 hex digits); kept as its number.
    pub event_id: EventKey,
    pub revision: u32,
    /// The type, its family and the dictionary version that coded it, shared by the events
    /// of that type ([`EventState::event_type`], [`EventState::family`],
    /// [`EventState::dictionary_version`]).
    pub coding: Arc<Coding>,
    pub generic: bool,
    pub date: ResolvedDate,
    pub location: Option<LocationState>,
    // Boxed slices, not vectors: 8 bytes less each, and a list grows by one report at a time.
    pub actors: Box<[ActorState]>,
    pub weapons: Box<[Arc<str>]>,
    pub fatalities: Option<Count>,
    pub injured: Option<Count>,
    pub confidence: f32,
    pub sources: Box<[SourceState]>,
    /// The time of the latest report: its publication date, else the day lexwire received it
    /// (`last_seen_received`), else the event's date. The state forgets the event
    /// `window_days` after it, on the clock it was read from.
    pub last_seen: NaiveDate,
    pub last_seen_received: bool,
    /// Reports beyond the `max_sources` kept.
    pub more_sources: u32,
    /// Known events this one may be a report of, on too little evidence to merge them.
    pub possible_duplicates: Box<[Link]>,
}

/// How an event was coded. The strings that events repeat (codes, places, actors, outlets) are
/// shared: one copy in the state, whatever the number of events; these three, one pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Coding {
    /// Taxonomy code; names, ACLED and CAMEO codes come from the dictionary when encoding.
    pub event_type: Arc<str>,
    pub family: Arc<str>,
    pub dictionary_version: Arc<str>,
}

impl EventState {
    pub fn event_type(&self) -> &Arc<str> {
        &self.coding.event_type
    }

    pub fn family(&self) -> &Arc<str> {
        &self.coding.family
    }

    pub fn dictionary_version(&self) -> &Arc<str> {
        &self.coding.dictionary_version
    }
}

/// An event as saved state writes it (the form it always had).
#[derive(Serialize, Deserialize)]
struct EventRepr<'a> {
    event_id: EventKey,
    revision: u32,
    event_type: Arc<str>,
    family: Arc<str>,
    generic: bool,
    date: ResolvedDate,
    location: Cow<'a, Option<LocationState>>,
    actors: Cow<'a, [ActorState]>,
    weapons: Cow<'a, [Arc<str>]>,
    fatalities: Option<Count>,
    injured: Option<Count>,
    confidence: f32,
    sources: Cow<'a, [SourceState]>,
    last_seen: NaiveDate,
    #[serde(default, skip_serializing_if = "is_false")]
    last_seen_received: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    more_sources: u32,
    #[serde(default, skip_serializing_if = "<[Link]>::is_empty")]
    possible_duplicates: Cow<'a, [Link]>,
    dictionary_version: Arc<str>,
}

impl Serialize for EventState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventRepr {
            event_id: self.event_id,
            revision: self.revision,
            event_type: self.coding.event_type.clone(),
            family: self.coding.family.clone(),
            generic: self.generic,
            date: self.date,
            location: Cow::Borrowed(&self.location),
            actors: Cow::Borrowed(&self.actors),
            weapons: Cow::Borrowed(&self.weapons),
            fatalities: self.fatalities,
            injured: self.injured,
            confidence: self.confidence,
            sources: Cow::Borrowed(&self.sources),
            last_seen: self.last_seen,
            last_seen_received: self.last_seen_received,
            more_sources: self.more_sources,
            possible_duplicates: Cow::Borrowed(&self.possible_duplicates),
            dictionary_version: self.coding.dictionary_version.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = EventRepr::deserialize(deserializer)?;
        // Not shared yet: restoring shares the strings of what it reads.
        let coding = Coding { event_type: r.event_type, family: r.family, dictionary_version: r.dictionary_version };
        Ok(EventState {
            event_id: r.event_id,
            revision: r.revision,
            coding: Arc::new(coding),
            generic: r.generic,
            date: r.date,
            location: r.location.into_owned(),
            actors: r.actors.into_owned().into(),
            weapons: r.weapons.into_owned().into(),
            fatalities: r.fatalities,
            injured: r.injured,
            confidence: r.confidence,
            sources: r.sources.into_owned().into(),
            last_seen: r.last_seen,
            last_seen_received: r.last_seen_received,
            more_sources: r.more_sources,
            possible_duplicates: r.possible_duplicates.into_owned().into(),
        })
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A known event that may be the same as this one, with how much the two agree (0 to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub event_id: EventKey,
    pub score: f32,
}

/// Where an event took place: the gazetteer's place (shared by every event there; its fields
/// read through this), as the report named it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FlatLocation", into = "FlatLocation")]
pub struct LocationState {
    pub place: Arc<PlaceFacts>,
    /// The alias as the first report wrote it.
    pub surface: Arc<str>,
    pub geo_precision: u8,
    /// A place inside this one that the text names and the gazetteer lacks ("Iztacalco" in
    /// Mexico City), as the first report wrote it.
    pub locality: Option<Box<str>>,
}

impl std::ops::Deref for LocationState {
    type Target = PlaceFacts;

    fn deref(&self) -> &PlaceFacts {
        &self.place
    }
}

/// What the gazetteer says of a place.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceFacts {
    pub place_id: Arc<str>,
    pub name: Arc<str>,
    pub country: Arc<str>,
    pub admin1: Option<Arc<str>>,
    pub admin1_name: Option<Arc<str>>,
    pub admin2: Option<Arc<str>>,
    pub admin2_name: Option<Arc<str>>,
    pub lat: f64,
    pub lon: f64,
    pub feature_class: Arc<str>,
    pub level: PlaceLevel,
}

/// A location as records and saved state write it: one object, in this order.
#[derive(Serialize, Deserialize)]
struct FlatLocation {
    place_id: Arc<str>,
    name: Arc<str>,
    surface: Arc<str>,
    country: Arc<str>,
    admin1: Option<Arc<str>>,
    admin1_name: Option<Arc<str>>,
    admin2: Option<Arc<str>>,
    admin2_name: Option<Arc<str>>,
    lat: f64,
    lon: f64,
    feature_class: Arc<str>,
    level: PlaceLevel,
    geo_precision: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locality: Option<Box<str>>,
}

impl From<FlatLocation> for LocationState {
    fn from(l: FlatLocation) -> LocationState {
        let place = PlaceFacts {
            place_id: l.place_id,
            name: l.name,
            country: l.country,
            admin1: l.admin1,
            admin1_name: l.admin1_name,
            admin2: l.admin2,
            admin2_name: l.admin2_name,
            lat: l.lat,
            lon: l.lon,
            feature_class: l.feature_class,
            level: l.level,
        };
        LocationState {
            place: Arc::new(place),
            surface: l.surface,
            geo_precision: l.geo_precision,
            locality: l.locality,
        }
    }
}

impl From<LocationState> for FlatLocation {
    fn from(l: LocationState) -> FlatLocation {
        let p = &*l.place;
        FlatLocation {
            place_id: p.place_id.clone(),
            name: p.name.clone(),
            surface: l.surface,
            country: p.country.clone(),
            admin1: p.admin1.clone(),
            admin1_name: p.admin1_name.clone(),
            admin2: p.admin2.clone(),
            admin2_name: p.admin2_name.clone(),
            lat: p.lat,
            lon: p.lon,
            feature_class: p.feature_class.clone(),
            level: p.level,
            geo_precision: l.geo_precision,
            locality: l.locality,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorState {
    pub id: Arc<str>,
    pub role: Role,
}

/// One article's report of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceState {
    // The article id is the article state's copy, the outlet one shared by all its reports,
    // `duplicate_of` the earlier article's id.
    pub article_id: Arc<str>,
    pub source: Option<Arc<str>>,
    pub language: Lang,
    pub duplicate_of: Option<Arc<str>>,
    /// The sentence that reports the event, as byte offsets into the article's original text
    /// (32 bits: a text is at most [`crate::normalize::MAX_TEXT_BYTES`]).
    pub evidence: Span,
    pub fatalities: Option<Count>,
    pub injured: Option<Count>,
    /// The order in which lexwire processed the article: a later report of an outlet
    /// replaces its earlier toll.
    pub seq: u64,
    /// A hash of the article's text: the same text again is the same report, not a new one.
    pub content_hash: u64,
    /// The evidence sentence, the URL and the publication time, one after the other in one
    /// allocation: a report is never edited once read, and every source of every live event
    /// holds these three.
    texts: Box<str>,
    url_len: u32,
    published_len: u32,
}

/// A byte range of an article's original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// The length of a text a source lacks.
const ABSENT: u32 = u32::MAX;

/// An event's id: the first 8 bytes of the SHA-256 of its first sighting's canonical
/// signature, `lexwire.event/v1|family|code|date|place id|article id|evidence start`. The
/// pieces go to the hasher one by one, the date as chrono writes it (ISO, `YYYY-MM-DD` for the
/// years 0 to 9999), so that no string is built for each event.
fn event_key(family: &str, code: &str, date: NaiveDate, place_id: &str, article_id: &str, evidence: usize) -> EventKey {
    let mut h = Sha256::new();
    h.update(b"lexwire.event/v1|");
    for piece in [family, code] {
        h.update(piece.as_bytes());
        h.update(b"|");
    }
    match u32::try_from(date.year()).ok().filter(|&y| y <= 9999) {
        Some(year) => h.update(crate::json::iso_date(year, date.month(), date.day())),
        None => h.update(date.to_string().as_bytes()),
    }
    for piece in [place_id, article_id] {
        h.update(b"|");
        h.update(piece.as_bytes());
    }
    h.update(b"|");
    h.update(itoa::Buffer::new().format(evidence).as_bytes());
    let digest = h.finalize();
    EventKey(u64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 digest has 8 bytes")))
}

/// A source's texts in one allocation, with the lengths of the URL and the publication time
/// ([`ABSENT`] for none).
fn pack_texts(sentence: &str, url: Option<&str>, published_at: Option<&str>) -> (Box<str>, u32, u32) {
    // simd-json decodes messages of at most 4 GiB (`u32::MAX` bytes), quotes included.
    let len = |t: Option<&str>| {
        t.map_or(ABSENT, |t| u32::try_from(t.len()).ok().filter(|&n| n != ABSENT).expect("a field under 4 GiB"))
    };
    let texts = [sentence, url.unwrap_or(""), published_at.unwrap_or("")].concat().into_boxed_str();
    (texts, len(url), len(published_at))
}

impl SourceState {
    fn text_len(len: u32) -> usize {
        if len == ABSENT { 0 } else { len as usize }
    }

    /// The evidence sentence, cut at [`DedupConfig::evidence_chars`].
    pub fn sentence(&self) -> &str {
        let end = self.texts.len() - Self::text_len(self.url_len) - Self::text_len(self.published_len);
        &self.texts[..end]
    }

    pub fn url(&self) -> Option<&str> {
        let end = self.texts.len() - Self::text_len(self.published_len);
        (self.url_len != ABSENT).then(|| &self.texts[end - self.url_len as usize..end])
    }

    pub fn published_at(&self) -> Option<&str> {
        (self.published_len != ABSENT).then(|| &self.texts[self.texts.len() - self.published_len as usize..])
    }
}

/// A source as records and saved state write it.
#[derive(Serialize, Deserialize)]
struct SourceRepr<'a> {
    article_id: Arc<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<Arc<str>>,
    language: Lang,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    published_at: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<Arc<str>>,
    evidence: EvidenceRepr<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fatalities: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    injured: Option<Count>,
    seq: u64,
    #[serde(default)]
    content_hash: u64,
}

/// A source's evidence as records and saved state write it: the span and the sentence.
#[derive(Serialize, Deserialize)]
pub(crate) struct EvidenceRepr<'a> {
    start: u32,
    end: u32,
    sentence: Cow<'a, str>,
}

impl<'a> EvidenceRepr<'a> {
    pub(crate) fn of(s: &'a SourceState) -> EvidenceRepr<'a> {
        EvidenceRepr { start: s.evidence.start, end: s.evidence.end, sentence: Cow::Borrowed(s.sentence()) }
    }
}

impl Serialize for SourceState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SourceRepr {
            article_id: self.article_id.clone(),
            url: self.url().map(Cow::Borrowed),
            source: self.source.clone(),
            language: self.language,
            published_at: self.published_at().map(Cow::Borrowed),
            duplicate_of: self.duplicate_of.clone(),
            evidence: EvidenceRepr::of(self),
            fatalities: self.fatalities,
            injured: self.injured,
            seq: self.seq,
            content_hash: self.content_hash,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SourceState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = SourceRepr::deserialize(deserializer)?;
        let (texts, url_len, published_len) =
            pack_texts(&r.evidence.sentence, r.url.as_deref(), r.published_at.as_deref());
        Ok(SourceState {
            article_id: r.article_id,
            source: r.source,
            language: r.language,
            duplicate_of: r.duplicate_of,
            evidence: Span { start: r.evidence.start, end: r.evidence.end },
            fatalities: r.fatalities,
            injured: r.injured,
            seq: r.seq,
            content_hash: r.content_hash,
            texts,
            url_len,
            published_len,
        })
    }
}

/// What lexwire remembers of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleState {
    /// The publication date, no later than `received` allows ([`DedupConfig::max_future_days`]).
    pub published: Option<NaiveDate>,
    /// The day lexwire received the article, when the caller said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<NaiveDate>,
    pub content_hash: u64,
    pub seq: u64,
    /// The whole article's sketch.
    pub sketch: Sketch,
    /// One per event the article reported: the evidence sentence's sketch and the event.
    pub evidence: Box<[(Sketch, EventKey)]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<Arc<str>>,
    /// Its number in the deduper's indexes while remembered ([`ArticleHandles`]), not saved.
    #[serde(skip)]
    handle: u32,
}

/// An evidence sentence of a remembered article in the sketch index: the article's handle and
/// the sentence's place in [`ArticleState::evidence`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct EvidenceKey {
    article: u32,
    index: u32,
}

/// The article being deduplicated.
#[derive(Debug, Clone, Copy)]
pub struct ArticleMeta<'a> {
    pub id: &'a str,
    pub url: Option<&'a str>,
    pub source: Option<&'a str>,
    pub language: Lang,
    pub published_at: Option<&'a str>,
    pub published: Option<NaiveDate>,
    /// The day the article was received: the message's timestamp in the service, the clock
    /// offline. `None` in pure uses (tests, `eval`): then only publication dates count.
    pub received: Option<NaiveDate>,
    pub text: &'a str,
    /// A sketch of the whole article, for near-duplicate articles ([`tag_sketch`]).
    pub sketch: &'a Sketch,
}

/// Whether a record announces a new event or an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Updated,
}

/// What one article did to the state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The events to publish, in order of first mention in the article.
    pub records: Vec<(String, Status)>,
    /// The article was processed before (same id, same text): nothing changed.
    pub seen_before: bool,
    pub duplicate_of: Option<String>,
    /// The publication date was further in the future than `max_future_days` allows: the
    /// received time stood for it.
    pub future_date: bool,
    /// Events this article created with links to possible duplicates, not merged.
    pub linked: usize,
    /// For an article seen before: the live events it reported.
    pub replay: Vec<String>,
    /// Candidates of this article that merged into an event already known.
    pub duplicates: usize,
}

/// A key and its new value (`None`: deleted), for a compacted changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// Why state could not be restored.
#[derive(Debug, thiserror::Error)]
#[error("cannot restore dedup state key {key:?}: {message}")]
pub struct RestoreError {
    pub key: String,
    pub message: String,
}

/// The deduplicator and its state. One per partition of the event key space.
#[derive(Debug, Default)]
pub struct Deduper {
    config: DedupConfig,
    // Boxed: a hash table keeps spare slots, and a box in a slot is 8 bytes where an event is
    // hundreds.
    events: HashMap<EventKey, Box<EventState>, FixedState>,
    /// ([`family_key`], day, event) of the events dated to a day: candidates look up a date
    /// range. Such an event agrees only with a report of its day or a report's range that
    /// holds it, give or take a day, so a report scans a day or its range of this index.
    by_date: BTreeSet<(u32, NaiveDate, EventKey)>,
    /// ([`family_key`], first day of the date range, event) of the events dated to a week, a
    /// month or a year only: the ones a report can agree with though their range starts weeks
    /// before its date. A report scans weeks of this index.
    wide_by_date: BTreeSet<(u32, NaiveDate, EventKey)>,
    /// (date of the last report, event), per [`Clock`]: eviction order.
    by_end: [BTreeSet<(NaiveDate, EventKey)>; 2],
    /// By article id; the key is the one copy of the id that the indexes and sources share.
    articles: HashMap<Arc<str>, ArticleState, FixedState>,
    /// (publication or receipt date, article id), per [`Clock`].
    articles_by_date: [BTreeSet<(NaiveDate, Arc<str>)>; 2],
    /// Evidence sketches by article handle and index; the sketches stay in
    /// [`ArticleState::evidence`].
    evidence_index: SketchIndex<EvidenceKey>,
    /// The ids of the remembered articles by handle.
    article_handles: ArticleHandles,
    /// Article sketches ([`ArticleState::sketch`]).
    article_index: SketchIndex<Arc<str>>,
    /// The newest time seen on each [`Clock`]: the window counts back from it.
    watermarks: [Option<NaiveDate>; 2],
    seq: u64,
    changed_events: BTreeSet<EventKey>,
    changed_articles: BTreeSet<Arc<str>>,
    strings: Interner,
    places: SharedPlaces,
    codings: SharedCodings,
    norm: Normalized,
}

/// The clock that ages a piece of state: publication dates (event time), or, for what has no
/// publication date, the days lexwire received it. Kept apart so that undated messages dated
/// by their receipt (now) never push a replay of dated archives out of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Published = 0,
    Received = 1,
}

/// At most this many possible duplicates are linked to a new event, from this score.
const MAX_LINKS: usize = 3;
const MIN_LINK_SCORE: f32 = 0.6;

const EVENT_KEY: &str = "event/";
const ARTICLE_KEY: &str = "article/";
const MAX_MONTH_DAYS: u64 = 31;

impl Deduper {
    pub fn new(config: DedupConfig) -> Self {
        Deduper { config, ..Deduper::default() }
    }

    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    pub fn event(&self, id: &str) -> Option<&EventState> {
        EventKey::parse(id).and_then(|k| self.events.get(&k)).map(|e| &**e)
    }

    pub fn live_events(&self) -> usize {
        self.events.len()
    }

    pub fn remembered_articles(&self) -> usize {
        self.articles.len()
    }

    /// Every live event, in event id order.
    pub fn events(&self) -> Vec<&EventState> {
        let mut all: Vec<(&EventKey, &Box<EventState>)> = self.events.iter().collect();
        all.sort_unstable_by_key(|(k, _)| **k);
        all.into_iter().map(|(_, e)| &**e).collect()
    }

    /// Deduplicates one article's candidates (from [`crate::extract::Extractor::extract`]).
    pub fn process(&mut self, dict: &Dictionary, article: &ArticleMeta<'_>, candidates: &[Candidate]) -> Outcome {
        let mut outcome = Outcome::default();
        let content_hash = fast_hash(article.text.as_bytes());
        if let Some(known) = self.articles.get(article.id)
            && known.content_hash == content_hash
        {
            outcome.seen_before = true;
            // A redelivery: the live events the article reported, for a caller that must
            // re-publish them (its earlier records may not have reached the broker).
            for (_, key) in &known.evidence {
                let id = key.to_string();
                if self.events.contains_key(key) && !outcome.replay.contains(&id) {
                    outcome.replay.push(id);
                }
            }
            return outcome;
        }
        self.seq += 1;
        let seq = self.seq;
        // Evict what the previous articles pushed out of the window or over the caps: here, not at
        // the end, so that the events this article creates or updates are still there to be
        // announced (a late article's events leave with the next article).
        self.evict();
        // A publication date past the receipt time (or the newest receipt seen) by more than the
        // allowed skew is an outlier ("9999-01-01"): the receipt time stands for it.
        let limit = article
            .received
            .or(self.watermarks[Clock::Received as usize])
            .and_then(|r| r.checked_add_days(Days::new(self.config.max_future_days.into())));
        let published = match (article.published, limit) {
            (Some(p), Some(limit)) if p > limit => {
                outcome.future_date = true;
                Some(limit)
            }
            (p, _) => p,
        };
        advance(&mut self.watermarks[Clock::Published as usize], published);
        advance(&mut self.watermarks[Clock::Received as usize], article.received);
        let time = match (published, article.received) {
            (Some(p), _) => Some((p, Clock::Published)),
            (None, Some(r)) => Some((r, Clock::Received)),
            (None, None) => None,
        };
        let article_id = self.strings.get(article.id);
        // The events this article id reported in an earlier text: an edited article updates its
        // own events.
        let own: Vec<EventKey> = self
            .articles
            .get(article.id)
            .map(|a| a.evidence.iter().map(|(_, e)| *e).filter(|e| self.events.contains_key(e)).collect())
            .unwrap_or_default();

        // Sketches of the evidence sentences, and of the article as their union.
        let sketches: Vec<Sketch> = candidates
            .iter()
            .map(|c| {
                let mut b = SketchBuilder::default();
                b.add_text(&article.text[c.evidence.0..c.evidence.1], &mut self.norm);
                b.finish()
            })
            .collect();
        let duplicate_of = if article.sketch.is_full() {
            // Ties go to the smallest article id.
            let others = |k: &Arc<str>| {
                let (id, a) = self.articles.get_key_value(k).filter(|(id, _)| ***id != *article.id)?;
                Some((&a.sketch, &**id))
            };
            self.article_index.most_similar(article.sketch, self.config.article_similarity, others).map(|(k, _)| k)
        } else {
            None
        };
        outcome.duplicate_of = duplicate_of.as_deref().map(String::from);

        let mut records: Vec<(EventKey, Status)> = Vec::new();
        // Exact capacities here and below: the state keeps these lists for weeks.
        let mut evidence_links = Vec::with_capacity(candidates.len());
        for (candidate, sketch) in candidates.iter().zip(&sketches) {
            // A sentence republished from another article: the events it produced there.
            let evidence = |k: &EvidenceKey| {
                let id = self.article_handles.id(k.article)?;
                Some((id, self.articles.get(id)?.evidence.get(k.index as usize)?))
            };
            let republished: Vec<EventKey> = if sketch.is_full() {
                // Ties go to the smallest (article id, index).
                let others = |k: &EvidenceKey| {
                    let (id, (s, _)) = evidence(k).filter(|(id, _)| ***id != *article.id)?;
                    Some((s, (&**id, k.index)))
                };
                self.evidence_index
                    .most_similar(sketch, self.config.sentence_similarity, others)
                    .and_then(|(k, _)| evidence(&k))
                    .map(|(_, (_, e))| vec![*e])
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let (key, proto) = self.proto_event(
                dict,
                article,
                &article_id,
                candidate,
                (seq, content_hash),
                duplicate_of.clone(),
                time,
            );
            // The event this candidate created when the same text was processed before (the
            // state of a process stopped midway holds the events of its last article without the
            // article), else the closest known one.
            let (matched, links) = if self.applied_before(key, article.id, content_hash, seq) {
                (Some(key), Vec::new())
            } else {
                let facts = ReportFacts::of(dict, candidate);
                self.best_match(&proto, &facts, &own, &republished)
            };
            let (key, status) = match matched {
                Some(key) => {
                    let created_now = records.iter().any(|(e, st)| *e == key && *st == Status::Created);
                    let touched_now = records.iter().any(|(e, _)| *e == key);
                    // The same text reported into this event already: applying it again would
                    // count it twice; the event is announced as it stands.
                    if !self.applied_before(key, article.id, content_hash, seq) {
                        outcome.duplicates += 1;
                        self.update(key, proto, !touched_now);
                    }
                    (key, if created_now { Status::Created } else { Status::Updated })
                }
                // Nothing known agrees enough: a new event, linked to those it may repeat.
                None => {
                    let mut proto = proto;
                    outcome.linked += !links.is_empty() as usize;
                    proto.possible_duplicates = links.into_boxed_slice();
                    self.insert(key, proto);
                    (key, Status::Created)
                }
            };
            evidence_links.push((*sketch, key));
            if !records.iter().any(|(e, _)| *e == key) {
                records.push((key, status));
            }
        }
        outcome.records = records.into_iter().map(|(key, status)| (key.to_string(), status)).collect();

        // Remember the article.
        if let Some(old) = self.articles.remove(article.id) {
            self.forget_article_indexes(&article_id, &old);
        }
        let mut state = ArticleState {
            published,
            received: article.received,
            content_hash,
            seq,
            sketch: *article.sketch,
            evidence: evidence_links.into_boxed_slice(),
            duplicate_of,
            handle: 0,
        };
        self.index_article(&article_id, &mut state);
        self.changed_articles.insert(article_id.clone());
        self.articles.insert(article_id, state);
        outcome
    }

    /// Whether event `key` holds a report of this article's text from an earlier processing
    /// (another `seq`).
    fn applied_before(&self, key: EventKey, article_id: &str, content_hash: u64, seq: u64) -> bool {
        self.events.get(&key).is_some_and(|e| {
            e.sources.iter().any(|s| &*s.article_id == article_id && s.content_hash == content_hash && s.seq != seq)
        })
    }

    /// The event a candidate would create, with its deterministic id.
    #[allow(clippy::too_many_arguments)]
    fn proto_event(
        &mut self,
        dict: &Dictionary,
        article: &ArticleMeta<'_>,
        article_id: &Arc<str>,
        c: &Candidate,
        (seq, content_hash): (u64, u64),
        duplicate_of: Option<Arc<str>>,
        time: Option<(NaiveDate, Clock)>,
    ) -> (EventKey, EventState) {
        let ty = dict.event_type(c.event_type);
        let location = c.location.and_then(|p| {
            let entry = dict.entry(p.entry);
            let place = self.place_facts(dict, p.entry)?;
            Some(LocationState {
                place,
                surface: self.strings.get(if p.end > p.start { &article.text[p.start..p.end] } else { &entry.name }),
                geo_precision: c.geo_precision,
                locality: c.locality.map(|(start, end)| article.text[start..end].into()),
            })
        });
        let strings = &mut self.strings;
        let actors =
            c.actors.iter().map(|(e, role)| ActorState { id: strings.get(&dict.entry(*e).id), role: *role }).collect();
        let weapons = c.weapons.iter().map(|w| strings.get(&dict.entry(*w).id)).collect();
        let sentence = &article.text[c.evidence.0..c.evidence.1];
        let sentence = match sentence.char_indices().nth(self.config.evidence_chars) {
            Some((cut, _)) => format!("{}…", &sentence[..cut]),
            None => sentence.to_string(),
        };
        let (texts, url_len, published_len) = pack_texts(&sentence, article.url, article.published_at);
        let source = SourceState {
            article_id: article_id.clone(),
            source: article.source.map(|s| self.strings.get(s)),
            language: article.language,
            duplicate_of,
            evidence: Span { start: offset(c.evidence.0), end: offset(c.evidence.1) },
            fatalities: c.casualties.fatalities,
            injured: c.casualties.injured,
            seq,
            content_hash,
            texts,
            url_len,
            published_len,
        };
        let place_id = location.as_ref().map_or("", |l| &*l.place_id);
        let key = event_key(&ty.family, &ty.code, c.date.date, place_id, article.id, c.evidence.0);
        let event = EventState {
            event_id: key,
            revision: 1,
            coding: self.codings.get(&ty.code, &ty.family, dict.version(), &mut self.strings),
            generic: c.generic,
            date: c.date,
            location,
            actors,
            weapons,
            fatalities: c.casualties.fatalities,
            injured: c.casualties.injured,
            confidence: c.confidence,
            sources: Box::new([source]),
            // The report's time, not the event's date: a report of an old event keeps it alive,
            // and a date read wrong from the text cannot hold state in the window.
            last_seen: time.map_or(c.date.date, |(t, _)| t),
            last_seen_received: time.is_some_and(|(_, clock)| clock == Clock::Received),
            more_sources: 0,
            possible_duplicates: Box::default(),
        };
        (key, event)
    }

    /// The known event a candidate reports, if any, with links to the events it may repeat
    /// when none agrees enough to merge.
    ///
    /// - `own`: the events this article id reported in an earlier text. An edit updates them
    ///   when the type family and date agree and the place does not conflict.
    /// - `republished`: the events the candidate's twin sentence produced in another article,
    ///   when family, date, place, tolls and the people on both sides agree, and the sentence
    ///   is the same word for word ([`word_for_word`]) or [`corroborated`]; the place may be one
    ///   that holds the other only where both sides took theirs from their articles.
    /// - otherwise the events of the same family and a compatible date whose place agrees on a
    ///   specific footing (the same place, or an approximate place near or in the district of
    ///   the other), whose doers and targets do not differ, and that share something more
    ///   ([`corroborated`]) unless the report revises a toll ("rose to seven": it tells of an
    ///   event already known); the closest wins, ties to the smallest id. Events that agree
    ///   only on a wide area (a governorate and a day), on a place and a day with nothing more,
    ///   or where either has no place, are not merged but linked.
    fn best_match(
        &self,
        proto: &EventState,
        facts: &ReportFacts,
        own: &[EventKey],
        republished: &[EventKey],
    ) -> (Option<EventKey>, Vec<Link>) {
        let km = self.config.distance_km;
        // The date first: most events of a range are of another day, and the family is a string.
        // The family strings are shared: one pointer compare, most often.
        let family_and_date = |e: &EventState| {
            dates_agree(&e.date, &proto.date)
                && (Arc::ptr_eq(e.family(), proto.family()) || e.family() == proto.family())
        };
        // The best of `events` by (place agreement, date closeness); among equals the smallest id.
        let pick = |events: &mut dyn Iterator<Item = (EventKey, &EventState)>, fits: &dyn Fn(&EventState) -> bool| {
            let mut best: Option<((u8, i64), EventKey)> = None;
            for (id, e) in events.filter(|(_, e)| family_and_date(e) && fits(e)) {
                let rank = (
                    place_agreement(e.location.as_ref(), proto.location.as_ref(), km),
                    -e.date.distance_days(&proto.date),
                );
                if best.is_none_or(|(r, best_id)| rank > r || rank == r && id < best_id) {
                    best = Some((rank, id));
                }
            }
            best.map(|(_, id)| id)
        };
        let known = |keys: &[EventKey]| -> Vec<(EventKey, &EventState)> {
            keys.iter().filter_map(|k| self.events.get(k).map(|e| (*k, &**e))).collect()
        };
        let not_conflicting = |e: &EventState| place_agreement(e.location.as_ref(), proto.location.as_ref(), km) > 0;
        if let Some(id) = pick(&mut known(own).into_iter(), &not_conflicting) {
            return (Some(id), Vec::new());
        }
        // A twin sentence is no evidence of place: templates ("X shelled Y in the countryside of
        // Z, killing two") tell different events in near-identical words. The places must agree
        // as for any merge, unless one side took its place from its article, not its sentence
        // (a republished paragraph inside an article about somewhere else) and neither sentence
        // names a place of its own: a twin that names a place where the other names none, or
        // two with no place at all, is a template whose place one side's gazetteer lacks.
        let twin = |e: &EventState| {
            let place = place_agreement(e.location.as_ref(), proto.location.as_ref(), km);
            let borrowed = |l: Option<&LocationState>| l.is_none_or(|l| l.geo_precision >= 3);
            let placeless = e.location.is_none() && proto.location.is_none();
            (place >= 2
                || place == 1 && !placeless && borrowed(e.location.as_ref()) && borrowed(proto.location.as_ref()))
                && tolls_agree(e.fatalities, proto.fatalities)
                && tolls_agree(e.injured, proto.injured)
                && sides_agree(&e.actors, &proto.actors)
                && (word_for_word(e, proto) || corroborated(e, proto, facts))
        };
        if let Some(id) = pick(&mut known(republished).into_iter(), &twin) {
            return (Some(id), Vec::new());
        }
        // The events whose dates can agree with the report's ([`dates_agree`]): the ones dated
        // to a day, on the report's day when it is dated to a day, else from a day before its
        // range to a day after; the wider ones whose range starts from a month before to a day
        // after. Each index is scanned only where it can hold an agreeing date: a day event of
        // the day before or after is never read from the event table.
        let (start, end) = proto.date.range();
        let from = start.checked_sub_days(Days::new(MAX_MONTH_DAYS + 1)).unwrap_or(start);
        let (day_from, day_to) = if proto.date.precision == DatePrecision::Day {
            (start, end)
        } else {
            (start.checked_sub_days(Days::new(1)).unwrap_or(start), end.checked_add_days(Days::new(1)).unwrap_or(end))
        };
        let to = end.checked_add_days(Days::new(1)).unwrap_or(end);
        let family = family_key(proto.family());
        let (first, last) = (EventKey(u64::MIN), EventKey(u64::MAX));
        let (days, wide) =
            ((family, day_from, first)..=(family, day_to, last), (family, from, first)..=(family, to, last));
        let in_range = || {
            self.wide_by_date
                .range(wide.clone())
                .chain(self.by_date.range(days.clone()))
                .map(|&(_, _, id)| (id, &*self.events[&id]))
        };
        // One pass: the best event that agrees on a specific footing, and, in case none does,
        // the thin-evidence links (each event's place agreement and sides computed once).
        let mut best: Option<((u8, i64), EventKey)> = None;
        let mut links: Vec<(f32, EventKey)> = Vec::new();
        for (id, e) in in_range() {
            if !family_and_date(e) {
                continue;
            }
            let place = place_agreement(e.location.as_ref(), proto.location.as_ref(), km);
            if place == 0 || !sides_agree(&e.actors, &proto.actors) {
                continue;
            }
            if place >= 2 && types_agree(e, proto) && (facts.revised_toll || corroborated(e, proto, facts)) {
                let rank = (place, -e.date.distance_days(&proto.date));
                if best.is_none_or(|(r, best_id)| rank > r || rank == r && id < best_id) {
                    best = Some((rank, id));
                }
            }
            let score = link_score(e, proto);
            if best.is_none() && score >= MIN_LINK_SCORE {
                links.push((score, id));
            }
        }
        if let Some((_, id)) = best {
            return (Some(id), Vec::new());
        }
        // Thin evidence: link, scored by what agrees; among equal scores the smallest id (keys
        // order as ids do).
        links.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        links.truncate(MAX_LINKS);
        let links = links.into_iter().map(|(score, id)| Link { event_id: id, score }).collect();
        (None, links)
    }

    fn insert(&mut self, key: EventKey, event: EventState) {
        let (start, _) = event.date.range();
        let family = family_key(event.family());
        if event.date.precision == DatePrecision::Day {
            self.by_date.insert((family, start, key));
        } else {
            self.wide_by_date.insert((family, start, key));
        }
        self.by_end[event_clock(&event) as usize].insert((event.last_seen, key));
        self.changed_events.insert(key);
        self.events.insert(key, Box::new(event));
    }

    fn remove_event(&mut self, key: EventKey) -> Option<EventState> {
        let event = self.events.remove(&key)?;
        let (start, _) = event.date.range();
        let family = family_key(event.family());
        if event.date.precision == DatePrecision::Day {
            self.by_date.remove(&(family, start, key));
        } else {
            self.wide_by_date.remove(&(family, start, key));
        }
        self.by_end[event_clock(&event) as usize].remove(&(event.last_seen, key));
        self.changed_events.insert(key);
        Some(*event)
    }

    /// Folds a new report into a known event. `new_revision` is false for a second report of
    /// the same article in the same pass: one article makes one revision.
    fn update(&mut self, key: EventKey, report: EventState, new_revision: bool) {
        let Some(mut e) = self.remove_event(key) else { return };
        let source = report.sources.into_iter().next().expect("a report has its source");
        match e.sources.iter_mut().find(|s| s.article_id == source.article_id) {
            // Another sentence of the article being processed: its figures add to the first
            // sentence's report, which stays the evidence.
            Some(existing) if existing.seq == source.seq => {
                let merged = crate::extract::merge_casualties(
                    crate::extract::casualties::Casualties {
                        fatalities: existing.fatalities,
                        injured: existing.injured,
                        ..Default::default()
                    },
                    crate::extract::casualties::Casualties {
                        fatalities: source.fatalities,
                        injured: source.injured,
                        ..Default::default()
                    },
                );
                existing.fatalities = merged.fatalities;
                existing.injured = merged.injured;
            }
            // The same article again, edited: its report replaces the old one.
            Some(existing) => *existing = source,
            None => {
                if e.sources.len() < self.config.max_sources {
                    push(&mut e.sources, source);
                } else {
                    e.more_sources += 1;
                }
            }
        }
        // The report's type when it names what the event's did not; the report's dictionary.
        let reported = &report.coding;
        let event_type = if e.generic && !report.generic { &reported.event_type } else { &e.coding.event_type };
        e.coding = if *event_type == reported.event_type && e.coding.family == reported.family {
            reported.clone()
        } else {
            let (ty, family) = (event_type.clone(), e.coding.family.clone());
            self.codings.get(&ty, &family, &reported.dictionary_version, &mut self.strings)
        };
        e.generic &= report.generic;
        if report.date.precision < e.date.precision {
            e.date = report.date;
        }
        // A dated report puts the event on the publication clock; undated ones move it on the
        // receipt clock only while no dated report has come.
        match (e.last_seen_received, report.last_seen_received) {
            (true, false) => (e.last_seen, e.last_seen_received) = (report.last_seen, false),
            (false, true) => {}
            _ => e.last_seen = e.last_seen.max(report.last_seen),
        }
        let better_place = match (&e.location, &report.location) {
            (None, Some(_)) => true,
            (Some(old), Some(new)) => new.geo_precision < old.geo_precision,
            _ => false,
        };
        if better_place {
            e.location = report.location;
        }
        for a in report.actors {
            if !e.actors.iter().any(|x| x.id == a.id) {
                push(&mut e.actors, a);
            }
        }
        for w in report.weapons {
            if !e.weapons.contains(&w) {
                push(&mut e.weapons, w);
            }
        }
        (e.fatalities, e.injured) = tolls(&e.sources);
        if new_revision {
            e.confidence = ((1.0 - (1.0 - e.confidence) * (1.0 - report.confidence)).min(0.99) * 100.0).round() / 100.0;
            e.revision += 1;
        }
        self.insert(key, e);
    }

    fn index_article(&mut self, id: &Arc<str>, state: &mut ArticleState) {
        state.handle = self.article_handles.acquire(id.clone());
        for (i, (sketch, _)) in state.evidence.iter().enumerate() {
            if sketch.is_full() {
                self.evidence_index.insert(EvidenceKey { article: state.handle, index: i as u32 }, sketch);
            }
        }
        if state.sketch.is_full() {
            self.article_index.insert(id.clone(), &state.sketch);
        }
        let (clock, time) = article_time(state);
        self.articles_by_date[clock as usize].insert((time, id.clone()));
    }

    fn forget_article_indexes(&mut self, id: &Arc<str>, state: &ArticleState) {
        for (i, (sketch, _)) in state.evidence.iter().enumerate() {
            self.evidence_index.remove(&EvidenceKey { article: state.handle, index: i as u32 }, sketch);
        }
        self.article_handles.release(state.handle);
        self.article_index.remove(id, &state.sketch);
        let (clock, time) = article_time(state);
        self.articles_by_date[clock as usize].remove(&(time, id.clone()));
    }

    /// Forgets events and articles outside the window, each on its clock, then the oldest beyond
    /// the caps (what only the receipt clock dates first). Each step is a B-tree's first entry:
    /// the cost per article does not grow with the state.
    fn evict(&mut self) {
        for clock in [Clock::Published, Clock::Received] {
            let c = clock as usize;
            let Some(watermark) = self.watermarks[c] else { continue };
            let horizon =
                watermark.checked_sub_days(Days::new(self.config.window_days as u64)).unwrap_or(NaiveDate::MIN);
            while let Some(&(end, key)) = self.by_end[c].first() {
                if end >= horizon {
                    break;
                }
                self.remove_event(key);
            }
            while let Some((time, id)) = self.articles_by_date[c].first().cloned() {
                if time >= horizon {
                    break;
                }
                self.forget_article(&id);
            }
        }
        while self.events.len() > self.config.max_events {
            let Some(&(_, key)) = self.by_end[1].first().or_else(|| self.by_end[0].first()) else { break };
            self.remove_event(key);
        }
        while self.articles.len() > self.config.max_articles {
            let Some((_, id)) = self.articles_by_date[1].first().or_else(|| self.articles_by_date[0].first()).cloned()
            else {
                break;
            };
            self.forget_article(&id);
        }
    }

    fn forget_article(&mut self, id: &str) {
        if let Some((id, state)) = self.articles.remove_entry(id) {
            self.forget_article_indexes(&id, &state);
            self.changed_articles.insert(id);
        }
    }

    /// The state changes since the last call: upserts and deletions of events, then of articles,
    /// for a compacted changelog.
    pub fn take_changes(&mut self) -> Vec<StateChange> {
        let events = std::mem::take(&mut self.changed_events);
        let articles = std::mem::take(&mut self.changed_articles);
        let mut out = Vec::with_capacity(events.len() + articles.len());
        // Events before articles: a restore that has an article has the events it reported
        // (records of one partition are appended in order).
        for key in events {
            let value = self.events.get(&key).map(|e| serde_json::to_vec(e).expect("event state serializes"));
            out.push(StateChange { key: format!("{EVENT_KEY}{key}"), value });
        }
        for id in articles {
            let value = self.articles.get(&id).map(|a| serde_json::to_vec(a).expect("article state serializes"));
            out.push(StateChange { key: format!("{ARTICLE_KEY}{id}"), value });
        }
        out
    }

    /// The whole state as changes (a snapshot), in key order.
    pub fn snapshot(&self) -> Vec<StateChange> {
        let mut articles: Vec<&Arc<str>> = self.articles.keys().collect();
        articles.sort();
        let mut out: Vec<StateChange> = articles
            .into_iter()
            .map(|id| StateChange {
                key: format!("{ARTICLE_KEY}{id}"),
                value: Some(serde_json::to_vec(&self.articles[id]).expect("serializes")),
            })
            .collect();
        for e in self.events() {
            out.push(StateChange {
                key: format!("{EVENT_KEY}{}", e.event_id),
                value: Some(serde_json::to_vec(e).expect("serializes")),
            });
        }
        out
    }

    /// Applies changes (a changelog read from the start, or a snapshot): later values replace
    /// earlier ones, `None` deletes. Indexes and the watermark are rebuilt; the window and caps
    /// apply with the next article.
    ///
    /// # Errors
    /// [`RestoreError`] for a key lexwire does not know or a value that does not parse.
    pub fn restore(&mut self, changes: impl IntoIterator<Item = StateChange>) -> Result<(), RestoreError> {
        for change in changes {
            let error = |message: String| RestoreError { key: change.key.clone(), message };
            if let Some(id) = change.key.strip_prefix(EVENT_KEY) {
                let key = EventKey::parse(id)
                    .ok_or_else(|| error("not a lexwire event id (ev_ and 16 hex digits)".into()))?;
                self.remove_event(key);
                if let Some(bytes) = &change.value {
                    let mut event: EventState = serde_json::from_slice(bytes).map_err(|e| error(e.to_string()))?;
                    if event.event_id != key {
                        return Err(error(format!("holds event {:?}", event.event_id.to_string())));
                    }
                    self.seq = self.seq.max(event.sources.iter().map(|s| s.seq).max().unwrap_or(0));
                    self.share_strings(&mut event);
                    self.insert(key, event);
                }
            } else if let Some(id) = change.key.strip_prefix(ARTICLE_KEY) {
                self.forget_article(id);
                if let Some(bytes) = &change.value {
                    let mut article: ArticleState = serde_json::from_slice(bytes).map_err(|e| error(e.to_string()))?;
                    self.seq = self.seq.max(article.seq);
                    advance(&mut self.watermarks[Clock::Published as usize], article.published);
                    advance(&mut self.watermarks[Clock::Received as usize], article.received);
                    let id = self.strings.get(id);
                    if let Some(d) = &mut article.duplicate_of {
                        self.strings.share(d);
                    }
                    self.index_article(&id, &mut article);
                    self.articles.insert(id, article);
                }
            } else {
                return Err(error("unknown key".into()));
            }
        }
        // State written before publication dates were checked may hold an outlier: the restored
        // watermark obeys the same limit as a live one.
        let limit = self.watermarks[Clock::Received as usize]
            .and_then(|r| r.checked_add_days(Days::new(self.config.max_future_days.into())));
        if let (Some(w), Some(limit)) = (self.watermarks[Clock::Published as usize], limit) {
            self.watermarks[Clock::Published as usize] = Some(w.min(limit));
        }
        self.changed_events.clear();
        self.changed_articles.clear();
        // The window and caps apply when the next article arrives, as they would have without
        // the restart.
        Ok(())
    }

    /// Replaces the strings of an event read back from saved state by the shared copies.
    fn share_strings(&mut self, e: &mut EventState) {
        let strings = &mut self.strings;
        let c = &e.coding;
        e.coding = self.codings.get(&c.event_type, &c.family, &c.dictionary_version, strings);
        for s in &mut e.weapons {
            strings.share(s);
        }
        for a in &mut e.actors {
            strings.share(&mut a.id);
        }
        for s in &mut e.sources {
            strings.share(&mut s.article_id);
            for shared in [&mut s.source, &mut s.duplicate_of].into_iter().flatten() {
                strings.share(shared);
            }
        }
        if let Some(l) = &mut e.location {
            strings.share(&mut l.surface);
            l.place = self.places.share(&l.place, strings);
        }
    }

    /// The shared facts of a dictionary place, `None` for an entry that is no place.
    fn place_facts(&mut self, dict: &Dictionary, id: EntryId) -> Option<Arc<PlaceFacts>> {
        let entry = dict.entry(id);
        let place = entry.place()?;
        let strings = &mut self.strings;
        let mut admin = |code: &Option<String>| match code {
            Some(code) => (Some(strings.get(code)), dict.admin_area(code).map(|a| strings.get(&a.name))),
            None => (None, None),
        };
        let (admin1, admin1_name) = admin(&place.admin1);
        let (admin2, admin2_name) = admin(&place.admin2);
        let facts = PlaceFacts {
            place_id: strings.get(&entry.id),
            name: strings.get(&entry.name),
            country: strings.get(&place.country),
            admin1,
            admin1_name,
            admin2,
            admin2_name,
            lat: place.lat,
            lon: place.lon,
            feature_class: strings.get(&place.feature_class),
            level: place.level,
        };
        Some(self.places.share(&Arc::new(facts), strings))
    }

    /// An estimate of the heap memory the state holds, in bytes.
    pub fn memory_estimate(&self) -> usize {
        self.memory_estimate_sampled(usize::MAX)
    }

    /// As [`Deduper::memory_estimate`], from at most `sample` events and `sample` articles scaled
    /// to the whole (exact when the state holds no more): cheap enough to call while serving.
    pub fn memory_estimate_sampled(&self, sample: usize) -> usize {
        use std::mem::size_of;
        // An allocation costs the allocator's bookkeeping beyond its bytes (glibc: 8 to 16).
        const ALLOCATION: usize = 16;
        let boxed = |len: usize| if len == 0 { 0 } else { len + ALLOCATION };
        // A B-tree's nodes are two-thirds full on average.
        let btree = |entries: usize, entry: usize| entries * entry * 3 / 2;
        let table = |capacity: usize, entry: usize| capacity * (entry + 1);
        let scaled = |sum: usize, seen: usize, all: usize| {
            if seen == all { sum } else { (sum as f64 * all as f64 / seen as f64) as usize }
        };
        // What each event and article owns alone (shared strings are the interner's).
        let events: usize = self
            .events
            .values()
            .take(sample)
            .map(|e| {
                boxed(size_of::<EventState>())
                    + boxed(e.actors.len() * size_of::<ActorState>())
                    + boxed(e.weapons.len() * size_of::<Arc<str>>())
                    + boxed(e.possible_duplicates.len() * size_of::<Link>())
                    + e.location.as_ref().map_or(0, |l| l.locality.as_ref().map_or(0, |x| boxed(x.len())))
                    + boxed(e.sources.len() * size_of::<SourceState>())
                    + e.sources.iter().map(|s| boxed(s.texts.len())).sum::<usize>()
            })
            .sum();
        let articles: usize = self
            .articles
            .values()
            .take(sample)
            .map(|a| boxed(a.evidence.len() * size_of::<(Sketch, EventKey)>()))
            .sum();
        let indexes = btree(self.by_date.len() + self.wide_by_date.len(), size_of::<(u32, NaiveDate, EventKey)>())
            + btree(self.by_end.iter().map(BTreeSet::len).sum(), size_of::<(NaiveDate, EventKey)>())
            + btree(self.articles_by_date.iter().map(BTreeSet::len).sum(), size_of::<(NaiveDate, Arc<str>)>())
            + btree(self.evidence_index.entries(), size_of::<(u32, EvidenceKey)>())
            + self.article_handles.memory_estimate()
            + btree(self.article_index.entries(), size_of::<(u32, Arc<str>)>());
        scaled(events, self.events.len().min(sample), self.events.len())
            + scaled(articles, self.articles.len().min(sample), self.articles.len())
            + table(self.events.capacity(), size_of::<(EventKey, Box<EventState>)>())
            + table(self.articles.capacity(), size_of::<(Arc<str>, ArticleState)>())
            + indexes
            + self.strings.memory_estimate()
            + self.places.memory_estimate()
            + self.codings.memory_estimate()
    }
}

/// Two different gazetteer points this close (km) are one place told twice (a town and its
/// centre, two entries of one village).
const SAME_POINT_KM: f64 = 2.0;

/// How well two places agree:
/// - 4: the same place (or two points within [`SAME_POINT_KM`]), a district included;
/// - 3: two points of one district, at least one of them approximate ("near X", an area);
/// - 2: two points within `km`, at least one approximate;
/// - 1: one holds the other (a governorate or country and a place in it), the same governorate
///   or country, or either has no place: too little to merge on, enough to link;
/// - 0: they differ, two specific places included ("in X" and "in Y", two villages of one
///   district are two events, and so are two localities the gazetteer lacks).
fn place_agreement(a: Option<&LocationState>, b: Option<&LocationState>, km: f64) -> u8 {
    let (Some(a), Some(b)) = (a, b) else { return 1 };
    // Two different places the gazetteer lacks, inside one it knows: two events.
    if let (Some(x), Some(y)) = (&a.locality, &b.locality)
        && !crate::normalize::normalize_str(x).eq(&crate::normalize::normalize_str(y))
    {
        return 0;
    }
    // A place the gazetteer lacks near a town it knows, and another known town: two places.
    let points = a.level == PlaceLevel::Point && b.level == PlaceLevel::Point;
    if points && (a.locality.is_some() || b.locality.is_some()) && a.place_id != b.place_id {
        return 0;
    }
    // A place the gazetteer lacks near a town, and that town itself ("in Yanfolila (Sikasso)"
    // and "in Sikasso"): likely two places, but the town may stand for its area: a link.
    let itself =
        |x: &LocationState, y: &LocationState| x.locality.is_some() && y.locality.is_none() && y.geo_precision == 1;
    if points && (itself(a, b) || itself(b, a)) {
        return 1;
    }
    if a.place_id == b.place_id {
        // A governorate or a country named on both sides is an area, not a place.
        return if matches!(a.level, PlaceLevel::Admin1 | PlaceLevel::Country) { 1 } else { 4 };
    }
    if points {
        // A great-circle distance is at least the difference in latitude, so two points that
        // far apart are past both bounds below without the trigonometry (most pairs of a
        // country's events; the kilometre of margin is far above the rounding of either sum).
        use crate::dictionary::gazetteer::{EARTH_KM, km as great_circle_km};
        let apart = EARTH_KM * (a.lat - b.lat).abs().to_radians() > SAME_POINT_KM.max(km) + 1.0;
        let distance = if apart { f64::INFINITY } else { great_circle_km(a.lat, a.lon, b.lat, b.lon) };
        if distance <= SAME_POINT_KM {
            return 4;
        }
        let approximate = a.geo_precision > 1 || b.geo_precision > 1;
        if approximate && a.admin2.is_some() && a.admin2 == b.admin2 {
            return 3;
        }
        return if approximate && distance <= km { 2 } else { 0 };
    }
    let holds = |wide: &LocationState, narrow: &LocationState| match wide.level {
        PlaceLevel::Country => wide.country == narrow.country,
        PlaceLevel::Admin1 => wide.admin1.is_some() && wide.admin1 == narrow.admin1,
        PlaceLevel::Admin2 | PlaceLevel::Admin3 => wide.admin2.is_some() && wide.admin2 == narrow.admin2,
        PlaceLevel::Point => false,
    };
    if holds(a, b) || holds(b, a) { 1 } else { 0 }
}

/// Moves a watermark forward to `time`, never back.
fn advance(watermark: &mut Option<NaiveDate>, time: Option<NaiveDate>) {
    if let Some(t) = time {
        *watermark = Some(watermark.map_or(t, |w| w.max(t)));
    }
}

/// The clock an event is aged on.
fn event_clock(e: &EventState) -> Clock {
    if e.last_seen_received { Clock::Received } else { Clock::Published }
}

/// The clock and time an article is aged on: its publication date, else its receipt; one with
/// neither goes first when the caps evict.
fn article_time(a: &ArticleState) -> (Clock, NaiveDate) {
    match (a.published, a.received) {
        (Some(p), _) => (Clock::Published, p),
        (None, Some(r)) => (Clock::Received, r),
        (None, None) => (Clock::Received, NaiveDate::MIN),
    }
}

/// Whether two dates can be one event's: two days must be the same day; a range (a week, a
/// month) may hold the other, give or take a day.
fn dates_agree(a: &ResolvedDate, b: &ResolvedDate) -> bool {
    use crate::dictionary::DatePrecision;
    if a.precision == DatePrecision::Day && b.precision == DatePrecision::Day {
        a.date == b.date
    } else {
        a.compatible(b, 1)
    }
}

/// Whether two events of one family can be one: a generic type on either side ("an attack"),
/// or the same sub-type ("an air strike" and "shelling" are two events).
fn types_agree(a: &EventState, b: &EventState) -> bool {
    a.generic || b.generic || a.event_type() == b.event_type()
}

/// Whether two tolls can be one event's: unknown on one side, or ranges that overlap.
fn tolls_agree(a: Option<Count>, b: Option<Count>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.low <= b.high && b.low <= a.high,
        _ => true,
    }
}

/// Whether the people on both sides can be the same: the doers agree ([`actors_agree`]) and so
/// do the named targets.
fn sides_agree(a: &[ActorState], b: &[ActorState]) -> bool {
    fn targets(x: &[ActorState]) -> impl Iterator<Item = &str> {
        x.iter().filter(|s| s.role == Role::Target).map(|s| &*s.id)
    }
    actors_agree(a, b)
        && (targets(a).next().is_none()
            || targets(b).next().is_none()
            || targets(a).any(|t| targets(b).any(|u| u == t)))
}

/// What a report tells beyond its record that decides a merge.
struct ReportFacts<'d> {
    /// It revises a toll ("rose to seven"): it tells of an event already known.
    revised_toll: bool,
    /// Its weapons of a kind that tells one event from another (a drone, a car bomb; not the
    /// guns or "weapons" of most clashes).
    telling_weapons: Vec<&'d str>,
    /// Its organisations, with their roles: an armed group or a state's forces tells one event
    /// from another; "civilians" or "unidentified gunmen" do not.
    named_actors: Vec<(&'d str, Role)>,
}

impl<'d> ReportFacts<'d> {
    fn of(dict: &'d Dictionary, c: &Candidate) -> ReportFacts<'d> {
        let telling =
            |w: &EntryId| matches!(&dict.entry(*w).detail, Detail::Weapon(x) if x.category.tells_events_apart());
        ReportFacts {
            revised_toll: c.casualties.revised,
            telling_weapons: c.weapons.iter().filter(|w| telling(w)).map(|w| dict.entry(*w).id.as_str()).collect(),
            named_actors: c
                .actors
                .iter()
                .filter(|(a, _)| {
                    matches!(&dict.entry(*a).detail, Detail::Actor(x) if !matches!(x.actor_type.as_str(), "civilians" | "unidentified"))
                })
                .map(|(a, role)| (dict.entry(*a).id.as_str(), *role))
                .collect(),
        }
    }
}

/// Whether a report's sentence is word for word one that told a known event (case, spacing and
/// punctuation aside): a paragraph republished. A near twin ("blocked the X road in Raqqa" for
/// "the Y road") may be a template told of another place the gazetteer lacks.
fn word_for_word(e: &EventState, report: &EventState) -> bool {
    let words = crate::normalize::normalize_str;
    let Some(said) = report.sources.first().map(|s| words(s.sentence())) else { return false };
    e.sources.iter().any(|s| words(s.sentence()) == said)
}

/// Whether a known event and a report that agree on family, place and day also share
/// something that tells their event from its neighbours: a toll (killed or injured,
/// overlapping and not zero), an organisation in the same role, the same locality the gazetteer
/// lacks ("Tell Hamdun, Idlib"), or a telling weapon (the dictionary's ids, so it holds across
/// languages). A place, a day and a type alone are not enough: one city sees several protests,
/// shootings or raids a day, and coded data lists them as distinct events.
fn corroborated(e: &EventState, report: &EventState, facts: &ReportFacts) -> bool {
    let toll = |x: Option<Count>, y: Option<Count>| matches!((x, y), (Some(x), Some(y)) if x.best > 0 && y.best > 0 && tolls_agree(Some(x), Some(y)));
    let shared = facts.named_actors.iter().any(|&(id, role)| e.actors.iter().any(|a| &*a.id == id && a.role == role));
    let locality = match (
        e.location.as_ref().and_then(|l| l.locality.as_deref()),
        report.location.as_ref().and_then(|l| l.locality.as_deref()),
    ) {
        (Some(x), Some(y)) => crate::normalize::normalize_str(x).eq(&crate::normalize::normalize_str(y)),
        _ => false,
    };
    let weapon = facts.telling_weapons.iter().any(|&w| e.weapons.iter().any(|x| &**x == w));
    toll(e.fatalities, report.fatalities) || toll(e.injured, report.injured) || shared || locality || weapon
}

/// How likely a linked event is the same (0 to 1): a compatible date and a place one holds,
/// then the same day, the same sub-type, the same toll.
fn link_score(e: &EventState, proto: &EventState) -> f32 {
    let mut score: f32 = 0.4;
    if e.date.distance_days(&proto.date) == 0 {
        score += 0.2;
    }
    if e.event_type() == proto.event_type() {
        score += 0.1;
    }
    if e.fatalities.is_some() && e.fatalities.map(|c| c.best) == proto.fatalities.map(|c| c.best) {
        score += 0.2;
    }
    if e.location.is_some() && proto.location.is_some() {
        score += 0.1;
    }
    // Two decimals: the sum of tenths in f32 is not a tenth ("0.8000001").
    (score * 100.0).round() / 100.0
}

/// Whether the actors who did it can be the same: no named doer on one side, or one in common.
fn actors_agree(a: &[ActorState], b: &[ActorState]) -> bool {
    fn doers(x: &[ActorState]) -> impl Iterator<Item = &str> {
        x.iter()
            .filter(|s| s.role == Role::Actor && &*s.id != crate::dictionary::requirements::UNIDENTIFIED_ACTOR)
            .map(|s| &*s.id)
    }
    doers(a).next().is_none() || doers(b).next().is_none() || doers(a).any(|d| doers(b).any(|e| e == d))
}

/// An event's tolls from its sources: each outlet's latest figure; across outlets, the most
/// conservative as best, the lowest and the highest as low and high.
pub fn tolls(sources: &[SourceState]) -> (Option<Count>, Option<Count>) {
    let pick = |get: fn(&SourceState) -> Option<Count>| -> Option<Count> {
        let mut latest: BTreeMap<&str, (u64, Count)> = BTreeMap::new();
        for s in sources {
            let Some(count) = get(s) else { continue };
            let outlet = s.source.as_deref().unwrap_or(&*s.article_id);
            let slot = latest.entry(outlet).or_insert((s.seq, count));
            if s.seq >= slot.0 {
                *slot = (s.seq, count);
            }
        }
        let figures: Vec<Count> = latest.into_values().map(|(_, c)| c).collect();
        (!figures.is_empty()).then(|| Count {
            best: figures.iter().map(|c| c.best).min().unwrap_or(0),
            low: figures.iter().map(|c| c.low).min().unwrap_or(0),
            high: figures.iter().map(|c| c.high).max().unwrap_or(0),
        })
    };
    (pick(|s| s.fatalities), pick(|s| s.injured))
}

/// The sketch of an article from its tags: shingles of three consecutive tags, each tag its
/// canonical id or its number's value. A copy of an article has the same tags in the same order;
/// two reports of the same events in their own words share few runs of three. It costs nothing
/// beyond the tagging already done, where word shingles of the whole text would cost a pass
/// half as long as matching itself.
pub fn tag_sketch(dict: &Dictionary, tags: &[crate::tag::Tag]) -> Sketch {
    let key = |t: &crate::tag::Tag| -> u64 {
        match (&t.value, t.entry) {
            (crate::tag::TagValue::Number(n), _) => n.value.to_bits(),
            (crate::tag::TagValue::Date(d), _) => fast_hash(d.iso().as_bytes()),
            (_, Some(e)) => fast_hash(dict.entry(e).id.as_bytes()),
            (_, None) => 0,
        }
    };
    let keys: Vec<u64> = tags.iter().filter(|t| !t.is_internal()).map(key).collect();
    let mut b = SketchBuilder::default();
    for w in keys.windows(3) {
        b.add_hash(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42));
    }
    b.finish()
}

/// Appends to a list the state keeps for weeks, in one allocation of the exact size.
fn push<T>(list: &mut Box<[T]>, item: T) {
    let mut v = std::mem::take(list).into_vec();
    v.reserve_exact(1);
    v.push(item);
    *list = v.into_boxed_slice();
}

/// A byte offset into an article's text, which normalisation caps at
/// [`crate::normalize::MAX_TEXT_BYTES`] (2 GiB).
fn offset(at: usize) -> u32 {
    u32::try_from(at).expect("texts are capped at 2 GiB before extraction")
}

/// An event family in the date indexes: 32 bits of its name's hash, so an entry is 16 bytes.
/// Families that share them share a range of the index: candidates are checked against the
/// family itself.
fn family_key(family: &str) -> u32 {
    (fast_hash(family.as_bytes()) >> 32) as u32
}

/// A fast, stable 64-bit hash of a text (8 bytes at a time), to recognise an article seen
/// before.
pub fn fast_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(23) ^ u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(23) ^ u64::from_le_bytes(tail)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two points far apart in latitude are told apart without their distance: the shortcut
    /// rests on a great-circle distance never being under the difference in latitude, and it
    /// gives what the distance gives, on both sides of each bound.
    #[test]
    fn points_agree_as_their_distance_says() {
        use crate::dictionary::gazetteer::{EARTH_KM, km};
        for lat1 in (-89..=89).step_by(7).map(f64::from) {
            for (dlat, dlon) in [(0.0, 0.0), (0.3, 0.0), (1.7, 2.9), (-12.5, 170.0), (40.0, -181.0), (0.01, 359.0)] {
                let lat2 = (lat1 + dlat).clamp(-90.0, 90.0);
                let under = EARTH_KM * (lat1 - lat2).abs().to_radians();
                assert!(under <= km(lat1, 10.0, lat2, 10.0 + dlon) + 1e-6, "{lat1} {dlat} {dlon}");
            }
        }
        let point = |lat: f64, lon: f64, admin2: &str, geo_precision: u8| LocationState {
            place: Arc::new(PlaceFacts {
                place_id: format!("p:{lat}:{lon}").into(),
                name: "P".into(),
                country: "SY".into(),
                admin1: Some("SY.09".into()),
                admin1_name: None,
                admin2: Some(admin2.into()),
                admin2_name: None,
                lat,
                lon,
                feature_class: "P".into(),
                level: PlaceLevel::Point,
            }),
            surface: "P".into(),
            geo_precision,
            locality: None,
        };
        // What the distance says, computed for every pair.
        let expected = |a: &LocationState, b: &LocationState, bound: f64| {
            let distance = km(a.lat, a.lon, b.lat, b.lon);
            let approximate = a.geo_precision > 1 || b.geo_precision > 1;
            match () {
                _ if distance <= SAME_POINT_KM => 4,
                _ if approximate && a.admin2 == b.admin2 => 3,
                _ if approximate && distance <= bound => 2,
                _ => 0,
            }
        };
        for bound in [0.5, 2.0, 25.0, 100.0] {
            // Steps of about 0.2 km in latitude, past every bound; a few longitudes.
            for step in 0..600 {
                let dlat = f64::from(step) * 0.0018;
                for dlon in [0.0, 0.01, 0.2] {
                    for (precision, admin2) in [(1, "SY0900"), (2, "SY0900"), (2, "SY0901")] {
                        let a = point(35.9, 36.6, "SY0900", 1);
                        let b = point(35.9 + dlat, 36.6 + dlon, admin2, precision);
                        assert_eq!(
                            place_agreement(Some(&a), Some(&b), bound),
                            expected(&a, &b, bound),
                            "{dlat} {dlon} {precision} {admin2} {bound}"
                        );
                    }
                }
            }
        }
    }

    /// An event's id is the hash of its signature as one formatted string (the ids of saved
    /// states and of records already out depend on it): on the dates of every kind chrono
    /// writes, the first of the era to its last, with empty and non-ASCII pieces.
    #[test]
    fn an_event_key_is_the_hash_of_its_formatted_signature() {
        let formatted = |family: &str, code: &str, date: NaiveDate, place: &str, article: &str, at: usize| {
            let signature = format!("lexwire.event/v1|{family}|{code}|{date}|{place}|{article}|{at}");
            let digest = Sha256::digest(signature.as_bytes());
            EventKey(u64::from_be_bytes(digest[..8].try_into().unwrap()))
        };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let dates = [
            ymd(2021, 2, 11),
            ymd(1999, 12, 31),
            ymd(2000, 1, 1),
            ymd(0, 1, 1),
            ymd(7, 7, 7),
            ymd(999, 10, 30),
            ymd(9999, 12, 31),
            ymd(10000, 1, 1),
            ymd(-1, 6, 15),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ];
        for date in dates {
            for (family, code, place, article, at) in [
                ("violence_against_civilians", "attack", "geonames:170063", "fa-kes-0", 0),
                ("battle", "armed_clash", "", "", 123_456_789),
                ("", "", "ocha:SY0206", "مقال-٣", usize::MAX),
            ] {
                assert_eq!(
                    event_key(family, code, date, place, article, at),
                    formatted(family, code, date, place, article, at),
                    "{date} {family} {place} {article} {at}"
                );
            }
        }
    }

    /// A source as saved state and records have always written it: its texts, present, empty
    /// or absent, read back and are written again byte for byte.
    #[test]
    fn a_source_keeps_its_texts_in_one_allocation_and_its_written_form() {
        let full = r#"{"article_id":"a1","url":"https://example.org/x","source":"SOHR","language":"en","published_at":"2021-02-11T08:00:00Z","duplicate_of":"a0","evidence":{"start":3,"end":40,"sentence":"Three were killed in Idlib."},"fatalities":{"best":3,"low":3,"high":3},"seq":7,"content_hash":9}"#;
        let empty = r#"{"article_id":"a1","url":"","language":"fr","published_at":"","evidence":{"start":0,"end":0,"sentence":""},"seq":1,"content_hash":0}"#;
        let bare = r#"{"article_id":"a1","language":"ar","evidence":{"start":0,"end":5,"sentence":"قتل"},"seq":1,"content_hash":0}"#;
        for (json, url, published, sentence) in [
            (full, Some("https://example.org/x"), Some("2021-02-11T08:00:00Z"), "Three were killed in Idlib."),
            (empty, Some(""), Some(""), ""),
            (bare, None, None, "قتل"),
        ] {
            let s: SourceState = serde_json::from_str(json).unwrap();
            assert_eq!((s.url(), s.published_at(), s.sentence()), (url, published, sentence), "{json}");
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
        }
        let url_only: SourceState = serde_json::from_str(
            r#"{"article_id":"a","url":"u","language":"en","evidence":{"start":0,"end":1,"sentence":"s"},"seq":1}"#,
        )
        .unwrap();
        assert_eq!((url_only.url(), url_only.published_at(), url_only.sentence()), (Some("u"), None, "s"));
    }

    /// An event as saved state has always written it (these are what the version before the
    /// shared coding wrote) reads back and is written again byte for byte.
    #[test]
    fn an_event_keeps_its_written_form() {
        let full = r#"{"event_id":"ev_00000000000000ff","revision":2,"event_type":"air_strike","family":"remote_violence","generic":false,"date":{"date":"2021-02-11","precision":"day"},"location":{"place_id":"geonames:174448","name":"Albu Kamal","surface":"Albukamal","country":"SY","admin1":"SY08","admin1_name":"Deir ez-Zor","admin2":null,"admin2_name":null,"lat":34.45,"lon":40.91,"feature_class":"P","level":"point","geo_precision":1,"locality":"al-Jala"},"actors":[{"id":"actor:isis","role":"target"}],"weapons":["weapon:aircraft"],"fatalities":{"best":3,"low":3,"high":3},"injured":null,"confidence":0.8,"sources":[{"article_id":"a1","language":"en","evidence":{"start":0,"end":5,"sentence":"Three"},"seq":1,"content_hash":2}],"last_seen":"2021-02-12","last_seen_received":true,"more_sources":4,"possible_duplicates":[{"event_id":"ev_0000000000000001","score":0.5}],"dictionary_version":"2026.1"}"#;
        let bare = r#"{"event_id":"ev_0000000000000002","revision":1,"event_type":"attack","family":"violence_against_civilians","generic":true,"date":{"date":"2021-02-11","precision":"week"},"location":null,"actors":[],"weapons":[],"fatalities":null,"injured":{"best":1,"low":1,"high":2},"confidence":0.5,"sources":[{"article_id":"a2","url":"https://example.org/2","source":"SANA","language":"ar","published_at":"2021-02-11T08:00:00Z","evidence":{"start":0,"end":0,"sentence":""},"seq":2,"content_hash":0}],"last_seen":"2021-02-11","dictionary_version":"2026.1"}"#;
        for json in [full, bare] {
            let e: EventState = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&e).unwrap(), json);
        }
        let e: EventState = serde_json::from_str(full).unwrap();
        assert_eq!(
            (&**e.event_type(), &**e.family(), &**e.dictionary_version()),
            ("air_strike", "remote_violence", "2026.1")
        );
    }
}
