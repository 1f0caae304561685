//! Where dictionary files come from (the copy compiled into the binary, or a folder on disk) and
//! how they are read: line by line, with a bound on each line and on each file, so that a wrong
//! path (`/dev/zero`, a binary, an endless pipe) fails fast with the file and the bound named
//! instead of growing until memory runs out. Every byte read goes into the dictionary's hash.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::DictionaryError;

/// The source of a dictionary's files, by path relative to the manifest.
#[derive(Debug, Clone)]
pub enum DictionaryFiles {
    /// The repository's `dictionaries/`, compiled into the binary: lexwire runs without any file
    /// beside it.
    Bundled,
    /// A folder holding `dictionary.toml` and the files it lists.
    Dir(PathBuf),
}

/// Every file of the bundled dictionary. A test checks this list against the manifest.
pub(crate) const BUNDLED: &[(&str, &[u8])] = &[
    ("dictionary.toml", include_bytes!("../../dictionaries/dictionary.toml")),
    ("variants.toml", include_bytes!("../../dictionaries/variants.toml")),
    ("common-words.txt", include_bytes!("../../dictionaries/common-words.txt")),
    (
        "gazetteer/geonames-SY-IQ-cities500.tsv",
        include_bytes!("../../dictionaries/gazetteer/geonames-SY-IQ-cities500.tsv"),
    ),
    ("gazetteer/syrianarchive-SY.tsv", include_bytes!("../../dictionaries/gazetteer/syrianarchive-SY.tsv")),
    ("gazetteer/admin1.tsv", include_bytes!("../../dictionaries/gazetteer/admin1.tsv")),
    ("gazetteer/admin2-SY.tsv", include_bytes!("../../dictionaries/gazetteer/admin2-SY.tsv")),
    ("gazetteer/admin3-SY.tsv", include_bytes!("../../dictionaries/gazetteer/admin3-SY.tsv")),
    ("gazetteer/overlay.toml", include_bytes!("../../dictionaries/gazetteer/overlay.toml")),
    ("gazetteer/person-names.txt", include_bytes!("../../dictionaries/gazetteer/person-names.txt")),
    ("lexicon/taxonomy.toml", include_bytes!("../../dictionaries/lexicon/taxonomy.toml")),
    ("lexicon/event-triggers.toml", include_bytes!("../../dictionaries/lexicon/event-triggers.toml")),
    ("lexicon/actors.toml", include_bytes!("../../dictionaries/lexicon/actors.toml")),
    ("lexicon/weapons.toml", include_bytes!("../../dictionaries/lexicon/weapons.toml")),
    ("lexicon/casualties.toml", include_bytes!("../../dictionaries/lexicon/casualties.toml")),
    ("lexicon/numbers.toml", include_bytes!("../../dictionaries/lexicon/numbers.toml")),
    ("lexicon/dates.toml", include_bytes!("../../dictionaries/lexicon/dates.toml")),
    ("lexicon/qualifiers.toml", include_bytes!("../../dictionaries/lexicon/qualifiers.toml")),
];

/// The longest line any dictionary file may hold, newline excluded. GeoNames caps a row's
/// alternate names at 10,000 characters (at most 40,000 bytes of UTF-8), the rest of a row is a
/// few hundred bytes; a curated line is a few hundred.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The largest GeoNames dump file: the whole-world `allCountries.txt` is about 1.6 GB. Only the
/// rows kept stay in memory; the file is streamed.
pub const MAX_GEONAMES_FILE_BYTES: u64 = 4 << 30;

/// The largest curated file (manifest, lexicon, overlay, tables, word lists), read whole: the
/// shipped ones are under 200 KB.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

impl DictionaryFiles {
    /// A reader of the file at `rel` (a path relative to the manifest).
    pub(crate) fn open(&self, rel: &str) -> Result<Box<dyn BufRead + '_>, DictionaryError> {
        match self {
            DictionaryFiles::Bundled => BUNDLED
                .iter()
                .find(|(path, _)| *path == rel)
                .map(|(_, bytes)| Box::new(*bytes) as Box<dyn BufRead>)
                .ok_or_else(|| DictionaryError::new(self.display(rel), None, "not in the bundled dictionary")),
            DictionaryFiles::Dir(dir) => open_path(&dir.join(rel), &self.display(rel)),
        }
    }

    /// The bytes of the bundled file at `rel`, for tests.
    #[cfg(test)]
    pub(crate) fn bundled(rel: &str) -> &'static [u8] {
        BUNDLED.iter().find(|(path, _)| *path == rel).expect("a bundled file").1
    }

    /// How to name the file at `rel` in messages.
    pub(crate) fn display(&self, rel: &str) -> String {
        match self {
            DictionaryFiles::Bundled => format!("<bundled>/{rel}"),
            DictionaryFiles::Dir(dir) => dir.join(rel).display().to_string(),
        }
    }
}

/// A buffered reader of the file at `path`, named `name` in messages.
pub(crate) fn open_path(path: &Path, name: &str) -> Result<Box<dyn BufRead>, DictionaryError> {
    let file = std::fs::File::open(path).map_err(|e| DictionaryError::new(name, None, format!("cannot read: {e}")))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
}

/// Reads a file line by line within [`MAX_LINE_BYTES`] per line and `max_file` bytes in all,
/// hashing every byte read, then the file's length, into the dictionary's version.
pub(crate) struct Lines<'a> {
    file: String,
    reader: Box<dyn BufRead + 'a>,
    hasher: &'a mut Sha256,
    buf: Vec<u8>,
    line: usize,
    read: u64,
    max_line: usize,
    max_file: u64,
    done: bool,
}

impl<'a> Lines<'a> {
    pub fn new(file: String, reader: Box<dyn BufRead + 'a>, hasher: &'a mut Sha256, max_file: u64) -> Self {
        Lines {
            file,
            reader,
            hasher,
            buf: Vec::new(),
            line: 0,
            read: 0,
            max_line: MAX_LINE_BYTES,
            max_file,
            done: false,
        }
    }

    /// With another line bound (tests).
    #[cfg(test)]
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// The file's name, as messages give it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The next line, without its `\n`, and its 1-based number; `None` at the end of the file.
    ///
    /// # Errors
    /// A line longer than the bound, a file larger than its bound, or a read error, with the
    /// file and line.
    pub fn next_line(&mut self) -> Result<Option<(usize, &[u8])>, DictionaryError> {
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        let line = self.line + 1;
        // At most the longest line, its newline, and one byte more to tell an oversize line.
        let mut bounded = (&mut self.reader).take(self.max_line as u64 + 1);
        let n = bounded
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| DictionaryError::new(&self.file, Some(line), format!("cannot read: {e}")))?;
        if n == 0 {
            self.done = true;
            // The length closes the file's bytes, so that two files cannot hash as one.
            self.hasher.update(self.read.to_le_bytes());
            return Ok(None);
        }
        let content = self.buf.strip_suffix(b"\n").map_or(self.buf.len(), <[u8]>::len);
        if content > self.max_line {
            return Err(DictionaryError::new(
                &self.file,
                Some(line),
                format!("line longer than {} bytes, the bound on a dictionary line", self.max_line),
            ));
        }
        self.read += n as u64;
        if self.read > self.max_file {
            return Err(DictionaryError::new(
                &self.file,
                Some(line),
                format!("file larger than {} bytes, the bound on this dictionary file", self.max_file),
            ));
        }
        self.hasher.update(&self.buf);
        self.line = line;
        Ok(Some((line, &self.buf[..content])))
    }

    /// The whole file as UTF-8 text, lines and newlines as they are.
    ///
    /// # Errors
    /// As [`Lines::next_line`], and a file that is not UTF-8.
    pub fn text(mut self) -> Result<String, DictionaryError> {
        let mut bytes = Vec::new();
        while self.next_line()?.is_some() {
            bytes.extend_from_slice(&self.buf);
        }
        String::from_utf8(bytes).map_err(|e| {
            let line = super::line_of_bytes(e.as_bytes(), e.utf8_error().valid_up_to());
            DictionaryError::new(&self.file, Some(line), "not UTF-8")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &'static [u8], max_line: usize, max_file: u64, hasher: &mut Sha256) -> Vec<String> {
        let mut lines = Lines::new("f.tsv".into(), Box::new(bytes), hasher, max_file).max_line(max_line);
        let mut out = Vec::new();
        loop {
            match lines.next_line() {
                Ok(Some((n, l))) => out.push(format!("{n}:{}", String::from_utf8_lossy(l))),
                Ok(None) => return out,
                Err(e) => {
                    out.push(e.to_string());
                    return out;
                }
            }
        }
    }

    #[test]
    fn lines_are_bounded_and_numbered() {
        let mut h = Sha256::new();
        assert_eq!(lines_of(b"ab\ncdef\n\ng", 4, 100, &mut h), ["1:ab", "2:cdef", "3:", "4:g"]);
        assert_eq!(
            lines_of(b"ab\ncdefg\nh", 4, 100, &mut h),
            ["1:ab", "f.tsv:2: line longer than 4 bytes, the bound on a dictionary line"]
        );
        assert_eq!(
            lines_of(b"ab\ncd\nef\n", 4, 7, &mut h),
            ["1:ab", "2:cd", "f.tsv:3: file larger than 7 bytes, the bound on this dictionary file"]
        );
    }

    #[test]
    fn the_hash_is_of_the_bytes_and_the_length() {
        let digest = |files: &[&'static [u8]]| {
            let mut h = Sha256::new();
            for f in files {
                lines_of(f, 10, 100, &mut h);
            }
            h.finalize()
        };
        // Moving a line from one file to the next changes the hash.
        assert_ne!(digest(&[b"a\nb\n", b"c\n"]), digest(&[b"a\n", b"b\nc\n"]));
        assert_eq!(digest(&[b"a\nb\n", b"c\n"]), digest(&[b"a\nb\n", b"c\n"]));
    }

    #[test]
    fn text_is_the_file_unchanged() {
        let mut h = Sha256::new();
        let bytes = DictionaryFiles::bundled("lexicon/taxonomy.toml");
        let text = Lines::new("t".into(), Box::new(bytes), &mut h, MAX_FILE_BYTES).text().unwrap();
        assert_eq!(text.as_bytes(), bytes);
        let e = Lines::new("t".into(), Box::new(&b"ok\n\xff\n"[..]), &mut h, 100).text().unwrap_err();
        assert_eq!(e.to_string(), "t:2: not UTF-8");
    }
}
