//! What the stages write: an [`Output`] (an owned record, retried until acknowledged), the
//! [`Origin`] it was made from, dead letters with their headers, and the record size limit.
//!
//! Guarantees: a dead letter always fits the record limit (key and payload are cut, with a header
//! giving the original length), so that writing it cannot fail for its size.

use std::sync::Arc;

use rdkafka::Message;
use rdkafka::message::BorrowedMessage;

use super::Shared;
use super::config::Config;

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
    /// On a repartitioned article: what the articles stage found in it, for the dedup stage
    /// (JSON).
    pub const ANALYSIS: &str = "lexwire.analysis";
    /// On a dead letter whose key was cut: the original length.
    pub const KEY_TRUNCATED: &str = "lexwire.key.truncated";
}

/// Room for a record's key, headers and framing beyond `pipeline.max_article_bytes`.
pub(super) const RECORD_OVERHEAD: usize = 64 * 1024;
/// librdkafka's per-message framing, counted in `message.max.bytes` on top of what lexwire counts.
pub(super) const PRODUCER_FRAMING: usize = 4096;
/// Cap on a dead letter's key and error message.
pub(super) const MAX_DEAD_LETTER_KEY: usize = 4096;
pub(super) const MAX_ERROR_MESSAGE: usize = 1024;

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
pub(super) fn message_max_bytes(config: &Config) -> String {
    record_limit(config).saturating_add(PRODUCER_FRAMING).min(1_000_000_000).to_string()
}

/// The size a record counts against [`record_limit`].
pub(super) fn record_size(output: &Output) -> usize {
    output.key.as_ref().map_or(0, Vec::len)
        + output.payload.as_ref().map_or(0, Vec::len)
        + output.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
}

/// `bytes` cut to at most `max` bytes, on a UTF-8 boundary when it is text.
pub(super) fn truncated(bytes: &[u8], max: usize) -> &[u8] {
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
pub(super) struct Origin {
    pub(super) key: Option<Vec<u8>>,
    /// `None`: a tombstone.
    pub(super) payload: Option<Vec<u8>>,
    pub(super) timestamp: Option<i64>,
    /// `lexwire.source.*` headers: where the message came from.
    pub(super) source: Vec<(&'static str, Vec<u8>)>,
    pub(super) dictionary_version: String,
}

impl Origin {
    pub(super) fn of(
        m: &BorrowedMessage<'_>,
        source: Vec<(&'static str, Vec<u8>)>,
        dictionary_version: &str,
    ) -> Origin {
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
pub(super) fn dead_letter(shared: &Shared, origin: &Origin, class: &'static str, message: &str) -> Output {
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
        kind: OutputKind::DeadLetter,
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

/// The input message's coordinates that stage 1 put on a repartitioned article, to pass on.
pub(super) fn forwarded_source(m: &BorrowedMessage<'_>) -> Vec<(&'static str, Vec<u8>)> {
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

/// What a record is: the `output` label of `lexwire_delivery_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// An article, re-keyed for the dedup stage.
    Repartition,
    DeadLetter,
    /// An event record.
    Event,
    /// A dedup state change.
    Changelog,
}

impl OutputKind {
    pub const ALL: [OutputKind; 4] =
        [OutputKind::Repartition, OutputKind::DeadLetter, OutputKind::Event, OutputKind::Changelog];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Repartition => "repartition",
            OutputKind::DeadLetter => "dead_letter",
            OutputKind::Event => "event",
            OutputKind::Changelog => "changelog",
        }
    }
}

/// A record to publish, owned so that a failed delivery can be retried.
#[derive(Debug, Clone)]
pub(super) struct Output {
    pub(super) topic: String,
    pub(super) partition: Option<i32>,
    pub(super) key: Option<Vec<u8>>,
    /// `None`: a tombstone (a forgotten state key).
    pub(super) payload: Option<Vec<u8>>,
    pub(super) headers: Vec<(&'static str, Vec<u8>)>,
    pub(super) timestamp: Option<i64>,
    pub(super) kind: OutputKind,
    /// A dead letter's error class, counted once the broker has it.
    pub(super) class: Option<&'static str>,
    /// The input message, for a dead letter if the broker refuses this record for good.
    pub(super) origin: Option<Arc<Origin>>,
}
