//! Compact hash indexes from keys to indicator references.
//!
//! * [`FixedIndex`] (addresses, hashes, networks): the table's buckets hold the key itself and its
//!   first reference, so a lookup touches the control bytes and one bucket, two cache lines.
//! * [`Index`] over [`ByteKeys`] (domains, URLs, …): strings live once in a byte arena and the
//!   hash table holds only `u32` positions into it (hashbrown's `HashTable<u32>`: 4 bytes plus one
//!   control byte per bucket), so long values are not padded into buckets.
//!
//! In both, the rare second and later references of the same key go to a small side map, so the
//! common one-indicator-per-value case costs no list allocation.

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHasher};

use super::MatcherError;

/// Where the keys of an [`Index`] live.
pub(crate) trait KeyStore: Default + Clone {
    /// The borrowed key type.
    type Key: ?Sized + Eq;
    /// Key number `i` (which exists).
    fn key(&self, i: usize) -> &Self::Key;
    /// Appends a key.
    fn push(&mut self, key: &Self::Key) -> Result<(), MatcherError>;
    /// The key's hash.
    fn hash(key: &Self::Key) -> u64;
    /// Bytes allocated on the heap.
    fn heap_bytes(&self) -> usize;
    /// Releases spare capacity.
    fn shrink(&mut self);
}

fn fx<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// Byte-string keys (domains, URLs, …) in one arena; key `i` ends at `ends[i]` and starts where
/// key `i - 1` ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct ByteKeys {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl KeyStore for ByteKeys {
    type Key = [u8];

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    fn push(&mut self, key: &[u8]) -> Result<(), MatcherError> {
        let end = self
            .bytes
            .len()
            .checked_add(key.len())
            .and_then(|end| u32::try_from(end).ok())
            .ok_or(MatcherError::Full)?;
        self.bytes.extend_from_slice(key);
        self.ends.push(end);
        Ok(())
    }

    fn hash(key: &[u8]) -> u64 {
        fx(key)
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * size_of::<u32>()
    }

    fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// A hash index from keys to indicator references (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Index<S: KeyStore> {
    store: S,
    /// The first reference of key `i`.
    refs: Vec<u32>,
    /// Further references of key `i`, rare.
    extra: FxHashMap<u32, Vec<u32>>,
    table: HashTable<u32>,
}

impl<S: KeyStore> Default for Index<S> {
    fn default() -> Self {
        Index {
            store: S::default(),
            refs: Vec::new(),
            extra: FxHashMap::default(),
            table: HashTable::new(),
        }
    }
}

impl<S: KeyStore> Index<S> {
    /// Adds `(key, reference)`; answers whether the pair is new.
    pub(crate) fn insert(&mut self, key: &S::Key, reference: u32) -> Result<bool, MatcherError> {
        let hash = S::hash(key);
        let store = &self.store;
        if let Some(&i) = self.table.find(hash, |&i| store.key(i as usize) == key) {
            if self.refs[i as usize] == reference {
                return Ok(false);
            }
            let more = self.extra.entry(i).or_default();
            if more.contains(&reference) {
                return Ok(false);
            }
            more.push(reference);
            return Ok(true);
        }
        let i = u32::try_from(self.refs.len()).map_err(|_| MatcherError::Full)?;
        self.store.push(key)?;
        self.refs.push(reference);
        let store = &self.store;
        self.table
            .insert_unique(hash, i, |&j| S::hash(store.key(j as usize)));
        Ok(true)
    }

    /// Calls `found` with every reference stored under `key`.
    #[inline]
    pub(crate) fn probe(&self, key: &S::Key, mut found: impl FnMut(u32)) {
        if self.refs.is_empty() {
            return;
        }
        let hash = S::hash(key);
        if let Some(&i) = self
            .table
            .find(hash, |&i| self.store.key(i as usize) == key)
        {
            found(self.refs[i as usize]);
            if !self.extra.is_empty() {
                if let Some(more) = self.extra.get(&i) {
                    more.iter().for_each(|&r| found(r));
                }
            }
        }
    }

    /// Calls `visit` with every `(key, reference)` pair.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&S::Key, u32)) {
        for (i, &first) in self.refs.iter().enumerate() {
            let key = self.store.key(i);
            visit(key, first);
            if let Some(more) = u32::try_from(i).ok().and_then(|i| self.extra.get(&i)) {
                more.iter().for_each(|&r| visit(key, r));
            }
        }
    }

    /// The same index without the pairs whose reference `drop` selects.
    pub(crate) fn retain_refs(&self, drop: impl Fn(u32) -> bool) -> Result<Self, MatcherError> {
        let mut out = Index::default();
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
        self.refs.len() + self.extra.values().map(Vec::len).sum::<usize>()
    }

    /// Releases spare capacity (after a bulk build).
    pub(crate) fn shrink(&mut self) {
        self.store.shrink();
        self.refs.shrink_to_fit();
        let store = &self.store;
        self.table
            .shrink_to_fit(|&j| S::hash(store.key(j as usize)));
    }

    /// Bytes allocated on the heap (the side map of repeated keys is estimated).
    pub(crate) fn heap_bytes(&self) -> usize {
        let extra: usize = self
            .extra
            .values()
            .map(|v| v.capacity() * 4 + size_of::<(u32, Vec<u32>)>() + 1)
            .sum();
        self.store.heap_bytes()
            + self.refs.capacity() * size_of::<u32>()
            + self.table.allocation_size()
            + extra
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
        let mut index: Index<ByteKeys> = Index::default();
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
