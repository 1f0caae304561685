//! Stage 1, articles: consume the input topics, decode each message, dead-letter what is not an
//! article (with headers saying why), tag and extract it — within the article's time budget —
//! and send each event it reports to the dedup partition of the event's own governorate: the
//! article goes to the repartition topic once per governorate its events happen in, each copy
//! with those events ([`Routed`], header `lexwire.analysis`). So the reports of one event meet in
//! one dedup partition whatever the rest of their articles are about, and no article is tagged
//! twice.
//!
//! Guarantees: every input message yields at least one output (repartitioned copies of the
//! article, or a dead letter) or is skipped and counted (a tombstone, an article too large to
//! tag); no output exceeds the record limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::message::BorrowedMessage;
use tracing::warn;

use super::consumer::new_consumer;
use super::records::{Origin, Output, OutputKind, dead_letter, headers, record_limit, record_size};
use super::stage::{run_stage, skip_tombstone};
use super::{ServiceError, Shared, budget, kafka};
use crate::article::{Envelope, decode};
use crate::dedup::minhash::Sketch;
use crate::dictionary::{Dictionary, EntryKind, Lang};
use crate::engine::Analysis;
use crate::extract::{Candidate, Extractor};
use crate::tag::Tag;

/// What the articles stage found in an article, for the dedup stage: the events of one
/// governorate, and what deduplication needs besides the article (header
/// [`headers::ANALYSIS`], JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Routed {
    /// The dictionary the candidates were extracted with: their entry ids and event types are
    /// indices into it.
    pub(super) dictionary_version: String,
    pub(super) language: Lang,
    /// The article's tag sketch (the near-duplicate article check).
    pub(super) sketch: Sketch,
    /// This copy's place among the article's copies (one per governorate).
    pub(super) part: usize,
    pub(super) parts: usize,
    pub(super) candidates: Vec<Candidate>,
}

/// Caps on values copied from an article into records and headers (event sources, the
/// `lexwire.article.id` header): an article over one is dead-lettered (`invalid_article`).
pub(super) const COPIED_FIELD_CAPS: [(&str, usize); 5] =
    [("id", 1024), ("url", 8192), ("source", 1024), ("language", 64), ("published_at", 64)];

/// Stage 1: decode, dead-letter what is not an article, re-key articles by governorate.
pub(super) async fn run(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let k = &shared.config.kafka;
    let (consumer, tracker) = new_consumer(&shared, "articles", &k.group_id, Arc::default())?;
    let topics: Vec<&str> = k.input_topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(kafka("subscribe to the input topics"))?;
    let s = shared.clone();
    let mut analyzer = budget::Analyzer::spawn();
    let article_budget = Duration::from_millis(shared.config.pipeline.article_timeout_ms);
    let mut extractor: Option<(u64, Arc<Extractor>)> = None;
    let mut handler = move |m: &BorrowedMessage<'_>| -> Option<Vec<Output>> {
        let metrics = &s.metrics;
        metrics.articles_consumed.inc();
        if skip_tombstone(&s, m) {
            return Some(Vec::new());
        }
        let payload = m.payload().unwrap_or_default();
        metrics.consumed_bytes.inc_by(payload.len() as u64);
        let started = Instant::now();
        let key = m.key().and_then(|k| std::str::from_utf8(k).ok());
        let published_at =
            m.timestamp().to_millis().and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339());
        let envelope = Envelope { id: key, published_at };
        let mut buf = payload.to_vec();
        let tagger = s.tagger();
        let source = vec![
            (headers::SOURCE_TOPIC, m.topic().as_bytes().to_vec()),
            (headers::SOURCE_PARTITION, m.partition().to_string().into_bytes()),
            (headers::SOURCE_OFFSET, m.offset().to_string().into_bytes()),
        ];
        let origin = Arc::new(Origin::of(m, source.clone(), tagger.dictionary().version()));
        let reject = |class: &'static str, message: &str| {
            metrics.articles_failed.with_label_values(&[class]).inc();
            warn!(class, topic = m.topic(), partition = m.partition(), offset = m.offset(), error = %message, "dead letter");
            Some(vec![dead_letter(&s, &origin, class, message)])
        };
        let decoded = decode(&mut buf, &envelope, s.config.pipeline.max_article_bytes);
        metrics.stage_seconds.with_label_values(&["decode"]).observe(started.elapsed().as_secs_f64());
        let article = match decoded {
            Err(e) => return reject(e.class.as_str(), &e.message),
            Ok(article) => article,
        };
        if let Some(message) = over_cap(&article) {
            return reject("invalid_article", &message);
        }
        // The extractor of the serving dictionary (checked at start and at every reload).
        let generation = s.tagger_generation.load(Ordering::SeqCst);
        if extractor.as_ref().is_none_or(|(g, _)| *g != generation) {
            match Extractor::new(tagger.dictionary().clone()) {
                Ok(e) => extractor = Some((generation, Arc::new(e))),
                Err(e) => {
                    s.fail(ServiceError::Dictionary(format!(
                        "the articles stage cannot extract with the dictionary: {e}"
                    )));
                    return None;
                }
            }
        }
        let started = Instant::now();
        let job = budget::Job {
            tagger: tagger.clone(),
            extractor: extractor.as_ref().expect("built above").1.clone(),
            id: article.id.to_string(),
            text: article.text.to_string(),
            language: article.language.as_deref().map(str::to_string),
            published_at: article.published_at.as_deref().map(str::to_string),
        };
        let analysis = match analyzer.run(job, article_budget) {
            Ok(analysis) => analysis,
            Err(budget::Failed::TooLarge(e)) => {
                metrics.articles_failed.with_label_values(&["oversize"]).inc();
                warn!(error = %e, "article too large to process");
                return Some(Vec::new());
            }
            Err(budget::Failed::Timeout) => {
                // The worker is given up (it ends on its own); the next article gets a new one.
                analyzer = budget::Analyzer::spawn();
                let message = format!(
                    "tagging and extraction took longer than pipeline.article_timeout_ms ({} ms)",
                    article_budget.as_millis()
                );
                return reject("timeout", &message);
            }
        };
        metrics.stage_seconds.with_label_values(&["process"]).observe(started.elapsed().as_secs_f64());
        for tag in analysis.tags.iter().filter(|t| !t.is_internal()) {
            metrics.tags.with_label_values(&[tag.kind.as_str()]).inc();
        }
        let started = Instant::now();
        let canonical = serde_json::to_vec(&serde_json::json!({
            "id": article.id, "url": article.url, "source": article.source, "language": article.language,
            "published_at": article.published_at, "title": article.title, "text": article.text,
        }))
        .expect("an article serializes");
        let dict = tagger.dictionary();
        let routes = routes(dict, analysis);
        let parts = routes.len();
        let mut outputs = Vec::with_capacity(parts);
        for (part, (key, (sketch, language, candidates))) in routes.into_iter().enumerate() {
            let routed =
                Routed { dictionary_version: dict.version().to_string(), language, sketch, part, parts, candidates };
            let mut headers = source.clone();
            headers.push((headers::ANALYSIS, serde_json::to_vec(&routed).expect("an analysis serializes")));
            outputs.push(Output {
                topic: s.config.kafka.repartition_topic.clone(),
                partition: None,
                key: Some(key.into_bytes()),
                payload: Some(canonical.clone()),
                headers,
                timestamp: m.timestamp().to_millis(),
                kind: OutputKind::Repartition,
                class: None,
                origin: Some(origin.clone()),
            });
        }
        metrics.stage_seconds.with_label_values(&["route"]).observe(started.elapsed().as_secs_f64());
        let limit = record_limit(&s.config);
        if let Some(size) = outputs.iter().map(record_size).find(|size| *size > limit) {
            // JSON escapes a control character in six bytes: a plain-text message of them
            // grows sixfold on the way to the repartition topic.
            let message = format!(
                "the article is {size} bytes once re-encoded as JSON with its events for the repartition topic, over the record limit of {limit} bytes",
            );
            return reject("oversize", &message);
        }
        Some(outputs)
    };
    run_stage(shared, consumer, tracker, &mut handler).await
}

/// Why `article` cannot be copied into records and headers: a field over its cap
/// ([`COPIED_FIELD_CAPS`]), named with its size.
pub(super) fn over_cap(article: &crate::article::Article<'_>) -> Option<String> {
    COPIED_FIELD_CAPS.iter().find_map(|(field, cap)| {
        let value = match *field {
            "id" => Some(article.id.as_ref()),
            "url" => article.url.as_deref(),
            "source" => article.source.as_deref(),
            "language" => article.language.as_deref(),
            _ => article.published_at.as_deref(),
        }?;
        (value.len() > *cap).then(|| {
            format!(
                "field `{field}` is {} bytes, over the {cap}-byte limit of a value copied into event records and headers",
                value.len()
            )
        })
    })
}

/// Where an article's events go: the repartition key of each governorate its events happen in,
/// with those events (and the article's sketch and language, which every copy carries).
///
/// An event goes to the governorate (admin1) of its own place — the most specific place its
/// sentences name. An event without a place the gazetteer knows goes with its article, to
/// [`article_key`]. An article without events is sent once, to [`article_key`], so that the
/// dedup state remembers it (a later article can be its republication). On a border, the place
/// the report pins the event to decides: two reports that pin one event on either side of a
/// governorate border reach two partitions.
pub(super) fn routes(dict: &Dictionary, analysis: Analysis) -> BTreeMap<String, (Sketch, Lang, Vec<Candidate>)> {
    let article = article_key(dict, &analysis.tags);
    let mut out: BTreeMap<String, (Sketch, Lang, Vec<Candidate>)> = BTreeMap::new();
    let Analysis { candidates, sketch, language, .. } = analysis;
    if candidates.is_empty() {
        out.insert(article, (sketch, language, Vec::new()));
        return out;
    }
    for candidate in candidates {
        let key = candidate
            .location
            .and_then(|p| dict.entry(p.entry).place())
            .and_then(|p| p.admin1.clone())
            .unwrap_or_else(|| article.clone());
        out.entry(key).or_insert_with(|| (sketch, language, Vec::new())).2.push(candidate);
    }
    out
}

/// The repartition key of an article as a whole: the governorate (admin1) its place tags name
/// most, ties to the smallest code; `none` without places.
pub fn article_key(dict: &Dictionary, tags: &[Tag]) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for tag in tags.iter().filter(|t| t.kind == EntryKind::Place && !t.is_internal()) {
        if let Some(admin1) = tag.entry.and_then(|e| dict.entry(e).place()).and_then(|p| p.admin1.as_deref()) {
            *counts.entry(admin1).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or_else(|| "none".into(), |(k, _)| k.to_string())
}
