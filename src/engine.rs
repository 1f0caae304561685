//! The offline path of one article, shared by `lexwire tag --events` and the service's workers:
//! tag, extract, deduplicate. Synchronous and pure (no I/O, no clock); the caller decodes the
//! message and encodes the records.

use std::sync::Arc;

use crate::article::Article;
use chrono::NaiveDate;

use crate::dedup::minhash::Sketch;
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

/// What tagging and extraction found in one article: the pure part of processing, which may
/// run apart from the dedup state (the service runs it on a worker thread within a time budget).
#[derive(Debug, Clone)]
pub struct Analysis {
    pub tags: Vec<Tag>,
    pub candidates: Vec<Candidate>,
    pub language: Lang,
    pub published: Option<NaiveDate>,
    pub sketch: Sketch,
    pub extract: ExtractStats,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            tags: Vec::new(),
            candidates: Vec::new(),
            language: Lang::En,
            published: None,
            sketch: Sketch::default(),
            extract: ExtractStats::default(),
        }
    }
}

/// Tags and extracts one article's text into `into` (its buffers reused).
///
/// # Errors
/// [`TextTooLarge`] for a text beyond what the offset map addresses.
pub fn analyze(
    tagger: &Tagger,
    extractor: &Extractor,
    text: &str,
    language: Option<&str>,
    published_at: Option<&str>,
    scratch: &mut Scratch,
    into: &mut Analysis,
) -> Result<(), TextTooLarge> {
    let declared = language.and_then(Lang::parse);
    into.language = tagger.tag_into(text, declared, scratch, &mut into.tags)?;
    into.published = published_at.and_then(parse_published);
    into.candidates.clear();
    into.extract = extractor.extract(
        &ArticleContext { text, tags: &into.tags, language: into.language, published: into.published },
        &mut into.candidates,
    );
    into.sketch = tag_sketch(tagger.dictionary(), &into.tags);
    Ok(())
}

/// Tagger, extractor and deduper, with their buffers.
#[derive(Debug)]
pub struct Engine {
    tagger: Arc<Tagger>,
    extractor: Arc<Extractor>,
    deduper: Deduper,
    scratch: Scratch,
    analysis: Analysis,
    /// The day the articles being processed were received ([`Engine::set_received`]).
    received: Option<NaiveDate>,
}

impl Engine {
    /// # Errors
    /// When the dictionary's taxonomy lacks an event type extraction needs.
    pub fn new(tagger: Arc<Tagger>, config: DedupConfig) -> Result<Engine, String> {
        let extractor = Arc::new(Extractor::new(tagger.dictionary().clone())?);
        Ok(Engine {
            tagger,
            extractor,
            deduper: Deduper::new(config),
            scratch: Scratch::new(),
            analysis: Analysis::default(),
            received: None,
        })
    }

    /// Swaps in a new dictionary and automaton (a hot reload); the dedup state stays.
    ///
    /// # Errors
    /// As [`Engine::new`].
    pub fn set_tagger(&mut self, tagger: Arc<Tagger>) -> Result<(), String> {
        self.extractor = Arc::new(Extractor::new(tagger.dictionary().clone())?);
        self.tagger = tagger;
        Ok(())
    }

    /// The day the next articles were received (the message's timestamp, or the clock): dedup
    /// believes no publication date later than it by more than `max_future_days`, and ages
    /// undated articles by it. `None` (the default): publication dates only.
    pub fn set_received(&mut self, day: Option<NaiveDate>) {
        self.received = day;
    }

    pub fn dictionary(&self) -> &Arc<Dictionary> {
        self.tagger.dictionary()
    }

    /// The extractor of the current dictionary, to [`analyze`] with elsewhere.
    pub fn extractor(&self) -> &Arc<Extractor> {
        &self.extractor
    }

    pub fn deduper(&self) -> &Deduper {
        &self.deduper
    }

    pub fn deduper_mut(&mut self) -> &mut Deduper {
        &mut self.deduper
    }

    /// Tags, extracts and deduplicates one article: [`analyze`], then [`Engine::deduplicate`].
    ///
    /// # Errors
    /// [`TextTooLarge`] for a text beyond what the offset map addresses.
    pub fn process(&mut self, article: &Article<'_>) -> Result<Processed, TextTooLarge> {
        let mut analysis = std::mem::take(&mut self.analysis);
        let analyzed = analyze(
            &self.tagger,
            &self.extractor,
            &article.text,
            article.language.as_deref(),
            article.published_at.as_deref(),
            &mut self.scratch,
            &mut analysis,
        );
        let processed = analyzed.map(|()| Processed {
            outcome: self.deduplicate(article, &analysis),
            language: Some(analysis.language),
            tags: analysis.tags.len(),
            extract: analysis.extract,
        });
        self.analysis = analysis;
        processed
    }

    /// Deduplicates an article analysed by [`analyze`] in this engine's state.
    pub fn deduplicate(&mut self, article: &Article<'_>, analysis: &Analysis) -> Outcome {
        let meta = ArticleMeta {
            id: &article.id,
            url: article.url.as_deref(),
            source: article.source.as_deref(),
            language: analysis.language,
            published_at: article.published_at.as_deref(),
            published: analysis.published,
            received: self.received,
            text: &article.text,
            sketch: &analysis.sketch,
        };
        self.deduper.process(self.tagger.dictionary(), &meta, &analysis.candidates)
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
        &self.analysis.tags
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
