//! Every numeric setting of the service is range-checked, whether it comes from the config file,
//! a `LEXWIRE_...` variable or a flag, and one run reports every bad value with its key, value
//! and accepted range (issue 11, finding 15: a huge `shutdown_timeout_secs` panicked four
//! threads on SIGTERM and hung; a huge `--idle-exit` exited after 5 s).

use std::process::{Command, Stdio};

use lexwire::service::{Config, ConfigError};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn errors_of(result: Result<Config, ConfigError>) -> Vec<(String, String)> {
    match result {
        Err(ConfigError::Invalid(errors)) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
        Err(other) => panic!("not a value error: {other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn regression_huge_numeric_settings_overflowed_instead_of_failing_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lexwire.toml");
    std::fs::write(
        &path,
        "[kafka]\npartitions = 0\nreplication_factor = 40000\n\
         [pipeline]\nshutdown_timeout_secs = 9223372036854775807\nmax_article_bytes = 10\nmax_in_flight = 0\n\
         idle_exit_secs = 9223372036854775807\n\
         [dedup]\nwindow_days = 0\nmax_events = 0\ndistance_km = nan\n\
         [metrics]\nstatistics_interval_ms = 9223372036854775807\n\
         [dictionary]\nwatch_secs = 9223372036854775807\ndfa_budget_mb = 16385\n",
    )
    .unwrap();
    let errors = errors_of(Config::load(Some(&path), Vec::new(), &[]));
    let expected = [
        ("kafka.partitions", "0", "1 to 100000"),
        ("kafka.replication_factor", "40000", "1 to 32767"),
        ("pipeline.max_article_bytes", "10", "1024 to 268435456"),
        ("pipeline.max_in_flight", "0", "1 to 1000000"),
        ("pipeline.shutdown_timeout_secs", "9223372036854775807", "0 to 3600"),
        ("pipeline.idle_exit_secs", "9223372036854775807", "0 to 31536000"),
        ("dedup.window_days", "0", "1 to 3652425"),
        ("dedup.max_events", "0", "1 to 100000000"),
        ("dedup.distance_km", "NaN", "0 to 20000"),
        ("metrics.statistics_interval_ms", "9223372036854775807", "0 to 86400000"),
        ("dictionary.watch_secs", "9223372036854775807", "0 to 86400"),
        ("dictionary.dfa_budget_mb", "16385", "0 to 16384"),
    ];
    for (key, value, range) in expected {
        let found = errors.iter().find(|(k, _)| k == key);
        let Some((_, message)) = found else { panic!("{key} not reported in {errors:?}") };
        assert!(message.contains(value) && message.contains(range), "{key}: {message}");
    }
    assert_eq!(errors.len(), expected.len(), "{errors:?}");

    // The same keys from the environment, and a value beyond 64 bits shown as written.
    let errors = errors_of(Config::load(
        None,
        env(&[
            ("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "18446744073709551615"),
            ("LEXWIRE_PIPELINE_MAX_IN_FLIGHT", "-5"),
        ]),
        &[],
    ));
    let (key, message) = &errors[0];
    assert!(key.starts_with("pipeline."), "{errors:?}");
    assert!(message.contains("(accepted: "), "{errors:?}");
    let errors = errors_of(Config::load(None, env(&[("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "86400")]), &[]));
    assert_eq!(
        errors,
        [("pipeline.shutdown_timeout_secs".into(), "86400 is out of range (accepted: 0 to 3600)".into())]
    );

    // Flags go through the same check.
    let errors = errors_of(Config::load(
        None,
        Vec::new(),
        &[("pipeline.idle_exit_secs".into(), toml::Value::Integer(i64::MAX))],
    ));
    assert_eq!(errors[0].0, "pipeline.idle_exit_secs");

    // The edges of each range are accepted.
    let c = Config::load(
        None,
        env(&[
            ("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "3600"),
            ("LEXWIRE_PIPELINE_MAX_ARTICLE_BYTES", "268435456"),
            ("LEXWIRE_PIPELINE_IDLE_EXIT_SECS", "31536000"),
            ("LEXWIRE_DEDUP_DISTANCE_KM", "0"),
        ]),
        &[],
    )
    .unwrap();
    assert_eq!(c.pipeline.shutdown_timeout_secs, 3600);
}

/// Runs `lexwire run` with `args` and `env`, asserts it is refused with exit 2 before starting,
/// and returns its stderr.
fn run_refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lexwire"))
        .args(["run", "--metrics-listen", ""])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn regression_huge_idle_exit_flag_exited_after_five_seconds() {
    // `lexwire run --idle-exit 18446744073709551615` overflowed to a tiny idle time; now it is
    // refused before anything starts, naming the flag, the value and the range.
    let err = run_refused(&["--idle-exit", "18446744073709551615"], &[]);
    assert!(
        err.contains("--idle-exit") && err.contains("18446744073709551615") && err.contains("0..=31536000"),
        "{err}"
    );
    // An out-of-range value from the environment stops `run` at start too, with exit 2.
    let err = run_refused(&[], &[("LEXWIRE_PIPELINE_SHUTDOWN_TIMEOUT_SECS", "99999999")]);
    assert!(
        err.contains("key `pipeline.shutdown_timeout_secs`: 99999999 is out of range (accepted: 0 to 3600)"),
        "{err}"
    );
}

#[test]
fn the_dfa_budget_chooses_the_automata() {
    let kinds = |budget_mb: &str| {
        let config = Config::load(None, env(&[("LEXWIRE_DICTIONARY_DFA_BUDGET_MB", budget_mb)]), &[]).unwrap();
        assert_eq!(config.dictionary.dfa_budget_bytes(), budget_mb.parse::<usize>().unwrap() << 20);
        let tagger = lexwire::service::load_tagger(&config).unwrap();
        let (ascii, other) = tagger.matcher().kinds();
        (format!("{ascii:?}"), format!("{other:?}"))
    };
    let kinds_of = |a: &str, b: &str| (a.to_string(), b.to_string());
    // The default: the folded ASCII DFA (36 MB) and the Arabic-script DFA (27 MB).
    assert_eq!(kinds("64"), kinds_of("DFA", "DFA"));
    // Room for the first only.
    assert_eq!(kinds("40"), kinds_of("DFA", "ContiguousNFA"));
    assert_eq!(kinds("0"), kinds_of("ContiguousNFA", "ContiguousNFA"));
}
