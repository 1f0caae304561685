//! `lexwire run` against a real Kafka-protocol broker on loopback (Tansu, which `tests/run`
//! installs when missing and starts, passing its address in `LEXWIRE_TEST_BROKERS`): the seeds
//! produced as raw articles give exactly what `lexwire tag --events` prints; two instances in one
//! consumer group split the work and together publish what one instance publishes, announcing no
//! event twice; a topic it may not create, and which is missing, is named when it stops.
//!
//! Ignored by a bare `cargo test` (no broker); `tests/run` runs them.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::kafka;

fn brokers() -> String {
    std::env::var("LEXWIRE_TEST_BROKERS")
        .expect("LEXWIRE_TEST_BROKERS names the broker: run these tests with tests/run")
}

/// Topic and group names of one lexwire application, unique per test.
fn app_env(app: &str, input: &str) -> Vec<(String, String)> {
    [
        ("LEXWIRE_KAFKA_GROUP_ID", app.to_string()),
        ("LEXWIRE_KAFKA_INPUT_TOPICS", input.to_string()),
        ("LEXWIRE_KAFKA_EVENTS_TOPIC", format!("{app}.events")),
        ("LEXWIRE_KAFKA_DEAD_LETTER_TOPIC", format!("{app}.dlq")),
        ("LEXWIRE_KAFKA_REPARTITION_TOPIC", format!("{app}.candidates")),
        ("LEXWIRE_KAFKA_CHANGELOG_TOPIC", format!("{app}.changelog")),
        ("LEXWIRE_DEDUP_WINDOW_DAYS", "3650".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn run(env: &[(String, String)], extra: &[(&str, &str)]) -> std::process::Child {
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.push(kafka::TANSU_WORKAROUND);
    all.extend_from_slice(extra);
    kafka::lexwire_run(&brokers(), &all)
}

fn unique_name(base: &str) -> String {
    format!(
        "{base}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
    )
}

fn as_update(l: &str) -> String {
    l.replacen("\"status\":\"created\"", "\"status\":\"updated\"", 1)
}

fn payloads(records: &[kafka::Record]) -> Vec<String> {
    records.iter().map(|r| String::from_utf8(r.payload.clone().unwrap()).unwrap()).collect()
}

/// Creates `topic` (3 partitions) by producing nothing through a lexwire start is not needed:
/// the producer auto-creates it on the broker; the articles go to partition 0 in order.
fn produce_articles(topic: &str, messages: &[(Option<String>, Vec<u8>)]) {
    kafka::produce(&brokers(), topic, Some(0), messages);
}

#[test]
#[ignore = "needs a Kafka-protocol broker: tests/run starts Tansu"]
fn seeds_through_a_real_broker_equal_the_offline_output() {
    let app = unique_name("seeds");
    let input = format!("{app}.articles");
    let env = app_env(&app, &input);
    // lexwire creates its topics first (the input with 3 partitions), then the seeds arrive.
    let child = run(&env, &[("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "5")]);
    std::thread::sleep(Duration::from_secs(3));
    let seeds = kafka::seed_messages();
    produce_articles(&input, &seeds);
    kafka::wait_ok(child, Duration::from_secs(120));
    let got = payloads(&kafka::read_topic(&brokers(), &format!("{app}.events")));
    let offline = kafka::offline_events_with(&seeds, &["--window-days", "3650"]);
    assert_eq!(got.len(), offline.len(), "one record per offline record");
    assert_eq!(got.iter().collect::<BTreeSet<_>>(), offline.iter().collect::<BTreeSet<_>>());
}

#[test]
#[ignore = "needs a Kafka-protocol broker: tests/run starts Tansu"]
fn two_instances_in_one_group_publish_what_one_instance_publishes() {
    let input = unique_name("scale-articles");
    let (pair, single) = (unique_name("pair"), unique_name("single"));
    let messages = [kafka::seed_messages(), kafka::strike_messages(120, "scale")].concat();

    let single_env = app_env(&single, &input);
    let pair_env = app_env(&pair, &input);
    let idle = [("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "8")];
    let one = run(&single_env, &idle);
    let a = run(&pair_env, &idle);
    let b = run(&pair_env, &idle);
    std::thread::sleep(Duration::from_secs(4));
    produce_articles(&input, &messages);
    let log_a = kafka::wait_ok(a, Duration::from_secs(180));
    let log_b = kafka::wait_ok(b, Duration::from_secs(180));
    kafka::wait_ok(one, Duration::from_secs(180));

    let assigned = |log: &str| {
        log.lines().any(|l| l.contains("partitions assigned") && l.contains("dedup") && !l.contains("partitions=0"))
    };
    assert!(assigned(&log_a) && assigned(&log_b), "both instances got dedup partitions");

    let pair_records = payloads(&kafka::read_topic(&brokers(), &format!("{pair}.events")));
    let single_records = payloads(&kafka::read_topic(&brokers(), &format!("{single}.events")));
    let mut created: HashMap<String, usize> = HashMap::new();
    for r in &pair_records {
        let j: serde_json::Value = serde_json::from_str(r).unwrap();
        if j["status"] == "created" {
            *created.entry(j["event_id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert!(created.values().all(|n| *n == 1), "an event announced as created by both instances");
    let norm = |v: &[String]| v.iter().map(|l| as_update(l)).collect::<BTreeSet<String>>();
    let (p, s) = (norm(&pair_records), norm(&single_records));
    assert!(!s.is_empty());
    assert_eq!(p.len(), s.len(), "the pair published {} distinct records, one instance {}", p.len(), s.len());
    assert!(p == s, "the union of the pair's output equals one instance's");
}

#[test]
#[ignore = "needs a Kafka-protocol broker: tests/run starts Tansu"]
fn a_missing_topic_is_named_when_lexwire_may_not_create_it() {
    let app = unique_name("absent");
    let env = app_env(&app, &format!("{app}.articles"));
    let child = run(&env, &[("LEXWIRE_KAFKA_CREATE_TOPICS", "false")]);
    // lexwire reads a missing topic's metadata again for 15 s (a topic just created may not be
    // in it yet), then stops with a message that names the topic and the setting.
    let (status, err, _) = kafka::wait_exit(child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("topic {app}.candidates")), "the topic is named: {err}");
    assert!(err.contains("kafka.create_topics"), "the setting is named: {err}");
}
