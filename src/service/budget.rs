//! The dedup stage's time budget per article: tagging and extraction (pure, and the slow part of
//! an article) run on a worker thread the stage waits for at most `pipeline.article_timeout_ms`.
//! Past it the stage gives the worker up — it finishes on its own and its result is dropped — and
//! starts a new one for the next article; the article goes to the dead-letter topic (`timeout`).
//! Deduplication, which changes the state, stays on the stage's side: an article given up on
//! leaves no trace in the state, and the partition never waits longer than the budget, so a slow
//! article cannot outlast `max.poll.interval.ms` and come back forever.
//!
//! Extraction offers no cooperative deadline, so a worker given up on keeps its core until its
//! article is done (bounded: extraction is linear in the text, the text bounded by
//! `pipeline.max_article_bytes`).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use chrono::NaiveDate;

use crate::dedup::{ArticleMeta, Outcome, tag_sketch};
use crate::dictionary::Lang;
use crate::engine::Engine;
use crate::extract::dates::parse_published;
use crate::extract::{ArticleContext, Candidate, Extractor};
use crate::normalize::TextTooLarge;
use crate::tag::{Scratch, Tag, Tagger};

/// An article as the worker needs it (owned: the worker may outlive the message).
pub struct Job {
    pub tagger: Arc<Tagger>,
    pub extractor: Arc<Extractor>,
    pub id: String,
    pub text: String,
    pub language: Option<String>,
    pub published_at: Option<String>,
}

/// What tagging and extraction found.
pub struct Analysis {
    pub tags: Vec<Tag>,
    pub candidates: Vec<Candidate>,
    pub language: Lang,
    pub published: Option<NaiveDate>,
    pub sketch: crate::dedup::minhash::Sketch,
}

/// Why an article has no analysis.
pub enum Failed {
    TooLarge(TextTooLarge),
    /// Over the budget: the worker was given up.
    Timeout,
}

/// One worker thread and its channels.
pub struct Analyzer {
    jobs: Sender<Job>,
    results: Receiver<Result<Analysis, TextTooLarge>>,
}

impl Analyzer {
    pub fn spawn() -> Analyzer {
        let (jobs, inbox) = channel::<Job>();
        let (outbox, results) = channel();
        std::thread::Builder::new()
            .name("lexwire-analyze".into())
            .spawn(move || {
                let mut scratch = Scratch::new();
                // Ends when the stage drops the analyzer (shutdown, or giving this worker up).
                while let Ok(job) = inbox.recv() {
                    if outbox.send(analyze(&job, &mut scratch)).is_err() {
                        break;
                    }
                }
            })
            .expect("a thread");
        Analyzer { jobs, results }
    }

    /// Runs `job` within `budget`. On [`Failed::Timeout`] this analyzer is spent: the caller
    /// replaces it.
    pub fn run(&self, job: Job, budget: Duration) -> Result<Analysis, Failed> {
        if self.jobs.send(job).is_err() {
            return Err(Failed::Timeout);
        }
        match self.results.recv_timeout(budget) {
            Ok(result) => result.map_err(Failed::TooLarge),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Err(Failed::Timeout),
        }
    }
}

/// Tags and extracts, as [`Engine::process`] does before it deduplicates.
fn analyze(job: &Job, scratch: &mut Scratch) -> Result<Analysis, TextTooLarge> {
    test_hook::slow(&job.id);
    let mut tags = Vec::new();
    let declared = job.language.as_deref().and_then(Lang::parse);
    let language = job.tagger.tag_into(&job.text, declared, scratch, &mut tags)?;
    let published = job.published_at.as_deref().and_then(parse_published);
    let mut candidates = Vec::new();
    job.extractor.extract(&ArticleContext { text: &job.text, tags: &tags, language, published }, &mut candidates);
    let sketch = tag_sketch(job.tagger.dictionary(), &tags);
    Ok(Analysis { tags, candidates, language, published, sketch })
}

/// Deduplicates an analysed article in `engine`'s state, as [`Engine::process`] does after
/// extraction.
pub fn deduplicate(engine: &mut Engine, article: &crate::article::Article<'_>, analysis: &Analysis) -> Outcome {
    let meta = ArticleMeta {
        id: &article.id,
        url: article.url.as_deref(),
        source: article.source.as_deref(),
        language: analysis.language,
        published_at: article.published_at.as_deref(),
        published: analysis.published,
        text: &article.text,
        sketch: &analysis.sketch,
    };
    let dict = engine.dictionary().clone();
    engine.deduper_mut().process(&dict, &meta, &analysis.candidates)
}

/// A slow article on demand, for the tests of the budget: debug builds only, and only for
/// article ids containing `slow` while `LEXWIRE_TEST_SLOW_ARTICLE_MS` is set.
mod test_hook {
    #[cfg(debug_assertions)]
    pub fn slow(id: &str) {
        use std::sync::OnceLock;
        static DELAY: OnceLock<Option<u64>> = OnceLock::new();
        let delay = DELAY.get_or_init(|| std::env::var("LEXWIRE_TEST_SLOW_ARTICLE_MS").ok()?.parse().ok());
        if let Some(ms) = delay
            && id.contains("slow")
        {
            std::thread::sleep(std::time::Duration::from_millis(*ms));
        }
    }

    #[cfg(not(debug_assertions))]
    pub fn slow(_: &str) {}
}
