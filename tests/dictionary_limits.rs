//! What a dictionary may cost: the automaton stays near its memory budget however many aliases
//! it holds, and no dictionary file is read whole, so an endless or oversize file fails fast with
//! a message naming the file and the bound. Each case runs `lexwire dict check` as a child and
//! measures its peak resident memory (`wait4`'s rusage), under an address-space limit so that a
//! regression fails the test instead of the machine.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::dictionaries::{dictionary_copy, geonames_row};

/// Address space a child may take: well above any sane run, well below this machine's memory.
const ADDRESS_SPACE_LIMIT: u64 = 3 << 30;

/// What a `lexwire` child did.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_bytes: u64,
    elapsed: Duration,
}

/// Runs `lexwire args`, killed after `timeout`, and returns its output and peak resident memory.
// The child is reaped by `wait4` (for its rusage), not by std's `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str], timeout: Duration) -> Measured {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lexwire"));
    command.args(args).env("LEXWIRE_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe, and the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: ADDRESS_SPACE_LIMIT, rlim_max: ADDRESS_SPACE_LIMIT };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("lexwire runs");
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        String::from_utf8_lossy(&v).into_owned()
    });
    let mut status = 0;
    // SAFETY: rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not reaped yet (std's `Child` is never waited on here).
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        assert_eq!(reaped, 0, "wait4: {}", std::io::Error::last_os_error());
        if started.elapsed() > timeout {
            // Still our unreaped child: the pid cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        // Linux reports ru_maxrss in kilobytes.
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        elapsed,
    }
}

/// `n` GeoNames rows of made-up names, random letters from a fixed-seed generator: few shared
/// prefixes, so a trie state (and a DFA row) per letter, and transliteration variants on top.
fn random_places(n: u64) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::new();
    for i in 0..n {
        let len = 8 + next() % 9;
        let mut name: String = (0..len).map(|_| (b'a' + (next() % 26) as u8) as char).collect();
        name[..1].make_ascii_uppercase();
        text.push_str(&geonames_row(90_000_000 + i, &name, "", "SY"));
    }
    text
}

#[test]
fn regression_dfa_built_in_full_before_its_budget_is_checked() {
    // 30,000 random names give about 230,000 patterns: their DFA would take about 450 MB, seven
    // times the 64 MB budget. Building it to find that out peaked at 560 MB of resident memory;
    // estimating first builds only the contiguous NFA.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("random.tsv");
    std::fs::write(&dump, random_places(30_000)).unwrap();
    let run = run_measured(
        &["dict", "check", "--json", "--examples", "0", "--geonames", dump.to_str().unwrap()],
        Duration::from_secs(120),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let automaton = &report["automaton"];
    assert!(report["patterns"].as_u64().unwrap() > 200_000, "{automaton}");
    assert!(automaton["kind"].as_str().unwrap().starts_with("ContiguousNFA (ASCII"), "{automaton}");
    const BOUND: u64 = 300 << 20;
    assert!(
        run.peak_rss_bytes < BOUND,
        "peak resident memory {} MB, bound {} MB ({automaton})",
        run.peak_rss_bytes >> 20,
        BOUND >> 20
    );
}

/// The run failed as it should: exit code 2, quickly, in little memory, with `needles` in the
/// message.
fn assert_fails_fast(run: &Measured, needles: &[&str]) {
    assert_eq!(run.code, Some(2), "exit code {:?} after {:?}: {}", run.code, run.elapsed, run.stderr);
    assert!(run.elapsed < Duration::from_secs(30), "took {:?}", run.elapsed);
    assert!(run.peak_rss_bytes < 300 << 20, "peak resident memory {} MB", run.peak_rss_bytes >> 20);
    for needle in needles {
        assert!(run.stderr.contains(needle), "{needle:?} not in: {}", run.stderr);
    }
}

#[test]
fn regression_geonames_file_is_read_whole() {
    // An endless file: it was read whole, until memory ran out.
    let run = run_measured(&["dict", "check", "--geonames", "/dev/zero"], Duration::from_secs(60));
    assert_fails_fast(&run, &["/dev/zero:1:", "65536 bytes"]);

    // An oversize line after a good one: the file and the line are named.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("long-line.tsv");
    let long = geonames_row(90_000_002, "Tell Long", &"Tall Long,".repeat(10_000), "SY");
    std::fs::write(&dump, geonames_row(90_000_001, "Tell Short", "", "SY") + &long).unwrap();
    let run = run_measured(&["dict", "check", "--geonames", dump.to_str().unwrap()], Duration::from_secs(60));
    assert_fails_fast(&run, &[&format!("{}:2:", dump.display()), "65536 bytes"]);
}

#[test]
fn regression_manifest_files_are_read_whole() {
    // The manifest itself, and a file it lists, replaced by an endless file.
    for rel in ["dictionary.toml", "gazetteer/overlay.toml", "gazetteer/admin3-SY.tsv"] {
        let dir = dictionary_copy();
        let path = dir.path().join(rel);
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let run =
            run_measured(&["dict", "check", "--dictionaries", dir.path().to_str().unwrap()], Duration::from_secs(60));
        assert_fails_fast(&run, &[&format!("{}:1:", path.display()), "65536 bytes"]);
    }
}
