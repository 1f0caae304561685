//! The transliteration variants table (`tests/data/variants.toml`): every spelling, written in
//! a sentence, is tagged as its place.

mod common;

use lexwire::dictionary::EntryKind;
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    place: String,
    spellings: Vec<String>,
}

#[test]
fn every_spelling_resolves_to_its_place() {
    let table: Table =
        toml::from_str(&std::fs::read_to_string(common::repo_path("tests/data/variants.toml")).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &table.case {
        for spelling in &case.spellings {
            let sentence = if spelling.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
                format!("غارات جوية على {spelling} اليوم")
            } else {
                format!("Strikes hit {spelling} today.")
            };
            let places = common::of_kind(&sentence, EntryKind::Place);
            // A trailing apostrophe (the ayn of "Al-Jala'") separates words like any other
            // punctuation: it is not part of the span.
            let expected_surface = spelling.trim_end_matches(['\'', '’']);
            if !places.iter().any(|(surface, id)| surface == expected_surface && id == &case.place) {
                failures.push(format!("{spelling:?}: expected {}, tagged {places:?}", case.place));
            }
        }
    }
    assert!(failures.is_empty(), "{} spellings failed:\n{}", failures.len(), failures.join("\n"));
}
