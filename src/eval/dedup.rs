//! `lexwire eval --dedup`: deduplication scored on labelled rows. Every row of a file becomes an
//! article, all of them go through *one* dedup state in date order, and the report counts what
//! dedup did to distinct gold events:
//! - **false merges**: gold events whose report went into a lexwire event that already held
//!   another gold event's report (in a file without a `cluster` column every row is its own
//!   event, so any merge is false);
//! - **links**: reports published as their own event but linked to another one
//!   (`possible_duplicates`), to the same gold event or to another;
//! - **drops**: rows whose report produced no record although lexwire extracted an event from
//!   them, by reason;
//! - **missed merges**, on files with a `cluster` column: reports of one gold event that did not
//!   join the event its first report made.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use crate::article::Article;
use crate::dedup::{DedupConfig, Deduper, Status};
use crate::engine::Engine;

use super::{GoldRow, RowError};

/// What dedup did to one labelled file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DedupReport {
    pub file: String,
    /// Rows read, and rows that could not be processed.
    pub rows: usize,
    pub skipped: usize,
    /// Distinct gold events among the rows that produced an event.
    pub gold_events: usize,
    /// Rows lexwire extracted no event from (an extraction miss, not a dedup one).
    pub without_event: usize,
    pub created: usize,
    pub updated: usize,
    /// Gold events whose report merged into a lexwire event holding another gold event.
    pub false_merges: usize,
    /// Of those, rows whose text is word for word a text already in the event: coded data
    /// splits one report into several rows (one per place or per day), which no reader of
    /// the text can tell apart.
    pub false_merges_same_text: usize,
    /// Reports that created an event linked to an event of another gold event, or of the same.
    pub linked_to_other: usize,
    pub linked_to_same: usize,
    /// Rows with an extracted event whose report produced no record, by reason.
    pub drops: BTreeMap<String, usize>,
    /// Reports of a gold event with several reports that could have joined its first event, and
    /// those that did not.
    pub mergeable: usize,
    pub missed_merges: usize,
    /// A few false merges: the row's sentence and the sentence of the event it merged into.
    pub false_merge_examples: Vec<(String, String)>,
}

impl DedupReport {
    fn rate(n: usize, of: usize) -> String {
        if of == 0 { "-".into() } else { format!("{:.1}%", 100.0 * n as f64 / of as f64) }
    }

    pub fn dropped(&self) -> usize {
        self.drops.values().sum()
    }
}

impl fmt::Display for DedupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (dedup): {} rows in one state, {} skipped", self.file, self.rows, self.skipped)?;
        writeln!(f, "  gold events with an extracted event  {:>6}", self.gold_events)?;
        writeln!(f, "  rows without an extracted event      {:>6}", self.without_event)?;
        writeln!(f, "  records created / updated            {:>6} / {}", self.created, self.updated)?;
        writeln!(
            f,
            "  false merges                         {:>6}  {} of gold events",
            self.false_merges,
            Self::rate(self.false_merges, self.gold_events)
        )?;
        writeln!(f, "    {:<34}{:>6}", "same text as a merged row", self.false_merges_same_text)?;
        writeln!(f, "  linked to another gold event         {:>6}", self.linked_to_other)?;
        writeln!(f, "  linked to the same gold event        {:>6}", self.linked_to_same)?;
        writeln!(f, "  drops                                {:>6}", self.dropped())?;
        for (reason, n) in &self.drops {
            writeln!(f, "    {reason:<34} {n:>6}")?;
        }
        if self.mergeable > 0 {
            writeln!(
                f,
                "  missed merges                        {:>6}  {} of {} mergeable reports",
                self.missed_merges,
                Self::rate(self.missed_merges, self.mergeable),
                self.mergeable
            )?;
        }
        for (row, event) in &self.false_merge_examples {
            writeln!(f, "  false merge: {row}\n         into: {event}")?;
        }
        Ok(())
    }
}

/// Runs every row through one dedup state, in order of publication (the gold date where the
/// file has no publication date), and scores the result. `examples` false merges are kept.
pub fn evaluate(
    engine: &mut Engine,
    config: &DedupConfig,
    file: &str,
    mut rows: Vec<GoldRow>,
    examples: usize,
) -> (DedupReport, Vec<RowError>) {
    *engine.deduper_mut() = Deduper::new(config.clone());
    rows.sort_by_key(|r| (r.published.or(r.date), r.line));
    let mut report = DedupReport { file: file.to_string(), rows: rows.len(), ..DedupReport::default() };
    let mut errors = Vec::new();
    // The gold events each lexwire event holds; the lexwire events each gold event's reports went to.
    let mut holds: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut reports_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut falsely_merged: BTreeSet<String> = BTreeSet::new();
    let mut gold_events: BTreeSet<String> = BTreeSet::new();
    // The texts each lexwire event was told by.
    let mut texts: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for row in &rows {
        let gold = row.cluster.clone().unwrap_or_else(|| row.id.clone());
        let published = row.published.or(row.date).map(|d| d.format("%Y-%m-%d").to_string());
        let article = Article {
            id: row.id.as_str().into(),
            url: None,
            source: row.source.as_deref().map(Into::into),
            language: row.language.as_deref().map(Into::into),
            published_at: published.map(Into::into),
            title: None,
            text: row.text.as_str().into(),
        };
        let processed = match engine.process(&article) {
            Ok(p) => p,
            Err(e) => {
                report.skipped += 1;
                errors.push(RowError { line: row.line, column: "text".into(), message: e.to_string() });
                continue;
            }
        };
        let outcome = &processed.outcome;
        if processed.extract.candidates == 0 {
            report.without_event += 1;
            continue;
        }
        gold_events.insert(gold.clone());
        if outcome.records.is_empty() {
            let reason = if outcome.seen_before { "article seen before" } else { "no record" };
            *report.drops.entry(reason.to_string()).or_default() += 1;
            continue;
        }
        for (id, status) in &outcome.records {
            match status {
                Status::Created => report.created += 1,
                Status::Updated => report.updated += 1,
            }
            let held = holds.entry(id.clone()).or_default();
            let told = texts.entry(id.clone()).or_default();
            let text = row.text.trim();
            if held.iter().any(|g| *g != gold) && falsely_merged.insert(gold.clone()) {
                report.false_merges_same_text += usize::from(told.contains(text));
                if report.false_merge_examples.len() < examples {
                    let event = engine.deduper().event(id);
                    let first =
                        event.and_then(|e| e.sources.first()).map_or(String::new(), |s| s.sentence().to_string());
                    report.false_merge_examples.push((clip(&row.text), clip(&first)));
                }
            }
            told.insert(text);
            held.insert(gold.clone());
            if *status == Status::Created
                && let Some(event) = engine.deduper().event(id)
            {
                for link in &event.possible_duplicates {
                    let same = holds.get(&link.event_id.to_string()).is_some_and(|g| g.contains(&gold));
                    if same {
                        report.linked_to_same += 1;
                    } else {
                        report.linked_to_other += 1;
                    }
                }
            }
        }
        let first = outcome.records[0].0.clone();
        reports_of.entry(gold).or_default().push(first);
    }
    report.gold_events = gold_events.len();
    report.false_merges = falsely_merged.len();
    if rows.iter().any(|r| r.cluster.is_some()) {
        for events in reports_of.values().filter(|e| e.len() > 1) {
            report.mergeable += events.len() - 1;
            report.missed_merges += events.iter().skip(1).filter(|e| **e != events[0]).count();
        }
    }
    (report, errors)
}

fn clip(s: &str) -> String {
    let s = s.replace('\n', " ");
    match s.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}
