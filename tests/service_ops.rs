//! What ops teams rely on, against the embedded broker: `/metrics` after the seeds says 5
//! articles, the events created and updated, no failure; `/readyz` turns ready only once
//! partitions are assigned; a dictionary changed under the running pipeline serves the new tag
//! with the new version, and a broken one leaves the previous one serving; the first scrape
//! already holds every series the dashboard and the alert rules query.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    port: u16,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Drop for Running {
    /// A failed test leaves no lexwire behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn start(env: &[(&str, &str)]) -> Running {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(["run", "--metrics-listen", &format!("127.0.0.1:{port}")])
        .env("LEXWIRE_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    Running { child, port, stdout, stderr }
}

/// `(status, body)` of a GET, or `None` while the server is not up.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The sum of a metric's samples whose labels contain every one of `labels`.
fn metric(body: &str, name: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn wait_metric(r: &Running, name: &str, labels: &[&str], at_least: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = get(r.port, "/metrics")
            && metric(&body, name, labels) >= at_least
        {
            return body;
        }
        assert!(Instant::now() < deadline, "{name}{labels:?} never reached {at_least}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut r: Running) {
    let r = &mut r;
    Command::new("kill").args(["-TERM", &r.child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            assert!(status.success(), "lexwire exited with {status} after SIGTERM");
            return;
        }
        assert!(Instant::now() < deadline, "lexwire did not stop within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn metrics_after_the_seeds_and_readiness_after_assignment() {
    let r = start(&[]);
    // Readiness: not ready until the consumer groups have assigned partitions.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((status, _)) = get(r.port, "/readyz")
            && seen.last() != Some(&status)
        {
            seen.push(status);
        }
        if seen.last() == Some(&200) {
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen, [503, 200], "/readyz answers 503 before assignment, then 200");
    assert_eq!(get(r.port, "/healthz").map(|(s, _)| s), Some(200));

    let body = wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    std::thread::sleep(Duration::from_millis(500)); // the last records' acknowledgements
    let body = get(r.port, "/metrics").map(|(_, b)| b).unwrap_or(body);
    assert_eq!(metric(&body, "lexwire_articles_consumed_total", &[]), 5.0);
    assert_eq!(metric(&body, "lexwire_events_total", &["status=\"created\""]), 11.0, "as `tag --events` on the seeds");
    assert_eq!(metric(&body, "lexwire_events_total", &["status=\"updated\""]), 6.0);
    assert_eq!(metric(&body, "lexwire_articles_failed_total", &[]), 0.0);
    assert_eq!(metric(&body, "lexwire_dead_letters_total", &[]), 0.0);
    assert!(metric(&body, "lexwire_tags_total", &["kind=\"place\""]) > 50.0);
    assert!(metric(&body, "lexwire_duplicates_total", &["layer=\"event\""]) >= 6.0);
    assert_eq!(metric(&body, "lexwire_build_info", &[env!("CARGO_PKG_VERSION")]), 1.0);
    assert_eq!(metric(&body, "lexwire_dictionary_info", &[]), 1.0);
    assert!(metric(&body, "lexwire_end_to_end_latency_seconds_count", &[]) >= 17.0);
    assert!(metric(&body, "lexwire_stage_seconds_count", &["stage=\"process\""]) >= 5.0);
    // Live events: the 11 less those the 14-day window has already let go (the seeds span 2020-2024).
    let live = metric(&body, "lexwire_dedup_events", &[]);
    assert!(live > 0.0 && live <= 11.0, "{live}");
    assert!(metric(&body, "lexwire_dedup_state_bytes", &[]) > 0.0);
    // No label carries an article id or a place.
    assert!(!body.contains("000_0e2bcae4c59b5ed8") && !body.contains("Bokamal"));
    stop(r);
}

/// `lexwire_delivery_errors_total`, which the dashboard and the alert rules query, was missing
/// from every scrape of a healthy instance: a labelled series exists only once counted. The
/// first scrape now answers every query of `deploy/` (consumer lag aside: it is keyed by
/// partition).
#[test]
fn regression_queried_series_are_missing_from_a_fresh_instance() {
    let mut r = start(&[]);
    let body = wait_ok(&mut r, "/metrics");
    let missing = common::deploy::unanswered(&body);
    assert!(missing.is_empty(), "the dashboard and alerts query series the first scrape lacks: {missing:?}");
    stop(r);
}

/// The next event record printed whose source is `article`.
fn record_of(r: &Running, article: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = r.stdout.recv_timeout(left).unwrap_or_else(|_| panic!("no event record for {article}"));
        let j: serde_json::Value = serde_json::from_str(&line).unwrap();
        if j["sources"].as_array().unwrap().iter().any(|s| s["article_id"] == article) {
            return j;
        }
    }
}

fn bootstrap(r: &Running) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = r
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the embedded broker's address");
        if let Some(rest) = line.split("embedded broker at ").nth(1) {
            return rest.split_whitespace().next().unwrap().to_string();
        }
    }
}

fn strike(id: &str, day: u32) -> (Option<String>, Vec<u8>) {
    let text = "Today, an air strike hit positions near Qasr Lexwiriya, killing 3 fighters.";
    let json = serde_json::json!({"id": id, "published_at": format!("2023-05-{day:02}T08:00:00Z"), "text": text});
    (Some(id.to_string()), json.to_string().into_bytes())
}

/// Starts `lexwire run` on a copy of the shipped dictionaries, watched every second; returns the
/// copy, the process and its broker once the seeds are processed.
fn start_on_a_watched_dictionary_copy() -> (tempfile::TempDir, Running, String) {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_path("dictionaries"), dir.path());
    let dict_dir = dir.path().to_str().unwrap().to_string();
    let r = start(&[("LEXWIRE_DICTIONARY_DIR", &dict_dir), ("LEXWIRE_DICTIONARY_WATCH_SECS", "1")]);
    let bootstrap = bootstrap(&r);
    wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    (dir, r, bootstrap)
}

#[test]
fn a_dictionary_changed_under_the_pipeline_is_served_and_a_broken_one_is_not() {
    let (dir, r, bootstrap) = start_on_a_watched_dictionary_copy();

    // Before: the place is unknown.
    common::kafka::produce(&bootstrap, "articles", Some(0), &[strike("before", 1)]);
    let before = record_of(&r, "before");
    assert!(before["location"].is_null(), "{}", before["location"]);
    let old_version = before["dictionary_version"].as_str().unwrap().to_string();

    // Add the place: the reload is counted and the new place is tagged, with the new version.
    let overlay = dir.path().join("gazetteer/overlay.toml");
    let mut text = std::fs::read_to_string(&overlay).unwrap();
    text.push_str(
        "\n[[place]]\nid = \"lexwire:qasr-lexwiriya\"\nname = \"Qasr Lexwiriya\"\naliases.en = [\"Qasr Lexwiriya\"]\n\
         country = \"SY\"\nadmin1 = \"SY.07\"\nlat = 35.1\nlon = 40.1\nfeature_class = \"P\"\nfeature_code = \"PPL\"\n\
         source = \"a test\"\n",
    );
    std::fs::write(&overlay, &text).unwrap();
    wait_metric(&r, "lexwire_dictionary_reloads_total", &["result=\"success\""], 1.0);
    common::kafka::produce(&bootstrap, "articles", Some(0), &[strike("after", 10)]);
    let after = record_of(&r, "after");
    assert_eq!(after["location"]["place_id"], "lexwire:qasr-lexwiriya");
    let new_version = after["dictionary_version"].as_str().unwrap().to_string();
    assert_ne!(new_version, old_version);
    let body = get(r.port, "/metrics").unwrap().1;
    assert_eq!(metric(&body, "lexwire_dictionary_info", &[&new_version]), 1.0);

    // Break it: the reload fails, the log names the file, the last good dictionary keeps serving.
    std::fs::write(&overlay, format!("{text}\n[[place]\nid = \"broken\n")).unwrap();
    wait_metric(&r, "lexwire_dictionary_reloads_total", &["result=\"failure\""], 1.0);
    common::kafka::produce(&bootstrap, "articles", Some(0), &[strike("broken", 20)]);
    let broken = record_of(&r, "broken");
    assert_eq!(broken["location"]["place_id"], "lexwire:qasr-lexwiriya");
    assert_eq!(broken["dictionary_version"], new_version.as_str());
    let log: Vec<String> = r.stderr.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("dictionary reload failed") && l.contains("overlay.toml")),
        "the failure names the file: {log:#?}"
    );
    stop(r);
}

fn hangup(r: &Running) {
    Command::new("kill").args(["-HUP", &r.child.id().to_string()]).status().unwrap();
}

/// `/readyz` answers 200 (within 60 s), the process alive all along.
fn wait_ready(r: &mut Running) {
    wait_ok(r, "/readyz");
}

/// The body of the first 200 `path` answers (within 60 s), the process alive all along.
fn wait_ok(r: &mut Running, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            let log: Vec<String> = r.stderr.try_iter().collect();
            panic!("lexwire died ({status}): {log:#?}");
        }
        if let Some((200, body)) = get(r.port, path) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never answered 200");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A SIGHUP in the first ~0.3 s of `lexwire run` (while the dictionary loads) killed the process
/// with the default action: rc 129, no log. Now the handlers come first: the process lives on,
/// serves, and stops cleanly on SIGTERM.
#[test]
fn regression_sighup_during_start_up_kills_the_process() {
    let mut r = start(&[]);
    let spawned = Instant::now();
    for at_ms in [20, 50, 100, 150, 200, 300, 400] {
        std::thread::sleep(Duration::from_millis(at_ms).saturating_sub(spawned.elapsed()));
        hangup(&r);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(r.child.try_wait().unwrap().is_none(), "killed by a SIGHUP during start-up");
    wait_ready(&mut r);
    hangup(&r); // and once running: the reloader's (nothing to reload with the built-in dictionary)
    wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    stop(r);
}

/// A dictionary the articles stage can use but the dedup stage cannot (the taxonomy code `ied`
/// renamed, its triggers with it) was counted a `success` on reload: the articles stage routed
/// with the new one while the dedup stage logged an error per message and kept the old one. Now
/// the reload is a failure and neither stage switches.
#[test]
fn regression_a_reload_the_dedup_stage_cannot_apply_switches_one_stage() {
    let (dir, r, bootstrap) = start_on_a_watched_dictionary_copy();
    common::kafka::produce(&bootstrap, "articles", Some(0), &[strike("before", 1)]);
    let version = record_of(&r, "before")["dictionary_version"].as_str().unwrap().to_string();

    common::rename_taxonomy_code(dir.path(), "ied", "roadside_bomb");
    let body = wait_metric(&r, "lexwire_dictionary_reloads_total", &["result=\"failure\""], 1.0);
    assert_eq!(metric(&body, "lexwire_dictionary_reloads_total", &["result=\"success\""]), 0.0);
    assert_eq!(metric(&body, "lexwire_dictionary_info", &[&version]), 1.0, "the old version serves");

    // Both stages serve the old dictionary: the article is routed and processed as before.
    let text = "Yesterday, shelling hit houses in Al-Mayadeen, killing 4 civilians.";
    let json = serde_json::json!({"id": "after", "published_at": "2023-06-20T08:00:00Z", "text": text});
    common::kafka::produce(&bootstrap, "articles", Some(0), &[(Some("after".into()), json.to_string().into_bytes())]);
    let after = record_of(&r, "after");
    assert_eq!(after["dictionary_version"], version.as_str());
    let log: Vec<String> = r.stderr.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("dictionary reload failed") && l.contains("ied")),
        "the failure names the missing code: {log:#?}"
    );
    assert!(!log.iter().any(|l| l.contains("ERROR") && !l.contains("dictionary reload failed")), "{log:#?}");
    stop(r);
}

/// A tombstone (a key with no value: a deletion on a compacted input topic) was dead-lettered
/// as an empty payload. It is skipped and counted (`articles_failed{class="tombstone"}`), and
/// the articles after it flow.
#[test]
fn regression_a_tombstone_is_dead_lettered_as_an_empty_payload() {
    let r = start(&[]);
    let bootstrap = bootstrap(&r);
    wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    common::kafka::produce_tombstone(&bootstrap, "articles", 0, "deleted-article");
    common::kafka::produce(&bootstrap, "articles", Some(0), &[strike("after-tombstone", 3)]);
    record_of(&r, "after-tombstone");
    let body = wait_metric(&r, "lexwire_articles_failed_total", &["class=\"tombstone\""], 1.0);
    assert_eq!(metric(&body, "lexwire_dead_letters_total", &[]), 0.0);
    assert_eq!(metric(&body, "lexwire_articles_failed_total", &[]), 1.0);
    assert!(common::kafka::read_topic(&bootstrap, "articles.dlq").is_empty(), "no dead letter");
    stop(r);
}

/// `lexwire_in_flight_messages` was one gauge both stages wrote, each its own count: it flapped
/// between them. One series per stage now.
#[test]
fn regression_the_in_flight_gauge_is_written_by_both_stages() {
    let r = start(&[]);
    let body = wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    std::thread::sleep(Duration::from_millis(300)); // a tick of each stage
    let body = get(r.port, "/metrics").map(|(_, b)| b).unwrap_or(body);
    let series: Vec<&str> = body.lines().filter(|l| l.starts_with("lexwire_in_flight_messages")).collect();
    assert_eq!(series.len(), 2, "{series:?}");
    for stage in ["articles", "dedup"] {
        assert!(series.iter().any(|l| l.contains(&format!("stage=\"{stage}\""))), "{series:?}");
    }
    stop(r);
}

/// Ctrl-C on the embedded run printed librdkafka's `ERROR ... AllBrokersDown` after the embedded
/// broker stopped (a client outlived it): an alarming end to a clean stop. Now the stop prints
/// what the run did and no ERROR line.
#[test]
fn regression_ctrl_c_on_the_embedded_run_ends_in_error_lines() {
    let mut r = start(&[]);
    wait_metric(&r, "lexwire_articles_processed_total", &[], 5.0);
    Command::new("kill").args(["-INT", &r.child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = r.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "lexwire did not stop within 30 s of SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "lexwire exited with {status} after SIGINT");
    // The reader thread ends with the process's stderr.
    let mut log = Vec::new();
    while let Ok(line) = r.stderr.recv_timeout(Duration::from_secs(5)) {
        log.push(line);
    }
    let errors: Vec<&String> = log.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "a clean stop logged errors: {errors:#?}");
    let summary = log.iter().find(|l| l.contains("stopped:")).unwrap_or_else(|| panic!("no drain summary: {log:#?}"));
    assert!(
        summary.contains("5 articles processed") && summary.contains("everything processed was committed"),
        "{summary}"
    );
}
