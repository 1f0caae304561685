//! `lexwire run` against librdkafka's in-process broker (a mock cluster in this test process,
//! which the lexwire process reaches on loopback): the seeds round trip, poison messages of every
//! class go to the dead-letter topic with their headers while good ones flow, produce errors and
//! a broker going down and up lose nothing, and a `kill -9` in the middle of a stream followed by
//! a restart announces no known event as created a second time.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::kafka::{self, Record, cluster};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

/// A window that holds a whole synthetic stream (4,000 strikes three days apart span 33 years,
/// the seeds go back further): an article redelivered after its events left the window is news
/// again, by design, and the tests would depend on when the kill comes.
const WINDOW_DAYS: &str = "36500";
const WINDOW: (&str, &str) = ("LEXWIRE_DEDUP_WINDOW_DAYS", WINDOW_DAYS);

const RUN_ENV: [(&str, &str); 2] = [("LEXWIRE_KAFKA_CREATE_TOPICS", "false"), ("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "4")];

fn lines(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8(r.payload.clone().unwrap()).unwrap()).collect()
}

fn sorted_unique(lines: &[String]) -> BTreeSet<String> {
    lines.iter().cloned().collect()
}

/// `(event_id, revision, status, article ids)` of each record: what an assertion message shows.
fn summary(lines: &BTreeSet<String>) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            let sources: Vec<&str> =
                j["sources"].as_array().unwrap().iter().map(|s| s["article_id"].as_str().unwrap()).collect();
            format!(
                "{} r{} {} {:?}",
                j["event_id"].as_str().unwrap(),
                j["revision"],
                j["status"].as_str().unwrap(),
                sources
            )
        })
        .collect()
}

#[test]
fn seeds_round_trip_and_poison_goes_to_dead_letters() {
    let c = cluster(1);
    let seeds = kafka::seed_messages();
    // Good and bad messages interleaved on one partition, so good ones must flow past bad ones.
    let big = format!("{{\"id\": \"big\", \"text\": \"{}\"}}", "a".repeat(100_000));
    let poison: Vec<(&str, Option<String>, Vec<u8>)> = vec![
        ("invalid_utf8", Some("p1".into()), b"{\"id\": \"p1\", \"text\": \"caf\xe9\"}".to_vec()),
        ("invalid_json", Some("p2".into()), b"{\"id\": \"p2\", \"text\": ".to_vec()),
        ("invalid_article", Some("p3".into()), b"{\"text\": \"no id here\"}".to_vec()),
        ("no_text", Some("p4".into()), b"{\"id\": \"p4\", \"text\": \"   \"}".to_vec()),
        ("oversize", Some("p5".into()), big.into_bytes()),
    ];
    let mut messages = Vec::new();
    for (i, seed) in seeds.iter().enumerate() {
        messages.push(seed.clone());
        if let Some((_, k, v)) = poison.get(i) {
            messages.push((k.clone(), v.clone()));
        }
    }
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let run =
        kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], RUN_ENV[1], ("LEXWIRE_PIPELINE_MAX_ARTICLE_BYTES", "65536")]);
    kafka::wait_ok(run, Duration::from_secs(90));

    let events = lines(&kafka::read_topic(&c.bootstrap, "events"));
    let offline = kafka::offline_events(&seeds);
    let (events, offline) = (sorted_unique(&events), sorted_unique(&offline));
    assert!(
        events == offline,
        "the events topic differs from `tag --events`:\n{:#?}\nvs\n{:#?}",
        summary(&events),
        summary(&offline)
    );
    for r in kafka::read_topic(&c.bootstrap, "events") {
        let j = r.json();
        assert_eq!(r.key.as_deref(), Some(j["event_id"].as_str().unwrap().as_bytes()), "keyed by event_id");
        // Traceable to the input message whose article published it.
        let article = &r.headers["lexwire.article.id"];
        assert!(j["sources"].as_array().unwrap().iter().any(|s| s["article_id"] == article.as_str()), "{j}");
        assert_eq!(r.headers["lexwire.source.topic"], "articles");
        let offset: usize = r.headers["lexwire.source.offset"].parse().unwrap();
        assert_eq!(messages[offset].0.as_deref(), Some(article.as_str()), "the input offset holds the article");
    }

    let dead = kafka::read_topic(&c.bootstrap, "articles.dlq");
    assert_eq!(dead.len(), poison.len(), "{dead:?}");
    let by_class: HashMap<&str, &Record> =
        dead.iter().map(|r| (r.headers["lexwire.error.class"].as_str(), r)).collect();
    for (class, _key, value) in &poison {
        let r = by_class.get(class).unwrap_or_else(|| panic!("no dead letter of class {class}"));
        assert_eq!(r.payload.as_deref(), Some(value.as_slice()), "{class}: the original bytes");
        assert_eq!(r.headers["lexwire.source.topic"], "articles");
        assert_eq!(r.headers["lexwire.source.partition"], "0");
        assert!(r.headers["lexwire.source.offset"].parse::<i64>().is_ok());
        assert!(!r.headers["lexwire.error.message"].is_empty());
        assert_eq!(r.headers["lexwire.version"], env!("CARGO_PKG_VERSION"));
        assert!(r.headers["lexwire.dictionary.version"].contains('+'));
    }
    // Every input offset is committed.
    let committed = kafka::committed(&c.bootstrap, "lexwire", "articles", 3);
    assert_eq!(committed[&0], messages.len() as i64, "{committed:?}");
}

#[test]
fn produce_errors_and_a_broker_outage_lose_nothing() {
    let c = cluster(3);
    let messages = [kafka::seed_messages(), kafka::strike_messages(150, "fault")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    // Transient produce errors: librdkafka and lexwire retry them.
    c.mock.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 20]);
    // One produce request in flight per broker. The mock cluster checks the sequence numbers of an
    // idempotent producer only when it is transactional (`rd_kafka_mock_validate_records`): with
    // requests pipelined, the last injected error can fail one batch while the mock appends the
    // next, and librdkafka then takes the failed batch as acknowledged by its successor (its
    // "implicitly acked by subsequent batch success"). A Kafka broker refuses that successor with
    // OUT_OF_ORDER_SEQUENCE_NUMBER and the batches are retried in order; here the records would be
    // lost by the mock, not by lexwire.
    let in_flight = ("LEXWIRE_KAFKA_PRODUCER_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION", "1");
    let run = kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], WINDOW, in_flight]);
    // A broker down and up in the middle of the stream.
    std::thread::sleep(Duration::from_secs(5));
    c.mock.broker_down(2).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    c.mock.broker_up(2).unwrap();
    let offline = sorted_unique(&kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]));
    kafka::wait_for_records(&c.bootstrap, "events", offline.len(), Duration::from_secs(90));
    // Then a clean stop: drain, commit, exit 0.
    kafka::terminate(&run);
    let log = kafka::wait_ok(run, Duration::from_secs(60));
    let log_tail: Vec<&str> = log.lines().rev().take(10).collect();

    let events = sorted_unique(&lines(&kafka::read_topic(&c.bootstrap, "events")));
    let missing: BTreeSet<String> = offline.difference(&events).cloned().collect();
    assert!(
        missing.is_empty(),
        "{} of {} records missing: {:?}\n{log_tail:#?}",
        missing.len(),
        offline.len(),
        &summary(&missing)[..5.min(missing.len())]
    );
    let committed = kafka::committed(&c.bootstrap, "lexwire", "articles", 3);
    assert_eq!(committed[&0], messages.len() as i64, "every input accounted for and committed: {committed:?}");
}

/// Feeds the seeds and `strikes` strikes, kills the first lexwire (at most `max_in_flight` records
/// awaiting acknowledgement) with SIGKILL once the events topic holds `kill_after` records, runs a
/// second to the end; returns the events topic, the input, the second run's log and the input
/// offset committed.
fn kill_9_and_restart(
    strikes: usize,
    max_in_flight: &str,
    kill_after: i64,
) -> (Vec<Record>, Vec<kafka::Produced>, String, i64) {
    let c = cluster(1);
    let messages = [kafka::seed_messages(), kafka::strike_messages(strikes, "restart")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    // The killed instance stays in the consumer groups until its session times out: a short
    // session lets the second take all partitions sooner.
    let session = ("LEXWIRE_KAFKA_CONSUMER_SESSION_TIMEOUT_MS", "6000");
    let mut first = kafka::lexwire_run(
        &c.bootstrap,
        &[RUN_ENV[0], WINDOW, session, ("LEXWIRE_PIPELINE_MAX_IN_FLIGHT", max_in_flight)],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = kafka::high_watermarks(&c.bootstrap, "events");
        if n >= kill_after {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first run published nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL: no drain, no commit
    first.wait().unwrap();
    let before = kafka::read_topic(&c.bootstrap, "events").len();
    assert!(before < kafka::offline_events(&messages).len(), "killed before the end ({before} records)");

    let log = kafka::wait_ok(
        kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], RUN_ENV[1], WINDOW, session]),
        Duration::from_secs(120),
    );
    let records = kafka::read_topic(&c.bootstrap, "events");
    let committed = kafka::committed(&c.bootstrap, "lexwire", "articles", 3)[&0];
    (records, messages, log, committed)
}

/// After a `kill -9` in the middle of a stream and a restart, nothing is lost and nothing known is
/// announced again: every record offline processing gives is on the events topic, and no event is
/// `created` twice. One record in flight at a time: the kill most often falls between the state
/// changes of one article (its events written, the article not).
#[test]
fn a_restart_after_kill_9_loses_nothing_and_announces_nothing_twice() {
    assert_nothing_lost_nothing_twice(kill_9_and_restart(1500, "1", 20));
}

/// The same with the default bound on records in flight: thousands of records unacknowledged when
/// the kill comes.
#[test]
fn a_restart_after_kill_9_with_many_records_in_flight_loses_nothing() {
    assert_nothing_lost_nothing_twice(kill_9_and_restart(4000, "10000", 300));
}

fn assert_nothing_lost_nothing_twice(
    (records, messages, log, committed): (Vec<Record>, Vec<kafka::Produced>, String, i64),
) {
    assert_eq!(committed, messages.len() as i64, "every input committed in the end");
    let restored: Vec<&str> = log.lines().filter(|l| l.contains("restored")).collect();
    let mut created: HashMap<String, usize> = HashMap::new();
    for r in &records {
        let j = r.json();
        if j["status"] == "created" {
            *created.entry(j["event_id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    let twice: Vec<_> = created.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} events announced as created twice: {:?}\nrestores: {restored:#?}",
        twice.len(),
        &twice[..3.min(twice.len())]
    );
    // Every record offline gives is there — a `created` whose first publication was lost in the
    // kill may come back as an `updated` of the same revision (a redelivered article re-publishes
    // its events as updates: never a second `created`).
    let as_update = |l: &String| l.replacen("\"status\":\"created\"", "\"status\":\"updated\"", 1);
    let offline = sorted_unique(&kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]));
    let got: BTreeSet<String> = lines(&records).iter().map(as_update).collect();
    let missing: BTreeSet<String> = offline.iter().filter(|l| !got.contains(&as_update(l))).cloned().collect();
    let related: Vec<String> = missing
        .iter()
        .flat_map(|m| {
            let id = serde_json::from_str::<serde_json::Value>(m).unwrap()["event_id"].as_str().unwrap().to_string();
            let j = serde_json::from_str::<serde_json::Value>(m).unwrap();
            let article = j["sources"][0]["article_id"].as_str().unwrap().to_string();
            let got_for_id: BTreeSet<String> = lines(&records)
                .into_iter()
                .filter(|l| l.contains(&id) || l.contains(&format!("\"{article}\"")))
                .collect();
            let mut out = summary(&got_for_id);
            out.extend(got_for_id.iter().take(1).cloned());
            out.push(m.clone());
            out
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} records missing after the restart: {:?}\nthe service published for those events: {related:#?}\nrun 2: {:#?}",
        missing.len(),
        &summary(&missing)[..5.min(missing.len())],
        log.lines().filter(|l| !l.contains("librdkafka") && !l.contains("rdkafka::client")).collect::<Vec<_>>()
    );
}

/// A changelog lexwire cannot read stops the process with a non-zero exit that names the partition
/// and the record, and the article waiting for that state is not committed: without its state a
/// partition would announce known events again.
#[test]
fn an_unreadable_changelog_stops_the_service_without_committing() {
    let c = cluster(1);
    for partition in 0..6 {
        let bad = vec![(Some("bogus/key".to_string()), b"{}".to_vec())];
        kafka::produce(&c.bootstrap, "lexwire.dedup-changelog", Some(partition), &bad);
    }
    kafka::produce(&c.bootstrap, "articles", Some(0), &kafka::seed_messages());
    let mut run = kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], RUN_ENV[1]]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "lexwire kept running on an unreadable changelog");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut log).unwrap();
    assert!(!status.success(), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("cannot restore the dedup state of partition") && last.contains("bogus/key"), "{last}");
    assert!(kafka::read_topic(&c.bootstrap, "events").is_empty(), "nothing published without state");
    let committed = kafka::committed(&c.bootstrap, "lexwire.dedup", "lexwire.candidates", 6);
    assert!(committed.values().all(|o| *o < 0), "no dedup offset committed: {committed:?}");
}

/// SIGTERM with records unacknowledged took twice `pipeline.shutdown_timeout_secs` (10 s
/// configured, 20.4 s measured: the drain, then the same wait again in the revoke callback of
/// the consumers' close), so Kubernetes SIGKILLed the pod. One deadline for the whole stop.
#[test]
fn regression_sigterm_with_unacknowledged_records_takes_twice_the_timeout() {
    let c = cluster(1);
    let messages = [kafka::seed_messages(), kafka::strike_messages(3000, "stop")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let timeout = 4;
    let run = kafka::lexwire_run(
        &c.bootstrap,
        &[RUN_ENV[0], WINDOW, ("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", &timeout.to_string())],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while kafka::high_watermarks(&c.bootstrap, "events") < 5 {
        assert!(std::time::Instant::now() < deadline, "nothing published");
        std::thread::sleep(Duration::from_millis(20));
    }
    // From now on every produce request fails with a retriable error: what lexwire publishes
    // stays unacknowledged.
    c.mock.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 100_000]);
    std::thread::sleep(Duration::from_secs(1));
    kafka::terminate(&run);
    let (status, log, took) = kafka::wait_exit(run, Duration::from_secs(60));
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("unacknowledged"), "records were unacknowledged at the stop: {log}");
    let limit = Duration::from_secs(timeout) + Duration::from_millis(2500);
    assert!(took <= limit, "stopped in {took:?}, over the {timeout} s deadline (+2.5 s slack)");
}

/// A dictionary the dedup stage cannot use (the taxonomy code `ied` renamed, its triggers with
/// it) killed the dedup task at start without a word: `/healthz` stayed 200, articles were
/// consumed and nothing was published until SIGTERM showed the error. Now the process stops at
/// once, naming what is missing, and commits nothing.
#[test]
fn regression_a_dictionary_the_dedup_stage_cannot_use_fails_silently() {
    let c = cluster(1);
    kafka::produce(&c.bootstrap, "articles", Some(0), &kafka::seed_messages());
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_path("dictionaries"), dir.path());
    common::rename_taxonomy_code(dir.path(), "ied", "roadside_bomb");
    let run = kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], ("LEXWIRE_DICTIONARY_DIR", dir.path().to_str().unwrap())]);
    let (status, log, _) = kafka::wait_exit(run, Duration::from_secs(30));
    assert!(!status.success(), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("\"ied\""), "the error names the missing code: {log}");
    let committed = kafka::committed(&c.bootstrap, "lexwire", "articles", 3);
    assert!(committed.values().all(|o| *o < 0), "no article consumed: {committed:?}");
}

/// A stage that fails (here: its consumer cannot be created) ended its task while the process
/// ran on with `/healthz` 200 and nothing consuming. Now the process stops at once with the error.
#[test]
fn regression_a_stage_that_fails_leaves_the_process_running() {
    let c = cluster(1);
    let run = kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], ("LEXWIRE_KAFKA_CONSUMER_QUEUED_MIN_MESSAGES", "many")]);
    let (status, log, _) = kafka::wait_exit(run, Duration::from_secs(30));
    assert!(!status.success(), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("stage failed") && last.contains("queued.min.messages"), "{log}");
}

/// An unreachable broker was silent for 60 s, then start-up failed with a timeout that did not
/// say where it had tried. Now a warning names the address within seconds, and so does the error.
#[test]
fn regression_an_unreachable_broker_is_silent_and_unnamed() {
    use std::io::BufRead;
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    }; // closed again: nothing listens there
    let mut run = kafka::lexwire_run(&address, &[("LEXWIRE_KAFKA_CONNECT_TIMEOUT_SECS", "8")]);
    let started = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = run.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send((started.elapsed(), line));
        }
    });
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still trying after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(200));
    let lines: Vec<(Duration, String)> = rx.try_iter().collect();
    // lexwire's own lines (librdkafka's connection errors are not what an operator reads first).
    let own: Vec<&(Duration, String)> = lines.iter().filter(|(_, l)| !l.contains("rdkafka")).collect();
    let warning = own.iter().find(|(_, l)| l.contains("WARN") && l.contains(&address));
    assert!(
        warning.is_some_and(|(at, _)| *at < Duration::from_secs(6)),
        "a warning naming {address} within seconds: {own:#?}"
    );
    assert!(!status.success());
    let last = &lines.last().expect("an error").1;
    assert!(last.contains(&address) && last.contains("cannot reach"), "{last}");
}

/// Every record over librdkafka's default `message.max.bytes` (1,000,000) failed with
/// `MessageSizeTooLarge` and was retried forever: its input offset never committed. At the
/// default 4 MiB article limit: a valid 2 MB article (its repartition record), a 4.5 MB
/// oversize message (its dead letter, now cut to fit and saying so), a 300 KB plain-text message
/// of control bytes (1.8 MB once re-encoded as JSON), an article whose id is 600 KB (now
/// refused: ids are copied into event records and headers). Each partition moves on past them.
#[test]
fn regression_records_over_1_mb_block_their_partition_forever() {
    // The mock cluster keeps at most 5 MiB per partition: one large message per partition.
    let mock = MockCluster::new(1).expect("mock cluster");
    for (topic, partitions) in
        [("articles", 4), ("events", 3), ("articles.dlq", 4), ("lexwire.candidates", 6), ("lexwire.dedup-changelog", 6)]
    {
        mock.create_topic(topic, partitions, 1).expect("topic");
    }
    let bootstrap = mock.bootstrap_servers();
    let strike = "Today, an air strike hit positions near Al-Bokamal, killing 5 fighters. ";
    let big_text = format!("{strike}{}", "Residents described the night as calm and quiet. ".repeat(42_000));
    let big_article =
        serde_json::json!({"id": "big-article", "published_at": "2023-03-01T08:00:00Z", "text": big_text});
    let oversize = format!("{{\"id\": \"too-big\", \"text\": \"{}\"}}", "a".repeat(4_500_000));
    let control = "\u{1}".repeat(300_000);
    let long_id =
        serde_json::json!({"id": "i".repeat(600_000), "published_at": "2023-03-01T08:00:00Z", "text": strike});
    let large: [(Option<String>, Vec<u8>); 4] = [
        (Some("big-article".into()), big_article.to_string().into_bytes()),
        (Some("too-big".into()), oversize.clone().into_bytes()),
        (Some("control".into()), control.into_bytes()),
        (Some("long-id".into()), long_id.to_string().into_bytes()),
    ];
    assert!(large[0].1.len() > 2_000_000 && large[1].1.len() > 4 * 1024 * 1024);
    let after = kafka::strike_messages(4, "after");
    for (partition, (big, next)) in large.iter().zip(&after).enumerate() {
        kafka::produce(&bootstrap, "articles", Some(partition as i32), &[big.clone(), next.clone()]);
    }
    let run = kafka::lexwire_run(&bootstrap, &[RUN_ENV[0], RUN_ENV[1], WINDOW]);
    kafka::wait_ok(run, Duration::from_secs(120));

    let committed = kafka::committed(&bootstrap, "lexwire", "articles", 4);
    assert_eq!(committed, (0..4).map(|p| (p, 2)).collect(), "every partition past its large message");
    let events = kafka::read_topic(&bootstrap, "events");
    for id in ["big-article", "after-0", "after-1", "after-2", "after-3"] {
        assert!(
            events.iter().any(|r| r.json()["sources"].as_array().unwrap().iter().any(|s| s["article_id"] == id)),
            "no event record of {id}"
        );
    }
    // The control-byte message went through the repartition topic and the dedup stage (no event).
    let repartitioned = kafka::high_watermarks(&bootstrap, "lexwire.candidates");
    assert_eq!(repartitioned, 6, "all but the two dead letters repartitioned");
    let dedup: i64 =
        kafka::committed(&bootstrap, "lexwire.dedup", "lexwire.candidates", 6).values().map(|o| o.max(&0)).sum();
    assert_eq!(dedup, repartitioned, "the dedup stage committed every repartitioned article");

    let dead = kafka::read_topic(&bootstrap, "articles.dlq");
    assert_eq!(dead.len(), 2, "{:?}", dead.iter().map(|r| &r.headers).collect::<Vec<_>>());
    let too_big = dead.iter().find(|r| r.key.as_deref() == Some(b"too-big".as_slice())).expect("the oversize message");
    assert_eq!(too_big.headers["lexwire.error.class"], "oversize");
    assert_eq!(too_big.headers["lexwire.payload.truncated"], oversize.len().to_string());
    let payload = too_big.payload.as_deref().unwrap();
    assert!(payload.len() < oversize.len() && oversize.as_bytes().starts_with(payload), "a prefix of the message");
    assert!(payload.len() >= 4 * 1024 * 1024, "cut to the record limit, not below: {}", payload.len());
    let long = dead.iter().find(|r| r.key.as_deref() == Some(b"long-id".as_slice())).expect("the 600 KB id");
    assert_eq!(long.headers["lexwire.error.class"], "invalid_article");
    assert!(long.headers["lexwire.error.message"].contains("`id`"), "{}", long.headers["lexwire.error.message"]);
    assert_eq!(long.payload.as_deref(), Some(large[3].1.as_slice()), "unchanged: it fits");
}

/// A permanent produce error (the broker refusing a record as too large) was retried like any
/// other, forever when it stays. Now the input message goes to the dead-letter topic, unchanged,
/// with the broker's refusal as its error, and the partition moves on.
#[test]
fn regression_a_permanent_produce_error_is_retried_forever() {
    let c = cluster(1);
    let messages = kafka::strike_messages(3, "refused");
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    // lexwire's first produce request is refused; the test's own are done.
    c.mock.request_errors(RDKafkaApiKey::Produce, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE]);
    let run = kafka::lexwire_run(&c.bootstrap, &[RUN_ENV[0], RUN_ENV[1], WINDOW]);
    kafka::wait_ok(run, Duration::from_secs(90));
    let dead = kafka::read_topic(&c.bootstrap, "articles.dlq");
    assert!(!dead.is_empty(), "the refused record's input is dead-lettered");
    let events = kafka::read_topic(&c.bootstrap, "events");
    for (key, value) in &messages {
        let id = key.as_deref().unwrap();
        let letter = dead.iter().find(|r| r.key.as_deref() == Some(id.as_bytes()));
        let published = events.iter().any(|r| r.headers.get("lexwire.article.id").map(String::as_str) == Some(id));
        match letter {
            Some(r) => {
                assert_eq!(r.headers["lexwire.error.class"], "oversize");
                assert!(r.headers["lexwire.error.message"].contains("refused"), "{:?}", r.headers);
                assert_eq!(r.payload.as_deref(), Some(value.as_slice()), "the input, unchanged");
                assert_eq!(r.headers["lexwire.source.topic"], "articles");
            }
            None => assert!(published, "{id}: neither dead-lettered nor published"),
        }
    }
    let committed = kafka::committed(&c.bootstrap, "lexwire", "articles", 3);
    assert_eq!(committed[&0], messages.len() as i64, "{committed:?}");
}

/// An article whose processing outlasted `max.poll.interval.ms` cost the consumer its partition;
/// the article came back, was processed again, forever, and the next one never was. Now tagging
/// and extraction have a budget (`pipeline.article_timeout_ms`): past it the article is
/// dead-lettered (`timeout`) once and the partition moves on. The slowness comes from a test hook
/// (debug builds: ids containing `slow` sleep `LEXWIRE_TEST_SLOW_ARTICLE_MS`).
#[test]
#[cfg_attr(not(debug_assertions), ignore = "the slow-article hook exists in debug builds only")]
fn regression_a_slow_message_becomes_a_poison_loop() {
    let c = cluster(1);
    let messages = [kafka::strike_messages(1, "slow"), kafka::strike_messages(2, "after")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let run = kafka::lexwire_run(
        &c.bootstrap,
        &[
            RUN_ENV[0],
            RUN_ENV[1],
            WINDOW,
            ("LEXWIRE_TEST_SLOW_ARTICLE_MS", "12000"),
            ("LEXWIRE_PIPELINE_ARTICLE_TIMEOUT_MS", "1500"),
            ("LEXWIRE_KAFKA_CONSUMER_MAX_POLL_INTERVAL_MS", "6000"),
            ("LEXWIRE_KAFKA_CONSUMER_SESSION_TIMEOUT_MS", "6000"),
        ],
    );
    kafka::wait_ok(run, Duration::from_secs(90));
    let dead = kafka::read_topic(&c.bootstrap, "articles.dlq");
    assert_eq!(dead.len(), 1, "dead-lettered once: {:?}", dead.iter().map(|r| &r.headers).collect::<Vec<_>>());
    assert_eq!(dead[0].headers["lexwire.error.class"], "timeout");
    assert_eq!(dead[0].headers["lexwire.source.topic"], "articles", "the input message's coordinates");
    assert_eq!(dead[0].headers["lexwire.source.offset"], "0");
    let events = kafka::read_topic(&c.bootstrap, "events");
    for id in ["after-0", "after-1"] {
        assert!(events.iter().any(|r| r.headers["lexwire.article.id"] == id), "{id} processed");
    }
    assert!(!events.iter().any(|r| r.headers["lexwire.article.id"] == "slow-0"), "the slow one left no event");
    let committed = kafka::committed(&c.bootstrap, "lexwire.dedup", "lexwire.candidates", 6);
    let repartitioned = kafka::high_watermarks(&c.bootstrap, "lexwire.candidates");
    assert_eq!(committed.values().map(|o| o.max(&0)).sum::<i64>(), repartitioned, "{committed:?}");
}

/// Two reports of one Al-Bukamal strike, one in an article mostly about Aleppo and one in an
/// article mostly about Deir ez-Zor. Routed by article, they reached two dedup partitions (the
/// articles' governorates) and became two events; routed by event, both reports go to the
/// partition of Al-Bukamal's governorate and give one event with two sources — with two
/// instances in the group, each holding half the dedup partitions.
#[test]
fn regression_two_reports_of_one_event_in_articles_about_other_governorates_give_two_events() {
    let c = cluster(1);
    let article = |id: &str, at: &str, text: &str| {
        let json = serde_json::json!({"id": id, "source": id, "published_at": at, "text": text});
        (Some(id.to_string()), json.to_string().into_bytes())
    };
    let messages = vec![
        article(
            "aleppo-daily-1",
            "2024-03-05T10:00:00Z",
            "Aleppo's city council met on Monday to discuss water supplies in Aleppo. Residents of eastern \
             Aleppo said bread prices in Aleppo had doubled since January. The university of Aleppo reopened \
             its library. Elsewhere, an air strike killed seven people in Al-Bukamal on Monday, activists said.",
        ),
        article(
            "euphrates-post-1",
            "2024-03-05T12:00:00Z",
            "An air strike killed seven people in Al-Bukamal on Monday, activists said. The town lies in Deir \
             ez-Zor province near the Iraqi border. Deir ez-Zor has seen repeated strikes this year, and \
             residents of Deir ez-Zor city reported drones overhead.",
        ),
    ];
    // Both instances in the group before the articles arrive, so that each holds dedup partitions.
    let env = [RUN_ENV[0], ("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "6"), WINDOW];
    let (first, second) = (kafka::lexwire_run(&c.bootstrap, &env), kafka::lexwire_run(&c.bootstrap, &env));
    std::thread::sleep(Duration::from_secs(8));
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let logs = [kafka::wait_ok(first, Duration::from_secs(90)), kafka::wait_ok(second, Duration::from_secs(90))];
    for log in &logs {
        assert!(
            log.lines().any(|l| l.contains("partitions assigned")
                && l.contains("stage=\"dedup\"")
                && l.contains("partitions=3")),
            "each instance holds half the dedup partitions:\n{log}"
        );
    }
    let records: Vec<serde_json::Value> = kafka::read_topic(&c.bootstrap, "events").iter().map(Record::json).collect();
    let events: BTreeSet<&str> = records.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(events.len(), 1, "one strike, one event: {records:#?}");
    let last = records.iter().max_by_key(|r| r["revision"].as_u64()).unwrap();
    let sources: BTreeSet<&str> =
        last["sources"].as_array().unwrap().iter().map(|s| s["article_id"].as_str().unwrap()).collect();
    assert_eq!(sources, BTreeSet::from(["aleppo-daily-1", "euphrates-post-1"]), "{last:#}");
}

/// Runs lexwire (stop deadline 2 s) on the seeds with `env` added, waits for their records and
/// `settle`, makes the broker stop answering (every answer delayed 600 s), sends SIGTERM: the
/// exit status, the log and how long the stop took.
fn stop_with_a_silent_broker(env: &[(&str, &str)], settle: Duration) -> (std::process::ExitStatus, String, Duration) {
    let c = cluster(1);
    let base =
        [RUN_ENV[0], WINDOW, ("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "0"), ("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "2")];
    let run = kafka::lexwire_run(&c.bootstrap, &[&base[..], env].concat());
    let messages = kafka::seed_messages();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let offline = kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]);
    kafka::wait_for_records(&c.bootstrap, "events", offline.len(), Duration::from_secs(90));
    std::thread::sleep(settle);
    c.mock.broker_round_trip_time(1, Duration::from_secs(600)).unwrap();
    kafka::terminate(&run);
    kafka::wait_exit(run, Duration::from_secs(120))
}

/// A stop bounded in time when the broker stops answering: the stages commit what they finished,
/// the consumers' close (leaving the group waits for the coordinator) gets the stop's deadline
/// and a grace, and the process exits 0 without it, saying so.
#[test]
fn a_stop_whose_broker_no_longer_answers_ends_within_its_deadline_and_grace() {
    // Auto-commit (every second) commits the input before the broker goes silent.
    let (status, log, took) = stop_with_a_silent_broker(&[], Duration::from_secs(3));
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("close (leaving the group) did not end in time"), "the log says why:\n{log}");
    assert!(log.contains("everything processed was committed"), "{log}");
    // The deadline (2 s) and the close's grace (5 s), with room for a loaded machine; without the
    // bound this stop did not end in 60 s.
    assert!(took < Duration::from_secs(30), "{took:?}\n{log}");
}

/// A stop that hangs where nothing can bound it (the final commit, waiting on a broker that no
/// longer answers) is ended by the watchdog: status 3, with the reason in the log, soon after the
/// deadline and its grace (15 s) — not after librdkafka's own timeouts.
#[test]
fn a_stop_that_hangs_in_its_final_commit_is_ended_by_the_watchdog_with_status_3() {
    // Offsets are stored as records are acknowledged, committed only by the stop.
    let no_auto_commit = ("LEXWIRE_KAFKA_CONSUMER_AUTO_COMMIT_INTERVAL_MS", "3600000");
    let (status, log, took) = stop_with_a_silent_broker(&[no_auto_commit], Duration::from_secs(1));
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(log.contains("the stop did not end within pipeline.shutdown_timeout_secs plus 15 s"), "{log}");
    // The watchdog fires 17 s after the stop began; librdkafka's request timeout is 60 s.
    assert!(took >= Duration::from_secs(17) && took < Duration::from_secs(50), "{took:?}\n{log}");
}
