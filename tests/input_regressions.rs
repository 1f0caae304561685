//! Regressions of `lexwire tag` and the decoder on hostile input and hostile surroundings
//! (issue 11, findings 11 to 16): byte-order marks, publication dates, error messages,
//! unreadable inputs, a closed stdout, colour in logs, out-of-range flags. Each test is named
//! after the failure it pins; the CLI tests run the built binary.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

use lexwire::article::{Envelope, ErrorClass, decode};

fn lexwire_with(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lexwire"));
    command.args(args).env("LEXWIRE_LOG", "warn").env_remove("NO_COLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("lexwire runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin
        && let Err(e) = pipe.write_all(input)
    {
        // lexwire may exit before reading its input (a rejected flag): its output tells.
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing lexwire's stdin: {e}");
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn lexwire(args: &[&str], stdin: Option<&[u8]>) -> Output {
    lexwire_with(args, stdin, &[])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ids(o: &Output) -> Vec<String> {
    stdout_lines(o).iter().map(|l| l["article_id"].as_str().unwrap().to_string()).collect()
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[test]
fn regression_bom_jsonl_file_became_one_plain_text_article() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = b"{\"id\": \"a\", \"text\": \"Clashes near Hajin.\"}\n{\"id\": \"b\", \"text\": \"Shelling hit Deir Ezzor.\"}\n";
    let path = dir.path().join("bom.jsonl");
    std::fs::write(&path, [BOM, jsonl].concat()).unwrap();
    let out = lexwire(&["tag", path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&out), ["a", "b"], "both articles, not one plain-text article 'bom'");

    // Standard input, and two exported files concatenated (a mark at the start of a line).
    let cat = [BOM, jsonl, BOM, b"{\"id\": \"c\", \"text\": \"Clashes in Hajin.\"}\n"].concat();
    let out = lexwire(&["tag", "-"], Some(&cat));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&out), ["a", "b", "c"]);

    // A plain-text file: the mark is not part of the text, so the first tag's span starts at 0.
    let text = dir.path().join("note.txt");
    std::fs::write(&text, [BOM, b"Hajin was shelled.".as_slice()].concat()).unwrap();
    let out = lexwire(&["tag", text.to_str().unwrap()], None);
    let lines = stdout_lines(&out);
    assert_eq!(lines[0]["tags"][0]["surface"], "Hajin");
    assert_eq!(lines[0]["tags"][0]["start"], 0);
}

#[test]
fn regression_bom_message_decoded_as_plain_text() {
    // A Kafka message value that starts with the mark is still a JSON article.
    let mut msg = [BOM, br#"{"id": "a1", "text": "Clashes near Hajin."}"#.as_slice()].concat();
    let article = decode(&mut msg, &Envelope { id: Some("key"), published_at: None }, 4096).unwrap();
    assert_eq!(article.id, "a1");
    assert_eq!(article.text, "Clashes near Hajin.");
    let mut msg = [BOM, b"Clashes near Hajin.".as_slice()].concat();
    let article = decode(&mut msg, &Envelope { id: Some("key"), published_at: None }, 4096).unwrap();
    assert_eq!(article.text, "Clashes near Hajin.");
}

const STRIKE: &str = "A drone strike killed 3 people in Al-Bokamal on Monday.";

fn article_with_date(date: &str) -> String {
    serde_json::json!({"id": "a", "published_at": date, "text": STRIKE}).to_string() + "\n"
}

#[test]
fn regression_unparseable_published_at_dropped_events_silently() {
    // Each of these gave "1 articles tagged, 0 failed; events: 0 created", exit 0, or a wrong
    // date ("-2021-02-23" read as February 2, hour 25 accepted).
    for bad in ["garbage", "2021-02-30", "2021-13-01", "1613030400", "-2021-02-23", "2021-02-23T25:00:00Z", ""] {
        let out = lexwire(&["tag", "--events", "-"], Some(article_with_date(bad).as_bytes()));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{bad:?} must fail the article:\n{err}");
        assert!(out.stdout.is_empty(), "{bad:?} made records");
        assert!(err.contains("<stdin>:1: invalid_published_at: field `published_at`"), "{bad:?}:\n{err}");
        assert!(err.contains(&format!("\"{bad}\"")), "the value is named:\n{err}");
        assert!(err.contains("1 failed (invalid_published_at 1)"), "{err}");
    }
    // The same class in the service's decoder (a dead letter there).
    let mut msg = article_with_date("2021-02-30").into_bytes();
    assert_eq!(decode(&mut msg, &Envelope::default(), 4096).unwrap_err().class, ErrorClass::InvalidPublishedAt);

    // A valid date anchors "on Monday": the event is there.
    let out = lexwire(&["tag", "--events", "-"], Some(article_with_date("2021-02-11T08:00:00Z").as_bytes()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out)[0]["date"], "2021-02-08");

    // No date at all: processed, but a warning says what is lost, and the summary counts it.
    let missing = serde_json::json!({"id": "undated", "text": STRIKE}).to_string();
    let out = lexwire(&["tag", "--events", "-"], Some(missing.as_bytes()));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("<stdin>:1: warning: article \"undated\" has no published_at"), "{err}");
    assert!(err.contains("1 articles without published_at"), "{err}");

    // In the service, a JSON article without a date takes the message timestamp, as plain text does.
    let mut msg = missing.into_bytes();
    let envelope = Envelope { id: Some("k"), published_at: Some("2021-02-11T08:00:00+00:00".into()) };
    assert_eq!(decode(&mut msg, &envelope, 4096).unwrap().published_at.as_deref(), Some("2021-02-11T08:00:00+00:00"));
}

/// A full-date as RFC 3339 writes it: four digits of year (0001 to 9999), month, day.
fn is_rfc3339_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && &s[..4] != "0000"
}

#[test]
fn regression_year_zero_published_at_gave_invalid_record_dates() {
    // Years 0000 and below gave records dated "0000-02-07" and "-2021-01-29".
    for bad in ["0000-02-11", "0000-02-11T08:00:00Z", "0001-01-01T00:30:00+01:00"] {
        let out = lexwire(&["tag", "--events", "-"], Some(article_with_date(bad).as_bytes()));
        assert_eq!(out.status.code(), Some(1), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("outside the years 0001 to 9999"), "{bad}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    // At the calendar's edges, dates computed from the publication date never leave it.
    let text = "A drone strike killed 3 people in Al-Bokamal on December 30. Shelling hit Deir Ezzor a week ago. \
                Clashes in Hajin on Monday.";
    for date in ["0001-01-02", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31"] {
        let input = serde_json::json!({"id": "edge", "published_at": date, "text": text}).to_string();
        let out = lexwire(&["tag", "--events", "-"], Some(input.as_bytes()));
        assert!(out.status.success(), "{date}: {}", stderr(&out));
        let records = stdout_lines(&out);
        assert!(!records.is_empty(), "{date}: the article still gives events");
        for r in records {
            let mut dates = vec![r["date"].as_str().unwrap()];
            dates.extend(r["date_range"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()));
            for d in dates {
                assert!(is_rfc3339_date(d), "{date}: record date {d:?} is not an RFC 3339 full-date");
            }
        }
    }
}

#[test]
fn regression_error_messages_that_do_not_help() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let cases: Vec<(&[u8], &str)> = vec![
        // 1: a wrong type at byte 0 ("ExpectedString at character 0"), field not named
        (br#"{"id": 7, "text": "hello"}"#, "invalid_article: field `id` must be a string or null"),
        // 2
        (br#"{"id": "a", "title": 5, "text": "x"}"#, "invalid_article: field `title` must be a string or null"),
        // 3: "InternalError at character 23"
        (br#"{"id": "a", "text": "x"}}"#, "invalid_json: unexpected \"}\" at byte 23"),
        // 4: "Syntax at character 0" for a raw control byte echoed into the terminal
        (
            b"{\"id\": \"a\", \"text\": \"x\x1b[2J\"}",
            "invalid_json: unescaped control character U+001B in a string at byte 22",
        ),
        // 5: an unterminated string
        (br#"{"id": "a", "text": "x}"#, "invalid_json: string not closed at byte 20"),
        // 6: "Syntax at character 20" for an object never closed
        (br#"{"id": "a", "text": "x""#, "invalid_json: unexpected end of input: an object or array is not closed"),
        // 7: Debug formatting of the id, with the escape sequence
        (b"{\"id\": \"a\\u001b[31mred\", \"text\": \"  \"}", "no_text: article \"a\\u{1b}[31mred\" has no text"),
        // 8: "Syntax at character 24"
        (br#"{"id": "a", "text": "x" "b": 1}"#, "invalid_json: expected ',' or '}' after an object value"),
    ];
    let mut input = Vec::new();
    for (line, _) in &cases {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    // 9: a 30-digit number in a field lexwire ignores rejected the article (simd-json overflow)
    input.extend_from_slice(br#"{"id": "big", "text": "Clashes in Hajin.", "views": 123456789012345678901234567890, "n": -98765432109876543210987}"#);
    input.push(b'\n');
    std::fs::write(&path, &input).unwrap();

    let out = lexwire(&["tag", path.to_str().unwrap()], None);
    let err = stderr(&out);
    for (i, (_, expected)) in cases.iter().enumerate() {
        let want = format!("bad.jsonl:{}: {expected}", i + 1);
        assert!(err.contains(&want), "line {}: want {want:?} in:\n{err}", i + 1);
    }
    assert_eq!(ids(&out), ["big"], "{err}");
    for wrong in ["character 0", "InternalError", "Syntax", "Expected", "\x1b"] {
        assert!(!err.contains(wrong), "{wrong:?} in:\n{err}");
    }

    // A directory as input: named ("Is a directory (os error 21)" said nothing else).
    let out = lexwire(&["tag", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let want = format!("lexwire: {}: cannot read: ", dir.path().display());
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));

    // A file name with a control character is escaped, not written to the terminal.
    let odd = dir.path().join("a\x1b[31mb.jsonl");
    std::fs::write(&odd, b"{\"id\": 7}\n").unwrap();
    let out = lexwire(&["tag", odd.to_str().unwrap()], None);
    assert!(stderr(&out).contains("a\\u{1b}[31mb.jsonl"), "{}", stderr(&out));
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

#[test]
fn regression_one_unreadable_input_stopped_the_run_without_summary() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let last = dir.path().join("last.jsonl");
    std::fs::write(&first, br#"{"id": "first", "text": "Clashes in Hajin."}"#).unwrap();
    std::fs::write(&last, br#"{"id": "last", "text": "Clashes in Hajin."}"#).unwrap();
    let missing = dir.path().join("missing.jsonl");
    let args = [
        "tag",
        first.to_str().unwrap(),
        missing.to_str().unwrap(),
        dir.path().to_str().unwrap(),
        last.to_str().unwrap(),
    ];
    let out = lexwire(&args, None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(ids(&out), ["first", "last"], "the inputs after the unreadable ones are tagged");
    assert!(err.contains(&format!("{}: cannot read: ", missing.display())), "{err}");
    assert!(err.contains(&format!("{}: cannot read: ", dir.path().display())), "{err}");
    assert!(err.contains("lexwire tag: 2 articles tagged, 0 failed, 2 inputs unreadable"), "{err}");
}

#[test]
fn regression_closed_stdout_printed_broken_pipe_and_exit_2() {
    // `lexwire tag | head -1`: the reader goes away after the first line.
    let line = r#"{"id": "a", "text": "US airstrikes near Al-Bokamal killed 22 militiamen; clashes in Hajin."}"#;
    let input = format!("{line}\n").repeat(20_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(["tag", "-"])
        .env("LEXWIRE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.to_lowercase().contains("broken pipe"), "{err}");
}

#[test]
fn regression_logs_carried_colour_codes_when_stderr_was_not_a_terminal() {
    // stderr is a pipe here, as under systemd, Kubernetes or `2> log`.
    let input = br#"{"id": "a", "text": "Clashes in Hajin."}"#;
    let out = lexwire_with(&["tag", "-"], Some(input), &[("LEXWIRE_LOG", "debug")]);
    let err = stderr(&out);
    assert!(err.contains("DEBUG") || err.contains("INFO"), "log lines expected:\n{err}");
    assert!(!err.contains('\x1b'), "ANSI codes in a pipe:\n{err}");
}

#[test]
fn regression_max_article_bytes_u64_max_skipped_every_line() {
    // It overflowed `max + 1` and skipped every line with exit 0.
    let input = br#"{"id": "a", "text": "Clashes in Hajin."}"#;
    let out = lexwire(&["tag", "--max-article-bytes", "18446744073709551615", "-"], Some(input));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--max-article-bytes") && err.contains("18446744073709551615"), "{err}");
    assert!(err.contains("1024..=268435456"), "the accepted range is named:\n{err}");
    // The largest accepted value works.
    let out = lexwire(&["tag", "--max-article-bytes", "268435456", "-"], Some(input));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&out), ["a"]);
    for (flag, value) in
        [("--window-days", "0"), ("--window-days", "4294967296"), ("--distance-km", "NaN"), ("--distance-km", "-1")]
    {
        let out = lexwire(&["tag", "--events", &format!("{flag}={value}"), "-"], Some(input));
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
}
