//! The offline path of one article, shared by `lexwire tag --events` and the service's workers:
//! tag, extract, deduplicate. Synchronous and pure (no I/O, no clock); the caller decodes the
//! message and encodes the records.

use std::sync::Arc;

use crate::article::Article;
use crate::dedup::{ArticleMeta, DedupConfig, Deduper, Outcome, tag_sketch};
use crate::dictionary::{Dictionary, Lang};
use crate::event::EventRecord;
use crate::extract::dates::parse_published;
use crate::extract::{ArticleContext, Candidate, ExtractStats, Extractor};
use crate::normalize::TextTooLarge;
use crate::tag::{Scratch, Tag, Tagger};

/// What processing one article did.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    pub outcome: Outcome,
    pub language: Option<Lang>,
    pub tags: usize,
    pub extract: ExtractStats,
}

/// Tagger, extractor and deduper, with their buffers.
#[derive(Debug)]
pub struct Engine {
    tagger: Arc<Tagger>,
    extractor: Extractor,
    deduper: Deduper,
    scratch: Scratch,
    tags: Vec<Tag>,
    candidates: Vec<Candidate>,
}

impl Engine {
    /// # Errors
    /// When the dictionary's taxonomy lacks an event type extraction needs.
    pub fn new(tagger: Arc<Tagger>, config: DedupConfig) -> Result<Engine, String> {
        let extractor = Extractor::new(tagger.dictionary().clone())?;
        Ok(Engine {
            tagger,
            extractor,
            deduper: Deduper::new(config),
            scratch: Scratch::new(),
            tags: Vec::new(),
            candidates: Vec::new(),
        })
    }

    /// Swaps in a new dictionary and automaton (a hot reload); the dedup state stays.
    ///
    /// # Errors
    /// As [`Engine::new`].
    pub fn set_tagger(&mut self, tagger: Arc<Tagger>) -> Result<(), String> {
        self.extractor = Extractor::new(tagger.dictionary().clone())?;
        self.tagger = tagger;
        Ok(())
    }

    pub fn dictionary(&self) -> &Arc<Dictionary> {
        self.tagger.dictionary()
    }

    pub fn deduper(&self) -> &Deduper {
        &self.deduper
    }

    pub fn deduper_mut(&mut self) -> &mut Deduper {
        &mut self.deduper
    }

    /// Tags, extracts and deduplicates one article.
    ///
    /// # Errors
    /// [`TextTooLarge`] for a text beyond what the offset map addresses.
    pub fn process(&mut self, article: &Article<'_>) -> Result<Processed, TextTooLarge> {
        let declared = article.language.as_deref().and_then(Lang::parse);
        let language = self.tagger.tag_into(&article.text, declared, &mut self.scratch, &mut self.tags)?;
        let published = article.published_at.as_deref().and_then(parse_published);
        self.candidates.clear();
        let extract = self.extractor.extract(
            &ArticleContext { text: &article.text, tags: &self.tags, language, published },
            &mut self.candidates,
        );
        let sketch = tag_sketch(self.tagger.dictionary(), &self.tags);
        let meta = ArticleMeta {
            id: &article.id,
            url: article.url.as_deref(),
            source: article.source.as_deref(),
            language,
            published_at: article.published_at.as_deref(),
            published,
            text: &article.text,
            sketch: &sketch,
        };
        let outcome = self.deduper.process(self.tagger.dictionary(), &meta, &self.candidates);
        Ok(Processed { outcome, language: Some(language), tags: self.tags.len(), extract })
    }

    /// For a redelivered article ([`Outcome::seen_before`]): the current records of the events it
    /// reported, as updates — the service re-publishes them, since the first publication may
    /// not have been acknowledged, and never announces a known event as created twice.
    pub fn replay_records<'a>(&'a self, outcome: &'a Outcome) -> impl Iterator<Item = EventRecord<'a>> + 'a {
        outcome.replay.iter().filter_map(move |id| {
            self.deduper.event(id).map(|event| EventRecord {
                event,
                status: crate::dedup::Status::Updated,
                dict: self.tagger.dictionary(),
            })
        })
    }

    /// The tags of the last article processed.
    pub fn last_tags(&self) -> &[Tag] {
        &self.tags
    }

    pub fn tagger(&self) -> &Arc<Tagger> {
        &self.tagger
    }

    /// The records an outcome announces, in order.
    pub fn records<'a>(&'a self, outcome: &'a Outcome) -> impl Iterator<Item = EventRecord<'a>> + 'a {
        outcome.records.iter().filter_map(move |(id, status)| {
            self.deduper.event(id).map(|event| EventRecord { event, status: *status, dict: self.tagger.dictionary() })
        })
    }
}
