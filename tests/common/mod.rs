//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod deploy;
pub mod dictionaries;
pub mod kafka;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use lexwire::dictionary::{Dictionary, EntryKind};
use lexwire::matcher::AutomatonKind;
use lexwire::tag::{Scratch, Tag, Tagger};

/// One tagger over the bundled dictionary, built once per test binary.
pub fn tagger() -> &'static Tagger {
    shared_tagger()
}

/// The same tagger, shareable with an engine.
pub fn shared_tagger() -> &'static Arc<Tagger> {
    static TAGGER: OnceLock<Arc<Tagger>> = OnceLock::new();
    TAGGER.get_or_init(|| {
        let dict = Dictionary::bundled().expect("the bundled dictionary loads");
        Arc::new(Tagger::new(Arc::new(dict), AutomatonKind::Dfa).expect("the automaton builds"))
    })
}

/// Tags `text` and returns the output tags.
pub fn tags(text: &str) -> Vec<Tag> {
    let tagged = tagger().tag(text, None, &mut Scratch::new()).expect("text is small");
    tagged.tags.into_iter().filter(|t| !t.is_internal()).collect()
}

/// `(surface, canonical id)` of the tags of one kind.
pub fn of_kind(text: &str, kind: EntryKind) -> Vec<(String, String)> {
    let dict = tagger().dictionary();
    tags(text)
        .into_iter()
        .filter(|t| t.kind == kind)
        .map(|t| (text[t.start..t.end].to_string(), t.entry.map(|e| dict.entry(e).id.clone()).unwrap_or_default()))
        .collect()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The seed articles as JSON, in file order (date order: 003, 004, 000, 001, 002).
pub fn seeds() -> Vec<serde_json::Value> {
    std::fs::read_to_string(repo_path("tests/fixtures/articles.jsonl"))
        .expect("fixtures")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

/// The event records (latest state of each) that one article produces on a fresh engine.
pub fn events_of(text: &str, language: Option<&str>, published_at: &str) -> Vec<serde_json::Value> {
    use std::borrow::Cow;
    let mut engine = lexwire::engine::Engine::new(shared_tagger().clone(), lexwire::dedup::DedupConfig::default())
        .expect("the bundled taxonomy has what extraction needs");
    let article = lexwire::article::Article {
        id: Cow::Borrowed("case"),
        url: None,
        source: Some(Cow::Borrowed("test")),
        language: language.map(Cow::Borrowed),
        published_at: Some(Cow::Borrowed(published_at)),
        title: None,
        text: Cow::Borrowed(text),
    };
    let processed = engine.process(&article).expect("text is small");
    engine
        .records(&processed.outcome)
        .map(|r| serde_json::from_str(&r.to_json().expect("records serialize")).expect("records are JSON"))
        .collect()
}

/// Copies a folder tree (a dictionary folder to edit in a test).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Renames the taxonomy code `from` to `to` in the dictionary folder `dir` (the taxonomy and the
/// triggers that name it): a dictionary the tagger can use, but not the extractor when `from` is
/// one it refines to.
pub fn rename_taxonomy_code(dir: &std::path::Path, from: &str, to: &str) {
    for file in ["lexicon/taxonomy.toml", "lexicon/event-triggers.toml"] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (from, to) = (format!("\"{from}\""), format!("\"{to}\""));
        assert!(text.contains(&from), "{file} names {from}");
        std::fs::write(&path, text.replace(&from, &to)).unwrap();
    }
}
