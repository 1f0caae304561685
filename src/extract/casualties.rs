//! Fatalities and injured in one sentence, as `{best, low, high}` (ACLED/UCDP conventions).
//!
//! A number counts dead or wounded only when the sentence ties it to a casualty word:
//! - right after it: "killing two people", "the death of four militiamen", "blessant sept";
//! - after a revision cue: "the number of deaths ... has increased to 23 members" (revised);
//! - before it, counting people: "22 militiamen ... were killed", "13 members were killed",
//!   "two killed", "22 morts" — the number must be followed by a person word ("militiamen",
//!   "civilians") or an actor, or by the casualty word itself.
//!
//! So "20,000 fighters", "56 missiles", "14 kilometres", "400 fighters present", "three
//! trucks destroyed" and "at 01:00 am" never become casualties: no casualty word claims them, or
//! what follows them is not people, or they are not counts at all. A number after "including"
//! is a part of another ("23 members, including nine Syrians") and is skipped. "at least 22" is
//! best 22; "dozens" 12; "10-15" low 10, high 15, best 10 (the most conservative figure).

use serde::{Deserialize, Serialize};

use crate::dictionary::{CasualtyRole, CueKind, Detail, Dictionary, EntryKind, NegationKind};
use crate::tag::Tag;

/// A count with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub best: u64,
    pub low: u64,
    pub high: u64,
}

impl Count {
    pub fn exact(n: u64) -> Count {
        Count { best: n, low: n, high: n }
    }
}

/// What a sentence says about casualties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Casualties {
    pub fatalities: Option<Count>,
    pub injured: Option<Count>,
    /// A figure came with a revision cue ("increased to"): it replaces earlier ones.
    pub revised: bool,
    /// The sentence says the toll is not known ("no information").
    pub unknown: bool,
}

/// How many words (runs of letters or digits) `text` holds.
pub(crate) fn words(text: &str) -> usize {
    let mut n = 0;
    let mut in_word = false;
    for c in text.chars() {
        let w = c.is_alphanumeric();
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    n
}

/// Reads the casualties of one sentence from its tags (in text order).
pub fn read(dict: &Dictionary, text: &str, tags: &[&Tag]) -> Casualties {
    let mut out = Casualties::default();
    let cue = |t: &Tag, kind: CueKind| {
        t.kind == EntryKind::Cue && t.entry.is_some_and(|e| matches!(dict.entry(e).detail, Detail::Cue(k) if k == kind))
    };
    let is_count = |t: &Tag| {
        t.number().is_some_and(|n| n.unit.is_none() && !n.ordinal && n.as_count().is_some())
            && !(t.number().is_some_and(|n| n.digits) && is_year(text, t))
    };
    // A number right after "including": a part of another figure.
    let is_subset =
        |i: usize| i > 0 && cue(tags[i - 1], CueKind::Subset) && words(&text[tags[i - 1].end..tags[i].start]) <= 1;
    // People right after a number: a person word or an actor ("22 militiamen", "two people").
    let counts_people = |i: usize| {
        tags[i + 1..]
            .iter()
            .take(3)
            .any(|t| (cue(t, CueKind::Person) || t.kind == EntryKind::Actor) && words(&text[tags[i].end..t.start]) <= 2)
    };

    for (c, tag) in tags.iter().enumerate() {
        let role = match tag.entry.map(|e| &dict.entry(e).detail) {
            Some(Detail::Casualty(role)) => *role,
            Some(Detail::Negation(NegationKind::NoCasualties)) => {
                out.fatalities.get_or_insert(Count::exact(0));
                continue;
            }
            Some(Detail::Negation(NegationKind::NoInformation)) => {
                out.unknown = true;
                continue;
            }
            _ => continue,
        };
        let mut found: Option<(usize, bool)> = None;
        // Right before it: "22 morts", "two killed", "dozens of wounded", "une dizaine de blessés".
        if let Some(j) = c.checked_sub(1)
            && is_count(tags[j])
            && !is_subset(j)
            && matches!(text[tags[j].end..tag.start].trim(), "" | "of" | "de" | "d'" | "d’")
        {
            found = Some((j, false));
        }
        // Forward: "killing two people", "the death of four", up to a new clause.
        if found.is_none() {
            for (j, t) in tags.iter().enumerate().skip(c + 1) {
                let between = &text[tag.end..t.start];
                if t.kind == EntryKind::Casualty || words(between) > 4 || ends_clause(between) {
                    break;
                }
                // What it counts must be people, or nothing more ("the toll rose to 22.").
                if is_count(t) && !is_subset(j) && (counts_people(j) || ends_with_number(text, tags, j)) {
                    found = Some((j, false));
                    break;
                }
            }
        }
        // A revised toll: "deaths ... has increased to 23".
        if found.is_none()
            && let Some(r) = tags.iter().enumerate().skip(c + 1).find(|(_, t)| cue(t, CueKind::Revision))
        {
            found = tags
                .iter()
                .enumerate()
                .skip(r.0 + 1)
                .take(2)
                .find(|(j, t)| is_count(t) && words(&text[r.1.end..t.start]) <= 1 && !is_subset(*j))
                .map(|(j, _)| (j, true));
        }
        // Backward, counting people: "22 militiamen ... were killed", "13 members were killed".
        if found.is_none() {
            for j in (0..c).rev() {
                let t = tags[j];
                if t.kind == EntryKind::Casualty || words(&text[t.end..tag.start]) > 20 {
                    break;
                }
                if is_count(t) && !is_subset(j) && counts_people(j) {
                    found = Some((j, false));
                    break;
                }
            }
        }
        let Some((n, revised)) = found else { continue };
        let count = count_at(text, tags, n, is_count);
        let slot = match role {
            CasualtyRole::Fatality => &mut out.fatalities,
            CasualtyRole::Injury => &mut out.injured,
        };
        // Several figures for one role in a sentence: the revised one, else the largest (a
        // total and its parts: "23 ... 13 in Al-Mayadeen, ten in the countryside").
        let better = match slot {
            None => true,
            Some(old) => (revised && !out.revised) || (revised == out.revised && count.best > old.best),
        };
        if better {
            *slot = Some(count);
            out.revised |= revised;
        }
    }
    out
}

/// The count around number tag `n`: a range with the number next to it ("10-15", "between 10
/// and 15", "10 to 15"), else the number alone. The best figure of a range is its low end.
fn count_at(text: &str, tags: &[&Tag], n: usize, is_count: impl Fn(&Tag) -> bool) -> Count {
    let value = |t: &Tag| t.number().and_then(|v| v.as_count()).unwrap_or(0);
    let joined = |a: &Tag, b: &Tag| {
        matches!(text[a.end..b.start].trim(), "-" | "–" | "to" | "and" | "à" | "et" | "or" | "ou")
            && value(b) > value(a)
    };
    if let Some(next) = tags.get(n + 1)
        && is_count(next)
        && joined(tags[n], next)
    {
        return Count { best: value(tags[n]), low: value(tags[n]), high: value(next) };
    }
    if let Some(prev) = n.checked_sub(1).map(|p| tags[p])
        && is_count(prev)
        && joined(prev, tags[n])
    {
        return Count { best: value(prev), low: value(prev), high: value(tags[n]) };
    }
    Count::exact(value(tags[n]))
}

/// Whether number tag `j` ends its clause: nothing but punctuation, "others" or the end of the
/// sentence follows it.
fn ends_with_number(text: &str, tags: &[&Tag], j: usize) -> bool {
    let end = tags[j].end;
    let rest = &text[end..];
    let next_word = rest.trim_start_matches(|c: char| c.is_whitespace()).chars().next();
    matches!(next_word, None | Some('.' | ',' | ';' | ')' | ':'))
}

/// Whether `between` (the text between a casualty word and a number after it) starts another
/// clause: "22 morts et une dizaine de blessés".
fn ends_clause(between: &str) -> bool {
    between.contains([',', ';', ':', '('])
        || between.split_whitespace().any(|w| matches!(w, "and" | "et" | "while" | "but" | "mais"))
}

/// A four-digit number between 1900 and 2100 written without separators: a year.
fn is_year(text: &str, t: &Tag) -> bool {
    let s = &text[t.start..t.end];
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) && (1900..=2100).contains(&s.parse::<u32>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::AutomatonKind;
    use crate::tag::{Scratch, Tagger};
    use std::sync::{Arc, OnceLock};

    fn tagger() -> &'static Tagger {
        static T: OnceLock<Tagger> = OnceLock::new();
        T.get_or_init(|| Tagger::new(Arc::new(Dictionary::bundled().unwrap()), AutomatonKind::Dfa).unwrap())
    }

    fn casualties(text: &str) -> Casualties {
        let tagged = tagger().tag(text, None, &mut Scratch::new()).unwrap();
        let tags: Vec<&Tag> = tagged.tags.iter().collect();
        read(tagger().dictionary(), text, &tags)
    }

    #[test]
    fn counts_tied_to_casualty_words() {
        let c = casualties(
            "The raids targeted machinery, destroying three machines, killing two people and wounding seven others.",
        );
        assert_eq!((c.fatalities, c.injured), (Some(Count::exact(2)), Some(Count::exact(7))));
        let c = casualties(
            "22 militiamen of the Iraqi Hezbollah, mostly of the Iraqi Hezbollah, were killed in the US aerial attacks.",
        );
        assert_eq!(c.fatalities, Some(Count::exact(22)));
        let c = casualties("which resulted in the destruction of the shipment and the death of four militiamen.");
        assert_eq!(c.fatalities, Some(Count::exact(4)));
        let c =
            casualties("Targeting 27 positions | 23 members, including nine Syrians, killed in American airstrikes");
        assert_eq!(c.fatalities, Some(Count::exact(23)));
    }

    #[test]
    fn revised_tolls() {
        let c = casualties(
            "The number of deaths due to American airstrikes on positions in Deir Ezzor has increased to 23 members.",
        );
        assert_eq!((c.fatalities, c.revised), (Some(Count::exact(23)), true));
    }

    #[test]
    fn numbers_that_are_not_casualties() {
        for text in [
            "Iran has at least 20,000 Syrian and non-Syrian fighters spread over a geographic area.",
            "According to SOHR sources, the missiles, whose number reached 56, were brought in to Syria.",
            "Al-Mayadeen area, which is located 14 kilometres away from the US base.",
            "There are currently around 400 Iraqi Hezbollah fighters present in the Akashat area.",
            "It is worth noting that attack, which took place at 01:00 am Syria time, destroyed three trucks.",
            "The strikes targeted 27 positions.",
        ] {
            let c = casualties(text);
            assert_eq!((c.fatalities, c.injured), (None, None), "{text}");
        }
    }

    #[test]
    fn french_and_ranges_and_negations() {
        let c = casualties("Les frappes ont fait 22 morts et une dizaine de blessés.");
        assert_eq!(c.fatalities, Some(Count::exact(22)));
        assert_eq!(c.injured, Some(Count::exact(10)));
        let c = casualties("Between 10 and 15 people were killed.");
        assert_eq!(c.fatalities, Some(Count { best: 10, low: 10, high: 15 }));
        let c = casualties("The strike caused no casualties.");
        assert_eq!(c.fatalities, Some(Count::exact(0)));
        let c = casualties("Il n'y a encore aucune information sur l'ampleur des pertes humaines.");
        assert!(c.unknown && c.fatalities.is_none());
    }
}
