//! `lexwire run`: the pipeline service. Two stages in one process, each a consumer group, as in
//! Kafka Streams' repartition pattern:
//!
//! 1. **articles**: consume the input topics; decode; a message that is not an article goes to
//!    the dead-letter topic with headers; an article is re-keyed by its governorate (the admin1
//!    of its dominant place) to the repartition topic.
//! 2. **dedup**: consume the repartition topic; each partition has its own dedup state, restored
//!    from the same partition of the compacted changelog topic when assigned; tag, extract,
//!    deduplicate; publish event records (keyed by `event_id`) and state changes.
//!
//! At-least-once: an input offset is stored for commit only after every record it caused is
//! acknowledged, in partition order ([`offsets::OffsetTracker`]). Deliveries that fail are
//! retried until they succeed or the shutdown deadline passes; what is not acknowledged is not
//! committed and comes back after a restart. Bounded in-flight records: when the producer
//! cannot keep up, the stages stop pulling messages.

pub mod budget;
pub mod config;
pub mod http;
pub mod metrics;
pub mod offsets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::{Semaphore, watch};
use tracing::{debug, error, info, warn};

use crate::article::{Envelope, decode, decode_json};
use crate::dedup::{DedupConfig, Deduper, StateChange, Status};
use crate::dictionary::{Dictionary, DictionaryFiles, EntryKind, LoadOptions};
use crate::engine::Engine;
use crate::matcher::AutomatonKind;
use crate::tag::{Scratch, Tagger};
pub use config::{Config, ConfigError};
use metrics::Metrics;
use offsets::OffsetTracker;

/// `fetch.wait.max.ms` on the embedded broker, which holds an empty fetch for the whole wait.
pub const MOCK_FETCH_WAIT_MS: &str = "5";

/// The sample articles the embedded default loads: the seeds, in date order.
const SAMPLES: &str = include_str!("../../tests/fixtures/articles.jsonl");

/// Header names on dead letters and repartitioned articles.
pub mod headers {
    pub const ERROR_CLASS: &str = "lexwire.error.class";
    pub const ERROR_MESSAGE: &str = "lexwire.error.message";
    pub const SOURCE_TOPIC: &str = "lexwire.source.topic";
    pub const SOURCE_PARTITION: &str = "lexwire.source.partition";
    pub const SOURCE_OFFSET: &str = "lexwire.source.offset";
    pub const LEXWIRE_VERSION: &str = "lexwire.version";
    pub const DICTIONARY_VERSION: &str = "lexwire.dictionary.version";
    /// On event records: the article whose processing published the record.
    pub const ARTICLE_ID: &str = "lexwire.article.id";
    /// On a dead letter whose payload was cut to fit the record limit: the original length.
    pub const PAYLOAD_TRUNCATED: &str = "lexwire.payload.truncated";
    /// On a dead letter whose key was cut: the original length.
    pub const KEY_TRUNCATED: &str = "lexwire.key.truncated";
}

/// Room for a record's key, headers and framing beyond `pipeline.max_article_bytes`.
const RECORD_OVERHEAD: usize = 64 * 1024;
/// librdkafka's per-message framing, counted in `message.max.bytes` on top of what lexwire counts.
const PRODUCER_FRAMING: usize = 4096;
/// Caps on values copied from an article into records and headers (event sources, the
/// `lexwire.article.id` header): an article over one is dead-lettered (`invalid_article`).
const COPIED_FIELD_CAPS: [(&str, usize); 5] =
    [("id", 1024), ("url", 8192), ("source", 1024), ("language", 64), ("published_at", 64)];
/// Cap on a dead letter's key and error message.
const MAX_DEAD_LETTER_KEY: usize = 4096;
const MAX_ERROR_MESSAGE: usize = 1024;

/// The largest record lexwire produces (key, value and headers): `pipeline.max_article_bytes`
/// plus room for the rest, or what `message.max.bytes` in `[kafka.producer]` allows. The
/// producer's `message.max.bytes` and the topics lexwire creates (`max.message.bytes`) accept it.
pub fn record_limit(config: &Config) -> usize {
    match config.kafka.producer.get("message.max.bytes").and_then(|v| v.parse::<usize>().ok()) {
        Some(configured) => configured.saturating_sub(PRODUCER_FRAMING),
        None => config.pipeline.max_article_bytes.saturating_add(RECORD_OVERHEAD),
    }
}

/// `message.max.bytes` / `max.message.bytes` for [`record_limit`], within librdkafka's range.
fn message_max_bytes(config: &Config) -> String {
    record_limit(config).saturating_add(PRODUCER_FRAMING).min(1_000_000_000).to_string()
}

/// The size a record counts against [`record_limit`].
fn record_size(output: &Output) -> usize {
    output.key.as_ref().map_or(0, Vec::len)
        + output.payload.as_ref().map_or(0, Vec::len)
        + output.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
}

/// `bytes` cut to at most `max` bytes, on a UTF-8 boundary when it is text.
fn truncated(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut cut = max;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            &bytes[..cut]
        }
        Err(_) => &bytes[..max],
    }
}

/// The input message a record was made from: what a dead letter of it needs if the broker
/// refuses the record for good.
#[derive(Debug)]
struct Origin {
    key: Option<Vec<u8>>,
    /// `None`: a tombstone.
    payload: Option<Vec<u8>>,
    timestamp: Option<i64>,
    /// `lexwire.source.*` headers: where the message came from.
    source: Vec<(&'static str, Vec<u8>)>,
    dictionary_version: String,
}

impl Origin {
    fn of(m: &BorrowedMessage<'_>, source: Vec<(&'static str, Vec<u8>)>, dictionary_version: &str) -> Origin {
        Origin {
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec),
            timestamp: m.timestamp().to_millis(),
            source,
            dictionary_version: dictionary_version.to_string(),
        }
    }
}

/// The dead letter of `origin`: its key and payload unchanged with headers saying why — cut to
/// fit [`record_limit`] when they do not (a header gives the original length), so that the
/// dead letter itself can always be written.
fn dead_letter(shared: &Shared, origin: &Origin, class: &'static str, message: &str) -> Output {
    let mut headers = origin.source.clone();
    headers.extend([
        (headers::ERROR_CLASS, class.as_bytes().to_vec()),
        (headers::ERROR_MESSAGE, truncated(message.as_bytes(), MAX_ERROR_MESSAGE).to_vec()),
        (headers::LEXWIRE_VERSION, env!("CARGO_PKG_VERSION").as_bytes().to_vec()),
        (headers::DICTIONARY_VERSION, origin.dictionary_version.as_bytes().to_vec()),
    ]);
    let key = origin.key.as_ref().map(|k| {
        if k.len() > MAX_DEAD_LETTER_KEY {
            headers.push((headers::KEY_TRUNCATED, k.len().to_string().into_bytes()));
        }
        k[..k.len().min(MAX_DEAD_LETTER_KEY)].to_vec()
    });
    let mut output = Output {
        topic: shared.config.kafka.dead_letter_topic.clone(),
        partition: None,
        key,
        payload: None,
        headers,
        timestamp: origin.timestamp,
        kind: "dead_letter",
        class: Some(class),
        origin: None,
    };
    if let Some(payload) = &origin.payload {
        // Room for the truncation header too.
        let room = record_limit(&shared.config).saturating_sub(record_size(&output) + 64);
        if payload.len() > room {
            output.headers.push((headers::PAYLOAD_TRUNCATED, payload.len().to_string().into_bytes()));
        }
        output.payload = Some(payload[..payload.len().min(room)].to_vec());
    }
    output
}

/// A produce error no retry can fix: the record is too large or invalid for the broker.
fn permanent_error(e: &KafkaError) -> Option<RDKafkaErrorCode> {
    let code = e.rdkafka_error_code()?;
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::InvalidTimestamp
    )
    .then_some(code)
}

/// The input message's coordinates that stage 1 put on a repartitioned article, to pass on.
fn forwarded_source(m: &BorrowedMessage<'_>) -> Vec<(&'static str, Vec<u8>)> {
    use rdkafka::message::Headers;
    let Some(h) = m.headers() else { return Vec::new() };
    h.iter()
        .filter_map(|h| {
            let key = [headers::SOURCE_TOPIC, headers::SOURCE_PARTITION, headers::SOURCE_OFFSET]
                .into_iter()
                .find(|k| *k == h.key)?;
            Some((key, h.value?.to_vec()))
        })
        .collect()
}

/// Why the service could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("dictionary: {0}")]
    Dictionary(String),
    #[error("kafka: {context}: {source}")]
    Kafka { context: String, source: KafkaError },
    #[error("{0}")]
    Other(String),
    #[error("interrupted by the shutdown")]
    Interrupted,
}

fn kafka(context: impl Into<String>) -> impl FnOnce(KafkaError) -> ServiceError {
    let context = context.into();
    move |source| ServiceError::Kafka { context, source }
}

/// State shared by the stages, the HTTP server and the reloader.
pub struct Shared {
    pub config: Config,
    pub metrics: Metrics,
    pub bootstrap: String,
    producer: FutureProducer,
    tagger: RwLock<Arc<Tagger>>,
    tagger_generation: AtomicU64,
    /// Set when the shutdown deadline has passed: deliveries stop retrying.
    abandon: AtomicBool,
    pub articles_assigned: AtomicBool,
    pub dedup_assigned: AtomicBool,
    pub producer_connected: AtomicBool,
    last_activity_ms: AtomicU64,
    shutdown: watch::Sender<bool>,
    /// When the stop must be over: set once, by the first [`Shared::shutdown`]. Every wait of
    /// the stop (the drain, the flush, the revoke callback of the consumers' close) ends by it.
    stop_deadline: OnceLock<Instant>,
    /// The error that stopped the service, if one did.
    fatal: Mutex<Option<ServiceError>>,
}

impl Shared {
    pub fn tagger(&self) -> Arc<Tagger> {
        self.tagger.read().expect("tagger lock").clone()
    }

    /// Serves a new dictionary from the next message on.
    pub fn swap_tagger(&self, tagger: Arc<Tagger>) {
        let dict = tagger.dictionary();
        self.metrics.set_dictionary(dict.version(), dict.entries().len());
        *self.tagger.write().expect("tagger lock") = tagger;
        self.tagger_generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn ready(&self) -> bool {
        self.articles_assigned.load(Ordering::SeqCst)
            && self.dedup_assigned.load(Ordering::SeqCst)
            && self.producer_connected.load(Ordering::SeqCst)
    }

    /// Whether the service was asked to stop.
    pub fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Asks every task to stop, within `pipeline.shutdown_timeout_secs` from the first call.
    pub fn shutdown(&self) {
        self.stop_deadline.get_or_init(|| deadline_in(Duration::from_secs(self.config.pipeline.shutdown_timeout_secs)));
        // `send` stores nothing while no task has subscribed yet (a stage failing at once).
        self.shutdown.send_replace(true);
    }

    /// The deadline of the stop under way, if one is.
    fn stop_deadline(&self) -> Option<Instant> {
        self.stop_deadline.get().copied()
    }

    /// Stops the service on an error it cannot go on from; the process exits non-zero with it.
    fn fail(&self, e: ServiceError) {
        error!(error = %e, "stopping");
        self.fatal.lock().expect("fatal").get_or_insert(e);
        self.shutdown();
    }

    fn touch(&self) {
        self.last_activity_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// `now + d`, or a day past now for a duration `Instant` cannot hold.
fn deadline_in(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + Duration::from_secs(86_400))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A record to publish, owned so that a failed delivery can be retried.
#[derive(Debug, Clone)]
struct Output {
    topic: String,
    partition: Option<i32>,
    key: Option<Vec<u8>>,
    /// `None`: a tombstone (a forgotten state key).
    payload: Option<Vec<u8>>,
    headers: Vec<(&'static str, Vec<u8>)>,
    timestamp: Option<i64>,
    kind: &'static str,
    /// A dead letter's error class, counted once the broker has it.
    class: Option<&'static str>,
    /// The input message, for a dead letter if the broker refuses this record for good.
    origin: Option<Arc<Origin>>,
}

/// Hands `output` to the producer's queue, waiting while the queue is full. `Err` for an error
/// that is not about space (the caller retries through [`deliver`]).
async fn enqueue(shared: &Shared, output: &Output) -> Result<DeliveryFuture, KafkaError> {
    loop {
        let mut headers = OwnedHeaders::new_with_capacity(output.headers.len());
        for (k, v) in &output.headers {
            headers = headers.insert(Header { key: k, value: Some(v.as_slice()) });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&output.topic).headers(headers);
        if let Some(k) = &output.key {
            record = record.key(k.as_slice());
        }
        if let Some(p) = &output.payload {
            record = record.payload(p.as_slice());
        }
        if let Some(p) = output.partition {
            record = record.partition(p);
        }
        if let Some(t) = output.timestamp {
            record = record.timestamp(t);
        }
        match shared.producer.send_result(record) {
            Ok(future) => return Ok(future),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                if shared.abandon.load(Ordering::SeqCst) {
                    return Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Waits for `first` (an enqueued delivery), then retries `output` until the broker
/// acknowledges it. `false` when the shutdown deadline passed first.
///
/// A permanent error (the record too large or invalid for the broker) is not retried: the
/// input message goes to the dead-letter topic instead, and its acknowledgement stands for the
/// record's; a dead letter refused for good is counted (`lexwire_dead_letters_refused_total`)
/// and logged, and the input offset moves on. Either way `true`: the partition is not stalled.
async fn deliver(shared: &Shared, output: &Output, first: Result<DeliveryFuture, KafkaError>) -> bool {
    let mut backoff = Duration::from_millis(50);
    let mut attempt = first;
    let mut replacement: Option<Output> = None;
    loop {
        let current = replacement.as_ref().unwrap_or(output);
        let error = match attempt {
            // The stop's one deadline bounds the wait for an acknowledgement too (librdkafka may
            // hold a record up to message.timeout.ms): past it the record counts as not
            // delivered, so its input is not committed and comes back.
            Ok(mut future) => {
                let acknowledged = loop {
                    match tokio::time::timeout(Duration::from_millis(100), &mut future).await {
                        Ok(result) => break Some(result),
                        Err(_) if shared.stop_deadline().is_some_and(|d| Instant::now() >= d) => break None,
                        Err(_) => {}
                    }
                };
                let Some(acknowledged) = acknowledged else { return false };
                match acknowledged {
                    Ok(Ok(_)) => {
                        if let Some(class) = current.class {
                            shared.metrics.dead_letters.with_label_values(&[class]).inc();
                        }
                        return true;
                    }
                    Ok(Err((e, _))) => Some(e),
                    Err(_) => {
                        warn!(topic = %current.topic, "delivery canceled; retrying");
                        None
                    }
                }
            }
            Err(e) => Some(e),
        };
        if let Some(e) = error {
            shared.metrics.delivery_errors.with_label_values(&[current.kind]).inc();
            match permanent_error(&e) {
                Some(code) if current.kind == "dead_letter" => {
                    shared.metrics.dead_letters_refused.inc();
                    error!(
                        topic = %current.topic,
                        error = %e,
                        bytes = record_size(current),
                        "the broker refused a dead letter for good ({code:?}); the input offset moves on"
                    );
                    return true;
                }
                Some(code) => {
                    let Some(origin) = &current.origin else {
                        error!(topic = %current.topic, error = %e, "record refused for good and nothing to dead-letter");
                        return true;
                    };
                    let class = if code == RDKafkaErrorCode::InvalidRecord || code == RDKafkaErrorCode::InvalidTimestamp
                    {
                        "rejected"
                    } else {
                        "oversize"
                    };
                    let message = format!(
                        "the broker refused the {} record for {} ({} bytes) for good: {e}",
                        current.kind,
                        current.topic,
                        record_size(current)
                    );
                    warn!(topic = %current.topic, error = %e, class, "record refused for good: dead-lettering its input");
                    let letter = dead_letter(shared, origin, class, &message);
                    attempt = enqueue(shared, &letter).await;
                    replacement = Some(letter);
                    continue;
                }
                None => warn!(topic = %current.topic, error = %e, "delivery failed; retrying"),
            }
        }
        if let Some((code, reason)) = shared.producer.client().fatal_error() {
            // The producer can send nothing more (an idempotence violation): stop; what is not
            // acknowledged is not committed and comes back after the restart.
            shared.fail(ServiceError::Other(format!("producer failed ({code:?}): {reason}")));
            return false;
        }
        if shared.abandon.load(Ordering::SeqCst) {
            return false;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        attempt = enqueue(shared, replacement.as_ref().unwrap_or(output)).await;
    }
}

/// Consumer callbacks: rebalances commit finished work before partitions go; statistics feed
/// the lag gauges.
struct StageContext {
    stage: &'static str,
    shared: Arc<Shared>,
    tracker: Arc<Mutex<OffsetTracker>>,
    /// The dedup stage's state, by repartition partition.
    states: Arc<Mutex<HashMap<i32, Deduper>>>,
}

impl ClientContext for StageContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 && p.fetch_state == "active" {
                    self.shared
                        .metrics
                        .consumer_lag
                        .with_label_values(&[topic, &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for StageContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else { return };
        let revoked: Vec<(String, i32)> =
            tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect();
        // Let the records of the revoked partitions be acknowledged, within the deadline: the
        // stop's own when stopping (the consumer's close revokes everything after the drain,
        // which must not wait a second time), else a fresh one.
        let deadline = self
            .shared
            .stop_deadline()
            .unwrap_or_else(|| deadline_in(Duration::from_secs(self.shared.config.pipeline.shutdown_timeout_secs)));
        let _ = self.shared.producer.flush(deadline.saturating_duration_since(Instant::now()));
        loop {
            let pending = self
                .tracker
                .lock()
                .expect("tracker")
                .in_flight(|t, p| revoked.iter().any(|(rt, rp)| rt == t && *rp == p));
            if pending == 0 || Instant::now() > deadline {
                if pending > 0 {
                    warn!(
                        stage = self.stage,
                        pending, "partitions revoked with records unacknowledged: they will be redelivered"
                    );
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        store_ready(consumer, &self.tracker);
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync)
            && !matches!(e, KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))
        {
            warn!(stage = self.stage, error = %e, "commit on revoke failed");
        }
        let mut tracker = self.tracker.lock().expect("tracker");
        let mut states = self.states.lock().expect("states");
        for (topic, partition) in &revoked {
            tracker.forget(topic, *partition);
            states.remove(partition);
            let _ = self.shared.metrics.consumer_lag.remove_label_values(&[topic, &partition.to_string()]);
        }
        self.flag().store(false, Ordering::SeqCst);
        info!(stage = self.stage, partitions = revoked.len(), "partitions revoked");
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                info!(stage = self.stage, partitions = tpl.count(), "partitions assigned");
                self.flag().store(true, Ordering::SeqCst);
                self.shared.touch();
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => error!(stage = self.stage, error = %e, "rebalance error"),
        }
        let n = consumer.assignment().map_or(0, |a| a.count());
        self.shared.metrics.assigned_partitions.with_label_values(&[self.stage]).set(n as i64);
    }
}

impl StageContext {
    fn flag(&self) -> &AtomicBool {
        if self.stage == "articles" { &self.shared.articles_assigned } else { &self.shared.dedup_assigned }
    }
}

/// Stores the offsets whose work is done; the consumer's auto-commit (and every rebalance and
/// shutdown) commits them.
fn store_ready<C: ConsumerContext>(consumer: &impl Consumer<C>, tracker: &Mutex<OffsetTracker>) {
    let ready = tracker.lock().expect("tracker").take_ready();
    for (topic, partition, offset) in ready {
        debug!(%topic, partition, offset, "offset stored");
        if let Err(e) = consumer.store_offset(&topic, partition, offset - 1) {
            debug!(%topic, partition, error = %e, "cannot store offset (partition revoked?)");
        }
    }
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c.set("client.id", format!("lexwire-{}", env!("CARGO_PKG_VERSION")));
    c
}

fn consumer_config(config: &Config, bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = client_config(bootstrap);
    c.set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", config.metrics.statistics_interval_ms.to_string());
    for (k, v) in &config.kafka.consumer {
        c.set(k, v);
    }
    c
}

fn producer_config(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut c = client_config(bootstrap);
    // Idempotence: retried batches keep their order, so a state change never lands before the
    // one it follows, and a later revision of an event never before an earlier one.
    c.set("linger.ms", "1").set("acks", "all").set("message.timeout.ms", "30000").set("enable.idempotence", "true");
    // librdkafka's default (1,000,000 bytes) is below the largest article: sized from it.
    c.set("message.max.bytes", message_max_bytes(config));
    for (k, v) in &config.kafka.producer {
        c.set(k, v);
    }
    c
}

/// Loads the configured dictionary and builds its automaton.
pub fn load_tagger(config: &Config) -> Result<Tagger, ServiceError> {
    let files = if config.dictionary.dir.is_empty() {
        DictionaryFiles::Bundled
    } else {
        DictionaryFiles::Dir(config.dictionary.dir.clone().into())
    };
    let dict =
        Dictionary::load(&files, &LoadOptions::default()).map_err(|e| ServiceError::Dictionary(e.to_string()))?;
    Tagger::new(Arc::new(dict), AutomatonKind::Dfa).map_err(|e| ServiceError::Dictionary(e.to_string()))
}

/// Whether every stage can run on `tagger`'s dictionary: the articles stage needs the automaton
/// (built), the dedup stage an extractor (the taxonomy codes it refines to). Start-up and every
/// reload check it, so that no stage starts, or switches, on a dictionary another cannot use.
///
/// # Errors
/// [`ServiceError::Dictionary`] naming what is missing.
pub fn check_stages(tagger: &Tagger) -> Result<(), ServiceError> {
    crate::extract::Extractor::new(tagger.dictionary().clone())
        .map(drop)
        .map_err(|e| ServiceError::Dictionary(format!("{e} (the dedup stage cannot run without it)")))
}

/// The article budget must end before the consumers' `max.poll.interval.ms`, or a slow article
/// would still cost the partition (librdkafka's default: 5 minutes).
fn check_article_budget(config: &Config) -> Result<(), ConfigError> {
    let poll = config.kafka.consumer.get("max.poll.interval.ms").and_then(|v| v.parse::<u64>().ok()).unwrap_or(300_000);
    let budget = config.pipeline.article_timeout_ms;
    if budget == 0 || budget >= poll {
        return Err(ConfigError::Invalid(vec![config::InvalidKey {
            key: "pipeline.article_timeout_ms".into(),
            message: format!("{budget}: must be at least 1 and below the consumers' max.poll.interval.ms ({poll})"),
        }]));
    }
    Ok(())
}

/// Waits for a stage to end; a stage that fails or panics stops the service at once, with its
/// error logged and as the exit status — the other stage must not go on consuming alone.
async fn watch_stage(
    shared: Arc<Shared>,
    stage: &'static str,
    task: tokio::task::JoinHandle<Result<(), ServiceError>>,
) -> Result<(), ServiceError> {
    match task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => shared.fail(ServiceError::Other(format!("the {stage} stage failed: {e}"))),
        Err(e) => shared.fail(ServiceError::Other(format!("the {stage} stage panicked: {e}"))),
    }
    Ok(())
}

/// Waits until the brokers answer a metadata request, for `timeout` at most. A warning naming
/// them comes after the first failed attempt (a few seconds), not at the end of the timeout; the
/// error names them too.
async fn reach_brokers(producer: &FutureProducer, bootstrap: &str, timeout: Duration) -> Result<(), ServiceError> {
    const ATTEMPT: Duration = Duration::from_secs(3);
    let started = Instant::now();
    let deadline = deadline_in(timeout);
    loop {
        let attempt = ATTEMPT.min(deadline.saturating_duration_since(Instant::now())).max(Duration::from_millis(100));
        let client = producer.clone();
        let result = tokio::task::spawn_blocking(move || client.client().fetch_metadata(None, attempt).map(drop))
            .await
            .map_err(|e| ServiceError::Other(format!("metadata request panicked: {e}")))?;
        let Err(e) = result else { return Ok(()) };
        if Instant::now() >= deadline {
            return Err(ServiceError::Kafka {
                context: format!(
                    "cannot reach the brokers at {bootstrap} within {} s (kafka.brokers, kafka.connect_timeout_secs)",
                    timeout.as_secs()
                ),
                source: e,
            });
        }
        warn!(
            brokers = bootstrap,
            error = %e,
            waited_secs = started.elapsed().as_secs(),
            "cannot reach the brokers yet; retrying until kafka.connect_timeout_secs"
        );
    }
}

/// Creates the topics lexwire uses when they are missing, and checks that the changelog has as
/// many partitions as the repartition topic.
async fn ensure_topics(
    config: &Config,
    bootstrap: &str,
    mock: Option<&MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
) -> Result<(), ServiceError> {
    let k = &config.kafka;
    let admin: AdminClient<_> = client_config(bootstrap).create().map_err(kafka("admin client"))?;
    if let Some(mock) = mock {
        // The mock cluster does not answer CreateTopics: it has its own call.
        let create = |topic: &str, partitions: i32| {
            mock.create_topic(topic, partitions, 1)
                .map_err(kafka(format!("create topic {topic} on the embedded broker")))
        };
        for t in &k.input_topics {
            create(t, k.partitions)?;
        }
        create(&k.events_topic, k.partitions)?;
        create(&k.dead_letter_topic, k.partitions)?;
        create(&k.repartition_topic, k.repartition_partitions)?;
        create(&k.changelog_topic, k.repartition_partitions)?;
    } else if k.create_topics {
        let replication = || TopicReplication::Fixed(k.replication_factor);
        // Every topic accepts the largest record lexwire writes (and the largest article).
        let max_bytes = message_max_bytes(config);
        let topic =
            |name, partitions| NewTopic::new(name, partitions, replication()).set("max.message.bytes", &max_bytes);
        let mut topics: Vec<NewTopic<'_>> = k.input_topics.iter().map(|t| topic(t, k.partitions)).collect();
        topics.push(topic(&k.events_topic, k.partitions));
        topics.push(topic(&k.dead_letter_topic, k.partitions));
        topics.push(topic(&k.repartition_topic, k.repartition_partitions));
        topics.push(topic(&k.changelog_topic, k.repartition_partitions).set("cleanup.policy", "compact"));
        let results = admin
            .create_topics(&topics, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))))
            .await
            .map_err(kafka("create topics"))?;
        for result in results {
            match result {
                Ok(topic) => info!(%topic, "topic created"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(ServiceError::Kafka {
                        context: format!("create topic {topic}"),
                        source: KafkaError::AdminOp(code),
                    });
                }
            }
        }
    }
    let partitions = |topic: &str| -> Result<usize, ServiceError> {
        let md = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(kafka(format!("metadata of {topic}")))?;
        let t = md.topics().first().ok_or_else(|| ServiceError::Other(format!("topic {topic} missing")))?;
        if let Some(e) = t.error() {
            return Err(ServiceError::Other(format!("topic {topic}: {:?} (create it, or set kafka.create_topics)", e)));
        }
        Ok(t.partitions().len())
    };
    let (r, c) = (partitions(&k.repartition_topic)?, partitions(&k.changelog_topic)?);
    if r != c {
        return Err(ServiceError::Other(format!(
            "topic {} has {r} partitions and {} has {c}: the changelog must have as many partitions as the repartition topic",
            k.repartition_topic, k.changelog_topic
        )));
    }
    Ok(())
}

/// A running service: its shared state and the tasks to wait for.
pub struct Service {
    pub shared: Arc<Shared>,
    /// The embedded broker, kept alive while the service runs.
    _mock: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), ServiceError>>>,
}

impl Service {
    /// Starts the service: the embedded broker when no brokers are configured, topics, the
    /// producer, both stages, the HTTP server and the dictionary reloader.
    ///
    /// # Errors
    /// [`ServiceError`] for a dictionary, broker or topic that cannot be used.
    pub async fn start(mut config: Config) -> Result<Service, ServiceError> {
        check_article_budget(&config)?;
        let tagger = Arc::new(load_tagger(&config)?);
        check_stages(&tagger)?;
        let metrics = Metrics::new();
        metrics.set_dictionary(tagger.dictionary().version(), tagger.dictionary().entries().len());
        let (mock, bootstrap) = if config.embedded() {
            let mock = MockCluster::new(1).map_err(kafka("embedded broker"))?;
            let bootstrap = mock.bootstrap_servers();
            config.pipeline.print_events = true;
            config.pipeline.load_samples = true;
            // The embedded broker answers a fetch that finds no data only when the wait is over
            // (a real broker answers as soon as data arrives): a short wait keeps latency low.
            config.kafka.consumer.entry("fetch.wait.max.ms".into()).or_insert_with(|| MOCK_FETCH_WAIT_MS.into());
            // librdkafka's mock cluster has fixed retention, with no setting to change it.
            info!(
                "the embedded broker keeps at most 5 MiB or 100000 messages per partition: older messages \
                 are dropped, consumed or not (use a real broker for volume)"
            );
            (Some(mock), bootstrap)
        } else {
            (None, config.kafka.brokers.clone())
        };
        let producer: FutureProducer = producer_config(&config, &bootstrap).create().map_err(kafka("producer"))?;
        reach_brokers(&producer, &bootstrap, Duration::from_secs(config.kafka.connect_timeout_secs)).await?;
        ensure_topics(&config, &bootstrap, mock.as_ref()).await?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            metrics,
            bootstrap,
            producer,
            tagger: RwLock::new(tagger),
            tagger_generation: AtomicU64::new(0),
            abandon: AtomicBool::new(false),
            articles_assigned: AtomicBool::new(false),
            dedup_assigned: AtomicBool::new(false),
            producer_connected: AtomicBool::new(true),
            last_activity_ms: AtomicU64::new(now_ms()),
            shutdown,
            stop_deadline: OnceLock::new(),
            fatal: Mutex::new(None),
        });
        if shared.config.pipeline.load_samples {
            load_samples(&shared).await?;
        }
        let mut tasks = Vec::new();
        let articles = tokio::spawn(articles_stage(shared.clone()));
        tasks.push(tokio::spawn(watch_stage(shared.clone(), "articles", articles)));
        let dedup = tokio::spawn(dedup_stage(shared.clone()));
        tasks.push(tokio::spawn(watch_stage(shared.clone(), "dedup", dedup)));
        if !shared.config.metrics.listen.is_empty() {
            let listener = tokio::net::TcpListener::bind(&shared.config.metrics.listen)
                .await
                .map_err(|e| ServiceError::Other(format!("metrics.listen {}: {e}", shared.config.metrics.listen)))?;
            info!(address = %listener.local_addr().map_or(String::new(), |a| a.to_string()), "serving /metrics, /healthz, /readyz");
            tasks.push(tokio::spawn(http::serve(shared.clone(), listener)));
        }
        tasks.push(tokio::spawn(http::reloader(shared.clone())));
        if shared.config.pipeline.idle_exit_secs > 0 {
            tasks.push(tokio::spawn(idle_watch(shared.clone())));
        }
        Ok(Service { shared, _mock: mock, tasks })
    }

    /// Waits for the stages to finish (after [`Shared::shutdown`]), within the deadline.
    ///
    /// # Errors
    /// The first task that failed.
    pub async fn wait(self) -> Result<(), ServiceError> {
        let mut first_error = None;
        for task in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    error!(error = %e, "task failed");
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(ServiceError::Other(format!("task panicked: {e}")));
                }
            }
        }
        let left = self.shared.stop_deadline().map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now()));
        let _ = self.shared.producer.flush(left.min(Duration::from_secs(5)));
        if let Some(e) = self.shared.fatal.lock().expect("fatal").take() {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Produces the bundled sample articles to the first input topic, partition 0, in order.
async fn load_samples(shared: &Shared) -> Result<(), ServiceError> {
    let topic = &shared.config.kafka.input_topics[0];
    for line in SAMPLES.lines().filter(|l| !l.trim().is_empty()) {
        let id =
            serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| v["id"].as_str().map(str::to_string));
        let mut record: FutureRecord<'_, str, str> = FutureRecord::to(topic).payload(line).partition(0);
        if let Some(id) = &id {
            record = record.key(id);
        }
        shared
            .producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| ServiceError::Kafka { context: format!("loading samples into {topic}"), source: e })?;
    }
    info!(%topic, "sample articles loaded");
    Ok(())
}

/// Stops the service once neither stage has seen a message for `idle_exit_secs`.
async fn idle_watch(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let idle = shared.config.pipeline.idle_exit_secs * 1000;
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if now_ms().saturating_sub(shared.last_activity_ms.load(Ordering::Relaxed)) > idle && shared.ready() {
            info!("idle: stopping");
            shared.shutdown();
            return Ok(());
        }
    }
}

/// Handles one message: the records it causes, or `None` to stop the stage without committing
/// the message (it is redelivered after the restart).
type Handler<'a> = dyn FnMut(&BorrowedMessage<'_>) -> Option<Vec<Output>> + Send + 'a;

/// Event records of one input message, published once its state changes are acknowledged: an
/// event record never reaches the broker before the state that knows it.
struct Deferred {
    waits: Vec<tokio::task::JoinHandle<bool>>,
    outputs: Vec<Output>,
    topic: String,
    partition: i32,
    offset: i64,
    input_ts: Option<i64>,
}

/// Enqueues `output` now and acknowledges `offset` in the tracker once the broker has it.
async fn publish(
    shared: &Arc<Shared>,
    tracker: &Arc<Mutex<OffsetTracker>>,
    permits: &Arc<Semaphore>,
    output: Output,
    (topic, partition, offset, input_ts): (&str, i32, i64, Option<i64>),
) -> tokio::task::JoinHandle<bool> {
    // Backpressure: no permit, no next message.
    let permit = permits.clone().acquire_owned().await.expect("semaphore open");
    // Enqueued here, in order; only the waiting for acknowledgement is spawned.
    let first = enqueue(shared, &output).await;
    let (shared, tracker, topic) = (shared.clone(), tracker.clone(), topic.to_string());
    tokio::spawn(async move {
        let _permit = permit;
        let ok = deliver(&shared, &output, first).await;
        if ok {
            if output.kind == "event"
                && let Some(ts) = input_ts
            {
                shared.metrics.latency_seconds.observe(now_ms().saturating_sub(ts as u64) as f64 / 1e3);
            }
            debug!(kind = output.kind, to = %output.topic, key = %String::from_utf8_lossy(output.key.as_deref().unwrap_or_default()), %topic, partition, offset, "acknowledged");
            tracker.lock().expect("tracker").ack(&topic, partition, offset);
        }
        ok
    })
}

/// Publishes deferred event records in input order, each batch after its state changes.
async fn publish_deferred(
    shared: Arc<Shared>,
    tracker: Arc<Mutex<OffsetTracker>>,
    permits: Arc<Semaphore>,
    mut queue: tokio::sync::mpsc::Receiver<Deferred>,
) {
    while let Some(d) = queue.recv().await {
        let mut state_ok = true;
        for wait in d.waits {
            state_ok &= wait.await.unwrap_or(false);
        }
        if !state_ok {
            // Abandoned at shutdown: the offset stays uncommitted and the message comes back.
            continue;
        }
        for output in d.outputs {
            publish(&shared, &tracker, &permits, output, (&d.topic, d.partition, d.offset, d.input_ts)).await;
        }
    }
}

/// The loop both stages share: receive, handle, publish, track offsets; on shutdown drain and
/// commit.
async fn run_stage(
    shared: Arc<Shared>,
    consumer: StreamConsumer<StageContext>,
    tracker: Arc<Mutex<OffsetTracker>>,
    handler: &mut Handler<'_>,
) -> Result<(), ServiceError> {
    let stage = consumer.context().stage;
    let permits = Arc::new(Semaphore::new(shared.config.pipeline.max_in_flight));
    let (deferred, queue) = tokio::sync::mpsc::channel::<Deferred>(1024);
    let publisher = tokio::spawn(publish_deferred(shared.clone(), tracker.clone(), permits.clone(), queue));
    let mut shutdown = shared.shutdown.subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        store_ready(&consumer, &tracker);
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {
                shared.metrics.producer_queue.set(shared.producer.in_flight_count() as i64);
                let in_flight = tracker.lock().expect("tracker").in_flight(|_, _| true);
                shared.metrics.in_flight.with_label_values(&[stage]).set(in_flight as i64);
                continue;
            }
            message = consumer.recv() => {
                let message = match message {
                    Ok(m) => m,
                    Err(e) => {
                        warn!(stage, error = %e, "consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                shared.touch();
                let (topic, partition, offset) = (message.topic().to_string(), message.partition(), message.offset());
                let input_ts = message.timestamp().to_millis();
                let Some(outputs) = handler(&message) else {
                    drop(message);
                    break;
                };
                drop(message);
                tracker.lock().expect("tracker").begin(&topic, partition, offset, outputs.len());
                let (events, now): (Vec<Output>, Vec<Output>) = outputs.into_iter().partition(|o| o.kind == "event");
                let mut waits = Vec::with_capacity(now.len());
                for output in now {
                    waits.push(publish(&shared, &tracker, &permits, output, (&topic, partition, offset, input_ts)).await);
                }
                if !events.is_empty() {
                    let d = Deferred { waits, outputs: events, topic, partition, offset, input_ts };
                    if deferred.send(d).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    // Drain: publish what is deferred, let in-flight records be acknowledged, then commit what
    // is done.
    drop(deferred);
    // The stage also ends without a shutdown (its handler asked to stop): start the stop here.
    shared.shutdown();
    let deadline = shared.stop_deadline().unwrap_or_else(Instant::now);
    let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), publisher).await;
    while tracker.lock().expect("tracker").in_flight(|_, _| true) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = tracker.lock().expect("tracker").in_flight(|_, _| true);
    if left > 0 {
        warn!(stage, left, "shutdown deadline passed with messages unacknowledged: they will be redelivered");
        shared.abandon.store(true, Ordering::SeqCst);
    }
    store_ready(&consumer, &tracker);
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => warn!(stage, error = %e, "final commit failed"),
    }
    info!(stage, "stopped");
    Ok(())
}

fn new_consumer(
    shared: &Arc<Shared>,
    stage: &'static str,
    group: &str,
    states: Arc<Mutex<HashMap<i32, Deduper>>>,
) -> Result<(StreamConsumer<StageContext>, Arc<Mutex<OffsetTracker>>), ServiceError> {
    let tracker = Arc::new(Mutex::new(OffsetTracker::default()));
    let context = StageContext { stage, shared: shared.clone(), tracker: tracker.clone(), states };
    let consumer: StreamConsumer<StageContext> = consumer_config(&shared.config, &shared.bootstrap, group)
        .create_with_context(context)
        .map_err(kafka(format!("{stage} consumer")))?;
    Ok((consumer, tracker))
}

/// Stage 1: decode, dead-letter what is not an article, re-key articles by governorate.
async fn articles_stage(shared: Arc<Shared>) -> Result<(), ServiceError> {
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
            kind: "repartition",
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
fn over_cap(article: &crate::article::Article<'_>) -> Option<String> {
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

/// A message without a value (a tombstone: a key deleted from a compacted topic) is not an
/// article, nor a broken one: it is skipped and counted (`articles_failed{class="tombstone"}`),
/// not dead-lettered — there is nothing to replay, and dead-lettering the deletions of a
/// compacted input topic would flood the dead-letter topic. `true` when `m` is one.
fn skip_tombstone(shared: &Shared, m: &BorrowedMessage<'_>) -> bool {
    if m.payload().is_some() {
        return false;
    }
    shared.metrics.articles_failed.with_label_values(&["tombstone"]).inc();
    debug!(topic = m.topic(), partition = m.partition(), offset = m.offset(), "tombstone skipped");
    true
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

/// The consumer that reads the changelog to restore state: assigned partitions, never
/// committed, connected once.
fn restore_consumer(shared: &Shared) -> Result<BaseConsumer, ServiceError> {
    restore_consumer_config(&shared.config, &shared.bootstrap).create().map_err(kafka("changelog consumer"))
}

/// The changelog consumer's configuration: no statistics. It is polled only while it restores,
/// so statistics events would queue up in its main queue for the life of the process (a memory
/// leak); its lag means nothing anyway.
fn restore_consumer_config(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut cc = consumer_config(config, bootstrap, &format!("{}.restore", config.kafka.group_id));
    cc.set("enable.auto.commit", "false").set("statistics.interval.ms", "0");
    cc
}

/// Reads partition `partition` of the changelog from the start to its end into a new state.
///
/// Broker errors (a leader down, a restart) are retried until [`RESTORE_DEADLINE`]; a shutdown
/// interrupts it ([`ServiceError::Interrupted`]).
fn restore_partition(shared: &Shared, consumer: &BaseConsumer, partition: i32) -> Result<Deduper, ServiceError> {
    let started = Instant::now();
    let deadline = started + RESTORE_DEADLINE;
    let k = &shared.config.kafka;
    let mut backoff = Duration::from_millis(100);
    let (low, high) = loop {
        match consumer.fetch_watermarks(&k.changelog_topic, partition, Duration::from_secs(5)) {
            Ok(w) => break w,
            Err(e) if Instant::now() + backoff < deadline => {
                if shared.stopping() {
                    return Err(ServiceError::Interrupted);
                }
                warn!(partition, error = %e, "cannot read the changelog's watermarks yet; retrying");
                std::thread::sleep(backoff);
                // After a broker outage librdkafka keeps the partition unknown until its next
                // periodic metadata refresh (5 minutes by default), past the deadline: ask now.
                if let Err(e) = consumer.fetch_metadata(Some(&k.changelog_topic), Duration::from_secs(5)) {
                    debug!(partition, error = %e, "changelog metadata refresh failed");
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(kafka(format!("watermarks of {} [{partition}]", k.changelog_topic))(e)),
        }
    };
    let mut deduper = Deduper::new(dedup_config(&shared.config));
    if high <= low {
        debug!(partition, elapsed_ms = started.elapsed().as_millis() as u64, "empty changelog partition");
        return Ok(deduper);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&k.changelog_topic, partition, Offset::Beginning).map_err(kafka("assign"))?;
    consumer.assign(&tpl).map_err(kafka("assign the changelog"))?;
    let mut changes = Vec::new();
    // Read to the high watermark, then on until the partition is quiet: some brokers (Tansu 0.6)
    // report a high watermark short of the last record of a multi-record batch.
    let mut reached = false;
    let mut next = Offset::Beginning;
    let mut progress = Instant::now();
    loop {
        if Instant::now() > deadline {
            return Err(ServiceError::Other(format!(
                "restoring {} [{partition}] did not reach offset {high}",
                k.changelog_topic
            )));
        }
        if shared.stopping() {
            return Err(ServiceError::Interrupted);
        }
        match consumer.poll(Duration::from_millis(if reached { 300 } else { 1000 })) {
            None if reached => break,
            // A fetch that went quiet short of the high watermark (seen after a broker came back
            // in the middle of a restore): assign again from the next offset, a fresh fetch.
            None if progress.elapsed() > RESTORE_STALL => {
                warn!(partition, offset = ?next, high, "no changelog record for a while short of the high watermark; fetching again");
                let mut again = TopicPartitionList::new();
                again.add_partition_offset(&k.changelog_topic, partition, next).map_err(kafka("assign"))?;
                consumer.assign(&again).map_err(kafka("assign the changelog"))?;
                progress = Instant::now();
            }
            None => continue,
            // librdkafka reconnects by itself: read on until the deadline.
            Some(Err(e)) => warn!(partition, error = %e, "error reading the changelog; retrying"),
            Some(Ok(m)) => {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                changes.push(StateChange { key, value: m.payload().map(<[u8]>::to_vec) });
                reached |= m.offset() >= high - 1;
                next = Offset::Offset(m.offset() + 1);
                progress = Instant::now();
            }
        }
    }
    consumer.unassign().map_err(kafka("unassign the changelog"))?;
    let n = changes.len();
    deduper
        .restore(changes)
        .map_err(|e| ServiceError::Other(format!("changelog {} [{partition}]: {e}", k.changelog_topic)))?;
    info!(
        partition,
        records = n,
        events = deduper.live_events(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dedup state restored"
    );
    Ok(deduper)
}

/// How long restoring a partition's state may take, broker outages included.
const RESTORE_DEADLINE: Duration = Duration::from_secs(120);

/// How long a restore waits for the next changelog record short of the high watermark before
/// it fetches again.
const RESTORE_STALL: Duration = Duration::from_secs(5);

fn dedup_config(config: &Config) -> DedupConfig {
    config.dedup_config()
}

/// Stage 2: per repartition partition, restore state, process, publish records and changes.
async fn dedup_stage(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let k = &shared.config.kafka;
    let states: Arc<Mutex<HashMap<i32, Deduper>>> = Arc::default();
    let (consumer, tracker) = new_consumer(&shared, "dedup", &format!("{}.dedup", k.group_id), states.clone())?;
    consumer.subscribe(&[&k.repartition_topic]).map_err(kafka("subscribe to the repartition topic"))?;
    let s = shared.clone();
    let restorer = restore_consumer(&shared)?;
    let mut engine = Engine::new(shared.tagger(), dedup_config(&shared.config)).map_err(ServiceError::Dictionary)?;
    let mut analyzer = budget::Analyzer::spawn();
    let article_budget = Duration::from_millis(shared.config.pipeline.article_timeout_ms);
    let mut generation = shared.tagger_generation.load(Ordering::SeqCst);
    let mut last_estimate = Instant::now() - Duration::from_secs(60);
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
                let job = budget::Job {
                    tagger: engine.tagger().clone(),
                    extractor: engine.extractor().clone(),
                    id: article.id.to_string(),
                    text: article.text.to_string(),
                    language: article.language.as_deref().map(str::to_string),
                    published_at: article.published_at.as_deref().map(str::to_string),
                };
                let analysed = analyzer.run(job, article_budget);
                let processed = analysed.map(|a| {
                    let outcome = engine.deduplicate(&article, &a);
                    (a, outcome)
                });
                if let Ok((_, outcome)) = &processed {
                    debug!(partition, offset = m.offset(), id = %article.id, records = ?outcome.records, replay = ?outcome.replay, seen = outcome.seen_before, "dedup outcome");
                }
                metrics.stage_seconds.with_label_values(&["process"]).observe(started.elapsed().as_secs_f64());
                metrics.articles_processed.inc();
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
                        let started = Instant::now();
                        let mut cause = vec![(headers::ARTICLE_ID, article.id.as_bytes().to_vec())];
                        cause.extend(forwarded_source(m));
                        for record in engine.records(&outcome).chain(engine.replay_records(&outcome)) {
                            let status = if record.status == Status::Created { "created" } else { "updated" };
                            metrics.events.with_label_values(&[status, &record.event.family]).inc();
                            let json = serde_json::to_vec(&record).expect("records serialize");
                            if s.config.pipeline.print_events {
                                println!("{}", String::from_utf8_lossy(&json));
                            }
                            outputs.push(Output {
                                topic: s.config.kafka.events_topic.clone(),
                                partition: None,
                                key: Some(record.event.event_id.clone().into_bytes()),
                                payload: Some(json),
                                headers: cause.clone(),
                                timestamp: None,
                                kind: "event",
                                class: None,
                                origin: Some(origin.clone()),
                            });
                        }
                        metrics.stage_seconds.with_label_values(&["encode"]).observe(started.elapsed().as_secs_f64());
                    }
                }
            }
        }
        for change in engine.deduper_mut().take_changes() {
            outputs.push(Output {
                topic: s.config.kafka.changelog_topic.clone(),
                partition: Some(partition),
                key: Some(change.key.into_bytes()),
                payload: change.value,
                headers: Vec::new(),
                timestamp: None,
                kind: "changelog",
                class: None,
                origin: Some(origin.clone()),
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages, events and statistics waiting in a consumer's queue.
    fn queued(consumer: &BaseConsumer) -> i64 {
        use rdkafka::bindings as rd;
        // SAFETY: the client outlives the queue handle, which is released before returning.
        unsafe {
            let queue = rd::rd_kafka_queue_get_consumer(consumer.client().native_ptr());
            let n = rd::rd_kafka_queue_length(queue) as i64;
            rd::rd_kafka_queue_destroy(queue);
            n
        }
    }

    /// The changelog consumer is polled only while it restores: statistics it produced in
    /// between would queue up for the life of the process (83 → 176 MB in two minutes at 10 ms).
    #[test]
    fn regression_restore_consumer_queues_statistics_until_it_restores() {
        let mock = MockCluster::new(1).expect("mock cluster");
        let mut config = Config::default();
        config.metrics.statistics_interval_ms = 10;
        let bootstrap = mock.bootstrap_servers();
        // The stages' consumers are polled all the time: statistics are what they are for.
        let stage: BaseConsumer = consumer_config(&config, &bootstrap, "lexwire").create().expect("consumer");
        let restore: BaseConsumer = restore_consumer_config(&config, &bootstrap).create().expect("consumer");
        std::thread::sleep(Duration::from_millis(600));
        assert!(queued(&stage) > 10, "the check counts queued statistics: {}", queued(&stage));
        assert_eq!(queued(&restore), 0, "the restore consumer queues statistics nobody reads");
    }
}
