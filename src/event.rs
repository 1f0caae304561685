//! The event record: the `lexwire.event/v1` JSON that lexwire publishes, one per created or
//! updated event, keyed by `event_id`. `schema/lexwire.event.v1.json` is its JSON Schema; a
//! change that breaks it gets a new schema name.
//!
//! Names, ACLED and CAMEO codes, actor types and weapon categories come from the dictionary at
//! encoding time (the state keeps ids), so a record always describes its ids with the
//! dictionary named by its `dictionary_version`.

use crate::dedup::{EventState, LocationState, SourceState, Status};
use crate::dictionary::{Detail, Dictionary, Entry};
use crate::extract::casualties::Count;
use crate::json::{self, key};

/// The schema name every record carries.
pub const SCHEMA: &str = "lexwire.event/v1";

/// lexwire's version, stamped on every record.
pub const LEXWIRE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One record, ready to serialize.
pub struct EventRecord<'a> {
    pub event: &'a EventState,
    pub status: Status,
    pub dict: &'a Dictionary,
}

impl EventRecord<'_> {
    /// Appends the record as one JSON object to `out`. Written field by field without a
    /// serializer but for numbers with a fraction and enums: the serializer's string escaping,
    /// a byte at a time, cost more than the rest of a record together.
    ///
    /// # Errors
    /// What the serializer reports for those parts (nothing lexwire writes fails into memory).
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let (e, dict) = (self.event, self.dict);
        key!(out, first "schema");
        json::write_str(out, SCHEMA);
        key!(out, "event_id");
        e.event_id.write_json(out);
        key!(out, "revision");
        json::write_u64(out, u64::from(e.revision));
        key!(out, "status");
        json::write_serde(out, &self.status)?;
        key!(out, "event_type");
        write_event_type(out, e, dict);
        key!(out, "date");
        write_date(out, e.date.date);
        key!(out, "date_precision");
        json::write_serde(out, &e.date.precision)?;
        let (from, to) = e.date.range();
        key!(out, "date_range");
        out.push(b'[');
        write_date(out, from);
        out.push(b',');
        write_date(out, to);
        out.push(b']');
        key!(out, "location");
        match &e.location {
            Some(l) => write_location(out, l)?,
            None => out.extend_from_slice(b"null"),
        }
        key!(out, "actors");
        write_actors(out, e, dict)?;
        key!(out, "fatalities");
        write_count(out, e.fatalities.as_ref());
        key!(out, "injured");
        write_count(out, e.injured.as_ref());
        key!(out, "weapons");
        write_weapons(out, e, dict);
        key!(out, "confidence");
        json::write_serde(out, &e.confidence)?;
        key!(out, "sources");
        out.push(b'[');
        for (i, s) in e.sources.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_source(out, s)?;
        }
        out.push(b']');
        if e.more_sources > 0 {
            key!(out, "more_sources");
            json::write_u64(out, u64::from(e.more_sources));
        }
        if !e.possible_duplicates.is_empty() {
            key!(out, "possible_duplicates");
            json::write_serde(out, &e.possible_duplicates)?;
        }
        key!(out, "dictionary_version");
        json::write_str(out, e.dictionary_version());
        key!(out, "lexwire_version");
        json::write_str(out, LEXWIRE_VERSION);
        out.push(b'}');
        Ok(())
    }

    /// The record as one JSON object, in a string of its own ([`EventRecord::write_json`]).
    ///
    /// # Errors
    /// As [`EventRecord::write_json`].
    pub fn to_json(&self) -> serde_json::Result<String> {
        let mut out = Vec::with_capacity(2048);
        self.write_json(&mut out)?;
        Ok(String::from_utf8(out).expect("JSON written from strings is UTF-8"))
    }
}

/// A date as RFC 3339's full-date (`YYYY-MM-DD`). Input dates are checked to the years 0001 to
/// 9999 and resolved dates outside them dropped, so only a range's edge (the week before
/// 0001-01-03) can fall outside; it is cut at the calendar's end rather than written as
/// `0000-12-28` or `-0001-...`, which the schema's `format: date` rejects.
pub fn rfc3339_date(d: chrono::NaiveDate) -> String {
    std::str::from_utf8(&date_bytes(d)).expect("digits and dashes are UTF-8").to_owned()
}

/// [`rfc3339_date`]'s bytes, written digit by digit: chrono's formatter parses its format string
/// on every call.
fn date_bytes(d: chrono::NaiveDate) -> [u8; 10] {
    use chrono::Datelike;
    let d = d.clamp(crate::article::first_date(), crate::article::last_date());
    let (year, month, day) = (d.year().unsigned_abs(), d.month(), d.day());
    let digit = |v: u32| b'0' + (v % 10) as u8;
    [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ]
}

/// A date as a JSON string: digits and dashes, nothing to escape.
fn write_date(out: &mut Vec<u8>, d: chrono::NaiveDate) {
    out.push(b'"');
    out.extend_from_slice(&date_bytes(d));
    out.push(b'"');
}

fn write_event_type(out: &mut Vec<u8>, e: &EventState, dict: &Dictionary) {
    key!(out, first "code");
    json::write_str(out, e.event_type());
    key!(out, "family");
    json::write_str(out, e.family());
    if let Some(t) = dict.event_type_by_code(e.event_type()).map(|i| dict.event_type(i)) {
        key!(out, "name");
        json::write_str(out, &t.name);
        key!(out, "acled_event_type");
        json::write_str(out, &t.acled_event_type);
        key!(out, "acled_sub_event_type");
        json::write_str(out, &t.acled_sub_event_type);
        key!(out, "cameo");
        json::write_str(out, &t.cameo);
        key!(out, "cameo_name");
        json::write_str(out, &t.cameo_name);
    }
    key!(out, "generic");
    write_bool(out, e.generic);
    out.push(b'}');
}

fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `{"id":…,"name":…` of an actor or weapon: the dictionary's name when the id is one of its
/// entries (returned, for the facts the caller adds), else the id; the caller closes the object.
fn write_named<'d>(out: &mut Vec<u8>, id: &str, dict: &'d Dictionary) -> Option<&'d Entry> {
    let entry = dict.find(id).map(|i| dict.entry(i));
    key!(out, first "id");
    json::write_str(out, id);
    key!(out, "name");
    json::write_str(out, entry.map_or(id, |e| e.name.as_str()));
    entry
}

/// Actors with their dictionary names and facts: `type` and `affiliation` when the id is a
/// dictionary actor.
fn write_actors(out: &mut Vec<u8>, e: &EventState, dict: &Dictionary) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, a) in e.actors.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let entry = write_named(out, &a.id, dict);
        key!(out, "role");
        json::write_serde(out, &a.role)?;
        if let Some(Detail::Actor(actor)) = entry.map(|e| &e.detail) {
            key!(out, "type");
            json::write_str(out, &actor.actor_type);
            key!(out, "affiliation");
            json::write_str(out, &actor.affiliation);
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

/// Weapons with their dictionary names, and categories when the id is a dictionary weapon.
fn write_weapons(out: &mut Vec<u8>, e: &EventState, dict: &Dictionary) {
    out.push(b'[');
    for (i, w) in e.weapons.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(Detail::Weapon(x)) = write_named(out, w, dict).map(|e| &e.detail) {
            key!(out, "category");
            json::write_str(out, x.category.as_str());
        }
        out.push(b'}');
    }
    out.push(b']');
}

fn write_count(out: &mut Vec<u8>, count: Option<&Count>) {
    let Some(c) = count else {
        out.extend_from_slice(b"null");
        return;
    };
    key!(out, first "best");
    json::write_u64(out, u64::from(c.best));
    key!(out, "low");
    json::write_u64(out, u64::from(c.low));
    key!(out, "high");
    json::write_u64(out, u64::from(c.high));
    out.push(b'}');
}

fn write_optional_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json::write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A location in the order the saved state also writes it (`FlatLocation`).
fn write_location(out: &mut Vec<u8>, l: &LocationState) -> serde_json::Result<()> {
    key!(out, first "place_id");
    json::write_str(out, &l.place_id);
    key!(out, "name");
    json::write_str(out, &l.name);
    key!(out, "surface");
    json::write_str(out, &l.surface);
    key!(out, "country");
    json::write_str(out, &l.country);
    key!(out, "admin1");
    write_optional_str(out, l.admin1.as_deref());
    key!(out, "admin1_name");
    write_optional_str(out, l.admin1_name.as_deref());
    key!(out, "admin2");
    write_optional_str(out, l.admin2.as_deref());
    key!(out, "admin2_name");
    write_optional_str(out, l.admin2_name.as_deref());
    key!(out, "lat");
    json::write_serde(out, &l.lat)?;
    key!(out, "lon");
    json::write_serde(out, &l.lon)?;
    key!(out, "feature_class");
    json::write_str(out, &l.feature_class);
    key!(out, "level");
    json::write_serde(out, &l.level)?;
    key!(out, "geo_precision");
    json::write_u64(out, u64::from(l.geo_precision));
    if let Some(locality) = &l.locality {
        key!(out, "locality");
        json::write_str(out, locality);
    }
    out.push(b'}');
    Ok(())
}

/// A source as the record shows it: without the processing sequence number and content hash,
/// which are internal to one dedup partition's state.
fn write_source(out: &mut Vec<u8>, s: &SourceState) -> serde_json::Result<()> {
    key!(out, first "article_id");
    json::write_str(out, &s.article_id);
    if let Some(url) = s.url() {
        key!(out, "url");
        json::write_str(out, url);
    }
    if let Some(source) = &s.source {
        key!(out, "source");
        json::write_str(out, source);
    }
    key!(out, "language");
    json::write_str(out, s.language.as_str());
    if let Some(p) = s.published_at() {
        key!(out, "published_at");
        json::write_str(out, p);
    }
    if let Some(d) = &s.duplicate_of {
        key!(out, "duplicate_of");
        json::write_str(out, d);
    }
    key!(out, "evidence");
    key!(out, first "start");
    json::write_u64(out, u64::from(s.evidence.start));
    key!(out, "end");
    json::write_u64(out, u64::from(s.evidence.end));
    key!(out, "sentence");
    json::write_str(out, s.sentence());
    out.push(b'}');
    if let Some(f) = &s.fatalities {
        key!(out, "fatalities");
        write_count(out, Some(f));
    }
    if let Some(i) = &s.injured {
        key!(out, "injured");
        write_count(out, Some(i));
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn dates_as_chrono_writes_them() {
        let first = crate::article::first_date();
        let last = crate::article::last_date();
        let days = [first, last, NaiveDate::MIN, NaiveDate::MAX]
            .into_iter()
            .chain((0..4000).map(|i| first + chrono::Days::new(i * 911)))
            .chain((0..400).map(|i| NaiveDate::from_ymd_opt(1999, 1, 1).unwrap() + chrono::Days::new(i)));
        for d in days {
            let chrono = d.clamp(first, last).format("%Y-%m-%d").to_string();
            assert_eq!(rfc3339_date(d), chrono, "{d:?}");
        }
    }
}
