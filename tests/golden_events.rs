//! Golden test of events on the seed articles, in date order, through `lexwire tag --events`:
//! the expected events (`tests/data/golden-events.toml`) each once, with their tolls and
//! sources; no number that is not a casualty as a toll; every record valid against
//! `schema/lexwire.event.v1.json`; the same input giving the same bytes.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Golden {
    event: Vec<Expected>,
    not_casualties: NotCasualties,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    name: String,
    #[serde(rename = "type")]
    event_type: String,
    dates: Vec<String>,
    places: Vec<String>,
    fatalities: Option<u64>,
    injured: Option<u64>,
    actor: Option<String>,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotCasualties {
    values: Vec<u64>,
    not_evidence: Vec<String>,
}

/// The seeds as JSONL in date order: 003, 004, 000, 001, 002.
pub fn seeds_by_date() -> String {
    let mut seeds = common::seeds();
    seeds.sort_by(|a, b| {
        (a["published_at"].as_str(), a["id"].as_str()).cmp(&(b["published_at"].as_str(), b["id"].as_str()))
    });
    seeds.iter().map(|a| a.to_string() + "\n").collect()
}

fn run_events(input: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seeds.jsonl");
    std::fs::write(&path, input).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_lexwire")).args(["tag", "--events", path.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The latest record of each event.
fn final_states(output: &str) -> BTreeMap<String, Value> {
    let mut states = BTreeMap::new();
    for line in output.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        states.insert(record["event_id"].as_str().unwrap().to_string(), record);
    }
    states
}

#[test]
fn the_seeds_give_the_expected_events() {
    let golden: Golden =
        toml::from_str(&std::fs::read_to_string(common::repo_path("tests/data/golden-events.toml")).unwrap()).unwrap();
    let order: Vec<String> = common::seeds().iter().map(|a| a["id"].as_str().unwrap()[..3].to_string()).collect();
    assert_eq!(order, ["003", "004", "000", "001", "002"], "the fixture file is in date order");
    let states = final_states(&run_events(&seeds_by_date()));
    let mut failures = Vec::new();
    for expected in &golden.event {
        let matching: Vec<&Value> = states
            .values()
            .filter(|e| {
                e["event_type"]["code"] == expected.event_type
                    && expected.dates.iter().any(|d| e["date"] == d.as_str())
                    && expected.places.iter().any(|p| e["location"]["place_id"] == p.as_str())
            })
            .collect();
        let [event] = matching.as_slice() else {
            failures.push(format!("{}: {} matching events", expected.name, matching.len()));
            continue;
        };
        let toll = |field: &str| event[field]["best"].as_u64();
        if toll("fatalities") != expected.fatalities {
            failures.push(format!(
                "{}: fatalities {:?}, expected {:?}",
                expected.name,
                toll("fatalities"),
                expected.fatalities
            ));
        }
        if expected.injured.is_some() && toll("injured") != expected.injured {
            failures.push(format!("{}: injured {:?}, expected {:?}", expected.name, toll("injured"), expected.injured));
        }
        let sources: Vec<&str> =
            event["sources"].as_array().unwrap().iter().map(|s| s["article_id"].as_str().unwrap()).collect();
        if sources != expected.sources {
            failures.push(format!("{}: sources {sources:?}, expected {:?}", expected.name, expected.sources));
        }
        if let Some(actor) = &expected.actor {
            let doer =
                event["actors"].as_array().unwrap().iter().any(|a| a["id"] == actor.as_str() && a["role"] == "actor");
            if !doer {
                failures.push(format!("{}: {actor} is not the actor in {}", expected.name, event["actors"]));
            }
        }
    }
    for event in states.values() {
        for field in ["fatalities", "injured"] {
            for count in std::iter::once(&event[field])
                .chain(event["sources"].as_array().unwrap().iter().map(|s| &s[field]))
                .filter(|c| !c.is_null())
            {
                let best = count["best"].as_u64().unwrap();
                if golden.not_casualties.values.contains(&best) {
                    failures.push(format!("{}: {field} {best} is not a casualty count", event["event_id"]));
                }
            }
        }
        for source in event["sources"].as_array().unwrap() {
            let sentence = source["evidence"]["sentence"].as_str().unwrap();
            for text in &golden.not_casualties.not_evidence {
                if sentence.contains(text.as_str()) {
                    failures.push(format!("{}: made from {sentence:?}", event["event_id"]));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn records_validate_against_the_published_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(common::repo_path("schema/lexwire.event.v1.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let output = run_events(&seeds_by_date());
    let mut count = 0;
    for line in output.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&record).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", record["event_id"]);
        count += 1;
    }
    assert!(count >= 10, "{count} records");
}

#[test]
fn the_same_articles_in_the_same_order_give_the_same_bytes() {
    let input = seeds_by_date();
    let first = run_events(&input);
    assert_eq!(first, run_events(&input));
    assert!(!first.is_empty());
}

#[test]
fn evidence_spans_point_into_the_original_text() {
    let texts: BTreeMap<String, String> = common::seeds()
        .into_iter()
        .map(|a| (a["id"].as_str().unwrap().to_string(), a["text"].as_str().unwrap().to_string()))
        .collect();
    for event in final_states(&run_events(&seeds_by_date())).values() {
        for source in event["sources"].as_array().unwrap() {
            let text = &texts[source["article_id"].as_str().unwrap()];
            let (s, e) = (
                source["evidence"]["start"].as_u64().unwrap() as usize,
                source["evidence"]["end"].as_u64().unwrap() as usize,
            );
            let sentence = source["evidence"]["sentence"].as_str().unwrap();
            assert!(text[s..e].starts_with(sentence.trim_end_matches('…')), "{sentence:?}");
        }
    }
}
