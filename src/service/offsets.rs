//! Which input offsets may be committed: an offset is done when every record it caused has been
//! acknowledged by the broker, and the committable offset of a partition only moves past a
//! contiguous run of done offsets — so a commit never skips work still in flight.

use std::collections::{BTreeMap, HashMap};

type TopicPartition = (String, i32);

#[derive(Debug, Default)]
struct Partition {
    /// Offsets begun and not yet done, with the number of acknowledgements each awaits.
    pending: BTreeMap<i64, usize>,
    /// Offsets done while an earlier one is still pending.
    done: BTreeMap<i64, ()>,
    /// The next offset to commit (last contiguous done + 1), not yet handed out.
    ready: Option<i64>,
}

#[derive(Debug, Default)]
pub struct OffsetTracker {
    parts: HashMap<TopicPartition, Partition>,
}

impl OffsetTracker {
    /// A message at `offset` caused `outputs` records (0: done at once).
    pub fn begin(&mut self, topic: &str, partition: i32, offset: i64, outputs: usize) {
        let p = self.parts.entry((topic.to_string(), partition)).or_default();
        p.pending.insert(offset, outputs);
        if outputs == 0 {
            Self::finish(p, offset);
        }
    }

    /// One record caused by the message at `offset` was acknowledged.
    pub fn ack(&mut self, topic: &str, partition: i32, offset: i64) {
        let Some(p) = self.parts.get_mut(&(topic.to_string(), partition)) else { return };
        let Some(n) = p.pending.get_mut(&offset) else { return };
        *n = n.saturating_sub(1);
        if *n == 0 {
            Self::finish(p, offset);
        }
    }

    fn finish(p: &mut Partition, offset: i64) {
        p.done.insert(offset, ());
        // Advance over the contiguous prefix of done offsets.
        while let Some((&first, &n)) = p.pending.first_key_value() {
            if n != 0 || p.done.remove(&first).is_none() {
                break;
            }
            p.pending.pop_first();
            p.ready = Some(first + 1);
        }
    }

    /// The offsets to store since the last call: `(topic, partition, next offset)`.
    pub fn take_ready(&mut self) -> Vec<(String, i32, i64)> {
        let mut out: Vec<(String, i32, i64)> =
            self.parts.iter_mut().filter_map(|((t, p), part)| part.ready.take().map(|o| (t.clone(), *p, o))).collect();
        out.sort();
        out
    }

    /// Messages begun and not done, in all partitions or in those of `filter`.
    pub fn in_flight(&self, filter: impl Fn(&str, i32) -> bool) -> usize {
        self.parts.iter().filter(|((t, p), _)| filter(t, *p)).map(|(_, part)| part.pending.len()).sum()
    }

    /// Forgets a partition (revoked): what was not done will be redelivered to its next owner.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.parts.remove(&(topic.to_string(), partition));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_past_contiguous_done_offsets() {
        let mut t = OffsetTracker::default();
        t.begin("a", 0, 10, 2);
        t.begin("a", 0, 11, 0); // no output: done, but 10 is still pending
        t.begin("a", 0, 12, 1);
        assert!(t.take_ready().is_empty());
        t.ack("a", 0, 12);
        assert!(t.take_ready().is_empty(), "10 is not done");
        t.ack("a", 0, 10);
        assert!(t.take_ready().is_empty(), "10 awaits a second record");
        t.ack("a", 0, 10);
        assert_eq!(t.take_ready(), [("a".to_string(), 0, 13)]);
        assert_eq!(t.in_flight(|_, _| true), 0);
        assert!(t.take_ready().is_empty(), "handed out once");
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::default();
        t.begin("a", 0, 5, 1);
        t.begin("a", 1, 7, 0);
        assert_eq!(t.take_ready(), [("a".to_string(), 1, 8)]);
        assert_eq!(t.in_flight(|_, p| p == 0), 1);
        t.forget("a", 0);
        t.ack("a", 0, 5);
        assert!(t.take_ready().is_empty());
    }
}
