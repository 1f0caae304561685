//! The gazetteer: places from GeoNames dump files, governorates, OCHA districts and
//! sub-districts, and the curated overlay.
//!
//! GeoNames files are read tolerantly, because users point lexwire at dumps they did not write:
//! a bad line (wrong column count, unparsable coordinates, invalid UTF-8, duplicate id) is
//! recorded in the [`LoadReport`] with its file and line and skipped. The curated tables are
//! strict: an error there is a mistake in the repository and fails the load.
//!
//! Syrian places without a district get one here ([`assign_admin2`]): the OCHA sub-district
//! with the same name in the same governorate, else the nearest sub-district centroid in the same
//! governorate. That is an approximation near district borders, and says so in the README.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use toml::Spanned;

use super::country::{country_error, is_country_code};
use super::files::Lines;
use super::{
    AdminArea, AliasOrigin, Ambiguity, Builder, Detail, DictionaryError, Entry, EntryId, LangMask, LoadReport, Place,
    PlaceLevel, Script, line_of, toml_error,
};
use crate::normalize::normalize_str;

/// Which GeoNames rows and names to keep.
#[derive(Debug, Clone)]
pub(crate) struct GeonamesFilter {
    /// Empty: every country.
    pub countries: HashSet<String>,
    /// `None`: every script, and codes too.
    pub scripts: Option<Vec<Script>>,
    pub min_alias_chars: usize,
}

/// GeoNames feature classes kept from dump files: administrative areas, populated places,
/// spots (facilities, crossings), terrain and areas. Streams, roads and the like are not places
/// an event is coded to.
const FEATURE_CLASSES: [&str; 5] = ["A", "P", "S", "T", "L"];

/// Loads governorates: `code, name, other names (|), lat, lon, source`.
pub(crate) fn load_admin1(
    builder: &mut Builder,
    file: &str,
    text: &str,
    templates: &[String],
) -> Result<(), DictionaryError> {
    for (line_no, line) in data_lines(text) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 6 {
            return Err(DictionaryError::new(
                file,
                Some(line_no),
                format!("expected 6 tab-separated columns (code, name, names, lat, lon, source), found {}", cols.len()),
            ));
        }
        let code = cols[0].trim();
        let (country, _) = code.split_once('.').ok_or_else(|| {
            DictionaryError::new(file, Some(line_no), format!("admin1 code {code:?} is not of the form CC.NN"))
        })?;
        if !is_country_code(country) {
            return Err(DictionaryError::new(
                file,
                Some(line_no),
                format!("admin1 code {code:?}: {}", country_error(country)),
            ));
        }
        let lat = parse_coord(file, line_no, cols[3], -90.0, 90.0, "latitude")?;
        let lon = parse_coord(file, line_no, cols[4], -180.0, 180.0, "longitude")?;
        let others: Vec<&str> = cols[2].split('|').map(str::trim).filter(|n| !n.is_empty()).collect();
        let area = AdminRow {
            id: format!("admin1:{code}"),
            code,
            country,
            name: cols[1].trim(),
            others,
            level: PlaceLevel::Admin1,
            admin1: code,
            admin2: None,
            lat,
            lon,
        };
        add_admin_area(builder, file, line_no, area, templates)?;
    }
    Ok(())
}

/// Loads an OCHA district table (`pcode, name, name_ar, admin1, lat, lon`) or sub-district
/// table (`pcode, name, name_ar, admin2, admin1, lat, lon`).
pub(crate) fn load_admin_table(
    builder: &mut Builder,
    file: &str,
    text: &str,
    level: PlaceLevel,
    templates: &[String],
) -> Result<(), DictionaryError> {
    let expected = if level == PlaceLevel::Admin3 { 7 } else { 6 };
    for (line_no, line) in data_lines(text) {
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cols.len() != expected {
            return Err(DictionaryError::new(
                file,
                Some(line_no),
                format!("expected {expected} tab-separated columns, found {}", cols.len()),
            ));
        }
        let (code, name, name_ar) = (cols[0], cols[1], cols[2]);
        let (admin2, admin1) = if level == PlaceLevel::Admin3 {
            (Some(cols[3].to_string()), cols[4])
        } else {
            (Some(code.to_string()), cols[3])
        };
        if !builder.admin_areas.contains_key(admin1) {
            return Err(DictionaryError::new(file, Some(line_no), format!("unknown governorate code {admin1:?}")));
        }
        let lat = parse_coord(file, line_no, cols[expected - 2], -90.0, 90.0, "latitude")?;
        let lon = parse_coord(file, line_no, cols[expected - 1], -180.0, 180.0, "longitude")?;
        // A p-code opens with its country (SY0902).
        let country = code.get(..2).unwrap_or(code);
        if !is_country_code(country) {
            return Err(DictionaryError::new(
                file,
                Some(line_no),
                format!("p-code {code:?}: {}", country_error(country)),
            ));
        }
        let area = AdminRow {
            id: format!("ocha:{code}"),
            code,
            country,
            name,
            others: [name_ar].into_iter().filter(|n| !n.is_empty()).collect(),
            level,
            admin1,
            admin2,
            lat,
            lon,
        };
        add_admin_area(builder, file, line_no, area, templates)?;
    }
    Ok(())
}

/// One row of an administrative table.
struct AdminRow<'a> {
    id: String,
    code: &'a str,
    country: &'a str,
    name: &'a str,
    others: Vec<&'a str>,
    level: PlaceLevel,
    admin1: &'a str,
    admin2: Option<String>,
    lat: f64,
    lon: f64,
}

/// Adds an administrative area: its entry, its row in the table that names codes, its names.
fn add_admin_area(
    builder: &mut Builder,
    file: &str,
    line: usize,
    row: AdminRow<'_>,
    templates: &[String],
) -> Result<(), DictionaryError> {
    let feature_code = match row.level {
        PlaceLevel::Admin1 => "ADM1",
        PlaceLevel::Admin2 => "ADM2",
        _ => "ADM3",
    };
    let place = Place {
        country: row.country.to_string(),
        admin1: Some(row.admin1.to_string()),
        admin2: row.admin2.clone(),
        lat: row.lat,
        lon: row.lon,
        feature_class: "A".into(),
        feature_code: feature_code.into(),
        population: 0,
        level: row.level,
        uncertainty_km: None,
    };
    builder.admin_areas.insert(
        row.code.to_string(),
        AdminArea {
            code: row.code.to_string(),
            name: row.name.to_string(),
            level: row.level,
            admin1: Some(row.admin1.to_string()),
            admin2: row.admin2,
            lat: row.lat,
            lon: row.lon,
        },
    );
    let entry = builder.add_entry(
        file,
        Some(line),
        Entry { id: row.id, name: row.name.to_string(), detail: Detail::Place(place) },
    )?;
    add_admin_names(builder, entry, row.name, &row.others, templates);
    Ok(())
}

/// Adds the names of an administrative area, and every template applied to every name whose
/// script matches the template's.
fn add_admin_names(builder: &mut Builder, entry: EntryId, name: &str, others: &[&str], templates: &[String]) {
    builder.add_alias(entry, name, AliasOrigin::Primary, LangMask::ALL);
    for other in others {
        builder.add_alias(entry, other, AliasOrigin::Alternate, LangMask::ALL);
    }
    for n in std::iter::once(&name).chain(others) {
        let arabic_name = has_arabic(n);
        for template in templates {
            if has_arabic(template) != arabic_name {
                continue;
            }
            // French elision: "province d'{}" before a vowel, "province de {}" otherwise.
            let starts_with_vowel = n.chars().next().is_some_and(|c| "AEIOUYÂÉÈÊÎÔaeiouy".contains(c));
            if template.ends_with("d'{}") && !starts_with_vowel || template.ends_with("de {}") && starts_with_vowel {
                continue;
            }
            builder.add_alias(entry, &template.replace("{}", n), AliasOrigin::Template, LangMask::ALL);
        }
    }
}

/// Loads one GeoNames dump file, streamed line by line: bad lines go to the report.
///
/// # Errors
/// Only when the file cannot be read or breaks the bounds on a line or a file ([`Lines`]):
/// that is no GeoNames dump (a wrong path, a binary, `/dev/zero`).
pub(crate) fn load_geonames(
    builder: &mut Builder,
    lines: &mut Lines<'_>,
    filter: &GeonamesFilter,
    report: &mut LoadReport,
) -> Result<(), DictionaryError> {
    let file = lines.file().to_string();
    while let Some((line_no, raw)) = lines.next_line()? {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() || raw.starts_with(b"#") {
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            report.bad_line(&file, line_no, "not UTF-8");
            continue;
        };
        if let Err(reason) = load_geonames_row(builder, &file, line_no, line, filter, report) {
            report.bad_line(&file, line_no, reason);
        }
    }
    Ok(())
}

fn load_geonames_row(
    builder: &mut Builder,
    file: &str,
    line_no: usize,
    line: &str,
    filter: &GeonamesFilter,
    report: &mut LoadReport,
) -> Result<(), String> {
    let cols: Vec<&str> = line.split('\t').collect();
    if cols.len() != 19 {
        return Err(format!("expected 19 tab-separated columns (GeoNames dump format), found {}", cols.len()));
    }
    let id = row_id(cols[0].trim())?;
    let lat: f64 = parse_f64(cols[4])
        .filter(|v| (-90.0..=90.0).contains(v))
        .ok_or_else(|| format!("latitude {:?} is not a number between -90 and 90", cols[4]))?;
    let lon: f64 = parse_f64(cols[5])
        .filter(|v| (-180.0..=180.0).contains(v))
        .ok_or_else(|| format!("longitude {:?} is not a number between -180 and 180", cols[5]))?;
    let feature_class = cols[6].trim();
    let feature_code = cols[7].trim();
    let country = cols[8].trim().to_ascii_uppercase();
    if !filter.countries.is_empty() && !filter.countries.contains(&country) {
        return Ok(());
    }
    if !FEATURE_CLASSES.contains(&feature_class) {
        return Ok(());
    }
    // Copied into records, whose schema wants a country code (an empty filter keeps any row).
    if !is_country_code(&country) {
        return Err(country_error(cols[8].trim()));
    }
    let population: u64 = match cols[14].trim() {
        "" => 0,
        p => p.parse().map_err(|_| format!("population {p:?} is not a number"))?,
    };
    let admin1 = Some(cols[10].trim()).filter(|c| !c.is_empty()).map(|c| format!("{country}.{c}"));
    let admin2 = Some(cols[11].trim()).filter(|c| !c.is_empty());
    let derived = !id.starts_with("geonames:");
    let admin2 = if !derived {
        admin2.map(|c| format!("{country}.{}.{c}", cols[10].trim()))
    } else {
        // A derived table names the OCHA district (SY0902) itself, and the governorate must be known.
        for code in admin1.iter().map(String::as_str).chain(admin2) {
            if !builder.admin_areas.contains_key(code) {
                return Err(format!("unknown administrative code {code:?}"));
            }
        }
        admin2.map(str::to_string)
    };
    let level = match feature_code {
        c if c.starts_with("PCL") => PlaceLevel::Country,
        "ADM1" => PlaceLevel::Admin1,
        "ADM2" => PlaceLevel::Admin2,
        "ADM3" => PlaceLevel::Admin3,
        _ => PlaceLevel::Point,
    };
    let name = cols[1].trim();
    if name.is_empty() {
        return Err("empty name".into());
    }
    if builder.ids.contains_key(&id) {
        return Err(format!("duplicate id {id}"));
    }
    let place = Place {
        country,
        admin1,
        admin2,
        lat,
        lon,
        feature_class: feature_class.to_string(),
        feature_code: feature_code.to_string(),
        population,
        level,
        uncertainty_km: None,
    };
    let entry = builder
        .add_entry(file, Some(line_no), Entry { id, name: name.to_string(), detail: Detail::Place(place) })
        .map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    // A derived table's names are attested spellings of small places, like GeoNames' alternate
    // names: the vowel rules, meant for GeoNames' scholarly primary names, do not apply to them.
    let primary = if derived { AliasOrigin::Alternate } else { AliasOrigin::Primary };
    let names = [(name, primary), (cols[2].trim(), primary)]
        .into_iter()
        .chain(cols[3].split(',').map(|n| (n.trim(), AliasOrigin::Alternate)));
    for (n, origin) in names {
        if n.is_empty() || !seen.insert(n) {
            continue;
        }
        if !keep_name(n, filter) {
            report.skipped_names += 1;
            continue;
        }
        builder.add_alias(entry, n, origin, LangMask::ALL);
    }
    Ok(())
}

/// The entry id of a row of a GeoNames dump file: `geonames:<geonameid>`. Tables in the same
/// format derived from other sources (`gazetteer/syrianarchive-SY.tsv`) write their own prefixed
/// id in the first column instead ("sa:164"), so that no place gets a GeoNames id it does not
/// have; such a row's admin2 column is an OCHA district p-code, not a GeoNames admin2 code.
fn row_id(col: &str) -> Result<String, String> {
    if let Some((prefix, rest)) = col.split_once(':') {
        let prefix_ok = !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_lowercase()) && prefix != "geonames";
        let rest_ok = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        return if prefix_ok && rest_ok {
            Ok(col.to_string())
        } else {
            Err(format!("id {col:?} is neither a geonameid nor a source-prefixed id such as \"sa:164\""))
        };
    }
    let geonameid: u64 = col.parse().map_err(|_| format!("geonameid {col:?} is not a number"))?;
    Ok(format!("geonames:{geonameid}"))
}

/// Whether a GeoNames name is kept: its script is one of the filter's, and a Latin name is long
/// enough not to be a code.
fn keep_name(name: &str, filter: &GeonamesFilter) -> bool {
    let Some(scripts) = &filter.scripts else {
        return name.chars().filter(|c| c.is_alphanumeric()).count() >= filter.min_alias_chars;
    };
    let Some(script) = script_of(name) else {
        return false;
    };
    if !scripts.contains(&script) {
        return false;
    }
    if script != Script::Latin {
        return true;
    }
    let letters = name.chars().filter(|c| c.is_alphanumeric()).count();
    let is_code = letters <= 4 && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    letters >= filter.min_alias_chars && !is_code
}

/// The script of a name's letters, if they are all Latin or all Arabic.
pub(crate) fn script_of(name: &str) -> Option<Script> {
    let mut script = None;
    for c in name.chars().filter(|c| c.is_alphabetic()) {
        let this = if is_latin(c) {
            Script::Latin
        } else if is_arabic(c) {
            Script::Arabic
        } else {
            return None;
        };
        match script {
            None => script = Some(this),
            Some(s) if s != this => return None,
            _ => {}
        }
    }
    script
}

fn is_latin(c: char) -> bool {
    matches!(c, 'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' | '\u{02B0}'..='\u{02FF}')
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

pub(crate) fn has_arabic(s: &str) -> bool {
    s.chars().any(is_arabic)
}

/// The curated overlay file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverlayFile {
    #[serde(default)]
    place: Vec<OverlayPlace>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct LangAliases {
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub fr: Vec<String>,
    #[serde(default)]
    pub ar: Vec<String>,
}

impl LangAliases {
    pub fn all(&self) -> impl Iterator<Item = (super::Lang, &String)> {
        self.en
            .iter()
            .map(|a| (super::Lang::En, a))
            .chain(self.fr.iter().map(|a| (super::Lang::Fr, a)))
            .chain(self.ar.iter().map(|a| (super::Lang::Ar, a)))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverlayPlace {
    id: Option<Spanned<String>>,
    extends: Option<Spanned<String>>,
    name: Option<String>,
    #[serde(default)]
    aliases: LangAliases,
    #[serde(default)]
    ambiguous: Vec<String>,
    #[serde(default)]
    case_sensitive: Vec<String>,
    country: Option<String>,
    admin1: Option<String>,
    admin2: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    uncertainty_km: Option<f32>,
    feature_class: Option<String>,
    feature_code: Option<String>,
    population: Option<u64>,
    source: Option<String>,
}

/// Loads the curated overlay: new places, and more aliases for places already loaded. An
/// extension of a GeoNames place that the GeoNames files do not hold (a user's own dump) is
/// reported and skipped, not fatal.
pub(crate) fn load_overlay(
    builder: &mut Builder,
    file: &str,
    text: &str,
    report: &mut LoadReport,
) -> Result<(), DictionaryError> {
    let overlay: OverlayFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    for place in overlay.place {
        let (entry, line) = match (&place.id, &place.extends) {
            (Some(id), None) => {
                let line = line_of(text, id.span().start);
                (add_overlay_place(builder, file, line, id.get_ref(), &place)?, line)
            }
            (None, Some(target)) => {
                let line = line_of(text, target.span().start);
                let fields_set = place.name.is_some()
                    || place.country.is_some()
                    || place.lat.is_some()
                    || place.lon.is_some()
                    || place.admin1.is_some();
                if fields_set {
                    return Err(DictionaryError::new(
                        file,
                        Some(line),
                        format!("a place that extends {:?} takes aliases only", target.get_ref()),
                    ));
                }
                match builder.ids.get(target.get_ref()) {
                    Some(&entry) => (entry, line),
                    None if target.get_ref().starts_with("geonames:") => {
                        report.bad_line(
                            file,
                            line,
                            format!("extends {}, which the GeoNames files do not hold: skipped", target.get_ref()),
                        );
                        continue;
                    }
                    None => {
                        return Err(DictionaryError::new(
                            file,
                            Some(line),
                            format!("extends unknown place {:?}", target.get_ref()),
                        ));
                    }
                }
            }
            _ => {
                return Err(DictionaryError::new(
                    file,
                    None,
                    "every [[place]] needs exactly one of `id` (a new place) or `extends` (more aliases)",
                ));
            }
        };
        add_curated_aliases(builder, file, line, entry, &place.aliases, &place.ambiguous, &place.case_sensitive)?;
    }
    Ok(())
}

fn add_overlay_place(
    builder: &mut Builder,
    file: &str,
    line: usize,
    id: &str,
    p: &OverlayPlace,
) -> Result<EntryId, DictionaryError> {
    let missing = |field: &str| DictionaryError::new(file, Some(line), format!("place {id:?} has no `{field}`"));
    let name = p.name.clone().ok_or_else(|| missing("name"))?;
    let country = p.country.clone().ok_or_else(|| missing("country"))?;
    if !is_country_code(&country) {
        return Err(DictionaryError::new(file, Some(line), format!("place {id:?}: {}", country_error(&country))));
    }
    let lat = p.lat.ok_or_else(|| missing("lat"))?;
    let lon = p.lon.ok_or_else(|| missing("lon"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(DictionaryError::new(
            file,
            Some(line),
            format!("place {id:?}: coordinates {lat}, {lon} out of range"),
        ));
    }
    if p.source.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(missing("source"));
    }
    for (field, code) in [("admin1", &p.admin1), ("admin2", &p.admin2)] {
        if let Some(code) = code
            && !builder.admin_areas.contains_key(code)
        {
            return Err(DictionaryError::new(file, Some(line), format!("place {id:?}: unknown {field} code {code:?}")));
        }
    }
    if let Some(admin1) = &p.admin1
        && !admin1.starts_with(&country)
    {
        return Err(DictionaryError::new(
            file,
            Some(line),
            format!("place {id:?}: admin1 {admin1:?} is not in country {country:?}"),
        ));
    }
    let feature_class = p.feature_class.clone().ok_or_else(|| missing("feature_class"))?;
    let feature_code = p.feature_code.clone().unwrap_or_default();
    let level = if feature_code.starts_with("PCL") { PlaceLevel::Country } else { PlaceLevel::Point };
    let place = Place {
        country,
        admin1: p.admin1.clone(),
        admin2: p.admin2.clone(),
        lat,
        lon,
        feature_class,
        feature_code,
        population: p.population.unwrap_or(0),
        level,
        uncertainty_km: p.uncertainty_km,
    };
    builder.add_entry(file, Some(line), Entry { id: id.to_string(), name: name.clone(), detail: Detail::Place(place) })
}

/// Adds hand-written aliases with their flags; used by the overlay and the lexicon.
pub(crate) fn add_curated_aliases(
    builder: &mut Builder,
    file: &str,
    line: usize,
    entry: EntryId,
    aliases: &LangAliases,
    ambiguous: &[String],
    case_sensitive: &[String],
) -> Result<(), DictionaryError> {
    let is_place = matches!(builder.entries[entry as usize].detail, Detail::Place(_));
    let listed: HashSet<&str> = aliases.all().map(|(_, a)| a.as_str()).collect();
    for flagged in ambiguous.iter().chain(case_sensitive) {
        if !listed.contains(flagged.as_str()) {
            return Err(DictionaryError::new(
                file,
                Some(line),
                format!("{:?} is flagged but is not one of the entry's aliases", flagged),
            ));
        }
    }
    for (lang, text) in aliases.all() {
        let langs = if is_place { LangMask::ALL } else { LangMask::of(lang) };
        if !builder.add_alias(entry, text, AliasOrigin::Curated, langs) {
            return Err(DictionaryError::new(file, Some(line), format!("alias {text:?} has no letters or digits")));
        }
        let alias = builder.aliases.last_mut().expect("just added");
        if ambiguous.iter().any(|a| a == text) {
            alias.ambiguity = Some(Ambiguity::Curated);
        }
        alias.case_sensitive = case_sensitive.iter().any(|a| a == text);
    }
    Ok(())
}

/// Gives every Syrian point place without a district the OCHA district (and keeps the rule
/// simple and explainable): a sub-district of the same name in the same governorate, else the
/// nearest sub-district centroid in the same governorate.
pub(crate) fn assign_admin2(builder: &mut Builder) {
    let sub_districts: Vec<&AdminArea> =
        builder.admin_areas.values().filter(|a| a.level == PlaceLevel::Admin3 && a.code.starts_with("SY")).collect();
    if sub_districts.is_empty() {
        return;
    }
    let mut by_name: HashMap<String, Vec<&AdminArea>> = HashMap::new();
    for area in &sub_districts {
        by_name.entry(normalize_str(&area.name)).or_default().push(area);
    }
    let mut names_of: HashMap<EntryId, Vec<&str>> = HashMap::new();
    for alias in &builder.aliases {
        names_of.entry(alias.entry).or_default().push(&alias.normalized);
    }
    let mut assignments = Vec::new();
    for (id, entry) in builder.entries.iter().enumerate() {
        let Detail::Place(place) = &entry.detail else { continue };
        if place.country != "SY" || place.admin2.is_some() || place.level != PlaceLevel::Point {
            continue;
        }
        let same_governorate = |a: &AdminArea| place.admin1.is_none() || a.admin1 == place.admin1;
        let by_same_name = names_of.get(&(id as EntryId)).into_iter().flatten().find_map(|n| {
            by_name.get(*n)?.iter().find(|a| same_governorate(a) && km(place.lat, place.lon, a.lat, a.lon) < 40.0)
        });
        let chosen = by_same_name.copied().or_else(|| {
            sub_districts
                .iter()
                .filter(|a| same_governorate(a))
                .min_by(|a, b| {
                    km(place.lat, place.lon, a.lat, a.lon).total_cmp(&km(place.lat, place.lon, b.lat, b.lon))
                })
                .copied()
        });
        if let Some(area) = chosen {
            assignments.push((id, area.admin2.clone(), area.admin1.clone()));
        }
    }
    for (id, admin2, admin1) in assignments {
        if let Detail::Place(place) = &mut builder.entries[id].detail {
            place.admin2 = admin2;
            if place.admin1.is_none() {
                place.admin1 = admin1;
            }
        }
    }
}

/// The Earth's mean radius, in kilometres.
pub const EARTH_KM: f64 = 6371.0;

/// Great-circle distance in kilometres.
pub fn km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    EARTH_KM * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

/// Non-empty, non-comment lines with their 1-based numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn parse_coord(file: &str, line: usize, s: &str, min: f64, max: f64, what: &str) -> Result<f64, DictionaryError> {
    parse_f64(s)
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| DictionaryError::new(file, Some(line), format!("{what} {s:?} is not a number in {min}..{max}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn filter() -> GeonamesFilter {
        GeonamesFilter {
            countries: HashSet::new(),
            scripts: Some(vec![Script::Latin, Script::Arabic]),
            min_alias_chars: 4,
        }
    }

    fn load(builder: &mut Builder, name: &str, bytes: Vec<u8>, report: &mut LoadReport) {
        let mut hasher = sha2::Sha256::new();
        let reader = Box::new(std::io::Cursor::new(bytes));
        let mut lines = Lines::new(name.to_string(), reader, &mut hasher, super::super::files::MAX_FILE_BYTES);
        load_geonames(builder, &mut lines, &filter(), report).unwrap();
    }

    fn row(id: &str, name: &str, alts: &str, lat: &str) -> String {
        format!(
            "{id}\t{name}\t{name}\t{alts}\t{lat}\t40.9\tP\tPPL\tSY\t\t07\t\t\t\t1000\t\t\tAsia/Damascus\t2020-01-01"
        )
    }

    #[test]
    fn bad_geonames_lines_are_reported_with_file_and_line_and_skipped() {
        let text = [
            row("1", "Good", "Gooda,ALP,حلب,Алеп", "34.4"),
            "only\tthree\tcolumns".to_string(),
            row("x", "BadId", "", "34.4"),
            row("3", "BadLat", "", "134.4"),
            row("1", "Duplicate", "", "34.4"),
            String::new(),
            "# a comment".to_string(),
        ]
        .join("\n");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\n4\t\xff\xfe\n");
        let mut builder = Builder::default();
        let mut report = LoadReport::default();
        load(&mut builder, "dump.tsv", bytes, &mut report);

        assert_eq!(builder.entries.len(), 1);
        let lines: Vec<(usize, &str)> = report.bad_lines.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[0].0, 2);
        assert!(lines[0].1.contains("found 3"));
        assert!(lines[1].1.contains("geonameid"));
        assert!(lines[2].1.contains("latitude"));
        assert!(lines[3].1.contains("duplicate"));
        assert_eq!(lines[4], (8, "not UTF-8"));
        assert!(report.bad_lines.iter().all(|b| b.file == "dump.tsv"));
        // "ALP" is a code and "Алеп" is Cyrillic: skipped, not errors.
        let names: Vec<&str> = builder.aliases.iter().map(|a| a.text.as_ref()).collect();
        assert_eq!(names, ["Good", "Gooda", "حلب"]);
        assert_eq!(report.skipped_names, 2);
    }

    #[test]
    fn derived_rows_keep_their_own_ids_and_ocha_districts() {
        let mut builder = Builder::default();
        let admin1 = "SY.07\tDeir ez-Zor\tDeir Ezzor\t35.2\t40.3\tOCHA\n";
        load_admin1(&mut builder, "admin1.tsv", admin1, &[]).unwrap();
        let admin2 = "SY0903\tAl Mayadin\tالميادين\tSY.07\t34.9\t40.4\n";
        load_admin_table(&mut builder, "admin2.tsv", admin2, PlaceLevel::Admin2, &[]).unwrap();
        let derived = |id: &str, admin2: &str| {
            format!(
                "{id}\tAl-Sukkari\tAl-Sukkari\tالسكري\t35.0\t40.4\tP\tPPLX\tSY\t\t07\t{admin2}\t\t\t0\t\t\tAsia/Damascus\t"
            )
        };
        let text = [
            derived("sa:79", "SY0903"),
            row("174448", "Albu Kamal", "", "34.4"),
            derived("sa:79", "SY0903"),
            derived("sa:80", "SY0999"),
            derived("geonames:5", "SY0903"),
            derived("SA:81", "SY0903"),
        ]
        .join("\n");
        let mut report = LoadReport::default();
        load(&mut builder, "sa.tsv", text.into_bytes(), &mut report);

        let place = |id: &str| match &builder.entries[builder.ids[id] as usize].detail {
            Detail::Place(p) => p.clone(),
            _ => panic!("{id} is not a place"),
        };
        // A derived row keeps its id and its OCHA district; a GeoNames row is still "geonames:".
        let sukkari = place("sa:79");
        assert_eq!((sukkari.admin1.as_deref(), sukkari.admin2.as_deref()), (Some("SY.07"), Some("SY0903")));
        assert_eq!(sukkari.feature_code, "PPLX");
        assert!(builder.ids.contains_key("geonames:174448"));
        assert_eq!(builder.entries.len(), 2 + 2, "two admin areas and two places");
        let reasons: Vec<&str> = report.bad_lines.iter().map(|b| b.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("duplicate id sa:79"), "{reasons:?}");
        assert!(reasons[1].contains("SY0999"), "{reasons:?}");
        // No fake GeoNames ids, and prefixes are lowercase words.
        assert!(reasons[2].contains("source-prefixed id") && reasons[3].contains("source-prefixed id"), "{reasons:?}");
    }

    #[test]
    fn scripts() {
        assert_eq!(script_of("Deïr ez-Zor"), Some(Script::Latin));
        assert_eq!(script_of("دير الزور"), Some(Script::Arabic));
        assert_eq!(script_of("Дейр"), None);
        assert_eq!(script_of("Deir دير"), None);
    }

    #[test]
    fn distance() {
        // Albu Kamal to Al Mayadin is about 75 km.
        let d = km(34.45226, 40.91854, 35.01982, 40.45154);
        assert!((70.0..80.0).contains(&d), "{d}");
    }
}
