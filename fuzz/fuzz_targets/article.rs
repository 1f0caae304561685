//! libFuzzer target: decode → normalize → tag → extract → dedup → encode (properties in
//! `fuzz/checks.rs`).
#![no_main]

use std::sync::{Mutex, OnceLock};

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

fn harness() -> &'static Mutex<checks::Harness> {
    static HARNESS: OnceLock<Mutex<checks::Harness>> = OnceLock::new();
    HARNESS.get_or_init(|| Mutex::new(checks::Harness::new()))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A panic inside poisons the lock; libFuzzer stops at the first crash anyway.
    let mut harness = harness().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    harness.check_article(data);
});
