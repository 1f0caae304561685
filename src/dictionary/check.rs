//! `lexwire dict check`: what a dictionary holds, where its aliases collide and how each
//! collision resolves, which aliases are ambiguous, and what the automaton costs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{AliasOrigin, Ambiguity, Dictionary, EntryKind};
use crate::matcher::Matcher;

/// The report, printable as text or JSON.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub version: String,
    pub files: Vec<String>,
    pub load_ms: f64,
    /// Entries and aliases per kind.
    pub kinds: BTreeMap<String, KindCount>,
    pub aliases_by_origin: BTreeMap<String, usize>,
    pub patterns: usize,
    /// Patterns shared by more than one entry.
    pub collisions: usize,
    /// Of those, where a generated variant lost to another entry's attested name.
    pub suppressed_variants: usize,
    pub collision_examples: Vec<Collision>,
    pub ambiguous: BTreeMap<String, usize>,
    pub ambiguous_examples: Vec<String>,
    pub bad_lines: usize,
    pub bad_line_examples: Vec<String>,
    pub skipped_names: usize,
    pub automaton: AutomatonReport,
}

#[derive(Debug, Default, Serialize)]
pub struct KindCount {
    pub entries: usize,
    pub aliases: usize,
}

/// One alias that names several entries, and which one wins.
#[derive(Debug, Serialize)]
pub struct Collision {
    pub alias: String,
    /// `id (origin)`, best first: the first wins unless context picks another place.
    pub candidates: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AutomatonReport {
    pub kind: String,
    pub patterns: usize,
    pub build_ms: f64,
    pub heap_bytes: usize,
    /// What DFAs over the ASCII patterns and over the others take or would take, estimated
    /// before building: a DFA is built only while the total fits the budget.
    pub dfa_estimate_bytes: [usize; 2],
    pub dfa_budget_bytes: usize,
    /// Growth of the process's resident memory while the automaton was built, when known.
    pub resident_growth_bytes: Option<usize>,
    /// The process's peak resident memory so far (loading and building), when known.
    pub peak_resident_bytes: Option<usize>,
}

impl CheckReport {
    /// Builds the report. `examples` bounds each list of examples.
    pub fn new(
        dict: &Dictionary,
        matcher: &Matcher,
        load: Duration,
        resident_growth: Option<usize>,
        examples: usize,
    ) -> Self {
        let mut kinds: BTreeMap<String, KindCount> = BTreeMap::new();
        for entry in dict.entries() {
            kinds.entry(entry.kind().to_string()).or_default().entries += 1;
        }
        let mut aliases_by_origin = BTreeMap::new();
        let mut ambiguous = BTreeMap::new();
        let mut ambiguous_examples = Vec::new();
        for alias in dict.aliases() {
            kinds.entry(dict.entry(alias.entry).kind().to_string()).or_default().aliases += 1;
            *aliases_by_origin.entry(origin_name(alias.origin).to_string()).or_insert(0) += 1;
            if let Some(a) = alias.ambiguity {
                let reason = match a {
                    Ambiguity::CommonWord => "common_word",
                    Ambiguity::PersonName => "person_name",
                    Ambiguity::Curated => "curated",
                };
                *ambiguous.entry(reason.to_string()).or_insert(0) += 1;
                if ambiguous_examples.len() < examples && alias.origin != AliasOrigin::Generated {
                    ambiguous_examples.push(format!("{:?} -> {} ({reason})", alias.text, dict.entry(alias.entry).id));
                }
            }
        }
        let mut collisions = 0;
        let mut suppressed_variants = 0;
        let mut collision_examples = Vec::new();
        for p in 0..matcher.pattern_count() as u32 {
            let candidates = matcher.candidates(p);
            let first_entry = dict.aliases()[candidates[0] as usize].entry;
            if candidates.iter().all(|&a| dict.aliases()[a as usize].entry == first_entry) {
                continue;
            }
            collisions += 1;
            let winner = &dict.aliases()[candidates[0] as usize];
            if winner.origin != AliasOrigin::Generated
                && candidates.iter().any(|&a| dict.aliases()[a as usize].origin == AliasOrigin::Generated)
            {
                suppressed_variants += 1;
            }
            let interesting = candidates.iter().all(|&a| dict.aliases()[a as usize].origin != AliasOrigin::Generated);
            if interesting && collision_examples.len() < examples {
                collision_examples.push(Collision {
                    alias: matcher.pattern(p).trim().to_string(),
                    candidates: candidates
                        .iter()
                        .map(|&a| {
                            let alias = &dict.aliases()[a as usize];
                            let entry = dict.entry(alias.entry);
                            format!("{} {:?} ({}, {})", entry.id, entry.name, entry.kind(), origin_name(alias.origin))
                        })
                        .collect(),
                });
            }
        }
        let report = dict.report();
        CheckReport {
            version: dict.version().to_string(),
            files: report.files.clone(),
            load_ms: load.as_secs_f64() * 1e3,
            kinds,
            aliases_by_origin,
            patterns: matcher.pattern_count(),
            collisions,
            suppressed_variants,
            collision_examples,
            ambiguous,
            ambiguous_examples,
            bad_lines: report.bad_line_count(),
            bad_line_examples: report.bad_lines.iter().take(examples).map(ToString::to_string).collect(),
            skipped_names: report.skipped_names,
            automaton: AutomatonReport {
                kind: {
                    let (ascii, other) = matcher.kinds();
                    format!("{ascii:?} (ASCII patterns) + {other:?} (other scripts)")
                },
                patterns: matcher.pattern_count(),
                build_ms: matcher.build_time().as_secs_f64() * 1e3,
                heap_bytes: matcher.memory_usage(),
                dfa_estimate_bytes: {
                    let (ascii, other) = matcher.dfa_estimates();
                    [ascii, other]
                },
                dfa_budget_bytes: matcher.dfa_budget(),
                resident_growth_bytes: resident_growth,
                peak_resident_bytes: peak_resident_bytes(),
            },
        }
    }
}

fn origin_name(origin: AliasOrigin) -> &'static str {
    match origin {
        AliasOrigin::Curated => "curated",
        AliasOrigin::Primary => "primary",
        AliasOrigin::Alternate => "alternate",
        AliasOrigin::Template => "template",
        AliasOrigin::Generated => "generated",
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dictionary {} ({} files, loaded in {:.0} ms)", self.version, self.files.len(), self.load_ms)?;
        writeln!(f, "\nentries and aliases by kind:")?;
        for kind in EntryKind::ALL {
            if let Some(c) = self.kinds.get(kind.as_str()) {
                writeln!(f, "  {:<11} {:>6} entries {:>7} aliases", kind.as_str(), c.entries, c.aliases)?;
            }
        }
        let origins: Vec<String> = self.aliases_by_origin.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(f, "aliases by origin: {}", origins.join(", "))?;
        writeln!(
            f,
            "\ncollisions: {} of {} patterns name more than one entry; the first listed wins (for places, \
             context can pick another of the same rank); {} generated variants lost to another entry's attested name",
            self.collisions, self.patterns, self.suppressed_variants
        )?;
        for c in &self.collision_examples {
            writeln!(f, "  {:?}: {}", c.alias, c.candidates.join("  >  "))?;
        }
        let amb: Vec<String> = self.ambiguous.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(f, "\nambiguous aliases (accepted only with context): {}", amb.join(", "))?;
        for a in &self.ambiguous_examples {
            writeln!(f, "  {a}")?;
        }
        let a = &self.automaton;
        writeln!(
            f,
            "\nautomaton: {} over {} patterns, built in {:.0} ms, {:.1} MB of heap{}{}",
            a.kind,
            a.patterns,
            a.build_ms,
            a.heap_bytes as f64 / 1e6,
            a.resident_growth_bytes
                .map(|b| format!(", resident memory grew {:.1} MB while building", b as f64 / 1e6))
                .unwrap_or_default(),
            a.peak_resident_bytes
                .map(|b| format!(", peak resident memory {:.1} MB", b as f64 / 1e6))
                .unwrap_or_default(),
        )?;
        let budget = match a.dfa_budget_bytes >> 20 {
            0 => "no DFAs asked for".to_string(),
            mib => format!("budget {mib} MiB for both"),
        };
        writeln!(
            f,
            "DFAs would take {:.1} MB (ASCII patterns) + {:.1} MB (other scripts), estimated before building; {budget}",
            a.dfa_estimate_bytes[0] as f64 / 1e6,
            a.dfa_estimate_bytes[1] as f64 / 1e6,
        )?;
        writeln!(f, "GeoNames names skipped (other scripts, codes): {}", self.skipped_names)?;
        writeln!(f, "bad lines skipped: {}", self.bad_lines)?;
        for b in &self.bad_line_examples {
            writeln!(f, "  {b}")?;
        }
        Ok(())
    }
}

/// The process's peak resident memory in bytes (Linux `VmHWM` in `/proc/self/status`), if
/// readable.
pub fn peak_resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The process's resident memory in bytes (Linux `/proc/self/statm`), if readable.
pub fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
