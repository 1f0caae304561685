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

/// The `K` smallest shingle hashes of a text, ascending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sketch(pub Vec<u64>);

impl Sketch {
    /// The sketch of one text.
    pub fn of(text: &str) -> Sketch {
        let mut b = SketchBuilder::default();
        b.add_text(text, &mut Normalized::new());
        b.finish()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether it holds all `K` hashes: a text with fewer shingles is too short to judge.
    pub fn is_full(&self) -> bool {
        self.0.len() == K
    }

    /// The sketch of the union of two texts' shingles (exact for bottom-k sketches).
    pub fn union(&self, other: &Sketch) -> Sketch {
        let mut all: Vec<u64> = self.0.iter().chain(&other.0).copied().collect();
        all.sort_unstable();
        all.dedup();
        all.truncate(K);
        Sketch(all)
    }

    /// The estimated Jaccard similarity of the two texts' shingle sets.
    pub fn similarity(&self, other: &Sketch) -> f64 {
        let mut union: Vec<u64> = self.0.iter().chain(&other.0).copied().collect();
        union.sort_unstable();
        union.dedup();
        union.truncate(K);
        if union.is_empty() {
            return 0.0;
        }
        let both = union.iter().filter(|h| self.0.binary_search(h).is_ok() && other.0.binary_search(h).is_ok()).count();
        both as f64 / union.len() as f64
    }
}

/// Accumulates the shingles of one or more texts.
#[derive(Debug, Clone, Default)]
pub struct SketchBuilder {
    mins: Vec<u64>,
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
        if self.mins.len() == K && h >= self.mins[K - 1] {
            return;
        }
        if let Err(at) = self.mins.binary_search(&h) {
            self.mins.insert(at, h);
            self.mins.truncate(K);
        }
    }

    pub fn finish(self) -> Sketch {
        Sketch(self.mins)
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
        for &h in sketch.0.iter().take(INDEXED) {
            // A shingle this common says nothing about which text is whose ("the Syrian
            // Observatory for"): its bucket stops growing, and lookups rely on the rarer ones.
            if self.bucket(h).nth(MAX_BUCKET - 1).is_none() {
                self.buckets.insert((h, key.clone()));
            }
        }
    }

    /// Removes `key`, filed with `sketch`.
    pub fn remove(&mut self, key: &Key, sketch: &Sketch) {
        for &h in sketch.0.iter().take(INDEXED) {
            self.buckets.remove(&(h, key.clone()));
        }
    }

    fn bucket(&self, h: u64) -> impl Iterator<Item = &Key> {
        self.buckets.range((h, Key::default())..).take_while(move |(x, _)| *x == h).map(|(_, k)| k)
    }

    /// The most similar stored key at or above `threshold`, among those `stored` lends a sketch
    /// for (`None`: not a candidate); ties go to the smallest key, so the answer does not depend
    /// on insertion order.
    pub fn most_similar<'s>(
        &self,
        sketch: &Sketch,
        threshold: f64,
        stored: impl Fn(&Key) -> Option<&'s Sketch>,
    ) -> Option<(Key, f64)> {
        let mut best: Option<(Key, f64)> = None;
        let mut seen: Vec<&Key> = Vec::new();
        for &h in sketch.0.iter().take(INDEXED) {
            for key in self.bucket(h) {
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let Some(other) = stored(key) else { continue };
                let s = other.similarity(sketch);
                let better = match &best {
                    None => true,
                    Some((k, b)) => s > *b || s == *b && key < k,
                };
                if s >= threshold && better {
                    best = Some((key.clone(), s));
                }
            }
        }
        best
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
        let of = |key: &&str| stored.iter().find(|(k, _)| k == key).map(|(_, s)| s);
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
        // The first keys filed answer; the smallest of equals wins.
        assert_eq!(index.most_similar(&sketch, 0.6, |_| Some(&sketch)).map(|(k, _)| k), Some(0));
        index.remove(&0, &sketch);
        assert_eq!(index.most_similar(&sketch, 0.6, |_| Some(&sketch)).map(|(k, _)| k), Some(1));
    }
}
