//! The lexicon: the taxonomy of event types and the words of every other kind, from TOML files.
//!
//! Every file may hold any of the tables below; the manifest lists the files, the taxonomy first.
//! The lexicon is written by hand, so it is strict: an unknown field, an unknown event type or
//! weapon category, a duplicate id, or an alias without letters fails the load with the file and
//! line.

use serde::Deserialize;
use toml::Spanned;

use super::country::{country_error, is_country_code};
use super::gazetteer::{LangAliases, add_curated_aliases};
use super::requirements;
use super::{
    Actor, AliasOrigin, Builder, CasualtyRole, CasualtyWord, CueKind, DateAnchor, DatePrecision, DateWord, Detail,
    DictionaryError, Entry, EntryId, EventType, Lang, LangMask, NegationKind, NumberWord, Weapon, WeaponCategory,
    line_of, toml_error,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    #[serde(default)]
    event_type: Vec<Spanned<EventTypeDef>>,
    #[serde(default)]
    trigger: Vec<Spanned<TriggerDef>>,
    #[serde(default)]
    actor: Vec<Spanned<ActorDef>>,
    #[serde(default)]
    weapon: Vec<Spanned<WeaponDef>>,
    #[serde(default)]
    casualty: Vec<Spanned<CasualtyDef>>,
    #[serde(default)]
    number: Vec<Spanned<NumberDef>>,
    #[serde(default)]
    date: Vec<Spanned<DateDef>>,
    #[serde(default)]
    hedge: Vec<Spanned<WordsDef>>,
    #[serde(default)]
    negation: Vec<Spanned<WordsDef>>,
    #[serde(default)]
    cue: Vec<Spanned<CueDef>>,
    #[serde(default)]
    unit: Vec<Spanned<WordsDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventTypeDef {
    code: String,
    name: String,
    family: String,
    acled_event_type: String,
    acled_sub_event_type: String,
    cameo: String,
    cameo_name: String,
    #[serde(default)]
    refine_by_weapon: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerDef {
    event_type: String,
    aliases: LangAliases,
    #[serde(default)]
    ambiguous: Vec<String>,
    #[serde(default)]
    case_sensitive: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorDef {
    id: String,
    name: String,
    #[serde(rename = "type")]
    actor_type: ActorType,
    country: Option<String>,
    affiliation: String,
    aliases: LangAliases,
    #[serde(default)]
    ambiguous: Vec<String>,
    #[serde(default)]
    case_sensitive: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActorType {
    StateForces,
    Militia,
    RebelGroup,
    JihadistGroup,
    Civilians,
    Unidentified,
}

impl ActorType {
    fn as_str(self) -> &'static str {
        match self {
            ActorType::StateForces => "state_forces",
            ActorType::Militia => "militia",
            ActorType::RebelGroup => "rebel_group",
            ActorType::JihadistGroup => "jihadist_group",
            ActorType::Civilians => "civilians",
            ActorType::Unidentified => "unidentified",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeaponDef {
    id: String,
    name: String,
    category: WeaponCategory,
    aliases: LangAliases,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasualtyDef {
    id: String,
    name: String,
    role: CasualtyRole,
    /// The event type the word announces by itself ("executed": an attack).
    #[serde(default)]
    implies: Option<String>,
    aliases: LangAliases,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberDef {
    lang: Lang,
    #[serde(default)]
    words: Vec<(String, u64)>,
    #[serde(default)]
    multipliers: Vec<(String, u64)>,
    #[serde(default)]
    approximate: Vec<(String, u64)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DateDef {
    kind: DateKind,
    lang: Lang,
    anchor: Option<DateAnchor>,
    precision: Option<DatePrecision>,
    words: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DateKind {
    Month,
    Weekday,
    Relative,
    Part,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsDef {
    id: String,
    aliases: LangAliases,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CueDef {
    id: String,
    kind: CueKind,
    aliases: LangAliases,
}

/// Loads one lexicon file into `builder`.
pub(crate) fn load_file(builder: &mut Builder, file: &str, text: &str) -> Result<(), DictionaryError> {
    let lexicon: LexiconFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let line = |span: std::ops::Range<usize>| line_of(text, span.start);

    for def in lexicon.event_type {
        let at = line(def.span());
        let def = def.into_inner();
        if builder.event_types.iter().any(|t| t.code == def.code) {
            return Err(DictionaryError::new(file, Some(at), format!("duplicate event type {:?}", def.code)));
        }
        // Copied into every record: the values must fit the published schema.
        if !requirements::is_cameo_code(&def.cameo) {
            return Err(DictionaryError::new(
                file,
                Some(at),
                format!(
                    "event type {:?}: cameo {:?} is not a CAMEO code (2 to 4 digits, as the event schema requires)",
                    def.code, def.cameo
                ),
            ));
        }
        requirements::check_family(file, at, &def.code, &def.family)?;
        builder.event_type_lines.push((file.to_string(), at));
        builder.event_types.push(EventType {
            code: def.code,
            name: def.name,
            family: def.family,
            acled_event_type: def.acled_event_type,
            acled_sub_event_type: def.acled_sub_event_type,
            cameo: def.cameo,
            cameo_name: def.cameo_name,
            refine_by_weapon: def.refine_by_weapon,
        });
    }

    for def in lexicon.trigger {
        let at = line(def.span());
        let def = def.into_inner();
        let index = builder.event_types.iter().position(|t| t.code == def.event_type).ok_or_else(|| {
            DictionaryError::new(
                file,
                Some(at),
                format!(
                    "trigger for unknown event type {:?} (event types come from the taxonomy, listed first in the manifest)",
                    def.event_type
                ),
            )
        })?;
        let id = format!("event_type:{}", def.event_type);
        let entry = match builder.ids.get(&id) {
            Some(&entry) => entry,
            None => {
                let name = builder.event_types[index].name.clone();
                builder.add_entry(file, Some(at), Entry { id, name, detail: Detail::EventType(index as u16) })?
            }
        };
        add_curated_aliases(builder, file, at, entry, &def.aliases, &def.ambiguous, &def.case_sensitive)?;
    }

    if !lexicon.actor.is_empty() {
        builder.actor_file = Some(file.to_string());
    }
    for def in lexicon.actor {
        let at = line(def.span());
        let def = def.into_inner();
        if let Some(country) = def.country.as_deref().filter(|c| !is_country_code(c)) {
            return Err(DictionaryError::new(
                file,
                Some(at),
                format!("actor {:?}: {}", def.id, country_error(country)),
            ));
        }
        let detail = Detail::Actor(Actor {
            actor_type: def.actor_type.as_str().to_string(),
            country: def.country,
            affiliation: def.affiliation,
        });
        let entry =
            builder.add_entry(file, Some(at), Entry { id: format!("actor:{}", def.id), name: def.name, detail })?;
        add_curated_aliases(builder, file, at, entry, &def.aliases, &def.ambiguous, &def.case_sensitive)?;
    }

    for def in lexicon.weapon {
        let at = line(def.span());
        let def = def.into_inner();
        let detail = Detail::Weapon(Weapon { category: def.category });
        let entry =
            builder.add_entry(file, Some(at), Entry { id: format!("weapon:{}", def.id), name: def.name, detail })?;
        add_curated_aliases(builder, file, at, entry, &def.aliases, &[], &[])?;
    }

    for def in lexicon.casualty {
        let at = line(def.span());
        let def = def.into_inner();
        let implies = match &def.implies {
            None => None,
            Some(code) => Some(builder.event_types.iter().position(|t| &t.code == code).ok_or_else(|| {
                DictionaryError::new(
                    file,
                    Some(at),
                    format!("casualty word implies unknown event type {code:?} (event types come from the taxonomy)"),
                )
            })? as u16),
        };
        let detail = Detail::Casualty(CasualtyWord { role: def.role, implies });
        let entry =
            builder.add_entry(file, Some(at), Entry { id: format!("casualty:{}", def.id), name: def.name, detail })?;
        add_curated_aliases(builder, file, at, entry, &def.aliases, &[], &[])?;
    }

    for def in lexicon.number {
        let at = line(def.span());
        let def = def.into_inner();
        let groups = [(&def.words, false, false), (&def.multipliers, false, true), (&def.approximate, true, false)];
        for (words, approximate, multiplier) in groups {
            for (word, value) in words {
                let detail = Detail::Number(NumberWord { value: *value, approximate, multiplier });
                add_word_entry(builder, file, at, "number", def.lang, word, detail, false)?;
            }
        }
    }

    for def in lexicon.date {
        let at = line(def.span());
        let def = def.into_inner();
        for (word, value) in &def.words {
            let bad = |what: &str| DictionaryError::new(file, Some(at), format!("date word {word:?}: {what}"));
            let date = match def.kind {
                DateKind::Month if (1..=12).contains(value) => DateWord::Month(*value as u8),
                DateKind::Month => return Err(bad("a month is 1 to 12")),
                DateKind::Weekday if (1..=7).contains(value) => DateWord::Weekday(*value as u8),
                DateKind::Weekday => return Err(bad("a weekday is 1 (Monday) to 7")),
                DateKind::Part if (1..=3).contains(value) => DateWord::Part(*value as u8),
                DateKind::Part => return Err(bad("a part is 1 (early), 2 (middle) or 3 (late)")),
                DateKind::Relative => {
                    let (Some(anchor), Some(precision)) = (def.anchor, def.precision) else {
                        return Err(bad("a relative date needs `anchor` and `precision`"));
                    };
                    let days = i32::try_from(*value).map_err(|_| bad("too many days"))?;
                    DateWord::Relative { days, anchor, precision }
                }
            };
            // English month and weekday names are capitalized; "may" the verb is not "May".
            let capitalized = def.lang == Lang::En && matches!(def.kind, DateKind::Month | DateKind::Weekday);
            add_word_entry(builder, file, at, "date", def.lang, word, Detail::Date(date), capitalized)?;
        }
    }

    for (kind, defs) in [("hedge", lexicon.hedge), ("negation", lexicon.negation), ("unit", lexicon.unit)] {
        for def in defs {
            let at = line(def.span());
            let def = def.into_inner();
            let detail = match kind {
                "hedge" => Detail::Hedge,
                "negation" => Detail::Negation(match def.id.as_str() {
                    "denial" => NegationKind::Denial,
                    "no_casualties" => NegationKind::NoCasualties,
                    "no_information" => NegationKind::NoInformation,
                    other => {
                        return Err(DictionaryError::new(
                            file,
                            Some(at),
                            format!("unknown negation id {other:?}: denial, no_casualties or no_information"),
                        ));
                    }
                }),
                _ => Detail::Unit,
            };
            let entry = builder.add_entry(
                file,
                Some(at),
                Entry { id: format!("{kind}:{}", def.id), name: def.id.clone(), detail },
            )?;
            add_curated_aliases(builder, file, at, entry, &def.aliases, &[], &[])?;
        }
    }

    for def in lexicon.cue {
        let at = line(def.span());
        let def = def.into_inner();
        let entry = builder.add_entry(
            file,
            Some(at),
            Entry { id: format!("cue:{}", def.id), name: def.id.clone(), detail: Detail::Cue(def.kind) },
        )?;
        add_curated_aliases(builder, file, at, entry, &def.aliases, &[], &[])?;
    }
    Ok(())
}

/// One entry per word, for numbers and dates, whose value lives in the entry.
#[allow(clippy::too_many_arguments)]
fn add_word_entry(
    builder: &mut Builder,
    file: &str,
    line: usize,
    kind: &str,
    lang: Lang,
    word: &str,
    detail: Detail,
    capitalized: bool,
) -> Result<EntryId, DictionaryError> {
    let normalized = crate::normalize::normalize_str(word);
    if normalized.is_empty() {
        return Err(DictionaryError::new(file, Some(line), format!("{kind} word {word:?} has no letters")));
    }
    let id = format!("{kind}:{}:{}", lang.as_str(), normalized.replace(' ', "_"));
    let entry = builder.add_entry(file, Some(line), Entry { id, name: word.to_string(), detail })?;
    builder.add_alias(entry, word, AliasOrigin::Curated, LangMask::of(lang));
    builder.aliases.last_mut().expect("just added").capitalized = capitalized;
    Ok(entry)
}

/// Checks what can only be checked once every file is read.
pub(crate) fn check_triggers(builder: &Builder) -> Result<(), DictionaryError> {
    if builder.event_types.is_empty() {
        return Err(DictionaryError::new(
            "lexicon",
            None,
            "no event types: the taxonomy file is missing from the manifest",
        ));
    }
    Ok(())
}
