//! Phrases of strategic developments whose words are split by others, which the matcher (whole,
//! contiguous aliases) cannot see: "declared a coronavirus lockdown", "announced a 24-hour
//! curfew", "coalition reinforcements, including six armoured vehicles, reached the base",
//! "a décrété un confinement total". A first word, then a second within a few words, in one
//! sentence; the pair names an ACLED type (a change to a group's activity, a deployment).

use super::fire::words_with_offsets;

/// One split phrase: the first word (any of), the second (any of), at most `gap` words between,
/// and the taxonomy code of the event it tells.
struct SplitPhrase {
    first: &'static [&'static str],
    second: &'static [&'static str],
    gap: usize,
    code: &'static str,
}

const PHRASES: &[SplitPhrase] = &[
    // Security measures: a curfew or lockdown imposed.
    SplitPhrase {
        first: &["declared", "announced", "imposed", "instituted", "enforced", "enforcing", "extended", "decreed"],
        second: &["lockdown", "curfew", "curfews", "lockdowns"],
        gap: 3,
        code: "change_to_group",
    },
    SplitPhrase {
        first: &["décrété", "imposé", "annoncé", "instauré", "prolongé", "décrète", "impose", "instaure"],
        second: &["confinement", "couvre"],
        gap: 3,
        code: "change_to_group",
    },
    // Reinforcements told as arriving or sent.
    SplitPhrase {
        first: &["reinforcements"],
        second: &["arrived", "reached", "deployed", "dispatched"],
        gap: 10,
        code: "reinforcement",
    },
    SplitPhrase {
        first: &["renforts"],
        second: &["arrivés", "arrivé", "dépêchés", "déployés", "envoyés"],
        gap: 8,
        code: "reinforcement",
    },
];

/// The first split phrase of `sentence` (the text of one sentence): the byte span, relative to
/// the sentence, from its first word to its second, and the taxonomy code it names.
pub fn find(sentence: &str) -> Option<((usize, usize), &'static str)> {
    // Most sentences hold none of the nouns: a substring test (their first letter left out, so
    // that case does not matter) spares them the word split.
    const NOUNS: [&str; 6] = ["ockdown", "urfew", "einforcements", "onfinement", "ouvre", "enforts"];
    if !NOUNS.iter().any(|n| sentence.contains(n)) {
        return None;
    }
    let words: Vec<(usize, &str)> = words_with_offsets(sentence).collect();
    let is = |w: &str, list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(w));
    for (i, &(at, w)) in words.iter().enumerate() {
        for p in PHRASES {
            if !is(w, p.first) {
                continue;
            }
            if let Some(&(end_at, end_w)) = words[i + 1..].iter().take(p.gap + 1).find(|(_, x)| is(x, p.second)) {
                return Some(((at, end_at + end_w.len()), p.code));
            }
        }
    }
    None
}
