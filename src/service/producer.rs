//! The producer side: the producer's configuration, handing records to librdkafka, and waiting
//! for the broker's acknowledgement with retries.
//!
//! Guarantees: a record is retried until the broker acknowledges it or the stop's deadline
//! passes (idempotence keeps retried batches in order); a record the broker refuses for good
//! (too large, invalid) is replaced by its input's dead letter; an input offset is marked done
//! in the [`OffsetTracker`] only after its record is acknowledged; an article's event records
//! are enqueued only after its state changes are acknowledged ([`Deferred`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::Semaphore;
use tracing::{debug, error, warn};

use super::config::Config;
use super::offsets::OffsetTracker;
use super::records::{Output, OutputKind, dead_letter, message_max_bytes, record_size};
use super::{ServiceError, Shared, client_config, now_ms};

/// A produce error no retry can fix: the record is too large or invalid for the broker.
pub(super) fn permanent_error(e: &KafkaError) -> Option<RDKafkaErrorCode> {
    let code = e.rdkafka_error_code()?;
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::InvalidTimestamp
    )
    .then_some(code)
}

pub(super) fn producer_config(config: &Config, bootstrap: &str) -> ClientConfig {
    let mut c = client_config(bootstrap);
    // Idempotence: retried batches keep their order, so a state change never lands before the
    // one it follows, and a later revision of an event never before an earlier one.
    c.set("linger.ms", "1").set("acks", "all").set("message.timeout.ms", "30000").set("enable.idempotence", "true");
    // librdkafka's default (1,000,000 bytes) is below the largest article: sized from it.
    c.set("message.max.bytes", message_max_bytes(config));
    for (k, v) in &config.kafka.producer {
        c.set(k, v);
    }
    c
}

/// Hands `output` to the producer's queue, waiting while the queue is full. `Err` for an error
/// that is not about space (the caller retries through [`deliver`]).
pub(super) async fn enqueue(shared: &Shared, output: &Output) -> Result<DeliveryFuture, KafkaError> {
    enqueue_to(&shared.producer, &shared.abandon, output).await
}

/// [`enqueue`] on `producer`; gives up waiting for space once `abandon` is set.
pub(super) async fn enqueue_to(
    producer: &FutureProducer,
    abandon: &AtomicBool,
    output: &Output,
) -> Result<DeliveryFuture, KafkaError> {
    loop {
        let mut headers = OwnedHeaders::new_with_capacity(output.headers.len());
        for (k, v) in &output.headers {
            headers = headers.insert(Header { key: k, value: Some(v.as_slice()) });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&output.topic).headers(headers);
        if let Some(k) = &output.key {
            record = record.key(k.as_slice());
        }
        if let Some(p) = &output.payload {
            record = record.payload(p.as_slice());
        }
        if let Some(p) = output.partition {
            record = record.partition(p);
        }
        if let Some(t) = output.timestamp {
            record = record.timestamp(t);
        }
        match producer.send_result(record) {
            Ok(future) => return Ok(future),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                if abandon.load(Ordering::SeqCst) {
                    return Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Waits for `first` (an enqueued delivery), then retries `output` until the broker
/// acknowledges it. `false` when the shutdown deadline passed first.
///
/// A permanent error (the record too large or invalid for the broker) is not retried: the
/// input message goes to the dead-letter topic instead, and its acknowledgement stands for the
/// record's; a dead letter refused for good is counted (`lexwire_dead_letters_refused_total`)
/// and logged, and the input offset moves on. Either way `true`: the partition is not stalled.
pub(super) async fn deliver(shared: &Shared, output: &Output, first: Result<DeliveryFuture, KafkaError>) -> bool {
    let mut backoff = Duration::from_millis(50);
    let mut attempt = first;
    let mut replacement: Option<Output> = None;
    loop {
        let current = replacement.as_ref().unwrap_or(output);
        let error = match attempt {
            // The stop's one deadline bounds the wait for an acknowledgement too (librdkafka may
            // hold a record up to message.timeout.ms): past it the record counts as not
            // delivered, so its input is not committed and comes back.
            Ok(mut future) => {
                let acknowledged = loop {
                    match tokio::time::timeout(Duration::from_millis(100), &mut future).await {
                        Ok(result) => break Some(result),
                        Err(_) if shared.stop_deadline().is_some_and(|d| Instant::now() >= d) => break None,
                        Err(_) => {}
                    }
                };
                let Some(acknowledged) = acknowledged else { return false };
                match acknowledged {
                    Ok(Ok(_)) => {
                        if let Some(class) = current.class {
                            shared.metrics.dead_letters.with_label_values(&[class]).inc();
                        }
                        return true;
                    }
                    Ok(Err((e, _))) => Some(e),
                    Err(_) => {
                        warn!(topic = %current.topic, "delivery canceled; retrying");
                        None
                    }
                }
            }
            Err(e) => Some(e),
        };
        if let Some(e) = error {
            shared.metrics.delivery_errors.with_label_values(&[current.kind.as_str()]).inc();
            match permanent_error(&e) {
                Some(code) if current.kind == OutputKind::DeadLetter => {
                    shared.metrics.dead_letters_refused.inc();
                    error!(
                        topic = %current.topic,
                        error = %e,
                        bytes = record_size(current),
                        "the broker refused a dead letter for good ({code:?}); the input offset moves on"
                    );
                    return true;
                }
                Some(code) => {
                    let Some(origin) = &current.origin else {
                        error!(topic = %current.topic, error = %e, "record refused for good and nothing to dead-letter");
                        return true;
                    };
                    let class = if code == RDKafkaErrorCode::InvalidRecord || code == RDKafkaErrorCode::InvalidTimestamp
                    {
                        "rejected"
                    } else {
                        "oversize"
                    };
                    let message = format!(
                        "the broker refused the {} record for {} ({} bytes) for good: {e}",
                        current.kind.as_str(),
                        current.topic,
                        record_size(current)
                    );
                    warn!(topic = %current.topic, error = %e, class, "record refused for good: dead-lettering its input");
                    let letter = dead_letter(shared, origin, class, &message);
                    attempt = enqueue(shared, &letter).await;
                    replacement = Some(letter);
                    continue;
                }
                None => warn!(topic = %current.topic, error = %e, "delivery failed; retrying"),
            }
        }
        if let Some((code, reason)) = shared.producer.client().fatal_error() {
            // The producer can send nothing more (an idempotence violation): stop; what is not
            // acknowledged is not committed and comes back after the restart.
            shared.fail(ServiceError::Other(format!("producer failed ({code:?}): {reason}")));
            return false;
        }
        if shared.abandon.load(Ordering::SeqCst) {
            return false;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        attempt = enqueue(shared, replacement.as_ref().unwrap_or(output)).await;
    }
}

/// Event records of one input message, published once its state changes are acknowledged: an
/// event record never reaches the broker before the state that knows it.
pub(super) struct Deferred {
    pub(super) waits: Vec<tokio::task::JoinHandle<bool>>,
    pub(super) outputs: Vec<Output>,
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) input_ts: Option<i64>,
}

/// Enqueues `output` now and acknowledges `offset` in the tracker once the broker has it.
pub(super) async fn publish(
    shared: &Arc<Shared>,
    tracker: &Arc<Mutex<OffsetTracker>>,
    permits: &Arc<Semaphore>,
    output: Output,
    (topic, partition, offset, input_ts): (&str, i32, i64, Option<i64>),
) -> tokio::task::JoinHandle<bool> {
    // Backpressure: no permit, no next message.
    let permit = permits.clone().acquire_owned().await.expect("semaphore open");
    // Enqueued here, in order; only the waiting for acknowledgement is spawned.
    let first = enqueue(shared, &output).await;
    let (shared, tracker, topic) = (shared.clone(), tracker.clone(), topic.to_string());
    tokio::spawn(async move {
        let _permit = permit;
        let ok = deliver(&shared, &output, first).await;
        if ok {
            if output.kind == OutputKind::Event
                && let Some(ts) = input_ts
            {
                shared.metrics.latency_seconds.observe(now_ms().saturating_sub(ts as u64) as f64 / 1e3);
            }
            debug!(kind = output.kind.as_str(), to = %output.topic, key = %String::from_utf8_lossy(output.key.as_deref().unwrap_or_default()), %topic, partition, offset, "acknowledged");
            tracker.lock().expect("tracker").ack(&topic, partition, offset);
        }
        ok
    })
}

/// Publishes deferred event records in input order, each batch after its state changes.
pub(super) async fn publish_deferred(
    shared: Arc<Shared>,
    tracker: Arc<Mutex<OffsetTracker>>,
    permits: Arc<Semaphore>,
    mut queue: tokio::sync::mpsc::Receiver<Deferred>,
) {
    while let Some(d) = queue.recv().await {
        let mut state_ok = true;
        for wait in d.waits {
            state_ok &= wait.await.unwrap_or(false);
        }
        if !state_ok {
            // Abandoned at shutdown: the offset stays uncommitted and the message comes back.
            continue;
        }
        for output in d.outputs {
            publish(&shared, &tracker, &permits, output, (&d.topic, d.partition, d.offset, d.input_ts)).await;
        }
    }
}
