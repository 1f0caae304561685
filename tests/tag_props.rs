//! Property tests of the whole tagger on hostile text: fragments of the seed articles mixed with
//! adversarial characters. Whatever the input, tagging does not panic, every span lies on
//! character boundaries and is non-empty, tags come in text order, and a tag's surface
//! normalizes to its alias.

mod common;

use lexwire::normalize::normalize_str;
use lexwire::tag::{Scratch, TagValue};
use proptest::prelude::*;

fn fragment() -> impl Strategy<Value = String> {
    let seeds: Vec<String> = common::seeds()
        .iter()
        .flat_map(|a| {
            a["text"].as_str().unwrap().split_inclusive(['.', ',', '\n']).map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    prop_oneof![
        6 => prop::sample::select(seeds),
        1 => "[\\PC]{0,12}",
        1 => prop::sample::select(vec![
            "\u{0301}".to_string(), "’".into(), "ـ".into(), "٢٢".into(), "01:00".into(), "20,000".into(),
            "  ".into(), "\n\n".into(), "ß".into(), "İ".into(), "\u{FEFF}".into(), "😀".into(), "-".into(),
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn tags_are_sound_on_any_text(parts in prop::collection::vec(fragment(), 0..40)) {
        let text: String = parts.concat();
        let tagger = common::tagger();
        let tagged = tagger.tag(&text, None, &mut Scratch::new()).unwrap();
        let mut last = 0;
        for t in &tagged.tags {
            prop_assert!(t.start < t.end && t.end <= text.len(), "span {}..{}", t.start, t.end);
            prop_assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
            prop_assert!(t.start >= last, "tags in text order");
            last = t.start;
            if let (Some(alias), TagValue::None) = (t.alias, &t.value) {
                let alias = &tagger.dictionary().aliases()[alias as usize];
                prop_assert_eq!(normalize_str(&text[t.start..t.end]), alias.normalized.to_string());
            }
        }
    }
}
