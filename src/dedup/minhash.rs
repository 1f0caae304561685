//! Near-duplicate fingerprints: a bottom-k MinHash sketch over the word 3-shingles of a text,
//! and an index that finds earlier sketches of similar texts.
//!
//! A sketch keeps the [`K`] smallest shingle hashes. The Jaccard similarity of two texts'
//! shingle sets is estimated from the `K` smallest hashes of the union of their sketches: the
//! share of those that both hold. A paragraph republished with a word or two changed ("trucks
//! used as camouflage were loaded" / "trucks were used as camouflage, were loaded") keeps most
//! of its shingles (similarity around 0.8); two reports of different events, even in the same
//! words of the same outlet, share few.
//!
//! The index files each sketch's key under its four smallest hashes: a text similar to a stored one
//! almost always shares one of them, so a lookup reads four buckets. Hashes are FNV-1a over
//! the normalized words, mixed: stable across runs and machines, since sketches are kept in the
//! state that survives restarts.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::normalize::Normalized;

/// How many hashes a sketch keeps.
pub const K: usize = 8;
/// How many of them the index files a sketch under.
const INDEXED: usize = 4;
/// At most this many keys per bucket: lookups and removals stay bounded however common a
/// shingle is.
const MAX_BUCKET: usize = 48;

/// The `K` smallest shingle hashes of a text, ascending, held inline: the dedup state keeps one
/// per article and per evidence sentence, with no allocation of their own.
///
/// A hash is the top 32 bits of the shingle's 64-bit hash: the order of hashes is theirs, so a
/// sketch keeps the same shingles, and two shingles of one text share 32 bits about once in four
/// billion pairs. Half the bytes of a 64-bit sketch in every article and evidence sentence kept.
/// Written as the list of hashes, each as the 64-bit number whose top half it is: a state saved
/// by a version that kept whole 64-bit hashes reads back as the sketch this one builds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sketch {
    /// The hashes, then [`UNUSED`] in the slots a short text leaves empty.
    hashes: [u32; K],
}

/// An empty slot of a sketch: no hash is this large ([`shingle_hash`]).
const UNUSED: u32 = u32::MAX;

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch { hashes: [UNUSED; K] }
    }
}

impl Sketch {
    /// The sketch of one text.
    pub fn of(text: &str) -> Sketch {
        let mut b = SketchBuilder::default();
        b.add_text(text, &mut Normalized::new());
        b.finish()
    }

    /// A sketch from its hashes, which must be ascending, distinct, at most `K` and below
    /// `u32::MAX`.
    pub fn from_hashes(hashes: &[u32]) -> Result<Sketch, String> {
        if hashes.len() > K {
            return Err(format!("a sketch holds at most {K} hashes, not {}", hashes.len()));
        }
        if hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err("a sketch's hashes are ascending and distinct".into());
        }
        if hashes.contains(&UNUSED) {
            return Err(format!("a sketch's hashes are below {UNUSED}"));
        }
        let mut sketch = Sketch::default();
        sketch.hashes[..hashes.len()].copy_from_slice(hashes);
        Ok(sketch)
    }

    pub fn hashes(&self) -> &[u32] {
        &self.hashes[..self.len()]
    }

    fn len(&self) -> usize {
        // Unused slots are the largest values, at the end.
        self.hashes.partition_point(|&h| h != UNUSED)
    }

    pub fn is_empty(&self) -> bool {
        self.hashes[0] == UNUSED
    }

    /// Whether it holds all `K` hashes: a text with fewer shingles is too short to judge.
    pub fn is_full(&self) -> bool {
        self.hashes[K - 1] != UNUSED
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets: the share of the `K`
    /// smallest hashes of their union that both hold (one merge of the two sorted lists).
    pub fn similarity(&self, other: &Sketch) -> f64 {
        let (a, b) = (self.hashes(), other.hashes());
        let (mut i, mut j, mut union, mut both) = (0, 0, 0, 0);
        while union < K && (i < a.len() || j < b.len()) {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    both += 1;
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x > y => j += 1,
                (Some(_), _) => i += 1,
                (None, _) => j += 1,
            }
            union += 1;
        }
        if union == 0 { 0.0 } else { both as f64 / union as f64 }
    }
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.hashes()).finish()
    }
}

impl Serialize for Sketch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for &h in self.hashes() {
            seq.serialize_element(&(u64::from(h) << 32))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = Vec::<u64>::deserialize(deserializer)?;
        if written.windows(2).any(|w| w[0] >= w[1]) {
            return Err(serde::de::Error::custom("a sketch's hashes are ascending and distinct"));
        }
        // Whole 64-bit hashes (saved by earlier versions) keep their top half, as a shingle's
        // hash does; two that share it are one.
        let mut hashes: Vec<u32> = written.iter().map(|&h| top_half(h)).collect();
        hashes.dedup();
        Sketch::from_hashes(&hashes).map_err(serde::de::Error::custom)
    }
}

/// A shingle's hash in a sketch: the top half of its 64-bit hash, below [`UNUSED`].
fn top_half(h: u64) -> u32 {
    ((h >> 32) as u32).min(UNUSED - 1)
}

/// Accumulates the shingles of one or more texts.
#[derive(Debug, Clone, Default)]
pub struct SketchBuilder {
    mins: Sketch,
}

impl SketchBuilder {
    /// Adds the word 3-shingles of `text` (a text of one or two words counts as one shingle).
    pub fn add_text(&mut self, text: &str, norm: &mut Normalized) {
        if norm.normalize(text).is_err() {
            return;
        }
        // The words' hashes as they come, three at a time (no list of them: a sketch is built
        // for every event an article reports).
        let mut words = norm.as_bytes().split(|&b| b == b' ').filter(|w| !w.is_empty()).map(fnv1a);
        let Some(first) = words.next() else { return };
        let Some(second) = words.next() else { return self.add_hash(first) };
        let Some(third) = words.next() else { return self.add_hash(first.rotate_left(17) ^ second) };
        let mut window = [first, second, third];
        loop {
            let [a, b, c] = window;
            self.add_hash(a ^ b.rotate_left(21) ^ c.rotate_left(42));
            match words.next() {
                Some(next) => window = [b, c, next],
                None => return,
            }
        }
    }

    /// Adds one shingle by its hash (mixed here).
    pub fn add_hash(&mut self, h: u64) {
        self.add(top_half(mix(h)));
    }

    fn add(&mut self, h: u32) {
        let hashes = &mut self.mins.hashes;
        // Unused slots hold the largest value: a smaller hash takes one (or the largest's).
        if h >= hashes[K - 1] {
            return;
        }
        if let Err(at) = hashes.binary_search(&h) {
            // Shift the larger ones up, the largest (or an unused slot) out.
            hashes.copy_within(at..K - 1, at + 1);
            hashes[at] = h;
        }
    }

    pub fn finish(self) -> Sketch {
        self.mins
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// A 64-bit finalizer (splitmix64): the order of a shingle's hash among others is random.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Keys of stored sketches, findable by similarity. The sketches themselves stay with their
/// owner (the dedup state's articles), which lends them to a lookup: the index holds only
/// (hash, key) pairs, four per sketch, in one B-tree.
#[derive(Debug, Clone)]
pub struct SketchIndex<Key> {
    buckets: BTreeSet<(u32, Key)>,
}

impl<Key> Default for SketchIndex<Key> {
    fn default() -> Self {
        SketchIndex { buckets: BTreeSet::new() }
    }
}

/// `Default` must be the least key: a bucket's entries start at `(hash, Key::default())`.
impl<Key: Clone + Ord + Default> SketchIndex<Key> {
    /// Files `key` under its sketch's smallest hashes (the caller removes what the key held
    /// before).
    pub fn insert(&mut self, key: Key, sketch: &Sketch) {
        for &h in sketch.hashes().iter().take(INDEXED) {
            // A shingle this common says nothing about which text is whose ("the Syrian
            // Observatory for"): its bucket stops growing, and lookups rely on the rarer ones.
            if self.bucket(h).nth(MAX_BUCKET - 1).is_none() {
                self.buckets.insert((h, key.clone()));
            }
        }
    }

    /// Removes `key`, filed with `sketch`.
    pub fn remove(&mut self, key: &Key, sketch: &Sketch) {
        for &h in sketch.hashes().iter().take(INDEXED) {
            self.buckets.remove(&(h, key.clone()));
        }
    }

    fn bucket(&self, h: u32) -> impl Iterator<Item = &Key> {
        self.buckets.range((h, Key::default())..).take_while(move |(x, _)| *x == h).map(|(_, k)| k)
    }

    /// The most similar stored key at or above `threshold`, among those `stored` lends a sketch
    /// for (`None`: not a candidate), with the rank that settles ties: the smallest rank wins,
    /// so the answer does not depend on insertion order (nor on how keys were handed out).
    pub fn most_similar<'s, Rank: Ord>(
        &self,
        sketch: &Sketch,
        threshold: f64,
        stored: impl Fn(&Key) -> Option<(&'s Sketch, Rank)>,
    ) -> Option<(Key, f64)> {
        let mut best: Option<(&Key, f64, Rank)> = None;
        // A key filed under several of the hashes is read once.
        let mut keys: Vec<&Key> = sketch.hashes().iter().take(INDEXED).flat_map(|&h| self.bucket(h)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let Some((other, rank)) = stored(key) else { continue };
            let s = other.similarity(sketch);
            let better = |(_, b, r): &(&Key, f64, Rank)| s > *b || s == *b && rank < *r;
            if s >= threshold && best.as_ref().is_none_or(better) {
                best = Some((key, s, rank));
            }
        }
        best.map(|(key, s, _)| (key.clone(), s))
    }

    /// How many (hash, key) entries the index holds.
    pub fn entries(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "A day earlier, three vegetables and fruit trucks used as camouflage were loaded with Iranian weapons \
                     and ammunition, which entered from an illegal crossing between Iraq and Syria near the village of \
                     Al-Abbas, which belongs to al-Jala area in the countryside of Albu Kamal city, east of Deir ez-Zor.";
    const B: &str = "A day earlier, three vegetables and fruit trucks were used as camouflage, were loaded with Iranian \
                     weapons and ammunition, which entered from an illegal crossing between Iraq and Syria near the \
                     village of Al-Abbas, which belongs to al-Jala area in the countryside of Albu Kamal city, east of \
                     Deir ez-Zor.";
    const C: &str = "On February 22, reliable sources informed SOHR that the Iranian-backed Afghani militia of Liwa \
                     Fatemiyoun brought in a new weapons shipment to its positions in west Euphrates region.";

    #[test]
    fn republished_paragraphs_are_similar_and_others_not() {
        let (a, b, c) = (Sketch::of(A), Sketch::of(B), Sketch::of(C));
        assert!(a.similarity(&b) >= 0.6, "{}", a.similarity(&b));
        assert!(a.similarity(&c) < 0.2, "{}", a.similarity(&c));
        assert_eq!(a.similarity(&a), 1.0);
        assert_eq!(Sketch::of(A), Sketch::of(A), "deterministic");
        assert!(Sketch::of("  ").is_empty());
    }

    #[test]
    fn the_index_finds_the_most_similar() {
        let stored = [("a", Sketch::of(A)), ("c", Sketch::of(C))];
        let of = |key: &&'static str| stored.iter().find(|(k, _)| k == key).map(|(k, s)| (s, *k));
        let mut index = SketchIndex::default();
        for (key, sketch) in &stored {
            index.insert(*key, sketch);
        }
        assert_eq!(index.most_similar(&Sketch::of(B), 0.6, of).map(|(k, _)| k), Some("a"));
        assert_eq!(index.most_similar(&Sketch::of(B), 0.6, |k| of(k).filter(|_| *k != "a")), None);
        index.remove(&"a", &stored[0].1);
        assert_eq!(index.most_similar(&Sketch::of(B), 0.6, of), None);
        assert_eq!(index.entries(), INDEXED, "c's four hashes");
    }

    #[test]
    fn a_common_shingle_files_at_most_a_bucket_of_keys() {
        let sketch = Sketch::of(A);
        let mut index = SketchIndex::default();
        for key in 0..2 * MAX_BUCKET as u32 {
            index.insert(key, &sketch);
        }
        assert_eq!(index.entries(), INDEXED * MAX_BUCKET);
        // The first keys filed answer; the smallest rank of equals wins.
        let by_key = |k: &u32| Some((&sketch, *k));
        assert_eq!(index.most_similar(&sketch, 0.6, by_key).map(|(k, _)| k), Some(0));
        index.remove(&0, &sketch);
        assert_eq!(index.most_similar(&sketch, 0.6, by_key).map(|(k, _)| k), Some(1));
        // The rank, not the key's order, settles a tie.
        let reversed = |k: &u32| Some((&sketch, std::cmp::Reverse(*k)));
        assert_eq!(index.most_similar(&sketch, 0.6, reversed).map(|(k, _)| k), Some(MAX_BUCKET as u32 - 1));
    }

    /// The sketch of a list of hashes and the similarity, as sorting the lists would give them.
    #[test]
    fn the_inline_sketch_is_the_sorted_list() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 40
        };
        for _ in 0..2000 {
            let lists: Vec<Vec<u32>> = (0..2).map(|_| (0..next() % 16).map(|_| next() as u32).collect()).collect();
            let sketches: Vec<Sketch> = lists
                .iter()
                .map(|l| {
                    let mut b = SketchBuilder::default();
                    l.iter().for_each(|&h| b.add(h));
                    b.finish()
                })
                .collect();
            let smallest = |l: &[u32]| {
                let mut l = l.to_vec();
                l.sort_unstable();
                l.dedup();
                l.truncate(K);
                l
            };
            for (l, sketch) in lists.iter().zip(&sketches) {
                assert_eq!(sketch.hashes(), smallest(l), "{l:?}");
            }
            let (a, b) = (smallest(&lists[0]), smallest(&lists[1]));
            let union = smallest(&[a.clone(), b.clone()].concat());
            let both = union.iter().filter(|h| a.contains(h) && b.contains(h)).count();
            let expected = if union.is_empty() { 0.0 } else { both as f64 / union.len() as f64 };
            assert_eq!(sketches[0].similarity(&sketches[1]), expected, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_sketch_is_written_as_its_hashes() {
        let sketch = Sketch::of(A);
        let json = serde_json::to_string(&sketch).unwrap();
        let wide: Vec<u64> = sketch.hashes().iter().map(|&h| u64::from(h) << 32).collect();
        assert_eq!(json, serde_json::to_string(&wide).unwrap());
        assert_eq!(serde_json::from_str::<Sketch>(&json).unwrap(), sketch);
        assert_eq!(serde_json::from_str::<Sketch>("[]").unwrap(), Sketch::default());
        let nine = serde_json::to_string(&(1..=9u64).map(|h| h << 32).collect::<Vec<_>>()).unwrap();
        for bad in ["[2,1]", "[1,1]", &nine, "[-1]"] {
            assert!(serde_json::from_str::<Sketch>(bad).is_err(), "{bad}");
        }
    }

    /// A state saved when sketches kept whole 64-bit hashes reads back as the sketch of the
    /// same text now: the same shingles, each by the top half of its hash.
    /// The shingles' whole 64-bit hashes of `text`, smallest first, as sketches once kept them:
    /// from the list of its words' hashes.
    fn wide_hashes(text: &str) -> Vec<u64> {
        let mut norm = Normalized::new();
        norm.normalize(text).unwrap();
        let words: Vec<u64> = norm.as_bytes().split(|&b| b == b' ').filter(|w| !w.is_empty()).map(fnv1a).collect();
        let mut wide: Vec<u64> = match words.len() {
            0 => Vec::new(),
            1 | 2 => vec![mix(words.iter().fold(0, |h, &w| h.rotate_left(17) ^ w))],
            _ => words.windows(3).map(|w| mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42))).collect(),
        };
        wide.sort_unstable();
        wide.dedup();
        wide.truncate(K);
        wide
    }

    #[test]
    fn a_sketch_of_64_bit_hashes_reads_back_as_todays() {
        for text in [A, B, C, "two words", "Airstrike"] {
            let saved = serde_json::to_string(&wide_hashes(text)).unwrap();
            assert_eq!(serde_json::from_str::<Sketch>(&saved).unwrap(), Sketch::of(text), "{text}");
        }
    }

    proptest::proptest! {
        /// A sketch holds the shingles of the list of its text's words, for texts of no word,
        /// one, two and many, with words repeated.
        #[test]
        fn a_sketch_holds_the_shingles_of_its_words(words in proptest::collection::vec("[a-d]{1,3}", 0..40)) {
            let text = words.join(" ");
            let saved = serde_json::to_string(&wide_hashes(&text)).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<Sketch>(&saved).unwrap(), Sketch::of(&text));
        }
    }
}
