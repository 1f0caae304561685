//! Shared by the benchmarks: the texts to measure on, and reading criterion's medians back.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

/// A named text to benchmark on.
pub struct Corpus {
    pub name: &'static str,
    pub articles: Vec<String>,
}

impl Corpus {
    pub fn joined(&self) -> String {
        self.articles.join("\n\n")
    }

    pub fn bytes(&self) -> usize {
        self.articles.iter().map(|a| a.len() + 2).sum()
    }
}

/// Where the reference corpora are: the folder `$LEXWIRE_CORPORA` names (FA-KES as
/// `fa-kes.csv`, the Wikipedia articles as `wikipedia-syria-iraq-war-articles.tar.gz`). `None`,
/// with a message, when it is not set: the benchmarks then run on the seeds alone.
pub fn corpora_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LEXWIRE_CORPORA").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("note: LEXWIRE_CORPORA is not set: skipping the reference corpora");
    }
    dir
}

/// The seed articles, always present.
pub fn seeds() -> Corpus {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    Corpus { name: "seeds", articles: names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect() }
}

/// FA-KES: 726 English news articles on the Syrian war. `None` (with a message) when absent.
pub fn fakes() -> Option<Corpus> {
    let path = corpora_dir()?.join("fa-kes.csv");
    let Ok(mut reader) = csv::Reader::from_path(&path) else {
        eprintln!("note: {} not found: skipping the FA-KES corpus (set LEXWIRE_CORPORA)", path.display());
        return None;
    };
    let articles = reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| r.get(2).map(str::to_string))
        .filter(|t| !t.trim().is_empty())
        .collect();
    Some(Corpus { name: "fa-kes", articles })
}

/// 150 Wikipedia articles on the Syrian and Iraqi wars (4.8 M characters).
pub fn wikipedia() -> Option<Corpus> {
    let path = corpora_dir()?.join("wikipedia-syria-iraq-war-articles.tar.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("note: {} not found: skipping the Wikipedia corpus (set LEXWIRE_CORPORA)", path.display());
        return None;
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut articles = Vec::new();
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.path().ok()?.extension().is_some_and(|e| e == "md") {
            let mut text = String::new();
            if entry.read_to_string(&mut text).is_ok() {
                articles.push(text);
            }
        }
    }
    Some(Corpus { name: "wikipedia", articles })
}

/// Every corpus present, seeds last.
pub fn all() -> Vec<Corpus> {
    let mut out: Vec<Corpus> = [fakes(), wikipedia()].into_iter().flatten().collect();
    out.push(seeds());
    out
}

/// The median time in nanoseconds criterion measured for `group/bench` in this run.
pub fn median_ns(group: &str, bench: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let file = dir.join("criterion").join(group).join(bench).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// MB/s for `bytes` processed in `ns`.
pub fn mb_per_s(bytes: usize, ns: f64) -> f64 {
    bytes as f64 / ns * 1e3
}

/// lexwire's matcher stage: normalize, find whole-word matches, map each span back to the
/// original text.
pub fn match_and_map(
    matcher: &lexwire::matcher::Matcher,
    text: &str,
    n: &mut lexwire::normalize::Normalized,
    out: &mut Vec<lexwire::matcher::RawMatch>,
) -> usize {
    out.clear();
    n.normalize(text).unwrap();
    matcher.find(n, out);
    let mut cursor = n.cursor();
    out.iter().map(|m| cursor.original_span(m.start, m.end).1).fold(0, usize::wrapping_add)
}

/// [`median_ns`], only when criterion wrote it at or after `since` (in this run, not a past one:
/// a filtered run leaves the other benchmarks' estimates from before).
pub fn median_ns_since(group: &str, bench: &str, since: std::time::SystemTime) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let file = dir.join("criterion").join(group).join(bench).join("new/estimates.json");
    let written = std::fs::metadata(file).ok()?.modified().ok()?;
    if written < since {
        return None;
    }
    median_ns(group, bench)
}
