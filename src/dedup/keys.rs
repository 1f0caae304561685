//! What keeps the dedup state small: event ids as numbers in its indexes, and one shared copy of
//! each string its events repeat (type codes, place names, actor ids, outlets).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use foldhash::fast::FixedState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Coding, PlaceFacts};

/// An event id as a number. lexwire's ids are `ev_` and 16 lowercase hex digits: the number
/// orders as the id does, so indexes keyed by it keep the id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey(pub u64);

impl EventKey {
    const PREFIX: &'static str = "ev_";

    /// Appends the id as a JSON string: the prefix and the hex digits, nothing to escape.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(b'"');
        out.extend_from_slice(Self::PREFIX.as_bytes());
        out.extend((0..16).rev().map(|i| HEX[(self.0 >> (4 * i)) as usize & 0xf]));
        out.push(b'"');
    }

    /// The key of a lexwire event id; `None` for any other string.
    pub fn parse(id: &str) -> Option<EventKey> {
        let hex = id.strip_prefix(Self::PREFIX)?;
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex.len() != 16 || !hex.bytes().all(lower_hex) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok().map(EventKey)
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:016x}", Self::PREFIX, self.0)
    }
}

/// Written as the event id it stands for, as the state always was.
impl Serialize for EventKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        EventKey::parse(&id).ok_or_else(|| {
            serde::de::Error::custom(format!("{id:?} is not a lexwire event id (ev_ and 16 hex digits)"))
        })
    }
}

/// One copy of each string: events of one place, type or outlet share theirs. Strings no event
/// holds any more are dropped when the set has doubled since the last sweep, so the set stays
/// within twice what the live state uses.
#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Arc<str>, FixedState>,
    sweep_at: usize,
    /// The strings' total length, kept as they come and go: the estimate costs nothing.
    bytes: usize,
}

/// The set is swept no more often than every this many new strings.
const MIN_SWEEP: usize = 1024;

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        if self.strings.len() >= self.sweep_at {
            self.strings.retain(|x| Arc::strong_count(x) > 1);
            self.sweep_at = (2 * self.strings.len()).max(MIN_SWEEP);
            self.bytes = self.strings.iter().map(|x| x.len()).sum();
        }
        self.bytes += s.len();
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(shared.clone());
        shared
    }

    /// The shared copy of a string held elsewhere (one read back from saved state).
    pub fn share(&mut self, s: &mut Arc<str>) {
        *s = self.get(s);
    }

    /// The heap the set and its strings hold, in bytes (an estimate: an allocation costs the
    /// allocator 16 bytes beyond its own, an `Arc` two counts).
    pub fn memory_estimate(&self) -> usize {
        self.strings.capacity() * (std::mem::size_of::<Arc<str>>() + 1)
            + self.bytes
            + self.strings.len() * (2 * std::mem::size_of::<usize>() + 16)
    }
}

/// One copy of each place's facts: the events of a town share them. Facts no event holds any
/// more are dropped as the [`Interner`] drops strings.
#[derive(Debug, Default)]
pub struct SharedPlaces {
    by_id: HashMap<Arc<str>, Arc<PlaceFacts>, FixedState>,
    sweep_at: usize,
}

impl SharedPlaces {
    /// The shared copy of `facts`: the one held when equal, else `facts` (its strings shared),
    /// held from now on. A dictionary reload may change a place's facts: events made before
    /// keep theirs.
    pub fn share(&mut self, facts: &Arc<PlaceFacts>, strings: &mut Interner) -> Arc<PlaceFacts> {
        if let Some(held) = self.by_id.get(&*facts.place_id)
            && **held == **facts
        {
            return held.clone();
        }
        if self.by_id.len() >= self.sweep_at {
            self.by_id.retain(|_, p| Arc::strong_count(p) > 1);
            self.sweep_at = (2 * self.by_id.len()).max(MIN_SWEEP);
        }
        let mut own = PlaceFacts::clone(facts);
        for s in [&mut own.place_id, &mut own.name, &mut own.country, &mut own.feature_class] {
            strings.share(s);
        }
        for s in [&mut own.admin1, &mut own.admin1_name, &mut own.admin2, &mut own.admin2_name].into_iter().flatten() {
            strings.share(s);
        }
        let shared = Arc::new(own);
        self.by_id.insert(shared.place_id.clone(), shared.clone());
        shared
    }

    /// The heap the places hold beyond their strings, in bytes (an estimate, as
    /// [`Interner::memory_estimate`]).
    pub fn memory_estimate(&self) -> usize {
        self.by_id.capacity() * (std::mem::size_of::<(Arc<str>, Arc<PlaceFacts>)>() + 1)
            + self.by_id.len() * (std::mem::size_of::<PlaceFacts>() + 2 * std::mem::size_of::<usize>() + 16)
    }
}

/// One copy of each coding (type, family, dictionary version): the events of one type share it.
/// Codings no event holds any more are dropped as the [`Interner`] drops strings.
#[derive(Debug, Default)]
pub struct SharedCodings {
    codings: HashSet<Arc<Coding>, FixedState>,
    sweep_at: usize,
}

impl SharedCodings {
    /// The shared copy of the coding of these strings (shared by `strings`).
    pub fn get(
        &mut self,
        event_type: &str,
        family: &str,
        dictionary_version: &str,
        strings: &mut Interner,
    ) -> Arc<Coding> {
        let coding = Coding {
            event_type: strings.get(event_type),
            family: strings.get(family),
            dictionary_version: strings.get(dictionary_version),
        };
        if let Some(held) = self.codings.get(&coding) {
            return held.clone();
        }
        if self.codings.len() >= self.sweep_at {
            self.codings.retain(|c| Arc::strong_count(c) > 1);
            self.sweep_at = (2 * self.codings.len()).max(MIN_SWEEP);
        }
        let shared = Arc::new(coding);
        self.codings.insert(shared.clone());
        shared
    }

    /// The heap the codings hold beyond their strings, in bytes (an estimate, as
    /// [`Interner::memory_estimate`]).
    pub fn memory_estimate(&self) -> usize {
        self.codings.capacity() * (std::mem::size_of::<Arc<Coding>>() + 1)
            + self.codings.len() * (std::mem::size_of::<Coding>() + 2 * std::mem::size_of::<usize>() + 16)
    }
}

/// Small numbers for the remembered articles: an index entry names its article in 4 bytes,
/// where the id would take 16 (and be compared as a string). A handle is reused once its
/// article is forgotten, so the table stays as long as the most articles held at once.
#[derive(Debug, Default)]
pub struct ArticleHandles {
    ids: Vec<Option<Arc<str>>>,
    free: Vec<u32>,
}

impl ArticleHandles {
    /// A handle for `id`, until [`ArticleHandles::release`].
    pub fn acquire(&mut self, id: Arc<str>) -> u32 {
        if let Some(h) = self.free.pop() {
            self.ids[h as usize] = Some(id);
            return h;
        }
        // The caps on remembered articles keep far below this.
        let h = u32::try_from(self.ids.len()).expect("fewer than 2^32 articles remembered at once");
        self.ids.push(Some(id));
        h
    }

    pub fn release(&mut self, h: u32) {
        if let Some(slot) = self.ids.get_mut(h as usize)
            && slot.take().is_some()
        {
            self.free.push(h);
        }
    }

    /// The id of the article that holds `h`.
    pub fn id(&self, h: u32) -> Option<&Arc<str>> {
        self.ids.get(h as usize)?.as_ref()
    }

    /// The heap the table holds, in bytes (the ids are the interner's).
    pub fn memory_estimate(&self) -> usize {
        self.ids.capacity() * std::mem::size_of::<Option<Arc<str>>>() + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_order_as_their_ids() {
        let ids = ["ev_0000000000000000", "ev_00000000000000ff", "ev_0a00000000000000", "ev_ffffffffffffffff"];
        let keys: Vec<EventKey> = ids.iter().map(|id| EventKey::parse(id).expect("a lexwire id")).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(), ids);
        for not_ours in
            ["ev_", "ev_00000000000000FF", "ev_000000000000000", "ev_00000000000000000", "x_0000000000000000"]
        {
            assert_eq!(EventKey::parse(not_ours), None, "{not_ours}");
        }
        let json = serde_json::to_string(&keys[1]).unwrap();
        assert_eq!(json, "\"ev_00000000000000ff\"");
        assert_eq!(serde_json::from_str::<EventKey>(&json).unwrap(), keys[1]);
        assert!(serde_json::from_str::<EventKey>("\"event-1\"").unwrap_err().to_string().contains("event-1"));
    }

    #[test]
    fn article_handles_are_reused_once_released() {
        let mut handles = ArticleHandles::default();
        let (a, b) = (handles.acquire("a".into()), handles.acquire("b".into()));
        assert_ne!(a, b);
        assert_eq!(handles.id(a).map(|s| &**s), Some("a"));
        handles.release(a);
        handles.release(a);
        assert_eq!(handles.id(a), None);
        let c = handles.acquire("c".into());
        assert_eq!(c, a, "the freed handle is reused");
        assert_eq!(handles.acquire("d".into()), 2, "released twice, handed out once");
        assert_eq!(handles.id(b).map(|s| &**s), Some("b"));
    }

    #[test]
    fn strings_are_shared_and_the_unused_swept() {
        let mut interner = Interner::default();
        let a = interner.get("Aleppo");
        assert!(Arc::ptr_eq(&a, &interner.get("Aleppo")));
        for i in 0..3 * MIN_SWEEP {
            interner.get(&format!("gone {i}"));
        }
        assert!(interner.strings.len() <= 2 * MIN_SWEEP + 1, "{}", interner.strings.len());
        assert!(Arc::ptr_eq(&a, &interner.get("Aleppo")), "a string in use survives a sweep");
        // The running total is the strings' length.
        let held: usize = interner.strings.iter().map(|s| s.len()).sum();
        assert_eq!(interner.bytes, held);
    }

    #[test]
    fn equal_places_are_shared_and_a_changed_one_is_not() {
        let (mut places, mut strings) = (SharedPlaces::default(), Interner::default());
        let idlib = |lat: f64| {
            Arc::new(PlaceFacts {
                place_id: "geonames:163345".into(),
                name: "Idlib".into(),
                country: "SY".into(),
                admin1: Some("SY.09".into()),
                admin1_name: Some("Idlib".into()),
                admin2: None,
                admin2_name: None,
                lat,
                lon: 36.63,
                feature_class: "P".into(),
                level: crate::dictionary::PlaceLevel::Point,
            })
        };
        let first = places.share(&idlib(35.93), &mut strings);
        let again = places.share(&idlib(35.93), &mut strings);
        assert!(Arc::ptr_eq(&first, &again));
        assert!(Arc::ptr_eq(&first.name, &first.admin1_name.clone().unwrap()), "strings are shared too");
        // A reloaded dictionary moved the point: new events get the new facts, old ones keep theirs.
        let moved = places.share(&idlib(35.94), &mut strings);
        assert!(!Arc::ptr_eq(&first, &moved));
        assert_eq!((first.lat, moved.lat), (35.93, 35.94));
        assert!(Arc::ptr_eq(&moved, &places.share(&idlib(35.94), &mut strings)));
    }
}
