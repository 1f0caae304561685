//! Cost linear in the text, whatever the text: the whole `tag --events` path of ONE article
//! (decode the JSON message, normalize, match, tag, extract, deduplicate, encode the records) on
//! generated worst cases — one sentence, no whitespace, every word a trigger, a place or a
//! number, Arabic only, thousands of dates, runs of casualty phrases — each the same size as the
//! `ordinary` baseline (the seed articles repeated), then a table of the medians per MiB and
//! their ratio to `ordinary`. The goal (the issue's): every case within 3x `ordinary`. Nothing
//! is asserted on time; only that each text has its target size and the engine takes it.
//!
//!     cargo bench --bench worst_case
//!     LEXWIRE_WORST_BYTES=4194304 cargo bench --bench worst_case   # the article size limit
//!
//! `LEXWIRE_WORST_BYTES`: the size of each case's article, 1 MiB by default, at most
//! `lexwire::article::DEFAULT_MAX_BYTES` (4 MiB). Texts are made from the repository's own data
//! (the seed articles and the bundled dictionary) with a fixed-seed generator: every run measures
//! the same bytes. A fresh engine (empty dedup state) for every iteration.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use lexwire::article::{DEFAULT_MAX_BYTES, decode_json};
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::{AliasOrigin, Dictionary, EntryKind};
use lexwire::engine::{Engine, Processed};
use lexwire::matcher::AutomatonKind;
use lexwire::tag::Tagger;

const GROUP: &str = "worst_case";
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let target = target_bytes();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let dict = Arc::new(Dictionary::bundled().expect("bundled dictionary"));
    let tagger = Arc::new(Tagger::new(dict.clone(), AutomatonKind::Dfa).expect("automaton"));

    let cases = cases(&dict, target);
    let mut facts = Vec::new();
    for (name, text) in &cases {
        // Not flaky: the generators pad or cut to the target, and the engine takes any text up
        // to the article limit.
        let off = text.len().abs_diff(target) as f64 / target as f64;
        assert!(off <= 0.01, "{name}: {} bytes, {:.2}% off the target {target}", text.len(), off * 100.0);
        assert!(text.len() <= DEFAULT_MAX_BYTES, "{name}: beyond the article size limit");
        let (processed, records) = run_once(&tagger, &message(name, text)).unwrap_or_else(|e| panic!("{name}: {e}"));
        facts.push((processed, records));
    }

    let started = SystemTime::now();
    let mut group = c.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    for (name, text) in &cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let msg = message(name, text);
        let mut encoded = Vec::with_capacity(1 << 20);
        group.bench_function(*name, |b| {
            b.iter_batched_ref(
                || (Engine::new(tagger.clone(), DedupConfig::default()).expect("engine"), msg.clone()),
                |(engine, buf)| {
                    encoded.clear();
                    let article = decode_json(buf).expect("valid article");
                    let processed = engine.process(&article).expect("within the size limit");
                    for record in engine.records(&processed.outcome) {
                        record.write_json(&mut encoded).expect("encodes");
                        encoded.push(b'\n');
                    }
                    encoded.len()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
    c.final_summary();

    println!("\n=== lexwire worst cases: one article of {target} bytes each, medians of this run ===");
    println!(
        "{:<22} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8}",
        "case", "ms/MiB", "MB/s", "ratio", "tags", "sentences", "cands", "events"
    );
    let per_mib = |name: &str, bytes: usize| {
        support::median_ns_since(GROUP, name, started).map(|ns| ns / 1e6 / (bytes as f64 / MIB))
    };
    let baseline = per_mib("ordinary", cases[0].1.len());
    let mut ratios = Vec::new();
    for ((name, text), (processed, records)) in cases.iter().zip(&facts) {
        let ms = per_mib(name, text.len());
        let ratio = ms.zip(baseline).map(|(m, b)| m / b);
        ratios.push((*name, ratio));
        let f = |v: Option<f64>, p: usize| v.map_or("n/a".to_string(), |v| format!("{v:.p$}"));
        println!(
            "{:<22} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8}",
            name,
            f(ms, 1),
            f(ms.map(|ms| MIB / 1e6 / (ms / 1e3)), 1),
            ratio.map_or("n/a".to_string(), |r| format!("{r:.2}x")),
            processed.tags,
            processed.extract.sentences,
            processed.extract.candidates,
            records,
        );
    }
    let mut worst: Option<(&str, f64)> = None;
    for (name, ratio) in ratios.iter().skip(1) {
        let Some(r) = *ratio else { continue };
        println!("{name} {r:.2}x ordinary{}", if r > 3.0 { "  OVER the 3x goal" } else { "" });
        if worst.is_none_or(|(_, w)| r > w) {
            worst = Some((name, r));
        }
    }
    match worst {
        Some((name, r)) => println!("worst case: {name}, {r:.2}x ordinary (goal: at most 3x)"),
        None => println!("worst case: n/a (run every case, unfiltered, to compare)"),
    }
    println!("time = decode JSON + normalize + match + tag + extract + dedup + encode records, one fresh engine");
}

/// `$LEXWIRE_WORST_BYTES`, else 1 MiB; never beyond the article size limit.
fn target_bytes() -> usize {
    let bytes = std::env::var("LEXWIRE_WORST_BYTES")
        .ok()
        .map(|v| v.trim().parse::<usize>().expect("LEXWIRE_WORST_BYTES: a number of bytes"))
        .unwrap_or(1 << 20);
    assert!(
        (1024..=DEFAULT_MAX_BYTES).contains(&bytes),
        "LEXWIRE_WORST_BYTES: between 1024 and {DEFAULT_MAX_BYTES}, not {bytes}"
    );
    bytes
}

fn message(name: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": format!("worst-{name}"),
        "source": "bench",
        "published_at": "2021-03-01T12:00:00Z",
        "text": text,
    }))
    .unwrap()
}

/// One pass outside the measurement: what the engine made of the text, and the records encoded.
fn run_once(tagger: &Arc<Tagger>, msg: &[u8]) -> Result<(Processed, usize), String> {
    let mut engine = Engine::new(tagger.clone(), DedupConfig::default())?;
    let mut buf = msg.to_vec();
    let article = decode_json(&mut buf).map_err(|e| e.to_string())?;
    let processed = engine.process(&article).map_err(|e| e.to_string())?;
    let mut encoded = Vec::new();
    let mut records = 0;
    for record in engine.records(&processed.outcome) {
        record.write_json(&mut encoded).map_err(|e| e.to_string())?;
        records += 1;
    }
    Ok((processed, records))
}

/// Every case, `ordinary` (the baseline) first.
fn cases(dict: &Dictionary, target: usize) -> Vec<(&'static str, String)> {
    let seeds = support::seeds().joined();
    let one_sentence: String = seeds
        .chars()
        .map(|c| match c {
            '.' | '!' | '?' => ',',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    let no_whitespace: String = seeds.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();

    let mut triggers = words(dict, |k| matches!(k, EntryKind::EventType | EntryKind::Casualty), |a| a.is_ascii());
    triggers.extend(strs(&[
        "airstrike",
        "killed",
        "attacked",
        "shelling",
        "clashes",
        "protesters",
        "wounded",
        "strike",
        "executed",
        "blast",
        "bombing",
        "ambush",
        "shot",
        "dead",
        "injured",
        "explosion",
        "raid",
        "fighting",
    ]));
    let mut places = words(dict, |k| k == EntryKind::Place, |a| a.is_ascii());
    places.extend(strs(&[
        "Deir Ezzor",
        "Albukamal",
        "Aleppo",
        "Mayadin",
        "Homs",
        "Idlib",
        "Mosul",
        "Baghdad",
        "Raqqa",
        "Hama",
        "Daraa",
        "Kirkuk",
        "Fallujah",
        "Ramadi",
        "Tikrit",
        "Palmyra",
        "Manbij",
        "Afrin",
    ]));
    let mut numbers = words(dict, |k| k == EntryKind::Number, |a| a.is_ascii());
    numbers.extend(strs(&[
        "22",
        "twenty-two",
        "dozens",
        "2,000",
        "hundreds",
        "three",
        "a dozen",
        "scores",
        "1,250",
        "at least 15",
        "thousands",
        "seven",
        "forty",
        "100",
        "one hundred and five",
    ]));
    let mut arabic = words(dict, |_| true, |a| a.chars().any(is_arabic) && a.chars().all(|c| is_arabic(c) || c == ' '));
    arabic.extend(strs(&[
        "غارة",
        "قتل",
        "دير الزور",
        "حلب",
        "جرحى",
        "اشتباكات",
        "مدنيين",
        "قصف",
        "انفجار",
        "مقتل",
        "عناصر",
        "إدلب",
        "حمص",
        "الرقة",
        "الموصل",
        "بغداد",
        "عشرات",
        "ثلاثة",
        "يوم الاثنين",
        "أمس",
    ]));

    let mut rng = Lcg(0x5eed_1e55_c0ff_ee00);
    vec![
        ("ordinary", repeat_to(&seeds, target)),
        ("one_sentence", repeat_to(&one_sentence, target)),
        ("no_whitespace", repeat_to(&no_whitespace, target)),
        ("every_word_a_trigger", random_words(&mut rng, &triggers, target, " ", 5..200, ". ")),
        ("every_word_a_place", random_words(&mut rng, &places, target, " ", 5..200, ". ")),
        ("every_word_a_number", random_numbers(&mut rng, &numbers, target)),
        ("arabic_only", random_words(&mut rng, &arabic, target, " ", 5..200, "، ")),
        ("thousands_of_dates", dates(&mut rng, target)),
        ("casualty_phrases", casualty_phrases(&mut rng, target)),
    ]
}

fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

fn is_arabic(c: char) -> bool {
    ('\u{0600}'..='\u{06ff}').contains(&c)
}

/// The aliases of the bundled dictionary, as written, of entries of the kinds `kind` accepts,
/// whose text `keep` accepts; sorted, without repeats (so the picks do not depend on load order).
fn words(dict: &Dictionary, kind: impl Fn(EntryKind) -> bool, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = dict
        .aliases()
        .iter()
        .filter(|a| !matches!(a.origin, AliasOrigin::Generated | AliasOrigin::Template))
        .filter(|a| kind(dict.entry(a.entry).kind()))
        .map(|a| a.text.to_string())
        .filter(|t| keep(t) && !t.trim().is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `piece` repeated (joined by a space) until `target`, cut there.
fn repeat_to(piece: &str, target: usize) -> String {
    let mut out = String::with_capacity(target + piece.len());
    while out.len() < target {
        out.push_str(piece);
        out.push(' ');
    }
    cut(out, target)
}

/// Cuts at the char boundary at or before `target` bytes (at most 3 bytes short).
fn cut(mut s: String, target: usize) -> String {
    let mut end = target.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// Words picked at random, joined by `sep`, a sentence end `stop` after a random number of words.
fn random_words(
    rng: &mut Lcg,
    words: &[String],
    target: usize,
    sep: &str,
    sentence: std::ops::Range<usize>,
    stop: &str,
) -> String {
    let mut out = String::with_capacity(target + 64);
    while out.len() < target {
        let n = rng.range(sentence.clone());
        for i in 0..n {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(rng.pick(words));
        }
        out.push_str(stop);
    }
    cut(out, target)
}

/// Numbers in digits (with and without thousands separators) and in words.
fn random_numbers(rng: &mut Lcg, words: &[String], target: usize) -> String {
    let mut out = String::with_capacity(target + 64);
    while out.len() < target {
        let n = rng.range(5..300);
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            match rng.range(0..4) {
                0 => out.push_str(&rng.range(0..1000).to_string()),
                1 => {
                    let v = rng.range(1000..1_000_000);
                    out.push_str(&format!("{},{:03}", v / 1000, v % 1000));
                }
                _ => out.push_str(rng.pick(words)),
            }
        }
        out.push_str(". ");
    }
    cut(out, target)
}

/// Dates of every form the extractor reads, thousands of them, few sentence ends.
fn dates(rng: &mut Lcg, target: usize) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const MOIS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let mut out = String::with_capacity(target + 64);
    while out.len() < target {
        let n = rng.range(5..400);
        for _ in 0..n {
            let (d, m, y) = (rng.range(1..29), rng.range(0..12), rng.range(2000..2025));
            let date = match rng.range(0..9) {
                0 => format!("On {d} {} {y},", MONTHS[m]),
                1 => format!("on {}", DAYS[rng.range(0..7)]),
                2 => format!("{} {d}", MONTHS[m]),
                3 => format!("le {d} {}", MOIS[m]),
                4 => "yesterday".to_string(),
                5 => format!("{d:02}/{:02}/{y}", m + 1),
                6 => format!("{y}-{:02}-{d:02}", m + 1),
                7 => format!("last {}", DAYS[rng.range(0..7)]),
                _ => format!("{} {d}, {y}", MONTHS[m]),
            };
            out.push_str(&date);
            out.push(' ');
        }
        out.push_str(". ");
    }
    cut(out, target)
}

/// Casualty phrases (coordinated counts, "killing a civilian", ranges) strung together with
/// commas and "and", a full stop only every few hundred phrases.
fn casualty_phrases(rng: &mut Lcg, target: usize) -> String {
    const PHRASES: [&str; 12] = [
        "two soldiers and three civilians were killed",
        "killing a civilian",
        "between 2 and 4 people were wounded",
        "at least 15 fighters were killed and 20 others injured",
        "a child was among the dead",
        "dozens of militiamen were killed in an airstrike",
        "killing 22 members of the regime forces",
        "the death toll rose to 40",
        "five people, including two women, were wounded in the shelling",
        "one killed and several wounded",
        "three to five civilians died",
        "an airstrike killed 12 and wounded 30 near Deir Ezzor",
    ];
    let mut out = String::with_capacity(target + 64);
    while out.len() < target {
        let n = rng.range(100..600);
        for i in 0..n {
            if i > 0 {
                out.push_str(if rng.range(0..3) == 0 { " and " } else { ", " });
            }
            out.push_str(PHRASES[rng.range(0..PHRASES.len())]);
        }
        out.push_str(". ");
    }
    cut(out, target)
}

/// A fixed-seed linear congruential generator (Knuth's MMIX constants): the same text every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn range(&mut self, r: std::ops::Range<usize>) -> usize {
        r.start + (self.next() as usize) % (r.end - r.start)
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        &items[self.range(0..items.len())]
    }
}
