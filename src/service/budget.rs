//! The time budget per article: tagging and extraction (pure, and the slow part of an article)
//! run on a worker thread the stage — the articles stage, or the dedup stage for a message it
//! must analyse itself — waits for at most `pipeline.article_timeout_ms`.
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

use crate::engine::Analysis;
#[cfg(doc)]
use crate::engine::Engine;
use crate::extract::Extractor;
use crate::normalize::TextTooLarge;
use crate::tag::{Scratch, Tagger};

/// An article as the worker needs it (owned: the worker may outlive the message).
pub struct Job {
    pub tagger: Arc<Tagger>,
    pub extractor: Arc<Extractor>,
    pub id: String,
    pub text: String,
    pub language: Option<String>,
    pub published_at: Option<String>,
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

/// Tags and extracts with [`crate::engine::analyze`], as [`Engine::process`] does before it
/// deduplicates (the stage then calls [`Engine::deduplicate`]).
fn analyze(job: &Job, scratch: &mut Scratch) -> Result<Analysis, TextTooLarge> {
    test_hook::slow(&job.id);
    let mut analysis = Analysis::default();
    crate::engine::analyze(
        &job.tagger,
        &job.extractor,
        &job.text,
        job.language.as_deref(),
        job.published_at.as_deref(),
        scratch,
        &mut analysis,
    )?;
    Ok(analysis)
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
