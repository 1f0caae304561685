//! A dictionary that `lexwire dict check` accepts is one every stage can run on, and whose values
//! fit the published schema: the one validation runs when a dictionary is loaded, so `dict
//! check`, the service's start and its reloads share it. And `dictionary_version` names what was
//! loaded, load options included.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::dictionaries::{dictionary_copy, edit, test_data};
use lexwire::dictionary::{Dictionary, DictionaryFiles, LoadOptions};

fn lexwire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(args)
        .env("LEXWIRE_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("lexwire runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn check_dir(dir: &Path) -> Output {
    lexwire(&["dict", "check", "--dictionaries", dir.to_str().unwrap()])
}

/// The 1-based number of the first line of `dir/rel` that contains `needle`.
fn line_of(dir: &Path, rel: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.join(rel)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{rel} has no {needle:?}")) + 1
}

/// `dict check` fails with exit code 2 and the very message `Dictionary::load_dir` returns.
fn assert_rejected(dir: &Path) -> String {
    let out = check_dir(dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "dict check accepted it: {err}");
    let loaded = Dictionary::load_dir(dir, &LoadOptions::default());
    let message = loaded.expect_err("Dictionary::load_dir accepted it").to_string();
    assert!(err.contains(&message), "dict check and Dictionary::load disagree:\n{err}\n{message}");
    message
}

#[test]
fn regression_renamed_taxonomy_code_passes_dict_check() {
    // The case: `ied` renamed, its triggers following. Extraction refines generic attacks
    // with an explosive to `ied`: the dedup stage could not start on this dictionary.
    let dir = dictionary_copy();
    common::rename_taxonomy_code(dir.path(), "ied", "ied_device");
    let message = assert_rejected(dir.path());
    let renamed = line_of(dir.path(), "lexicon/taxonomy.toml", "code = \"ied_device\"");
    let file = dir.path().join("lexicon/taxonomy.toml").display().to_string();
    // The line of the renamed type: its `[[event_type]]` header or its `code`.
    let at = |line: usize| message.starts_with(&format!("{file}:{line}: "));
    assert!(at(renamed) || at(renamed - 1), "no file and line of the renamed type: {message}");
    assert!(message.contains("\"ied\"") && message.contains("ied_device"), "{message}");

    // A code extraction names but could do without is as much a contract: renaming
    // `mob_violence` would turn every lynching into a violent demonstration, without a word.
    let dir = dictionary_copy();
    edit(dir.path(), "lexicon/taxonomy.toml", "code = \"mob_violence\"", "code = \"lynching\"");
    edit(dir.path(), "lexicon/event-triggers.toml", "event_type = \"mob_violence\"", "event_type = \"lynching\"");
    edit(dir.path(), "lexicon/casualties.toml", "implies = \"mob_violence\"", "implies = \"lynching\"");
    let message = assert_rejected(dir.path());
    assert!(message.contains("taxonomy.toml:") && message.contains("\"mob_violence\""), "{message}");

    // So is the actor extraction and dedup name: an unidentified doer tells no two events apart.
    let dir = dictionary_copy();
    edit(dir.path(), "lexicon/actors.toml", "id = \"unidentified\"", "id = \"unknown\"");
    let message = assert_rejected(dir.path());
    assert!(message.contains("actors.toml") && message.contains("\"actor:unidentified\""), "{message}");

    // A family no stage knows (a typo) is refused at its line: dedup and the metrics' labels
    // would take it for a family of its own.
    let dir = dictionary_copy();
    let rel = "lexicon/taxonomy.toml";
    edit(
        dir.path(),
        rel,
        "code = \"looting\"\nname = \"Looting or property destruction\"\nfamily = \"strategic_development\"",
        "code = \"looting\"\nname = \"Looting or property destruction\"\nfamily = \"riots\"",
    );
    let message = assert_rejected(dir.path());
    let looting = line_of(dir.path(), rel, "code = \"looting\"");
    let named = |line: usize| message.contains(&format!("taxonomy.toml:{line}: "));
    assert!(named(looting) || named(looting - 1), "{message}");
    assert!(message.contains("\"riots\""), "{message}");
}

#[test]
fn a_dictionary_that_loads_drives_every_stage() {
    // Renaming a code no stage names is the dictionary's business: it loads, and the engine the
    // service's dedup stage builds runs on it.
    let dir = dictionary_copy();
    common::rename_taxonomy_code(dir.path(), "agreement", "accord");
    let out = check_dir(dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let dict = Dictionary::load_dir(dir.path(), &LoadOptions::default()).unwrap();
    let tagger = lexwire::tag::Tagger::new(std::sync::Arc::new(dict), lexwire::matcher::AutomatonKind::Dfa).unwrap();
    lexwire::engine::Engine::new(std::sync::Arc::new(tagger), lexwire::dedup::DedupConfig::default())
        .expect("a dictionary that loads drives extraction and dedup");
}

#[test]
fn regression_cameo_code_outside_the_schema_is_accepted() {
    for bad in ["19X5a", "", "1", "19555"] {
        let dir = dictionary_copy();
        edit(dir.path(), "lexicon/taxonomy.toml", "cameo = \"195\"", &format!("cameo = \"{bad}\""));
        let message = assert_rejected(dir.path());
        let line = line_of(dir.path(), "lexicon/taxonomy.toml", &format!("cameo = \"{bad}\""));
        assert!(message.contains("taxonomy.toml:"), "{message}");
        let at = message.split("taxonomy.toml:").nth(1).unwrap();
        let at: usize = at[..at.find(':').unwrap()].parse().unwrap();
        assert!((line - 8..=line).contains(&at), "line {at}, the value is on {line}: {message}");
        assert!(message.contains(&format!("cameo {bad:?}")), "{message}");
    }
}

#[test]
fn regression_country_code_that_is_no_country_is_copied_to_records() {
    // GeoNames rows are read tolerantly: a bad row is reported with its file and line, and
    // skipped. Before, the three rows were places of countries "", "S1" and "SYRIA".
    let file = test_data("bad-countries.tsv");
    let name = file.display().to_string();
    let options =
        LoadOptions { geonames: Some(vec![file.clone()]), countries: Some(Vec::new()), ..LoadOptions::default() };
    let dict = Dictionary::load(&DictionaryFiles::Bundled, &options).unwrap();
    assert!(dict.find("geonames:90000001").is_some(), "the good row loads");
    for (id, line, country) in [(90000002, 3, ""), (90000003, 4, "S1"), (90000004, 5, "SYRIA")] {
        assert!(dict.find(&format!("geonames:{id}")).is_none(), "country {country:?} was loaded");
        let reported = dict.report().bad_lines.iter().find(|b| b.file == name && b.line == line);
        let reason = &reported.unwrap_or_else(|| panic!("line {line} not reported")).reason;
        assert!(reason.contains(&format!("country {country:?}")), "{reason}");
    }
    let out = lexwire(&["dict", "check", "--strict", "--countries", "all", "--geonames", &name]);
    assert_eq!(out.status.code(), Some(1), "--strict fails on them: {}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains(&format!("{name}:4: country \"S1\"")), "{report}");

    // The curated files are strict: a bad country there fails the load at its line.
    for (rel, from, to, value) in [
        ("gazetteer/overlay.toml", "country = \"SY\"", "country = \"SYR\"", "\"SYR\""),
        ("lexicon/actors.toml", "country = \"IQ\"", "country = \"IRQ\"", "\"IRQ\""),
        ("lexicon/actors.toml", "country = \"IQ\"", "country = \"QQ\"", "\"QQ\""),
    ] {
        let dir = dictionary_copy();
        edit(dir.path(), rel, from, to);
        let message = assert_rejected(dir.path());
        assert!(message.contains(&format!("{rel}:")) && message.contains(value), "{message}");
    }
}

fn version(args: &[&str]) -> String {
    let mut all = vec!["dict", "check", "--json", "--examples", "0"];
    all.extend_from_slice(args);
    let out = lexwire(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["version"].as_str().unwrap().to_string()
}

#[test]
fn regression_dictionary_version_ignores_load_options() {
    let default = version(&[]);
    let syria = version(&["--countries", "SY"]);
    let every_name = version(&["--every-name"]);
    let all = version(&["--countries", "all"]);
    let versions = [&default, &syria, &every_name, &all];
    for (i, a) in versions.iter().enumerate() {
        for b in &versions[i + 1..] {
            assert_ne!(a, b, "two different gazetteers, one version");
        }
    }
    // The same load gives the same version, however it is asked for.
    assert_eq!(version(&["--countries", "iq,SY"]), default, "the manifest's own countries");
}

#[test]
fn regression_unknown_country_option_is_accepted_silently() {
    for list in ["XX", "SY,XX", "Syria"] {
        let out = lexwire(&["dict", "check", "--countries", list]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--countries {list}: {err}");
        let unknown = list.rsplit(',').next().unwrap();
        assert!(err.contains(&format!("{unknown:?}")) && err.contains("countries"), "{err}");
    }
    let options = LoadOptions { countries: Some(vec!["XX".into()]), ..LoadOptions::default() };
    let e = Dictionary::load(&DictionaryFiles::Bundled, &options).expect_err("XX is no country");
    assert!(e.to_string().contains("\"XX\""), "{e}");
}

#[test]
fn the_dfa_budget_flag_chooses_the_automata() {
    let automaton = |budget_mb: &str| {
        let out = lexwire(&["dict", "check", "--json", "--examples", "0", "--dfa-budget-mb", budget_mb]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let automaton = &report["automaton"];
        (automaton["kind"].as_str().unwrap().to_string(), automaton["dfa_budget_bytes"].as_u64().unwrap())
    };
    // The folded ASCII DFA (36 MB) fits in 40 MiB; the Arabic-script one (27 MB) does not.
    assert_eq!(automaton("40"), ("DFA (ASCII patterns) + ContiguousNFA (other scripts)".to_string(), 40 << 20));
    assert_eq!(automaton("0").0, "ContiguousNFA (ASCII patterns) + ContiguousNFA (other scripts)");
    let out = lexwire(&["dict", "check", "--dfa-budget-mb", "16385"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--dfa-budget-mb") && stderr(&out).contains("0..=16384"), "{}", stderr(&out));
}
