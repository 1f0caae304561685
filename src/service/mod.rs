//! `lexwire run`: the pipeline service. Two stages in one process, each a consumer group, as in
//! Kafka Streams' repartition pattern:
//!
//! 1. **articles** ([`articles_stage`]): consume the input topics; decode; a message that is not
//!    an article goes to the dead-letter topic with headers; an article is re-keyed by its
//!    governorate (the admin1 of its dominant place) to the repartition topic.
//! 2. **dedup** ([`dedup_stage`]): consume the repartition topic; each partition has its own
//!    dedup state, restored from the same partition of the compacted changelog topic when
//!    assigned ([`changelog`]); tag, extract, deduplicate; publish event records (keyed by
//!    `event_id`) and state changes.
//!
//! At-least-once: an input offset is stored for commit only after every record it caused is
//! acknowledged, in partition order ([`offsets::OffsetTracker`], [`consumer`]). Deliveries that
//! fail are retried until they succeed or the shutdown deadline passes ([`producer`]); what is
//! not acknowledged is not committed and comes back after a restart. Bounded in-flight records:
//! when the producer cannot keep up, the stages stop pulling messages ([`stage`]).
//!
//! This module holds the wiring: the state the tasks share, starting them, stopping them.
//! [`admin`] creates and checks the topics; [`embedded`] runs the in-process broker of the
//! default run; [`records`] is what the stages write; [`http`] serves metrics and health and
//! reloads the dictionary.

mod admin;
mod articles_stage;
pub mod budget;
mod changelog;
pub mod config;
mod consumer;
mod dedup_stage;
mod embedded;
pub mod http;
pub mod metrics;
pub mod offsets;
mod producer;
mod records;
mod stage;
mod transactions;

pub use articles_stage::article_key;
pub use embedded::MOCK_FETCH_WAIT_MS;
pub use records::{headers, record_limit};

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, Producer};
use tokio::sync::watch;
use tracing::{debug, error, info};

use crate::dictionary::{Dictionary, DictionaryFiles, LoadOptions};
use crate::matcher::AutomatonKind;
use crate::tag::Tagger;
pub use config::{Config, ConfigError};
use metrics::Metrics;

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
    /// Input messages still unacknowledged when a stage's stop deadline passed.
    unacknowledged: AtomicUsize,
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

    /// A receiver that turns `true` when the stop begins, and reports the channel closed once
    /// this state is dropped: for [`watch_stop`].
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
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

    /// One line on what the run did and what it left: for the log at the stop.
    fn drain_summary(&self) -> String {
        let m = &self.metrics;
        let left = self.unacknowledged.load(Ordering::SeqCst);
        let tail = if left == 0 {
            "everything processed was committed".to_string()
        } else {
            format!("{left} messages not committed at the deadline: they are redelivered after a restart")
        };
        format!(
            "stopped: {} messages consumed, {} articles processed, {} event records made, {} dead letters written; {tail}",
            m.articles_consumed.get(),
            m.articles_processed.get(),
            metrics::total(&m.events),
            metrics::total(&m.dead_letters),
        )
    }

    fn touch(&self) {
        self.last_activity_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// Resolves once the stop is asked for, including when it was before the call (a receiver
/// subscribed after the stop began never sees it "change").
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    // Err: the sender is gone, and with it the service: stopped too.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// How long the stop may run past `pipeline.shutdown_timeout_secs` before the binary's
/// [`watch_stop`] ends the process: the consumers' close (5 s past the deadline), the producer's
/// flush and the last references' release, with room to spare.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// Watches the stop from a thread of its own, outside the async runtime (whose workers a client
/// call that never returns can hold): if the service's state is still alive `bound` after the
/// stop began, runs `overrun` (the binary logs and exits). The thread ends once `stop`'s sender
/// (the service's state) is dropped.
///
/// # Errors
/// The thread could not be spawned.
pub fn watch_stop(
    stop: watch::Receiver<bool>,
    bound: Duration,
    overrun: impl FnOnce() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    const POLL: Duration = Duration::from_millis(100);
    std::thread::Builder::new().name("stop-watch".into()).spawn(move || {
        let mut began: Option<Instant> = None;
        loop {
            if stop.has_changed().is_err() {
                return;
            }
            if began.is_none() && *stop.borrow() {
                began = Some(Instant::now());
            }
            if began.is_some_and(|b| b.elapsed() >= bound) {
                overrun();
                return;
            }
            std::thread::sleep(POLL);
        }
    })
}

/// `now + d`, or a day past now for a duration `Instant` cannot hold.
fn deadline_in(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + Duration::from_secs(86_400))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c.set("client.id", format!("lexwire-{}", env!("CARGO_PKG_VERSION")));
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
    Tagger::with_dfa_budget(Arc::new(dict), AutomatonKind::Dfa, config.dictionary.dfa_budget_bytes())
        .map_err(|e| ServiceError::Dictionary(e.to_string()))
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
            let (mock, bootstrap) = embedded::start(&mut config)?;
            (Some(mock), bootstrap)
        } else {
            (None, config.kafka.brokers.clone())
        };
        let producer: FutureProducer =
            producer::producer_config(&config, &bootstrap).create().map_err(kafka("producer"))?;
        admin::reach_brokers(&producer, &bootstrap, Duration::from_secs(config.kafka.connect_timeout_secs)).await?;
        admin::ensure_topics(&config, &bootstrap, mock.as_ref()).await?;
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
            unacknowledged: AtomicUsize::new(0),
            shutdown,
            stop_deadline: OnceLock::new(),
            fatal: Mutex::new(None),
        });
        if shared.config.pipeline.load_samples {
            embedded::load_samples(&shared).await?;
        }
        let mut tasks = Vec::new();
        let articles = tokio::spawn(articles_stage::run(shared.clone()));
        tasks.push(tokio::spawn(watch_stage(shared.clone(), "articles", articles)));
        let dedup = tokio::spawn(dedup_stage::run(shared.clone()));
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
        let Service { shared, _mock: mock, .. } = self;
        let left = shared.stop_deadline().map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now()));
        let _ = shared.producer.flush(left.min(Duration::from_secs(5)));
        if let Some(e) = shared.fatal.lock().expect("fatal").take() {
            first_error.get_or_insert(e);
        }
        info!("{}", shared.drain_summary());
        // Every client goes before the embedded broker does: a client that outlives it reports
        // the broker down, an ERROR at the end of a clean stop. The last deliveries' tasks let go
        // of the shared state within moments of the drain.
        let shared = wait_for_last_reference(shared, Duration::from_secs(2)).await;
        drop(shared);
        drop(mock);
        first_error.map_or(Ok(()), Err)
    }
}

/// `shared` once this is its last reference, or after `timeout` (logged: a task kept it).
async fn wait_for_last_reference(shared: Arc<Shared>, timeout: Duration) -> Arc<Shared> {
    let deadline = Instant::now() + timeout;
    while Arc::strong_count(&shared) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if Arc::strong_count(&shared) > 1 {
        debug!(references = Arc::strong_count(&shared), "the shared state outlived the stop");
    }
    shared
}

/// Stops the service once neither stage has seen a message for `idle_exit_secs`.
async fn idle_watch(shared: Arc<Shared>) -> Result<(), ServiceError> {
    let idle = shared.config.pipeline.idle_exit_secs * 1000;
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = stop_requested(&mut shutdown) => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if now_ms().saturating_sub(shared.last_activity_ms.load(Ordering::Relaxed)) > idle && shared.ready() {
            info!("idle: stopping");
            shared.shutdown();
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use tokio::sync::watch;

    use super::watch_stop;

    #[tokio::test]
    async fn a_stop_asked_for_before_a_task_listens_is_seen() {
        let (stop, _) = watch::channel(false);
        stop.send_replace(true);
        // Subscribed after the stop: `changed()` would wait for a new value for ever.
        let mut late = stop.subscribe();
        tokio::time::timeout(Duration::from_secs(10), super::stop_requested(&mut late))
            .await
            .expect("the stop already sent is seen at once");
    }

    #[test]
    fn the_stop_watch_acts_on_a_stop_that_outlives_its_bound_and_only_then() {
        // Stopped in time: the state went before the bound.
        let fired = Arc::new(AtomicBool::new(false));
        let (stop, signal) = watch::channel(false);
        let f = fired.clone();
        let watcher = watch_stop(signal, Duration::from_millis(400), move || f.store(true, Ordering::SeqCst)).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(!fired.load(Ordering::SeqCst), "no stop yet");
        stop.send_replace(true);
        std::thread::sleep(Duration::from_millis(150));
        drop(stop);
        watcher.join().unwrap();
        assert!(!fired.load(Ordering::SeqCst), "the stop ended within its bound");

        // A stop that began before the watch did, and hangs.
        let (stop, signal) = watch::channel(false);
        stop.send_replace(true);
        let (tx, rx) = mpsc::channel();
        let watcher = watch_stop(signal, Duration::from_millis(200), move || tx.send(()).unwrap()).unwrap();
        rx.recv_timeout(Duration::from_secs(30)).expect("the overrun is acted on");
        watcher.join().unwrap();
        drop(stop);
    }
}
