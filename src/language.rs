//! Language detection for the three languages lexwire reads: English, French, Arabic.
//!
//! Arabic is recognised by its script; English and French by their most frequent function
//! words in the first kilobytes of the normalized text — up to 8 KB, or the first whole
//! kilobyte where one language already leads by far. That is all the choice needs: the
//! lexicon is split by language, and a sentence splitter or number reader only has to know
//! which of the three it is reading. An article whose `language` field names one of the three
//! is taken at its word.

use crate::dictionary::Lang;
use crate::normalize::Normalized;

/// How much of the normalized text the function-word count reads at most.
const SAMPLE_BYTES: usize = 8 * 1024;

/// The count stops at the end of each block of this many bytes of the sample where one
/// language leads decisively: [`DECISIVE_WORDS`] function words counted, and the leader's at
/// least [`DECISIVE_FACTOR`] times the other's. A kilobyte of news holds 60-80 function words;
/// the words of the other language in it are a name, a quote, a loanword ("on" is English and
/// French). The rest of the sample can turn such a lead only if it is mostly in the other
/// language: a text that opens with a kilobyte of one language and goes on in another.
const BLOCK_BYTES: usize = 1024;
const DECISIVE_WORDS: usize = 30;
const DECISIVE_FACTOR: usize = 4;

/// Whether counts of `known` function words, `french` of them French, decide the language.
const fn decisive(known: usize, french: usize) -> bool {
    let english = known - french;
    known >= DECISIVE_WORDS && (english >= DECISIVE_FACTOR * french || french >= DECISIVE_FACTOR * english)
}

/// The most frequent function words of English and French (normalized: no accents).
const ENGLISH: [&[u8]; 25] = [
    b"the", b"and", b"of", b"to", b"in", b"was", b"were", b"is", b"that", b"with", b"by", b"for", b"on", b"from",
    b"which", b"has", b"have", b"said", b"at", b"his", b"their", b"this", b"after", b"been", b"are",
];
const FRENCH: [&[u8]; 28] = [
    b"le", b"la", b"les", b"des", b"du", b"de", b"et", b"une", b"est", b"dans", b"pour", b"par", b"sur", b"que",
    b"qui", b"au", b"aux", b"ont", b"ete", b"avait", b"cette", b"selon", b"se", b"pas", b"il", b"sont", b"ces",
    b"leur",
];

/// The longest function word, in bytes.
const MAX_WORD: usize = 5;

/// A word as one integer: its first [`MAX_WORD`] bytes, first lowest, and its length (up to
/// 255) in the top byte. Two words of at most [`MAX_WORD`] bytes never share a key, and a longer
/// word never has the key of a function word.
const fn key(prefix: u64, len: usize) -> u64 {
    let len = if len > 255 { 255 } else { len };
    prefix | (len as u64) << 56
}

/// The first `n` bytes of `word` (at most 8) as an integer, first lowest.
const fn prefix(word: &[u8], n: usize) -> u64 {
    let mut v = 0;
    let mut i = 0;
    while i < n {
        v |= (word[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

/// Slots of the function-word table: a power of two, a few times the number of words.
const SLOTS: usize = 256;
/// The key of an empty slot: no word's key (bytes 5 to 6 of a key are always 0).
const EMPTY: u64 = u64::MAX;

/// The function words as a perfect hash table, built at compile time: the multiplier, and for
/// each slot the key of the word there and its language (0 English, 1 French). A word is looked
/// up with one multiplication and one comparison, with no branch.
const TABLE: (u64, [u64; SLOTS], [u8; SLOTS]) = {
    let mut multiplier: u64 = 0x9e37_79b9_7f4a_7c15;
    loop {
        let mut keys = [EMPTY; SLOTS];
        let mut langs = [0u8; SLOTS];
        let mut clash = false;
        let mut i = 0;
        while i < ENGLISH.len() + FRENCH.len() && !clash {
            let (word, lang) = if i < ENGLISH.len() { (ENGLISH[i], 0) } else { (FRENCH[i - ENGLISH.len()], 1) };
            assert!(!word.is_empty() && word.len() <= MAX_WORD, "a function word is 1 to MAX_WORD bytes");
            let k = key(prefix(word, word.len()), word.len());
            let slot = slot(k, multiplier);
            // A word listed twice clashes with itself under any multiplier.
            assert!(keys[slot] != k, "a function word is listed twice");
            clash = keys[slot] != EMPTY;
            keys[slot] = k;
            langs[slot] = lang;
            i += 1;
        }
        if !clash {
            break (multiplier, keys, langs);
        }
        multiplier = multiplier.wrapping_add(0x2_0000_0002);
    }
};

/// The slot of a key in [`TABLE`].
const fn slot(key: u64, multiplier: u64) -> usize {
    (key.wrapping_mul(multiplier) >> (64 - SLOTS.trailing_zeros())) as usize
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
    let sample = &bytes[..end];
    let (multiplier, keys, langs) = &TABLE;
    // The function words, and the French ones among them (a word not in the table adds 0): two
    // counters in registers, not an array indexed by language (a chain of stores and loads).
    let (mut known, mut french) = (0usize, 0usize);
    let count = |start: usize, stop: usize| {
        let len = stop - start;
        let n = len.min(MAX_WORD);
        // Eight bytes read at once where the sample has them, masked to the word's first n.
        let word = match sample.get(start..start + 8) {
            Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")) & ((1 << (8 * n)) - 1),
            None => prefix(&sample[start..], n),
        };
        let k = key(word, len);
        let slot = slot(k, *multiplier);
        let hit = usize::from(keys[slot] == k);
        (hit, hit & usize::from(langs[slot]))
    };
    // The spaces found eight bytes at a time (words are short: a search call per space costs
    // more than the word), each set bit of the mask one space.
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut start = 0;
    let whole = sample.len() / 8 * 8;
    let mut decided = false;
    for (b, block) in sample[..whole].chunks(BLOCK_BYTES).enumerate() {
        for (j, chunk) in block.chunks_exact(8).enumerate() {
            let at = b * BLOCK_BYTES + 8 * j;
            let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ 0x2020_2020_2020_2020;
            // The top bit of each byte that is zero in `x` (a space in the sample), exactly.
            let mut spaces = !(((x & LOW7) + LOW7) | x | LOW7);
            while spaces != 0 {
                let space = at + (spaces.trailing_zeros() / 8) as usize;
                let (hit, fr) = count(start, space);
                (known, french) = (known + hit, french + fr);
                start = space + 1;
                spaces &= spaces - 1;
            }
        }
        // The words that ended within a whole block, the one across its end not yet.
        if block.len() == BLOCK_BYTES && decisive(known, french) {
            decided = true;
            break;
        }
    }
    if !decided {
        let (tail, remainder) = (whole, &sample[whole..]);
        for (i, _) in remainder.iter().enumerate().filter(|(_, b)| **b == b' ') {
            let (hit, fr) = count(start, tail + i);
            (known, french) = (known + hit, french + fr);
            start = tail + i + 1;
        }
        let (hit, fr) = count(start, sample.len());
        (known, french) = (known + hit, french + fr);
    }
    let (en, fr) = (known - french, french);
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
    fn function_words_are_distinct_and_short() {
        let words: Vec<&[u8]> = ENGLISH.iter().chain(&FRENCH).copied().collect();
        assert!(words.iter().all(|w| (1..=MAX_WORD).contains(&w.len())));
        let (_, keys, _) = &TABLE;
        assert_eq!(keys.iter().filter(|&&k| k != EMPTY).count(), words.len(), "no word twice, in either language");
        // A longer word that starts with a function word is not one.
        assert_eq!(lang("theirs therein thereafter leurs sontag"), Lang::En);
        assert_eq!(lang("les thermes de la ville"), Lang::Fr);
    }

    /// The count as first written: split on spaces, compare each word with the lists.
    fn reference(text: &Normalized) -> Lang {
        let bytes = text.as_bytes();
        let mut end = bytes.len().min(SAMPLE_BYTES);
        while end < bytes.len() && bytes[end] != b' ' {
            end += 1;
        }
        let (mut en, mut fr) = (0, 0);
        let mut start = 0;
        for word in bytes[..end].split(|&b| b == b' ') {
            // The space after the word (or the sample's end); the count stops before a word
            // whose span to that space holds the end of a block, if the words before decide.
            let stop = start + word.len();
            if start.div_ceil(BLOCK_BYTES).max(1) * BLOCK_BYTES <= stop && decisive(en + fr, fr) {
                break;
            }
            en += ENGLISH.contains(&word) as usize;
            fr += FRENCH.contains(&word) as usize;
            start = stop + 1;
        }
        if fr > en { Lang::Fr } else { Lang::En }
    }

    proptest::proptest! {
        /// The table lookup counts what comparing each word with the lists counts, on texts of
        /// function words, their prefixes and extensions, and other words, around the sample's
        /// end.
        #[test]
        fn the_table_counts_what_the_lists_count(
            words in proptest::collection::vec((0..ENGLISH.len() + FRENCH.len(), 0..4usize), 0..3000),
            spaces in 1..3usize,
        ) {
            let all: Vec<&[u8]> = ENGLISH.iter().chain(&FRENCH).copied().collect();
            let text: Vec<String> = words
                .iter()
                .map(|&(i, shape)| {
                    let w = std::str::from_utf8(all[i]).unwrap();
                    match shape {
                        0 => w.to_string(),
                        1 => format!("{w}s"),
                        2 => w[..w.len() - 1].to_string(),
                        _ => "armee".to_string(),
                    }
                })
                .collect();
            let mut n = Normalized::new();
            n.normalize(&text.join(&" ".repeat(spaces))).unwrap();
            proptest::prop_assert_eq!(detect(&n), reference(&n));
        }
    }

    proptest::proptest! {
        /// The same on texts that open in one language, with words of the other here and there,
        /// and go on in the other: the count stops where the opening decides it, as the lists'
        /// count does.
        #[test]
        fn the_count_stops_where_the_lists_count_stops(
            opening in proptest::collection::vec((0..ENGLISH.len(), 0..6usize), 100..1500),
            rest in proptest::collection::vec(0..FRENCH.len(), 0..1500),
            french_first: bool,
            other_words in 0..8usize,
        ) {
            let (first, second): (&[&[u8]], &[&[u8]]) =
                if french_first { (&FRENCH, &ENGLISH) } else { (&ENGLISH, &FRENCH) };
            let mut text: Vec<&str> = Vec::new();
            for &(i, other) in &opening {
                let w = first[i % first.len()];
                text.push(std::str::from_utf8(if other < other_words.min(5) { second[i % second.len()] } else { w }).unwrap());
                if other == 5 {
                    text.push("frontiere");
                }
            }
            text.extend(rest.iter().map(|&i| std::str::from_utf8(second[i % second.len()]).unwrap()));
            let mut n = Normalized::new();
            n.normalize(&text.join(" ")).unwrap();
            proptest::prop_assert_eq!(detect(&n), reference(&n));
        }
    }

    #[test]
    fn a_decisive_first_kilobyte_decides() {
        let english = "the attack on the town was reported by the agency and the army said that it was over ";
        let french = "les forces de la coalition ont frappe des positions dans la ville selon le ministere et les ";
        // Two kilobytes of English, then six of French: the first kilobyte decides.
        assert_eq!(lang(&(english.repeat(24) + &french.repeat(70))), Lang::En);
        // Half a kilobyte of English is not a block: the whole sample counts.
        assert_eq!(lang(&(english.repeat(5) + &french.repeat(70))), Lang::Fr);
        // A kilobyte too mixed to decide: the count goes on.
        assert_eq!(lang(&((english.to_string() + french).repeat(12) + &french.repeat(70))), Lang::Fr);
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
