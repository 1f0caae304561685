//! Stage 2, dedup: consume the repartition topic; per partition, restore the dedup state from the
//! changelog on first use, deduplicate the events the articles stage routed to the partition
//! (header `lexwire.analysis`), and publish event records (keyed by `event_id`) and the state
//! changes. A message without that header (written by a lexwire before routing by event), or
//! analysed with another dictionary version than this stage serves (around a reload), is tagged
//! and extracted here, within the article's time budget, keeping the events routed to its key.
//!
//! Guarantees: an article's state changes are written before its event records (see
//! [`super::producer`]); an article analysed here over its time budget is dead-lettered
//! (`timeout`) and the partition goes on; a dictionary the stage cannot apply stops the service
//! without committing.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::message::BorrowedMessage;
use tracing::{debug, warn};

use super::articles_stage::{Routed, routes};
use super::changelog::{self, restore_consumer, restore_partition};
use super::consumer::new_consumer;
use super::records::{Origin, Output, OutputKind, dead_letter, forwarded_source, headers};
use super::stage::{run_stage, skip_tombstone};
use super::{ServiceError, Shared, budget, kafka};
use crate::article::{Article, decode_json};
use crate::dedup::{Deduper, Status};
use crate::dictionary::Dictionary;
use crate::engine::Analysis;
use crate::engine::Engine;
use crate::extract::dates::parse_published;

/// Stage 2: per repartition partition, restore state, process, publish records and changes.
pub(super) async fn run(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let k = &shared.config.kafka;
    let states: Arc<Mutex<HashMap<i32, Deduper>>> = Arc::default();
    let (consumer, tracker) = new_consumer(&shared, "dedup", &format!("{}.dedup", k.group_id), states.clone())?;
    consumer.subscribe(&[&k.repartition_topic]).map_err(kafka("subscribe to the repartition topic"))?;
    let s = shared.clone();
    let restorer = restore_consumer(&shared)?;
    let mut engine = Engine::new(shared.tagger(), shared.config.dedup_config()).map_err(ServiceError::Dictionary)?;
    let mut analyzer = budget::Analyzer::spawn();
    let article_budget = Duration::from_millis(shared.config.pipeline.article_timeout_ms);
    let mut generation = shared.tagger_generation.load(Ordering::SeqCst);
    let mut last_estimate = Instant::now() - Duration::from_secs(60);
    let mut warned_future_date = false;
    let mut handler = move |m: &BorrowedMessage<'_>| -> Option<Vec<Output>> {
        let metrics = &s.metrics;
        let current = s.tagger_generation.load(Ordering::SeqCst);
        if current != generation {
            match engine.set_tagger(s.tagger()) {
                Ok(()) => generation = current,
                Err(e) => {
                    // The reloader checked it ([`check_stages`]): the articles stage already routes
                    // with it, and the stages must not serve two dictionaries. Stop; the message is
                    // not committed.
                    s.fail(ServiceError::Dictionary(format!("the dedup stage cannot apply the new dictionary: {e}")));
                    return None;
                }
            }
        }
        if skip_tombstone(&s, m) {
            return Some(Vec::new());
        }
        let partition = m.partition();
        let mut states = states.lock().expect("states");
        if let std::collections::hash_map::Entry::Vacant(slot) = states.entry(partition) {
            let restored = tokio::task::block_in_place(|| restore_partition(&s, &restorer, partition));
            match restored {
                Ok(d) => {
                    slot.insert(d);
                }
                // Stopping: the message is not committed and comes back.
                Err(ServiceError::Interrupted) => return None,
                Err(e) => {
                    // Without its state a partition would re-announce known events: the process
                    // stops and fails.
                    s.fail(ServiceError::Other(format!(
                        "cannot restore the dedup state of partition {partition}: {e}"
                    )));
                    return None;
                }
            }
        }
        let state = states.get_mut(&partition).expect("restored above");
        std::mem::swap(engine.deduper_mut(), state);
        let mut buf = m.payload().unwrap_or_default().to_vec();
        let mut outputs = Vec::new();
        // A dead letter of this message carries the input message's coordinates when stage 1
        // forwarded them, else the repartition topic's.
        let mut source = forwarded_source(m);
        if source.is_empty() {
            source = vec![
                (headers::SOURCE_TOPIC, m.topic().as_bytes().to_vec()),
                (headers::SOURCE_PARTITION, partition.to_string().into_bytes()),
                (headers::SOURCE_OFFSET, m.offset().to_string().into_bytes()),
            ];
        }
        let origin = Arc::new(Origin::of(m, source, engine.dictionary().version()));
        match decode_json(&mut buf) {
            Err(e) => {
                // Stage 1 wrote this message; it can only be bad if someone else wrote to the topic.
                let class = e.class.as_str();
                metrics.articles_failed.with_label_values(&[class]).inc();
                outputs.push(dead_letter(&s, &origin, class, &e.message));
            }
            Ok(article) => {
                debug!(partition, offset = m.offset(), id = %article.id, "dedup stage: article");
                let started = Instant::now();
                let routed = routed_analysis(m, &article, engine.dictionary());
                // Counted once per article, by the first of its copies.
                let first_copy = routed.as_ref().is_none_or(|(_, part)| *part == 0);
                let job = budget::Job {
                    tagger: engine.tagger().clone(),
                    extractor: engine.extractor().clone(),
                    id: article.id.to_string(),
                    text: article.text.to_string(),
                    language: article.language.as_deref().map(str::to_string),
                    published_at: article.published_at.as_deref().map(str::to_string),
                };
                let analysed = match routed {
                    Some((analysis, _)) => Ok(analysis),
                    None => analyzer.run(job, article_budget).map(|a| own_share(m, engine.dictionary(), a)),
                };
                // Received when the message was written; an article whose publication time is that
                // timestamp (a plain-text message) has no date of its own, and ages by receipt.
                let received = m.timestamp().to_millis().and_then(chrono::DateTime::from_timestamp_millis);
                engine.set_received(received.map(|t| t.date_naive()));
                let dated_by_receipt =
                    received.is_some_and(|t| article.published_at.as_deref() == Some(t.to_rfc3339().as_str()));
                let processed = analysed.map(|mut a| {
                    if dated_by_receipt {
                        a.published = None;
                    }
                    let outcome = engine.deduplicate(&article, &a);
                    (a, outcome)
                });
                if let Ok((_, outcome)) = &processed {
                    debug!(partition, offset = m.offset(), id = %article.id, records = ?outcome.records, replay = ?outcome.replay, seen = outcome.seen_before, "dedup outcome");
                }
                metrics.stage_seconds.with_label_values(&["process"]).observe(started.elapsed().as_secs_f64());
                if first_copy {
                    metrics.articles_processed.inc();
                }
                match processed {
                    Err(budget::Failed::TooLarge(e)) => {
                        metrics.articles_failed.with_label_values(&["oversize"]).inc();
                        warn!(error = %e, "article too large to process");
                    }
                    Err(budget::Failed::Timeout) => {
                        // The worker is given up (it ends on its own); the next article gets a new one.
                        analyzer = budget::Analyzer::spawn();
                        let message = format!(
                            "tagging and extraction took longer than pipeline.article_timeout_ms ({} ms)",
                            article_budget.as_millis()
                        );
                        metrics.articles_failed.with_label_values(&["timeout"]).inc();
                        warn!(partition, offset = m.offset(), id = %article.id, "{message}: dead letter");
                        outputs.push(dead_letter(&s, &origin, "timeout", &message));
                    }
                    Ok((analysis, outcome)) => {
                        for tag in analysis.tags.iter().filter(|t| !t.is_internal()) {
                            metrics.tags.with_label_values(&[tag.kind.as_str()]).inc();
                        }
                        if outcome.seen_before || outcome.duplicate_of.is_some() {
                            metrics.duplicates.with_label_values(&["article"]).inc();
                        }
                        metrics.duplicates.with_label_values(&["event"]).inc_by(outcome.duplicates as u64);
                        metrics.duplicates.with_label_values(&["linked"]).inc_by(outcome.linked as u64);
                        if outcome.future_date {
                            metrics.future_dates.inc();
                            // A producer with a bad clock dates every message wrong: one warning,
                            // then the counter.
                            if !warned_future_date {
                                warned_future_date = true;
                                warn!(partition, offset = m.offset(), id = %article.id, published_at = ?article.published_at, "published_at is later than the message timestamp allows: the timestamp stands for it (further ones are counted in lexwire_future_dates_total, not logged)");
                            } else {
                                debug!(partition, offset = m.offset(), id = %article.id, published_at = ?article.published_at, "published_at later than the message timestamp allows");
                            }
                        }
                        let started = Instant::now();
                        let mut cause = vec![(headers::ARTICLE_ID, article.id.as_bytes().to_vec())];
                        cause.extend(forwarded_source(m));
                        for record in engine.records(&outcome).chain(engine.replay_records(&outcome)) {
                            let status = if record.status == Status::Created { "created" } else { "updated" };
                            metrics.events.with_label_values(&[status, record.event.family()]).inc();
                            let mut json = Vec::with_capacity(2048);
                            record.write_json(&mut json).expect("records serialize");
                            if s.config.pipeline.print_events {
                                println!("{}", String::from_utf8_lossy(&json));
                            }
                            outputs.push(Output {
                                topic: s.config.kafka.events_topic.clone(),
                                partition: None,
                                key: Some(record.event.event_id.to_string().into_bytes()),
                                payload: Some(json),
                                headers: cause.clone(),
                                timestamp: None,
                                kind: OutputKind::Event,
                                class: None,
                                origin: Some(origin.clone()),
                            });
                        }
                        metrics.stage_seconds.with_label_values(&["encode"]).observe(started.elapsed().as_secs_f64());
                    }
                }
            }
        }
        let changes = engine.deduper_mut().take_changes();
        outputs.extend(changelog::records(&s.config, partition, changes, &origin));
        std::mem::swap(engine.deduper_mut(), state);
        let (events, articles) =
            states.values().fold((0, 0), |(e, a), d| (e + d.live_events(), a + d.remembered_articles()));
        metrics.dedup_events.set(events as i64);
        metrics.dedup_articles.set(articles as i64);
        // The memory estimate walks a sample of the state: once a second at most.
        if last_estimate.elapsed() > Duration::from_secs(1) {
            last_estimate = Instant::now();
            let bytes: usize = states.values().map(|d| d.memory_estimate_sampled(1024)).sum();
            metrics.dedup_state_bytes.set(bytes as i64);
        }
        Some(outputs)
    };
    run_stage(shared, consumer, tracker, &mut handler).await
}

/// The analysis the articles stage sent with this copy of the article (header
/// [`headers::ANALYSIS`]), with the copy's place among the article's copies — `None` when there
/// is none to use: a message from a lexwire before routing by event, or one analysed with
/// another dictionary version than this stage serves (around a reload: its entry ids would mean
/// other entries here). The caller then tags and extracts the article itself.
fn routed_analysis(m: &BorrowedMessage<'_>, article: &Article<'_>, dict: &Dictionary) -> Option<(Analysis, usize)> {
    use rdkafka::message::Headers;
    let value = m.headers()?.iter().find(|h| h.key == headers::ANALYSIS)?.value?;
    let routed: Routed = match serde_json::from_slice(value) {
        Ok(r) => r,
        Err(e) => {
            warn!(partition = m.partition(), offset = m.offset(), error = %e, "unreadable lexwire.analysis header: analysing the article here");
            return None;
        }
    };
    if routed.dictionary_version != dict.version() {
        debug!(
            partition = m.partition(),
            offset = m.offset(),
            "analysed with another dictionary version: analysing it again"
        );
        return None;
    }
    let analysis = Analysis {
        tags: Vec::new(),
        candidates: routed.candidates,
        language: routed.language,
        published: article.published_at.as_deref().and_then(parse_published),
        sketch: routed.sketch,
        extract: Default::default(),
    };
    Some((analysis, routed.part))
}

/// The events of an article analysed here that belong to this copy: those routed to its key,
/// when the articles stage routed it by event ([`routes`]); all of them for a message from a
/// lexwire before routing by event (no analysis header).
fn own_share(m: &BorrowedMessage<'_>, dict: &Dictionary, analysis: Analysis) -> Analysis {
    use rdkafka::message::Headers;
    let routed_by_event = m.headers().is_some_and(|h| h.iter().any(|h| h.key == headers::ANALYSIS));
    if !routed_by_event {
        return analysis;
    }
    let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
    // The tags stay for the metrics; the events are those of this key.
    let (tags, published, extract) = (analysis.tags.clone(), analysis.published, analysis.extract);
    let mut shares = routes(dict, analysis);
    let (sketch, language, candidates) = match shares.remove(&key) {
        Some(share) => share,
        // None of its events is this key's any more under this dictionary: the article only.
        None => {
            let (sketch, language, _) = shares.into_values().next().expect("routes gives at least one key");
            (sketch, language, Vec::new())
        }
    };
    Analysis { tags, candidates, language, published, sketch, extract }
}
