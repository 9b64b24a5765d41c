//! Ingest statistics: counted in memory on the hot path, written to the store in the background.
//!
//! Every input (`http`, `bulk`, `syslog-udp`, `syslog-tcp`, `file`) counts the events it accepted, the
//! records it rejected and the bytes it read. Accepted events are counted by the journal writer, in
//! journal order, once they are durable, and the totals remember the journal position they count
//! through. [`IngestStats::flush`] (every second and at shutdown) stores the totals *and* that
//! position as one state-store value, in one transaction: after a crash the stored totals are exact
//! up to the stored position, and replay counts the journaled frames after it
//! ([`crate::journal::replay`]). So `events_ingested` neither loses nor double-counts accepted
//! events across a crash. Records rejected in a request that accepted nothing, and bytes of such
//! requests, are counted in memory only until the next flush (at most a second's worth is lost on
//! a crash). Data directories of older nodes start from the totals of the `ingest_stats` table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use shield_event::Event;
use shield_store::archive::FramePosition;
use shield_store::{StateStore, StatsStore, StoreError};

/// State-store key of the stored totals.
pub const TOTALS_KEY: &str = "ingest.totals";

/// Totals of one input.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputCounts {
    /// Events accepted into the pipeline.
    pub events_ingested: u64,
    /// Records rejected as malformed.
    pub events_rejected: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// When the input last delivered something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// The stored form: totals per input and the journal position they count through.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    /// `segment:offset`; absent when nothing was ever journaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    through: Option<String>,
    inputs: BTreeMap<String, InputCounts>,
}

#[derive(Debug, Default)]
struct Counters {
    inputs: BTreeMap<String, InputCounts>,
    /// Every journaled frame before this position is counted.
    through: Option<FramePosition>,
    /// Changed since the last flush.
    dirty: bool,
}

/// The node's ingest counters.
#[derive(Debug, Default)]
pub struct IngestStats {
    counters: Mutex<Counters>,
    /// The position of the last stored totals.
    stored_through: Mutex<Option<FramePosition>>,
}

impl IngestStats {
    /// Counters starting from the stored totals. A data directory without them (first start, or
    /// written by an older node) starts from the `ingest_stats` table and counts through `end`
    /// (the journal's end: what is journaled already was counted by that node); the totals are
    /// stored at once so that a crash before the first flush loses nothing.
    pub fn load<S: StatsStore + StateStore + ?Sized>(
        store: &S,
        end: FramePosition,
    ) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("state {TOTALS_KEY}"),
            reason,
        };
        if let Some(text) = store.get_state(TOTALS_KEY)? {
            let stored: Stored = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
            let through = stored
                .through
                .map(|t| t.parse::<FramePosition>())
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?;
            return Ok(IngestStats {
                counters: Mutex::new(Counters {
                    inputs: stored.inputs,
                    through,
                    dirty: false,
                }),
                stored_through: Mutex::new(through),
            });
        }
        let mut inputs = BTreeMap::new();
        for t in store.ingest_totals()?.per_input {
            inputs.insert(
                t.input.clone(),
                InputCounts {
                    events_ingested: t.events_ingested,
                    events_rejected: t.events_rejected,
                    bytes: t.bytes,
                    last_seen: t.last_seen,
                },
            );
        }
        let stats = IngestStats {
            counters: Mutex::new(Counters {
                inputs,
                through: Some(end),
                dirty: true,
            }),
            stored_through: Mutex::new(None),
        };
        stats.flush(store)?;
        Ok(stats)
    }

    /// Counts one delivery of an input that was not journaled (nothing accepted, or a caller that
    /// keeps no journal).
    pub fn record(&self, input: &str, accepted: u64, rejected: u64, bytes: u64) {
        let mut c = self.counters.lock();
        add(&mut c, input, accepted, rejected, bytes);
    }

    /// Counts a journaled delivery: its frames end at `through` (journal order, from the writer).
    pub fn record_journaled(
        &self,
        input: &str,
        accepted: u64,
        rejected: u64,
        bytes: u64,
        through: Option<FramePosition>,
    ) {
        let mut c = self.counters.lock();
        add(&mut c, input, accepted, rejected, bytes);
        if let Some(t) = through {
            c.through = Some(c.through.map_or(t, |p| p.max(t)));
        }
    }

    /// Counts events of a journaled frame ending at `through` that were accepted before a crash and
    /// not counted in the stored totals (replay).
    pub fn count_replayed(&self, events: &[Event], through: FramePosition) {
        let mut c = self.counters.lock();
        for event in events {
            add(&mut c, &event.meta.input, 1, 0, 0);
        }
        c.through = Some(c.through.map_or(through, |p| p.max(through)));
    }

    /// The journal position the in-memory totals count through.
    pub fn through(&self) -> Option<FramePosition> {
        self.counters.lock().through
    }

    /// The journal position of the totals last stored.
    pub fn stored_through(&self) -> Option<FramePosition> {
        *self.stored_through.lock()
    }

    /// Totals per input.
    pub fn per_input(&self) -> BTreeMap<String, InputCounts> {
        self.counters.lock().inputs.clone()
    }

    /// Totals over all inputs.
    pub fn totals(&self) -> InputCounts {
        let mut sum = InputCounts::default();
        for entry in self.counters.lock().inputs.values() {
            sum.events_ingested += entry.events_ingested;
            sum.events_rejected += entry.events_rejected;
            sum.bytes += entry.bytes;
            sum.last_seen = sum.last_seen.max(entry.last_seen);
        }
        sum
    }

    /// Stores the totals with their position, in one write, if they changed. A failed write leaves
    /// them marked as changed for the next one.
    pub fn flush<S: StateStore + ?Sized>(&self, store: &S) -> Result<(), StoreError> {
        let (text, through) = {
            let mut c = self.counters.lock();
            if !c.dirty {
                return Ok(());
            }
            c.dirty = false;
            let stored = Stored {
                through: c.through.map(|t| t.to_string()),
                inputs: c.inputs.clone(),
            };
            let text = serde_json::to_string(&stored).map_err(|e| StoreError::InvalidInput {
                field: "ingest totals",
                reason: e.to_string(),
            })?;
            (text, c.through)
        };
        if let Err(e) = store.set_state(TOTALS_KEY, &text) {
            self.counters.lock().dirty = true;
            return Err(e);
        }
        *self.stored_through.lock() = through;
        Ok(())
    }
}

fn add(c: &mut Counters, input: &str, accepted: u64, rejected: u64, bytes: u64) {
    let entry = match c.inputs.get_mut(input) {
        Some(e) => e,
        None => c.inputs.entry(input.to_owned()).or_default(),
    };
    entry.events_ingested += accepted;
    entry.events_rejected += rejected;
    entry.bytes += bytes;
    entry.last_seen = Some(Utc::now());
    c.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shield_store::MemoryStore;

    fn pos(segment: u64, offset: u64) -> FramePosition {
        FramePosition { segment, offset }
    }

    #[test]
    fn totals_and_their_position_are_stored_together_and_reloaded() {
        let store = MemoryStore::new();
        store.add_ingest("http", 7, 1, 100).unwrap();
        let stats = IngestStats::load(&store, pos(1, 16)).unwrap();
        assert_eq!(
            stats.totals().events_ingested,
            7,
            "legacy totals are the start"
        );
        assert_eq!(stats.stored_through(), Some(pos(1, 16)), "stored at once");
        stats.record_journaled("http", 5, 0, 50, Some(pos(1, 500)));
        stats.record("bulk", 0, 2, 10);
        stats.flush(&store).unwrap();
        assert_eq!(stats.stored_through(), Some(pos(1, 500)));

        // Events counted after the flush are not stored: a crash loses them from the totals, and
        // replay from the stored position counts them again, once.
        stats.record_journaled("http", 3, 0, 30, Some(pos(1, 900)));
        let reloaded = IngestStats::load(&store, pos(9, 16)).unwrap();
        assert_eq!(reloaded.per_input()["http"].events_ingested, 12);
        assert_eq!(reloaded.per_input()["bulk"].events_rejected, 2);
        assert_eq!(
            reloaded.through(),
            Some(pos(1, 500)),
            "the stored position, not the end"
        );
        let events: Vec<Event> = (0..3)
            .map(|i| Event::new(json!({"i": i}), "http".into(), shield_event::Format::Json))
            .collect();
        reloaded.count_replayed(&events, pos(1, 900));
        assert_eq!(reloaded.per_input()["http"].events_ingested, 15);
        assert_eq!(reloaded.through(), Some(pos(1, 900)));
    }
}
