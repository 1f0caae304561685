//! Deduplication as a user of the event stream relies on it: an article seen twice never makes a
//! second event; the order of arrival does not change which events exist; state restored from a
//! snapshot or a replayed changelog continues exactly as if nothing had stopped; the window and
//! the cap bound the state.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use lexwire::article::decode_json;
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::{Dictionary, LoadOptions};
use lexwire::engine::Engine;
use lexwire::matcher::AutomatonKind;
use lexwire::tag::Tagger;

fn engine(config: DedupConfig) -> Engine {
    Engine::new(common::shared_tagger().clone(), config).unwrap()
}

fn seed_lines() -> Vec<String> {
    let mut seeds = common::seeds();
    seeds.sort_by(|a, b| a["published_at"].as_str().cmp(&b["published_at"].as_str()));
    seeds.iter().map(|s| s.to_string()).collect()
}

/// Processes one JSON article; returns its records as JSON lines.
fn feed(engine: &mut Engine, line: &str) -> Vec<String> {
    let mut bytes = line.as_bytes().to_vec();
    let article = decode_json(&mut bytes).unwrap();
    let processed = engine.process(&article).unwrap();
    engine.records(&processed.outcome).map(|r| r.to_json().unwrap()).collect()
}

/// What makes an event the same event whatever the order: type family, date, place.
fn identities(engine: &Engine) -> BTreeSet<(String, String, Option<String>)> {
    engine
        .deduper()
        .events()
        .into_iter()
        .map(|e| (e.family().to_string(), e.date.date.to_string(), e.location.as_ref().map(|l| l.place_id.to_string())))
        .collect()
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

#[test]
fn the_same_article_twice_never_makes_a_second_event() {
    for line in seed_lines() {
        let mut e = engine(DedupConfig::default());
        let first = feed(&mut e, &line);
        let events = e.deduper().live_events();
        assert!(feed(&mut e, &line).is_empty(), "a redelivered article announces nothing");
        assert_eq!(e.deduper().live_events(), events);

        // The same text under another id (a republication): no event is created.
        let mut other: serde_json::Value = serde_json::from_str(&line).unwrap();
        other["id"] = "republished-copy".into();
        let again = feed(&mut e, &other.to_string());
        assert!(again.iter().all(|r| r.contains("\"status\":\"updated\"")), "{again:?}");
        assert_eq!(e.deduper().live_events(), events, "{}: {} records first", other["url"], first.len());
    }
}

#[test]
fn any_order_of_the_seeds_gives_the_same_events() {
    // The seeds span four years: a window that holds them all, so that order is all that
    // changes (with the default 14 days, an article from 2024 first makes the 2021 ones late).
    let lines = seed_lines();
    let mut reference = None;
    for order in permutations(&(0..lines.len()).collect::<Vec<_>>()) {
        let mut e = engine(DedupConfig { window_days: 3650, ..DedupConfig::default() });
        for &i in &order {
            feed(&mut e, &lines[i]);
        }
        let ids = identities(&e);
        match &reference {
            None => reference = Some(ids),
            Some(r) => assert_eq!(&ids, r, "order {order:?}"),
        }
    }
}

#[test]
fn a_restored_snapshot_continues_byte_for_byte() {
    let lines = seed_lines();
    let mut straight = engine(DedupConfig::default());
    let expected: Vec<Vec<String>> = lines.iter().map(|l| feed(&mut straight, l)).collect();
    for cut in 1..lines.len() {
        // Snapshot after `cut` articles, restored into a fresh engine.
        let mut before = engine(DedupConfig::default());
        for l in &lines[..cut] {
            feed(&mut before, l);
        }
        let mut after = engine(DedupConfig::default());
        after.deduper_mut().restore(before.deduper().snapshot()).unwrap();
        for (i, l) in lines.iter().enumerate().skip(cut) {
            assert_eq!(feed(&mut after, l), expected[i], "snapshot after {cut}, article {i}");
        }
    }
}

#[test]
fn a_replayed_changelog_continues_byte_for_byte() {
    let lines = seed_lines();
    let mut straight = engine(DedupConfig::default());
    let expected: Vec<Vec<String>> = lines.iter().map(|l| feed(&mut straight, l)).collect();
    let mut changelog = Vec::new();
    let mut before = engine(DedupConfig::default());
    for (cut, l) in lines.iter().enumerate().take(lines.len() - 1) {
        feed(&mut before, l);
        changelog.extend(before.deduper_mut().take_changes());
        let mut after = engine(DedupConfig::default());
        after.deduper_mut().restore(changelog.clone()).unwrap();
        assert_eq!(after.deduper().snapshot(), before.deduper().snapshot(), "changelog after {}", cut + 1);
        for (i, l) in lines.iter().enumerate().skip(cut + 1) {
            assert_eq!(feed(&mut after, l), expected[i], "changelog after {}, article {i}", cut + 1);
        }
    }
}

/// As the service publishes an article: its records, and for a redelivered article the events
/// it reported (as updates).
fn feed_redelivered(engine: &mut Engine, line: &str) -> Vec<String> {
    let mut bytes = line.as_bytes().to_vec();
    let article = decode_json(&mut bytes).unwrap();
    let processed = engine.process(&article).unwrap();
    engine
        .records(&processed.outcome)
        .chain(engine.replay_records(&processed.outcome))
        .map(|r| r.to_json().unwrap())
        .collect()
}

/// A process killed while it wrote an article's state changes leaves any prefix of them in the
/// changelog (its events first, the article last). The article comes again: it must announce its
/// events as they were — at the same revision, an unacknowledged `created` coming back as an
/// `updated`, never counted twice — and the stream continue byte for byte.
#[test]
fn an_article_whose_state_was_partly_written_is_announced_once_as_it_was() {
    let lines = seed_lines();
    let config = DedupConfig { window_days: 3650, ..DedupConfig::default() };
    let mut straight = engine(config.clone());
    let expected: Vec<Vec<String>> = lines.iter().map(|l| feed(&mut straight, l)).collect();
    let as_update = |l: &String| l.replacen("\"status\":\"created\"", "\"status\":\"updated\"", 1);
    let mut changelog = Vec::new();
    let mut before = engine(config.clone());
    let mut partial_cases = 0;
    for (k, l) in lines.iter().enumerate() {
        feed(&mut before, l);
        let changes = before.deduper_mut().take_changes();
        for written in 0..=changes.len() {
            let mut after = engine(config.clone());
            after.deduper_mut().restore(changelog.iter().chain(&changes[..written]).cloned()).unwrap();
            let raw = feed_redelivered(&mut after, l);
            if written == 0 {
                assert_eq!(raw, expected[k], "article {k}, nothing of it written");
            }
            let mut again: Vec<String> = raw.iter().map(as_update).collect();
            let mut want: Vec<String> = expected[k].iter().map(as_update).collect();
            again.sort();
            want.sort();
            assert_eq!(again, want, "article {k} after {written} of its {} changes", changes.len());
            for (i, l) in lines.iter().enumerate().skip(k + 1) {
                assert_eq!(feed(&mut after, l), expected[i], "article {k} cut after {written} changes, article {i}");
            }
            partial_cases += usize::from(written > 0 && written < changes.len());
        }
        changelog.extend(changes);
    }
    assert!(partial_cases >= lines.len(), "the seeds exercise partly written articles ({partial_cases})");
}

#[test]
fn restore_rejects_what_it_does_not_know() {
    let mut e = engine(DedupConfig::default());
    let bad = lexwire::dedup::StateChange { key: "x/unknown".into(), value: Some(b"{}".to_vec()) };
    let err = e.deduper_mut().restore([bad]).unwrap_err();
    assert!(err.to_string().contains("x/unknown"), "{err}");
    let mut snapshot = {
        let mut s = engine(DedupConfig::default());
        feed(&mut s, &seed_lines()[0]);
        s.deduper().snapshot()
    };
    let last = snapshot.last_mut().unwrap();
    last.value = Some(b"{not json".to_vec());
    let err = e.deduper_mut().restore(snapshot).unwrap_err();
    assert!(err.to_string().contains("cannot restore"), "{err}");
    // Event ids are lexwire's ("ev_" and 16 hex digits), in a key and in an article's evidence.
    let foreign = lexwire::dedup::StateChange { key: "event/ev_1".into(), value: None };
    let err = e.deduper_mut().restore([foreign]).unwrap_err();
    assert!(err.to_string().contains("event/ev_1") && err.to_string().contains("not a lexwire event id"), "{err}");
    let article = r#"{"published":null,"content_hash":1,"seq":1,"sketch":[],"evidence":[[[],"event-9"]]}"#;
    let foreign = lexwire::dedup::StateChange { key: "article/a".into(), value: Some(article.as_bytes().to_vec()) };
    let err = e.deduper_mut().restore([foreign]).unwrap_err();
    assert!(err.to_string().contains("\"event-9\" is not a lexwire event id"), "{err}");
}

fn strike(id: &str, day: &str, place: &str) -> String {
    serde_json::json!({
        "id": id,
        "published_at": format!("{day}T12:00:00Z"),
        "text": format!("Today, an air strike hit positions near {place}, killing 3 fighters."),
    })
    .to_string()
}

#[test]
fn a_late_article_is_still_announced() {
    let mut e = engine(DedupConfig::default());
    feed(&mut e, &strike("new", "2024-02-03", "Al-Mayadeen"));
    let late = feed(&mut e, &strike("old", "2020-10-20", "Al-Bokamal"));
    assert_eq!(late.len(), 1, "an article older than the window still yields its event");
    assert!(late[0].contains("\"status\":\"created\""));
}

#[test]
fn events_leave_the_state_when_the_window_passes() {
    let mut e = engine(DedupConfig { window_days: 14, ..DedupConfig::default() });
    feed(&mut e, &strike("a", "2021-02-01", "Al-Bokamal"));
    assert_eq!(e.deduper().live_events(), 1);
    feed(&mut e, &strike("b", "2021-02-10", "Al-Mayadeen"));
    assert_eq!(e.deduper().live_events(), 2, "9 days later both are live");
    feed(&mut e, &strike("c", "2021-02-20", "Deir Ezzor"));
    // Eviction runs as the next article arrives, so that a late article's events are announced.
    feed(&mut e, &strike("d", "2021-02-20", "Quneitra"));
    assert_eq!(e.deduper().live_events(), 3, "19 days later the first is forgotten");
    assert!(e.deduper().events().iter().all(|ev| ev.date.date.to_string() != "2021-02-01"));
    let changes = e.deduper_mut().take_changes();
    assert!(changes.iter().any(|c| c.value.is_none()), "eviction is a tombstone in the changelog");
}

#[test]
fn the_cap_bounds_live_events() {
    let mut e = engine(DedupConfig { max_events: 2, ..DedupConfig::default() });
    let places = ["Al-Bokamal", "Al-Mayadeen", "Deir Ezzor", "Quneitra"];
    for (i, place) in places.iter().enumerate() {
        let records = feed(&mut e, &strike(&format!("a{i}"), &format!("2021-02-0{}", i + 1), place));
        assert_eq!(records.len(), 1);
        assert!(records[0].contains("\"status\":\"created\""));
    }
    // The cap applies as each article arrives: at most one article's events over it.
    assert_eq!(e.deduper().live_events(), 3);
    feed(&mut e, &strike("a9", "2021-02-04", "Quneitra"));
    assert_eq!(e.deduper().live_events(), 2);
    let dates: Vec<String> = e.deduper().events().iter().map(|ev| ev.date.date.to_string()).collect();
    assert!(dates.contains(&"2021-02-04".to_string()) && dates.contains(&"2021-02-03".to_string()), "{dates:?}");
}

#[test]
fn a_later_report_from_the_same_outlet_revises_the_toll() {
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, n: u32| {
        serde_json::json!({
            "id": id, "source": "SOHR", "published_at": "2024-02-03T08:00:00Z",
            "text": format!("Yesterday, US air strikes on positions in Al-Mayadeen killed {n} fighters."),
        })
        .to_string()
    };
    let first = feed(&mut e, &report("r1", 18));
    let second = feed(&mut e, &report("r2", 23));
    assert!(first[0].contains("\"status\":\"created\""));
    let update: serde_json::Value = serde_json::from_str(&second[0]).unwrap();
    assert_eq!(update["status"], "updated");
    assert_eq!(update["revision"], 2);
    assert_eq!(update["fatalities"]["best"], 23, "{update}");
}

#[test]
fn the_sampled_memory_estimate_scales_a_sample_to_the_whole() {
    let mut e = engine(DedupConfig { window_days: 3650, ..DedupConfig::default() });
    let places = ["Al-Bokamal", "Al-Mayadeen", "Deir Ezzor", "Quneitra", "Deraa", "Hajin", "Palmyra", "Raqqa"];
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    for i in 0..400u64 {
        let day = (start + chrono::Days::new(3 * i)).to_string();
        // Filler tokens keep the sentences from reading as republications of each other.
        let text = format!(
            "Today, q{i}a an air strike q{i}b hit q{i}c positions q{i}d near {}, q{i}e killing {} q{i}f fighters.",
            places[i as usize % places.len()],
            i % 9 + 2
        );
        let article =
            serde_json::json!({"id": format!("s{i}"), "published_at": format!("{day}T12:00:00Z"), "text": text});
        feed(&mut e, &article.to_string());
    }
    let d = e.deduper();
    assert!(d.live_events() > 100, "{}", d.live_events());
    let exact = d.memory_estimate() as f64;
    assert_eq!(d.memory_estimate_sampled(usize::MAX) as f64, exact);
    let sampled = d.memory_estimate_sampled(32) as f64;
    assert!((sampled / exact - 1.0).abs() < 0.2, "sampled {sampled} vs exact {exact}");
}

/// Processes one JSON article received on `day`; returns its outcome and records.
fn feed_received(engine: &mut Engine, line: &str, day: &str) -> (lexwire::dedup::Outcome, Vec<serde_json::Value>) {
    engine.set_received(Some(day.parse().unwrap()));
    let mut bytes = line.as_bytes().to_vec();
    let article = decode_json(&mut bytes).unwrap();
    let processed = engine.process(&article).unwrap();
    let records =
        engine.records(&processed.outcome).map(|r| serde_json::from_str(&r.to_json().unwrap()).unwrap()).collect();
    (processed.outcome, records)
}

/// One JSON article from `source`, published at `at` (RFC 3339).
fn article(id: &str, source: &str, at: &str, text: &str) -> String {
    serde_json::json!({ "id": id, "source": source, "published_at": at, "text": text }).to_string()
}

fn shelling(id: &str, day: &str, town: &str, killed: &str) -> String {
    serde_json::json!({
        "id": id, "source": "SOHR", "published_at": format!("{day}T09:00:00Z"),
        "text": format!("Regime forces shelled {town} in the southern countryside of Idlib today, killing {killed} civilians."),
    })
    .to_string()
}

#[test]
fn templated_reports_of_different_towns_are_different_events() {
    // One outlet's template, five towns of one governorate, one day: five events, none dropped.
    let mut e = engine(DedupConfig::default());
    let towns = ["Kafr Nabl", "Saraqib", "Ariha", "Maarrat al-Nu'man", "Khan Shaykhun"];
    for (i, town) in towns.iter().enumerate() {
        let (outcome, records) =
            feed_received(&mut e, &shelling(&format!("t{i}"), "2021-03-02", town, "two"), "2021-03-02");
        assert_eq!(records.len(), 1, "{town}: {outcome:?}");
        assert_eq!(records[0]["status"], "created", "{town}: {}", records[0]);
    }
    assert_eq!(e.deduper().live_events(), towns.len());
    // The same template for the same town a week later is another event too.
    let (_, records) = feed_received(&mut e, &shelling("t9", "2021-03-09", "Saraqib", "two"), "2021-03-09");
    assert_eq!(records[0]["status"], "created", "{}", records[0]);
    // A second outlet's report of the first shelling, in other words, joins it.
    let other = serde_json::json!({
        "id": "other-outlet", "source": "SANA", "published_at": "2021-03-02T15:00:00Z",
        "text": "Two civilians were killed today when regime artillery shelled Kafr Nabl, south of Idlib.",
    });
    let (_, records) = feed_received(&mut e, &other.to_string(), "2021-03-02");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "updated", "{}", records[0]);
    assert_eq!(records[0]["sources"].as_array().unwrap().len(), 2);
}

#[test]
fn a_governorate_and_a_day_are_linked_not_merged() {
    let mut e = engine(DedupConfig::default());
    // Two reports in their own words that say no more than a governorate and a day (the same
    // words would be a republication, which joins its twin).
    let report = |id: &str, text: &str| {
        serde_json::json!({ "id": id, "published_at": "2021-03-02T09:00:00Z", "text": text }).to_string()
    };
    let a = report("a", "An explosive device detonated today in Idlib province, killing three people.");
    let b = report("b", "Three people were killed today by a roadside bomb in Idlib province.");
    let (_, first) = feed_received(&mut e, &a, "2021-03-02");
    let (outcome, second) = feed_received(&mut e, &b, "2021-03-02");
    assert_eq!(first[0]["location"]["level"], "admin1", "{}", first[0]);
    assert_eq!(second[0]["status"], "created", "{}", second[0]);
    assert_eq!(outcome.linked, 1);
    assert_eq!(second[0]["possible_duplicates"][0]["event_id"], first[0]["event_id"], "{}", second[0]);
}

#[test]
fn a_far_future_date_cannot_evict_the_state() {
    let mut e = engine(DedupConfig::default());
    let (_, first) = feed_received(&mut e, &strike("a", "2021-02-01", "Al-Bokamal"), "2021-02-01");
    assert_eq!(first[0]["status"], "created");
    // A producer's bad clock: published in year 9999, received on 2 February 2021.
    let (outcome, _) = feed_received(&mut e, &strike("bad", "9999-01-01", "Quneitra"), "2021-02-02");
    assert!(outcome.future_date);
    // The next article would evict everything older than 14 days before the newest date: the
    // first event stays, and a second report of it is an update, never `created` again.
    let again = strike("a2", "2021-02-01", "Al-Bokamal").replace("\"id\":\"a2\"", "\"id\":\"a2\",\"source\":\"other\"");
    let (_, records) = feed_received(&mut e, &again, "2021-02-02");
    assert_eq!(records[0]["status"], "updated", "{}", records[0]);
    assert_eq!(records[0]["event_id"], first[0]["event_id"]);
    // State restored from a changelog holds the clamped date, not the outlier.
    let snapshot = e.deduper().snapshot();
    let mut restored = engine(DedupConfig::default());
    restored.deduper_mut().restore(snapshot).unwrap();
    let (_, records) = feed_received(&mut restored, &strike("a3", "2021-02-01", "Al-Bokamal"), "2021-02-02");
    assert_eq!(records[0]["status"], "updated", "{}", records[0]);
}

#[test]
fn undated_messages_age_by_receipt_and_never_move_a_replay_out_of_the_window() {
    let mut e = engine(DedupConfig::default());
    // A replay of dated 2021 archives, received in 2026, mixed with live undated messages.
    let (_, first) = feed_received(&mut e, &strike("old", "2021-02-01", "Al-Bokamal"), "2026-12-01");
    let undated = serde_json::json!({
        "id": "live", "text": "On 30 November 2026, an air strike hit positions near Al-Mayadeen, killing 2 fighters.",
    });
    feed_received(&mut e, &undated.to_string(), "2026-12-01");
    let (_, records) = feed_received(
        &mut e,
        &strike("old2", "2021-02-01", "Al-Bokamal").replace("old2\"", "old2\",\"source\":\"x\""),
        "2026-12-01",
    );
    assert_eq!(records[0]["status"], "updated", "the 2021 event is still live: {}", records[0]);
    assert_eq!(records[0]["event_id"], first[0]["event_id"]);
    // Weeks of receipt later, the undated article and its event are gone; the dated ones stay
    // on their own clock.
    let later = serde_json::json!({ "id": "live2", "text": "No news today." });
    feed_received(&mut e, &later.to_string(), "2027-01-15");
    feed_received(&mut e, &later.to_string().replace("live2", "live3"), "2027-01-15");
    assert_eq!(e.deduper().live_events(), 1, "{:?}", e.deduper().events());
    assert_eq!(e.deduper().events()[0].event_id.to_string(), first[0]["event_id"].as_str().unwrap());
}

#[test]
fn an_edited_article_updates_its_own_events() {
    let mut e = engine(DedupConfig::default());
    let text = |n: u32| {
        serde_json::json!({
            "id": "story", "source": "SOHR", "published_at": "2024-02-03T08:00:00Z",
            "text": format!("Yesterday, US air strikes on positions in Al-Mayadeen killed {n} fighters."),
        })
        .to_string()
    };
    let (_, first) = feed_received(&mut e, &text(18), "2024-02-03");
    let (_, edited) = feed_received(&mut e, &text(23), "2024-02-03");
    assert_eq!(edited[0]["event_id"], first[0]["event_id"]);
    assert_eq!((edited[0]["status"].as_str(), edited[0]["revision"].as_u64()), (Some("updated"), Some(2)));
    assert_eq!(edited[0]["fatalities"]["best"], 23);
    // The old text again is another edit: revision 3, never an update at revision 1.
    let (outcome, back) = feed_received(&mut e, &text(18), "2024-02-03");
    assert!(!outcome.seen_before);
    assert_eq!((back[0]["status"].as_str(), back[0]["revision"].as_u64()), (Some("updated"), Some(3)), "{}", back[0]);
    assert_eq!(back[0]["fatalities"]["best"], 18);
    assert_eq!(e.deduper().live_events(), 1);
}

#[test]
fn past_the_article_cap_the_oldest_undated_articles_go_first() {
    let mut e = engine(DedupConfig { max_articles: 50, ..DedupConfig::default() });
    for i in 0..500 {
        let undated = serde_json::json!({ "id": format!("u{i}"), "text": format!("Bulletin number {i}.") });
        feed_received(&mut e, &undated.to_string(), "2021-02-01");
    }
    assert!(e.deduper().remembered_articles() <= 51);
    // The newest are remembered: the last one again is seen before.
    let last = serde_json::json!({ "id": "u499", "text": "Bulletin number 499." });
    let (outcome, _) = feed_received(&mut e, &last.to_string(), "2021-02-01");
    assert!(outcome.seen_before);
}

#[test]
fn two_villages_the_gazetteer_lacks_are_two_events_and_one_told_twice_is_one() {
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, source: &str, text: &str| article(id, source, "2021-03-02T09:00:00Z", text);
    let (_, first) = feed_received(
        &mut e,
        &report("a", "x", "Regime forces shelled homes in Tell Hamdun, Idlib today, killing two civilians."),
        "2021-03-02",
    );
    assert_eq!(first[0]["location"]["locality"], "Tell Hamdun", "{}", first[0]);
    assert_eq!(first[0]["location"]["geo_precision"], 2, "in a place near Idlib, not at it");
    let (_, other) = feed_received(
        &mut e,
        &report("b", "x", "Regime forces shelled homes in Tell Karimun, Idlib today, killing two civilians."),
        "2021-03-02",
    );
    assert_eq!(other[0]["status"], "created", "another village: {}", other[0]);
    let (_, again) = feed_received(
        &mut e,
        &report("c", "y", "Two civilians were killed today when regime artillery hit houses in Tell Hamdun, Idlib."),
        "2021-03-02",
    );
    assert_eq!(again[0]["status"], "updated", "the same village told again: {}", again[0]);
    assert_eq!(again[0]["event_id"], first[0]["event_id"]);
}

#[test]
fn a_place_a_day_and_a_type_alone_link_and_a_shared_toll_merges() {
    // One city sees several protests or shootings a day: two reports that agree on the place,
    // the day and the type and share nothing else are two events, the second linked to the
    // first; a report that also tells the same toll is the same event.
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, source: &str, text: &str| article(id, source, "2021-03-02T09:00:00Z", text);
    let (_, bread) = feed_received(
        &mut e,
        &report("a", "x", "Hundreds of people protested in Raqqa today against the rising price of bread."),
        "2021-03-02",
    );
    let (outcome, students) = feed_received(
        &mut e,
        &report("b", "y", "Dozens of students demonstrated in Raqqa today, demanding the release of detainees."),
        "2021-03-02",
    );
    assert_eq!(students[0]["status"], "created", "{}", students[0]);
    assert_eq!(outcome.linked, 1);
    assert_eq!(students[0]["possible_duplicates"][0]["event_id"], bread[0]["event_id"], "{}", students[0]);

    let (_, shot) =
        feed_received(&mut e, &report("c", "x", "Gunmen shot dead two civilians in Raqqa today."), "2021-03-02");
    let (_, again) = feed_received(
        &mut e,
        &report("d", "y", "Two civilians were killed today by unknown gunmen in Raqqa."),
        "2021-03-02",
    );
    assert_eq!(again[0]["status"], "updated", "the same toll, place and day: {}", again[0]);
    assert_eq!(again[0]["event_id"], shot[0]["event_id"]);
}

#[test]
fn a_template_of_places_the_gazetteer_lacks_is_no_republication() {
    // A monitor's daily template, near villages no gazetteer holds: the sentences are near
    // twins, but nothing says they tell of one place, so the second is an event of its own.
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, village: &str| {
        serde_json::json!({
            "id": id, "source": "monitor", "published_at": "2021-05-01T09:00:00Z",
            "text": format!("On 30 April 2021, monitors counted 12 explosions near {village}."),
        })
        .to_string()
    };
    let (_, first) = feed_received(&mut e, &report("a", "Khirbet Dawwara"), "2021-05-01");
    let (outcome, second) = feed_received(&mut e, &report("b", "Ain Qusaybiya"), "2021-05-01");
    assert!(first[0]["location"].is_null(), "{}", first[0]);
    assert_eq!(second.len(), 1, "{outcome:?}");
    assert_eq!(second[0]["status"], "created", "{}", second[0]);
    assert_ne!(second[0]["event_id"], first[0]["event_id"]);
}

#[test]
fn a_village_the_gazetteer_lacks_is_not_the_town_it_is_near_nor_another_town() {
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, text: &str| article(id, id, "2021-03-02T09:00:00Z", text);
    let (_, village) = feed_received(
        &mut e,
        &report("a", "Regime forces shelled homes in Tell Hamdun, Idlib today, killing two civilians."),
        "2021-03-02",
    );
    assert_eq!(village[0]["location"]["locality"], "Tell Hamdun", "{}", village[0]);
    // The town itself, the same toll: perhaps the same event told by its town, perhaps not.
    let (outcome, town) = feed_received(
        &mut e,
        &report("b", "Two civilians were killed today when regime forces shelled homes in Idlib city."),
        "2021-03-02",
    );
    assert_eq!(town[0]["status"], "created", "{}", town[0]);
    assert_eq!(outcome.linked, 1, "{}", town[0]);
    assert_eq!(town[0]["possible_duplicates"][0]["event_id"], village[0]["event_id"]);
    // Another town: another place, no link to the village.
    let (_, near) = feed_received(
        &mut e,
        &report("c", "Two civilians were killed today when regime forces shelled homes in Saraqib."),
        "2021-03-02",
    );
    assert_eq!(near[0]["status"], "created", "{}", near[0]);
    let links = near[0]["possible_duplicates"].as_array().map(|l| l.to_vec()).unwrap_or_default();
    assert!(links.iter().all(|l| l["event_id"] != village[0]["event_id"]), "{}", near[0]);
}

#[test]
fn a_template_told_of_two_streets_of_one_city_is_two_events() {
    // The same words but the street, which no gazetteer holds: a near twin, not a republication.
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, street: &str| {
        serde_json::json!({
            "id": id, "source": "monitor", "published_at": "2021-03-02T09:00:00Z",
            "text": format!("Protesters angry at the rising price of bread and fuel blocked the {street} road in Raqqa today, demanding the release of detainees held by the authorities."),
        })
        .to_string()
    };
    let (_, first) = feed_received(&mut e, &report("a", "Mansour"), "2021-03-02");
    let (outcome, second) = feed_received(&mut e, &report("b", "Quwatli"), "2021-03-02");
    assert_eq!(second[0]["status"], "created", "{}", second[0]);
    assert_eq!(outcome.linked, 1, "{}", second[0]);
    assert_eq!(second[0]["possible_duplicates"][0]["event_id"], first[0]["event_id"]);
    // Word for word, from another outlet: the same report republished.
    let again = report("c", "Mansour").replace("\"monitor\"", "\"aggregator\"");
    let (_, third) = feed_received(&mut e, &again, "2021-03-02");
    assert_eq!(third[0]["event_id"], first[0]["event_id"], "{}", third[0]);
}

#[test]
fn a_day_report_joins_an_event_known_only_to_its_week() {
    // The event's range starts days before the report's day: it is found by its range, not by
    // its last day.
    let mut e = engine(DedupConfig::default());
    let report = |id: &str, at: &str, text: &str| article(id, id, at, text);
    let (_, vague) = feed_received(
        &mut e,
        &report(
            "a",
            "2021-03-25T09:00:00Z",
            "Earlier this month, regime shelling killed four civilians in Saraqib, activists said.",
        ),
        "2021-03-25",
    );
    assert_eq!(vague[0]["date_precision"], "week", "{}", vague[0]);
    let (_, dated) = feed_received(
        &mut e,
        &report("b", "2021-03-26T09:00:00Z", "On 22 March, regime shelling killed four civilians in Saraqib."),
        "2021-03-26",
    );
    assert_eq!(dated[0]["status"], "updated", "{}", dated[0]);
    assert_eq!(dated[0]["event_id"], vague[0]["event_id"]);
    assert_eq!((dated[0]["date"].as_str(), dated[0]["date_precision"].as_str()), (Some("2021-03-22"), Some("day")));
}

/// The events a report's dates agree with are found at the edges of its range: an event dated
/// to a month by a report of the month's first day (the event's range starts on the report's
/// day), and an event of the day before a month by a report dated to that month (a day's
/// slack either way). Day events and wider ones are indexed apart: each edge is another index.
#[test]
fn events_at_the_edges_of_a_reports_dates_are_found() {
    let in_march = "Regime shelling killed four civilians in Saraqib in March, activists said.";
    let cases = [
        (in_march, "month", "On 1 March, regime shelling killed four civilians in Saraqib.", "2021-03-01"),
        ("On 28 February, regime shelling killed four civilians in Saraqib.", "day", in_march, "2021-02-28"),
    ];
    for (first, precision, second, date) in cases {
        let mut e = engine(DedupConfig::default());
        let report = |id: &str, text: &str| article(id, id, "2021-03-25T09:00:00Z", text);
        let (_, known) = feed_received(&mut e, &report("a", first), "2021-03-25");
        assert_eq!(known[0]["date_precision"], precision, "{}", known[0]);
        let (_, again) = feed_received(&mut e, &report("b", second), "2021-03-25");
        assert_eq!(again[0]["status"], "updated", "{second:?} after {first:?}: {}", again[0]);
        assert_eq!(again[0]["event_id"], known[0]["event_id"]);
        assert_eq!((again[0]["date"].as_str(), again[0]["date_precision"].as_str()), (Some(date), Some("day")));
    }
}

/// A report that names what an earlier one left generic ("a strike" then "an air strike") gives
/// the event its type; a report coded by a reloaded dictionary gives it that dictionary's
/// version. Both survive a snapshot.
#[test]
fn an_update_takes_the_specific_type_and_the_reloaded_dictionary_version() {
    let report = |id: &str, hour: u32, what: &str| {
        serde_json::json!({
            "id": id,
            "source": id,
            "published_at": format!("2021-02-11T{hour:02}:00:00Z"),
            "text": format!("Today, {what} hit Albu Kamal, killing 3 people."),
        })
        .to_string()
    };
    let mut engine = engine(DedupConfig::default());
    let first = json_records(&feed(&mut engine, &report("g1", 12, "a strike")));
    assert_eq!(first[0]["event_type"]["code"], "strike");
    let old_version = first[0]["dictionary_version"].as_str().unwrap().to_string();

    // Any edit of the dictionary makes a new version.
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo_path("dictionaries"), dir.path());
    let manifest = dir.path().join("dictionary.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n# edited\n")).unwrap();
    let dict = Dictionary::load_dir(dir.path(), &LoadOptions::default()).unwrap();
    let new_version = dict.version().to_string();
    assert_ne!(new_version, old_version);
    engine.set_tagger(Arc::new(Tagger::new(Arc::new(dict), AutomatonKind::Dfa).unwrap())).unwrap();

    let second = json_records(&feed(&mut engine, &report("s1", 13, "an air strike")));
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!((second[0]["status"].as_str(), second[0]["revision"].as_u64()), (Some("updated"), Some(2)));
    assert_eq!(second[0]["event_id"], first[0]["event_id"]);
    assert_eq!(second[0]["event_type"]["code"], "air_strike");
    assert_eq!(second[0]["event_type"]["family"], "remote_violence");
    assert_eq!(second[0]["dictionary_version"], new_version.as_str());

    let mut restored = Engine::new(engine.tagger().clone(), DedupConfig::default()).unwrap();
    restored.deduper_mut().restore(engine.deduper().snapshot()).unwrap();
    let event = restored.deduper().events()[0];
    assert_eq!((&**event.event_type(), &**event.dictionary_version()), ("air_strike", new_version.as_str()));
}

fn json_records(lines: &[String]) -> Vec<serde_json::Value> {
    lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}
