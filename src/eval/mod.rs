//! Scoring lexwire's events against hand-coded data: `lexwire eval`.
//!
//! A labelled file is a CSV export in one of two shapes ([`Format`]):
//! - **ACLED**: the event described in `notes`; gold `event_date` (`9-May-20`), `event_type`,
//!   `sub_event_type`, `fatalities`, `latitude`/`longitude`, `admin1`/`admin2`/`location`,
//!   `iso3`; its `timestamp` (when ACLED published the row) is the article's publication date;
//! - **GTD**: the incident in `summary`; gold `date` (`2012-01-05`), `city`, `state`,
//!   `latitude`/`longitude`, `killed`, `wounded`. There is no publication date: the summary's
//!   own date is all lexwire has.
//!
//! Every row is an article of its own, processed on a fresh dedup state by the same
//! [`Engine`] as `lexwire tag --events`. A row's *primary* event is its first record (lexwire
//! emits them in order of first mention); the row's figures are that event's. Fields are scored
//! only where the gold has a value; a bad row (a non-numeric toll, a bad date) is reported with
//! its line and column, counted and skipped.
//!
//! Pure apart from reading the CSV: the caller prints the [`Report`].

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use chrono::{DateTime, NaiveDate};
use serde::Serialize;

use crate::article::Article;
use crate::dedup::{DedupConfig, Deduper, EventState};
use crate::dictionary::gazetteer::km;
use crate::engine::Engine;
use crate::normalize::normalize_str;

pub mod dedup;

/// Two points this close (km) are the same place.
pub const PLACE_KM: f64 = 25.0;

/// ACLED event types whose events are violent; the others (protests, riots, strategic
/// developments) must not produce a violent event.
const VIOLENT_ACLED_TYPES: [&str; 3] = ["Battles", "Explosions/Remote violence", "Violence against civilians"];

/// lexwire's violent event families.
const VIOLENT_FAMILIES: [&str; 3] = ["remote_violence", "battle", "violence_against_civilians"];

/// The shape of a labelled file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Acled,
    Gtd,
}

impl Format {
    /// The format a header row is in: `notes` is ACLED's text column, `summary` GTD's.
    pub fn detect(headers: &csv::StringRecord) -> Option<Format> {
        if headers.iter().any(|h| h.trim() == "notes") {
            Some(Format::Acled)
        } else if headers.iter().any(|h| h.trim() == "summary") {
            Some(Format::Gtd)
        } else {
            None
        }
    }

    fn text_column(self) -> &'static str {
        match self {
            Format::Acled => "notes",
            Format::Gtd => "summary",
        }
    }
}

/// One labelled row: the text and what people coded from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoldRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub id: String,
    pub text: String,
    /// The article's publication date, when the file has one.
    pub published: Option<NaiveDate>,
    pub date: Option<NaiveDate>,
    pub sub_event_type: Option<String>,
    /// Whether the coded event is violent (ACLED's three violent event types; every GTD row).
    pub violent: Option<bool>,
    pub fatalities: Option<u64>,
    pub injured: Option<u64>,
    pub point: Option<(f64, f64)>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Names of the place and the areas holding it (location, city, admin2...), any of which a
    /// lexwire location may name.
    pub areas: Vec<String>,
    /// The gold event the row reports (`cluster` column): rows with the same value are reports
    /// of one event; without the column every row is its own event.
    pub cluster: Option<String>,
    /// The outlet (`source` column) and the language (`language`) of a row that is an article.
    pub source: Option<String>,
    pub language: Option<String>,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Why a labelled file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read the CSV header: {0}")]
    Header(csv::Error),
    #[error("the header has neither a `notes` (ACLED) nor a `summary` (GTD) column: not a labelled file lexwire reads")]
    UnknownFormat,
    #[error("the header has no `{0}` column, which {1} file needs")]
    MissingColumn(&'static str, &'static str),
}

/// Reads a labelled CSV file row by row.
pub struct GoldReader<R: Read> {
    reader: csv::Reader<R>,
    format: Format,
    columns: Columns,
    record: csv::StringRecord,
}

#[derive(Debug, Default)]
struct Columns {
    text: usize,
    id: Option<usize>,
    date: Option<usize>,
    published: Option<usize>,
    event_type: Option<usize>,
    sub_event_type: Option<usize>,
    fatalities: Option<usize>,
    injured: Option<usize>,
    lat: Option<usize>,
    lon: Option<usize>,
    iso3: Option<usize>,
    country: Option<usize>,
    areas: Vec<usize>,
    cluster: Option<usize>,
    source: Option<usize>,
    language: Option<usize>,
    published_at: Option<usize>,
}

/// What the next row gave.
pub enum Next {
    Row(Box<GoldRow>),
    Bad(RowError),
}

impl<R: Read> GoldReader<R> {
    /// # Errors
    /// When the header cannot be read, is of no known format, or lacks `format`'s text column.
    pub fn new(input: R, format: Option<Format>) -> Result<Self, EvalError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader.headers().map_err(EvalError::Header)?.clone();
        let format = match format {
            Some(f) => f,
            None => Format::detect(&headers).ok_or(EvalError::UnknownFormat)?,
        };
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let kind = match format {
            Format::Acled => "an ACLED",
            Format::Gtd => "a GTD",
        };
        let text = col(format.text_column()).ok_or(EvalError::MissingColumn(format.text_column(), kind))?;
        let columns = match format {
            Format::Acled => Columns {
                text,
                id: col("event_id_cnty").or_else(|| col("data_id")),
                date: col("event_date"),
                published: col("timestamp"),
                event_type: col("event_type"),
                sub_event_type: col("sub_event_type"),
                fatalities: col("fatalities"),
                injured: None,
                lat: col("latitude"),
                lon: col("longitude"),
                iso3: col("iso3"),
                country: None,
                areas: ["location", "admin3", "admin2"].iter().filter_map(|c| col(c)).collect(),
                ..Columns::default()
            },
            Format::Gtd => Columns {
                text,
                id: col("eventid"),
                date: col("date"),
                published: None,
                event_type: None,
                sub_event_type: None,
                fatalities: col("killed"),
                injured: col("wounded"),
                lat: col("latitude"),
                lon: col("longitude"),
                iso3: None,
                country: col("country"),
                areas: ["city"].iter().filter_map(|c| col(c)).collect(),
                ..Columns::default()
            },
        };
        // Columns of a file of articles, in either format: the gold event each reports, its
        // outlet, language and publication date.
        let columns = Columns {
            cluster: col("cluster"),
            source: col("source"),
            language: col("language"),
            published_at: col("published_at"),
            ..columns
        };
        Ok(GoldReader { reader, format, columns, record: csv::StringRecord::new() })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Bytes read so far (for progress).
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Next> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                Some(match self.parse(line) {
                    Ok(row) => Next::Row(Box::new(row)),
                    Err(e) => Next::Bad(e),
                })
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Some(Next::Bad(RowError { line, column: "-".into(), message: format!("unreadable CSV: {e}") }))
            }
        }
    }

    fn parse(&self, line: u64) -> Result<GoldRow, RowError> {
        let r = &self.record;
        let c = &self.columns;
        let field = |i: Option<usize>| i.and_then(|i| r.get(i)).map(str::trim).filter(|s| !s.is_empty());
        let bad = |column: &str, message: String| RowError { line, column: column.to_string(), message };
        let text = field(Some(c.text)).ok_or_else(|| bad(self.format.text_column(), "no text".into()))?;
        let count = |i: Option<usize>, column: &str| -> Result<Option<u64>, RowError> {
            let Some(s) = field(i) else { return Ok(None) };
            let v: f64 = s.parse().map_err(|_| bad(column, format!("not a number: {:?}", clip(s))))?;
            if !(v >= 0.0 && v.fract() == 0.0 && v < 1e9) {
                return Err(bad(column, format!("not a count of people: {:?}", clip(s))));
            }
            Ok(Some(v as u64))
        };
        let coord = |i: Option<usize>, column: &str, limit: f64| -> Result<Option<f64>, RowError> {
            let Some(s) = field(i) else { return Ok(None) };
            let v: f64 = s.parse().map_err(|_| bad(column, format!("not a coordinate: {:?}", clip(s))))?;
            if !(-limit..=limit).contains(&v) {
                return Err(bad(column, format!("coordinate out of range: {v}")));
            }
            Ok(Some(v))
        };
        let date_column = match self.format {
            Format::Acled => "event_date",
            Format::Gtd => "date",
        };
        let date = match field(c.date) {
            None => None,
            Some(s) => Some(parse_gold_date(s).ok_or_else(|| bad(date_column, format!("not a date: {:?}", clip(s))))?),
        };
        let published = match field(c.published_at) {
            Some(s) => Some(
                crate::extract::dates::parse_published(s)
                    .ok_or_else(|| bad("published_at", format!("not a date: {:?}", clip(s))))?,
            ),
            None => None,
        };
        let published = match field(c.published) {
            _ if published.is_some() => published,
            None => None,
            Some(s) => {
                let secs: i64 =
                    s.parse().map_err(|_| bad("timestamp", format!("not a Unix timestamp: {:?}", clip(s))))?;
                Some(
                    DateTime::from_timestamp(secs, 0)
                        .ok_or_else(|| bad("timestamp", format!("out of range: {secs}")))?
                        .date_naive(),
                )
            }
        };
        let (fatalities_column, injured_column) = match self.format {
            Format::Acled => ("fatalities", "-"),
            Format::Gtd => ("killed", "wounded"),
        };
        let fatalities = count(c.fatalities, fatalities_column)?;
        let injured = count(c.injured, injured_column)?;
        let point = match (coord(c.lat, "latitude", 90.0)?, coord(c.lon, "longitude", 180.0)?) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            _ => None,
        };
        let country = match self.format {
            Format::Acled => field(c.iso3).and_then(iso2_of_iso3),
            Format::Gtd => field(c.country).and_then(iso2_of_name),
        };
        let violent = match self.format {
            Format::Acled => field(c.event_type).map(|t| VIOLENT_ACLED_TYPES.contains(&t)),
            Format::Gtd => Some(true),
        };
        Ok(GoldRow {
            line,
            id: field(c.id).map_or_else(|| format!("line-{line}"), str::to_string),
            text: text.to_string(),
            published,
            date,
            sub_event_type: field(c.sub_event_type).map(str::to_string),
            violent,
            fatalities,
            injured,
            point,
            country,
            areas: c.areas.iter().filter_map(|&i| field(Some(i))).map(str::to_string).collect(),
            cluster: field(c.cluster).map(str::to_string),
            source: field(c.source).map(str::to_string),
            language: field(c.language).map(str::to_string),
        })
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// ACLED's `9-May-20` / `09 May 2020`, GTD's `2012-01-05`, or `MM/DD/YYYY`.
pub fn parse_gold_date(s: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%d-%b-%y", "%d %B %Y", "%d-%B-%Y", "%m/%d/%Y", "%d %b %Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

use crate::dictionary::country::ISO3166_TSV as ISO3166;

fn iso2_of_iso3(code: &str) -> Option<String> {
    ISO3166.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split('\t');
        (f.next()? == code).then(|| f.next().map(str::to_string))?
    })
}

/// Short names data sets use where ISO 3166 has a longer official one.
const COMMON_NAMES: [(&str, &str); 24] = [
    ("Syria", "SY"),
    ("Iran", "IR"),
    ("Russia", "RU"),
    ("Turkey", "TR"),
    ("South Korea", "KR"),
    ("North Korea", "KP"),
    ("Vietnam", "VN"),
    ("Laos", "LA"),
    ("Bolivia", "BO"),
    ("Venezuela", "VE"),
    ("Tanzania", "TZ"),
    ("Ivory Coast", "CI"),
    ("Democratic Republic of the Congo", "CD"),
    ("Republic of the Congo", "CG"),
    ("West Bank and Gaza Strip", "PS"),
    ("Palestine", "PS"),
    ("Moldova", "MD"),
    ("Macedonia", "MK"),
    ("Czech Republic", "CZ"),
    ("United Kingdom", "GB"),
    ("United States", "US"),
    ("eSwatini", "SZ"),
    ("Taiwan", "TW"),
    ("Kosovo", "XK"),
];

fn iso2_of_name(name: &str) -> Option<String> {
    if let Some((_, code)) = COMMON_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some((*code).to_string());
    }
    ISO3166.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        (f.len() == 3 && f[2].eq_ignore_ascii_case(name)).then(|| f[1].to_string())
    })
}

/// A gold area's name without the noun of its kind: "Ramadi district" is Ramadi's area, and a
/// place named Ramadi is in it.
fn area_name(name: &str) -> String {
    let n = normalize_str(name);
    for suffix in [" district", " subdistrict", " city", " town", " village", " governorate", " province", " area"] {
        if let Some(stem) = n.strip_suffix(suffix) {
            return stem.to_string();
        }
    }
    n
}

/// The fields scored, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    EventFound,
    SubEventType,
    Fatalities,
    FatalitiesWhereAny,
    Injured,
    Date,
    Place,
    NoViolentEvent,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::EventFound,
        Field::SubEventType,
        Field::Fatalities,
        Field::FatalitiesWhereAny,
        Field::Injured,
        Field::Date,
        Field::Place,
        Field::NoViolentEvent,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::EventFound => "event found (violent rows)",
            Field::SubEventType => "sub-event type (all rows)",
            Field::Fatalities => "fatalities exact (all rows)",
            Field::FatalitiesWhereAny => "fatalities exact (where > 0)",
            Field::Injured => "injured exact (all rows)",
            Field::Date => "date exact (rows with an event)",
            Field::Place => "place <= 25 km or same area",
            Field::NoViolentEvent => "no violent event (non-violent rows)",
        }
    }
}

/// What lexwire made of one row.
#[derive(Debug, Clone, Default)]
pub struct Prediction {
    /// How many events the row gave.
    pub events: usize,
    pub sub_event_type: Option<String>,
    pub code: Option<String>,
    pub violent: bool,
    pub fatalities: u64,
    pub injured: u64,
    pub date: Option<NaiveDate>,
    pub point: Option<(f64, f64)>,
    pub place: Option<String>,
    pub place_names: Vec<String>,
    pub country: Option<String>,
    pub sentence: Option<String>,
}

impl Prediction {
    fn of(engine: &Engine, events: &[&EventState]) -> Prediction {
        let dict = engine.dictionary();
        let Some(first) = events.first() else { return Prediction::default() };
        let ty = dict.event_type_by_code(first.event_type()).map(|i| dict.event_type(i));
        let location = first.location.as_ref();
        Prediction {
            events: events.len(),
            sub_event_type: ty.map(|t| t.acled_sub_event_type.clone()),
            code: Some(first.event_type().to_string()),
            violent: events.iter().any(|e| VIOLENT_FAMILIES.contains(&&**e.family())),
            fatalities: first.fatalities.map_or(0, |c| c.best.into()),
            injured: first.injured.map_or(0, |c| c.best.into()),
            date: Some(first.date.date),
            point: location.map(|l| (l.lat, l.lon)),
            place: location.map(|l| format!("{} ({})", l.name, l.place_id)),
            place_names: location
                .map(|l| {
                    [Some(&l.name), Some(&l.surface), l.admin2_name.as_ref(), l.admin1_name.as_ref()]
                        .into_iter()
                        .flatten()
                        .map(|s| s.to_string())
                        .collect()
                })
                .unwrap_or_default(),
            country: location.map(|l| l.country.to_string()),
            sentence: first.sources.first().map(|s| s.sentence().to_string()),
        }
    }
}

/// Right and scored counts of one field.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tally {
    pub scored: u64,
    pub right: u64,
}

impl Tally {
    pub fn rate(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.right as f64 / self.scored as f64)
    }
}

/// A wrong answer, with what lexwire read.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub field: Field,
    pub line: u64,
    pub id: String,
    pub gold: String,
    pub got: String,
    /// How far off (for ordering the worst first): the count difference, the km, or 1.
    pub badness: f64,
    /// The sentence lexwire took the event from, or the text's opening when it found none.
    pub sentence: String,
}

/// The scores of a file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub format: Format,
    pub rows: u64,
    pub skipped: u64,
    pub errors: Vec<RowError>,
    pub fields: Vec<(Field, Tally)>,
    /// Sub-event types confused: (gold, lexwire's) and how often, the most frequent first.
    pub confusions: Vec<(String, String, u64)>,
    /// Countries the loaded gazetteer has places in; place is scored only in these.
    #[serde(skip)]
    pub covered: HashSet<String>,
    pub misses: Vec<Miss>,
    /// How many misses to keep per field.
    #[serde(skip)]
    pub keep_misses: usize,
}

impl Report {
    pub fn new(file: &str, format: Format, engine: &Engine, keep_misses: usize) -> Report {
        let covered =
            engine.dictionary().entries().iter().filter_map(|e| e.place()).map(|p| p.country.clone()).collect();
        Report {
            file: file.to_string(),
            format,
            rows: 0,
            skipped: 0,
            errors: Vec::new(),
            fields: Field::ALL.iter().map(|f| (*f, Tally::default())).collect(),
            confusions: Vec::new(),
            covered,
            misses: Vec::new(),
            keep_misses,
        }
    }

    pub fn tally(&self, field: Field) -> Tally {
        self.fields.iter().find(|(f, _)| *f == field).map_or_else(Tally::default, |(_, t)| *t)
    }

    fn score(&mut self, field: Field, right: bool, miss: impl FnOnce() -> Miss) {
        if let Some((_, t)) = self.fields.iter_mut().find(|(f, _)| *f == field) {
            t.scored += 1;
            t.right += u64::from(right);
        }
        if !right && self.keep_misses > 0 {
            self.misses.push(miss());
        }
    }

    pub fn skip(&mut self, error: RowError) {
        self.skipped += 1;
        if self.errors.len() < 100 {
            self.errors.push(error);
        }
    }

    /// Scores one row's prediction.
    pub fn add(&mut self, row: &GoldRow, p: &Prediction) {
        self.rows += 1;
        let sentence = || p.sentence.clone().unwrap_or_else(|| row.text.chars().take(300).collect());
        let miss = |field: Field, gold: String, got: String, badness: f64| {
            let sentence = sentence();
            move || Miss { field, line: row.line, id: row.id.clone(), gold, got, badness, sentence }
        };
        let found = p.events > 0;
        if row.violent == Some(true) {
            self.score(Field::EventFound, found, miss(Field::EventFound, "an event".into(), "none".into(), 1.0));
        }
        if row.violent == Some(false) {
            let got = p.code.clone().unwrap_or_default();
            self.score(
                Field::NoViolentEvent,
                !p.violent,
                miss(Field::NoViolentEvent, "no violent event".into(), got, 1.0),
            );
        }
        if let Some(gold) = &row.sub_event_type {
            let got = p.sub_event_type.clone().unwrap_or_else(|| "none".into());
            let right = p.sub_event_type.as_deref() == Some(gold.as_str());
            if !right {
                match self.confusions.iter_mut().find(|(g, x, _)| g == gold && *x == got) {
                    Some(c) => c.2 += 1,
                    None => self.confusions.push((gold.clone(), got.clone(), 1)),
                }
            }
            self.score(Field::SubEventType, right, miss(Field::SubEventType, gold.clone(), got, 1.0));
        }
        if let Some(gold) = row.fatalities {
            let off = gold.abs_diff(p.fatalities) as f64;
            let m = || miss(Field::Fatalities, gold.to_string(), p.fatalities.to_string(), off);
            self.score(Field::Fatalities, gold == p.fatalities, m());
            if gold > 0 {
                let m = miss(Field::FatalitiesWhereAny, gold.to_string(), p.fatalities.to_string(), off);
                self.score(Field::FatalitiesWhereAny, gold == p.fatalities, m);
            }
        }
        if let Some(gold) = row.injured {
            let off = gold.abs_diff(p.injured) as f64;
            self.score(
                Field::Injured,
                gold == p.injured,
                miss(Field::Injured, gold.to_string(), p.injured.to_string(), off),
            );
        }
        if let (Some(gold), Some(got)) = (row.date, p.date) {
            let off = (gold - got).num_days().unsigned_abs() as f64;
            self.score(Field::Date, gold == got, miss(Field::Date, gold.to_string(), got.to_string(), off));
        }
        let covered = row.country.as_ref().is_some_and(|c| self.covered.contains(c));
        if let (true, true, Some(gold)) = (covered, found, row.point) {
            let away = p.point.map(|q| km(gold.0, gold.1, q.0, q.1));
            let near = away.is_some_and(|d| d <= PLACE_KM);
            let same_area = row.areas.iter().any(|a| {
                let a = area_name(a);
                p.place_names.iter().any(|n| normalize_str(n) == a)
            });
            let got = match (&p.place, away) {
                (Some(place), Some(d)) => format!("{place}, {d:.0} km away"),
                _ => "no place".into(),
            };
            let gold_name = format!("{} ({:.3}, {:.3})", row.areas.join(" / "), gold.0, gold.1);
            self.score(Field::Place, near || same_area, miss(Field::Place, gold_name, got, away.unwrap_or(20_000.0)));
        }
    }

    /// Keeps the `keep_misses` worst misses of each field, and the 12 most frequent confusions.
    pub fn trim_misses(&mut self) {
        self.confusions.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        self.confusions.truncate(12);
        self.misses
            .sort_by(|a, b| a.field.cmp(&b.field).then(b.badness.total_cmp(&a.badness)).then(a.line.cmp(&b.line)));
        let mut kept: Vec<Miss> = Vec::new();
        for m in self.misses.drain(..) {
            if kept.iter().filter(|k| k.field == m.field).count() < self.keep_misses {
                kept.push(m);
            }
        }
        self.misses = kept;
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            Format::Acled => "ACLED",
            Format::Gtd => "GTD",
        };
        writeln!(f, "{} ({format}): {} rows scored, {} skipped", self.file, self.rows, self.skipped)?;
        writeln!(f, "{:<38} {:>7} {:>7} {:>7}", "field", "scored", "right", "rate")?;
        for (field, t) in &self.fields {
            match t.rate() {
                Some(r) => writeln!(f, "{:<38} {:>7} {:>7} {:>6.1}%", field.label(), t.scored, t.right, r * 100.0)?,
                None => writeln!(f, "{:<38} {:>7} {:>7} {:>7}", field.label(), "-", "-", "-")?,
            }
        }
        if !self.confusions.is_empty() {
            writeln!(f, "sub-event types most often confused (gold -> lexwire):")?;
            for (gold, got, n) in &self.confusions {
                writeln!(f, "  {n:>5}  {gold} -> {got}")?;
            }
        }
        Ok(())
    }
}

/// Processes one row on a fresh dedup state and returns what lexwire made of it.
///
/// # Errors
/// A [`RowError`] when the row's text cannot be processed (larger than the matcher accepts).
pub fn predict(engine: &mut Engine, config: &DedupConfig, row: &GoldRow) -> Result<Prediction, RowError> {
    *engine.deduper_mut() = Deduper::new(config.clone());
    let published = row.published.map(|d| d.format("%Y-%m-%d").to_string());
    let article = Article {
        id: row.id.as_str().into(),
        url: None,
        source: None,
        language: None,
        published_at: published.map(Into::into),
        title: None,
        text: row.text.as_str().into(),
    };
    let processed = engine.process(&article).map_err(|e| RowError {
        line: row.line,
        column: "text".into(),
        message: e.to_string(),
    })?;
    let events: Vec<&EventState> =
        processed.outcome.records.iter().filter_map(|(id, _)| engine.deduper().event(id)).collect();
    Ok(Prediction::of(engine, &events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_dates_in_every_shape() {
        let d = NaiveDate::from_ymd_opt(2020, 5, 9).unwrap();
        for s in ["9-May-20", "2020-05-09", "05/09/2020", "9 May 2020"] {
            assert_eq!(parse_gold_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_gold_date("2020-13-01"), None);
        assert_eq!(parse_gold_date("soon"), None);
    }

    #[test]
    fn country_codes() {
        assert_eq!(iso2_of_iso3("YEM").as_deref(), Some("YE"));
        assert_eq!(iso2_of_name("Iraq").as_deref(), Some("IQ"));
        assert_eq!(iso2_of_name("Syria").as_deref(), Some("SY"));
        assert_eq!(iso2_of_iso3("XXX"), None);
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_column() {
        let csv = "summary,date,killed,wounded,latitude,longitude,city,country\n\
                   \"A bomb killed two.\",2012-01-05,2,0,33.3,44.4,Baghdad,Iraq\n\
                   \"A bomb.\",2012-01-05,two,0,33.3,44.4,Baghdad,Iraq\n\
                   \"A bomb.\",2012-02-30,1,0,33.3,44.4,Baghdad,Iraq\n\
                   ,2012-01-05,1,0,33.3,44.4,Baghdad,Iraq\n";
        let mut r = GoldReader::new(csv.as_bytes(), None).unwrap();
        assert_eq!(r.format(), Format::Gtd);
        let mut rows = 0;
        let mut errors = Vec::new();
        while let Some(next) = r.next_row() {
            match next {
                Next::Row(row) => {
                    rows += 1;
                    assert_eq!((row.fatalities, row.country.as_deref()), (Some(2), Some("IQ")));
                }
                Next::Bad(e) => errors.push(e.to_string()),
            }
        }
        assert_eq!(rows, 1);
        assert_eq!(
            errors,
            [
                "line 3, column killed: not a number: \"two\"",
                "line 4, column date: not a date: \"2012-02-30\"",
                "line 5, column summary: no text",
            ]
        );
    }

    #[test]
    fn unknown_files_and_missing_text_columns_are_named() {
        let e = GoldReader::new("a,b\n1,2\n".as_bytes(), None).err().unwrap();
        assert!(e.to_string().contains("neither a `notes`"), "{e}");
        let e = GoldReader::new("notes,x\n".as_bytes(), Some(Format::Gtd)).err().unwrap();
        assert!(e.to_string().contains("no `summary` column"), "{e}");
    }
}
