//! Country codes: the ISO 3166-1 alpha-2 list every country a dictionary names must come from,
//! since records carry them (`location.country`, two capital letters in the event schema) and
//! consumers join on them.
//!
//! The list is `src/eval/iso3166.tsv` (alpha-3, alpha-2, name), which `lexwire eval` reads too.
//! GeoNames' `XK` (Kosovo, a code ISO 3166 leaves to users and GeoNames assigns) is accepted as
//! well, so that a world dump loads whole.

use std::sync::OnceLock;

/// The ISO 3166-1 table: `alpha-3 <TAB> alpha-2 <TAB> name` lines, `#` comments.
pub(crate) const ISO3166_TSV: &str = include_str!("../eval/iso3166.tsv");

/// Codes outside ISO 3166-1 that GeoNames uses.
const GEONAMES_EXTRA: [&str; 1] = ["XK"];

/// Whether `code` is a country code lexwire accepts: two ASCII capital letters of ISO 3166-1
/// alpha-2 (or GeoNames' `XK`).
pub fn is_country_code(code: &str) -> bool {
    static KNOWN: OnceLock<[bool; 26 * 26]> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let mut known = [false; 26 * 26];
        let alpha2 = ISO3166_TSV.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split('\t').nth(1));
        for code in alpha2.chain(GEONAMES_EXTRA) {
            if let Some(i) = index(code) {
                known[i] = true;
            }
        }
        known
    });
    index(code).is_some_and(|i| known[i])
}

fn index(code: &str) -> Option<usize> {
    match code.as_bytes() {
        &[a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => Some(usize::from(a - b'A') * 26 + usize::from(b - b'A')),
        _ => None,
    }
}

/// Why `code` is not a country code, for messages.
pub(crate) fn country_error(code: &str) -> String {
    if index(code).is_none() {
        format!("country {code:?} is not a country code (two capital letters, ISO 3166-1 alpha-2)")
    } else {
        format!("country {code:?} is not an ISO 3166-1 alpha-2 code")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for ok in ["SY", "IQ", "US", "XK", "ZW", "AW"] {
            assert!(is_country_code(ok), "{ok}");
        }
        for bad in ["", "S", "S1", "sy", "SYR", "SYRIA", "XX", "ÉS", " SY"] {
            assert!(!is_country_code(bad), "{bad:?}");
        }
        assert_eq!(ISO3166_TSV.lines().filter(|l| !l.starts_with('#')).count(), 249);
    }
}
