//! The properties every fuzzing run checks, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/`) and the generated-input run of the test suite (`tests/fuzz_inputs.rs`),
//! so both check exactly the same things.
//!
//! - [`check_decode`]: the decoder on any bytes never panics; an article it accepts has an id,
//!   fits the size bound, and its text is no larger than any escaping of the message could make
//!   it; a rejection has a message.
//! - [`Harness::check_article`]: the whole offline path (decode → normalize → tag → extract →
//!   dedup → encode) never panics; every tag span lies on character boundaries inside the
//!   text; every event record is valid against the published schema. One engine lives across
//!   inputs, so the dedup state (bounded by its configuration) carries what earlier inputs left.

use std::sync::Arc;

use lexwire::article::{Envelope, decode};
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::Dictionary;
use lexwire::engine::Engine;
use lexwire::matcher::AutomatonKind;
use lexwire::tag::Tagger;

/// The size bound the checks decode with (the service's default is 4 MiB; inputs here are small).
pub const MAX_BYTES: usize = 64 * 1024;

const TRANSPORT_TIME: &str = "2021-02-11T09:00:00Z";

pub fn check_decode(data: &[u8]) {
    let mut message = data.to_vec();
    let envelope = Envelope { id: Some("fuzz-key"), published_at: Some(TRANSPORT_TIME.to_owned()) };
    match decode(&mut message, &envelope, MAX_BYTES) {
        Ok(article) => {
            assert!(data.len() <= MAX_BYTES, "accepted a message over the size bound");
            assert!(!article.id.is_empty(), "accepted an article without an id");
            assert!(article.text.len() <= data.len() * 6, "text larger than any escape of the input");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "a rejection without a message"),
    }
}

pub struct Harness {
    engine: Engine,
    schema: jsonschema::Validator,
    /// Articles the engine processed and records checked, to show a run reached extraction.
    pub processed: u64,
    pub records: u64,
}

impl Harness {
    /// The bundled dictionary with the DFA, as `lexwire tag --events` runs, and a dedup state
    /// capped small so that eviction is exercised too.
    pub fn new() -> Harness {
        let dict = Dictionary::bundled().expect("the bundled dictionary loads");
        let tagger = Arc::new(Tagger::new(Arc::new(dict), AutomatonKind::Dfa).expect("the automaton builds"));
        let config = DedupConfig { max_events: 2_000, max_articles: 2_000, ..DedupConfig::default() };
        let engine = Engine::new(tagger, config).expect("the bundled dictionary has every event type");
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schema/lexwire.event.v1.json")).expect("the schema is JSON");
        let schema = jsonschema::validator_for(&schema).expect("the schema compiles");
        Harness { engine, schema, processed: 0, records: 0 }
    }

    /// The first byte chooses the envelope (a publication time from the transport or none), so
    /// plain-text messages are checked both ways; the rest is the message.
    pub fn check_article(&mut self, data: &[u8]) {
        let (published_at, body) = match data.split_first() {
            Some((&b, rest)) if b & 1 == 1 => (Some(TRANSPORT_TIME.to_owned()), rest),
            Some((_, rest)) => (None, rest),
            None => (None, data),
        };
        let mut message = body.to_vec();
        let envelope = Envelope { id: Some("fuzz-key"), published_at };
        let Ok(article) = decode(&mut message, &envelope, MAX_BYTES) else { return };
        let Ok(processed) = self.engine.process(&article) else { return };
        self.processed += 1;
        for tag in self.engine.last_tags() {
            assert!(tag.start <= tag.end && tag.end <= article.text.len(), "tag span out of the text");
            assert!(
                article.text.is_char_boundary(tag.start) && article.text.is_char_boundary(tag.end),
                "tag span inside a character"
            );
        }
        let records = self.engine.records(&processed.outcome).chain(self.engine.replay_records(&processed.outcome));
        for record in records {
            self.records += 1;
            let text = record.to_json().expect("a record serializes");
            let json: serde_json::Value = serde_json::from_str(&text).expect("a record is JSON");
            let errors: Vec<String> =
                self.schema.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "record breaks the schema: {errors:?}\n{json}");
        }
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}
