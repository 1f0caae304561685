//! `lexwire run --delivery exactly-once`: the stages read, process and write in Kafka
//! transactions.
//!
//! What librdkafka's mock cluster can show, it is asked here: the transactional protocol runs end
//! to end (transactions initialised, begun, offsets sent, committed) and gives the records
//! offline processing gives; an aborted transaction is processed again from the state it began
//! with. What it cannot show: the mock (librdkafka 2.12.1) does not store the offsets a
//! transaction commits (`rd_kafka_mock_handle_TxnOffsetCommit` answers without committing), and
//! it writes no transaction markers (`EndTxn` only answers; a fetch reports the last stable
//! offset as the high watermark and no aborted transactions), so a `read_committed` reader sees
//! aborted records there. Tansu 0.6 has no transactions. The test that needs a broker with
//! transactions — `kill -9` in the middle of a transaction, a restart, and every record read
//! exactly once — runs against one named by `LEXWIRE_TEST_TRANSACTIONAL_BROKERS` (Apache Kafka
//! 2.5 or later) and is ignored without it.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::kafka::{self, Record, cluster};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

const WINDOW_DAYS: &str = "36500";

/// Exactly-once, no topic creation (the cluster has them), a window that holds the stream, exit
/// when idle.
const EXACTLY_ONCE: [(&str, &str); 4] = [
    ("LEXWIRE_PIPELINE_DELIVERY", "exactly-once"),
    ("LEXWIRE_KAFKA_CREATE_TOPICS", "false"),
    ("LEXWIRE_DEDUP_WINDOW_DAYS", WINDOW_DAYS),
    ("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "4"),
];

fn lines(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8(r.payload.clone().unwrap()).unwrap()).collect()
}

/// `event_id rN status` of a record line: what an assertion message shows.
fn short(line: &str) -> String {
    let j: serde_json::Value = serde_json::from_str(line).unwrap();
    format!("{} r{} {}", j["event_id"].as_str().unwrap(), j["revision"], j["status"].as_str().unwrap())
}

/// The difference between the records offline processing gives and those on the topic, both
/// ways, for an assertion message.
fn differences(offline: &BTreeSet<String>, got: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    let missing = offline.difference(got).map(|l| short(l)).collect();
    let extra = got.difference(offline).map(|l| short(l)).collect();
    (missing, extra)
}

/// The seeds and 150 strikes through both stages in transactions give the records offline
/// processing gives, each once.
#[test]
fn exactly_once_publishes_what_offline_processing_gives_each_record_once() {
    let c = cluster(1);
    let messages = [kafka::seed_messages(), kafka::strike_messages(150, "eos")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    let log = kafka::wait_ok(kafka::lexwire_run(&c.bootstrap, &EXACTLY_ONCE), Duration::from_secs(120));
    for stage in ["articles", "dedup"] {
        assert!(
            log.lines().any(|l| l.contains("transactions initialised") && l.contains(&format!("stage=\"{stage}\""))),
            "the {stage} stage runs in transactions:\n{log}"
        );
    }
    let records = lines(&kafka::read_topic(&c.bootstrap, "events"));
    let offline: BTreeSet<String> =
        kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]).into_iter().collect();
    let got: BTreeSet<String> = records.iter().cloned().collect();
    let (missing, extra) = differences(&offline, &got);
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    assert_eq!(records.len(), got.len(), "no record twice (no transaction was aborted)");
}

/// The group coordinator refuses a transaction's offsets (a stale generation: what a zombie
/// instance gets after a rebalance). lexwire aborts the transaction, goes back to the batch's
/// first offsets, drops the state the batch changed and processes the batch again: nothing is
/// lost.
///
/// On a broker with transactions that is all a reader sees. The mock shows the aborted
/// transactions' records as well (no markers): the dedup stage reads the articles an aborted
/// articles transaction repartitioned, and again when the retry commits them, and the second
/// reading republishes the article's events as `updated` at the same revision (what a
/// redelivered article does under at-least-once). Those are the only extra records allowed.
#[test]
fn an_aborted_transaction_is_processed_again_and_nothing_is_lost() {
    let c = cluster(1);
    let messages = [kafka::seed_messages(), kafka::strike_messages(150, "abort")].concat();
    kafka::produce(&c.bootstrap, "articles", Some(0), &messages);
    c.mock.request_errors(RDKafkaApiKey::TxnOffsetCommit, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION; 4]);
    let log = kafka::wait_ok(kafka::lexwire_run(&c.bootstrap, &EXACTLY_ONCE), Duration::from_secs(120));
    let aborted = log.lines().filter(|l| l.contains("transaction failed: aborting")).count();
    assert!(aborted >= 1, "the injected errors aborted transactions:\n{log}");
    // The retry wrote the aborted batch again: on the mock, where aborted records stay visible,
    // an article of an aborted articles transaction is on the repartition topic twice.
    let articles_aborted =
        log.lines().any(|l| l.contains("transaction failed: aborting") && l.contains("stage=\"articles\""));
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in kafka::read_topic(&c.bootstrap, "lexwire.candidates") {
        *copies.entry(r.json()["id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(copies.len(), messages.len(), "every article repartitioned");
    // The articles stage commits first (the dedup stage reads what it writes): the first
    // injected error is its.
    assert!(articles_aborted, "an articles transaction aborted:\n{log}");
    assert!(copies.values().any(|n| *n > 1), "the messages of the aborted transaction were processed again");
    let got: BTreeSet<String> = lines(&kafka::read_topic(&c.bootstrap, "events")).into_iter().collect();
    let offline: BTreeSet<String> =
        kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]).into_iter().collect();
    let (missing, extra) = differences(&offline, &got);
    assert!(missing.is_empty(), "{aborted} transactions aborted; missing {missing:?}\n{log}");
    let as_update = |l: &String| l.replacen("\"status\":\"created\"", "\"status\":\"updated\"", 1);
    let replays: BTreeSet<String> = offline.iter().map(as_update).collect();
    let unexplained: Vec<String> =
        got.iter().filter(|l| !offline.contains(*l) && !replays.contains(*l)).map(|l| short(l)).collect();
    assert!(
        unexplained.is_empty(),
        "records that are neither offline's nor their replays: {unexplained:?} (of {} extra)",
        extra.len()
    );
}

/// A configuration that cannot keep the guarantee is refused at start, naming the key.
#[test]
fn exactly_once_with_a_cooperative_assignment_is_refused() {
    let c = cluster(1);
    let run = kafka::lexwire_run(
        &c.bootstrap,
        &[EXACTLY_ONCE[0], ("LEXWIRE_KAFKA_CONSUMER_PARTITION_ASSIGNMENT_STRATEGY", "cooperative-sticky")],
    );
    let (status, log, _) = kafka::wait_exit(run, Duration::from_secs(60));
    assert!(!status.success(), "refused: {log}");
    assert!(log.contains("kafka.consumer.partition.assignment.strategy"), "names the key: {log}");
}

/// `kill -9` in the middle of a transaction, a restart with the same transactional id: the
/// restart fences the killed instance and aborts its open transaction, and a `read_committed`
/// reader of the events topic sees every record offline processing gives exactly once — no
/// revision twice, no `created` twice, nothing lost.
///
/// Needs a broker with transactions (Apache Kafka 2.5 or later) at
/// `LEXWIRE_TEST_TRANSACTIONAL_BROKERS`, with the topics of [`cluster`] created empty
/// (`articles` 3 partitions, `events` 3, `articles.dlq` 1, `lexwire.candidates` 6,
/// `lexwire.dedup-changelog` 6, compacted).
#[test]
#[ignore = "needs a broker with transactions: set LEXWIRE_TEST_TRANSACTIONAL_BROKERS and run with --ignored"]
fn kill_9_in_a_transaction_and_restart_gives_every_record_exactly_once() {
    let bootstrap = std::env::var("LEXWIRE_TEST_TRANSACTIONAL_BROKERS")
        .expect("LEXWIRE_TEST_TRANSACTIONAL_BROKERS names a broker with transactions");
    let messages = [kafka::seed_messages(), kafka::strike_messages(1500, "eos-kill")].concat();
    kafka::produce(&bootstrap, "articles", Some(0), &messages);
    let same_id = ("LEXWIRE_KAFKA_TRANSACTIONAL_ID", "lexwire-kill-test");
    let session = ("LEXWIRE_KAFKA_CONSUMER_SESSION_TIMEOUT_MS", "6000");
    let mut first =
        kafka::lexwire_run(&bootstrap, &[EXACTLY_ONCE[0], EXACTLY_ONCE[1], EXACTLY_ONCE[2], same_id, session]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while kafka::high_watermarks(&bootstrap, "events") < 50 {
        assert!(Instant::now() < deadline, "the first run published nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    kafka::wait_ok(
        kafka::lexwire_run(&bootstrap, &[&EXACTLY_ONCE[..], &[same_id, session]].concat()),
        Duration::from_secs(300),
    );

    let records = lines(&kafka::read_topic(&bootstrap, "events"));
    let mut seen: HashMap<(String, u64), usize> = HashMap::new();
    let mut created: HashMap<String, usize> = HashMap::new();
    for l in &records {
        let j: serde_json::Value = serde_json::from_str(l).unwrap();
        let id = j["event_id"].as_str().unwrap().to_string();
        *seen.entry((id.clone(), j["revision"].as_u64().unwrap())).or_default() += 1;
        if j["status"] == "created" {
            *created.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "revisions published twice: {:?}", &twice[..3.min(twice.len())]);
    assert!(created.values().all(|n| *n == 1), "an event created twice");
    let offline: BTreeSet<String> =
        kafka::offline_events_with(&messages, &["--window-days", WINDOW_DAYS]).into_iter().collect();
    let got: BTreeSet<String> = records.into_iter().collect();
    let (missing, extra) = differences(&offline, &got);
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
}
