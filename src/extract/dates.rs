//! Resolving what a date tag says ("February 22", "on Monday", "yesterday", "a day earlier",
//! "in mid-October") into a calendar date with a precision, against the article's publication
//! date and the last date the text mentioned.
//!
//! A date without a year is in the publication year, or the year before when that would put
//! it after publication. A weekday is the latest such day on or before publication. "mid-"
//! means the 15th ("early" the 5th, "late" the 25th) at week precision; a month alone is its
//! 15th at month precision (a central estimate: identity matching uses the whole month).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::dictionary::{DateAnchor, DatePrecision};
use crate::tag::DateValue;

/// A calendar date and how precise it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedDate {
    pub date: NaiveDate,
    pub precision: DatePrecision,
}

impl ResolvedDate {
    pub fn day(date: NaiveDate) -> Self {
        ResolvedDate { date, precision: DatePrecision::Day }
    }

    /// The days this date may stand for: one day, the week ending on it, its month, its year.
    pub fn range(&self) -> (NaiveDate, NaiveDate) {
        let d = self.date;
        match self.precision {
            DatePrecision::Day => (d, d),
            DatePrecision::Week => (d - Days::new(6), d),
            DatePrecision::Month => {
                let first = d.with_day(1).unwrap_or(d);
                let next = if d.month() == 12 {
                    NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
                };
                (first, next.map_or(d, |n| n - Days::new(1)))
            }
            DatePrecision::Year => (
                NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
                NaiveDate::from_ymd_opt(d.year(), 12, 31).unwrap_or(d),
            ),
        }
    }

    /// Whether two dates can be the same event's: their ranges overlap or are at most
    /// `slack_days` apart.
    pub fn compatible(&self, other: &ResolvedDate, slack_days: u64) -> bool {
        let (a0, a1) = self.range();
        let (b0, b1) = other.range();
        a0 <= b1 + Days::new(slack_days) && b0 <= a1 + Days::new(slack_days)
    }

    /// Days between the middles of the two ranges (for choosing the closest event).
    pub fn distance_days(&self, other: &ResolvedDate) -> i64 {
        let mid = |r: (NaiveDate, NaiveDate)| r.0 + Days::new(((r.1 - r.0).num_days() / 2) as u64);
        (mid(self.range()) - mid(other.range())).num_days().abs()
    }
}

/// Resolves a date tag. `previous` is the last date resolved earlier in the text, the anchor of
/// "a day earlier". `None` when the tag says too little (a part of nothing) or the date does
/// not exist ("February 30").
pub fn resolve(value: &DateValue, published: NaiveDate, previous: Option<NaiveDate>) -> Option<ResolvedDate> {
    // A date records cannot carry (RFC 3339 years 0001-9999: "last December" read in January of
    // year 1) is no date.
    resolve_any(value, published, previous)
        .filter(|r| (crate::article::first_date()..=crate::article::last_date()).contains(&r.date))
}

fn resolve_any(value: &DateValue, published: NaiveDate, previous: Option<NaiveDate>) -> Option<ResolvedDate> {
    let year_for = |month: u32, day: u32| -> i32 {
        let y = published.year();
        match NaiveDate::from_ymd_opt(y, month, day.min(28)) {
            // A date after publication (with a day of slack for time zones) is last year's.
            Some(d) if d > published + Days::new(1) => y - 1,
            _ => y,
        }
    };
    match (value.year, value.month, value.day) {
        (year, Some(month), Some(day)) => {
            let y = year.unwrap_or_else(|| year_for(month as u32, day as u32));
            NaiveDate::from_ymd_opt(y, month as u32, day as u32).map(ResolvedDate::day)
        }
        (year, Some(month), None) => {
            let (day, precision) = match value.part {
                Some(1) => (5, DatePrecision::Week),
                Some(2) => (15, DatePrecision::Week),
                Some(3) => (25, DatePrecision::Week),
                _ => (15, DatePrecision::Month),
            };
            let y = year.unwrap_or_else(|| year_for(month as u32, 1));
            NaiveDate::from_ymd_opt(y, month as u32, day).map(|date| ResolvedDate { date, precision })
        }
        (Some(year), None, _) => {
            let month = match value.part {
                Some(1) => 3,
                Some(3) => 11,
                _ => 7,
            };
            NaiveDate::from_ymd_opt(year, month, 1).map(|date| ResolvedDate { date, precision: DatePrecision::Year })
        }
        (None, None, _) => {
            if let Some(w) = value.weekday {
                let target = weekday(w)?;
                let back = (published.weekday().num_days_from_monday() + 7 - target.num_days_from_monday()) % 7;
                return Some(ResolvedDate::day(published - Days::new(back as u64)));
            }
            let days = value.relative_days?;
            let anchor = match value.anchor {
                Some(DateAnchor::Previous) => previous.unwrap_or(published),
                _ => published,
            };
            let date = if days >= 0 {
                anchor.checked_add_days(Days::new(days as u64))?
            } else {
                anchor.checked_sub_days(Days::new(days.unsigned_abs() as u64))?
            };
            Some(ResolvedDate { date, precision: value.precision })
        }
    }
}

fn weekday(iso: u8) -> Option<Weekday> {
    Some(match iso {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        7 => Weekday::Sun,
        _ => return None,
    })
}

/// Parses a publication time: strict RFC 3339 (`2021-02-26T08:00:00Z`, the date part is taken
/// in UTC, or a full-date `2021-02-26`), years 0001 to 9999 — see
/// [`crate::article::parse_published_at`], which decoding already applied.
pub fn parse_published(s: &str) -> Option<NaiveDate> {
    crate::article::parse_published_at(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn value() -> DateValue {
        DateValue::empty(DatePrecision::Day)
    }

    #[test]
    fn month_and_day_take_the_publication_year_or_the_one_before() {
        let v = DateValue { month: Some(2), day: Some(22), ..value() };
        assert_eq!(resolve(&v, d(2021, 2, 26), None), Some(ResolvedDate::day(d(2021, 2, 22))));
        let v = DateValue { month: Some(12), day: Some(30), ..value() };
        assert_eq!(resolve(&v, d(2021, 1, 2), None), Some(ResolvedDate::day(d(2020, 12, 30))));
        let v = DateValue { month: Some(2), day: Some(30), ..value() };
        assert_eq!(resolve(&v, d(2021, 3, 2), None), None);
    }

    #[test]
    fn weekdays_and_relative_dates() {
        // 2020-10-21 is a Wednesday: "on Monday" is the 19th.
        let monday = DateValue { weekday: Some(1), ..value() };
        assert_eq!(resolve(&monday, d(2020, 10, 21), None), Some(ResolvedDate::day(d(2020, 10, 19))));
        let yesterday = DateValue { relative_days: Some(-1), anchor: Some(DateAnchor::Published), ..value() };
        assert_eq!(resolve(&yesterday, d(2021, 2, 26), None), Some(ResolvedDate::day(d(2021, 2, 25))));
        let earlier = DateValue { relative_days: Some(-1), anchor: Some(DateAnchor::Previous), ..value() };
        assert_eq!(resolve(&earlier, d(2021, 2, 26), Some(d(2021, 2, 20))), Some(ResolvedDate::day(d(2021, 2, 19))));
    }

    #[test]
    fn parts_of_months_and_ranges() {
        let mid = DateValue { month: Some(10), part: Some(2), ..value() };
        let r = resolve(&mid, d(2020, 10, 21), None).unwrap();
        assert_eq!(r, ResolvedDate { date: d(2020, 10, 15), precision: DatePrecision::Week });
        let feb = ResolvedDate { date: d(2021, 2, 15), precision: DatePrecision::Month };
        assert_eq!(feb.range(), (d(2021, 2, 1), d(2021, 2, 28)));
        assert!(feb.compatible(&ResolvedDate::day(d(2021, 3, 1)), 1));
        assert!(!feb.compatible(&ResolvedDate::day(d(2021, 3, 2)), 1));
    }

    #[test]
    fn publication_times() {
        assert_eq!(parse_published("2021-02-26T00:00:00Z"), Some(d(2021, 2, 26)));
        assert_eq!(parse_published("2021-02-26T01:30:00+03:00"), Some(d(2021, 2, 25)));
        assert_eq!(parse_published("2021-02-26"), Some(d(2021, 2, 26)));
        assert_eq!(parse_published("yesterday"), None);
        // Only what RFC 3339 allows, and only years records can carry.
        for bad in ["2021-02-23T25:00:00Z", "-2021-02-23", "2021-02-30", "1613030400", " 2021-02-26", "0000-02-11"] {
            assert_eq!(parse_published(bad), None, "{bad}");
        }
        let yesterday = DateValue { relative_days: Some(-1), anchor: Some(DateAnchor::Published), ..value() };
        assert_eq!(resolve(&yesterday, d(1, 1, 1), None), None);
    }
}
