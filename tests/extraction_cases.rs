//! Table-driven extraction cases (`tests/data/extraction.toml`): dates, numbers and casualty
//! phrases in English and French, numbers that are not casualties, sentences that are not events.

mod common;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    text: String,
    lang: Option<String>,
    published: String,
    events: Option<usize>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    date: Option<String>,
    precision: Option<String>,
    fatalities: Option<Toll>,
    injured: Option<Toll>,
    place: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Toll {
    Count([u64; 3]),
    None(String),
}

fn check_toll(failures: &mut Vec<String>, name: &str, field: &str, expected: &Toll, got: &Value) {
    match expected {
        Toll::Count([low, best, high]) => {
            let got = (got["low"].as_u64(), got["best"].as_u64(), got["high"].as_u64());
            if got != (Some(*low), Some(*best), Some(*high)) {
                failures.push(format!("{name}: {field} expected [{low}, {best}, {high}], got {got:?}"));
            }
        }
        Toll::None(word) => {
            assert_eq!(word, "none", "{name}: a toll is [low, best, high] or \"none\"");
            if !got.is_null() {
                failures.push(format!("{name}: {field} expected none, got {got}"));
            }
        }
    }
}

#[test]
fn extraction_cases() {
    let text = std::fs::read_to_string(common::repo_path("tests/data/extraction.toml")).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for case in &cases.case {
        let name = &case.name;
        let events = common::events_of(&case.text, case.lang.as_deref(), &case.published);
        if let Some(n) = case.events {
            if events.len() != n {
                failures.push(format!("{name}: expected {n} events, got {}: {events:?}", events.len()));
            }
            continue;
        }
        let Some(event) = events.first() else {
            failures.push(format!("{name}: expected an event, got none"));
            continue;
        };
        let mut check = |field: &str, expected: &Option<String>, got: &Value| {
            if let Some(expected) = expected
                && got.as_str() != Some(expected)
            {
                failures.push(format!("{name}: {field} expected {expected}, got {got}"));
            }
        };
        check("type", &case.event_type, &event["event_type"]["code"]);
        check("date", &case.date, &event["date"]);
        check("precision", &case.precision, &event["date_precision"]);
        check("place", &case.place, &event["location"]["place_id"]);
        if let Some(t) = &case.fatalities {
            check_toll(&mut failures, name, "fatalities", t, &event["fatalities"]);
        }
        if let Some(t) = &case.injured {
            check_toll(&mut failures, name, "injured", t, &event["injured"]);
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.case.len(), failures.join("\n"));
}
