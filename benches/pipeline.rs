//! What `lexwire tag` costs against matcher-only (normalize + automaton + boundaries + spans) on
//! the same articles, in the same run: tags out (`lexwire tag`), the whole path (`lexwire tag
//! --events`: decode, tag, extract, deduplicate, encode the event records) on one thread and on
//! every core; the same shares from rounds that run the three back to back (steadier on a shared
//! machine); what tagging and extraction between articles cost the matcher's own time; then the
//! dedup state's memory for 100,000 live events, and dedup's cost per article at the caps and with
//! hundreds of events a day.
//!
//!     cargo bench --bench pipeline
//!
//! Corpora: the folder `$LEXWIRE_CORPORA` names (FA-KES, Wikipedia), when set, and the seeds. Every
//! article gets an id and a publication date (50 articles a day), as a feed would carry.

mod support;

use std::hint::black_box;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use criterion::{Criterion, Throughput};
use lexwire::article::{DEFAULT_MAX_BYTES, decode_json};
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::check::resident_bytes;
use lexwire::dictionary::{Dictionary, EntryKind};
use lexwire::engine::Engine;
use lexwire::matcher::AutomatonKind;
use lexwire::normalize::Normalized;
use lexwire::offline::{Input, InputFormat, TagOptions, tag_inputs};
use lexwire::tag::Tagger;

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let dict = Arc::new(Dictionary::bundled().expect("bundled dictionary"));
    let tagger = Arc::new(Tagger::new(dict.clone(), AutomatonKind::Dfa).expect("automaton"));

    let corpora = support::all();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Per corpus: tags out and the whole path as shares of matcher-only, from paired rounds.
    let mut paired: Vec<(&str, String, String)> = Vec::new();
    for corpus in &corpora {
        let messages = as_messages(corpus);
        let mut group = c.benchmark_group(format!("pipeline-{}", corpus.name));
        group.throughput(Throughput::Bytes(corpus.bytes() as u64));
        let mut n = Normalized::new();
        let mut raw = Vec::new();
        let mut matcher_only = || {
            corpus
                .articles
                .iter()
                .map(|a| support::match_and_map(tagger.matcher(), black_box(a), &mut n, &mut raw))
                .sum::<usize>()
        };
        group.bench_function("match", |b| b.iter(&mut matcher_only));
        // What users run: `lexwire tag` (tags out) and `lexwire tag --events` at 1 and N threads,
        // from a JSONL file, output to memory.
        let file = jsonl_file(&messages);
        let inputs = [Input::File(file.path().to_path_buf())];
        let mut out = Vec::with_capacity(1 << 24);
        let mut run = |options: &TagOptions| {
            out.clear();
            let report = tag_inputs(&tagger, &inputs, options, &mut out, &mut io::sink()).expect("runs");
            assert_eq!(report.failed_total(), 0, "the bench articles are valid");
            out.len()
        };
        let tags = options(None, 1);
        group.bench_function("tags", |b| b.iter(|| run(&tags)));
        let whole = options(Some(DedupConfig::default()), 1);
        group.bench_function("whole", |b| b.iter(|| run(&whole)));
        let threaded = options(Some(DedupConfig::default()), threads);
        group.bench_function(format!("whole-{threads}t"), |b| b.iter(|| run(&threaded)));
        group.finish();

        // The same ratios from rounds that run matcher-only, tags out and the whole path one
        // right after the other: a change in the machine's state (others' load on a shared
        // host) weighs on the three alike, where criterion measures them seconds apart. Each
        // pass repeats the corpus to at least 1 MB.
        let reps = 1_000_000usize.div_ceil(corpus.bytes().max(1));
        let timed = |f: &mut dyn FnMut()| {
            let started = Instant::now();
            (0..reps).for_each(|_| f());
            started.elapsed().as_secs_f64()
        };
        let ratios: Vec<(f64, f64)> = (0..PAIRED_ROUNDS)
            .map(|_| {
                let m = timed(&mut || {
                    black_box(matcher_only());
                });
                let t = timed(&mut || {
                    black_box(run(&tags));
                });
                let w = timed(&mut || {
                    black_box(run(&whole));
                });
                (m / t, m / w)
            })
            .collect();
        paired.push((corpus.name, summary(ratios.iter().map(|r| r.0)), summary(ratios.iter().map(|r| r.1))));
    }
    c.final_summary();

    println!("\n=== lexwire pipeline benchmark: medians of this run ({threads} threads for whole-{threads}t) ===");
    println!(
        "{:<10} {:>8} {:>6} {:>7} | {:>14} | {:>14} {:>6} | {:>14} {:>6} | {:>14} {:>6} {:>5}",
        "corpus",
        "articles",
        "MB",
        "events",
        "match MB/s",
        "tags MB/s",
        "/match",
        "whole MB/s",
        "/match",
        format!("whole-{threads}t MB/s"),
        "/match",
        "xN"
    );
    for corpus in &corpora {
        let group = format!("pipeline-{}", corpus.name);
        let median = |bench: &str| support::median_ns(&group, bench);
        let (m, t, w, n) = (median("match"), median("tags"), median("whole"), median(&format!("whole-{threads}t")));
        let events = count_events(&tagger, &as_messages(corpus));
        // MB/s and articles/s of one measurement.
        let speed = |ns: Option<f64>| {
            ns.map_or("n/a".to_string(), |ns| {
                format!(
                    "{:.0} ({:.0}/s)",
                    support::mb_per_s(corpus.bytes(), ns),
                    corpus.articles.len() as f64 / ns * 1e9
                )
            })
        };
        let ratio =
            |a: Option<f64>, b: Option<f64>| a.zip(b).map_or("n/a".to_string(), |(a, b)| format!("{:.2}", a / b));
        println!(
            "{:<10} {:>8} {:>6.2} {:>7} | {:>14} | {:>14} {:>6} | {:>14} {:>6} | {:>14} {:>6} {:>5}",
            corpus.name,
            corpus.articles.len(),
            corpus.bytes() as f64 / 1e6,
            events,
            speed(m),
            speed(t),
            ratio(m, t),
            speed(w),
            ratio(m, w),
            speed(n),
            ratio(m, n),
            ratio(w, n),
        );
    }
    println!("match = normalize + automaton + word boundaries + spans (no output)");
    println!("tags = `lexwire tag`: read JSONL + decode + normalize + match + tag + encode tags (JSON)");
    println!("whole = `lexwire tag --events --threads 1`: ... + extract + dedup + encode event records (JSON)");
    println!("/match = throughput as a share of matcher-only; xN = whole-{threads}t speed-up over whole");

    println!(
        "\n=== the same shares from {PAIRED_ROUNDS} rounds of matcher-only, tags and whole (1 thread) run back to back: median [min-max] ==="
    );
    println!("{:<10} {:>22} {:>22}", "corpus", "tags/match", "whole/match");
    for (name, tags, whole) in &paired {
        println!("{name:<10} {tags:>22} {whole:>22}");
    }

    println!(
        "\n=== the matcher's own time between each article's other work, over its time back to back: median [min-max] of {CONTENTION_ROUNDS} rounds ==="
    );
    println!("{:<10} {:>22} {:>22}", "corpus", "after tagging", "after tag + extract");
    for corpus in &corpora {
        let (tagged, analysed) = contention(&tagger, corpus);
        println!("{:<10} {tagged:>22} {analysed:>22}", corpus.name);
    }

    println!("\n=== dedup state for 100,000 live events ===");
    dedup_memory(&dict, &tagger, 100_000);

    println!("\n=== dedup cost per article at the caps (10x the cap fed) ===");
    dedup_at_caps(&dict, &tagger, 20_000);

    println!("\n=== dedup cost per article with hundreds of events of its family a day ===");
    dedup_dense(&dict, &tagger, 300, 30);
}

/// Feeds 10x `cap` articles (half undated, half dated, each with one new event) into a state
/// capped at `cap` events and articles, and prints the median cost of dedup alone per article
/// in each tenth of the run: flat when eviction costs the same at any state size.
fn dedup_at_caps(dict: &Dictionary, tagger: &Arc<Tagger>, cap: usize) {
    let config = DedupConfig { window_days: 1_000_000, max_events: cap, max_articles: cap, ..DedupConfig::default() };
    let mut engine = Engine::new(tagger.clone(), config).expect("engine");
    engine.set_received(NaiveDate::from_ymd_opt(2021, 1, 1));
    let places = point_places(dict);
    let total = 10 * cap;
    let mut dedup = TimedDedup::default();
    let mut tenths: Vec<Vec<u64>> = vec![Vec::new(); 10];
    for i in 0..total {
        let place = places[i % places.len()];
        // A day of its own for every article: every report is a new event.
        let day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap().checked_add_days(Days::new(i as u64)).unwrap();
        let text = format!(
            "On {}, x{i}a an air strike x{i}b hit x{i}c positions near {place}, x{i}d killing 3 fighters.",
            day.format("%-d %B %Y")
        );
        let published = (i % 2 == 0).then(|| format!("{day}T12:00:00Z"));
        let msg = serde_json::json!({"id": format!("m{i}"), "published_at": published, "text": text});
        tenths[i * 10 / total].push(dedup.nanos(tagger, &mut engine, &msg));
    }
    let medians: Vec<u64> = tenths
        .iter_mut()
        .map(|t| {
            t.sort_unstable();
            t[t.len() / 2]
        })
        .collect();
    println!(
        "cap {cap} events and articles, {total} articles fed; median dedup cost per article by tenth of the run (us): {}",
        medians.iter().map(|m| format!("{:.1}", *m as f64 / 1e3)).collect::<Vec<_>>().join(" ")
    );
    println!(
        "last tenth / second tenth (state full from the first tenth on): {:.2}; live events {}, remembered articles {}",
        medians[9] as f64 / medians[1].max(1) as f64,
        engine.deduper().live_events(),
        engine.deduper().remembered_articles()
    );
}

/// Decodes and analyses a message, then times its deduplication alone.
#[derive(Default)]
struct TimedDedup {
    scratch: lexwire::tag::Scratch,
    analysis: lexwire::engine::Analysis,
}

impl TimedDedup {
    fn nanos(&mut self, tagger: &Arc<Tagger>, engine: &mut Engine, msg: &serde_json::Value) -> u64 {
        let mut buf = serde_json::to_vec(msg).unwrap();
        let article = decode_json(&mut buf).unwrap();
        lexwire::engine::analyze(
            tagger,
            engine.extractor(),
            &article.text,
            None,
            article.published_at.as_deref(),
            &mut self.scratch,
            &mut self.analysis,
        )
        .expect("small enough");
        let started = Instant::now();
        black_box(engine.deduplicate(&article, &self.analysis));
        started.elapsed().as_nanos() as u64
    }
}

/// Feeds `per_day` one-event articles a day for `days` days (one family, every day in turn, the
/// gazetteer's places in a scattered order, tolls from 1 to 97), published the day after, and
/// prints the median and 90th percentile of dedup alone per article over the last fifth: what a
/// report costs when the state holds hundreds of events of its family on its day, as a
/// worldwide feed's may (ACLED codes over a thousand events a day). Each report is compared
/// with the events its dates can agree with.
fn dedup_dense(dict: &Dictionary, tagger: &Arc<Tagger>, per_day: usize, days: usize) {
    let config = DedupConfig { window_days: 1_000_000, max_events: 1_000_000, ..DedupConfig::default() };
    let mut engine = Engine::new(tagger.clone(), config).expect("engine");
    let places = point_places(dict);
    let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let published = format!("{}T12:00:00Z", start.checked_add_days(Days::new(days as u64)).unwrap());
    let total = per_day * days;
    let mut dedup = TimedDedup::default();
    let mut last_fifth = Vec::new();
    for i in 0..total {
        let day = start.checked_add_days(Days::new((i % days) as u64)).unwrap();
        let place = places[i * 7919 % places.len()];
        let text = format!(
            "On {}, x{i}a an air strike x{i}b hit x{i}c positions near {place}, x{i}d killing {} fighters.",
            day.format("%-d %B %Y"),
            i % 97 + 1
        );
        let msg = serde_json::json!({"id": format!("m{i}"), "published_at": published, "text": text});
        let nanos = dedup.nanos(tagger, &mut engine, &msg);
        if i >= total - total / 5 {
            last_fifth.push(nanos);
        }
    }
    last_fifth.sort_unstable();
    let at = |q: usize| last_fifth[last_fifth.len() * q / 100] as f64 / 1e3;
    println!(
        "{per_day} articles a day for {days} days, {} live events: dedup per article over the last fifth, median {:.1} us, p90 {:.1} us",
        engine.deduper().live_events(),
        at(50),
        at(90)
    );
}

/// Rounds behind [`contention`].
const CONTENTION_ROUNDS: usize = 9;

/// What the rest of the work costs the matcher: each article's matching (normalize, automaton,
/// spans) timed alone, in passes that match the articles back to back, and in passes that tag (or
/// tag and extract) each article before matching the next, as `lexwire tag` (or `--events`) does.
/// The likely cause of the difference: the automaton's tables are far larger than the cache and its
/// search waits on their loads, so what the other work reads in between evicts rows the next
/// article needs (not shown with cache counters: the machines measured on had none). Returns the
/// two shares (interleaved time over back-to-back time), as "median [min-max]" of rounds that run
/// the three passes in turn.
fn contention(tagger: &Arc<Tagger>, corpus: &support::Corpus) -> (String, String) {
    let extractor = lexwire::extract::Extractor::new(tagger.dictionary().clone()).expect("extractor");
    let (mut n, mut raw) = (Normalized::new(), Vec::new());
    let (mut scratch, mut tags, mut analysis) =
        (lexwire::tag::Scratch::new(), Vec::new(), lexwire::engine::Analysis::default());
    // 0: back to back; 1: after tagging; 2: after tagging and extraction.
    let mut pass = |between: usize| {
        let mut matching = Duration::ZERO;
        for text in &corpus.articles {
            let started = Instant::now();
            black_box(support::match_and_map(tagger.matcher(), black_box(text), &mut n, &mut raw));
            matching += started.elapsed();
            match between {
                1 => {
                    black_box(tagger.tag_into(text, None, &mut scratch, &mut tags).expect("small enough"));
                }
                2 => {
                    lexwire::engine::analyze(tagger, &extractor, text, None, None, &mut scratch, &mut analysis)
                        .expect("small enough");
                    black_box(&analysis);
                }
                _ => {}
            }
        }
        matching.as_secs_f64()
    };
    let rounds: Vec<(f64, f64)> = (0..CONTENTION_ROUNDS)
        .map(|_| {
            let alone = pass(0);
            (pass(1) / alone, pass(2) / alone)
        })
        .collect();
    (summary(rounds.iter().map(|r| r.0)), summary(rounds.iter().map(|r| r.1)))
}

/// Rounds of back-to-back passes behind the paired shares.
const PAIRED_ROUNDS: usize = 15;

/// "median [min-max]" of some ratios.
fn summary(ratios: impl Iterator<Item = f64>) -> String {
    let mut r: Vec<f64> = ratios.collect();
    r.sort_by(f64::total_cmp);
    match (r.first(), r.last()) {
        (Some(min), Some(max)) => format!("{:.2} [{min:.2}-{max:.2}]", r[r.len() / 2]),
        _ => "n/a".into(),
    }
}

/// The options of `lexwire tag` (`--events` with a dedup config) on `threads` threads.
fn options(events: Option<DedupConfig>, threads: usize) -> TagOptions {
    TagOptions { format: InputFormat::Jsonl, max_article_bytes: DEFAULT_MAX_BYTES, all_tags: false, events, threads }
}

/// The messages as a JSONL file.
fn jsonl_file(messages: &[Vec<u8>]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    for m in messages {
        file.write_all(m).and_then(|()| file.write_all(b"\n")).expect("writes");
    }
    file.flush().expect("writes");
    file
}

/// The corpus as JSON article messages, 50 articles a day from 2021-01-01.
fn as_messages(corpus: &support::Corpus) -> Vec<Vec<u8>> {
    let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    corpus
        .articles
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let day = start.checked_add_days(Days::new(i as u64 / 50)).unwrap();
            serde_json::to_vec(&serde_json::json!({
                "id": format!("{}-{i}", corpus.name),
                "source": "bench",
                "published_at": format!("{day}T12:00:00Z"),
                "text": text,
            }))
            .unwrap()
        })
        .collect()
}

fn count_events(tagger: &Arc<Tagger>, messages: &[Vec<u8>]) -> usize {
    let mut engine = Engine::new(tagger.clone(), DedupConfig::default()).expect("engine");
    for m in messages {
        let mut buf = m.clone();
        let article = decode_json(&mut buf).expect("valid article");
        engine.process(&article).expect("small enough");
    }
    engine.deduper().live_events()
}

/// Feeds one-event articles (the places of the gazetteer in turn, dates three days apart) until
/// `target` events are live, then reports the state's estimated heap and the process's resident
/// growth.
fn dedup_memory(dict: &Dictionary, tagger: &Arc<Tagger>, target: usize) {
    let config = DedupConfig { window_days: 1_000_000, max_events: 200_000, ..DedupConfig::default() };
    let mut engine = Engine::new(tagger.clone(), config).expect("engine");
    let places = point_places(dict);
    let before = resident_bytes();
    let started = Instant::now();
    let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let mut fed = 0usize;
    while engine.deduper().live_events() < target && fed < 2 * target {
        // Three days apart: every report is a new event. Filler tokens that no dictionary holds
        // keep the sentences from looking republished.
        let day = start.checked_add_days(Days::new(fed as u64 * 3)).unwrap();
        let place = places[fed % places.len()];
        let text = format!(
            "Today, x{fed}a an air strike x{fed}b hit x{fed}c positions x{fed}d near {place}, x{fed}e killing {} x{fed}f fighters.",
            fed % 20 + 1
        );
        let msg = serde_json::json!({"id": format!("m{fed}"), "source": "bench", "published_at": format!("{day}T12:00:00Z"), "text": text});
        let mut buf = serde_json::to_vec(&msg).unwrap();
        let article = decode_json(&mut buf).unwrap();
        engine.process(&article).unwrap();
        fed += 1;
    }
    let elapsed = started.elapsed();
    let growth = before.zip(resident_bytes()).map(|(b, a)| a.saturating_sub(b) as f64 / 1e6);
    let d = engine.deduper();
    println!(
        "{} live events and {} remembered articles from {fed} articles in {:.1} s: estimated state {:.1} MB, \
         resident growth {}",
        d.live_events(),
        d.remembered_articles(),
        elapsed.as_secs_f64(),
        d.memory_estimate() as f64 / 1e6,
        growth.map_or("n/a".into(), |g| format!("{g:.1} MB")),
    );
}

/// The names of the gazetteer's points (towns, villages): one new place per bench article.
fn point_places(dict: &Dictionary) -> Vec<&str> {
    dict.entries()
        .iter()
        .filter(|e| {
            e.kind() == EntryKind::Place && e.place().is_some_and(|p| p.level == lexwire::dictionary::PlaceLevel::Point)
        })
        .map(|e| e.name.as_str())
        .collect()
}
