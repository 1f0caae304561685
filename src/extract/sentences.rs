//! Sentences and paragraphs of an article, as byte spans of the original text.
//!
//! A line is a paragraph (news text puts one per line), unless it is the hard-wrapped
//! continuation of the line before (that line ends without closing punctuation and this one
//! starts in lower case). Inside a paragraph, a sentence ends at `.`, `!`, `?`, `؟` or `…`,
//! after any closing quotes or brackets, when what follows starts a new sentence (a capital, a
//! digit, an opening quote); not after an abbreviation ("U.S.", "Dr.", "Feb.", an initial). A
//! headline's " | " separates sentences too. List markers ("- ", "• ", "1. ") are not part of
//! the sentence they open.

/// A sentence: `text[start..end]`, and the paragraph it belongs to (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sentence {
    pub start: usize,
    pub end: usize,
    pub paragraph: u32,
}

/// Words that end with a period without ending a sentence (lowercase, without the period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "no", "nos", "vs", "etc", "e.g", "i.e", "gen", "col", "lt", "maj", "capt", "sgt",
    "brig", "gov", "sen", "rep", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "approx", "fig", "u.s", "u.k", "u.n", "m", "mme", "mlle", "av", "cf", "p", "pp", "vol", "inc", "ltd", "co", "corp",
    "lt.col", "jr", "sr",
];

/// Splits `text` into sentences, appended to `out` in order.
///
/// # Examples
/// ```
/// use lexwire::extract::sentences::split;
/// let text = "Death toll update | 22 killed.\nU.S. forces struck at 01:00. Dr. Ali said: \"Two died.\" More later";
/// let mut out = Vec::new();
/// split(text, &mut out);
/// let got: Vec<&str> = out.iter().map(|s| &text[s.start..s.end]).collect();
/// assert_eq!(got, ["Death toll update", "22 killed.", "U.S. forces struck at 01:00.", "Dr. Ali said: \"Two died.\"", "More later"]);
/// ```
pub fn split(text: &str, out: &mut Vec<Sentence>) {
    let mut paragraph = 0u32;
    let mut para_start: Option<usize> = None;
    let mut prev_line_end = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let line_start = at;
        at += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            if let Some(start) = para_start.take() {
                split_paragraph(text, start, prev_line_end, paragraph, out);
                paragraph += 1;
            }
            continue;
        }
        let continues = para_start.is_some() && is_continuation(&text[..prev_line_end], content);
        if !continues && let Some(start) = para_start.take() {
            split_paragraph(text, start, prev_line_end, paragraph, out);
            paragraph += 1;
        }
        if para_start.is_none() {
            para_start = Some(line_start);
        }
        prev_line_end = line_start + content.len();
    }
    if let Some(start) = para_start {
        split_paragraph(text, start, prev_line_end, paragraph, out);
    }
}

/// Whether a line continues the paragraph before it: hard-wrapped text. It does when the line
/// before stops on a word that cannot end a sentence ("of", "the", "de"), or stops without
/// punctuation and this one starts in lower case.
fn is_continuation(before: &str, line: &str) -> bool {
    let before = before.trim_end();
    let prev = before.chars().next_back();
    let next = line.trim_start().chars().next();
    let last_word = before.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    const OPEN_WORDS: [&str; 24] = [
        "of", "the", "a", "an", "and", "in", "on", "at", "near", "to", "by", "from", "with", "de", "la", "le", "les",
        "des", "du", "à", "et", "en", "sur", "dans",
    ];
    OPEN_WORDS.iter().any(|w| w.eq_ignore_ascii_case(last_word))
        || matches!(prev, Some(c) if c.is_alphabetic() && c.is_lowercase() || c == ',')
            && matches!(next, Some(c) if c.is_lowercase())
}

fn split_paragraph(text: &str, start: usize, end: usize, paragraph: u32, out: &mut Vec<Sentence>) {
    let bytes = text.as_bytes();
    let mut sentence_start = start;
    let mut marks = Marks::default();
    let mut i = start;
    // Only the bytes that may end a sentence are looked at; the search jumps over the rest.
    while let Some(at) = marks.next(bytes, i, end) {
        i = at;
        let c = bytes[i];
        let boundary = match c {
            b'.' | b'!' | b'?' => sentence_end(text, i, end, c == b'.'),
            // " | " in headlines
            b'|' if i > start && bytes[i - 1] == b' ' && bytes.get(i + 1) == Some(&b' ') => {
                push(text, sentence_start, i, paragraph, out);
                sentence_start = i + 1;
                i += 1;
                continue;
            }
            // "؟" (U+061F) and "…" (U+2026)
            0xD8 if bytes.get(i + 1) == Some(&0x9F) => sentence_end(text, i + 1, end, false),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA6) => {
                sentence_end(text, i + 2, end, false)
            }
            _ => None,
        };
        if let Some(after) = boundary {
            push(text, sentence_start, after, paragraph, out);
            sentence_start = after;
            i = after;
        } else {
            i += 1;
        }
    }
    push(text, sentence_start, end, paragraph, out);
}

/// If the terminator ending at byte `i` ends a sentence, the position right after it (and after
/// closing quotes and brackets).
fn sentence_end(text: &str, i: usize, end: usize, period: bool) -> Option<usize> {
    let mut after = i + 1;
    // Runs of terminators ("?!", "...") and closing quotes or brackets stay with the sentence.
    loop {
        let rest = &text[after..end];
        if let Some(c) = rest.chars().next()
            && (matches!(c, '.' | '!' | '?' | '"' | '\'' | ')' | ']' | '”' | '’' | '»' | '…'))
        {
            after += c.len_utf8();
            continue;
        }
        break;
    }
    if after >= end {
        return Some(end);
    }
    // What follows must be whitespace, then the start of a sentence.
    let rest = &text[after..end];
    let next = rest.trim_start();
    if next.len() == rest.len() {
        return None; // "01:00.Syria", "3.5"
    }
    let first = next.chars().next()?;
    let starts_sentence = first.is_uppercase()
        || first.is_ascii_digit()
        || matches!(first, '"' | '“' | '«' | '\'' | '‘' | '(' | '[' | '-' | '•')
        || ('\u{0600}'..='\u{06FF}').contains(&first);
    if !starts_sentence {
        return None;
    }
    if period && (is_abbreviation(&text[..i]) || is_list_number(&text[..i])) {
        return None;
    }
    Some(after)
}

/// Whether `before` ends with a list number at the start of its line ("1" of "1. ").
fn is_list_number(before: &str) -> bool {
    // Only the end of `before` matters (a line of at most "  12"): never scan a long text.
    let mut from = before.len().saturating_sub(8);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let tail = &before[from..];
    let line = match tail.rfind('\n') {
        Some(p) => &tail[p + 1..],
        None if from == 0 => tail,
        None => return false,
    };
    let line = line.trim_start();
    (1..=2).contains(&line.len()) && line.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the word ending at the end of `before` is an abbreviation or an initial.
fn is_abbreviation(before: &str) -> bool {
    let word = before.rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"').next().unwrap_or("");
    if word.chars().count() == 1 && word.chars().all(char::is_uppercase) {
        return true; // an initial: "J. Smith"
    }
    if word.is_ascii() {
        ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
    } else {
        ABBREVIATIONS.contains(&word.to_lowercase().as_str())
    }
}

/// The next byte that may end a sentence (`.`, `!`, `?`, `|`, or the first byte of `؟` or
/// `…`), found by two searches of three bytes each; each is done again only once passed.
#[derive(Default)]
struct Marks {
    /// Per search: not done yet (`None`), or where it found its byte (`Some(None)`: nowhere
    /// before the paragraph's end).
    found: [Option<Option<usize>>; 2],
}

impl Marks {
    fn next(&mut self, bytes: &[u8], from: usize, end: usize) -> Option<usize> {
        const SETS: [[u8; 3]; 2] = [[b'.', b'!', b'?'], [b'|', 0xD8, 0xE2]];
        let mut next: Option<usize> = None;
        for (slot, [a, b, c]) in self.found.iter_mut().zip(SETS) {
            let passed = match *slot {
                None => true,
                Some(Some(p)) => p < from,
                Some(None) => false,
            };
            if passed {
                *slot = Some(memchr::memchr3(a, b, c, &bytes[from.min(end)..end]).map(|p| from + p));
            }
            if let Some(Some(p)) = *slot {
                next = Some(next.map_or(p, |n| n.min(p)));
            }
        }
        next
    }
}

/// Adds `text[start..end]` trimmed of whitespace and list markers, if anything is left.
fn push(text: &str, start: usize, end: usize, paragraph: u32, out: &mut Vec<Sentence>) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let mut s = start + lead;
    let trimmed = &text[s..end];
    for marker in ["- ", "• ", "* ", "– ", "— ", "· "] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            s = end - rest.len();
            break;
        }
    }
    let digits = text[s..end].bytes().take_while(u8::is_ascii_digit).count();
    if (1..=2).contains(&digits)
        && s + digits + 2 <= end
        && matches!(text.as_bytes()[s + digits], b'.' | b')')
        && text.as_bytes()[s + digits + 1] == b' '
    {
        s += digits + 2; // "1. ", "2) "
    }
    let e = s + text[s..end].trim_end().len();
    // A run-on "sentence" (a list, a table, text without full stops) is cut into pieces of at
    // most MAX_SENTENCE_BYTES at a clause or word boundary: extraction looks at a few words
    // around each tag, and a bounded sentence keeps its cost linear in the text.
    while e - s > MAX_SENTENCE_BYTES {
        let mut cut = s + MAX_SENTENCE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let window = &text[s..cut];
        let at = window
            .rfind([';', ','])
            .filter(|&p| p > MAX_SENTENCE_BYTES / 2)
            .or_else(|| window.rfind(char::is_whitespace).filter(|&p| p > MAX_SENTENCE_BYTES / 2))
            .map_or(cut, |p| s + p + 1);
        let piece_end = s + text[s..at].trim_end().len();
        if piece_end > s {
            out.push(Sentence { start: s, end: piece_end, paragraph });
        }
        s = at + (text[at..e].len() - text[at..e].trim_start().len());
    }
    if e > s {
        out.push(Sentence { start: s, end: e, paragraph });
    }
}

/// The longest sentence extraction reads as one: longer runs are cut at a clause or a word
/// boundary. Real sentences of news and coded event descriptions are far shorter (the longest
/// in the seeds is under 700 bytes).
pub const MAX_SENTENCE_BYTES: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<(&str, u32)> {
        let mut out = Vec::new();
        split(text, &mut out);
        out.iter().map(|s| (&text[s.start..s.end], s.paragraph)).collect()
    }

    #[test]
    fn paragraphs_and_sentences() {
        let text = "Title line\n\nFirst sentence. Second one!\nNew paragraph? Yes.";
        assert_eq!(
            sentences(text),
            [("Title line", 0), ("First sentence.", 1), ("Second one!", 1), ("New paragraph?", 2), ("Yes.", 2)]
        );
    }

    #[test]
    fn abbreviations_numbers_and_quotes() {
        let text = "The U.S. Army said Gen. Smith left at 9.00 PM. “It is over.” Then J. Doe spoke.";
        assert_eq!(
            sentences(text),
            [("The U.S. Army said Gen. Smith left at 9.00 PM.", 0), ("“It is over.”", 0), ("Then J. Doe spoke.", 0)]
        );
    }

    #[test]
    fn hard_wrapped_lines_continue_the_paragraph() {
        let text = "Strikes hit the town of\nHajin, killing three people, and\nwounding five.\nA new paragraph.";
        assert_eq!(
            sentences(text),
            [("Strikes hit the town of\nHajin, killing three people, and\nwounding five.", 0), ("A new paragraph.", 1)]
        );
    }

    #[test]
    fn list_items_and_french() {
        let text = "- 13 tués à Al-Mayadeen\n• Dix morts\n1. Un blessé\nL'OSDH a rapporté. M. Abdel Rahman a dit.";
        assert_eq!(
            sentences(text),
            [
                ("13 tués à Al-Mayadeen", 0),
                ("Dix morts", 1),
                ("Un blessé", 2),
                ("L'OSDH a rapporté.", 3),
                ("M. Abdel Rahman a dit.", 3)
            ]
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for text in ["", "\n\n\n", "...", "a.b.c", "؟؟", "…", "x. ", " | ", "é.É", "1.\n2."] {
            let mut out = Vec::new();
            split(text, &mut out);
            for s in out {
                assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            }
        }
    }
}
