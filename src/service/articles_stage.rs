//! Stage 1, articles: consume the input topics, decode each message, dead-letter what is not an
//! article (with headers saying why), and re-key each article by its governorate to the
//! repartition topic, so that the reports of one place meet in one dedup partition.
//!
//! Guarantees: every input message yields exactly one output (a repartitioned article or a dead
//! letter) or is skipped and counted (a tombstone); no output exceeds the record limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::message::BorrowedMessage;
use tracing::warn;

use super::consumer::new_consumer;
use super::records::{Origin, Output, OutputKind, dead_letter, headers, record_limit, record_size};
use super::stage::{run_stage, skip_tombstone};
use super::{ServiceError, Shared, kafka};
use crate::article::{Envelope, decode};
use crate::dictionary::EntryKind;
use crate::tag::{Scratch, Tagger};

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
    let mut scratch = Scratch::new();
    let s = shared.clone();
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
        let started = Instant::now();
        let route = route_key(&tagger, &article, &mut scratch);
        let canonical = serde_json::to_vec(&serde_json::json!({
            "id": article.id, "url": article.url, "source": article.source, "language": article.language,
            "published_at": article.published_at, "title": article.title, "text": article.text,
        }))
        .expect("an article serializes");
        metrics.stage_seconds.with_label_values(&["route"]).observe(started.elapsed().as_secs_f64());
        let output = Output {
            topic: s.config.kafka.repartition_topic.clone(),
            partition: None,
            key: Some(route.into_bytes()),
            payload: Some(canonical),
            headers: source,
            timestamp: m.timestamp().to_millis(),
            kind: OutputKind::Repartition,
            class: None,
            origin: Some(origin.clone()),
        };
        let limit = record_limit(&s.config);
        if record_size(&output) > limit {
            // JSON escapes a control character in six bytes: a plain-text message of them
            // grows sixfold on the way to the repartition topic.
            let message = format!(
                "the article is {} bytes once re-encoded as JSON for the repartition topic, over the record limit of {limit} bytes",
                record_size(&output)
            );
            return reject("oversize", &message);
        }
        Some(vec![output])
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

/// The repartition key of an article: the governorate (admin1) its place tags name most, ties
/// to the smallest code; `none` without places. Events are deduplicated within a key.
pub fn route_key(tagger: &Tagger, article: &crate::article::Article<'_>, scratch: &mut Scratch) -> String {
    let Ok(tagged) =
        tagger.tag(&article.text, article.language.as_deref().and_then(crate::dictionary::Lang::parse), scratch)
    else {
        return "none".into();
    };
    let dict = tagger.dictionary();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for tag in tagged.tags.iter().filter(|t| t.kind == EntryKind::Place && !t.is_internal()) {
        if let Some(admin1) = tag.entry.and_then(|e| dict.entry(e).place()).and_then(|p| p.admin1.as_deref()) {
            *counts.entry(admin1).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or_else(|| "none".into(), |(k, _)| k.to_string())
}
