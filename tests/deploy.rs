//! The files of `deploy/`, checked with what this machine has: the Grafana dashboard parses and
//! queries only metrics lexwire exports; so do the alert rules; the metrics as they are at start
//! already hold every series those query; the Kubernetes ConfigMap holds a valid lexwire
//! configuration. (`promtool check rules` and `promtool test rules` run in .ci/run.)

mod common;

use std::collections::BTreeSet;

use common::deploy::{alert_rules, dashboard_queries, metric_names, unanswered};
use lexwire::dictionary::Dictionary;
use lexwire::service::metrics::Metrics;

fn exported() -> BTreeSet<String> {
    Metrics::new().names().into_iter().collect()
}

#[test]
fn the_dashboard_queries_only_exported_metrics() {
    let queried: BTreeSet<String> = dashboard_queries().iter().flat_map(|q| metric_names(q)).collect();
    let exported = exported();
    let unknown: Vec<&String> = queried.difference(&exported).collect();
    assert!(unknown.is_empty(), "the dashboard queries metrics lexwire does not export: {unknown:?}");
    for must in [
        "lexwire_articles_consumed_total",
        "lexwire_end_to_end_latency_seconds",
        "lexwire_consumer_lag_messages",
        "lexwire_dead_letters_total",
        "lexwire_duplicates_total",
        "lexwire_events_total",
        "lexwire_dictionary_info",
        "lexwire_dictionary_reloads_total",
    ] {
        assert!(queried.contains(must), "the dashboard should show {must}");
    }
}

#[test]
fn the_alert_rules_use_only_exported_metrics() {
    let text = alert_rules();
    let used = metric_names(&text);
    let exported = exported();
    let unknown: Vec<&String> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "alerts use metrics lexwire does not export: {unknown:?}");
    for alert in [
        "LexwireDown",
        "LexwireConsumerLagGrowing",
        "LexwireDeadLetterRateHigh",
        "LexwireNoEvents",
        "LexwireDictionaryReloadFailed",
        "LexwireLatencyHigh",
    ] {
        assert!(text.contains(&format!("alert: {alert}")), "{alert} missing");
    }
}

/// A labelled series exists only once a value is given to it: `lexwire_delivery_errors_total`,
/// which the dashboard and the alert rules query, was not exported by a healthy instance, nor
/// `lexwire_events_total{status="created"}` before the first event. Every series with a fixed
/// label set is now exported, at zero, by the metrics as the service has them at start.
#[test]
fn regression_queried_series_are_missing_until_first_counted() {
    let metrics = Metrics::new();
    let dict = Dictionary::bundled().expect("the bundled dictionary loads");
    metrics.set_dictionary(dict.version(), dict.entries().len());
    let missing = unanswered(&metrics.render());
    assert!(missing.is_empty(), "the dashboard and alerts query series a fresh instance does not export: {missing:?}");
}

#[test]
fn metric_names_follow_the_convention() {
    for name in exported() {
        assert!(name.starts_with("lexwire_"), "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
    }
    let text = Metrics::new().render();
    for line in text.lines().filter(|l| l.starts_with("# TYPE") && l.ends_with("counter")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(name.ends_with("_total"), "counter {name} must end in _total");
    }
}

#[test]
fn the_kubernetes_configmap_holds_a_valid_configuration() {
    let text = std::fs::read_to_string(common::repo_path("deploy/k8s/configmap.yaml")).unwrap();
    let toml: String = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("lexwire.toml: |"))
        .skip(1)
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lexwire.toml");
    std::fs::write(&path, toml).unwrap();
    let config = lexwire::service::Config::load(Some(&path), Vec::new(), &[]).expect("valid configuration");
    assert!(!config.embedded());
    let keda = std::fs::read_to_string(common::repo_path("deploy/k8s/keda-scaledobject.yaml")).unwrap();
    assert!(
        keda.contains(&format!("maxReplicaCount: {}", config.kafka.partitions)),
        "KEDA is capped at the partition count"
    );
}

/// The number after `key` in `text` (its first occurrence), as `key: 40` or `key = 40` writes it.
fn number_after(text: &str, key: &str) -> u64 {
    let rest = &text[text.find(key).unwrap_or_else(|| panic!("{key} is set")) + key.len()..];
    let digits: String = rest.trim_start_matches([':', '=', ' ']).chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("{key} is a number"))
}

/// A platform that kills the process before its stop's bound (the drain's deadline and the grace
/// the watchdog gives a hung Kafka client) loses the drain and the log line that says why.
#[test]
fn the_deploy_files_give_the_stop_its_whole_bound_before_a_kill() {
    let grace = lexwire::service::STOP_GRACE.as_secs();
    let read = |p: &str| std::fs::read_to_string(common::repo_path(p)).unwrap();
    let k8s = number_after(&read("deploy/k8s/deployment.yaml"), "terminationGracePeriodSeconds");
    let k8s_timeout = number_after(&read("deploy/k8s/configmap.yaml"), "shutdown_timeout_secs");
    assert!(k8s > k8s_timeout + grace, "Kubernetes: {k8s} s must exceed {k8s_timeout} + {grace} s");
    let compose = number_after(&read("deploy/compose.yaml"), "stop_grace_period");
    let example_timeout = number_after(&read("deploy/lexwire.example.toml"), "shutdown_timeout_secs");
    assert!(compose > example_timeout + grace, "compose: {compose} s must exceed {example_timeout} + {grace} s");
}
