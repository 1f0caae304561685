//! Language detection for the three languages lexwire reads: English, French, Arabic.
//!
//! Arabic is recognised by its script; English and French by their most frequent function
//! words in the first few kilobytes of the normalized text. That is all the choice needs: the
//! lexicon is split by language, and a sentence splitter or number reader only has to know
//! which of the three it is reading. An article whose `language` field names one of the three
//! is taken at its word.

use crate::dictionary::Lang;
use crate::normalize::Normalized;

/// How much of the normalized text the function-word count reads.
const SAMPLE_BYTES: usize = 8 * 1024;

/// Which language a frequent function word belongs to (normalized: no accents).
fn function_word(word: &[u8]) -> Option<Lang> {
    match word {
        b"the" | b"and" | b"of" | b"to" | b"in" | b"was" | b"were" | b"is" | b"that" | b"with" | b"by" | b"for"
        | b"on" | b"from" | b"which" | b"has" | b"have" | b"said" | b"at" | b"his" | b"their" | b"this" | b"after"
        | b"been" | b"are" => Some(Lang::En),
        b"le" | b"la" | b"les" | b"des" | b"du" | b"de" | b"et" | b"une" | b"est" | b"dans" | b"pour" | b"par"
        | b"sur" | b"que" | b"qui" | b"au" | b"aux" | b"ont" | b"ete" | b"avait" | b"cette" | b"selon" | b"se"
        | b"pas" | b"il" | b"sont" | b"ces" | b"leur" => Some(Lang::Fr),
        _ => None,
    }
}

/// The language of a normalized text: Arabic when Arabic letters make up a good part of it,
/// else English or French by function words (English on a tie or when nothing is known).
///
/// # Examples
/// ```
/// use lexwire::{language::detect, normalize::Normalized, dictionary::Lang};
/// let mut n = Normalized::new();
/// n.normalize("Un drone inconnu a pris pour cible une voiture près de la frontière.").unwrap();
/// assert_eq!(detect(&n), Lang::Fr);
/// ```
pub fn detect(text: &Normalized) -> Lang {
    let bytes = text.as_bytes();
    // Arabic letters are two bytes each; spaces and ASCII words are one byte a character.
    if text.arabic_letters() >= 10 && text.arabic_letters() * 2 * 3 >= bytes.len() {
        return Lang::Ar;
    }
    let mut end = bytes.len().min(SAMPLE_BYTES);
    while end < bytes.len() && bytes[end] != b' ' {
        end += 1;
    }
    let (mut en, mut fr) = (0usize, 0usize);
    for word in bytes[..end].split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        match function_word(word) {
            Some(Lang::En) => en += 1,
            Some(Lang::Fr) => fr += 1,
            _ => {}
        }
    }
    if fr > en { Lang::Fr } else { Lang::En }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(s: &str) -> Lang {
        let mut n = Normalized::new();
        n.normalize(s).unwrap();
        detect(&n)
    }

    #[test]
    fn detects_the_three_languages() {
        assert_eq!(lang("The death toll is expected to rise further as the attack left several injured."), Lang::En);
        assert_eq!(
            lang("L'Observatoire syrien des droits de l'homme a rapporté que, ce jeudi matin, un drone..."),
            Lang::Fr
        );
        assert_eq!(lang("قتل 22 عنصرا من حزب الله العراقي في غارات أمريكية على الحدود السورية العراقية"), Lang::Ar);
        assert_eq!(lang(""), Lang::En);
    }
}
