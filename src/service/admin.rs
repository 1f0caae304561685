//! Topic administration and the first contact with the brokers: wait until they answer, create
//! the topics lexwire uses when they are missing (sized for the largest record it writes, the
//! changelog compacted), and refuse to start when the changelog and the repartition topic
//! disagree on their partition count — a partition's state would be restored from another's.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, Producer};
use tracing::{info, warn};

use super::config::Config;
use super::records::message_max_bytes;
use super::{ServiceError, client_config, deadline_in, kafka};

/// Waits until the brokers answer a metadata request, for `timeout` at most. A warning naming
/// them comes after the first failed attempt (a few seconds), not at the end of the timeout; the
/// error names them too.
pub(super) async fn reach_brokers(
    producer: &FutureProducer,
    bootstrap: &str,
    timeout: Duration,
) -> Result<(), ServiceError> {
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
pub(super) async fn ensure_topics(
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
    let visible_by = deadline_in(TOPIC_VISIBLE);
    let r = partition_count(&admin, &k.repartition_topic, visible_by).await?;
    let c = partition_count(&admin, &k.changelog_topic, visible_by).await?;
    if r != c {
        return Err(ServiceError::Other(format!(
            "topic {} has {r} partitions and {} has {c}: the changelog must have as many partitions as the repartition topic",
            k.repartition_topic, k.changelog_topic
        )));
    }
    Ok(())
}

/// How long a topic missing from the metadata is read again before lexwire gives up on it.
const TOPIC_VISIBLE: Duration = Duration::from_secs(15);

/// The partition count of `topic`. A broker may answer a metadata request before a topic it has
/// just created (here, or by another instance starting at the same time) is visible in it —
/// Tansu does, for a few hundred milliseconds — so a topic unknown or without a leader is read
/// again every 200 ms until `visible_by`.
async fn partition_count<C: rdkafka::client::ClientContext>(
    admin: &AdminClient<C>,
    topic: &str,
    visible_by: Instant,
) -> Result<usize, ServiceError> {
    let started = Instant::now();
    let mut reads = 0u32;
    loop {
        reads += 1;
        let md = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(kafka(format!("metadata of {topic}")))?;
        let t = md.topics().first().ok_or_else(|| ServiceError::Other(format!("topic {topic} missing")))?;
        let code = t.error().map(RDKafkaErrorCode::from);
        let not_yet =
            matches!(code, Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::LeaderNotAvailable))
                || (code.is_none() && t.partitions().is_empty());
        if !not_yet {
            return match code {
                Some(code) => Err(ServiceError::Other(format!("topic {topic}: {code:?}"))),
                None => {
                    if reads > 1 {
                        info!(topic, waited_ms = started.elapsed().as_millis() as u64, "topic now in the metadata");
                    }
                    Ok(t.partitions().len())
                }
            };
        }
        if Instant::now() >= visible_by {
            let state = code.map_or_else(|| "no partitions".to_owned(), |c| format!("{c:?}"));
            return Err(ServiceError::Other(format!(
                "topic {topic}: {state} for {} s (create it, or set kafka.create_topics)",
                TOPIC_VISIBLE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
