//! Dictionaries: the gazetteer (places) and the lexicon (event triggers, actors, weapons,
//! casualty words, numbers, dates, hedges, negations, cues, units), loaded from the data files in
//! `dictionaries/` and flattened into one list of [`Entry`]s and one list of [`Alias`]es.
//!
//! The loader reads the manifest `dictionary.toml`, which names every file, then:
//! - loads governorates, districts and sub-districts ([`gazetteer`]), GeoNames dump files
//!   (tolerating bad lines: each is reported with its file and line and counted, none is fatal),
//!   and the curated overlay;
//! - loads the lexicon files ([`lexicon`]), where any error is fatal and names file and line;
//! - generates transliteration variants of place names ([`variants`]) and flags ambiguous
//!   aliases (common words, persons' names) that need context before they count as places;
//! - checks that it holds everything the later stages name ([`requirements`]) and that every
//!   value copied into records fits the published schema (CAMEO codes, country codes), so that a
//!   dictionary that loads is one every stage can run on;
//! - computes the dictionary version: the manifest's version plus a hash of every file and of
//!   the load options that decide what was kept.
//!
//! Every file is read line by line within bounds ([`files::MAX_LINE_BYTES`] a line,
//! [`files::MAX_FILE_BYTES`] a curated file, [`files::MAX_GEONAMES_FILE_BYTES`] a GeoNames dump,
//! which is streamed), so a wrong path fails fast instead of filling memory.
//!
//! It does not build the automaton: that is [`crate::matcher::Matcher::new`], which takes the
//! aliases built here. Called by `lexwire dict check`, `lexwire tag` and the service (and again on
//! every hot reload).

pub mod check;
pub mod country;
pub mod files;
pub mod gazetteer;
pub mod lexicon;
pub mod requirements;
pub mod variants;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

pub use files::DictionaryFiles;
use files::Lines;
pub use requirements::RequiredTypes;

use crate::normalize::normalize_str;

/// Index of an [`Entry`] in [`Dictionary::entries`].
pub type EntryId = u32;

/// A loaded dictionary: every entry, every alias that points at one, and the tables the
/// entries refer to.
#[derive(Debug)]
pub struct Dictionary {
    version: String,
    entries: Vec<Entry>,
    aliases: Vec<Alias>,
    event_types: Vec<EventType>,
    admin_areas: HashMap<String, AdminArea>,
    ids: HashMap<String, EntryId>,
    required: RequiredTypes,
    report: LoadReport,
}

/// One thing the text can mention: a place, an actor, an event type, a weapon...
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable canonical id: `geonames:174448`, `admin1:SY.07`, `ocha:SY0902`,
    /// `lexwire:al-omar-oil-field`, `actor:kataib_hezbollah`, `event_type:air_strike`...
    pub id: String,
    /// Canonical name.
    pub name: String,
    pub detail: Detail,
}

/// What kind of entry, with its kind-specific facts.
#[derive(Debug, Clone)]
pub enum Detail {
    Place(Place),
    Actor(Actor),
    /// An event trigger; the index into [`Dictionary::event_types`].
    EventType(u16),
    Weapon(Weapon),
    Casualty(CasualtyWord),
    Number(NumberWord),
    Date(DateWord),
    Hedge,
    Negation(NegationKind),
    Cue(CueKind),
    Unit,
}

/// What a negation negates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegationKind {
    /// The event is denied.
    Denial,
    /// Nobody was hurt: the toll is zero.
    NoCasualties,
    /// The toll is not known.
    NoInformation,
}

/// The kinds of entries, as they appear in tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Actor,
    EventType,
    Weapon,
    Casualty,
    Hedge,
    Negation,
    Place,
    Number,
    Date,
    Cue,
    Unit,
}

impl EntryKind {
    pub const ALL: [EntryKind; 11] = [
        EntryKind::Place,
        EntryKind::Actor,
        EntryKind::EventType,
        EntryKind::Weapon,
        EntryKind::Casualty,
        EntryKind::Number,
        EntryKind::Date,
        EntryKind::Hedge,
        EntryKind::Negation,
        EntryKind::Cue,
        EntryKind::Unit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Actor => "actor",
            EntryKind::EventType => "event_type",
            EntryKind::Weapon => "weapon",
            EntryKind::Casualty => "casualty",
            EntryKind::Hedge => "hedge",
            EntryKind::Negation => "negation",
            EntryKind::Place => "place",
            EntryKind::Number => "number",
            EntryKind::Date => "date",
            EntryKind::Cue => "cue",
            EntryKind::Unit => "unit",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Entry {
    pub fn kind(&self) -> EntryKind {
        match self.detail {
            Detail::Place(_) => EntryKind::Place,
            Detail::Actor(_) => EntryKind::Actor,
            Detail::EventType(_) => EntryKind::EventType,
            Detail::Weapon(_) => EntryKind::Weapon,
            Detail::Casualty(_) => EntryKind::Casualty,
            Detail::Number(_) => EntryKind::Number,
            Detail::Date(_) => EntryKind::Date,
            Detail::Hedge => EntryKind::Hedge,
            Detail::Negation(_) => EntryKind::Negation,
            Detail::Cue(_) => EntryKind::Cue,
            Detail::Unit => EntryKind::Unit,
        }
    }

    pub fn place(&self) -> Option<&Place> {
        match &self.detail {
            Detail::Place(p) => Some(p),
            _ => None,
        }
    }
}

/// How specific a place is, from a point to a whole country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceLevel {
    /// A town, village, site or area: GeoNames populated places and the curated overlay.
    Point,
    Admin3,
    Admin2,
    Admin1,
    Country,
}

#[derive(Debug, Clone)]
pub struct Place {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// GeoNames admin1 code, `SY.07`.
    pub admin1: Option<String>,
    /// OCHA district p-code for Syria (`SY0902`), or the GeoNames admin2 code of a user's dump.
    pub admin2: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub feature_class: String,
    pub feature_code: String,
    pub population: u64,
    pub level: PlaceLevel,
    /// How far the real place may be from the point, for approximate curated points.
    pub uncertainty_km: Option<f32>,
}

/// A governorate, district or sub-district, for naming `admin1`/`admin2` codes in output.
#[derive(Debug, Clone)]
pub struct AdminArea {
    pub code: String,
    pub name: String,
    pub level: PlaceLevel,
    /// The governorate this district or sub-district belongs to.
    pub admin1: Option<String>,
    /// The district a sub-district belongs to.
    pub admin2: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub actor_type: String,
    pub country: Option<String>,
    pub affiliation: String,
}

#[derive(Debug, Clone)]
pub struct Weapon {
    pub category: WeaponCategory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeaponCategory {
    Drone,
    Aerial,
    Missile,
    Rocket,
    Artillery,
    Explosive,
    /// Hand grenades: ACLED's "Grenade" sub-type.
    Grenade,
    Ammunition,
    SmallArms,
    Armour,
    /// What a crowd fights with: sticks, blades, stones. A clash fought with these alone, between
    /// people no actor or armed noun names, is mob violence.
    Melee,
    Generic,
}

impl WeaponCategory {
    /// Whether two reports naming a weapon of this kind likely tell of one event: a drone or a
    /// car bomb does; guns, ammunition and "weapons", named in most clashes, do not.
    pub fn tells_events_apart(self) -> bool {
        !matches!(self, WeaponCategory::Ammunition | WeaponCategory::SmallArms | WeaponCategory::Generic)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WeaponCategory::Drone => "drone",
            WeaponCategory::Aerial => "aerial",
            WeaponCategory::Missile => "missile",
            WeaponCategory::Rocket => "rocket",
            WeaponCategory::Artillery => "artillery",
            WeaponCategory::Explosive => "explosive",
            WeaponCategory::Grenade => "grenade",
            WeaponCategory::Ammunition => "ammunition",
            WeaponCategory::SmallArms => "small_arms",
            WeaponCategory::Armour => "armour",
            WeaponCategory::Melee => "melee",
            WeaponCategory::Generic => "generic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CasualtyRole {
    Fatality,
    Injury,
}

/// A casualty word: what a number next to it counts and, for a word that tells of an act as
/// well as its toll ("executed", "assassinated", "shot dead"), the event type it announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CasualtyWord {
    pub role: CasualtyRole,
    /// Index into [`Dictionary::event_types`].
    pub implies: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberWord {
    pub value: u64,
    pub approximate: bool,
    pub multiplier: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateWord {
    Month(u8),
    /// ISO weekday, Monday = 1.
    Weekday(u8),
    Relative {
        days: i32,
        anchor: DateAnchor,
        precision: DatePrecision,
    },
    /// 1 early, 2 middle, 3 late (of a month or year).
    Part(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateAnchor {
    /// The article's publication date.
    Published,
    /// The last date the text mentioned before ("a day earlier").
    Previous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CueKind {
    /// "village of", "near": a place cue.
    Locative,
    /// "to monitor": aircraft that watch rather than strike.
    Surveillance,
    /// "militiamen", "gunmen", "members": what a casualty count counts; armed men outside the
    /// state's forces, or people the noun says nothing about ("members", "others").
    Person,
    /// "soldiers", "police officers": the state's forces. They count like [`CueKind::Person`] and
    /// are armed men; a crowd that fights them is a mob, not one side of a clash.
    StateForce,
    /// "villagers", "a woman", "journalists": people who take no part in fighting; they count
    /// like [`CueKind::Person`], and tell an attack on civilians from a clash.
    Civilian,
    /// "increased to": a revised toll.
    Revision,
    /// "including": a part of another number.
    Subset,
    /// "intended to": not yet done.
    Intention,
    /// "hunger strike", "fire broke out", "strike a deal": a phrase that holds a trigger word
    /// but tells of no conflict event; it shadows the trigger (longest match wins).
    NotEvent,
    /// "dispersed", "tear gas": authorities intervened in a protest.
    Intervention,
    /// "threw stones", "set fire to", "vandalised": protesters or a crowd used violence.
    Rioting,
    /// "since 2011", "over the past year", "so far this year": a figure that sums a period,
    /// not one event.
    Period,
    /// "gathered", "assembled", "blocked": people came together or stopped a way; with a
    /// [`CueKind::Demand`] after it in the sentence, a demonstration.
    Gathering,
    /// "to demand", "demanding", "in support of", "pour dénoncer": what people gathered for.
    Demand,
}

/// An event type of the taxonomy.
#[derive(Debug, Clone, Serialize)]
pub struct EventType {
    pub code: String,
    pub name: String,
    pub family: String,
    pub acled_event_type: String,
    pub acled_sub_event_type: String,
    pub cameo: String,
    pub cameo_name: String,
    /// A generic type: the weapon named in the sentence decides the real type.
    pub refine_by_weapon: bool,
}

/// Languages lexwire reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Ar];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "eng" | "english" => Some(Lang::En),
            "fr" | "fra" | "fre" | "french" => Some(Lang::Fr),
            "ar" | "ara" | "arabic" => Some(Lang::Ar),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Lang::En => 1,
            Lang::Fr => 2,
            Lang::Ar => 4,
        }
    }
}

/// The languages an alias is valid in. Place names are valid in every language; lexicon words
/// only in the languages they are listed under (the French trigger "mine" is not the English
/// pronoun).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LangMask(u8);

impl LangMask {
    pub const ALL: LangMask = LangMask(7);

    pub fn of(lang: Lang) -> Self {
        LangMask(lang.bit())
    }

    pub fn contains(self, lang: Lang) -> bool {
        self.0 & lang.bit() != 0
    }

    pub fn union(self, other: LangMask) -> LangMask {
        LangMask(self.0 | other.0)
    }
}

/// Where an alias comes from; the lower, the more it is trusted when two entries share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasOrigin {
    /// Written by a person in the overlay or the lexicon.
    Curated,
    /// The canonical name of a GeoNames place or an administrative area.
    Primary,
    /// A GeoNames alternate name or another name of an administrative area.
    Alternate,
    /// Made by a template ("Deir Ezzor province") from a name.
    Template,
    /// Made by the transliteration rules.
    Generated,
}

/// Why an alias needs supporting context before it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ambiguity {
    /// An ordinary English or French word ("Hit" is a town in Anbar).
    CommonWord,
    /// A person's name ("Al-Abbas").
    PersonName,
    /// Flagged by hand in the overlay or the lexicon ("T2").
    Curated,
}

/// A name under which an entry can appear in text.
#[derive(Debug, Clone)]
pub struct Alias {
    /// As written in the dictionary; for generated variants, the generated (normalized) form.
    pub text: Box<str>,
    /// As the matcher sees it ([`normalize_str`]).
    pub normalized: Box<str>,
    pub entry: EntryId,
    pub origin: AliasOrigin,
    pub ambiguity: Option<Ambiguity>,
    /// Matches only when the text has the same case as the alias ("US", not "us").
    pub case_sensitive: bool,
    /// Matches only when the text starts with a capital ("May" the month, not "may").
    pub capitalized: bool,
    pub langs: LangMask,
}

/// A line of a data file that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What loading found besides the dictionary itself: skipped lines and counts.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub bad_lines: Vec<BadLine>,
    /// Bad lines beyond those kept in `bad_lines` (which keeps the first 1,000).
    pub more_bad_lines: usize,
    /// GeoNames names skipped on purpose (other script, too short, other country).
    pub skipped_names: usize,
    /// Generated variants dropped because they are ordinary words.
    pub dropped_common_variants: usize,
    pub files: Vec<String>,
}

impl LoadReport {
    const KEEP: usize = 1000;

    pub(crate) fn bad_line(&mut self, file: &str, line: usize, reason: impl Into<String>) {
        if self.bad_lines.len() < Self::KEEP {
            self.bad_lines.push(BadLine { file: file.to_string(), line, reason: reason.into() });
        } else {
            self.more_bad_lines += 1;
        }
    }

    /// Every bad line, kept or not.
    pub fn bad_line_count(&self) -> usize {
        self.bad_lines.len() + self.more_bad_lines
    }
}

/// A dictionary that cannot be loaded. The message names the file, and the line when there is
/// one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct DictionaryError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl DictionaryError {
    pub(crate) fn new(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        DictionaryError { file: file.into(), line, message: message.into() }
    }

    /// An error in a [`LoadOptions`] field rather than in a file.
    pub(crate) fn option(field: &str, message: impl Into<String>) -> Self {
        DictionaryError { file: format!("load option `{field}`"), line: None, message: message.into() }
    }

    /// The file at fault, as given to the loader.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn line(&self) -> Option<usize> {
        self.line
    }

    fn render(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{}: {}", self.file, line, self.message),
            None => format!("{}: {}", self.file, self.message),
        }
    }
}

/// Options a user can set beyond the manifest.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// GeoNames dump files to use instead of the manifest's.
    pub geonames: Option<Vec<PathBuf>>,
    /// Countries to keep from GeoNames files, instead of the manifest's list (empty: all).
    /// ISO 3166-1 alpha-2 codes, in any case; an unknown code fails the load.
    pub countries: Option<Vec<String>>,
    /// Keep every GeoNames name, whatever its script or length (the manifest's `scripts` and
    /// `min_alias_chars` filters off): for measuring the worst case.
    pub every_name: bool,
}

/// The manifest, `dictionary.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub version: String,
    pub gazetteer: GazetteerManifest,
    pub lexicon: LexiconManifest,
    pub variants: VariantsManifest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GazetteerManifest {
    pub geonames: Vec<String>,
    #[serde(default)]
    pub countries: Vec<Spanned<String>>,
    pub scripts: Vec<Script>,
    pub min_alias_chars: usize,
    pub admin1: String,
    #[serde(default)]
    pub admin2: Vec<String>,
    #[serde(default)]
    pub admin3: Vec<String>,
    #[serde(default)]
    pub overlay: Vec<String>,
    pub common_words: String,
    pub person_names: String,
    pub templates: Templates,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Templates {
    #[serde(default)]
    pub admin1: Vec<String>,
    #[serde(default)]
    pub admin2: Vec<String>,
    #[serde(default)]
    pub admin3: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Script {
    Latin,
    Arabic,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LexiconManifest {
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantsManifest {
    pub file: String,
}

/// The manifest's file name inside a dictionary folder.
pub const MANIFEST: &str = "dictionary.toml";

impl Dictionary {
    /// Loads the dictionary compiled into the binary (the repository's `dictionaries/`).
    ///
    /// # Errors
    /// Only if the bundled files are broken, which the test suite rules out.
    pub fn bundled() -> Result<Dictionary, DictionaryError> {
        Self::load(&DictionaryFiles::Bundled, &LoadOptions::default())
    }

    /// Loads the dictionary whose manifest is `dir/dictionary.toml`.
    ///
    /// # Errors
    /// A [`DictionaryError`] naming the file (and line) when a file is missing, is not valid
    /// TOML/TSV where the format is strict, breaks a rule (an unknown event type, a duplicate
    /// id, an alias that normalizes to nothing, a CAMEO or country code the event schema would
    /// refuse...), lacks what a later stage needs ([`requirements`]), or exceeds a size bound
    /// ([`files::MAX_LINE_BYTES`] and the file bounds); or naming the option, for an unknown
    /// country in [`LoadOptions::countries`]. Bad lines in GeoNames files are not errors: they
    /// are listed in [`Dictionary::report`].
    pub fn load_dir(dir: &Path, options: &LoadOptions) -> Result<Dictionary, DictionaryError> {
        Self::load(&DictionaryFiles::Dir(dir.to_path_buf()), options)
    }

    /// Loads a dictionary from `files`.
    ///
    /// # Errors
    /// See [`Dictionary::load_dir`].
    pub fn load(files: &DictionaryFiles, options: &LoadOptions) -> Result<Dictionary, DictionaryError> {
        let mut reader = Reader { files, hasher: Sha256::new(), report: LoadReport::default() };

        let (manifest_name, manifest_text) = reader.text(MANIFEST)?;
        let manifest: Manifest =
            toml::from_str(&manifest_text).map_err(|e| toml_error(&manifest_name, &manifest_text, &e))?;
        let gazetteer_manifest = &manifest.gazetteer;

        let mut builder = Builder::default();
        let common_words = word_list(&reader.text(&gazetteer_manifest.common_words)?.1);
        let person_names = word_list(&reader.text(&gazetteer_manifest.person_names)?.1);
        let (name, text) = reader.text(&manifest.variants.file)?;
        let rules = variants::VariantRules::parse(&name, &text)?;

        // Gazetteer: administrative areas first, so that GeoNames places and the overlay can
        // refer to them.
        let templates = &gazetteer_manifest.templates;
        let (name, text) = reader.text(&gazetteer_manifest.admin1)?;
        gazetteer::load_admin1(&mut builder, &name, &text, &templates.admin1)?;
        for (rels, level, templates) in [
            (&gazetteer_manifest.admin2, PlaceLevel::Admin2, &templates.admin2),
            (&gazetteer_manifest.admin3, PlaceLevel::Admin3, &templates.admin3),
        ] {
            for rel in rels {
                let (name, text) = reader.text(rel)?;
                gazetteer::load_admin_table(&mut builder, &name, &text, level, templates)?;
            }
        }

        let geonames_filter = gazetteer::GeonamesFilter {
            countries: countries(options, gazetteer_manifest, &manifest_name, &manifest_text)?,
            scripts: if options.every_name { None } else { Some(gazetteer_manifest.scripts.clone()) },
            min_alias_chars: if options.every_name { 1 } else { gazetteer_manifest.min_alias_chars },
        };
        let geonames: Vec<GeonamesFile> = match &options.geonames {
            Some(paths) => paths.iter().cloned().map(GeonamesFile::Path).collect(),
            None => gazetteer_manifest.geonames.iter().cloned().map(GeonamesFile::Relative).collect(),
        };
        for file in &geonames {
            let (name, source) = reader.open(file)?;
            let mut lines = Lines::new(name, source, &mut reader.hasher, files::MAX_GEONAMES_FILE_BYTES);
            gazetteer::load_geonames(&mut builder, &mut lines, &geonames_filter, &mut reader.report)?;
        }
        // What the filter kept is what was loaded: the same files under other options are
        // another gazetteer, and another version.
        reader.hash_filter(&geonames_filter);
        for rel in &gazetteer_manifest.overlay {
            let (name, text) = reader.text(rel)?;
            gazetteer::load_overlay(&mut builder, &name, &text, &mut reader.report)?;
        }
        gazetteer::assign_admin2(&mut builder);

        // Lexicon.
        for rel in &manifest.lexicon.files {
            let (name, text) = reader.text(rel)?;
            lexicon::load_file(&mut builder, &name, &text)?;
        }
        lexicon::check_triggers(&builder)?;
        let actor_file = builder.actor_file.clone().unwrap_or_else(|| manifest_name.clone());
        let required = requirements::check(&builder, &builder.event_type_lines, &actor_file)?;

        // Variants and ambiguity flags, on places only: the lexicon is written by hand.
        let mut report = reader.report;
        variants::expand_places(&mut builder, &rules, &common_words, &mut report);
        flag_ambiguous_places(&mut builder, &common_words, &person_names, &rules);

        let digest = reader.hasher.finalize();
        let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let version = format!("{}+{}", manifest.version.trim(), hash);

        let Builder { entries, mut aliases, event_types, admin_areas, ids, .. } = builder;
        dedup_aliases(&mut aliases);
        Ok(Dictionary { version, entries, aliases, event_types, admin_areas, ids, required, report })
    }

    /// The version stamped on every record: `<manifest version>+<content hash>`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: EntryId) -> &Entry {
        &self.entries[id as usize]
    }

    pub fn aliases(&self) -> &[Alias] {
        &self.aliases
    }

    pub fn event_types(&self) -> &[EventType] {
        &self.event_types
    }

    pub fn event_type(&self, index: u16) -> &EventType {
        &self.event_types[index as usize]
    }

    /// The event types the stages name, checked present when the dictionary was loaded.
    pub fn required_types(&self) -> &RequiredTypes {
        &self.required
    }

    /// The event type with this code.
    pub fn event_type_by_code(&self, code: &str) -> Option<u16> {
        self.event_types.iter().position(|t| t.code == code).map(|i| i as u16)
    }

    /// A governorate (`SY.07`), district (`SY0902`) or sub-district (`SY090202`) by its code.
    pub fn admin_area(&self, code: &str) -> Option<&AdminArea> {
        self.admin_areas.get(code)
    }

    /// The entry with this canonical id.
    pub fn find(&self, id: &str) -> Option<EntryId> {
        self.ids.get(id).copied()
    }

    /// [`Dictionary::find`] of the id `prefix` then `rest` ("admin1:" and a code), without a
    /// string built for it when it is short (extraction asks for one a candidate).
    pub fn find_joined(&self, prefix: &str, rest: &str) -> Option<EntryId> {
        let mut buffer = [0u8; 64];
        match buffer.get_mut(..prefix.len() + rest.len()) {
            Some(id) => {
                let (head, tail) = id.split_at_mut(prefix.len());
                head.copy_from_slice(prefix.as_bytes());
                tail.copy_from_slice(rest.as_bytes());
                self.find(std::str::from_utf8(id).expect("two strings joined are UTF-8"))
            }
            None => self.find(&[prefix, rest].concat()),
        }
    }

    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}

/// A GeoNames file: one the manifest lists, or one the user names.
enum GeonamesFile {
    Relative(String),
    Path(PathBuf),
}

/// Reads dictionary files, hashing every byte into the version and listing every file read.
struct Reader<'a> {
    files: &'a DictionaryFiles,
    hasher: Sha256,
    report: LoadReport,
}

impl<'a> Reader<'a> {
    /// A reader of `file` and its name, listed as read.
    fn open(&mut self, file: &GeonamesFile) -> Result<(String, Box<dyn std::io::BufRead + 'a>), DictionaryError> {
        let (name, source) = match file {
            GeonamesFile::Relative(rel) => (self.files.display(rel), self.files.open(rel)?),
            GeonamesFile::Path(path) => {
                let name = path.display().to_string();
                let source = files::open_path(path, &name)?;
                (name, source)
            }
        };
        self.report.files.push(name.clone());
        Ok((name, source))
    }

    /// A curated file, whole, within [`files::MAX_FILE_BYTES`].
    fn text(&mut self, rel: &str) -> Result<(String, String), DictionaryError> {
        let (name, source) = self.open(&GeonamesFile::Relative(rel.to_string()))?;
        let text = Lines::new(name.clone(), source, &mut self.hasher, files::MAX_FILE_BYTES).text()?;
        Ok((name, text))
    }

    /// Hashes what decides which GeoNames rows and names are kept.
    fn hash_filter(&mut self, filter: &gazetteer::GeonamesFilter) {
        let mut countries: Vec<&str> = filter.countries.iter().map(String::as_str).collect();
        countries.sort_unstable();
        let scripts = match &filter.scripts {
            None => "every script".to_string(),
            Some(scripts) => format!("{scripts:?}"),
        };
        let options = format!(
            "geonames filter: countries [{}], scripts {scripts}, min_alias_chars {}",
            countries.join(","),
            filter.min_alias_chars
        );
        self.hasher.update((options.len() as u64).to_le_bytes());
        self.hasher.update(options.as_bytes());
    }
}

/// The countries to keep from GeoNames files: the options' list, else the manifest's; every one
/// an ISO 3166-1 alpha-2 code (any case), empty for all.
fn countries(
    options: &LoadOptions,
    manifest: &GazetteerManifest,
    manifest_name: &str,
    manifest_text: &str,
) -> Result<HashSet<String>, DictionaryError> {
    let mut kept = HashSet::new();
    if let Some(list) = &options.countries {
        for code in list.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let upper = code.to_ascii_uppercase();
            if !country::is_country_code(&upper) {
                return Err(DictionaryError::option("countries", country::country_error(code)));
            }
            kept.insert(upper);
        }
        return Ok(kept);
    }
    for code in &manifest.countries {
        let upper = code.get_ref().trim().to_ascii_uppercase();
        if !country::is_country_code(&upper) {
            let line = line_of(manifest_text, code.span().start);
            return Err(DictionaryError::new(
                manifest_name,
                Some(line),
                format!("gazetteer.countries: {}", country::country_error(code.get_ref())),
            ));
        }
        kept.insert(upper);
    }
    Ok(kept)
}

/// A TOML error as a [`DictionaryError`] with the line it points at.
pub(crate) fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> DictionaryError {
    let line = e.span().map(|span| line_of(text, span.start));
    DictionaryError::new(file, line, e.message().trim().replace('\n', " "))
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

/// The 1-based line of byte `offset` in `bytes`.
pub(crate) fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A word list file: one word per line, `#` comments; words are normalized.
fn word_list(text: &str) -> HashSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(normalize_str)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Collects entries and aliases while the files are read.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub entries: Vec<Entry>,
    pub aliases: Vec<Alias>,
    pub event_types: Vec<EventType>,
    pub admin_areas: HashMap<String, AdminArea>,
    pub ids: HashMap<String, EntryId>,
    /// Where each event type is defined, `(file, line)`, in the order of `event_types`.
    pub event_type_lines: Vec<(String, usize)>,
    /// The lexicon file that defines actors, for messages about a missing one.
    pub actor_file: Option<String>,
}

impl Builder {
    /// Adds an entry; its id must be new.
    pub fn add_entry(&mut self, file: &str, line: Option<usize>, entry: Entry) -> Result<EntryId, DictionaryError> {
        if self.ids.contains_key(&entry.id) {
            return Err(DictionaryError::new(file, line, format!("duplicate id {:?}", entry.id)));
        }
        let id = self.entries.len() as EntryId;
        self.ids.insert(entry.id.clone(), id);
        self.entries.push(entry);
        Ok(id)
    }

    /// Adds an alias of `entry`; returns false (and adds nothing) when it normalizes to nothing.
    pub fn add_alias(&mut self, entry: EntryId, text: &str, origin: AliasOrigin, langs: LangMask) -> bool {
        let normalized = normalize_str(text);
        if normalized.is_empty() {
            return false;
        }
        self.aliases.push(Alias {
            text: text.trim().into(),
            normalized: normalized.into(),
            entry,
            origin,
            ambiguity: None,
            case_sensitive: false,
            capitalized: false,
            langs,
        });
        true
    }
}

/// Flags place aliases that are ordinary words or persons' names. Curated aliases carry their
/// own flags; the rest are judged here.
fn flag_ambiguous_places(
    builder: &mut Builder,
    common_words: &HashSet<String>,
    person_names: &HashSet<String>,
    rules: &variants::VariantRules,
) {
    for alias in &mut builder.aliases {
        // Curated aliases carry their own flags; templates ("Deir Ezzor province") and variants
        // are not names a text uses in passing.
        if !matches!(alias.origin, AliasOrigin::Primary | AliasOrigin::Alternate) || alias.ambiguity.is_some() {
            continue;
        }
        if builder.entries[alias.entry as usize].kind() != EntryKind::Place {
            continue;
        }
        let tokens: Vec<&str> = alias.normalized.split(' ').collect();
        if tokens.iter().all(|t| common_words.contains(*t)) {
            alias.ambiguity = Some(Ambiguity::CommonWord);
            continue;
        }
        let core: Vec<&str> = match tokens.split_first() {
            Some((first, rest)) if !rest.is_empty() && rules.is_article(first) => rest.to_vec(),
            _ => tokens.clone(),
        };
        if core.len() == 1 && person_names.contains(core[0]) {
            alias.ambiguity = Some(Ambiguity::PersonName);
        }
    }
}

/// Keeps one alias per (normalized form, entry): the most trusted origin, with the flags of the
/// kept alias.
fn dedup_aliases(aliases: &mut Vec<Alias>) {
    aliases.sort_by(|a, b| {
        (a.normalized.as_ref(), a.entry, a.origin, a.ambiguity.is_some()).cmp(&(
            b.normalized.as_ref(),
            b.entry,
            b.origin,
            b.ambiguity.is_some(),
        ))
    });
    aliases.dedup_by(|later, kept| {
        if later.normalized == kept.normalized && later.entry == kept.entry {
            kept.langs = kept.langs.union(later.langs);
            true
        } else {
            false
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_found_in_two_parts_is_the_id_found_whole() {
        let dict = Dictionary::bundled().unwrap();
        let mut admin1 = 0;
        for entry in dict.entries() {
            let (prefix, rest) = entry.id.split_at(entry.id.find(':').map_or(0, |k| k + 1));
            assert_eq!(dict.find_joined(prefix, rest), dict.find(&entry.id), "{}", entry.id);
            assert!(dict.find_joined(prefix, rest).is_some());
            admin1 += usize::from(prefix == "admin1:");
        }
        assert!(admin1 > 10, "the gazetteer's areas are among them");
        // Past the buffer, and not in the dictionary.
        let long = "x".repeat(100);
        assert_eq!(dict.find_joined("admin1:", &long), None);
        assert_eq!(dict.find_joined("admin1:", "no such code"), None);
    }

    #[test]
    fn the_bundled_dictionary_is_the_repository_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dictionaries");
        let from_dir = Dictionary::load_dir(&dir, &LoadOptions::default()).unwrap();
        let bundled = Dictionary::bundled().unwrap();
        assert_eq!(from_dir.version(), bundled.version(), "same bytes, same version");
        // Every data file of the folder is listed in the manifest (and so bundled).
        let mut on_disk = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p.file_name().unwrap().to_string_lossy().starts_with('.') && !p.ends_with("README.md") {
                    on_disk.push(p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        for file in &on_disk {
            assert!(files::BUNDLED.iter().any(|(rel, _)| rel == file), "{file} is not bundled");
            assert!(from_dir.report().files.iter().any(|f| f.ends_with(file.as_str())), "{file} is not read");
        }
    }

    #[test]
    fn any_edit_changes_the_version() {
        let tmp = std::env::temp_dir().join(format!("lexwire-version-{}", std::process::id()));
        for (rel, bytes) in files::BUNDLED {
            let path = tmp.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let before = Dictionary::load_dir(&tmp, &LoadOptions::default()).unwrap().version().to_string();
        let weapons = tmp.join("lexicon/weapons.toml");
        let text = std::fs::read_to_string(&weapons).unwrap().replace("\"barrel bombs\"", "\"barrel bombs\", \"IRAM\"");
        std::fs::write(&weapons, text).unwrap();
        let after = Dictionary::load_dir(&tmp, &LoadOptions::default()).unwrap().version().to_string();
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_ne!(before, after);
        assert!(before.starts_with("2026.11.0+") && before.len() == "2026.11.0+".len() + 12, "{before}");
    }
}
