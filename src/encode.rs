//! Encoding results as JSON: tagged articles (`lexwire tag`, the optional tagged-articles
//! topic).
//!
//! Serialization is written out field by field (no intermediate `serde_json::Value`), with the
//! dictionary consulted for each tag's canonical id, name and facts. Field names are part of the
//! output contract documented in the README.

use std::collections::HashMap;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::dictionary::{Detail, Dictionary, EntryId, EntryKind, Lang};
use crate::json;
use crate::tag::{Tag, TagValue};

/// A tagged article, as one JSON line.
pub struct TaggedArticleJson<'a> {
    pub article_id: &'a str,
    pub language: Lang,
    pub text: &'a str,
    pub tags: &'a [Tag],
    pub dict: &'a Dictionary,
    /// Also write internal tags (cues, units).
    pub all_tags: bool,
    /// The article this one repeats, when it is a near-duplicate.
    pub duplicate_of: Option<&'a str>,
}

impl Serialize for TaggedArticleJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("article_id", self.article_id)?;
        map.serialize_entry("language", self.language.as_str())?;
        map.serialize_entry("dictionary_version", self.dict.version())?;
        if let Some(original) = self.duplicate_of {
            map.serialize_entry("duplicate_of", original)?;
        }
        map.serialize_entry("tags", &Tags(self))?;
        map.end()
    }
}

/// Writes tagged articles as JSON: the same bytes as [`TaggedArticleJson`]'s `Serialize`, with
/// no serializer call for most of a dictionary tag. What a tag of an entry writes besides its
/// surface and span (kind, id, name, the entry's facts) depends on the entry alone: it is
/// encoded once, by the serializer, and copied for every tag of that entry after.
#[derive(Debug)]
pub struct TagWriter<'a> {
    /// Fragments by alias, shared by every writer of the dictionary.
    shared: &'a SharedFragments,
    /// (kind, entry, alias) → fragments, for a tag whose kind or entry is not its alias's.
    /// The keys are the dictionary's own: a fast fixed-seed hash is safe (SipHash showed in the
    /// profile).
    local: HashMap<(EntryKind, EntryId, Option<u32>), Fragments, FixedState>,
}

/// The fragments of a dictionary's tags, one slot per alias, each encoded on first use and then
/// shared by every writer and run (a short run would otherwise spend its time encoding them).
/// The slots (48 bytes an alias, 2.4 MB for the bundled dictionary) are allocated by the first
/// writer: a service that never writes tags does not pay for them.
pub struct SharedFragments {
    aliases: usize,
    /// A tag of an alias has the alias's entry and that entry's kind: the alias is the key.
    by_alias: OnceLock<Box<[OnceLock<Slot>]>>,
}

/// The fragments of an alias's tags, with the entry and kind they were encoded for (the alias's
/// own): a tag that has them uses the fragments without a look into the dictionary.
#[derive(Debug)]
struct Slot {
    kind: EntryKind,
    entry: EntryId,
    fragments: Fragments,
}

impl std::fmt::Debug for SharedFragments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let encoded = self.by_alias.get().map_or(0, |slots| slots.iter().filter(|s| s.get().is_some()).count());
        f.debug_struct("SharedFragments").field("aliases", &self.aliases).field("encoded", &encoded).finish()
    }
}

impl SharedFragments {
    /// No slots yet, for a dictionary of `aliases` aliases.
    pub fn new(aliases: usize) -> SharedFragments {
        SharedFragments { aliases, by_alias: OnceLock::new() }
    }

    fn slots(&self) -> &[OnceLock<Slot>] {
        self.by_alias.get_or_init(|| (0..self.aliases).map(|_| OnceLock::new()).collect())
    }
}

/// A dictionary tag's JSON before its surface and after its span, in one allocation (`bytes`
/// split at `at`: a tag reads one line of memory fewer), or why it could not be encoded (kept,
/// so that every tag of the entry reports it).
#[derive(Debug)]
enum Fragments {
    Split { bytes: Box<[u8]>, at: usize },
    Failed(Box<str>),
}

/// Where a tag's own part sits in the serializer's output of a tag with an empty surface at 0.
const SPAN_MARK: &[u8] = br#","surface":"","start":0,"end":0"#;
const SURFACE_KEY: &[u8] = br#","surface":"#;

impl<'a> TagWriter<'a> {
    pub fn new(shared: &'a SharedFragments) -> TagWriter<'a> {
        TagWriter { shared, local: HashMap::default() }
    }

    /// Appends `article` as JSON to `out`.
    ///
    /// # Errors
    /// What the serializer reports (nothing lexwire writes can fail into memory).
    pub fn write(&mut self, out: &mut Vec<u8>, article: &TaggedArticleJson<'_>) -> serde_json::Result<()> {
        out.extend_from_slice(br#"{"article_id":"#);
        json::write_str(out, article.article_id);
        out.extend_from_slice(br#","language":"#);
        json::write_str(out, article.language.as_str());
        out.extend_from_slice(br#","dictionary_version":"#);
        json::write_str(out, article.dict.version());
        if let Some(original) = article.duplicate_of {
            out.extend_from_slice(br#","duplicate_of":"#);
            json::write_str(out, original);
        }
        out.extend_from_slice(br#","tags":["#);
        let shown = article.tags.iter().filter(|t| article.all_tags || !t.is_internal());
        for (i, tag) in shown.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match (tag.entry, &tag.value) {
                (Some(entry), TagValue::None) => {
                    let (before, after) = self.fragments(tag.kind, entry, tag.alias, article.dict)?;
                    out.extend_from_slice(before);
                    write_span(out, tag, article.text);
                    out.extend_from_slice(after);
                }
                (_, TagValue::Number(n))
                    if tag.kind == EntryKind::Number
                        && let Some(value) = integer(n.value) =>
                {
                    write_integer(out, tag, n, value, article)?;
                }
                (_, TagValue::Date(d)) if tag.kind == EntryKind::Date => write_date(out, tag, d, article)?,
                _ => serde_json::to_writer(&mut *out, &TagJson { tag, text: article.text, dict: article.dict })?,
            }
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }

    /// The JSON of a tag of `entry` before its surface and after its span.
    fn fragments(
        &mut self,
        kind: EntryKind,
        entry: EntryId,
        alias: Option<u32>,
        dict: &Dictionary,
    ) -> serde_json::Result<(&[u8], &[u8])> {
        // A tag's kind and entry are its alias's, but for the odd tag: those have their own.
        let shared: &'a SharedFragments = self.shared;
        let slot = alias.and_then(|a| shared.slots().get(a as usize).map(|slot| (a, slot))).map(|(a, slot)| {
            slot.get_or_init(|| {
                // There is a slot for each of the dictionary's aliases.
                let entry = dict.aliases()[a as usize].entry;
                let kind = dict.entry(entry).kind();
                Slot { kind, entry, fragments: Fragments::encode(kind, entry, Some(a), dict) }
            })
        });
        let fragments = match slot.filter(|s| s.entry == entry && s.kind == kind) {
            Some(slot) => &slot.fragments,
            None => {
                self.local.entry((kind, entry, alias)).or_insert_with(|| Fragments::encode(kind, entry, alias, dict))
            }
        };
        match fragments {
            Fragments::Split { bytes, at } => Ok(bytes.split_at(*at)),
            Fragments::Failed(message) => Err(serde::ser::Error::custom(message)),
        }
    }
}

impl Fragments {
    /// Encodes a tag of `entry` with the serializer and splits it around its surface and span.
    fn encode(kind: EntryKind, entry: EntryId, alias: Option<u32>, dict: &Dictionary) -> Fragments {
        let tag = Tag { kind, start: 0, end: 0, entry: Some(entry), alias, value: TagValue::None };
        let json = match serde_json::to_vec(&TagJson { tag: &tag, text: "", dict }) {
            Ok(json) => json,
            Err(e) => return Fragments::Failed(e.to_string().into()),
        };
        // Strings are escaped: the mark's quotes are the serializer's, found once, after the id
        // and the name.
        match json.windows(SPAN_MARK.len()).position(|w| w == SPAN_MARK) {
            Some(at) => {
                let before = &json[..at + SURFACE_KEY.len()];
                Fragments::Split { bytes: [before, &json[at + SPAN_MARK.len()..]].concat().into(), at: before.len() }
            }
            None => Fragments::Failed("a dictionary tag's JSON holds its surface and span in order".into()),
        }
    }
}

struct Tags<'a>(&'a TaggedArticleJson<'a>);

impl Serialize for Tags<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut seq = serializer.serialize_seq(None)?;
        for tag in a.tags.iter().filter(|t| a.all_tags || !t.is_internal()) {
            seq.serialize_element(&TagJson { tag, text: a.text, dict: a.dict })?;
        }
        seq.end()
    }
}

/// One tag as JSON: kind, canonical id and name, surface, span, and the kind's facts.
pub struct TagJson<'a> {
    pub tag: &'a Tag,
    pub text: &'a str,
    pub dict: &'a Dictionary,
}

impl Serialize for TagJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (tag, dict) = (self.tag, self.dict);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", tag.kind.as_str())?;
        let entry = tag.entry.map(|e| dict.entry(e));
        match (&tag.value, entry) {
            (TagValue::Number(n), _) => {
                let value = number_json(n.value);
                map.serialize_entry("id", &format!("number:{value}"))?;
                map.serialize_entry("name", &value.to_string())?;
            }
            (TagValue::Date(d), _) => {
                let iso = d.iso();
                map.serialize_entry("id", &format!("date:{iso}"))?;
                map.serialize_entry("name", &iso)?;
            }
            (TagValue::None, Some(entry)) => {
                map.serialize_entry("id", &entry.id)?;
                map.serialize_entry("name", &entry.name)?;
            }
            (TagValue::None, None) => {}
        }
        map.serialize_entry("surface", &self.text[tag.start..tag.end])?;
        map.serialize_entry("start", &tag.start)?;
        map.serialize_entry("end", &tag.end)?;
        match &tag.value {
            TagValue::Number(n) => {
                map.serialize_entry("value", &number_json(n.value))?;
                if n.approximate {
                    map.serialize_entry("approximate", &true)?;
                }
                if n.ordinal {
                    map.serialize_entry("ordinal", &true)?;
                }
                if let Some(unit) = n.unit {
                    map.serialize_entry("unit", &dict.entry(unit).id)?;
                }
            }
            TagValue::Date(d) => {
                for (key, value) in [
                    ("year", d.year.map(i64::from)),
                    ("month", d.month.map(i64::from)),
                    ("day", d.day.map(i64::from)),
                    ("weekday", d.weekday.map(i64::from)),
                    ("part", d.part.map(i64::from)),
                    ("relative_days", d.relative_days.map(i64::from)),
                ] {
                    if let Some(v) = value {
                        map.serialize_entry(key, &v)?;
                    }
                }
                if let Some(anchor) = d.anchor {
                    map.serialize_entry("anchor", &anchor)?;
                }
                map.serialize_entry("precision", &d.precision)?;
            }
            TagValue::None => {}
        }
        if let Some(entry) = entry
            && tag.kind != EntryKind::Number
            && tag.kind != EntryKind::Date
        {
            match &entry.detail {
                Detail::Place(p) => {
                    map.serialize_entry("country", &p.country)?;
                    for (key, name, code) in
                        [("admin1", "admin1_name", &p.admin1), ("admin2", "admin2_name", &p.admin2)]
                    {
                        if let Some(code) = code {
                            map.serialize_entry(key, code)?;
                            if let Some(area) = dict.admin_area(code) {
                                map.serialize_entry(name, &area.name)?;
                            }
                        }
                    }
                    map.serialize_entry("lat", &p.lat)?;
                    map.serialize_entry("lon", &p.lon)?;
                    map.serialize_entry("feature_class", &p.feature_class)?;
                    if !p.feature_code.is_empty() {
                        map.serialize_entry("feature_code", &p.feature_code)?;
                    }
                    map.serialize_entry("level", &p.level)?;
                    if let Some(km) = p.uncertainty_km {
                        map.serialize_entry("uncertainty_km", &km)?;
                    }
                }
                Detail::Actor(a) => {
                    map.serialize_entry("actor_type", &a.actor_type)?;
                    map.serialize_entry("affiliation", &a.affiliation)?;
                    if let Some(country) = &a.country {
                        map.serialize_entry("country", country)?;
                    }
                }
                Detail::EventType(i) => {
                    let t = dict.event_type(*i);
                    map.serialize_entry("event_type", &t.code)?;
                    map.serialize_entry("acled_event_type", &t.acled_event_type)?;
                    map.serialize_entry("acled_sub_event_type", &t.acled_sub_event_type)?;
                    map.serialize_entry("cameo", &t.cameo)?;
                    if t.refine_by_weapon {
                        map.serialize_entry("generic", &true)?;
                    }
                }
                Detail::Weapon(w) => map.serialize_entry("category", w.category.as_str())?,
                Detail::Casualty(word) => {
                    map.serialize_entry("role", &word.role)?;
                    if let Some(t) = word.implies {
                        map.serialize_entry("event_type", &dict.event_type(t).code)?;
                    }
                }
                Detail::Cue(kind) => map.serialize_entry("cue", kind)?,
                _ => {}
            }
            if let Some(alias) = tag.alias.map(|a| &dict.aliases()[a as usize])
                && alias.ambiguity.is_some()
            {
                map.serialize_entry("ambiguous_alias", &alias.ambiguity)?;
            }
        }
        map.end()
    }
}

/// A number as JSON: an integer when it is one.
fn number_json(v: f64) -> serde_json::Number {
    match integer(v) {
        Some(i) => serde_json::Number::from(i),
        None => serde_json::Number::from_f64(v).unwrap_or_else(|| serde_json::Number::from(0)),
    }
}

/// The number as an integer, when it is one that JSON readers take exactly.
fn integer(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// Writes a tag's surface (a JSON string: the `"surface":` key is the caller's) and its span,
/// as [`TagJson`] does.
fn write_span(out: &mut Vec<u8>, tag: &Tag, text: &str) {
    let (start, end) = (tag.start, tag.end);
    let small = |n: usize| u32::try_from(n).ok().filter(|&n| n < json::EIGHT_DIGITS);
    if let (Some(surface), Some(first), Some(last)) = (json::plain_window(text, start..end), small(start), small(end)) {
        // Nearly every tag: `"surface","start":S,"end":E` composed in a buffer by fixed-size
        // stores (the surface's window, each number's eight digits) and copied at once, where
        // each piece appended alone is a check of the capacity and a copy of its length. Each
        // store is whole (a window of 16 bytes, eight digits) whatever the piece's length: the
        // last ends at `LONGEST` at most.
        const LONGEST: usize = 1 + json::WINDOW + 10 + 8 + 7 + 8;
        let mut buf = [0u8; LONGEST];
        buf[0] = b'"';
        buf[1..1 + json::WINDOW].copy_from_slice(surface);
        let mut at = 1 + (end - start);
        buf[at..at + 10].copy_from_slice(br#"","start":"#);
        at += 10;
        let (digits, len) = json::eight_digits(first);
        buf[at..at + 8].copy_from_slice(&digits.to_le_bytes());
        at += len;
        buf[at..at + 7].copy_from_slice(br#","end":"#);
        at += 7;
        let (digits, len) = json::eight_digits(last);
        buf[at..at + 8].copy_from_slice(&digits.to_le_bytes());
        at += len;
        out.extend_from_slice(&buf[..LONGEST]);
        out.truncate(out.len() - (LONGEST - at));
        return;
    }
    json::write_substr(out, text, start..end);
    out.extend_from_slice(br#","start":"#);
    json::write_u64(out, start as u64);
    out.extend_from_slice(br#","end":"#);
    json::write_u64(out, end as u64);
}

/// Writes a date tag: the bytes [`TagJson`] gives, with no string allocated.
fn write_date(
    out: &mut Vec<u8>,
    tag: &Tag,
    d: &crate::tag::DateValue,
    article: &TaggedArticleJson<'_>,
) -> serde_json::Result<()> {
    let begin = out.len();
    out.extend_from_slice(br#"{"kind":"#);
    json::write_str(out, tag.kind.as_str());
    out.extend_from_slice(br#","id":"date:"#);
    // The ISO form is written once and copied for the name.
    let iso = out.len();
    d.write_iso(out);
    let iso = iso..out.len();
    // Digits, dashes, colons and English words: nothing JSON escapes (else the serializer).
    if !out[iso.clone()].iter().all(|&b| b >= b' ' && b != b'"' && b != b'\\') {
        out.truncate(begin);
        return serde_json::to_writer(&mut *out, &TagJson { tag, text: article.text, dict: article.dict });
    }
    out.extend_from_slice(br#"","name":""#);
    out.extend_from_within(iso);
    out.extend_from_slice(br#"","surface":"#);
    write_span(out, tag, article.text);
    let mut digits = itoa::Buffer::new();
    for (key, value) in [
        (&br#","year":"#[..], d.year.map(i64::from)),
        (br#","month":"#, d.month.map(i64::from)),
        (br#","day":"#, d.day.map(i64::from)),
        (br#","weekday":"#, d.weekday.map(i64::from)),
        (br#","part":"#, d.part.map(i64::from)),
        (br#","relative_days":"#, d.relative_days.map(i64::from)),
    ] {
        if let Some(v) = value {
            out.extend_from_slice(key);
            match u64::try_from(v) {
                Ok(v) => json::write_u64(out, v),
                Err(_) => out.extend_from_slice(digits.format(v).as_bytes()),
            }
        }
    }
    if let Some(anchor) = d.anchor {
        out.extend_from_slice(br#","anchor":"#);
        serde_json::to_writer(&mut *out, &anchor)?;
    }
    out.extend_from_slice(br#","precision":"#);
    serde_json::to_writer(&mut *out, &d.precision)?;
    out.push(b'}');
    Ok(())
}

/// Writes a number tag of an integer `value`: the bytes [`TagJson`] gives, without its string
/// allocations (a fifth of the tags of news text are numbers).
fn write_integer(
    out: &mut Vec<u8>,
    tag: &Tag,
    n: &crate::tag::NumberValue,
    value: i64,
    article: &TaggedArticleJson<'_>,
) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"kind":"#);
    json::write_str(out, tag.kind.as_str());
    out.extend_from_slice(br#","id":"number:"#);
    // The digits are written once and copied twice.
    let digits = out.len();
    match u64::try_from(value) {
        Ok(value) => json::write_u64(out, value),
        Err(_) => serde_json::to_writer(&mut *out, &value)?,
    }
    let digits = digits..out.len();
    out.extend_from_slice(br#"","name":""#);
    out.extend_from_within(digits.clone());
    out.extend_from_slice(br#"","surface":"#);
    write_span(out, tag, article.text);
    out.extend_from_slice(br#","value":"#);
    out.extend_from_within(digits);
    if n.approximate {
        out.extend_from_slice(br#","approximate":true"#);
    }
    if n.ordinal {
        out.extend_from_slice(br#","ordinal":true"#);
    }
    if let Some(unit) = n.unit {
        out.extend_from_slice(br#","unit":"#);
        serde_json::to_writer(&mut *out, &article.dict.entry(unit).id)?;
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::AutomatonKind;
    use crate::tag::{Scratch, Tagger};
    use std::sync::Arc;

    /// What the writer writes for `article`, held to the serializer's bytes.
    fn written(writer: &mut TagWriter<'_>, article: &TaggedArticleJson<'_>) -> String {
        let mut out = Vec::new();
        writer.write(&mut out, article).unwrap();
        let json = String::from_utf8(out).unwrap();
        assert_eq!(json, serde_json::to_string(article).unwrap());
        json
    }

    /// The writer gives the serializer's bytes, on the seeds, with and without internal tags,
    /// for a near-duplicate, and for tags of one entry at several places.
    #[test]
    fn the_tag_writer_writes_what_the_serializer_writes() {
        let dict = Arc::new(Dictionary::bundled().expect("bundled dictionary"));
        let tagger = Tagger::new(dict.clone(), AutomatonKind::Dfa).expect("automaton");
        let shared = SharedFragments::new(dict.aliases().len());
        let mut writer = TagWriter::new(&shared);
        let mut scratch = Scratch::new();
        let seeds = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/articles.jsonl"))
            .expect("the seed fixture");
        let mut texts: Vec<String> = seeds
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_string())
            .collect();
        texts.push("Des frappes près d'Idlib et d'Alep \"sans précédent\" ; 3 morts à Idlib le 5 mars.".into());
        // Numbers of every shape: approximate, ordinal, with a unit, negative, a fraction.
        texts.push(
            "Dozens were killed 5 km from Aleppo on the 19th; 2.5 million fled, -3 degrees, 1,200 hurt, a third day, \
             several dead, 10000000000000000 rounds."
                .into(),
        );
        // Dates of every shape: full, partial, weekdays, relative, with a part of the month.
        texts.push(
            "Yesterday and on Monday, as on 3 March 2019, in March, in early April 2020 and two days ago; \
             la veille, le 14 juillet, fin mai, mardi dernier."
                .into(),
        );
        for text in &texts {
            let tagged = tagger.tag(text, None, &mut scratch).expect("small enough");
            assert!(tagged.tags.iter().any(|t| t.entry.is_some() && t.value == TagValue::None));
            for (all_tags, duplicate_of) in [(false, None), (true, Some("an \"earlier\" one"))] {
                let article = TaggedArticleJson {
                    article_id: "a\u{1}",
                    language: tagged.language,
                    text,
                    tags: &tagged.tags,
                    dict: &dict,
                    all_tags,
                    duplicate_of,
                };
                written(&mut writer, &article);
            }
        }
        // A tag whose alias is another entry's is encoded for its own entry, not from the
        // alias's shared slot (filled above by the seeds).
        let text = &texts[0];
        let mut tags = tagger.tag(text, None, &mut scratch).expect("small enough").tags;
        let (a, b) = {
            let mut dict_tags = tags.iter().enumerate().filter(|(_, t)| t.value == TagValue::None && t.entry.is_some());
            let (a, first) = dict_tags.next().expect("a dictionary tag");
            let (b, _) = dict_tags.find(|(_, t)| t.entry != first.entry).expect("a tag of another entry");
            (a, b)
        };
        tags[a].alias = tags[b].alias;
        let article = TaggedArticleJson {
            article_id: "a",
            language: Lang::En,
            text,
            tags: &tags,
            dict: &dict,
            all_tags: false,
            duplicate_of: None,
        };
        written(&mut writer, &article);

        // Surfaces the serializer escapes (a quote, a backslash, a control character; none
        // arises from the matcher): a span widened over them.
        let text = "Aleppo\"\\\u{7}é and Idlib";
        let mut tags = tagger.tag(text, None, &mut scratch).expect("small enough").tags;
        let aleppo = tags.iter_mut().find(|t| t.start == 0 && t.entry.is_some()).expect("Aleppo is tagged");
        aleppo.end = "Aleppo\"\\\u{7}é".len();
        let article = TaggedArticleJson { tags: &tags, text, ..article };
        let json = written(&mut writer, &article);
        assert!(json.contains(r#""surface":"Aleppo\"\\\u0007é""#), "{json}");
    }

    /// The span's longest form in the writer's buffer: a surface of the whole 16-byte window
    /// and offsets of eight digits (past ten million bytes), and the first offsets past the
    /// eight digits' range, which take the general path; both as the serializer writes them.
    #[test]
    fn the_longest_spans_are_written_as_the_serializer_writes_them() {
        let dict = Arc::new(Dictionary::bundled().expect("bundled dictionary"));
        let tagger = Tagger::new(dict.clone(), AutomatonKind::Dfa).expect("automaton");
        let shared = SharedFragments::new(dict.aliases().len());
        let mut writer = TagWriter::new(&shared);
        let tag = tagger
            .tag("Aleppo", None, &mut Scratch::new())
            .expect("small enough")
            .tags
            .into_iter()
            .find(|t| t.entry.is_some())
            .expect("Aleppo is tagged");
        // One text past 10^8 bytes, its 16-byte surfaces ending at 10^7 + 16, at 10^8 - 1 (the
        // largest the buffer takes) and at 10^8 (the first it does not).
        let last = json::EIGHT_DIGITS as usize;
        let mut text = "y".repeat(last + 64);
        for start in [10_000_000, last - 17] {
            text.replace_range(start..start + 16, "abcdefghijklmnop");
        }
        for start in [10_000_000, last - 17, last - 16] {
            let tags = [Tag { start, end: start + 16, ..tag.clone() }];
            let article = TaggedArticleJson {
                article_id: "long",
                language: Lang::En,
                text: &text,
                tags: &tags,
                dict: &dict,
                all_tags: false,
                duplicate_of: None,
            };
            let json = written(&mut writer, &article);
            let surface = &text[start..start + 16];
            assert!(json.contains(&format!(r#""surface":"{surface}","start":{start},"end":{}"#, start + 16)));
        }
    }
}
