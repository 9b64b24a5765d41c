//! Compact hash indexes from keys to indicator references.
//!
//! * [`FixedIndex`] (addresses, hashes, networks): the table's buckets hold the key itself and its
//!   first reference, so a lookup touches the control bytes and one bucket, two cache lines.
//! * [`StrIndex`] (domains, URLs, …): strings live once in a length-prefixed byte arena and the
//!   buckets hold the key's offset and first reference (8 bytes), so long values are not padded
//!   into buckets and a hit touches three cache lines: control bytes, bucket, key.
//!
//! In both, the rare second and later references of the same key go to a small side map, so the
//! common one-indicator-per-value case costs no list allocation.

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHasher};

use super::MatcherError;

fn fx<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// Byte-string keys (domains, URLs, …): each key is written once into an arena, prefixed by its
/// length (two bytes, little-endian); the table's buckets hold the key's offset and its first
/// reference, so a hit touches the control bytes, one bucket and the key.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrIndex {
    bytes: Vec<u8>,
    table: HashTable<(u32, u32)>,
    /// Further references of the key at an offset, rare.
    extra: FxHashMap<u32, Vec<u32>>,
}

/// The key written at `offset` of `bytes` (empty if the arena is inconsistent, which it never is).
#[inline]
fn key_at(bytes: &[u8], offset: u32) -> &[u8] {
    let at = offset as usize;
    let (Some(&lo), Some(&hi)) = (bytes.get(at), bytes.get(at + 1)) else {
        return &[];
    };
    let len = usize::from(u16::from_le_bytes([lo, hi]));
    bytes.get(at + 2..at + 2 + len).unwrap_or(&[])
}

impl StrIndex {
    /// Adds `(key, reference)`; answers whether the pair is new.
    pub(crate) fn insert(&mut self, key: &[u8], reference: u32) -> Result<bool, MatcherError> {
        let hash = fx(key);
        let bytes = &self.bytes;
        if let Some(&(offset, first)) = self.table.find(hash, |&(o, _)| key_at(bytes, o) == key) {
            if first == reference {
                return Ok(false);
            }
            let more = self.extra.entry(offset).or_default();
            if more.contains(&reference) {
                return Ok(false);
            }
            more.push(reference);
            return Ok(true);
        }
        let len = u16::try_from(key.len()).map_err(|_| MatcherError::Full)?;
        let offset = u32::try_from(self.bytes.len()).map_err(|_| MatcherError::Full)?;
        if self.bytes.len() + key.len() + 2 > u32::MAX as usize {
            return Err(MatcherError::Full);
        }
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(key);
        let bytes = &self.bytes;
        self.table
            .insert_unique(hash, (offset, reference), |&(o, _)| fx(key_at(bytes, o)));
        Ok(true)
    }

    /// Calls `found` with every reference stored under `key`.
    #[inline]
    pub(crate) fn probe(&self, key: &[u8], mut found: impl FnMut(u32)) {
        if self.table.is_empty() {
            return;
        }
        let bytes = &self.bytes;
        if let Some(&(offset, first)) = self.table.find(fx(key), |&(o, _)| key_at(bytes, o) == key)
        {
            found(first);
            if !self.extra.is_empty() {
                if let Some(more) = self.extra.get(&offset) {
                    more.iter().for_each(|&r| found(r));
                }
            }
        }
    }

    /// Calls `visit` with every `(key, reference)` pair, the pairs of one key together.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&[u8], u32)) {
        for &(offset, first) in &self.table {
            let key = key_at(&self.bytes, offset);
            visit(key, first);
            if let Some(more) = self.extra.get(&offset) {
                more.iter().for_each(|&r| visit(key, r));
            }
        }
    }

    /// The same index without the pairs whose reference `drop` selects.
    pub(crate) fn retain_refs(&self, drop: impl Fn(u32) -> bool) -> Result<Self, MatcherError> {
        let mut out = StrIndex::default();
        let mut result = Ok(());
        self.for_each(|key, r| {
            if !drop(r) && result.is_ok() {
                result = out.insert(key, r).map(|_| ());
            }
        });
        result.map(|()| out)
    }

    /// The number of `(key, reference)` pairs.
    pub(crate) fn pairs(&self) -> usize {
        self.table.len() + self.extra.values().map(Vec::len).sum::<usize>()
    }

    /// Releases spare capacity (after a bulk build).
    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        let bytes = &self.bytes;
        self.table.shrink_to_fit(|&(o, _)| fx(key_at(bytes, o)));
    }

    /// Bytes allocated on the heap (the side map of repeated keys is estimated).
    pub(crate) fn heap_bytes(&self) -> usize {
        let extra: usize = self
            .extra
            .values()
            .map(|v| v.capacity() * 4 + size_of::<(u32, Vec<u32>)>() + 1)
            .sum();
        self.bytes.capacity() + self.table.allocation_size() + extra
    }
}

/// Fixed-size keys stored in the hash table's buckets beside their first reference.
#[derive(Clone, Debug)]
pub(crate) struct FixedIndex<K> {
    table: HashTable<(K, u32)>,
    /// Further references of a key, rare.
    extra: FxHashMap<K, Vec<u32>>,
}

impl<K> Default for FixedIndex<K> {
    fn default() -> Self {
        FixedIndex {
            table: HashTable::new(),
            extra: FxHashMap::default(),
        }
    }
}

impl<K: Copy + Eq + Hash> FixedIndex<K> {
    /// Adds `(key, reference)`; answers whether the pair is new.
    pub(crate) fn insert(&mut self, key: &K, reference: u32) -> Result<bool, MatcherError> {
        let hash = fx(key);
        if let Some(&(_, first)) = self.table.find(hash, |(k, _)| k == key) {
            if first == reference {
                return Ok(false);
            }
            let more = self.extra.entry(*key).or_default();
            if more.contains(&reference) {
                return Ok(false);
            }
            more.push(reference);
            return Ok(true);
        }
        if self.table.len() >= u32::MAX as usize {
            return Err(MatcherError::Full);
        }
        self.table
            .insert_unique(hash, (*key, reference), |(k, _)| fx(k));
        Ok(true)
    }

    /// Calls `found` with every reference stored under `key`.
    #[inline]
    pub(crate) fn probe(&self, key: &K, mut found: impl FnMut(u32)) {
        if self.table.is_empty() {
            return;
        }
        if let Some(&(_, first)) = self.table.find(fx(key), |(k, _)| k == key) {
            found(first);
            if !self.extra.is_empty() {
                if let Some(more) = self.extra.get(key) {
                    more.iter().for_each(|&r| found(r));
                }
            }
        }
    }

    /// Calls `visit` with every `(key, reference)` pair, the pairs of one key together.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&K, u32)) {
        for (key, first) in &self.table {
            visit(key, *first);
            if let Some(more) = self.extra.get(key) {
                more.iter().for_each(|&r| visit(key, r));
            }
        }
    }

    /// The same index without the pairs whose reference `drop` selects.
    pub(crate) fn retain_refs(&self, drop: impl Fn(u32) -> bool) -> Result<Self, MatcherError> {
        let mut out = FixedIndex::default();
        out.table.reserve(self.table.len(), |(k, _)| fx(k));
        let mut result = Ok(());
        self.for_each(|key, r| {
            if !drop(r) && result.is_ok() {
                result = out.insert(key, r).map(|_| ());
            }
        });
        result.map(|()| out)
    }

    /// The number of `(key, reference)` pairs.
    pub(crate) fn pairs(&self) -> usize {
        self.table.len() + self.extra.values().map(Vec::len).sum::<usize>()
    }

    /// Releases spare capacity (after a bulk build).
    pub(crate) fn shrink(&mut self) {
        self.table.shrink_to_fit(|(k, _)| fx(k));
    }

    /// Bytes allocated on the heap (the side map of repeated keys is estimated).
    pub(crate) fn heap_bytes(&self) -> usize {
        let extra: usize = self
            .extra
            .values()
            .map(|v| v.capacity() * 4 + size_of::<(K, Vec<u32>)>() + 1)
            .sum();
        self.table.allocation_size() + extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_collect_every_reference_once() {
        let mut index = StrIndex::default();
        assert!(index.insert(b"evil.example", 1).unwrap());
        assert!(index.insert(b"evil.example", 2).unwrap());
        assert!(!index.insert(b"evil.example", 2).unwrap());
        assert!(index.insert(b"other.example", 3).unwrap());
        let mut seen = Vec::new();
        index.probe(b"evil.example", |r| seen.push(r));
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(index.pairs(), 3);
        let kept = index.retain_refs(|r| r == 1).unwrap();
        let mut seen = Vec::new();
        kept.probe(b"evil.example", |r| seen.push(r));
        assert_eq!(seen, vec![2]);
        assert_eq!(kept.pairs(), 2);
    }

    #[test]
    fn fixed_keys() {
        let mut index: FixedIndex<u32> = FixedIndex::default();
        for i in 0..1000u32 {
            index.insert(&i, i + 7).unwrap();
        }
        index.shrink();
        let mut seen = Vec::new();
        index.probe(&500, |r| seen.push(r));
        index.probe(&5000, |r| seen.push(r));
        assert_eq!(seen, vec![507]);
    }
}
