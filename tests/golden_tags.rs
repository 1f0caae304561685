//! Golden test on the seed articles: the places and actors each must get
//! (`tests/data/golden-tags.toml`), no place in site boilerplate, distinct militias, and every
//! span slicing the original text to its surface form — through the `lexwire tag` binary, on
//! the JSONL fixture, exactly as a user runs it.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Golden {
    article: Vec<Expected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    id: String,
    places: Vec<(String, String)>,
    actors: Vec<(String, String)>,
    boilerplate: Vec<String>,
}

/// Runs `lexwire tag` on the fixture and returns its output lines by article id.
fn tag_fixture() -> HashMap<String, Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(["tag", common::repo_path("tests/fixtures/articles.jsonl").to_str().unwrap()])
        .output()
        .expect("lexwire runs");
    assert!(output.status.success(), "lexwire tag failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("each line is JSON");
            (v["article_id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn pairs(article: &Value, kind: &str) -> HashSet<(String, String)> {
    article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == kind)
        .map(|t| (t["surface"].as_str().unwrap().to_string(), t["id"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn seeds_get_their_places_and_actors() {
    let golden: Golden =
        toml::from_str(&std::fs::read_to_string(common::repo_path("tests/data/golden-tags.toml")).unwrap()).unwrap();
    let out = tag_fixture();
    let texts: HashMap<String, String> = common::seeds()
        .into_iter()
        .map(|a| (a["id"].as_str().unwrap().to_string(), a["text"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(out.len(), 5);
    let mut failures = Vec::new();
    for expected in &golden.article {
        let article = &out[&expected.id];
        let places = pairs(article, "place");
        let actors = pairs(article, "actor");
        for want in &expected.places {
            if !places.contains(want) {
                failures.push(format!("{}: missing place {want:?}", expected.id));
            }
        }
        for want in &expected.actors {
            if !actors.contains(want) {
                failures.push(format!("{}: missing actor {want:?}", expected.id));
            }
        }
        // Site chrome: no place tag inside any of its lines.
        let text = &texts[&expected.id];
        for line in &expected.boilerplate {
            let start = text.find(line.as_str()).unwrap_or_else(|| panic!("{line:?} is not in {}", expected.id));
            let end = start + line.len();
            for t in article["tags"].as_array().unwrap().iter().filter(|t| t["kind"] == "place") {
                let s = t["start"].as_u64().unwrap() as usize;
                if s >= start && s < end {
                    failures.push(format!("{}: place {} in boilerplate {line:?}", expected.id, t["surface"]));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn militias_are_distinct_entries() {
    let out = tag_fixture();
    let ids: HashSet<String> = out.values().flat_map(|a| pairs(a, "actor")).map(|(_, id)| id).collect();
    for id in [
        "actor:kataib_hezbollah",
        "actor:popular_mobilization_forces",
        "actor:liwa_fatemiyoun",
        "actor:lebanese_hezbollah",
    ] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
}

#[test]
fn every_span_slices_the_original_to_the_surface() {
    let out = tag_fixture();
    let mut checked = 0;
    for article in common::seeds() {
        let id = article["id"].as_str().unwrap();
        let text = article["text"].as_str().unwrap();
        for t in out[id]["tags"].as_array().unwrap() {
            let (s, e) = (t["start"].as_u64().unwrap() as usize, t["end"].as_u64().unwrap() as usize);
            assert!(text.is_char_boundary(s) && text.is_char_boundary(e) && s < e, "{id}: bad span {t}");
            assert_eq!(&text[s..e], t["surface"].as_str().unwrap(), "{id}: {t}");
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} tags checked");
}

#[test]
fn every_tag_names_its_dictionary_version_and_language() {
    let out = tag_fixture();
    let version = common::tagger().dictionary().version().to_string();
    for (id, article) in &out {
        assert_eq!(article["dictionary_version"], version.as_str(), "{id}");
        let expected = if id.starts_with("004") { "fr" } else { "en" };
        assert_eq!(article["language"], expected, "{id}");
    }
}
