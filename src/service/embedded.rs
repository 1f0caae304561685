//! The embedded default: librdkafka's mock cluster in the process, loaded with the bundled sample
//! articles, so that `lexwire run` without brokers shows the whole pipeline on one machine.
//! A demonstration, not storage: the mock keeps little and loses everything at exit.

use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureRecord};
use tracing::info;

use super::config::Config;
use super::{ServiceError, Shared, kafka};

/// `fetch.wait.max.ms` on the embedded broker, which holds an empty fetch for the whole wait.
pub const MOCK_FETCH_WAIT_MS: &str = "5";

/// The sample articles the embedded default loads: the seeds, in date order.
pub(super) const SAMPLES: &str = include_str!("../../tests/fixtures/articles.jsonl");

/// Starts the embedded broker (librdkafka's mock cluster, one broker) and sets what a run on it
/// needs: events printed, the samples loaded, a short fetch wait. Returns the broker, to keep
/// alive while the service runs, and its bootstrap address.
pub(super) fn start(
    config: &mut Config,
) -> Result<(MockCluster<'static, DefaultProducerContext>, String), ServiceError> {
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
    Ok((mock, bootstrap))
}

/// Produces the bundled sample articles to the first input topic, partition 0, in order.
pub(super) async fn load_samples(shared: &Shared) -> Result<(), ServiceError> {
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
