//! The whole offline path — decode the JSON message, normalize, match, tag, extract, deduplicate,
//! encode the event records — against matcher-only (normalize + automaton + boundaries + spans)
//! on the same articles, in the same run; then the dedup state's memory for 100,000 live events.
//!
//!     cargo bench --bench pipeline
//!
//! Corpora: the folder `$LEXWIRE_CORPORA` names (FA-KES, Wikipedia), when set, and the seeds. Every
//! article gets an id and a publication date (50 articles a day), as a feed would carry.

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use criterion::{BatchSize, Criterion, Throughput};
use lexwire::article::decode_json;
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::check::resident_bytes;
use lexwire::dictionary::{Dictionary, EntryKind};
use lexwire::engine::Engine;
use lexwire::matcher::AutomatonKind;
use lexwire::normalize::Normalized;
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
    for corpus in &corpora {
        let messages = as_messages(corpus);
        let mut group = c.benchmark_group(format!("pipeline-{}", corpus.name));
        group.throughput(Throughput::Bytes(corpus.bytes() as u64));
        let mut n = Normalized::new();
        let mut out = Vec::new();
        group.bench_function("match", |b| {
            b.iter(|| {
                corpus
                    .articles
                    .iter()
                    .map(|a| support::match_and_map(tagger.matcher(), black_box(a), &mut n, &mut out))
                    .sum::<usize>()
            })
        });
        let mut buf = Vec::new();
        let mut encoded = Vec::with_capacity(1 << 20);
        group.bench_function("pipeline", |b| {
            b.iter_batched_ref(
                || Engine::new(tagger.clone(), DedupConfig::default()).expect("engine"),
                |engine| {
                    encoded.clear();
                    for m in &messages {
                        buf.clear();
                        buf.extend_from_slice(m);
                        let article = decode_json(&mut buf).expect("valid article");
                        let processed = engine.process(&article).expect("small enough");
                        for record in engine.records(&processed.outcome) {
                            serde_json::to_writer(&mut encoded, &record).expect("encodes");
                            encoded.push(b'\n');
                        }
                    }
                    encoded.len()
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
    c.final_summary();

    println!("\n=== lexwire pipeline benchmark: medians of this run ===");
    println!(
        "{:<10} {:>8} {:>7} {:>12} {:>14} {:>14} {:>9} {:>8}",
        "corpus", "articles", "MB", "match MB/s", "pipeline MB/s", "articles/s", "pipe/match", "events"
    );
    for corpus in &corpora {
        let group = format!("pipeline-{}", corpus.name);
        let (m, p) = (support::median_ns(&group, "match"), support::median_ns(&group, "pipeline"));
        let events = count_events(&tagger, &as_messages(corpus));
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
        println!(
            "{:<10} {:>8} {:>7.2} {:>12} {:>14} {:>14} {:>9} {:>8}",
            corpus.name,
            corpus.articles.len(),
            corpus.bytes() as f64 / 1e6,
            f(m.map(|ns| support::mb_per_s(corpus.bytes(), ns))),
            f(p.map(|ns| support::mb_per_s(corpus.bytes(), ns))),
            f(p.map(|ns| corpus.articles.len() as f64 / ns * 1e9)),
            m.zip(p).map_or("n/a".to_string(), |(m, p)| format!("{:.2}", m / p)),
            events,
        );
    }
    println!("pipeline = decode JSON + normalize + match + tag + extract + dedup + encode records (JSON)");
    println!("pipe/match = whole-path throughput as a share of matcher-only throughput");

    println!("\n=== dedup state for 100,000 live events ===");
    dedup_memory(&dict, &tagger, 100_000);

    println!("\n=== dedup cost per article at the caps (10x the cap fed) ===");
    dedup_at_caps(&dict, &tagger, 20_000);
}

/// Feeds 10x `cap` articles (half undated, half dated, each with one new event) into a state
/// capped at `cap` events and articles, and prints the median cost of dedup alone per article
/// in each tenth of the run: flat when eviction costs the same at any state size.
fn dedup_at_caps(dict: &Dictionary, tagger: &Arc<Tagger>, cap: usize) {
    use lexwire::engine::{Analysis, analyze};
    use lexwire::tag::Scratch;
    let config = DedupConfig { window_days: 1_000_000, max_events: cap, max_articles: cap, ..DedupConfig::default() };
    let mut engine = Engine::new(tagger.clone(), config).expect("engine");
    engine.set_received(NaiveDate::from_ymd_opt(2021, 1, 1));
    let places = point_places(dict);
    let total = 10 * cap;
    let mut scratch = Scratch::new();
    let mut analysis = Analysis::default();
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
        let mut buf = serde_json::to_vec(&msg).unwrap();
        let article = decode_json(&mut buf).unwrap();
        analyze(
            tagger,
            engine.extractor(),
            &article.text,
            None,
            article.published_at.as_deref(),
            &mut scratch,
            &mut analysis,
        )
        .expect("small enough");
        let started = Instant::now();
        black_box(engine.deduplicate(&article, &analysis));
        tenths[i * 10 / total].push(started.elapsed().as_nanos() as u64);
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
