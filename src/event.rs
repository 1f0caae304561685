//! The event record: the `lexwire.event/v1` JSON that lexwire publishes, one per created or
//! updated event, keyed by `event_id`. `schema/lexwire.event.v1.json` is its JSON Schema; a
//! change that breaks it gets a new schema name.
//!
//! Names, ACLED and CAMEO codes, actor types and weapon categories come from the dictionary at
//! encoding time (the state keeps ids), so a record always describes its ids with the
//! dictionary named by its `dictionary_version`.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::dedup::{EventState, Status};
use crate::dictionary::{Detail, Dictionary};

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

impl Serialize for EventRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (e, dict) = (self.event, self.dict);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schema", SCHEMA)?;
        map.serialize_entry("event_id", &e.event_id)?;
        map.serialize_entry("revision", &e.revision)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("event_type", &EventTypeJson { e, dict })?;
        map.serialize_entry("date", &rfc3339_date(e.date.date))?;
        map.serialize_entry("date_precision", &e.date.precision)?;
        let (from, to) = e.date.range();
        map.serialize_entry("date_range", &[rfc3339_date(from), rfc3339_date(to)])?;
        map.serialize_entry("location", &e.location)?;
        map.serialize_entry("actors", &ActorsJson { e, dict })?;
        map.serialize_entry("fatalities", &e.fatalities)?;
        map.serialize_entry("injured", &e.injured)?;
        map.serialize_entry("weapons", &WeaponsJson { e, dict })?;
        map.serialize_entry("confidence", &e.confidence)?;
        map.serialize_entry("sources", &SourcesJson(&e.sources))?;
        if e.more_sources > 0 {
            map.serialize_entry("more_sources", &e.more_sources)?;
        }
        if !e.possible_duplicates.is_empty() {
            map.serialize_entry("possible_duplicates", &e.possible_duplicates)?;
        }
        map.serialize_entry("dictionary_version", &e.dictionary_version())?;
        map.serialize_entry("lexwire_version", LEXWIRE_VERSION)?;
        map.end()
    }
}

/// A date as RFC 3339's full-date (`YYYY-MM-DD`). Input dates are checked to the years 0001 to
/// 9999 and resolved dates outside them dropped, so only a range's edge (the week before
/// 0001-01-03) can fall outside; it is cut at the calendar's end rather than written as
/// `0000-12-28` or `-0001-...`, which the schema's `format: date` rejects.
pub fn rfc3339_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let d = d.clamp(crate::article::first_date(), crate::article::last_date());
    // Written digit by digit: chrono's formatter parses its format string on every call.
    let (year, month, day) = (d.year().unsigned_abs(), d.month(), d.day());
    let digit = |v: u32| b'0' + (v % 10) as u8;
    let bytes = [
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
    ];
    std::str::from_utf8(&bytes).expect("digits and dashes are UTF-8").to_owned()
}

struct EventTypeJson<'a> {
    e: &'a EventState,
    dict: &'a Dictionary,
}

impl Serialize for EventTypeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.e.event_type())?;
        map.serialize_entry("family", &self.e.family())?;
        if let Some(t) = self.dict.event_type_by_code(self.e.event_type()).map(|i| self.dict.event_type(i)) {
            map.serialize_entry("name", &t.name)?;
            map.serialize_entry("acled_event_type", &t.acled_event_type)?;
            map.serialize_entry("acled_sub_event_type", &t.acled_sub_event_type)?;
            map.serialize_entry("cameo", &t.cameo)?;
            map.serialize_entry("cameo_name", &t.cameo_name)?;
        }
        map.serialize_entry("generic", &self.e.generic)?;
        map.end()
    }
}

struct ActorsJson<'a> {
    e: &'a EventState,
    dict: &'a Dictionary,
}

impl Serialize for ActorsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.e.actors.len()))?;
        for a in &self.e.actors {
            let entry = self.dict.find(&a.id).map(|i| self.dict.entry(i));
            let actor = entry.and_then(|e| match &e.detail {
                Detail::Actor(actor) => Some(actor),
                _ => None,
            });
            seq.serialize_element(&ActorJson {
                id: &a.id,
                name: entry.map_or(&*a.id, |e| e.name.as_str()),
                role: a.role,
                actor_type: actor.map(|x| x.actor_type.as_str()),
                affiliation: actor.map(|x| x.affiliation.as_str()),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct ActorJson<'a> {
    id: &'a str,
    name: &'a str,
    role: crate::extract::Role,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    actor_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    affiliation: Option<&'a str>,
}

struct WeaponsJson<'a> {
    e: &'a EventState,
    dict: &'a Dictionary,
}

impl Serialize for WeaponsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.e.weapons.len()))?;
        for w in &self.e.weapons {
            let entry = self.dict.find(w).map(|i| self.dict.entry(i));
            let category = entry.and_then(|e| match &e.detail {
                Detail::Weapon(x) => Some(x.category.as_str()),
                _ => None,
            });
            seq.serialize_element(&WeaponJson { id: w, name: entry.map_or(&**w, |e| e.name.as_str()), category })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct WeaponJson<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
}

/// The sources as the record shows them: without the processing sequence number, which is
/// internal to one dedup partition's state.
struct SourcesJson<'a>(&'a [crate::dedup::SourceState]);

impl Serialize for SourcesJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for s in self.0 {
            seq.serialize_element(&SourceJson(s))?;
        }
        seq.end()
    }
}

struct SourceJson<'a>(&'a crate::dedup::SourceState);

impl Serialize for SourceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("article_id", &s.article_id)?;
        if let Some(url) = s.url() {
            map.serialize_entry("url", url)?;
        }
        if let Some(source) = &s.source {
            map.serialize_entry("source", source)?;
        }
        map.serialize_entry("language", &s.language)?;
        if let Some(p) = s.published_at() {
            map.serialize_entry("published_at", p)?;
        }
        if let Some(d) = &s.duplicate_of {
            map.serialize_entry("duplicate_of", d)?;
        }
        map.serialize_entry("evidence", &crate::dedup::EvidenceRepr::of(s))?;
        if let Some(f) = &s.fatalities {
            map.serialize_entry("fatalities", f)?;
        }
        if let Some(i) = &s.injured {
            map.serialize_entry("injured", i)?;
        }
        map.end()
    }
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
