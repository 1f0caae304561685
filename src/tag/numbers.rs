//! Numbers: in digits ("22", "20,000", "20 000", "٢٢") read from the original text, and in
//! words ("two", "twenty-two", "vingt et un", "two hundred", "dozens") from the lexicon's number
//! words, merged into one value.
//!
//! What is not a count is kept apart: clock times ("01:00", "05:30", "9.00 PM", "05h30") are not
//! numbers at all; a unit right after a number ("14 kilometres", "2 min read") is attached to it;
//! ordinals ("19th", "90ème") are marked. Deciding what a number counts is extraction's job.

use crate::dictionary::{EntryKind, Lang, NumberWord};

use super::{Tag, TagValue};

/// A number's value and what is known about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumberValue {
    pub value: f64,
    /// A vague quantity ("dozens" = 12, "several" = 3).
    pub approximate: bool,
    /// Written as an ordinal ("19th", "90ème").
    pub ordinal: bool,
    /// A unit that follows it (`unit:distance`, `unit:duration`...), as a dictionary entry.
    pub unit: Option<u32>,
    /// Written in digits (as opposed to words).
    pub digits: bool,
}

impl NumberValue {
    /// The value as an integer, when it is one.
    pub fn as_count(&self) -> Option<u64> {
        (self.value >= 0.0 && self.value.fract() == 0.0 && self.value < 1e15).then_some(self.value as u64)
    }
}

/// Every number of `text`, in text order: digits found here, and the number words the matcher
/// found, merged where they form one number. `tags` are the other tags, in text order (for units
/// that follow).
pub(crate) fn read_numbers(
    text: &str,
    lang: Lang,
    words: &[(Tag, NumberWord)],
    tags: &[Tag],
    tokens: &mut Vec<Token>,
    out: &mut Vec<Tag>,
) {
    tokens.clear();
    scan_digits(text, lang, tokens);
    if lang == Lang::Ar {
        scan_arabic_digits(text, tokens);
    }
    for (tag, word) in words {
        tokens.push(Token {
            start: tag.start,
            end: tag.end,
            value: word.value as f64,
            approximate: word.approximate,
            multiplier: word.multiplier,
            ordinal: false,
            digits: false,
            entry: tag.entry,
            alias: tag.alias,
        });
    }
    // Digits and words are each in text order; they interleave.
    tokens.sort_by_key(|t| t.start);
    let mut i = 0;
    let mut unit_cursor = 0;
    while i < tokens.len() {
        let mut j = i + 1;
        while j < tokens.len() && joins(text, &tokens[j - 1], &tokens[j], lang) {
            j += 1;
        }
        let group = &tokens[i..j];
        let mut value = compose(group);
        let first = &group[0];
        let last = &group[group.len() - 1];
        let approximate = group.iter().any(|t| t.approximate);
        if approximate && group.len() > 1 && group.iter().all(|t| t.approximate || t.multiplier) {
            value = group.iter().find(|t| t.approximate).map_or(value, |t| t.value);
        }
        // `tags` are in text order and so are the numbers: walk them together.
        while unit_cursor < tags.len() && tags[unit_cursor].start < last.end {
            unit_cursor += 1;
        }
        let unit = tags[unit_cursor..]
            .iter()
            .take(3)
            .find(|t| t.kind == EntryKind::Unit && is_gap(&text[last.end..t.start]))
            .and_then(|t| t.entry);
        let single_word = group.len() == 1 && !first.digits;
        out.push(Tag {
            kind: EntryKind::Number,
            start: first.start,
            end: last.end,
            entry: if single_word { first.entry } else { None },
            alias: if single_word { first.alias } else { None },
            value: TagValue::Number(NumberValue {
                value,
                approximate,
                ordinal: group.iter().any(|t| t.ordinal),
                unit,
                digits: group.iter().any(|t| t.digits),
            }),
        });
        i = j;
    }
}

/// A number or number word before merging; kept in [`super::Scratch`] between texts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    start: usize,
    end: usize,
    value: f64,
    approximate: bool,
    multiplier: bool,
    ordinal: bool,
    digits: bool,
    entry: Option<u32>,
    alias: Option<u32>,
}

/// Whether `b` continues the number that `a` ends: "twenty" + "two", "two" + "hundred",
/// "vingt" + "et" + "un", "20" + "thousand".
fn joins(text: &str, a: &Token, b: &Token, lang: Lang) -> bool {
    if b.start < a.end {
        return false;
    }
    let gap = text[a.end..b.start].trim_matches(|c: char| c.is_whitespace() || c == '-');
    let connector = if gap.is_empty() {
        false
    } else if gap.eq_ignore_ascii_case("and") || gap.eq_ignore_ascii_case("et") || gap == "و" {
        true
    } else {
        return false;
    };
    if text[a.end..b.start].len() > 6 || a.approximate && !b.multiplier {
        return false;
    }
    if b.multiplier {
        return !connector && (!a.multiplier || b.value > a.value) && !a.ordinal;
    }
    if b.digits || a.digits {
        return false;
    }
    if a.multiplier {
        return b.value < a.value;
    }
    let (x, y) = (a.value as u64, b.value as u64);
    match lang {
        // twenty-two, vingt-deux, vingt et un, soixante-dix, quatre-vingt-dix, dix-sept
        Lang::Fr => {
            (x >= 20 && x % 10 == 0 && (1..10).contains(&y) && (!connector || y == 1))
                || ((x == 60 || x == 80) && (10..20).contains(&y))
                || (x == 10 && (7..10).contains(&y) && !connector)
        }
        _ => x >= 20 && x % 10 == 0 && x < 100 && (1..10).contains(&y) && !connector,
    }
}

/// The value of a group of tokens that form one number.
fn compose(group: &[Token]) -> f64 {
    let (mut total, mut current) = (0.0, 0.0);
    for t in group {
        if t.multiplier {
            current = if current == 0.0 { 1.0 } else { current } * t.value;
            if t.value >= 1000.0 {
                total += current;
                current = 0.0;
            }
        } else {
            current += t.value;
        }
    }
    total + current
}

fn is_gap(s: &str) -> bool {
    s.len() <= 3 && s.chars().all(|c| c.is_whitespace() || c == '-')
}

/// Finds numbers written in ASCII digits.
fn scan_digits(text: &str, lang: Lang, out: &mut Vec<Token>) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(k) = next_digit(b, i) {
        let (end, token) = read_digit_token(text, k, lang);
        if let Some(token) = token {
            out.push(token);
        }
        i = end.max(k + 1);
    }
}

/// The position of the next ASCII digit at or after `from`, 16 bytes at a time.
fn next_digit(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(block) = b.get(from..from + 16) {
        if block.iter().fold(false, |acc, &c| acc | c.is_ascii_digit()) {
            break;
        }
        from += 16;
    }
    b.get(from..)?.iter().position(u8::is_ascii_digit).map(|p| from + p)
}

/// Reads the number starting at digit `k`; returns where scanning resumes and the number, if
/// it is one.
fn read_digit_token(text: &str, k: usize, lang: Lang) -> (usize, Option<Token>) {
    let b = text.as_bytes();
    let digits_from = |p: usize| b[p..].iter().take_while(|c| c.is_ascii_digit()).count();
    let prev = text[..k].chars().next_back();
    let mut j = k + digits_from(k);
    // Part of a word or a code ("T2", "F-16"): not a number. A range ("10-15") is two numbers.
    if prev.is_some_and(|c| c.is_alphabetic() || c == '-' && text[..k - 1].ends_with(char::is_alphabetic)) {
        return (skip_word(text, j), None);
    }
    let mut value: f64 = text[k..j].parse().unwrap_or(0.0);
    // Thousands separators: "20,000" (English), "20 000" / "20.000" (French).
    loop {
        let sep_len = match (lang, b.get(j)) {
            (Lang::Fr, Some(b' ' | b'.')) => 1,
            (Lang::Fr, Some(0xC2)) if b.get(j + 1) == Some(&0xA0) => 2,
            (Lang::Fr, Some(0xE2)) if b.get(j + 1) == Some(&0x80) && matches!(b.get(j + 2), Some(0xAF | 0x89)) => 3,
            (Lang::Fr, _) => 0,
            (_, Some(b',')) => 1,
            _ => 0,
        };
        if sep_len > 0 && digits_from_at(b, j + sep_len) == 3 {
            let group = &text[j + sep_len..j + sep_len + 3];
            value = value * 1000.0 + group.parse::<f64>().unwrap_or(0.0);
            j += sep_len + 3;
        } else {
            break;
        }
    }
    // A clock time: "01:00", "05h30", "9.00 pm".
    let next = b.get(j).copied();
    if next == Some(b':') && digits_from_at(b, j + 1) == 2 {
        return (j + 3, None);
    }
    if matches!(next, Some(b'h' | b'H')) && (digits_from_at(b, j + 1) == 2 || !is_word_byte(b.get(j + 1))) && j - k <= 2
    {
        return (j + 1 + digits_from_at(b, j + 1), None);
    }
    // Decimals: "1.5" (English), "2,5" (French).
    let decimal_mark = if lang == Lang::Fr { b',' } else { b'.' };
    if next == Some(decimal_mark) && digits_from_at(b, j + 1) > 0 {
        let d = digits_from_at(b, j + 1);
        let rest = text[j + d + 1..].trim_start();
        let lower = rest.get(..4).unwrap_or(rest).to_ascii_lowercase();
        if d == 2
            && (lower.starts_with("am")
                || lower.starts_with("pm")
                || lower.starts_with("a.m")
                || lower.starts_with("p.m"))
        {
            return (j + 1 + d, None);
        }
        let fraction: f64 = text[j..j + 1 + d].replace(',', ".").parse().unwrap_or(0.0);
        value += fraction;
        j += 1 + d;
    }
    // Ordinal suffixes; any other letters glued on make it a code ("3D", "4x4").
    let suffix_len = b[j..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let mut ordinal = false;
    let mut end = j;
    if suffix_len > 0 || text[j..].starts_with('è') {
        let word_end = skip_word(text, j);
        let suffixes = ["st", "nd", "rd", "th", "e", "er", "ere", "re", "eme", "ème", "ieme", "ième"];
        if crate::normalize::with_lowercase(&text[j..word_end], |suffix| suffixes.contains(&suffix)) {
            ordinal = true;
            end = word_end;
        } else {
            return (word_end, None);
        }
    }
    let token = Token {
        start: k,
        end,
        value,
        approximate: false,
        multiplier: false,
        ordinal,
        digits: true,
        entry: None,
        alias: None,
    };
    (end, Some(token))
}

fn digits_from_at(b: &[u8], p: usize) -> usize {
    b.get(p..).map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
}

fn is_word_byte(b: Option<&u8>) -> bool {
    b.is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
}

/// The end of the alphanumeric run starting at `from`.
fn skip_word(text: &str, from: usize) -> usize {
    text[from..].char_indices().find(|(_, c)| !c.is_alphanumeric()).map_or(text.len(), |(p, _)| from + p)
}

/// Finds numbers written in Arabic-Indic digits (٢٢, ۲۲).
fn scan_arabic_digits(text: &str, out: &mut Vec<Token>) {
    let digit = |c: char| match c {
        '٠'..='٩' => Some(c as u32 - 0x0660),
        '۰'..='۹' => Some(c as u32 - 0x06F0),
        _ => None,
    };
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let Some(d) = digit(c) else { continue };
        let mut value = d as f64;
        let mut end = start + c.len_utf8();
        while let Some(&(p, c)) = chars.peek() {
            let Some(d) = digit(c) else { break };
            value = value * 10.0 + d as f64;
            end = p + c.len_utf8();
            chars.next();
        }
        out.push(Token {
            start,
            end,
            value,
            approximate: false,
            multiplier: false,
            ordinal: false,
            digits: true,
            entry: None,
            alias: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str, lang: Lang) -> Vec<(String, f64, bool)> {
        let mut out = Vec::new();
        scan_digits(text, lang, &mut out);
        out.iter().map(|t| (text[t.start..t.end].to_string(), t.value, t.ordinal)).collect()
    }

    #[test]
    fn reads_digits_and_skips_what_is_not_a_count() {
        assert_eq!(digits("22 militiamen", Lang::En), [("22".into(), 22.0, false)]);
        assert_eq!(digits("at least 20,000 fighters", Lang::En), [("20,000".into(), 20000.0, false)]);
        assert_eq!(digits("au moins 20 000 combattants", Lang::Fr), [("20 000".into(), 20000.0, false)]);
        assert!(digits("at 01:00 am Syria time", Lang::En).is_empty());
        assert!(digits("exactly at 05:30", Lang::En).is_empty());
        assert!(digits("at around 9.00 PM on Monday", Lang::En).is_empty());
        assert!(digits("vers 05h30", Lang::Fr).is_empty());
        assert!(digits("the T2 station, F-16s", Lang::En).is_empty());
        assert_eq!(digits("the 90ème brigade", Lang::Fr), [("90ème".into(), 90.0, true)]);
        assert_eq!(digits("on October 19th", Lang::En), [("19th".into(), 19.0, true)]);
        assert_eq!(digits("1.5 million", Lang::En), [("1.5".into(), 1.5, false)]);
        assert_eq!(digits("10-15 killed", Lang::En), [("10".into(), 10.0, false), ("15".into(), 15.0, false)]);
    }

    #[test]
    fn finds_digits_past_16_byte_blocks() {
        let text = format!("{}7 dead", "x".repeat(37));
        assert!(digits(&text, Lang::En).is_empty(), "glued to a word");
        let text = format!("{} 7 dead", "x".repeat(37));
        assert_eq!(digits(&text, Lang::En), [("7".into(), 7.0, false)]);
    }
}
