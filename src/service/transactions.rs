//! Exactly-once (`pipeline.delivery = "exactly-once"`): each stage reads, processes and writes in
//! Kafka transactions. A transaction holds what the stage did for `pipeline.commit_interval_ms`:
//! the records of its messages (repartitioned articles; event records and changelog records;
//! dead letters) and the consumed offsets (`send_offsets_to_transaction`). They commit together
//! or not at all, and consumers read `read_committed`, so a record of an aborted or unfinished
//! transaction is never seen and never built upon.
//!
//! Fencing follows KIP-447: one transactional producer per stage and instance
//! (`<kafka.transactional_id>.<stage>`), and the consumer group's metadata sent with the offsets,
//! so the group coordinator refuses the offsets of an instance that lost its partitions in a
//! rebalance. A restarted instance with the same id fences its predecessor and aborts the
//! transaction it left open at once. (One producer per input partition, the pre-KIP-447 form,
//! would mean a producer, its connections and its buffers per partition: hundreds on a
//! repartition topic sized for growth.)
//!
//! An aborted transaction leaves the stage's memory ahead of Kafka: the consumer has moved past
//! the batch and the dedup state has applied it. Both are put back: the consumer seeks to the
//! batch's first offsets, and the dedup state of those partitions is dropped, to be restored
//! from the changelog's committed records before the next message. A record the broker refuses
//! for good (too large, invalid) aborts its transaction too; the batch is then processed again
//! with that message's dead letter in place of its records.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{DeliveryFuture, FutureProducer, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::consumer::StageContext;
use super::producer::{enqueue_to, permanent_error, producer_config};
use super::records::{Origin, OutputKind, dead_letter, forwarded_source, headers};
use super::stage::Handler;
use super::{ServiceError, Shared, kafka, now_ms};

/// How long one transactional call (init, offsets, commit, abort) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A stage's transactional producer, shared with its consumer's rebalance callback.
pub(super) struct Transactional {
    pub(super) producer: FutureProducer,
    pub(super) id: String,
    /// A transaction is open.
    open: AtomicBool,
    /// A rebalance aborted the open transaction: the stage drops its batch.
    aborted_by_rebalance: AtomicBool,
}

impl Transactional {
    /// The producer of `stage`, its transactions initialised: a predecessor with the same id is
    /// fenced and its open transaction aborted.
    pub(super) fn start(shared: &Shared, stage: &str) -> Result<Arc<Transactional>, ServiceError> {
        let id = format!("{}.{stage}", transactional_prefix(&shared.config));
        let mut config = producer_config(&shared.config, &shared.bootstrap);
        config.set("transactional.id", &id);
        let producer: FutureProducer = config.create().map_err(kafka(format!("{stage} transactional producer")))?;
        let timeout = Duration::from_secs(shared.config.kafka.connect_timeout_secs);
        tokio::task::block_in_place(|| producer.init_transactions(timeout))
            .map_err(kafka(format!("init transactions of {id} (brokers 2.5 or later)")))?;
        info!(stage, transactional_id = %id, "exactly-once: transactions initialised");
        Ok(Arc::new(Transactional {
            producer,
            id,
            open: AtomicBool::new(false),
            aborted_by_rebalance: AtomicBool::new(false),
        }))
    }

    /// Aborts the open transaction, if any, before the stage's partitions are revoked: their
    /// next owner starts from the committed offsets, and must not find records of this batch.
    pub(super) fn abort_for_rebalance(&self, shared: &Shared, stage: &str) {
        if !self.open.swap(false, Ordering::SeqCst) {
            return;
        }
        match self.producer.abort_transaction(CALL_TIMEOUT) {
            Ok(()) => {
                shared.metrics.transactions.with_label_values(&[stage, "aborted"]).inc();
                info!(stage, "partitions revoked: the open transaction is aborted, its messages go to the next owner");
            }
            Err(e) => shared.fail(ServiceError::Other(format!(
                "{stage}: cannot abort the open transaction before a rebalance: {e}"
            ))),
        }
        self.aborted_by_rebalance.store(true, Ordering::SeqCst);
    }
}

/// `kafka.transactional_id`, or `<group_id>.<host name>`.
fn transactional_prefix(config: &super::Config) -> String {
    if !config.kafka.transactional_id.is_empty() {
        return config.kafka.transactional_id.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "lexwire".into());
    format!("{}.{host}", config.kafka.group_id)
}

/// A record sent in the open transaction, and the input message it came from.
struct Sent {
    delivery: DeliveryFuture,
    input: (String, i32, i64),
    kind: OutputKind,
    class: Option<&'static str>,
    input_ts: Option<i64>,
}

/// The messages of the open transaction.
struct Batch {
    started: Instant,
    /// Per partition, the first offset of the batch (where to go back to on abort) and the next
    /// offset to commit.
    offsets: HashMap<(String, i32), (i64, i64)>,
    sent: Vec<Sent>,
    /// Input messages in the transaction.
    messages: usize,
    /// A record that could not be handed to the producer: the transaction cannot commit.
    failed: Option<KafkaError>,
}

/// How a transaction ended.
enum Ended {
    Committed,
    Aborted,
    /// The producer cannot go on (fenced, or a fatal error): the service stops.
    Fatal,
}

/// The loop of a stage under exactly-once: collect messages into a transaction for
/// `pipeline.commit_interval_ms`, then commit their records and offsets together.
pub(super) async fn run(
    shared: &Shared,
    consumer: &StreamConsumer<StageContext>,
    txn: Arc<Transactional>,
    handler: &mut Handler<'_>,
) -> Result<(), ServiceError> {
    let stage = consumer.context().stage;
    let interval = Duration::from_millis(shared.config.pipeline.commit_interval_ms);
    let mut shutdown = shared.shutdown.subscribe();
    let mut batch: Option<Batch> = None;
    // Messages whose records the broker refused for good: their dead letter replaces them.
    let mut refused: HashMap<(String, i32, i64), String> = HashMap::new();
    loop {
        if txn.aborted_by_rebalance.swap(false, Ordering::SeqCst) {
            // Aborted by the rebalance; the new assignment starts from the committed offsets.
            batch = None;
        }
        let wait = batch.as_ref().map_or(Duration::from_millis(100), |b| interval.saturating_sub(b.started.elapsed()));
        tokio::select! {
            _ = super::stop_requested(&mut shutdown) => break,
            _ = tokio::time::sleep(wait) => {
                shared.metrics.producer_queue.set(txn.producer.in_flight_count() as i64);
                if let Some(b) = batch.take()
                    && let Ended::Fatal = end(shared, consumer, &txn, b, &mut refused).await
                {
                    return Ok(());
                }
            }
            message = consumer.recv() => {
                let m = match message {
                    Ok(m) => m,
                    Err(e) => {
                        warn!(stage, error = %e, "consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if txn.aborted_by_rebalance.swap(false, Ordering::SeqCst) {
                    batch = None;
                }
                shared.touch();
                if batch.is_none() {
                    if let Err(e) = txn.producer.begin_transaction() {
                        shared.fail(ServiceError::Other(format!("{stage}: cannot begin a transaction: {e}")));
                        return Ok(());
                    }
                    txn.open.store(true, Ordering::SeqCst);
                    batch = Some(Batch {
                        started: Instant::now(),
                        offsets: HashMap::new(),
                        sent: Vec::new(),
                        messages: 0,
                        failed: None,
                    });
                }
                let b = batch.as_mut().expect("begun above");
                if !add(shared, &txn, b, &m, handler, &mut refused).await {
                    // The handler asked to stop: the message and the batch are not committed.
                    drop(m);
                    abort(shared, consumer, &txn, batch.take().expect("open"), false);
                    break;
                }
            }
        }
    }
    // The stop: the open transaction commits within the deadline, or is aborted and its
    // messages come back after the restart.
    shared.shutdown();
    if let Some(b) = batch.take() {
        let messages = b.messages;
        if !matches!(end(shared, consumer, &txn, b, &mut refused).await, Ended::Committed) {
            shared.unacknowledged.fetch_add(messages, Ordering::SeqCst);
        }
    }
    info!(stage, "stopped");
    Ok(())
}

/// Processes `m` into the open transaction. `false` when the handler asked the stage to stop.
async fn add(
    shared: &Shared,
    txn: &Transactional,
    b: &mut Batch,
    m: &BorrowedMessage<'_>,
    handler: &mut Handler<'_>,
    refused: &mut HashMap<(String, i32, i64), String>,
) -> bool {
    let input = (m.topic().to_string(), m.partition(), m.offset());
    let outputs = match refused.remove(&input) {
        Some(message) => {
            let mut source = forwarded_source(m);
            if source.is_empty() {
                source = vec![
                    (headers::SOURCE_TOPIC, m.topic().as_bytes().to_vec()),
                    (headers::SOURCE_PARTITION, m.partition().to_string().into_bytes()),
                    (headers::SOURCE_OFFSET, m.offset().to_string().into_bytes()),
                ];
            }
            let version = shared.tagger().dictionary().version().to_string();
            vec![dead_letter(shared, &Origin::of(m, source, &version), refused_class(&message), &message)]
        }
        None => match handler(m) {
            Some(outputs) => outputs,
            None => return false,
        },
    };
    let input_ts = m.timestamp().to_millis();
    for output in outputs {
        match enqueue_to(&txn.producer, &shared.abandon, &output).await {
            Ok(delivery) => {
                b.sent.push(Sent { delivery, input: input.clone(), kind: output.kind, class: output.class, input_ts })
            }
            Err(e) => {
                shared.metrics.delivery_errors.with_label_values(&[output.kind.as_str()]).inc();
                b.failed.get_or_insert(e);
            }
        }
    }
    b.messages += 1;
    let (topic, partition, offset) = input;
    b.offsets.entry((topic, partition)).and_modify(|o| o.1 = offset + 1).or_insert((offset, offset + 1));
    true
}

/// The dead-letter class of a record refused for good, from the message [`end`] wrote.
fn refused_class(message: &str) -> &'static str {
    if message.contains("InvalidRecord") || message.contains("InvalidTimestamp") { "rejected" } else { "oversize" }
}

/// Commits the batch's records with its offsets; on failure, aborts it and puts the stage back
/// where the batch began.
async fn end(
    shared: &Shared,
    consumer: &StreamConsumer<StageContext>,
    txn: &Transactional,
    mut b: Batch,
    refused: &mut HashMap<(String, i32, i64), String>,
) -> Ended {
    let stage = consumer.context().stage;
    let committed = match b.failed.take() {
        Some(e) => Err(e),
        None => tokio::task::block_in_place(|| commit(consumer, txn, &b)),
    };
    match committed {
        Ok(()) => {
            txn.open.store(false, Ordering::SeqCst);
            shared.metrics.transactions.with_label_values(&[stage, "committed"]).inc();
            for sent in b.sent {
                // Acknowledged: the commit flushed them.
                if let Some(class) = sent.class {
                    shared.metrics.dead_letters.with_label_values(&[class]).inc();
                }
                if sent.kind == OutputKind::Event
                    && let Some(ts) = sent.input_ts
                {
                    shared.metrics.latency_seconds.observe(now_ms().saturating_sub(ts as u64) as f64 / 1e3);
                }
            }
            debug!(stage, "transaction committed");
            Ended::Committed
        }
        Err(e) => {
            if fatal(txn, &e) {
                shared.fail(ServiceError::Other(format!(
                    "{stage}: the transactional producer {} cannot go on (another instance with the same \
                     kafka.transactional_id, or a fatal broker error): {e}",
                    txn.id
                )));
                return Ended::Fatal;
            }
            warn!(stage, error = %e, "transaction failed: aborting it and processing its messages again");
            let sent = abort(shared, consumer, txn, b, true);
            // Records the broker refused for good: their messages are dead-lettered next time.
            for s in sent {
                if let Ok(Ok(Err((error, _)))) = tokio::time::timeout(Duration::from_secs(1), s.delivery).await
                    && let Some(code) = permanent_error(&error)
                {
                    let message =
                        format!("the broker refused the {} record for good ({code:?}): {error}", s.kind.as_str());
                    refused.insert(s.input, message);
                }
            }
            Ended::Aborted
        }
    }
}

/// Sends the batch's offsets to the transaction and commits it (retrying what librdkafka calls
/// retriable).
fn commit(consumer: &StreamConsumer<StageContext>, txn: &Transactional, b: &Batch) -> Result<(), KafkaError> {
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), (_, next)) in &b.offsets {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
    }
    // No metadata: the consumer left its group; the offsets cannot be committed.
    let group = consumer.group_metadata().ok_or(KafkaError::Global(RDKafkaErrorCode::State))?;
    retrying(|| txn.producer.send_offsets_to_transaction(&offsets, &group, CALL_TIMEOUT))?;
    retrying(|| txn.producer.commit_transaction(CALL_TIMEOUT))
}

/// `call`, again while it fails with an error librdkafka marks retriable (a timeout, a
/// coordinator moving).
fn retrying(mut call: impl FnMut() -> Result<(), KafkaError>) -> Result<(), KafkaError> {
    let mut attempts = 0;
    loop {
        match call() {
            Err(KafkaError::Transaction(e)) if e.is_retriable() && attempts < 10 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(100 * attempts));
            }
            result => return result,
        }
    }
}

/// Whether `e` ends the producer: fenced by a newer instance, or fatal.
fn fatal(txn: &Transactional, e: &KafkaError) -> bool {
    matches!(e, KafkaError::Transaction(t) if t.is_fatal()) || txn.producer.client().fatal_error().is_some()
}

/// Aborts the open transaction and puts the stage back where the batch began: the consumer at
/// the batch's first offsets (when `rewind`), the dedup state of its partitions dropped, to be
/// restored from the changelog. Returns the batch's records, for their delivery errors.
fn abort(
    shared: &Shared,
    consumer: &StreamConsumer<StageContext>,
    txn: &Transactional,
    b: Batch,
    rewind: bool,
) -> Vec<Sent> {
    let stage = consumer.context().stage;
    txn.open.store(false, Ordering::SeqCst);
    if let Err(e) = tokio::task::block_in_place(|| retrying(|| txn.producer.abort_transaction(CALL_TIMEOUT))) {
        shared.fail(ServiceError::Other(format!("{stage}: cannot abort a transaction: {e}")));
        return b.sent;
    }
    shared.metrics.transactions.with_label_values(&[stage, "aborted"]).inc();
    let mut states = consumer.context().states.lock().expect("states");
    for ((topic, partition), (first, _)) in &b.offsets {
        states.remove(partition);
        if rewind && let Err(e) = consumer.seek(topic, *partition, Offset::Offset(*first), Duration::from_secs(10)) {
            // Going on past the batch would commit offsets beyond messages never committed.
            shared.fail(ServiceError::Other(format!(
                "{stage}: cannot go back to {topic} [{partition}] offset {first} after an aborted transaction: {e}"
            )));
        }
    }
    b.sent
}
