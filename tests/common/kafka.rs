//! Helpers for the service tests: a broker (the in-process mock cluster, or the real broker
//! `tests/run` starts), producing, reading a topic whole, running `lexwire run`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

/// A mock cluster (librdkafka's, in the test process; lexwire reaches it on loopback), kept alive
/// as long as this is.
pub struct Cluster {
    pub mock: MockCluster<'static, DefaultProducerContext>,
    pub bootstrap: String,
}

/// A mock cluster with lexwire's topics: articles (3 partitions), events, dead letters,
/// repartition and changelog (6).
pub fn cluster(brokers: i32) -> Cluster {
    let mock = MockCluster::new(brokers).expect("mock cluster");
    for (topic, partitions) in
        [("articles", 3), ("events", 3), ("articles.dlq", 1), ("lexwire.candidates", 6), ("lexwire.dedup-changelog", 6)]
    {
        mock.create_topic(topic, partitions, brokers.min(3)).expect("topic");
    }
    let bootstrap = mock.bootstrap_servers();
    Cluster { mock, bootstrap }
}

/// A message to produce: key and value.
pub type Produced = (Option<String>, Vec<u8>);

/// One message read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: HashMap<String, String>,
}

impl Record {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.payload.as_deref().unwrap_or_default()).expect("a JSON record")
    }
}

pub fn producer(bootstrap: &str) -> ThreadedProducer<DefaultProducerContext> {
    producer_for(bootstrap, 0)
}

/// A producer that accepts messages of `largest` bytes (librdkafka's default stops at 1 MB).
/// The default is kept for smaller ones: the fault-injection test
/// `produce_errors_and_a_broker_outage_lose_nothing` was seen to lose records with a 10 MB
/// `message.max.bytes` on this producer, not with the default (not understood yet).
fn producer_for(bootstrap: &str, largest: usize) -> ThreadedProducer<DefaultProducerContext> {
    let mut config = ClientConfig::new();
    // One record per batch: Tansu 0.6 answers a fetch that starts inside a record batch with no
    // records at all (a consumer resuming from a committed offset there waits forever), so the
    // end-to-end tests keep every offset at a batch boundary. See TANSU_WORKAROUND.
    config.set("bootstrap.servers", bootstrap).set("linger.ms", "1").set("batch.num.messages", "1");
    if largest > 900_000 {
        config.set("message.max.bytes", "10000000");
    }
    config.create().expect("producer")
}

/// Produces `(key, value)` pairs to `topic`, partition `partition` (or by key), in order, and
/// waits for delivery.
pub fn produce(bootstrap: &str, topic: &str, partition: Option<i32>, messages: &[(Option<String>, Vec<u8>)]) {
    let p = producer_for(bootstrap, messages.iter().map(|(_, v)| v.len()).max().unwrap_or(0));
    for (key, value) in messages {
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).payload(value.as_slice());
        if let Some(k) = key {
            record = record.key(k.as_str());
        }
        if let Some(part) = partition {
            record = record.partition(part);
        }
        let mut record = record;
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(e.to_string().contains("Queue full"), "produce: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    record = r;
                }
            }
        }
    }
    p.flush(Duration::from_secs(30)).expect("flushed");
}

/// Every message of `topic` from the beginning to its current end.
pub fn read_topic(bootstrap: &str, topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "lexwire-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *p, Duration::from_secs(10)).expect("watermarks");
        if high > low {
            ends.insert(*p, high);
            tpl.add_partition_offset(topic, *p, Offset::Beginning).unwrap();
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return out;
    }
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done: HashMap<i32, bool> = ends.keys().map(|p| (*p, false)).collect();
    // Past the reported ends, read on until the topic is quiet: Tansu 0.6 reports a high
    // watermark short of the last record when a batch holds several.
    let mut quiet_since: Option<Instant> = None;
    loop {
        assert!(Instant::now() < deadline, "reading {topic} timed out");
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            if done.values().all(|d| *d) {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    break;
                }
            }
            continue;
        };
        quiet_since = None;
        let m = m.expect("message");
        let mut headers = HashMap::new();
        if let Some(h) = m.headers() {
            for header in h.iter() {
                headers.insert(
                    header.key.to_string(),
                    String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned(),
                );
            }
        }
        out.push(Record {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec),
            headers,
        });
        if m.offset() >= ends[&m.partition()] - 1 {
            done.insert(m.partition(), true);
        }
    }
    out
}

/// The committed offsets of `group` on `topic`, by partition.
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> HashMap<i32, i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let c = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    c.elements().iter().map(|e| (e.partition(), e.offset().to_raw().unwrap_or(-1))).collect()
}

/// `lexwire run` against `bootstrap`, with `env` as configuration, exiting when idle.
pub fn lexwire_run(bootstrap: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lexwire"));
    cmd.args(["run", "--brokers", bootstrap, "--metrics-listen", ""])
        .env("LEXWIRE_LOG", "warn,lexwire=info")
        .env("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "10")
        .env("LEXWIRE_METRICS_STATISTICS_INTERVAL_MS", "1000")
        // The mock cluster holds an empty fetch for the whole wait: keep it short.
        .env("LEXWIRE_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("lexwire runs")
}

/// What `lexwire run` needs against Tansu 0.6, whose fetch returns nothing when it starts inside
/// a record batch (produce ten records in one batch, assign a fresh consumer at offset 5: it
/// receives nothing, where Kafka returns the batch and the client skips offsets 0-4). A stage
/// that resumes after a rebalance from a committed offset inside a batch — of the input topic or
/// of lexwire's repartition topic — then stalls. One record per batch keeps every committed
/// offset at a boundary. Real Kafka needs none of this.
pub const TANSU_WORKAROUND: (&str, &str) = ("LEXWIRE_KAFKA_PRODUCER_BATCH_NUM_MESSAGES", "1");

/// Waits for `child` to exit (within `limit`), returning its stderr; panics on a non-zero exit.
pub fn wait_ok(mut child: Child, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            assert!(status.success(), "lexwire run failed ({status}):\n{err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("lexwire run did not exit within {limit:?}:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The seed articles (date order) as `(key, value)` messages.
pub fn seed_messages() -> Vec<(Option<String>, Vec<u8>)> {
    super::seeds().iter().map(|s| (s["id"].as_str().map(str::to_string), s.to_string().into_bytes())).collect()
}

/// The offline `lexwire tag --events` output for `messages`, one line per record.
pub fn offline_events(messages: &[(Option<String>, Vec<u8>)]) -> Vec<String> {
    offline_events_with(messages, &[])
}

/// As [`offline_events`], with more `tag` arguments (`--window-days 36500`).
pub fn offline_events_with(messages: &[(Option<String>, Vec<u8>)], args: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.jsonl");
    let mut text = Vec::new();
    for (_, v) in messages {
        text.extend_from_slice(v);
        text.push(b'\n');
    }
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(["tag", "--events", path.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// One-event synthetic articles: a strike near a different place each, three days apart.
pub fn strike_messages(n: usize, prefix: &str) -> Vec<(Option<String>, Vec<u8>)> {
    const PLACES: [&str; 8] =
        ["Al-Bokamal", "Al-Mayadeen", "Deir Ezzor", "Quneitra", "Deraa", "Hajin", "Palmyra", "Raqqa"];
    (0..n)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() + chrono::Days::new(3 * i as u64);
            let id = format!("{prefix}-{i}");
            let article = serde_json::json!({
                "id": id,
                "source": "test",
                "published_at": format!("{day}T08:00:00Z"),
                // Filler tokens no dictionary holds keep the sentences from looking republished.
                "text": format!(
                    "Today, q{i}a an air strike q{i}b hit q{i}c positions q{i}d near {}, q{i}e killing {} q{i}f fighters.",
                    PLACES[i % PLACES.len()],
                    i % 9 + 2
                ),
            });
            (Some(id), article.to_string().into_bytes())
        })
        .collect()
}

/// Sends SIGTERM to `child`.
pub fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits until `topic` holds at least `n` records (or `limit` passes); returns how many it holds.
pub fn wait_for_records(bootstrap: &str, topic: &str, n: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let have = read_topic(bootstrap, topic).len();
        if have >= n || Instant::now() > deadline {
            return have;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The sum of the high watermarks of `topic`'s partitions: a cheap record count on brokers that
/// report them exactly (the mock cluster does).
pub fn high_watermarks(bootstrap: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10)).map_or(0, |(_, high)| high))
        .sum()
}

/// Waits for `child` to exit (within `limit`, else kills it and panics): its status, its stderr
/// and how long it took from the call.
pub fn wait_exit(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String, Duration) {
    use std::io::Read;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("lexwire run did not exit within {limit:?}:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, err, elapsed)
}

/// Produces a tombstone (a key with no value) to `topic`, partition `partition`.
pub fn produce_tombstone(bootstrap: &str, topic: &str, partition: i32, key: &str) {
    let p = producer(bootstrap);
    let record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).key(key).partition(partition);
    p.send(record).map_err(|(e, _)| e).expect("tombstone enqueued");
    p.flush(Duration::from_secs(30)).expect("flushed");
}
