//! The service under load: a load generator produces articles (FA-KES and the seeds, each with a
//! fresh id) to a broker on loopback while `lexwire run` (the release binary) processes them.
//!
//!     cargo build --release && cargo bench --bench service
//!
//! Broker: `$LEXWIRE_BENCH_BROKERS` (e.g. the Tansu that tests/run starts), else librdkafka's
//! mock cluster in this process. Phases, in one run:
//! 1. **offline**: the same articles through the engine in this process (decode → encode);
//! 2. **throughput**: all articles produced first, then lexwire started; articles/s and MB/s
//!    from the first to the last article processed (read from lexwire's `/metrics`);
//! 3. **latency**: a second lexwire application fed at `$LEXWIRE_BENCH_RATE` articles/s (1000)
//!    for `$LEXWIRE_BENCH_SECS` seconds (30; 600 for the RSS check): p50/p99 from produce to the
//!    event record on the events topic, and lexwire's resident memory at start and end.
//!
//! Both delivery guarantees by default; `$LEXWIRE_BENCH_MODES=at-least-once` runs one.
//! `$LEXWIRE_BENCH_DUMP=FILE` writes to `FILE.<mode>` each record's send time and latency (ms) and its article id.

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lexwire::article::decode_json;
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::Dictionary;
use lexwire::engine::Engine;
use lexwire::matcher::AutomatonKind;
use lexwire::tag::Tagger;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};
use std::sync::atomic::{AtomicUsize, Ordering};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Articles as messages: `(id, JSON)`, ids unique per `tag`. Each copy of the corpus is
/// published a month after the previous one (past the dedup window), so that it reads as new
/// news (its dates resolve to other days) rather than as republications of the same reports.
/// The months start in 1940, so a 10-minute feed (over 800 copies) stays in the past, and earlier
/// for a longer feed, so that it ends by 2019. A date after the message's timestamp would be
/// clamped to it (an outlier cannot move the window), so a feed that ran into the future would
/// pile every later copy onto today and never leave the window.
fn messages(corpus: &[String], tag: &str, copies: usize) -> Vec<(String, Vec<u8>)> {
    let first = 1940.min(2019usize.saturating_sub(copies / 12));
    let mut out = Vec::new();
    for c in 0..copies {
        let (year, month) = (first + c / 12, 1 + c % 12);
        assert!(year < 2020, "a feed of {copies} copies would run into the future");
        for (i, text) in corpus.iter().enumerate() {
            let id = format!("{tag}-{c}-{i}");
            let day = 1 + (i % 28);
            let json = serde_json::json!({"id": id, "source": "bench", "published_at": format!("{year}-{month:02}-{day:02}T12:00:00Z"), "text": text});
            out.push((id, serde_json::to_vec(&json).unwrap()));
        }
    }
    out
}

fn lexwire(bootstrap: &str, app: &str, input: &str, delivery: &str) -> Child {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/lexwire");
    assert!(bin.exists(), "build the release binary first: cargo build --release");
    Command::new(bin)
        .args(["run", "--brokers", bootstrap, "--metrics-listen", &format!("127.0.0.1:{}", metrics_port(app))])
        .env("LEXWIRE_KAFKA_GROUP_ID", app)
        .env("LEXWIRE_PIPELINE_DELIVERY", delivery)
        .env("LEXWIRE_KAFKA_TRANSACTIONAL_ID", app)
        .env("LEXWIRE_KAFKA_INPUT_TOPICS", input)
        .env("LEXWIRE_KAFKA_EVENTS_TOPIC", format!("{app}.events"))
        .env("LEXWIRE_KAFKA_DEAD_LETTER_TOPIC", format!("{app}.dlq"))
        .env("LEXWIRE_KAFKA_REPARTITION_TOPIC", format!("{app}.candidates"))
        .env("LEXWIRE_KAFKA_CHANGELOG_TOPIC", format!("{app}.changelog"))
        .env("LEXWIRE_LOG", "warn")
        // The mock cluster holds a fetch that finds no data for the whole wait (a real broker
        // answers when data arrives): lexwire's embedded mode shortens the wait the same way.
        .env(
            "LEXWIRE_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS",
            std::env::var("LEXWIRE_KAFKA_CONSUMER_FETCH_WAIT_MAX_MS").unwrap_or_else(|_| {
                if std::env::var("LEXWIRE_BENCH_BROKERS").is_ok() {
                    "500"
                } else {
                    lexwire::service::MOCK_FETCH_WAIT_MS
                }
                .into()
            }),
        )
        // Topics are created by this benchmark, before the load.
        .env("LEXWIRE_KAFKA_CREATE_TOPICS", "false")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log_path(app)).expect("a log file"))
        .spawn()
        .expect("lexwire starts")
}

fn log_path(app: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{app}.log"))
}

/// The end of a lexwire's log, for a failure message.
fn log_tail(app: &str) -> String {
    let log = std::fs::read_to_string(log_path(app)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn metrics_port(app: &str) -> u16 {
    let base = if app.contains("throughput") { 19464 } else { 19465 };
    if app.ends_with("exactly-once") { base + 2 } else { base }
}

/// A counter's value from lexwire's /metrics (0 when not reachable yet).
fn scrape(app: &str, name: &str) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", metrics_port(app))) else { return 0.0 };
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.lines().filter(|l| l.starts_with(name)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// One lexwire application's topics, created before anything is produced to them: on the mock
/// cluster with its own call (it does not answer CreateTopics), on a real broker with the admin
/// API (a broker that does not create topics on produce would otherwise fail the load).
fn create_topics(mock: Option<&MockCluster<'static, DefaultProducerContext>>, bootstrap: &str, app: &str, input: &str) {
    let topics = [
        (input.to_string(), 3, false),
        (format!("{app}.events"), 3, false),
        (format!("{app}.dlq"), 3, false),
        (format!("{app}.candidates"), 6, false),
        (format!("{app}.changelog"), 6, true),
    ];
    if let Some(mock) = mock {
        for (t, partitions, _) in &topics {
            mock.create_topic(t, *partitions, 1).unwrap();
        }
        return;
    }
    let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(t, partitions, compact)| {
            let topic = NewTopic::new(t, *partitions, TopicReplication::Fixed(1));
            if *compact { topic.set("cleanup.policy", "compact") } else { topic }
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for result in runtime.block_on(admin.create_topics(&new, &AdminOptions::new())).unwrap() {
        result.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
    }
}

/// Counts the messages the broker did not take.
#[derive(Default)]
struct Failures(AtomicUsize);

impl ClientContext for Failures {}

impl ProducerContext for Failures {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            if self.0.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!("load generator: a message was not delivered: {e}");
            }
        }
    }
}

fn producer(bootstrap: &str) -> ThreadedProducer<Failures> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "1")
        .create_with_context(Failures::default())
        .unwrap()
}

/// Waits until everything sent is acknowledged; panics when the broker refused any of it.
fn flush(p: &ThreadedProducer<Failures>) {
    p.flush(Duration::from_secs(60)).unwrap();
    let failed = p.context().0.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} articles were not delivered to the broker");
}

/// Phase 2: all articles produced first, then one lexwire run through them; articles/s.
fn throughput(
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    bootstrap: &str,
    run_id: i64,
    tput_msgs: &[(String, Vec<u8>)],
    delivery: &str,
) -> f64 {
    let bootstrap = bootstrap.to_string();
    let app = format!("bench{run_id}-throughput-{delivery}");
    let input = format!("{app}.articles");
    create_topics(mock, &bootstrap, &app, &input);
    let p = producer(&bootstrap);
    for (id, m) in tput_msgs {
        let mut rec = BaseRecord::to(&input).key(id.as_str()).payload(m.as_slice());
        while let Err((_, r)) = p.send(rec) {
            std::thread::sleep(Duration::from_millis(5));
            rec = r;
        }
    }
    flush(&p);
    let mut child = lexwire(&bootstrap, &app, &input, delivery);
    let n = tput_msgs.len() as f64;
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "lexwire exited at start: {}", log_tail(&app));
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lexwire exited ({status}) before processing the backlog: {}", log_tail(&app));
        }
        let processed = scrape(&app, "lexwire_articles_processed_total");
        if processed > 0.0 && first.is_none() {
            first = Some(Instant::now());
        }
        if processed >= n {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("lexwire processed {processed} of {n} articles in 600 s: {}", log_tail(&app));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let service_secs = first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64());
    let service_aps = n / service_secs;
    let _ = child.kill();
    let _ = child.wait();

    service_aps
}

/// What phase 3 measured.
struct Latency {
    rate: f64,
    secs: u64,
    sent: usize,
    records: usize,
    p50: i64,
    p99: i64,
    max: i64,
    work_ms: f64,
    samples: Vec<(u64, Option<u64>, f64)>,
    rss_start: Option<u64>,
    rss_end: Option<u64>,
}

/// Phase 3: a lexwire fed at a fixed rate: latency from produce to event record, and memory.
fn latency(
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    bootstrap: &str,
    run_id: i64,
    corpus: &[String],
    delivery: &str,
) -> Latency {
    let bootstrap = bootstrap.to_string();
    let rate: f64 = env_or("LEXWIRE_BENCH_RATE", 1000.0);
    let secs: u64 = env_or("LEXWIRE_BENCH_SECS", 30);
    let app = format!("bench{run_id}-latency-{delivery}");
    let input = format!("{app}.articles");
    // The feed is built before lexwire starts and the clock runs: built after, a 10-minute feed (600,000
    // messages, seconds to build) was sent as one burst of the articles due meanwhile, and the
    // seconds lexwire took to drain it made the whole run's latency tail.
    let copies = (rate * secs as f64 / corpus.len() as f64).ceil() as usize + 1;
    let feed = messages(corpus, &format!("l{run_id}-{delivery}"), copies);
    create_topics(mock, &bootstrap, &app, &input);
    let mut child = lexwire(&bootstrap, &app, &input, delivery);
    // Wait until it is ready.
    let ready_deadline = Instant::now() + Duration::from_secs(60);
    while scrape(&app, "lexwire_assigned_partitions") < 2.0 && Instant::now() < ready_deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let events_topic = format!("{app}.events");
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (bootstrap, reading) = (bootstrap.clone(), reading.clone());
        let stop_at = Instant::now() + Duration::from_secs(secs + 10);
        std::thread::spawn(move || {
            // Assigned, not subscribed: no group join to wait for, so an arrival is timed when
            // the record reaches the broker, not when the reader's group is ready.
            let c: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", format!("{events_topic}-reader"))
                .set("fetch.wait.max.ms", "5")
                .create()
                .unwrap();
            let md = c.fetch_metadata(Some(&events_topic), Duration::from_secs(10)).unwrap();
            let mut tpl = rdkafka::TopicPartitionList::new();
            for p in md.topics()[0].partitions() {
                tpl.add_partition_offset(&events_topic, p.id(), rdkafka::Offset::Beginning).unwrap();
            }
            c.assign(&tpl).unwrap();
            reading.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut arrivals: Vec<(String, i64)> = Vec::new();
            while Instant::now() < stop_at {
                if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                    // The article whose processing published the record.
                    use rdkafka::message::Headers;
                    let cause = m.headers().and_then(|h| {
                        h.iter().find(|h| h.key == "lexwire.article.id").and_then(|h| h.value).map(<[u8]>::to_vec)
                    });
                    if let Some(id) = cause {
                        arrivals.push((String::from_utf8_lossy(&id).into_owned(), now_ms()));
                    }
                }
            }
            arrivals
        })
    };
    while !reading.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let rss_start = rss_kb(child.id());
    let p = producer(&bootstrap);
    let mut sent: HashMap<String, i64> = HashMap::with_capacity(feed.len());
    let start = Instant::now();
    let mut i = 0usize;
    // Resident memory and live dedup events, ten times over the feed.
    let mut samples: Vec<(u64, Option<u64>, f64)> = Vec::new();
    let every = Duration::from_secs((secs / 10).max(1));
    let mut next_sample = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if Instant::now() >= next_sample {
            samples.push((start.elapsed().as_secs(), rss_kb(child.id()), scrape(&app, "lexwire_dedup_events")));
            next_sample += every;
        }
        let due = (start.elapsed().as_secs_f64() * rate) as usize;
        while i < due {
            let (id, body) = &feed[i % feed.len()];
            let id = id.clone();
            sent.insert(id.clone(), now_ms());
            let _ = p.send(BaseRecord::to(&input).key(id.as_str()).payload(body.as_slice()));
            i += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    flush(&p);
    let rss_end = rss_kb(child.id());
    // lexwire's own work per article (every stage's time), next to the end-to-end latency.
    let work_ms = 1e3 * scrape(&app, "lexwire_stage_seconds_sum") / scrape(&app, "lexwire_articles_processed_total");
    let arrivals = reader.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    if let Ok(path) = std::env::var("LEXWIRE_BENCH_DUMP") {
        let rows: Vec<String> =
            arrivals.iter().filter_map(|(id, t)| sent.get(id).map(|s| format!("{} {} {id}", s, t - s))).collect();
        std::fs::write(format!("{path}.{delivery}"), rows.join("\n")).unwrap();
    }
    let mut lat: Vec<i64> = arrivals.iter().filter_map(|(id, t)| sent.get(id).map(|s| t - s)).collect();
    lat.sort_unstable();
    let q = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(-1);

    Latency {
        rate,
        secs,
        sent: i,
        records: lat.len(),
        p50: q(0.5),
        p99: q(0.99),
        max: lat.last().copied().unwrap_or(-1),
        work_ms,
        samples,
        rss_start,
        rss_end,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches lists benchmarks; this one needs a run of its own
    }
    let mock = std::env::var("LEXWIRE_BENCH_BROKERS").is_err().then(|| MockCluster::new(1).unwrap());
    let bootstrap =
        std::env::var("LEXWIRE_BENCH_BROKERS").unwrap_or_else(|_| mock.as_ref().unwrap().bootstrap_servers());
    let corpus: Vec<String> =
        support::all().into_iter().filter(|c| c.name != "wikipedia").flat_map(|c| c.articles).collect();
    let run_id = now_ms();

    // 1. Offline, same articles.
    let tput_msgs = messages(&corpus, &format!("t{run_id}"), 3);
    let bytes: usize = tput_msgs.iter().map(|(_, m)| m.len()).sum();
    let dict = Arc::new(Dictionary::bundled().unwrap());
    let tagger = Arc::new(Tagger::new(dict, AutomatonKind::Dfa).unwrap());
    let mut engine = Engine::new(tagger, DedupConfig::default()).unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    for (_, m) in &tput_msgs {
        let mut buf = m.clone();
        let a = decode_json(&mut buf).unwrap();
        let p = engine.process(&a).unwrap();
        for r in engine.records(&p.outcome) {
            r.write_json(&mut out).unwrap();
        }
    }
    let offline = started.elapsed().as_secs_f64();
    let offline_aps = tput_msgs.len() as f64 / offline;

    // 2 and 3, for each delivery guarantee, side by side.
    // `$LEXWIRE_BENCH_MODES` (comma-separated) runs some of them, e.g. one mode's 10 minutes.
    let modes: Vec<String> = std::env::var("LEXWIRE_BENCH_MODES")
        .map(|m| m.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_else(|_| vec!["at-least-once".into(), "exactly-once".into()]);
    for m in &modes {
        assert!(["at-least-once", "exactly-once"].contains(&m.as_str()), "unknown mode in LEXWIRE_BENCH_MODES: {m}");
    }
    let results: Vec<(&str, f64, Latency)> = modes
        .iter()
        .map(|delivery| {
            let aps = throughput(mock.as_ref(), &bootstrap, run_id, &tput_msgs, delivery);
            (delivery.as_str(), aps, latency(mock.as_ref(), &bootstrap, run_id, &corpus, delivery))
        })
        .collect();

    println!(
        "\n=== lexwire service benchmark (broker: {}) ===",
        if mock.is_some() { "mock cluster, loopback" } else { bootstrap.as_str() }
    );
    println!("corpus: FA-KES + seeds x3 = {} articles, {:.1} MB", tput_msgs.len(), bytes as f64 / 1e6);
    println!("offline (in process): {:.0} articles/s, {:.1} MB/s", offline_aps, bytes as f64 / offline / 1e6);
    for (delivery, service_aps, l) in &results {
        println!("--- {delivery} ---");
        println!(
            "service (Kafka in, Kafka out): {:.0} articles/s, {:.1} MB/s = {:.2} of offline",
            service_aps,
            bytes as f64 / service_aps.recip() / tput_msgs.len() as f64 / 1e6,
            service_aps / offline_aps
        );
        println!(
            "latency at {:.0} articles/s for {} s: {} articles sent, {} event records, p50 {} ms, p99 {} ms, max {} ms",
            l.rate, l.secs, l.sent, l.records, l.p50, l.p99, l.max
        );
        println!("lexwire's own work per article (decode, route, process, encode): {:.2} ms", l.work_ms);
        let series: Vec<String> = l
            .samples
            .iter()
            .map(|(t, kb, ev)| {
                format!("{t} s: {} MB/{ev:.0}", kb.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0)))
            })
            .collect();
        println!("resident memory / live dedup events over the feed: {}", series.join(", "));
        println!(
            "lexwire resident memory: {} MB at start of the feed, {} MB at the end",
            l.rss_start.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
            l.rss_end.map_or("n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0))
        );
    }
    if mock.is_some() {
        println!(
            "(the mock cluster shows records before their transaction commits: exactly-once latency here \
             leaves out the wait for the commit, up to pipeline.commit_interval_ms)"
        );
    }
}
