//! The service's Prometheus metrics, in one registry. Label values come from fixed sets: error
//! classes, tag kinds, event families, stage names, partitions — never a place, an article id or
//! an error's text.
//!
//! A labelled series exists only once a value is given to it, so [`Metrics::new`] creates every
//! series of a fixed label set at zero: a healthy instance exports
//! `lexwire_delivery_errors_total` from the first scrape, and `rate()` and `absent()` over it see
//! 0, not nothing. The sets are the constants below. Two series follow what is running instead:
//! `lexwire_consumer_lag_messages` is keyed by topic and partition, so its series appear once
//! librdkafka reports on an assigned partition (and go on revoke); `lexwire_dictionary_info` is
//! keyed by the serving version ([`Metrics::set_dictionary`]).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::article::ErrorClass;
use crate::dictionary::EntryKind;
use crate::dictionary::requirements::FAMILIES;

/// `lexwire_articles_failed_total` and `lexwire_dead_letters_total` classes the service adds to
/// the decoder's ([`ErrorClass`]): a message whose processing ran out of time, and a record the
/// broker refused for good as invalid.
pub const SERVICE_ERROR_CLASSES: [&str; 2] = ["timeout", "rejected"];

/// The `lexwire_articles_failed_total` class of a deletion on a compacted topic: skipped and
/// counted, never dead-lettered.
pub const TOMBSTONE: &str = "tombstone";

/// `lexwire_duplicates_total` layers.
pub const DUPLICATE_LAYERS: [&str; 3] = ["article", "event", "linked"];

/// `lexwire_events_total` statuses: the record announces a new event or an update.
pub const EVENT_STATUSES: [&str; 2] = ["created", "updated"];

/// `lexwire_stage_seconds` stages: the steps of the pipeline that are timed.
pub const TIMED_STAGES: [&str; 4] = ["decode", "route", "process", "encode"];

/// The consumer stages: `lexwire_in_flight_messages` and `lexwire_assigned_partitions`.
pub const CONSUMER_STAGES: [&str; 2] = ["articles", "dedup"];

/// `lexwire_transactions_total` results (exactly-once delivery).
pub const TRANSACTION_RESULTS: [&str; 2] = ["committed", "aborted"];

/// The `lexwire_dictionary_reloads_total` result of a dictionary that now serves.
pub const RELOAD_SUCCESS: &str = "success";

/// The `lexwire_dictionary_reloads_total` result of a dictionary that failed to load or to pass
/// the stages' checks: the previous one keeps serving.
pub const RELOAD_FAILURE: &str = "failure";

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub articles_consumed: IntCounter,
    pub articles_processed: IntCounter,
    pub consumed_bytes: IntCounter,
    pub articles_failed: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub dead_letters_refused: IntCounter,
    pub tags: IntCounterVec,
    pub events: IntCounterVec,
    pub duplicates: IntCounterVec,
    pub future_dates: IntCounter,
    pub stage_seconds: HistogramVec,
    pub latency_seconds: Histogram,
    pub consumer_lag: IntGaugeVec,
    pub producer_queue: IntGauge,
    pub in_flight: IntGaugeVec,
    pub delivery_errors: IntCounterVec,
    pub dedup_events: IntGauge,
    pub dedup_articles: IntGauge,
    pub dedup_state_bytes: IntGauge,
    pub dictionary_entries: IntGauge,
    pub dictionary_info: IntGaugeVec,
    pub dictionary_reloads: IntCounterVec,
    pub assigned_partitions: IntGaugeVec,
    pub build_info: IntGaugeVec,
    pub transactions: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("registered once");
    g
}

/// Buckets from 50 µs to 10 s.
const SECONDS: [f64; 16] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new();
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new("lexwire_stage_seconds", "Processing time per stage").buckets(SECONDS.to_vec()),
            &["stage"],
        )
        .expect("valid metric");
        r.register(Box::new(stage_seconds.clone())).expect("registered once");
        let latency_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "lexwire_end_to_end_latency_seconds",
                "From the article's Kafka timestamp to the acknowledgement of its last event record",
            )
            .buckets(SECONDS.to_vec()),
        )
        .expect("valid metric");
        r.register(Box::new(latency_seconds.clone())).expect("registered once");
        let m = Metrics {
            articles_consumed: counter(&r, "lexwire_articles_consumed_total", "Input messages consumed"),
            articles_processed: counter(
                &r,
                "lexwire_articles_processed_total",
                "Articles tagged, extracted and deduplicated by the dedup stage",
            ),
            consumed_bytes: counter(&r, "lexwire_consumed_bytes_total", "Bytes of input messages consumed"),
            articles_failed: counter_vec(
                &r,
                "lexwire_articles_failed_total",
                "Input messages that are not articles, by error class",
                &["class"],
            ),
            dead_letters: counter_vec(
                &r,
                "lexwire_dead_letters_total",
                "Messages written to the dead-letter topic (acknowledged by the broker), by error class",
                &["class"],
            ),
            dead_letters_refused: counter(
                &r,
                "lexwire_dead_letters_refused_total",
                "Dead letters the broker refused for good (too large, invalid): logged, and the input offset moved on",
            ),
            tags: counter_vec(&r, "lexwire_tags_total", "Tags found, by kind", &["kind"]),
            events: counter_vec(
                &r,
                "lexwire_events_total",
                "Event records published, by status and event family",
                &["status", "family"],
            ),
            duplicates: counter_vec(
                &r,
                "lexwire_duplicates_total",
                "Reports recognized as already known, by layer (article: seen or near-duplicate article; event: merged into a known event; linked: a new event linked to possible duplicates, not merged)",
                &["layer"],
            ),
            future_dates: counter(
                &r,
                "lexwire_future_dates_total",
                "Articles whose published_at was later than their message timestamp by more than dedup.max_future_days: the timestamp stood for it in the dedup window",
            ),
            stage_seconds,
            latency_seconds,
            consumer_lag: gauge_vec(
                &r,
                "lexwire_consumer_lag_messages",
                "Consumer lag by topic and partition (librdkafka statistics)",
                &["topic", "partition"],
            ),
            producer_queue: gauge(
                &r,
                "lexwire_producer_queue_messages",
                "Messages in the producer's queue awaiting delivery",
            ),
            in_flight: gauge_vec(
                &r,
                "lexwire_in_flight_messages",
                "Input messages whose outputs are not all acknowledged, by stage",
                &["stage"],
            ),
            delivery_errors: counter_vec(
                &r,
                "lexwire_delivery_errors_total",
                "Failed deliveries (retried), by output",
                &["output"],
            ),
            dedup_events: gauge(&r, "lexwire_dedup_events", "Live events in the dedup state"),
            dedup_articles: gauge(&r, "lexwire_dedup_articles", "Articles remembered by the dedup state"),
            dedup_state_bytes: gauge(&r, "lexwire_dedup_state_bytes", "Estimated heap of the dedup state"),
            dictionary_entries: gauge(&r, "lexwire_dictionary_entries", "Entries in the serving dictionary"),
            dictionary_info: gauge_vec(
                &r,
                "lexwire_dictionary_info",
                "The serving dictionary's version (value 1)",
                &["version"],
            ),
            dictionary_reloads: counter_vec(
                &r,
                "lexwire_dictionary_reloads_total",
                "Dictionary reloads, by result",
                &["result"],
            ),
            assigned_partitions: gauge_vec(
                &r,
                "lexwire_assigned_partitions",
                "Partitions assigned, by stage",
                &["stage"],
            ),
            build_info: gauge_vec(&r, "lexwire_build_info", "lexwire's version (value 1)", &["version"]),
            transactions: counter_vec(
                &r,
                "lexwire_transactions_total",
                "Transactions ended under exactly-once delivery, by stage and result (committed, aborted)",
                &["stage", "result"],
            ),
            registry: r,
        };
        m.build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        m.create_fixed_series();
        m
    }

    /// Every series of a fixed label set, at zero (see the module's doc).
    fn create_fixed_series(&self) {
        let decoder_classes = ErrorClass::ALL.map(ErrorClass::as_str);
        for class in decoder_classes.into_iter().chain(SERVICE_ERROR_CLASSES) {
            self.articles_failed.with_label_values(&[class]);
            self.dead_letters.with_label_values(&[class]);
        }
        self.articles_failed.with_label_values(&[TOMBSTONE]);
        for kind in EntryKind::ALL {
            self.tags.with_label_values(&[kind.as_str()]);
        }
        // Every event type of a dictionary that loads is of one of these families
        // (`requirements::check_family`), so no dictionary adds to them.
        for status in EVENT_STATUSES {
            for family in FAMILIES {
                self.events.with_label_values(&[status, family]);
            }
        }
        for layer in DUPLICATE_LAYERS {
            self.duplicates.with_label_values(&[layer]);
        }
        for stage in TIMED_STAGES {
            self.stage_seconds.with_label_values(&[stage]);
        }
        for stage in CONSUMER_STAGES {
            self.in_flight.with_label_values(&[stage]);
            self.assigned_partitions.with_label_values(&[stage]);
        }
        for output in super::records::OutputKind::ALL {
            self.delivery_errors.with_label_values(&[output.as_str()]);
        }
        for stage in CONSUMER_STAGES {
            for result in TRANSACTION_RESULTS {
                self.transactions.with_label_values(&[stage, result]);
            }
        }
        for result in [RELOAD_SUCCESS, RELOAD_FAILURE] {
            self.dictionary_reloads.with_label_values(&[result]);
        }
    }

    /// The name of every metric lexwire exports (histograms without their suffixes).
    pub fn names(&self) -> Vec<String> {
        use prometheus::core::Collector;
        let collectors: [&dyn Collector; 27] = [
            &self.articles_consumed,
            &self.articles_processed,
            &self.consumed_bytes,
            &self.articles_failed,
            &self.dead_letters,
            &self.dead_letters_refused,
            &self.tags,
            &self.events,
            &self.duplicates,
            &self.future_dates,
            &self.stage_seconds,
            &self.latency_seconds,
            &self.consumer_lag,
            &self.producer_queue,
            &self.in_flight,
            &self.delivery_errors,
            &self.dedup_events,
            &self.dedup_articles,
            &self.dedup_state_bytes,
            &self.dictionary_entries,
            &self.dictionary_info,
            &self.dictionary_reloads,
            &self.assigned_partitions,
            &self.build_info,
            &self.transactions,
            &self.stage_seconds,
            &self.latency_seconds,
        ];
        let mut names: Vec<String> = collectors.iter().flat_map(|c| c.desc()).map(|d| d.fq_name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("text encoding");
        String::from_utf8(buf).expect("UTF-8")
    }

    /// Says which dictionary serves: its version (the one `lexwire_dictionary_info` series) and
    /// its entry count. Called at start and on every reload.
    pub fn set_dictionary(&self, version: &str, entries: usize) {
        self.dictionary_info.reset();
        self.dictionary_info.with_label_values(&[version]).set(1);
        self.dictionary_entries.set(entries as i64);
    }
}

/// The sum of a counter over all its label values.
pub fn total(counter: &IntCounterVec) -> u64 {
    use prometheus::core::Collector;
    counter.collect().iter().flat_map(|f| f.get_metric()).map(|c| c.get_counter().get_value() as u64).sum()
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
