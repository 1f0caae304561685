//! `lexwire tag` and `lexwire dict check` on hostile input: malformed JSONL, invalid UTF-8,
//! empty and huge articles, broken dictionaries. Nothing panics; every problem is reported on
//! stderr with its file and line; the exit code says whether anything failed.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// `lexwire ARGS` with its standard streams piped.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(args)
        .env("LEXWIRE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lexwire runs")
}

fn lexwire(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = spawn(args);
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn bad_lines_are_reported_with_their_number_and_the_rest_is_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    let mut input = Vec::new();
    input.extend_from_slice(br#"{"id": "good-1", "text": "US airstrikes near Al-Bokamal killed 22 militiamen."}"#);
    input.extend_from_slice(b"\n{\"id\": \"broken\", \"text\": \n"); // 2: truncated JSON
    input.extend_from_slice(b"{\"id\": \"latin1\", \"text\": \"caf\xe9\"}\n"); // 3: invalid UTF-8
    input.extend_from_slice(b"{\"id\": \"empty\", \"text\": \"\"}\n"); // 4: no text
    input.extend_from_slice(b"just some words\n"); // 5: not an object
    input.extend_from_slice(b"\n"); // 6: blank, skipped
    input.extend_from_slice(b"{\"text\": \"no id here\"}\n"); // 7: no id
    input.extend_from_slice(br#"{"id": "good-2", "text": "Clashes in Hajin."}"#); // 8, no final newline
    std::fs::write(&path, &input).unwrap();

    let out = lexwire(&["tag", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1), "some lines failed: exit 1");
    let ids: Vec<String> = stdout_lines(&out).iter().map(|l| l["article_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["good-1", "good-2"]);
    let err = stderr(&out);
    let name = path.display().to_string();
    for (line, class) in
        [(2, "invalid_json"), (3, "invalid_utf8"), (4, "no_text"), (5, "invalid_json"), (7, "invalid_article")]
    {
        assert!(err.contains(&format!("{name}:{line}: {class}")), "line {line} ({class}) not reported in:\n{err}");
    }
    assert!(!err.contains(":6:"), "a blank line is not an error:\n{err}");
    assert!(err.contains("2 articles tagged, 5 failed"), "{err}");
}

#[test]
fn a_50_mb_article_is_reported_as_oversize_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(br#"{"id": "small", "text": "Clashes in Hajin."}"#).unwrap();
    f.write_all(b"\n{\"id\": \"huge\", \"text\": \"").unwrap();
    let chunk = "Strikes near Al-Bokamal killed militiamen. ".repeat(1000);
    let mut written = 0;
    while written < 50 * 1024 * 1024 {
        f.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len();
    }
    f.write_all(b"\"}\n").unwrap();
    f.write_all(br#"{"id": "after", "text": "Clashes in Hajin."}"#).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);

    let out = lexwire(&["tag", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let ids: Vec<String> = stdout_lines(&out).iter().map(|l| l["article_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["small", "after"], "the articles around the huge one are tagged");
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2: oversize", path.display())), "{err}");
}

#[test]
fn a_large_article_under_a_raised_limit_is_tagged() {
    let text = "US airstrikes near Al-Bokamal killed 22 militiamen; clashes in Hajin. ".repeat(120_000); // ~8 MB
    let out = lexwire(&["tag", "--format", "text", "--max-article-bytes", "16000000", "-"], Some(text.as_bytes()));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 1);
    let places = lines[0]["tags"].as_array().unwrap().iter().filter(|t| t["kind"] == "place").count();
    assert_eq!(places, 2 * 120_000);
}

#[test]
fn plain_text_from_stdin_and_empty_input() {
    let article = std::fs::read(common::repo_path("tests/fixtures/seeds/004_a4b6525e30d0a0c3.txt")).unwrap();
    let out = lexwire(&["tag", "-"], Some(&article));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["article_id"].as_str().unwrap().starts_with("stdin-"));
    assert_eq!(lines[0]["language"], "fr");

    let out = lexwire(&["tag", "--format", "text", "-"], Some(b"  \n "));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("<stdin>: no_text"), "{}", stderr(&out));

    let out = lexwire(&["tag", "--format", "text", "-"], Some(b"caf\xe9 au lait"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("<stdin>: invalid_utf8"), "{}", stderr(&out));
}

#[test]
fn a_missing_input_file_is_fatal_and_says_which() {
    let out = lexwire(&["tag", "/nonexistent/articles.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/articles.jsonl"), "{}", stderr(&out));
}

/// A copy of the repository's dictionaries in a temporary folder, to break.
use common::dictionaries::dictionary_copy;

fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn dict_check_reports_the_shipped_dictionary() {
    let out = lexwire(&["dict", "check"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    for needle in
        ["entries and aliases by kind", "collisions:", "ambiguous aliases", "automaton:", "bad lines skipped: 0"]
    {
        assert!(report.contains(needle), "{needle:?} missing from:\n{report}");
    }
    let out = lexwire(&["dict", "check", "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["patterns"].as_u64().unwrap() > 10_000);
    assert!(json["kinds"]["place"]["entries"].as_u64().unwrap() > 700);
}

#[test]
fn a_malformed_dictionary_fails_with_file_and_line() {
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "lexicon/actors.toml",
            "type = \"militia\"\ncountry = \"IQ\"",
            "type = \"militia\"\ncolour = \"IQ\"",
            "unknown field",
        ),
        (
            "lexicon/event-triggers.toml",
            "event_type = \"air_strike\"",
            "event_type = \"air_raid_x\"",
            "unknown event type",
        ),
        ("lexicon/weapons.toml", "category = \"drone\"", "category = \"laser\"", "laser"),
        (
            "gazetteer/overlay.toml",
            "admin1 = \"SY.07\"\nadmin2 = \"SY0902\"",
            "admin1 = \"SY.99\"\nadmin2 = \"SY0902\"",
            "SY.99",
        ),
        ("gazetteer/admin1.tsv", "SY.05\tAs-Suwayda", "SY.05 As-Suwayda", "columns"),
        (
            "lexicon/casualties.toml",
            "[[casualty]]\nid = \"injured\"",
            "[[casualty]\nid = \"injured\"",
            "casualties.toml",
        ),
    ];
    for (file, from, to, needle) in cases {
        let dir = dictionary_copy();
        edit(dir.path(), file, from, to);
        let out = lexwire(&["dict", "check", "--dictionaries", dir.path().to_str().unwrap()], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(file) && err.contains(needle), "{file}: message does not name the problem: {err}");
        let line = err.split(file).nth(1).unwrap_or_default();
        assert!(line.starts_with(':') && line[1..].starts_with(|c: char| c.is_ascii_digit()), "{file}: no line: {err}");
    }
}

#[test]
fn aliases_without_letters_and_flags_on_unknown_aliases_are_rejected() {
    let dir = dictionary_copy();
    edit(dir.path(), "gazetteer/overlay.toml", "\"Al-Hawita\", \"Hawitah\"", "\"Al-Hawita\", \"!!!\"");
    let out = lexwire(&["dict", "check", "--dictionaries", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"!!!\" has no letters"), "{}", stderr(&out));

    let dir = dictionary_copy();
    edit(dir.path(), "gazetteer/overlay.toml", "ambiguous = [\"Hizam\", \"الحزام\"]", "ambiguous = [\"Hizzam\"]");
    let out = lexwire(&["dict", "check", "--dictionaries", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"Hizzam\" is flagged but is not one of the entry's aliases"), "{}", stderr(&out));
}

#[test]
fn a_geonames_dump_with_bad_lines_loads_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.txt");
    let good = "174448\tAlbu Kamal\tAlbu Kamal\tBukamal,Abu Kamal\t34.45226\t40.91854\tP\tPPLA2\tSY\t\t07\t\t\t\t57572\t\t174\tAsia/Damascus\t2020-01-01";
    let text =
        format!("{good}\nnot a geonames line\n9999\tBad\tBad\t\tnorth\t40.0\tP\tPPL\tSY\t\t07\t\t\t\t0\t\t\t\t\n");
    std::fs::write(&dump, text).unwrap();
    let out = lexwire(&["dict", "check", "--geonames", dump.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains(&format!("{}:2: expected 19 tab-separated columns", dump.display())), "{report}");
    assert!(report.contains(&format!("{}:3: latitude \"north\"", dump.display())), "{report}");
    // The overlay's extensions of places this dump lacks are reported, not fatal; the one of
    // Albu Kamal, which it has, applies.
    assert!(report.contains("extends geonames:170794, which the GeoNames files do not hold: skipped"), "{report}");
    assert!(!report.contains("extends geonames:174448"), "{report}");
    let out = lexwire(&["dict", "check", "--strict", "--geonames", dump.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));

    // The user's dump replaced the shipped one: the town is still found.
    let out = lexwire(&["tag", "--geonames", dump.to_str().unwrap(), "-"], Some(b"Strikes near Bukamal."));
    let lines = stdout_lines(&out);
    let ids: Vec<&str> = lines[0]["tags"].as_array().unwrap().iter().filter_map(|t| t["id"].as_str()).collect();
    assert!(ids.contains(&"geonames:174448"), "{ids:?}");
}

#[test]
fn an_adversarial_dictionary_of_nested_prefixes_builds_and_matches() {
    // Every prefix of a 300-letter word is a place: the automaton's worst shape for
    // leftmost-longest search. It must build and match the longest without blowing up.
    let dir = dictionary_copy();
    let dump = dir.path().join("gazetteer/geonames-SY-IQ-cities500.tsv");
    let mut text = String::new();
    for n in 3..=300 {
        let name = "a".repeat(n);
        text.push_str(&format!(
            "{}\t{name}\t{name}\t\t34.0\t40.0\tP\tPPL\tSY\t\t07\t\t\t\t0\t\t\t\t\n",
            10_000_000 + n
        ));
    }
    std::fs::write(&dump, text).unwrap();
    let input = format!("near {} and {} today", "a".repeat(300), "a".repeat(150));
    let out = lexwire(
        &["tag", "--dictionaries", dir.path().to_str().unwrap(), "--format", "text", "-"],
        Some(input.as_bytes()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    let ids: Vec<&str> = lines[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "place")
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["geonames:10000300", "geonames:10000150"]);
}

#[test]
fn a_lone_place_of_another_continent_is_a_false_match() {
    // "Colonia" is Köln's Spanish name; in a Mexican story it is a neighbourhood. A place that is
    // the only one of its country, over 1,500 km from every place of the text's main country,
    // is dropped; alone in a text, the same name is kept.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.txt");
    let row = |id: u32, name: &str, alternates: &str, lat: f64, lon: f64, country: &str| {
        format!(
            "{id}\t{name}\t{name}\t{alternates}\t{lat}\t{lon}\tP\tPPLA\t{country}\t\t01\t\t\t\t100000\t\t\tUTC\t2020-01-01\n"
        )
    };
    let text = row(4014338, "Culiacan", "", 24.79, -107.39, "MX")
        + &row(4005539, "Guadalajara", "", 20.67, -103.39, "MX")
        + &row(2886242, "Koeln", "Colonia,Cologne", 50.93, 6.95, "DE");
    std::fs::write(&dump, text).unwrap();
    let places = |input: &str| -> Vec<String> {
        let args = ["tag", "--geonames", dump.to_str().unwrap(), "--countries", "all", "--format", "text", "-"];
        let out = lexwire(&args, Some(input.as_bytes()));
        assert!(out.status.success(), "{}", stderr(&out));
        let lines = stdout_lines(&out);
        let tags = lines[0]["tags"].as_array().unwrap();
        tags.iter().filter(|t| t["kind"] == "place").map(|t| t["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(places("In Culiacan, a man was found dead in Colonia 21 de Marzo."), ["geonames:4014338"]);
    assert_eq!(
        places("Protesters marched in Culiacan and Guadalajara, and in Colonia."),
        ["geonames:4014338", "geonames:4005539"]
    );
    assert_eq!(places("Police in Colonia said a man was found dead."), ["geonames:2886242"]);
}

#[test]
fn events_and_tags_are_the_same_bytes_on_any_number_of_threads() {
    // Several batches of seeds, their copies republished days later, a revised text, and bad
    // lines between them: the records or tag lines, the warnings and the errors do not depend
    // on threads.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.jsonl");
    let mut input = String::new();
    for round in 0..40 {
        for (i, seed) in common::seeds().into_iter().enumerate() {
            let mut article = seed.clone();
            article["id"] = serde_json::json!(format!("{}-{round}", seed["id"].as_str().unwrap()));
            if round % 3 == 1 {
                article["published_at"] = serde_json::Value::Null;
            }
            input.push_str(&article.to_string());
            input.push('\n');
            if (round + i) % 7 == 0 {
                input.push_str("{\"id\": \"broken\", \"text\": \n\n");
            }
        }
    }
    std::fs::write(&path, input.as_bytes()).unwrap();
    for mode in ["--events", "--all-tags"] {
        let run = |threads: &str| {
            let out = lexwire(&["tag", mode, "--threads", threads, path.to_str().unwrap()], None);
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            // The last line of stderr is the summary, with the run's time.
            let err = stderr(&out);
            let err: Vec<String> = err.lines().filter(|l| !l.starts_with("lexwire tag:")).map(String::from).collect();
            (out.stdout, err)
        };
        let (one, one_err) = run("1");
        assert!(one.len() > 10_000 && one_err.iter().any(|l| l.contains("invalid_json")), "{mode}: {one_err:?}");
        for threads in ["2", "3"] {
            let (many, many_err) = run(threads);
            assert!(many == one, "{mode} --threads {threads} wrote other lines");
            assert_eq!(many_err, one_err, "{mode} --threads {threads}");
        }
    }
}

#[test]
fn a_live_feed_on_stdin_gets_its_records_before_the_input_ends() {
    // A feed that stays open: each article's records come out while lexwire waits for the
    // next, on one thread and on a pipeline of several.
    for threads in ["1", "2"] {
        let mut child = spawn(&["tag", "--events", "--threads", threads, "-"]);
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                if lines.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        for seed in common::seeds().iter().take(2) {
            writeln!(stdin, "{seed}").unwrap();
            stdin.flush().unwrap();
            // Generous: this is whether it comes, not how fast.
            let record = received.recv_timeout(std::time::Duration::from_secs(60));
            let record: serde_json::Value = serde_json::from_str(&record.expect("a record before more input")).unwrap();
            assert_eq!(record["sources"][0]["article_id"], seed["id"], "--threads {threads}");
            // The rest of this article's records, if any, come before the next article is read.
            while received.recv_timeout(std::time::Duration::from_millis(500)).is_ok() {}
        }
        drop(stdin);
        assert!(child.wait().unwrap().success(), "--threads {threads}");
        reader.join().unwrap();
    }
}
