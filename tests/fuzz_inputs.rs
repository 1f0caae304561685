//! The fuzzing properties (`fuzz/checks.rs`) over generated messages, without coverage
//! instrumentation: the short fuzzing run of every `cargo test`, and the long run
//! (`LEXWIRE_FUZZ_CASES=10000000 cargo test --release --test fuzz_inputs`) that the
//! coverage-guided targets (`fuzz/run`) are too slow for on this hardware.
//!
//! Messages are built from the words of the seed articles and the construction cases, numbers and
//! dates of every shape, and hostile pieces (control bytes, combining marks, byte-order marks,
//! Arabic, lone surrogates in JSON escapes, huge numbers), arranged as plain text, as article
//! JSON with fields of right and wrong types, as raw bytes, or as a seed article with bytes
//! flipped, inserted, deleted or spliced. A failure is shrunk by proptest and printed.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[path = "../fuzz/checks.rs"]
mod checks;

mod common;

/// Words to build text from: every whitespace-separated token of the seeds and the case tables.
fn vocabulary() -> Vec<String> {
    let mut words = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(common::repo_path("tests/fixtures/seeds"))
        .expect("the seeds are in the repository")
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.push(common::repo_path("tests/data/constructions.toml"));
    files.push(common::repo_path("tests/data/extraction.toml"));
    for path in files {
        let text = std::fs::read_to_string(&path).expect("fixture text is UTF-8");
        words.extend(text.split_whitespace().map(str::to_owned));
    }
    words.sort();
    words.dedup();
    words
}

const HOSTILE: &[&str] = &[
    "\u{feff}",
    "\u{0}",
    "\u{1b}[31m",
    "\r\n",
    "\t",
    "\u{301}",
    "\u{200d}",
    "\u{202e}",
    "\u{fffd}",
    "ـ",
    "قتل",
    "حلب",
    "٢٣",
    "🇸🇾",
    "İ",
    "ß",
    "ﬁ",
    "0",
    "00",
    "-1",
    "1e400",
    "18446744073709551616",
    "123456789012345678901234567890",
    "2021-02-30",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "-2021-02-23",
    "2021-13-01",
    "25:00",
    "11/02/2021",
    "½",
    "IV",
    "a",
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    ".",
    "...",
    "—",
    "«",
    "»",
];

fn text(words: &'static [String]) -> impl Strategy<Value = String> {
    let word = prop_oneof![
        8 => proptest::sample::select(words).prop_map(|w| w.clone()),
        2 => proptest::sample::select(HOSTILE).prop_map(str::to_owned),
        1 => "[0-9]{1,25}",
        1 => any::<String>(),
    ];
    let separator = prop_oneof![8 => Just(" "), 1 => Just(". "), 1 => Just("\n"), 1 => Just("")];
    proptest::collection::vec((word, separator), 0..120)
        .prop_map(|parts| parts.into_iter().map(|(w, s)| w + s).collect())
}

/// A JSON value for a field: usually a string, sometimes the wrong type.
fn field(words: &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => text(words).prop_map(|t| serde_json::to_string(&t).expect("a string encodes")),
        1 => proptest::sample::select(HOSTILE).prop_map(|h| serde_json::to_string(h).expect("a string encodes")),
        1 => Just("null".to_owned()),
        1 => "-?[0-9]{1,40}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
        1 => Just("[1, {\"a\": []}]".to_owned()),
        1 => Just("\"\\ud800\"".to_owned()),
        1 => Just("{\"nested\": {\"deeper\": [[[[[]]]]]}}".to_owned()),
    ]
}

fn article_json(words: &'static [String]) -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("id"),
        Just("text"),
        Just("published_at"),
        Just("language"),
        Just("url"),
        Just("source"),
        Just("title"),
        Just("extra"),
    ];
    proptest::collection::vec((key, field(words)), 0..9).prop_map(|fields| {
        let body: Vec<String> = fields.into_iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!("{{{}}}", body.join(", ")).into_bytes()
    })
}

/// A seed article message with a few byte-level edits.
fn mutated_seed(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
    let edit = (0usize..4, any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>());
    (proptest::sample::select(seeds), proptest::collection::vec(edit, 0..8)).prop_map(|(seed, edits)| {
        let mut bytes = seed.clone();
        for (kind, at, other, byte) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 => {
                    bytes.remove(i);
                }
                _ => {
                    let j = other.index(bytes.len());
                    let (a, b) = (i.min(j), i.max(j));
                    let piece = bytes[a..b.min(a + 64)].to_vec();
                    bytes.splice(i..i, piece);
                }
            }
        }
        bytes
    })
}

#[test]
fn generated_messages_keep_every_fuzzing_property() {
    let cases: u32 = std::env::var("LEXWIRE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4_000);
    let words: &'static [String] = Vec::leak(vocabulary());
    let seeds: &'static [Vec<u8>] = Vec::leak(
        std::fs::read_to_string(common::repo_path("tests/fixtures/articles.jsonl"))
            .expect("the seed messages are in the repository")
            .lines()
            .map(|l| l.as_bytes().to_vec())
            .collect(),
    );
    let message = prop_oneof![
        3 => (any::<u8>(), text(words)).prop_map(|(b, t)| [vec![b], t.into_bytes()].concat()),
        3 => (any::<u8>(), article_json(words)).prop_map(|(b, j)| [vec![b], j].concat()),
        2 => (any::<u8>(), mutated_seed(seeds)).prop_map(|(b, s)| [vec![b], s].concat()),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ];
    let harness = RefCell::new(checks::Harness::new());
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&message, |input| {
        checks::check_decode(&input[1.min(input.len())..]);
        harness.borrow_mut().check_article(&input);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let harness = harness.borrow();
    eprintln!("{cases} messages: {} articles processed, {} event records checked", harness.processed, harness.records);
    // The generators must reach extraction, or the run checks only the decoder.
    assert!(harness.records > u64::from(cases) / 100, "too few messages made events: {}", harness.records);
}
