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
    /// A construction lexwire does not read yet, and why: the case must still fail (so the note
    /// is removed once it passes); it is listed, not counted as a failure.
    todo: Option<String>,
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
    run_cases("tests/data/extraction.toml");
}

/// The constructions of conflict reporting, in English and French: who did what to how many,
/// where (`tests/data/constructions.toml`).
#[test]
fn construction_cases() {
    run_cases("tests/data/constructions.toml");
}

fn run_cases(file: &str) {
    let text = std::fs::read_to_string(common::repo_path(file)).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for case in &cases.case {
        let wrong = check_case(case);
        match (&case.todo, wrong.is_empty()) {
            (Some(_), true) => failures.push(format!("{}: passes now: remove its `todo`", case.name)),
            (Some(why), false) => known.push(format!("{}: {why}", case.name)),
            (None, _) => failures.extend(wrong),
        }
    }
    if !known.is_empty() {
        eprintln!("{file}: {} constructions not read yet:\n  {}", known.len(), known.join("\n  "));
    }
    assert!(
        failures.is_empty(),
        "{file}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.case.len(),
        failures.join("\n")
    );
}

/// What is wrong with lexwire's first event for `case` (nothing when it is right).
fn check_case(case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let name = &case.name;
    let events = common::events_of(&case.text, case.lang.as_deref(), &case.published);
    if let Some(n) = case.events {
        if events.len() != n {
            failures.push(format!("{name}: expected {n} events, got {}: {events:?}", events.len()));
        }
        return failures;
    }
    let Some(event) = events.first() else {
        failures.push(format!("{name}: expected an event, got none"));
        return failures;
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
    failures
}
