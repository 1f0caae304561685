//! The files of `deploy/`, checked with what this machine has: the Grafana dashboard parses and
//! queries only metrics lexwire exports; so do the alert rules; the Kubernetes ConfigMap holds a
//! valid lexwire configuration. (`promtool check rules` and `promtool test rules` run in .ci/run.)

mod common;

use std::collections::BTreeSet;

use lexwire::service::metrics::Metrics;

/// `lexwire_*` names in `text`, with histogram suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("lexwire_") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase() || bytes[end].is_ascii_digit() || bytes[end] == b'_')
        {
            end += 1;
        }
        let before_ok = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if before_ok {
            let name = &text[start..end];
            let name = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
            out.insert(name.to_string());
        }
        i = end.max(start + 1);
    }
    out
}

fn exported() -> BTreeSet<String> {
    Metrics::new().names().into_iter().collect()
}

#[test]
fn the_dashboard_queries_only_exported_metrics() {
    let text = std::fs::read_to_string(common::repo_path("deploy/grafana/dashboards/lexwire.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let panels = dash["panels"].as_array().expect("panels");
    let mut queried = BTreeSet::new();
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            queried.extend(metric_names(t["expr"].as_str().expect("expr")));
        }
    }
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
    let text = std::fs::read_to_string(common::repo_path("deploy/prometheus/alerts.yml")).unwrap();
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
