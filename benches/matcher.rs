//! The matcher benchmark: normalization, matching and tagging throughput on real text, against
//! the raw aho-corasick crate on the same automaton and the same normalized text, plus the two
//! design comparisons (lowercase-first vs ASCII-case-insensitive, DFA vs contiguous NFA) and the
//! automaton's build time and memory. Every figure comes from this one run; the summary at the
//! end reads criterion's medians back and prints the ratios.
//!
//!     cargo bench --bench matcher
//!
//! Corpora: the folder `$LEXWIRE_CORPORA` names (FA-KES, Wikipedia), when set, and the seeds.

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, Throughput};
use lexwire::dictionary::check::resident_bytes;
use lexwire::dictionary::{Dictionary, DictionaryFiles, LoadOptions};
use lexwire::matcher::{AutomatonKind, Matcher, fold_digit};
use lexwire::normalize::Normalized;
use lexwire::tag::{Scratch, Tagger};

const BENCHES: [&str; 8] =
    ["normalize", "raw_dfa", "match_dfa", "tag", "raw_nfa", "match_nfa", "lowercase_first", "ascii_case_insensitive"];

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dict = Arc::new(Dictionary::bundled().expect("bundled dictionary"));
    let dfa = Tagger::new(dict.clone(), AutomatonKind::Dfa).expect("automaton");
    let nfa = Matcher::new(&dict, AutomatonKind::ContiguousNfa).expect("automaton");
    // The raw crate over the same automaton: the same patterns, kind and match semantics, searched
    // by the crate's own iterator. lexwire's DFA reads every digit as `0` (the matcher's folded
    // DFA): the raw DFA gets the patterns folded the same way, and the text folded beforehand.
    let patterns: Vec<String> = dfa.matcher().ascii_patterns().map(str::to_string).collect();
    let mut folded: Vec<String> =
        patterns.iter().map(|p| fold_digits(p.as_bytes()).into_iter().map(char::from).collect()).collect();
    folded.sort();
    folded.dedup();
    let raw = |patterns: &[String], kind, case_insensitive| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(kind))
            .ascii_case_insensitive(case_insensitive)
            .prefilter(false)
            .build(patterns)
            .expect("automaton")
    };
    let raw_dfa = raw(&folded, AhoCorasickKind::DFA, false);
    let raw_nfa = raw(&patterns, AhoCorasickKind::ContiguousNFA, false);
    // The ASCII-case-insensitive alternative: the same folded patterns, matched on text whose
    // case is kept, by an automaton that folds ASCII case itself.
    let case_insensitive = raw(&folded, AhoCorasickKind::DFA, true);

    let corpora = support::all();
    for corpus in &corpora {
        let text = corpus.joined();
        let mut norm = Normalized::new();
        norm.normalize(&text).unwrap();
        let mut group = c.benchmark_group(format!("matcher-{}", corpus.name));
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut n = Normalized::new();
        group.bench_function("normalize", |b| b.iter(|| n.normalize(black_box(&text)).unwrap()));
        let folded_text = fold_digits(norm.as_bytes());
        group.bench_function("raw_dfa", |b| b.iter(|| raw_dfa.find_iter(black_box(&folded_text)).count()));
        let mut out = Vec::new();
        group.bench_function("match_dfa", |b| {
            b.iter(|| support::match_and_map(dfa.matcher(), black_box(&text), &mut n, &mut out))
        });
        let mut scratch = Scratch::new();
        let mut tags = Vec::new();
        group.bench_function("tag", |b| {
            b.iter(|| {
                dfa.tag_into(black_box(&text), None, &mut scratch, &mut tags).unwrap();
                tags.len()
            })
        });
        group.bench_function("raw_nfa", |b| b.iter(|| raw_nfa.find_iter(black_box(norm.as_bytes())).count()));
        group.bench_function("match_nfa", |b| {
            b.iter(|| support::match_and_map(&nfa, black_box(&text), &mut n, &mut out))
        });
        // Both alternatives fold digits as they go, the way lexwire's DFA reads text.
        let mut lowered = Vec::with_capacity(text.len() + 2);
        group.bench_function("lowercase_first", |b| {
            b.iter(|| {
                n.normalize(black_box(&text)).unwrap();
                lowered.clear();
                lowered.extend(n.as_bytes().iter().map(|&b| fold_digit(b)));
                raw_dfa.find_iter(&lowered).count()
            })
        });
        let mut kept_case = Vec::with_capacity(text.len() + 2);
        group.bench_function("ascii_case_insensitive", |b| {
            b.iter(|| {
                fold_separators_keep_case(black_box(&text), &mut kept_case);
                case_insensitive.find_iter(&kept_case).count()
            })
        });
        group.finish();
    }
    c.final_summary();

    println!("\n=== lexwire matcher benchmark: medians of this run, MB/s ===");
    println!(
        "{:<10} {:>7} {:>9} {:>7} {:>9} {:>6} | {:>9} {:>7} {:>10} | {:>7} {:>9} | {:>10} {:>8}",
        "corpus",
        "MB",
        "normalize",
        "raw",
        "match",
        "tag",
        "match/raw",
        "tag/raw",
        "norm share",
        "raw NFA",
        "match NFA",
        "lowercase",
        "ASCII-CI"
    );
    for corpus in &corpora {
        let bytes = corpus.bytes();
        let group = format!("matcher-{}", corpus.name);
        let medians: Vec<Option<f64>> = BENCHES.iter().map(|b| support::median_ns(&group, b)).collect();
        let mbs = |i: usize| medians[i].map(|ns| support::mb_per_s(bytes, ns));
        let ratio = |a: usize, b: usize| medians[a].zip(medians[b]).map(|(x, y)| y / x);
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
        let r = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}"));
        let share = medians[0].zip(medians[3]).map_or("n/a".to_string(), |(n, t)| format!("{:.1}%", n / t * 100.0));
        println!(
            "{:<10} {:>7.2} {:>9} {:>7} {:>9} {:>6} | {:>9} {:>7} {:>10} | {:>7} {:>9} | {:>10} {:>8}",
            corpus.name,
            bytes as f64 / 1e6,
            f(mbs(0)),
            f(mbs(1)),
            f(mbs(2)),
            f(mbs(3)),
            r(ratio(2, 1)),
            r(ratio(3, 1)),
            share,
            f(mbs(4)),
            f(mbs(5)),
            f(mbs(6)),
            f(mbs(7)),
        );
    }
    println!("match = normalize + automaton + whole-word boundaries + spans mapped to the original text");
    println!("tag = match + entry choice (language, case), place context, ambiguity, numbers, dates: the tag list");
    println!(
        "x/raw = throughput ratio against the raw crate counting matches on the same normalized text and automaton"
    );

    println!("\n=== automaton build time and memory ===");
    automaton_report("shipped dictionaries", &LoadOptions::default());
    automaton_report(
        "cities500 extract, every alternate name and variant",
        &LoadOptions { every_name: true, ..LoadOptions::default() },
    );
}

/// Builds the automata over a dictionary and prints time, heap and resident-memory growth.
fn automaton_report(name: &str, options: &LoadOptions) {
    let started = Instant::now();
    let dict = Dictionary::load(&DictionaryFiles::Bundled, options).expect("dictionary");
    let load = started.elapsed();
    for kind in [AutomatonKind::Dfa, AutomatonKind::ContiguousNfa] {
        let before = resident_bytes();
        let matcher = Matcher::new(&dict, kind).expect("automaton");
        let growth = before.zip(resident_bytes()).map(|(b, a)| a.saturating_sub(b) as f64 / 1e6);
        let (ascii, other) = matcher.kinds();
        println!(
            "{name}: {} patterns, dictionary loaded in {:.0} ms; {ascii:?}+{other:?} built in {:.0} ms, {:.1} MB heap, \
             resident +{}",
            matcher.pattern_count(),
            load.as_secs_f64() * 1e3,
            matcher.build_time().as_secs_f64() * 1e3,
            matcher.memory_usage() as f64 / 1e6,
            growth.map_or("n/a".into(), |g| format!("{g:.1} MB")),
        );
        drop(matcher);
    }
}

/// The alternative normalization for the ASCII-case-insensitive automaton: separators to spaces,
/// case kept (non-ASCII bytes kept as they are; the comparison is on mostly-ASCII text).
fn fold_separators_keep_case(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(b' ');
    out.extend(text.bytes().map(|b| if b.is_ascii_alphanumeric() || b >= 0x80 { fold_digit(b) } else { b' ' }));
    out.push(b' ');
}

fn fold_digits(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|&b| fold_digit(b)).collect()
}
