//! Helpers for tests that break a copy of the shipped dictionaries or run `lexwire dict`.

use std::path::{Path, PathBuf};

/// A copy of the repository's `dictionaries/` in a temporary folder, to break.
pub fn dictionary_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_dir(&super::repo_path("dictionaries"), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Replaces the first occurrence of `from` in `dir/rel` by `to`; `from` must occur.
pub fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// A file of `tests/data/dictionaries/`.
pub fn test_data(name: &str) -> PathBuf {
    super::repo_path("tests/data/dictionaries").join(name)
}

/// One GeoNames dump line (19 tab-separated columns) of a populated place in governorate 07.
pub fn geonames_row(id: u64, name: &str, alternates: &str, country: &str) -> String {
    format!(
        "{id}\t{name}\t{name}\t{alternates}\t34.4\t40.9\tP\tPPL\t{country}\t\t07\t\t\t\t1000\t\t\tAsia/Damascus\t2024-01-01\n"
    )
}
