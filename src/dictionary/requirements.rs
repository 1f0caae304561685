//! What the stages after the dictionary need of it, checked once, when a dictionary is loaded
//! (`check`, called by [`super::Dictionary::load`]). So `lexwire dict check`, the service's
//! start and every hot reload refuse the same dictionaries, with the file and line at fault,
//! and a dictionary that loads is one every stage can run on.
//!
//! The stages name a few things of the dictionary: extraction refines generic attacks to
//! `air_strike`, `shelling`, `ied` or `grenade` by weapon, falls back to `attack`, settles
//! protests into their four sub-types, tells mob violence from a riot, and orders event
//! families from the most violent; dedup merges within a family and ignores the unidentified
//! actor; the metrics label published records by family (a bounded set). Those names are
//! listed here and only here: the stages take them from [`RequiredTypes`] and the constants
//! below, never from string literals of their own.

use super::{Builder, DictionaryError, EventType};

/// Event families, from the most violent: a sentence with triggers of several families is an
/// event of the first ("US strikes on a weapons shipment" is a strike). Every event type's
/// `family` is one of them.
pub const FAMILIES: [&str; 8] = [
    "remote_violence",
    "battle",
    "violence_against_civilians",
    "riot",
    "protest",
    "weapons_transfer",
    "deployment",
    "strategic_development",
];

/// The actor an unnamed doer is ("unidentified gunmen"): never a doer that tells two events
/// apart.
pub const UNIDENTIFIED_ACTOR: &str = "actor:unidentified";

/// Actor ids the stages name, and why.
const ACTORS: [(&str, &str); 1] =
    [(UNIDENTIFIED_ACTOR, "extraction and dedup do not count it as a doer that tells two events apart")];

/// One event type a stage names: its code, the family the stage's rules assume, and what for.
struct Need {
    code: &'static str,
    family: &'static str,
    why: &'static str,
}

/// Declares [`RequiredTypes`], one field per event type a stage names (the field is the type's
/// code), and the table [`check`] resolves them from, in one list.
macro_rules! required_types {
    ($($code:ident in $family:literal: $why:literal,)*) => {
        /// The event types the stages name, as indices into [`super::Dictionary::event_types`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct RequiredTypes {
            $(pub $code: u16,)*
        }

        const EVENT_TYPES: &[Need] = &[$(Need { code: stringify!($code), family: $family, why: $why },)*];

        impl RequiredTypes {
            /// From the indices of [`EVENT_TYPES`], in its order.
            fn from_indices(found: [u16; EVENT_TYPES.len()]) -> Self {
                let mut found = found.into_iter();
                RequiredTypes { $($code: found.next().expect("one index per type"),)* }
            }
        }
    };
}

required_types! {
    air_strike in "remote_violence": "extraction refines a generic attack with a drone or aircraft to it",
    shelling in "remote_violence": "extraction refines a generic attack with artillery, rockets or missiles to it",
    ied in "remote_violence": "extraction refines a generic attack with an explosive to it",
    grenade in "remote_violence": "extraction refines a generic attack with a grenade to it",
    attack in "battle": "extraction gives it to a toll whose doer is named without a trigger",
    armed_clash in "battle": "extraction gives it to a generic attack between armed sides",
    territory_taken in "battle": "extraction reads \"seized\", \"captured\" with a place as it",
    abduction in "violence_against_civilians": "extraction reads \"captured\" with people as it",
    looting in "strategic_development": "extraction reads \"seized\" with a thing (a vehicle, goods) as it",
    attack_on_civilians in "violence_against_civilians": "extraction gives it to a generic attack on civilians",
    peaceful_protest in "protest": "extraction settles a protest to it",
    protest_with_intervention in "protest": "extraction settles a protest the authorities dispersed to it",
    excessive_force_against_protesters in "protest": "extraction settles a protest met with lethal force to it",
    violent_demonstration in "riot": "extraction settles a protest that turned violent to it",
    mob_violence in "riot": "extraction tells a crowd's attack from a demonstration by it",
    arrests in "strategic_development": "extraction reads arrests told with a protest as the authorities' intervention",
}

/// Where each event type was defined: `(file, line)`, in the order of the builder's types.
pub(crate) type TypeLines = [(String, usize)];

/// The family of an event type defined at `file:line`, if it is one of [`FAMILIES`].
pub(crate) fn check_family(file: &str, line: usize, code: &str, family: &str) -> Result<(), DictionaryError> {
    if FAMILIES.contains(&family) {
        return Ok(());
    }
    Err(DictionaryError::new(
        file,
        Some(line),
        format!("event type {code:?}: unknown family {family:?} (the families: {})", FAMILIES.join(", ")),
    ))
}

/// Checks that the dictionary holds everything the stages name, and resolves the event types.
///
/// # Errors
/// A missing event type, one of another family than the stages assume, or a missing actor.
/// A missing type is reported at the line of the type that looks renamed (the only one of the
/// same ACLED sub-event type that no stage names) when there is one, else in the file that
/// defines the taxonomy.
pub(crate) fn check(builder: &Builder, lines: &TypeLines, actor_file: &str) -> Result<RequiredTypes, DictionaryError> {
    let types = &builder.event_types;
    let taxonomy_file = lines.first().map_or("lexicon", |(file, _)| file.as_str());
    let mut found = [0u16; EVENT_TYPES.len()];
    for (slot, need) in found.iter_mut().zip(EVENT_TYPES) {
        match types.iter().position(|t| t.code == need.code) {
            Some(i) => {
                let t = &types[i];
                if t.family != need.family {
                    let (file, line) = &lines[i];
                    return Err(DictionaryError::new(
                        file,
                        Some(*line),
                        format!(
                            "event type {:?} has family {:?}; the stages need it in {:?}: {}",
                            need.code, t.family, need.family, need.why
                        ),
                    ));
                }
                *slot = i as u16;
            }
            None => return Err(missing_type(types, lines, taxonomy_file, need)),
        }
    }
    for (id, why) in ACTORS {
        let is_actor =
            builder.ids.get(id).is_some_and(|&e| matches!(builder.entries[e as usize].detail, super::Detail::Actor(_)));
        if !is_actor {
            return Err(DictionaryError::new(
                actor_file,
                None,
                format!("no actor {id:?}, which the stages name: {why}"),
            ));
        }
    }
    Ok(RequiredTypes::from_indices(found))
}

/// The error for a missing event type, at the line of the type it was likely renamed to.
fn missing_type(types: &[EventType], lines: &TypeLines, taxonomy_file: &str, need: &Need) -> DictionaryError {
    let reference = reference_sub_event_type(need.code);
    let named = |code: &str| EVENT_TYPES.iter().any(|n| n.code == code);
    let mut renamed =
        types.iter().enumerate().filter(|(_, t)| Some(t.acled_sub_event_type.as_str()) == reference && !named(&t.code));
    let message = format!("the taxonomy has no event type {:?}, which the stages need: {}", need.code, need.why);
    match (renamed.next(), renamed.next()) {
        (Some((i, t)), None) => {
            let (file, line) = &lines[i];
            DictionaryError::new(
                file,
                Some(*line),
                format!("{message}; event type {:?} has its ACLED sub-event type: was it renamed?", t.code),
            )
        }
        _ => DictionaryError::new(taxonomy_file, None, message),
    }
}

/// The ACLED sub-event type of a required code in the shipped taxonomy, to recognize a renamed
/// type by.
fn reference_sub_event_type(code: &str) -> Option<&'static str> {
    Some(match code {
        "air_strike" => "Air/drone strike",
        "shelling" => "Shelling/artillery/missile attack",
        "ied" => "Remote explosive/landmine/IED",
        "grenade" => "Grenade",
        "arrests" => "Arrests",
        "attack" | "armed_clash" => "Armed clash",
        "attack_on_civilians" => "Attack",
        "peaceful_protest" => "Peaceful protest",
        "protest_with_intervention" => "Protest with intervention",
        "excessive_force_against_protesters" => "Excessive force against protesters",
        "violent_demonstration" => "Violent demonstration",
        "mob_violence" => "Mob violence",
        "territory_taken" => "Non-state actor overtakes territory",
        "abduction" => "Abduction/forced disappearance",
        "looting" => "Looting/property destruction",
        _ => return None,
    })
}

/// Whether `cameo` has the shape the event schema accepts for `event_type.cameo`: 2 to 4 digits.
pub(crate) fn is_cameo_code(cameo: &str) -> bool {
    (2..=4).contains(&cameo.len()) && cameo.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dictionary::Dictionary;

    #[test]
    fn the_shipped_taxonomy_has_what_the_stages_need() {
        let dict = Dictionary::bundled().unwrap();
        let t = dict.required_types();
        assert_eq!(dict.event_type(t.ied).code, "ied");
        assert_eq!(dict.event_type(t.mob_violence).code, "mob_violence");
        for need in EVENT_TYPES {
            assert_eq!(
                reference_sub_event_type(need.code),
                dict.event_type_by_code(need.code).map(|i| dict.event_type(i).acled_sub_event_type.as_str()),
                "{}",
                need.code
            );
        }
    }

    #[test]
    fn the_checks_follow_the_published_schema() {
        // The shapes checked at load are the schema's: if it changes, so must they.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/lexwire.event.v1.json");
        let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cameo = &schema["properties"]["event_type"]["properties"]["cameo"]["pattern"];
        assert_eq!(cameo, "^[0-9]{2,4}$");
        let country = &schema["properties"]["location"]["oneOf"][1]["properties"]["country"]["pattern"];
        assert_eq!(country, "^[A-Z]{2}$");
        for (cameo, ok) in [("19", true), ("195", true), ("1831", true), ("072", true), ("1", false), ("19555", false)]
        {
            assert_eq!(is_cameo_code(cameo), ok, "{cameo}");
        }
        for bad in ["", "19X5a", "19 5", "١٩٥"] {
            assert!(!is_cameo_code(bad), "{bad}");
        }
    }
}
