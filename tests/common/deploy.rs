//! What the files of `deploy/` ask of `/metrics`: the queries of the Grafana dashboard and of the
//! Prometheus alert rules, the metric names and label selections in them, and which of those a
//! scrape does not answer. Used by `tests/deploy.rs` (against [`Metrics::render`]) and
//! `tests/service_ops.rs` (against a running instance).
//!
//! [`Metrics::render`]: lexwire::service::metrics::Metrics::render

use std::collections::BTreeSet;

use super::repo_path;

/// Series keyed by topic and partition: they appear once librdkafka reports on an assigned
/// partition, so no scrape of a fresh instance is expected to hold them.
const KEYED_BY_PARTITION: [&str; 1] = ["lexwire_consumer_lag_messages"];

const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// The query of every panel target of the Grafana dashboard.
pub fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(repo_path("deploy/grafana/dashboards/lexwire.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let panels = dash["panels"].as_array().expect("panels");
    let mut queries = Vec::new();
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            queries.push(t["expr"].as_str().expect("expr").to_string());
        }
    }
    queries
}

/// The text of the alert rules.
pub fn alert_rules() -> String {
    std::fs::read_to_string(repo_path("deploy/prometheus/alerts.yml")).unwrap()
}

/// A `lexwire_*` metric as a query selects it: its name (histogram suffixes removed) and the
/// `label="value"` matchers in braces after it (`!=`, `=~` and `!~` matchers select no one
/// series, so they are left out).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Selection {
    pub name: String,
    pub matchers: Vec<String>,
}

/// The `lexwire_*` selections in `text`.
pub fn selections(text: &str) -> BTreeSet<Selection> {
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
            let name = HISTOGRAM_SUFFIXES.iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
            let braces = text[end..].strip_prefix('{').and_then(|rest| rest.split_once('}')).map(|(inner, _)| inner);
            let matchers = braces
                .into_iter()
                .flat_map(|inner| inner.split(','))
                .map(str::trim)
                .filter(|m| m.contains("=\"") && !m.contains("!=") && !m.contains("=~"))
                .map(|m| m.replace(' ', ""))
                .collect();
            out.insert(Selection { name: name.to_string(), matchers });
        }
        i = end.max(start + 1);
    }
    out
}

/// The `lexwire_*` metric names in `text`, with histogram suffixes removed.
pub fn metric_names(text: &str) -> BTreeSet<String> {
    selections(text).into_iter().map(|s| s.name).collect()
}

/// What the dashboard and the alert rules select that the text exposition `scrape` has no sample
/// for (a histogram needs its `_bucket`, `_sum` and `_count`), as `name` or `name{matchers}`;
/// the series keyed by partition aside.
pub fn unanswered(scrape: &str) -> Vec<String> {
    let samples: Vec<(&str, Vec<&str>)> = scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            let labels = l.split_once('{').and_then(|(_, rest)| rest.split_once('}')).map_or("", |(inner, _)| inner);
            (name, labels.split(',').collect())
        })
        .collect();
    let has = |name: &str, matchers: &[String]| {
        samples.iter().any(|(n, labels)| *n == name && matchers.iter().all(|m| labels.contains(&m.as_str())))
    };
    let mut text = dashboard_queries().join("\n");
    text.push('\n');
    text.push_str(&alert_rules());
    selections(&text)
        .into_iter()
        .filter(|s| !KEYED_BY_PARTITION.contains(&s.name.as_str()))
        .filter(|s| {
            !has(&s.name, &s.matchers)
                && !HISTOGRAM_SUFFIXES.iter().all(|x| has(&format!("{}{x}", s.name), &s.matchers))
        })
        .map(|s| if s.matchers.is_empty() { s.name } else { format!("{}{{{}}}", s.name, s.matchers.join(",")) })
        .collect()
}
