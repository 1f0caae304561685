//! The loop both stages share: receive a message, hand it to the stage's handler, publish what
//! it returns, keep the offsets; on shutdown, drain and commit.
//!
//! Guarantees: in-flight records are bounded (`pipeline.max_in_flight`): when the producer
//! cannot keep up, the stage stops pulling messages; at the stop, what is acknowledged within
//! the deadline is committed and the rest is redelivered after the restart.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::Producer;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::consumer::{StageContext, store_ready};
use super::offsets::OffsetTracker;
use super::producer::{Deferred, publish, publish_deferred};
use super::records::{Output, OutputKind};
use super::{ServiceError, Shared};

/// Handles one message: the records it causes, or `None` to stop the stage without committing
/// the message (it is redelivered after the restart).
pub(super) type Handler<'a> = dyn FnMut(&BorrowedMessage<'_>) -> Option<Vec<Output>> + Send + 'a;

/// How long a consumer's close may run past the stop's deadline before the stop goes on without
/// it.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The loop both stages share: receive, handle, publish, track offsets; on shutdown drain and
/// commit, then close the consumer (within the stop's deadline and [`CLOSE_GRACE`]).
pub(super) async fn run_stage(
    shared: Arc<Shared>,
    consumer: StreamConsumer<StageContext>,
    tracker: Arc<Mutex<OffsetTracker>>,
    handler: &mut Handler<'_>,
) -> Result<(), ServiceError> {
    let result = match consumer.context().transactional.clone() {
        Some(txn) => super::transactions::run(&shared, &consumer, txn, handler).await,
        None => at_least_once(&shared, &consumer, tracker, handler).await,
    };
    close(consumer, &shared).await;
    result
}

/// Closes `consumer` on a thread of its own and waits for it until the stop's deadline plus
/// [`CLOSE_GRACE`]. The close leaves the group: librdkafka hands the revoke to the stage (which
/// commits once more) and waits for the group coordinator. That wait has no bound of its own,
/// and a group rebalancing while its members leave can keep it from ending (librdkafka's own
/// close loop polls until the group is terminated). The stage committed before the close began,
/// so a close that does not end in time is left to the process's exit: what was committed
/// stays committed, and the group gives the member's partitions to another once its session
/// times out (`session.timeout.ms`).
async fn close(consumer: StreamConsumer<StageContext>, shared: &Shared) {
    let stage = consumer.context().stage;
    let (closed, done) = tokio::sync::oneshot::channel::<()>();
    let spawned = std::thread::Builder::new().name(format!("{stage}-close")).spawn(move || {
        drop(consumer);
        let _ = closed.send(());
    });
    if let Err(e) = spawned {
        // The consumer went with the closure: it was closed here, unbounded.
        warn!(stage, error = %e, "no thread to close the consumer on: closed it in place");
        return;
    }
    let limit =
        shared.stop_deadline().map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now())) + CLOSE_GRACE;
    match tokio::time::timeout(limit, done).await {
        Ok(_) => debug!(stage, "consumer closed"),
        Err(_) => warn!(
            stage,
            waited_ms = limit.as_millis() as u64,
            "the consumer's close (leaving the group) did not end in time: stopping without it; what was \
             committed stays committed, and the group reassigns the partitions after session.timeout.ms"
        ),
    }
}

/// The at-least-once loop: publishes each message's records as it goes and commits the offsets
/// whose records are all acknowledged.
async fn at_least_once(
    shared: &Arc<Shared>,
    consumer: &StreamConsumer<StageContext>,
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
        store_ready(consumer, &tracker);
        tokio::select! {
            _ = super::stop_requested(&mut shutdown) => break,
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
                let (events, now): (Vec<Output>, Vec<Output>) = outputs.into_iter().partition(|o| o.kind == OutputKind::Event);
                let mut waits = Vec::with_capacity(now.len());
                for output in now {
                    waits.push(publish(shared, &tracker, &permits, output, (&topic, partition, offset, input_ts)).await);
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
        shared.unacknowledged.fetch_add(left, Ordering::SeqCst);
    }
    store_ready(consumer, &tracker);
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => warn!(stage, error = %e, "final commit failed"),
    }
    info!(stage, "stopped");
    Ok(())
}

/// A message without a value (a tombstone: a key deleted from a compacted topic) is not an
/// article, nor a broken one: it is skipped and counted (`articles_failed{class="tombstone"}`),
/// not dead-lettered — there is nothing to replay, and dead-lettering the deletions of a
/// compacted input topic would flood the dead-letter topic. `true` when `m` is one.
pub(super) fn skip_tombstone(shared: &Shared, m: &BorrowedMessage<'_>) -> bool {
    if m.payload().is_some() {
        return false;
    }
    shared.metrics.articles_failed.with_label_values(&[super::metrics::TOMBSTONE]).inc();
    debug!(topic = m.topic(), partition = m.partition(), offset = m.offset(), "tombstone skipped");
    true
}
