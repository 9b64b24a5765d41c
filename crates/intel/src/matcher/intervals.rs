//! IPv4 networks as a sorted list of disjoint address intervals, for the compiled base.
//!
//! Probing one hash table per prefix length in use costs up to 31 probes per address when a feed
//! mixes many lengths. Flattening the (possibly nested) networks into disjoint intervals, each
//! listing the networks that cover it (longest prefix first), turns that into one binary search
//! over a dense `u32` array: a miss touches a few cache lines, a hit then probes only the networks
//! that really contain the address. The list is built when a generation is compiled; the live
//! delta keeps the per-length probing, which is cheap while it is small.

/// The interval list (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Intervals {
    /// Start address of each interval; interval `i` ends where `i + 1` starts.
    starts: Vec<u32>,
    /// End offset in `covers` of interval `i`'s networks (its start is interval `i - 1`'s end).
    ends: Vec<u32>,
    /// Network keys (`network << 8 | prefix_len`), longest prefix first within an interval.
    covers: Vec<u64>,
}

impl Intervals {
    /// Builds the list from network keys (`network << 8 | prefix_len`, network already masked).
    pub(crate) fn build(keys: impl Iterator<Item = u64>) -> Intervals {
        // (position, is_start, key); ends are exclusive, so u64 positions cover 2^32.
        let mut events: Vec<(u64, bool, u64)> = Vec::new();
        for key in keys {
            let len = (key & 0xff) as u32;
            let net = key >> 8;
            let size = 1u64 << (32 - len.min(32));
            events.push((net, true, key));
            events.push((net + size, false, key));
        }
        events.sort_unstable();
        let mut out = Intervals::default();
        let mut active: Vec<u64> = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let pos = events[i].0;
            while i < events.len() && events[i].0 == pos {
                let (_, is_start, key) = events[i];
                if is_start {
                    active.push(key);
                } else if let Some(at) = active.iter().position(|&k| k == key) {
                    active.swap_remove(at);
                }
                i += 1;
            }
            let Ok(start) = u32::try_from(pos) else {
                break; // 2^32: past the last address.
            };
            active.sort_unstable_by_key(|&k| std::cmp::Reverse(k & 0xff));
            out.starts.push(start);
            out.covers.extend_from_slice(&active);
            out.ends.push(out.covers.len() as u32);
        }
        out.starts.shrink_to_fit();
        out.ends.shrink_to_fit();
        out.covers.shrink_to_fit();
        out
    }

    /// The keys of the networks containing `addr`, longest prefix first.
    #[inline]
    pub(crate) fn covering(&self, addr: u32) -> &[u64] {
        let i = self.starts.partition_point(|&s| s <= addr);
        if i == 0 {
            return &[];
        }
        let from = if i >= 2 { self.ends[i - 2] as usize } else { 0 };
        let to = self.ends[i - 1] as usize;
        self.covers.get(from..to).unwrap_or(&[])
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.starts.capacity() * 4 + self.ends.capacity() * 4 + self.covers.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(net: [u8; 4], len: u64) -> u64 {
        (u64::from(u32::from_be_bytes(net)) << 8) | len
    }

    #[test]
    fn nested_and_adjacent_networks() {
        let a = key([10, 0, 0, 0], 8);
        let b = key([10, 1, 0, 0], 16);
        let c = key([10, 1, 2, 0], 24);
        let d = key([11, 0, 0, 0], 8);
        let all = key([0, 0, 0, 0], 0);
        let list = Intervals::build([a, b, c, d].into_iter());
        let addr = |o: [u8; 4]| u32::from_be_bytes(o);
        assert_eq!(list.covering(addr([10, 1, 2, 3])), &[c, b, a]);
        assert_eq!(list.covering(addr([10, 1, 3, 3])), &[b, a]);
        assert_eq!(list.covering(addr([10, 200, 0, 1])), &[a]);
        assert_eq!(list.covering(addr([11, 255, 255, 255])), &[d]);
        assert_eq!(list.covering(addr([12, 0, 0, 0])), &[] as &[u64]);
        assert_eq!(list.covering(addr([9, 255, 255, 255])), &[] as &[u64]);
        let list = Intervals::build([all, c].into_iter());
        assert_eq!(list.covering(u32::MAX), &[all]);
        assert_eq!(list.covering(addr([10, 1, 2, 255])), &[c, all]);
        assert_eq!(list.covering(0), &[all]);
    }
}
