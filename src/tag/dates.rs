//! Dates: month, weekday, relative and part-of-month words from the lexicon, assembled with the
//! numbers next to them: "February 22", "le 3 février", "Monday, October 19", "October 21,
//! 2020", "mid-October", "late 2019", "in 2017", "yesterday", "a day earlier".
//!
//! A date tag says what the text says, not which day it is: "yesterday" stays relative and
//! "on Monday" stays a weekday until extraction resolves them against the article's
//! publication date. Numbers that become part of a date are no longer numbers.

use crate::dictionary::{DateAnchor, DatePrecision, DateWord, EntryKind};

use super::{Tag, TagValue};

/// What a date tag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateValue {
    pub year: Option<i32>,
    pub month: Option<u8>,
    pub day: Option<u8>,
    /// ISO weekday, Monday = 1.
    pub weekday: Option<u8>,
    /// 1 early, 2 middle, 3 late.
    pub part: Option<u8>,
    /// Days from the anchor, for relative dates ("yesterday" = -1).
    pub relative_days: Option<i32>,
    pub anchor: Option<DateAnchor>,
    pub precision: DatePrecision,
}

impl DateValue {
    /// The date in ISO 8601 form as far as it is known: `2020-10-19`, `--10-19` (no year),
    /// `2021-02`, `--02`, `2019`; a weekday alone is its name, a relative date
    /// `relative:-1` (from publication) or `previous:-1` (from the last date mentioned).
    pub fn iso(&self) -> String {
        match (self.year, self.month, self.day) {
            (Some(y), Some(m), Some(d)) => format!("{y:04}-{m:02}-{d:02}"),
            (None, Some(m), Some(d)) => format!("--{m:02}-{d:02}"),
            (Some(y), Some(m), None) => format!("{y:04}-{m:02}"),
            (None, Some(m), None) => format!("--{m:02}"),
            (Some(y), None, _) => format!("{y:04}"),
            (None, None, _) => match (self.weekday, self.relative_days, self.anchor) {
                (Some(w), _, _) => WEEKDAYS[(w.clamp(1, 7) - 1) as usize].to_string(),
                (None, Some(days), Some(DateAnchor::Previous)) => format!("previous:{days}"),
                (None, Some(days), _) => format!("relative:{days}"),
                _ => "unknown".to_string(),
            },
        }
    }

    /// Appends [`DateValue::iso`] to `out`: the forms with a year, month or day digit by digit,
    /// the rest through [`DateValue::iso`] (a date tag's id and name both hold it, and in news
    /// text about one tag in ten is a date).
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        // A value past its width is written by the general form, as are the forms without digits.
        let y = self.year.filter(|y| (0..10_000).contains(y)).map(|y| y as u32);
        let (m, d) = (self.month.filter(|m| *m < 100).map(u32::from), self.day.filter(|d| *d < 100).map(u32::from));
        let fits =
            (self.year.is_some(), self.month.is_some(), self.day.is_some()) == (y.is_some(), m.is_some(), d.is_some());
        // Eight digits, zeros first: the parts side by side in one number (a year of four, a
        // month and a day of two each) fill the last of them.
        let digits = |v: u32| crate::json::padded_digits(v).to_le_bytes();
        match (y, m, d) {
            (Some(y), Some(m), Some(d)) if fits => out.extend_from_slice(&crate::json::iso_date(y, m, d)),
            (None, Some(m), Some(d)) if fits => {
                let w = digits(m * 100 + d);
                out.extend_from_slice(&[b'-', b'-', w[4], w[5], b'-', w[6], w[7]]);
            }
            (Some(y), Some(m), None) if fits => {
                let w = digits(y * 100 + m);
                out.extend_from_slice(&[w[2], w[3], w[4], w[5], b'-', w[6], w[7]]);
            }
            (None, Some(m), None) if fits => {
                let w = digits(m);
                out.extend_from_slice(&[b'-', b'-', w[6], w[7]]);
            }
            (Some(y), None, _) if fits => out.extend_from_slice(&digits(y)[4..]),
            _ => out.extend_from_slice(self.iso().as_bytes()),
        }
    }

    pub(crate) fn empty(precision: DatePrecision) -> Self {
        DateValue {
            year: None,
            month: None,
            day: None,
            weekday: None,
            part: None,
            relative_days: None,
            anchor: None,
            precision,
        }
    }
}

/// Assembles date tags from `words` and the `numbers` beside them (both in text order); removes
/// the numbers used. One pass over each list: a cursor walks the numbers as the words advance.
pub(crate) fn assemble(
    text: &str,
    lang_day_first: bool,
    words: &[(Tag, DateWord)],
    numbers: &mut Vec<Tag>,
    out: &mut Vec<Tag>,
) {
    let mut used_numbers = vec![false; numbers.len()];
    let mut used_words = vec![false; words.len()];

    let day_of = |t: &Tag| {
        t.number()
            .filter(|n| n.digits && !n.approximate && n.unit.is_none())
            .and_then(|n| n.as_count().filter(|v| (1..=31).contains(v)).map(|v| v as u8))
    };
    let year_of = |t: &Tag| {
        t.number()
            .filter(|n| n.digits && !n.ordinal && n.unit.is_none())
            .and_then(|n| n.as_count())
            .filter(|v| (1900..=2100).contains(v) && t.end - t.start == 4)
            .map(|v| v as i32)
    };
    // The number right after `pos` (positions never decrease within one pass).
    let after = |cursor: &mut usize, used: &[bool], pos: usize, gap: fn(&str) -> bool| -> Option<usize> {
        while *cursor < numbers.len() && numbers[*cursor].start < pos {
            *cursor += 1;
        }
        let n = numbers.get(*cursor)?;
        (!used[*cursor] && gap(&text[pos..n.start])).then_some(*cursor)
    };
    // The date word before word `i` that ends right before `pos` and is of the wanted kind.
    let word_before = |used: &[bool], i: usize, pos: usize, gap: fn(&str) -> bool, kind: fn(&DateWord) -> bool| {
        (i.saturating_sub(2)..i).rev().find(|&k| {
            let (t, w) = &words[k];
            !used[k] && t.end <= pos && kind(w) && gap(&text[t.end..pos])
        })
    };

    // Months, with their day, year, weekday and part.
    let mut cursor = 0;
    for (i, (tag, word)) in words.iter().enumerate() {
        let DateWord::Month(month) = *word else { continue };
        used_words[i] = true;
        let mut date = DateValue { month: Some(month), ..DateValue::empty(DatePrecision::Month) };
        let (mut start, mut end) = (tag.start, tag.end);
        let day_after = after(&mut cursor, &used_numbers, tag.end, spaces).filter(|&n| day_of(&numbers[n]).is_some());
        let day_before = || {
            let n = cursor.checked_sub(1)?;
            let ok = !used_numbers[n] && numbers[n].end <= tag.start && spaces_or_of(&text[numbers[n].end..tag.start]);
            (ok && day_of(&numbers[n]).is_some()).then_some(n)
        };
        if let Some(n) = day_after.or_else(day_before) {
            date.day = day_of(&numbers[n]);
            date.precision = DatePrecision::Day;
            used_numbers[n] = true;
            start = start.min(numbers[n].start);
            end = end.max(numbers[n].end);
        }
        if let Some(n) =
            after(&mut cursor, &used_numbers, end, spaces_or_comma).filter(|&n| year_of(&numbers[n]).is_some())
        {
            date.year = year_of(&numbers[n]);
            used_numbers[n] = true;
            end = numbers[n].end;
        }
        if let Some(w) = word_before(&used_words, i, start, spaces_or_comma, |w| matches!(w, DateWord::Weekday(_))) {
            if let DateWord::Weekday(d) = words[w].1 {
                date.weekday = Some(d);
            }
            used_words[w] = true;
            start = words[w].0.start;
        }
        if date.day.is_none()
            && let Some(w) = word_before(&used_words, i, start, spaces_or_hyphen, |w| matches!(w, DateWord::Part(_)))
        {
            if let DateWord::Part(p) = words[w].1 {
                date.part = Some(p);
            }
            used_words[w] = true;
            start = words[w].0.start;
        }
        out.push(date_tag(start, end, None, date));
    }

    // Parts of a year: "late 2019", "début 2021".
    let mut cursor = 0;
    for (i, (tag, word)) in words.iter().enumerate() {
        let DateWord::Part(part) = *word else { continue };
        if used_words[i] {
            continue;
        }
        if let Some(n) = after(&mut cursor, &used_numbers, tag.end, spaces).filter(|&n| year_of(&numbers[n]).is_some())
        {
            used_words[i] = true;
            used_numbers[n] = true;
            let date =
                DateValue { year: year_of(&numbers[n]), part: Some(part), ..DateValue::empty(DatePrecision::Year) };
            out.push(date_tag(tag.start, numbers[n].end, None, date));
        }
    }

    // Weekdays and relative words on their own.
    for (i, (tag, word)) in words.iter().enumerate() {
        if used_words[i] {
            continue;
        }
        let date = match *word {
            DateWord::Weekday(d) => DateValue { weekday: Some(d), ..DateValue::empty(DatePrecision::Day) },
            DateWord::Relative { days, anchor, precision } => {
                DateValue { relative_days: Some(days), anchor: Some(anchor), ..DateValue::empty(precision) }
            }
            DateWord::Month(_) | DateWord::Part(_) => continue,
        };
        used_words[i] = true;
        out.push(date_tag(tag.start, tag.end, tag.entry, date));
    }

    // Numeric dates: "2012-01-05" (ISO 8601), "01/05/2012" and "5/1/2012". With a slash the
    // order is that of the language when both fields could be a month: month first in English
    // (as wire services and coded data such as GTD write it), day first in French; a field over
    // 12 is the day whatever the language.
    for i in 0..numbers.len().saturating_sub(2) {
        if used_numbers[i..i + 3].iter().any(|u| *u) {
            continue;
        }
        let (a, b, c) = (&numbers[i], &numbers[i + 1], &numbers[i + 2]);
        let field =
            |t: &Tag| t.number().filter(|n| n.digits && !n.ordinal && n.unit.is_none()).and_then(|n| n.as_count());
        let (Some(x), Some(y), Some(z)) = (field(a), field(b), field(c)) else { continue };
        let (g1, g2) = (&text[a.end..b.start], &text[b.end..c.start]);
        let width = |t: &Tag| t.end - t.start;
        let ymd = if g1 == "-" && g2 == "-" && width(a) == 4 && width(b) == 2 && width(c) == 2 {
            Some((x, y, z))
        } else if g1 == "/" && g2 == "/" && width(c) == 4 && width(a) <= 2 && width(b) <= 2 {
            let day_first = x > 12 || (y <= 12 && lang_day_first);
            Some(if day_first { (z, y, x) } else { (z, x, y) })
        } else {
            None
        };
        let Some((year, month, day)) = ymd else { continue };
        if !(1900..=2100).contains(&year)
            || chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32).is_none()
        {
            continue;
        }
        used_numbers[i..i + 3].iter_mut().for_each(|u| *u = true);
        let date = DateValue {
            year: Some(year as i32),
            month: Some(month as u8),
            day: Some(day as u8),
            ..DateValue::empty(DatePrecision::Day)
        };
        out.push(date_tag(a.start, c.end, None, date));
    }

    // Years after "in", "since", "en", "depuis": "in 2017".
    for (i, n) in numbers.iter().enumerate() {
        if used_numbers[i] {
            continue;
        }
        let Some(year) = year_of(n) else { continue };
        let before = text[..n.start].trim_end().rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
        if ["in", "since", "until", "by", "en", "depuis", "jusqu", "of", "de"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(before))
        {
            used_numbers[i] = true;
            out.push(date_tag(
                n.start,
                n.end,
                None,
                DateValue { year: Some(year), ..DateValue::empty(DatePrecision::Year) },
            ));
        }
    }

    let mut i = 0;
    numbers.retain(|_| {
        i += 1;
        !used_numbers[i - 1]
    });
    out.sort_by_key(|t| t.start);
}

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn date_tag(start: usize, end: usize, entry: Option<u32>, date: DateValue) -> Tag {
    Tag { kind: EntryKind::Date, start, end, entry, alias: None, value: TagValue::Date(date) }
}

fn spaces(gap: &str) -> bool {
    gap.len() <= 3 && gap.chars().all(char::is_whitespace)
}

fn spaces_or_comma(gap: &str) -> bool {
    gap.len() <= 4
        && gap.chars().all(|c| c.is_whitespace() || c == ',')
        && gap.chars().filter(|&c| c == ',').count() <= 1
}

fn spaces_or_hyphen(gap: &str) -> bool {
    let g = gap.trim();
    gap.len() <= 6 && (g.is_empty() || g == "-" || g.eq_ignore_ascii_case("of"))
}

fn spaces_or_of(gap: &str) -> bool {
    let g = gap.trim();
    gap.len() <= 6 && (g.is_empty() || g.eq_ignore_ascii_case("of") || g.eq_ignore_ascii_case("de"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The digit-by-digit writer gives what the general form gives, for values in and past
        /// their widths and every combination of known parts.
        #[test]
        fn write_iso_writes_what_iso_gives(
            year in proptest::option::of(prop_oneof![0..10_000i32, -20..20i32, 9_990..100_000i32, Just(i32::MIN)]),
            month in proptest::option::of(prop_oneof![1..13u8, any::<u8>()]),
            day in proptest::option::of(prop_oneof![1..32u8, any::<u8>()]),
            weekday in proptest::option::of(1..8u8),
            relative_days in proptest::option::of(-40..40i32),
            previous in any::<bool>(),
        ) {
            let d = DateValue {
                year,
                month,
                day,
                weekday,
                part: None,
                relative_days,
                anchor: Some(if previous { DateAnchor::Previous } else { DateAnchor::Published }),
                precision: DatePrecision::Day,
            };
            let mut out = b"before".to_vec();
            d.write_iso(&mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("before{}", d.iso()));
        }
    }
}
