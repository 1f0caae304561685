//! Runs the table `tests/data/matcher.toml`: variants, word boundaries, French accents, Arabic
//! script, overlaps, case, ambiguity, numbers and dates. A failing case prints its name, text
//! and the tags it got.

mod common;

use lexwire::dictionary::Lang;
use lexwire::encode::TagJson;
use lexwire::tag::Scratch;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    text: String,
    lang: Option<String>,
    #[serde(default)]
    expect: Vec<(String, String, String)>,
    #[serde(default)]
    absent: Vec<(String, String)>,
}

#[test]
fn matcher_table() {
    let table: Table =
        toml::from_str(&std::fs::read_to_string(common::repo_path("tests/data/matcher.toml")).unwrap()).unwrap();
    let tagger = common::tagger();
    let dict = tagger.dictionary();
    let mut failures = Vec::new();
    for case in &table.case {
        let lang = case.lang.as_deref().map(|l| Lang::parse(l).expect("known language"));
        let tagged = tagger.tag(&case.text, lang, &mut Scratch::new()).unwrap();
        // (kind, surface, id) of every output tag, as the JSON output has them.
        let got: Vec<(String, String, String)> = tagged
            .tags
            .iter()
            .filter(|t| !t.is_internal())
            .map(|t| {
                let json = serde_json::to_value(TagJson { tag: t, text: &case.text, dict }).unwrap();
                let field = |k: &str| json[k].as_str().unwrap_or_default().to_string();
                (field("kind"), field("surface"), field("id"))
            })
            .collect();
        for want in &case.expect {
            if !got.contains(want) {
                failures.push(format!("[{}] missing {want:?}", case.name));
            }
        }
        for (kind, surface) in &case.absent {
            if got.iter().any(|(k, s, _)| (kind == "any" || k == kind) && s == surface) {
                failures.push(format!("[{}] unexpected {kind} {surface:?}", case.name));
            }
        }
        if failures.last().is_some_and(|f| f.starts_with(&format!("[{}]", case.name))) {
            failures.push(format!("    text: {:?}\n    tags: {got:?}", case.text));
        }
    }
    assert!(table.case.len() >= 25, "the table lost cases");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
