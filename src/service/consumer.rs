//! The consumer side: the stages' consumer configuration, and the callbacks that keep offsets
//! honest across rebalances and feed the lag gauges.
//!
//! Guarantees: an offset is stored for commit only once [`OffsetTracker`] says every record it
//! caused is acknowledged; before partitions are revoked, their in-flight records get until the
//! deadline to be acknowledged and what is done is committed, so the next owner starts where
//! this one stopped (anything later is redelivered, never skipped).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use rdkafka::statistics::Statistics;
use tracing::{debug, error, info, warn};

use super::config::{Config, Delivery};
use super::offsets::OffsetTracker;
use super::transactions::Transactional;
use super::{ServiceError, Shared, client_config, deadline_in, kafka};
use crate::dedup::Deduper;

/// Consumer callbacks: rebalances commit finished work before partitions go; statistics feed
/// the lag gauges.
pub(super) struct StageContext {
    pub(super) stage: &'static str,
    pub(super) shared: Arc<Shared>,
    pub(super) tracker: Arc<Mutex<OffsetTracker>>,
    /// The dedup stage's state, by repartition partition.
    pub(super) states: Arc<Mutex<HashMap<i32, Deduper>>>,
    /// Under exactly-once: the stage's transactional producer, whose open transaction a
    /// rebalance aborts.
    pub(super) transactional: Option<Arc<Transactional>>,
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
        if let Some(txn) = &self.transactional {
            txn.abort_for_rebalance(&self.shared, self.stage);
        }
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
pub(super) fn store_ready<C: ConsumerContext>(consumer: &impl Consumer<C>, tracker: &Mutex<OffsetTracker>) {
    let ready = tracker.lock().expect("tracker").take_ready();
    for (topic, partition, offset) in ready {
        debug!(%topic, partition, offset, "offset stored");
        if let Err(e) = consumer.store_offset(&topic, partition, offset - 1) {
            debug!(%topic, partition, error = %e, "cannot store offset (partition revoked?)");
        }
    }
}

pub(super) fn consumer_config(config: &Config, bootstrap: &str, group: &str) -> ClientConfig {
    let mut c = client_config(bootstrap);
    c.set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        // Never a record of an aborted or open transaction (librdkafka's default, said here:
        // exactly-once rests on it, and the changelog restore too).
        .set("isolation.level", "read_committed")
        .set("statistics.interval.ms", config.metrics.statistics_interval_ms.to_string());
    if config.pipeline.delivery == Delivery::ExactlyOnce {
        // Offsets are committed by the transactions only.
        c.set("enable.auto.commit", "false");
    }
    for (k, v) in &config.kafka.consumer {
        c.set(k, v);
    }
    c
}

pub(super) fn new_consumer(
    shared: &Arc<Shared>,
    stage: &'static str,
    group: &str,
    states: Arc<Mutex<HashMap<i32, Deduper>>>,
) -> Result<(StreamConsumer<StageContext>, Arc<Mutex<OffsetTracker>>), ServiceError> {
    let tracker = Arc::new(Mutex::new(OffsetTracker::default()));
    let transactional = match shared.config.pipeline.delivery {
        Delivery::ExactlyOnce => Some(Transactional::start(shared, stage)?),
        Delivery::AtLeastOnce => None,
    };
    let context = StageContext { stage, shared: shared.clone(), tracker: tracker.clone(), states, transactional };
    let consumer: StreamConsumer<StageContext> = consumer_config(&shared.config, &shared.bootstrap, group)
        .create_with_context(context)
        .map_err(kafka(format!("{stage} consumer")))?;
    Ok((consumer, tracker))
}
