//! The dedup state's changelog: writing a partition's state changes to the same partition of the
//! compacted changelog topic, and restoring a partition's state from it when the partition is
//! assigned.
//!
//! Guarantees: a restore reads its changelog partition to the end (retrying broker errors until
//! a deadline) before the partition's first message is processed; a restore that cannot finish
//! stops the service rather than run without state, which would announce known events again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::config::Config;
use super::consumer::consumer_config;
use super::records::{Origin, Output, OutputKind};
use super::{ServiceError, Shared, kafka};
use crate::dedup::{Deduper, StateChange};

/// The changelog records of a partition's state changes: to the same partition of the changelog
/// topic as the repartition partition whose state changed, keyed by state key; a forgotten key
/// is a tombstone, which compaction turns into its deletion.
pub(super) fn records(
    config: &Config,
    partition: i32,
    changes: Vec<StateChange>,
    origin: &Arc<Origin>,
) -> impl Iterator<Item = Output> {
    let topic = config.kafka.changelog_topic.clone();
    let origin = origin.clone();
    changes.into_iter().map(move |change| Output {
        topic: topic.clone(),
        partition: Some(partition),
        key: Some(change.key.into_bytes()),
        payload: change.value,
        headers: Vec::new(),
        timestamp: None,
        kind: OutputKind::Changelog,
        class: None,
        origin: Some(origin.clone()),
    })
}

/// The consumer that reads the changelog to restore state: assigned partitions, never
/// committed, connected once.
pub(super) fn restore_consumer(shared: &Shared) -> Result<BaseConsumer, ServiceError> {
    restore_consumer_config(&shared.config, &shared.bootstrap).create().map_err(kafka("changelog consumer"))
}

/// The changelog consumer's configuration: no statistics. It is polled only while it restores,
/// so statistics events would queue up in its main queue for the life of the process (a memory
/// leak); its lag means nothing anyway.
pub(super) fn restore_consumer_config(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut cc = consumer_config(config, bootstrap, &format!("{}.restore", config.kafka.group_id));
    cc.set("enable.auto.commit", "false").set("statistics.interval.ms", "0");
    cc
}

/// Reads partition `partition` of the changelog from the start to its end into a new state.
///
/// Broker errors (a leader down, a restart) are retried until [`RESTORE_DEADLINE`]; a shutdown
/// interrupts it ([`ServiceError::Interrupted`]).
pub(super) fn restore_partition(
    shared: &Shared,
    consumer: &BaseConsumer,
    partition: i32,
) -> Result<Deduper, ServiceError> {
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
    let mut deduper = Deduper::new(shared.config.dedup_config());
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
pub(super) const RESTORE_DEADLINE: Duration = Duration::from_secs(120);

/// How long a restore waits for the next changelog record short of the high watermark before
/// it fetches again.
pub(super) const RESTORE_STALL: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::mocking::MockCluster;

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
