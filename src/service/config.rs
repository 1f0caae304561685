//! The service's configuration: one TOML file, `LEXWIRE_...` environment overrides, flags for the
//! common keys, librdkafka properties passed through. Every key is documented in
//! `deploy/lexwire.example.toml`; an unknown key or a bad value fails at start, naming the key.
//! Every numeric key has an accepted range ([`limits`]), checked whether the value came from the
//! file, the environment or a flag; [`Config::load`] reports every bad value at once.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The accepted range of every numeric setting, shared with the flags of `lexwire tag` that
/// set the same things. Bounds are what the code and librdkafka handle without overflow, far
/// beyond any sensible value.
pub mod limits {
    use std::ops::RangeInclusive;

    /// `pipeline.max_article_bytes`, `lexwire tag --max-article-bytes`: 1 KiB to 256 MiB (records
    /// derived from an article must still fit librdkafka's 1,000,000,000-byte message limit).
    pub const MAX_ARTICLE_BYTES: RangeInclusive<u64> = 1024..=256 * 1024 * 1024;
    /// `pipeline.max_in_flight`.
    pub const MAX_IN_FLIGHT: RangeInclusive<u64> = 1..=1_000_000;
    /// `pipeline.shutdown_timeout_secs`: up to an hour.
    pub const SHUTDOWN_TIMEOUT_SECS: RangeInclusive<u64> = 0..=3600;
    /// `pipeline.idle_exit_secs`, `lexwire run --idle-exit`: 0 (never) to 365 days.
    pub const IDLE_EXIT_SECS: RangeInclusive<u64> = 0..=365 * 86_400;
    /// `dedup.window_days`, `lexwire tag --window-days`: a day to 10,000 years (as long as the
    /// calendar of records: no expiry, for replays of old corpora).
    pub const WINDOW_DAYS: RangeInclusive<u64> = 1..=3_652_425;
    /// `dedup.max_future_days`: how far past its message timestamp a publication date is
    /// believed, up to ten years.
    pub const MAX_FUTURE_DAYS: RangeInclusive<u64> = 0..=3_653;
    /// `dedup.max_events` and `dedup.max_articles`.
    pub const MAX_STATE_ENTRIES: RangeInclusive<u64> = 1..=100_000_000;
    /// `dedup.distance_km`, `lexwire tag --distance-km`: up to half the Earth's circumference.
    pub const DISTANCE_KM: RangeInclusive<f64> = 0.0..=20_000.0;
    /// `metrics.statistics_interval_ms`: librdkafka's `statistics.interval.ms` range (0: off).
    pub const STATISTICS_INTERVAL_MS: RangeInclusive<u64> = 0..=86_400_000;
    /// `dictionary.watch_secs`: 0 (SIGHUP only) to a day.
    pub const WATCH_SECS: RangeInclusive<u64> = 0..=86_400;
    /// `dictionary.dfa_budget_mb`: 0 (contiguous NFAs only) to 16 GiB.
    pub const DFA_BUDGET_MB: RangeInclusive<u64> = 0..=16_384;
    /// `kafka.partitions`, `kafka.repartition_partitions`.
    pub const PARTITIONS: RangeInclusive<u64> = 1..=100_000;
    /// `kafka.replication_factor` (a 16-bit number in Kafka's protocol).
    pub const REPLICATION_FACTOR: RangeInclusive<u64> = 1..=32_767;
    /// `kafka.connect_timeout_secs`: a second to an hour.
    pub const CONNECT_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3600;
    /// `pipeline.article_timeout_ms`: a millisecond to an hour (and below the consumers'
    /// `max.poll.interval.ms`, checked at start).
    pub const ARTICLE_TIMEOUT_MS: RangeInclusive<u64> = 1..=3_600_000;
    /// `pipeline.commit_interval_ms`: how long a transaction collects messages under
    /// exactly-once; a millisecond to a minute (below librdkafka's default
    /// `transaction.timeout.ms`).
    pub const COMMIT_INTERVAL_MS: RangeInclusive<u64> = 1..=60_000;
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    /// Every bad value found, each naming its key.
    #[error("invalid configuration: {}", InvalidList(.0))]
    Invalid(Vec<InvalidKey>),
}

/// A key whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey {
    pub key: String,
    pub message: String,
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.message)
    }
}

struct InvalidList<'a>(&'a [InvalidKey]);

impl fmt::Display for InvalidList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} errors", all.len())?;
                all.iter().try_for_each(|e| write!(f, "\n  {e}"))
            }
        }
    }
}

/// The accepted range of a numeric key, for messages.
fn range_of(key: &str) -> Option<String> {
    use limits::*;
    let show = |r: RangeInclusive<u64>| Some(format!("{} to {}", r.start(), r.end()));
    match key {
        "pipeline.max_article_bytes" => show(MAX_ARTICLE_BYTES),
        "pipeline.max_in_flight" => show(MAX_IN_FLIGHT),
        "pipeline.shutdown_timeout_secs" => show(SHUTDOWN_TIMEOUT_SECS),
        "pipeline.idle_exit_secs" => show(IDLE_EXIT_SECS),
        "dedup.window_days" => show(WINDOW_DAYS),
        "dedup.max_events" | "dedup.max_articles" => show(MAX_STATE_ENTRIES),
        "dedup.max_future_days" => show(MAX_FUTURE_DAYS),
        "dedup.distance_km" => Some(format!("{} to {}", DISTANCE_KM.start(), DISTANCE_KM.end())),
        "metrics.statistics_interval_ms" => show(STATISTICS_INTERVAL_MS),
        "dictionary.watch_secs" => show(WATCH_SECS),
        "dictionary.dfa_budget_mb" => show(DFA_BUDGET_MB),
        "kafka.partitions" | "kafka.repartition_partitions" => show(PARTITIONS),
        "kafka.replication_factor" => show(REPLICATION_FACTOR),
        "kafka.connect_timeout_secs" => show(CONNECT_TIMEOUT_SECS),
        "pipeline.article_timeout_ms" => show(ARTICLE_TIMEOUT_MS),
        "pipeline.commit_interval_ms" => show(COMMIT_INTERVAL_MS),
        _ => None,
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub pipeline: PipelineConfig,
    pub dedup: DedupSection,
    pub metrics: MetricsConfig,
    pub dictionary: DictionaryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers; empty: start the embedded in-process broker.
    pub brokers: String,
    pub group_id: String,
    pub input_topics: Vec<String>,
    pub events_topic: String,
    pub dead_letter_topic: String,
    pub repartition_topic: String,
    pub changelog_topic: String,
    /// Partitions of the repartition and changelog topics when lexwire creates them (they must
    /// be equal: partition p of the changelog holds the state of partition p's dedup).
    pub repartition_partitions: i32,
    /// Partitions of the input, events and dead-letter topics when lexwire creates them.
    pub partitions: i32,
    pub replication_factor: i32,
    /// Create missing topics at start (the changelog compacted).
    pub create_topics: bool,
    /// How long start-up tries to reach the brokers before it gives up (a warning naming them
    /// comes after the first failed attempt).
    pub connect_timeout_secs: u64,
    /// Under exactly-once: the prefix of the stages' transactional ids (`<prefix>.articles`,
    /// `<prefix>.dedup`). Unique per instance and stable across its restarts; empty:
    /// `<group_id>.<host name>`.
    pub transactional_id: String,
    /// librdkafka properties for the consumers, verbatim (SASL, TLS, fetch sizes...).
    pub consumer: BTreeMap<String, String>,
    /// librdkafka properties for the producer, verbatim.
    pub producer: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Messages over this size go to the dead-letter topic.
    pub max_article_bytes: usize,
    /// Output records awaiting the broker's acknowledgement; beyond it consumption pauses.
    pub max_in_flight: usize,
    /// Shutdown deadline: drain, flush and commit within this many seconds.
    pub shutdown_timeout_secs: u64,
    /// Print every published event record on stdout (the embedded default turns it on).
    pub print_events: bool,
    /// Load the bundled sample articles into the input topic at start (embedded default).
    pub load_samples: bool,
    /// Exit once no message arrived for this many seconds (0: run until stopped).
    pub idle_exit_secs: u64,
    /// Time budget of one article's tagging and extraction in the dedup stage; past it the
    /// article goes to the dead-letter topic with class `timeout`.
    pub article_timeout_ms: u64,
    /// The delivery guarantee: at-least-once (the default) or exactly-once (transactions).
    pub delivery: Delivery,
    /// Under exactly-once: a transaction commits the messages it collected for this long.
    pub commit_interval_ms: u64,
}

/// What a consumer of the output topics can count on after a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Every record is published at least once: after a crash, a record can be published again.
    #[default]
    AtLeastOnce,
    /// Kafka transactions: a batch's records and its consumed offsets are committed atomically;
    /// a consumer reading `read_committed` sees every record once.
    ExactlyOnce,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupSection {
    pub window_days: u32,
    pub max_events: usize,
    pub max_articles: usize,
    pub distance_km: f64,
    pub max_future_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of `/metrics`, `/healthz` and `/readyz`; empty: no HTTP server.
    pub listen: String,
    /// librdkafka statistics interval (consumer lag), milliseconds.
    pub statistics_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DictionaryConfig {
    /// Folder holding dictionary.toml; empty: the dictionary built into the binary (no reload).
    pub dir: String,
    /// Poll the folder for changes every this many seconds (0: only SIGHUP reloads).
    pub watch_secs: u64,
    /// Memory the automata may take as DFAs, in MiB (the rest are contiguous NFAs: slower, a
    /// fraction of the memory); 0: NFAs only.
    pub dfa_budget_mb: u64,
}

impl DictionaryConfig {
    /// [`DictionaryConfig::dfa_budget_mb`] in bytes.
    pub fn dfa_budget_bytes(&self) -> usize {
        crate::matcher::dfa_budget_from_mib(self.dfa_budget_mb)
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: String::new(),
            group_id: "lexwire".into(),
            input_topics: vec!["articles".into()],
            events_topic: "events".into(),
            dead_letter_topic: "articles.dlq".into(),
            repartition_topic: "lexwire.candidates".into(),
            changelog_topic: "lexwire.dedup-changelog".into(),
            repartition_partitions: 6,
            partitions: 3,
            replication_factor: 1,
            create_topics: true,
            connect_timeout_secs: 60,
            transactional_id: String::new(),
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_article_bytes: crate::article::DEFAULT_MAX_BYTES,
            max_in_flight: 10_000,
            shutdown_timeout_secs: 30,
            print_events: false,
            load_samples: false,
            idle_exit_secs: 0,
            article_timeout_ms: 30_000,
            delivery: Delivery::AtLeastOnce,
            commit_interval_ms: 100,
        }
    }
}

impl Default for DedupSection {
    fn default() -> Self {
        let d = crate::dedup::DedupConfig::default();
        DedupSection {
            window_days: d.window_days,
            max_events: d.max_events,
            max_articles: d.max_articles,
            distance_km: d.distance_km,
            max_future_days: d.max_future_days,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { listen: "127.0.0.1:9464".into(), statistics_interval_ms: 5000 }
    }
}

impl Default for DictionaryConfig {
    fn default() -> Self {
        DictionaryConfig { dir: String::new(), watch_secs: 10, dfa_budget_mb: crate::matcher::DEFAULT_DFA_BUDGET_MB }
    }
}

/// Sections whose keys an environment variable can name.
const SECTIONS: [&str; 5] = ["kafka", "pipeline", "dedup", "metrics", "dictionary"];

impl Config {
    /// The file (if any), then `LEXWIRE_*` variables from `env`, then `overrides` (flags, as
    /// `section.key` = TOML value).
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, the variable or the key.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(String, toml::Value)],
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() })?
            }
            None => toml::Table::new(),
        };
        let mut env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with("LEXWIRE_")).collect();
        env.sort();
        for (name, value) in env {
            let Some(path) = env_key(&name) else { continue };
            set(&mut table, &path, env_value(&path, &value));
        }
        for (key, value) in overrides {
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            set(&mut table, &path, value.clone());
        }
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            // toml repeats the key on a second line ("in `dedup.window_days`"): it is named already.
            let full = e.into_inner().to_string();
            let mut message = full.lines().next().unwrap_or_default().trim_end().to_string();
            if let Some(range) = range_of(&key) {
                message = format!("{message} (accepted: {range})");
            }
            ConfigError::Invalid(vec![InvalidKey { key, message }])
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value, and returns every problem found, each naming its key.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with one entry per bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors: Vec<InvalidKey> = Vec::new();
        let mut invalid =
            |key: &str, message: &str| errors.push(InvalidKey { key: key.into(), message: message.into() });
        let k = &self.kafka;
        if k.input_topics.is_empty() || k.input_topics.iter().any(String::is_empty) {
            invalid("kafka.input_topics", "needs at least one non-empty topic name");
        }
        for (key, topic) in [
            ("kafka.events_topic", &k.events_topic),
            ("kafka.dead_letter_topic", &k.dead_letter_topic),
            ("kafka.repartition_topic", &k.repartition_topic),
            ("kafka.changelog_topic", &k.changelog_topic),
            ("kafka.group_id", &k.group_id),
        ] {
            if topic.is_empty() {
                invalid(key, "must not be empty");
            }
        }
        if k.input_topics
            .iter()
            .any(|t| [&k.events_topic, &k.dead_letter_topic, &k.repartition_topic, &k.changelog_topic].contains(&t))
        {
            invalid("kafka.input_topics", "an input topic is also an output topic: lexwire would read its own output");
        }
        for (props, section) in [(&k.consumer, "kafka.consumer"), (&k.producer, "kafka.producer")] {
            for key in props.keys() {
                if MANAGED.contains(&key.as_str()) {
                    invalid(
                        &format!("{section}.{key}"),
                        "is set by lexwire for its delivery guarantee and cannot be overridden",
                    );
                }
            }
        }
        if self.pipeline.delivery == Delivery::ExactlyOnce
            && k.consumer.get("partition.assignment.strategy").is_some_and(|s| s.contains("cooperative"))
        {
            invalid(
                "kafka.consumer.partition.assignment.strategy",
                "a cooperative strategy cannot be used with pipeline.delivery = \"exactly-once\": a rebalance \
                 aborts the open transaction, and only an eager strategy revokes every partition it held",
            );
        }
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<SocketAddr>().is_err() {
            invalid("metrics.listen", "not an address such as 0.0.0.0:9464");
        }
        let (p, d) = (&self.pipeline, &self.dedup);
        let integers: [(&str, i128, RangeInclusive<u64>); 17] = [
            ("kafka.repartition_partitions", k.repartition_partitions.into(), limits::PARTITIONS),
            ("kafka.partitions", k.partitions.into(), limits::PARTITIONS),
            ("kafka.replication_factor", k.replication_factor.into(), limits::REPLICATION_FACTOR),
            ("kafka.connect_timeout_secs", k.connect_timeout_secs.into(), limits::CONNECT_TIMEOUT_SECS),
            ("pipeline.article_timeout_ms", p.article_timeout_ms.into(), limits::ARTICLE_TIMEOUT_MS),
            ("pipeline.commit_interval_ms", p.commit_interval_ms.into(), limits::COMMIT_INTERVAL_MS),
            ("pipeline.max_article_bytes", p.max_article_bytes as i128, limits::MAX_ARTICLE_BYTES),
            ("pipeline.max_in_flight", p.max_in_flight as i128, limits::MAX_IN_FLIGHT),
            ("pipeline.shutdown_timeout_secs", p.shutdown_timeout_secs.into(), limits::SHUTDOWN_TIMEOUT_SECS),
            ("pipeline.idle_exit_secs", p.idle_exit_secs.into(), limits::IDLE_EXIT_SECS),
            ("dedup.window_days", d.window_days.into(), limits::WINDOW_DAYS),
            ("dedup.max_events", d.max_events as i128, limits::MAX_STATE_ENTRIES),
            ("dedup.max_articles", d.max_articles as i128, limits::MAX_STATE_ENTRIES),
            ("dedup.max_future_days", d.max_future_days.into(), limits::MAX_FUTURE_DAYS),
            (
                "metrics.statistics_interval_ms",
                self.metrics.statistics_interval_ms.into(),
                limits::STATISTICS_INTERVAL_MS,
            ),
            ("dictionary.watch_secs", self.dictionary.watch_secs.into(), limits::WATCH_SECS),
            ("dictionary.dfa_budget_mb", self.dictionary.dfa_budget_mb.into(), limits::DFA_BUDGET_MB),
        ];
        for (key, value, range) in integers {
            if !(i128::from(*range.start())..=i128::from(*range.end())).contains(&value) {
                invalid(key, &format!("{value} is out of range (accepted: {} to {})", range.start(), range.end()));
            }
        }
        if !limits::DISTANCE_KM.contains(&d.distance_km) {
            invalid(
                "dedup.distance_km",
                &format!(
                    "{} is out of range (accepted: {} to {})",
                    d.distance_km,
                    limits::DISTANCE_KM.start(),
                    limits::DISTANCE_KM.end()
                ),
            );
        }
        if errors.is_empty() { Ok(()) } else { Err(ConfigError::Invalid(errors)) }
    }

    pub fn dedup_config(&self) -> crate::dedup::DedupConfig {
        crate::dedup::DedupConfig {
            window_days: self.dedup.window_days,
            max_events: self.dedup.max_events,
            max_articles: self.dedup.max_articles,
            distance_km: self.dedup.distance_km,
            max_future_days: self.dedup.max_future_days,
            ..crate::dedup::DedupConfig::default()
        }
    }

    pub fn embedded(&self) -> bool {
        self.kafka.brokers.trim().is_empty()
    }
}

/// librdkafka properties lexwire sets itself: overriding them would break its delivery guarantee.
const MANAGED: [&str; 7] = [
    "enable.auto.offset.store",
    "group.id",
    "bootstrap.servers",
    "enable.partition.eof",
    "enable.auto.commit",
    "transactional.id",
    "isolation.level",
];

/// `LEXWIRE_KAFKA_BROKERS` → `kafka.brokers`; `LEXWIRE_KAFKA_CONSUMER_SASL_MECHANISM` →
/// `kafka.consumer."sasl.mechanism"`. Variables that name no section are not configuration
/// (`LEXWIRE_DICTIONARIES`, `LEXWIRE_CORPORA`, test variables) and are skipped.
fn env_key(name: &str) -> Option<Vec<String>> {
    let rest = name.strip_prefix("LEXWIRE_")?.to_ascii_lowercase();
    let (section, key) = rest.split_once('_')?;
    if !SECTIONS.contains(&section) || key.is_empty() {
        return None;
    }
    if section == "kafka" {
        for props in ["consumer", "producer"] {
            if let Some(prop) = key.strip_prefix(props).and_then(|k| k.strip_prefix('_')) {
                return Some(vec![section.into(), props.into(), prop.replace('_', ".")]);
            }
        }
    }
    Some(vec![section.into(), key.into()])
}

/// An environment value as TOML: numbers and booleans for the keys that take them, a
/// comma-separated list for `input_topics`, strings otherwise (librdkafka properties are
/// always strings).
fn env_value(path: &[String], value: &str) -> toml::Value {
    if path.len() == 3 {
        return toml::Value::String(value.into());
    }
    if path[1] == "input_topics" {
        return toml::Value::Array(value.split(',').map(|t| toml::Value::String(t.trim().into())).collect());
    }
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    // An integer beyond TOML's 64 bits stays as written, so the error shows it (not a float).
    if value.strip_prefix('-').unwrap_or(value).bytes().all(|b| b.is_ascii_digit()) {
        return toml::Value::String(value.into());
    }
    if let Ok(f) = value.parse::<f64>() {
        return toml::Value::Float(f);
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.into()),
    }
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("a key");
    let mut t = table;
    for p in parents {
        let entry = t.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        t = entry.as_table_mut().expect("made a table");
    }
    t.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn env_overrides_any_key_and_passes_properties_through() {
        let c = Config::load(
            None,
            env(&[
                ("LEXWIRE_KAFKA_BROKERS", "host:9092"),
                ("LEXWIRE_KAFKA_INPUT_TOPICS", "a, b"),
                ("LEXWIRE_DEDUP_WINDOW_DAYS", "30"),
                ("LEXWIRE_KAFKA_CONSUMER_SASL_MECHANISM", "PLAIN"),
                ("LEXWIRE_DICTIONARIES", "ignored: not a config section"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(c.kafka.brokers, "host:9092");
        assert_eq!(c.kafka.input_topics, ["a", "b"]);
        assert_eq!(c.dedup.window_days, 30);
        assert_eq!(c.kafka.consumer["sasl.mechanism"], "PLAIN");
        assert!(!c.embedded());
    }

    #[test]
    fn errors_name_the_key() {
        let err = Config::load(None, env(&[("LEXWIRE_KAFKA_BROKRS", "x")]), &[]).unwrap_err().to_string();
        assert!(err.contains("brokrs"), "{err}");
        let err = Config::load(None, env(&[("LEXWIRE_DEDUP_WINDOW_DAYS", "soon")]), &[]).unwrap_err().to_string();
        assert!(err.contains("dedup.window_days"), "{err}");
        let err = Config::load(None, env(&[("LEXWIRE_METRICS_LISTEN", "nowhere")]), &[]).unwrap_err().to_string();
        assert!(err.contains("metrics.listen"), "{err}");
        let err = Config::load(None, env(&[("LEXWIRE_KAFKA_CONSUMER_ENABLE_AUTO_OFFSET_STORE", "true")]), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("kafka.consumer.enable.auto.offset.store"), "{err}");
    }

    #[test]
    fn the_example_file_is_valid_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/lexwire.example.toml");
        let c = Config::load(Some(&path), Vec::new(), &[]).unwrap();
        assert_eq!(c.kafka.group_id, "lexwire");
        let text = std::fs::read_to_string(&path).unwrap();
        let defaults = toml::Value::try_from(DefaultsView::default()).unwrap();
        for (section, keys) in defaults.as_table().unwrap() {
            for key in keys.as_table().unwrap().keys() {
                assert!(
                    text.contains(&format!("\n{key} =")) || text.contains(&format!("\n# {key} =")),
                    "{section}.{key} undocumented"
                );
            }
        }
    }

    /// The keys of every section, for the documentation check.
    #[derive(serde::Serialize)]
    struct DefaultsView {
        kafka: BTreeMap<&'static str, u8>,
        pipeline: BTreeMap<&'static str, u8>,
        dedup: BTreeMap<&'static str, u8>,
        metrics: BTreeMap<&'static str, u8>,
        dictionary: BTreeMap<&'static str, u8>,
    }

    impl Default for DefaultsView {
        fn default() -> Self {
            let keys = |k: &[&'static str]| k.iter().map(|k| (*k, 0)).collect();
            DefaultsView {
                kafka: keys(&[
                    "brokers",
                    "group_id",
                    "input_topics",
                    "events_topic",
                    "dead_letter_topic",
                    "repartition_topic",
                    "changelog_topic",
                    "repartition_partitions",
                    "partitions",
                    "replication_factor",
                    "create_topics",
                    "connect_timeout_secs",
                    "transactional_id",
                ]),
                pipeline: keys(&[
                    "max_article_bytes",
                    "max_in_flight",
                    "shutdown_timeout_secs",
                    "print_events",
                    "load_samples",
                    "idle_exit_secs",
                    "article_timeout_ms",
                    "delivery",
                    "commit_interval_ms",
                ]),
                dedup: keys(&["window_days", "max_events", "max_articles", "distance_km", "max_future_days"]),
                metrics: keys(&["listen", "statistics_interval_ms"]),
                dictionary: keys(&["dir", "watch_secs", "dfa_budget_mb"]),
            }
        }
    }
}
