//! Where dictionary files come from: the copy compiled into the binary, or a folder on disk.

use std::borrow::Cow;
use std::path::PathBuf;

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

impl DictionaryFiles {
    /// The bytes of the file at `rel` (a path relative to the manifest).
    pub(crate) fn read(&self, rel: &str) -> Result<Cow<'static, [u8]>, DictionaryError> {
        match self {
            DictionaryFiles::Bundled => BUNDLED
                .iter()
                .find(|(path, _)| *path == rel)
                .map(|(_, bytes)| Cow::Borrowed(*bytes))
                .ok_or_else(|| DictionaryError::new(self.display(rel), None, "not in the bundled dictionary")),
            DictionaryFiles::Dir(dir) => std::fs::read(dir.join(rel))
                .map(Cow::Owned)
                .map_err(|e| DictionaryError::new(self.display(rel), None, format!("cannot read: {e}"))),
        }
    }

    /// How to name the file at `rel` in messages.
    pub(crate) fn display(&self, rel: &str) -> String {
        match self {
            DictionaryFiles::Bundled => format!("<bundled>/{rel}"),
            DictionaryFiles::Dir(dir) => dir.join(rel).display().to_string(),
        }
    }
}
