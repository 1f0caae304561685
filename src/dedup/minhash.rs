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
/// per article and per evidence sentence, with no allocation of their own. Written as the list
/// of hashes.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Sketch {
    len: u8,
    /// The first `len` are the hashes; the rest are 0.
    hashes: [u64; K],
}

impl Sketch {
    /// The sketch of one text.
    pub fn of(text: &str) -> Sketch {
        let mut b = SketchBuilder::default();
        b.add_text(text, &mut Normalized::new());
        b.finish()
    }

    /// A sketch from its hashes, which must be ascending, distinct and at most `K`.
    pub fn from_hashes(hashes: &[u64]) -> Result<Sketch, String> {
        if hashes.len() > K {
            return Err(format!("a sketch holds at most {K} hashes, not {}", hashes.len()));
        }
        if hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err("a sketch's hashes are ascending and distinct".into());
        }
        let mut sketch = Sketch { len: hashes.len() as u8, hashes: [0; K] };
        sketch.hashes[..hashes.len()].copy_from_slice(hashes);
        Ok(sketch)
    }

    pub fn hashes(&self) -> &[u64] {
        &self.hashes[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it holds all `K` hashes: a text with fewer shingles is too short to judge.
    pub fn is_full(&self) -> bool {
        self.len as usize == K
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
        self.hashes().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hashes = Vec::<u64>::deserialize(deserializer)?;
        Sketch::from_hashes(&hashes).map_err(serde::de::Error::custom)
    }
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
        let words: Vec<u64> = norm.as_bytes().split(|&b| b == b' ').filter(|w| !w.is_empty()).map(fnv1a).collect();
        match words.len() {
            0 => {}
            1 | 2 => self.add(mix(words.iter().fold(0, |h, &w| h.rotate_left(17) ^ w))),
            _ => {
                for w in words.windows(3) {
                    self.add(mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)));
                }
            }
        }
    }

    /// Adds one shingle by its hash (mixed here).
    pub fn add_hash(&mut self, h: u64) {
        self.add(mix(h));
    }

    fn add(&mut self, h: u64) {
        let len = self.mins.len as usize;
        let mins = &mut self.mins;
        if len == K && h >= mins.hashes[K - 1] {
            return;
        }
        if let Err(at) = mins.hashes[..len].binary_search(&h) {
            // Shift the larger ones up, the largest out when full.
            let end = len.min(K - 1);
            mins.hashes.copy_within(at..end, at + 1);
            mins.hashes[at] = h;
            mins.len = (len + 1).min(K) as u8;
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
    buckets: BTreeSet<(u64, Key)>,
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

    fn bucket(&self, h: u64) -> impl Iterator<Item = &Key> {
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
            let lists: Vec<Vec<u64>> = (0..2).map(|_| (0..next() % 16).map(|_| next()).collect()).collect();
            let sketches: Vec<Sketch> = lists
                .iter()
                .map(|l| {
                    let mut b = SketchBuilder::default();
                    l.iter().for_each(|&h| b.add(h));
                    b.finish()
                })
                .collect();
            let smallest = |l: &[u64]| {
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
        assert_eq!(json, serde_json::to_string(sketch.hashes()).unwrap());
        assert_eq!(serde_json::from_str::<Sketch>(&json).unwrap(), sketch);
        assert_eq!(serde_json::from_str::<Sketch>("[]").unwrap(), Sketch::default());
        for bad in ["[2,1]", "[1,1]", "[1,2,3,4,5,6,7,8,9]"] {
            assert!(serde_json::from_str::<Sketch>(bad).is_err(), "{bad}");
        }
    }
}
