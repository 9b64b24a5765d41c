//! Ingest statistics: counted in memory on the hot path, written to the store in the background.
//!
//! Every input (`http`, `bulk`, `syslog-udp`, `syslog-tcp`, `file`) counts the events it accepted, the
//! records it rejected and the bytes it read. The totals start from what the store holds, so they
//! survive restarts; [`IngestStats::flush`] writes the part not yet stored (called every second and at
//! shutdown). A failed flush keeps its deltas for the next one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use shield_store::{StatsStore, StoreError};

/// Totals of one input.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
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

#[derive(Debug, Default)]
struct Entry {
    total: InputCounts,
    unflushed: (u64, u64, u64),
}

/// The node's ingest counters.
#[derive(Debug, Default)]
pub struct IngestStats {
    inputs: Mutex<BTreeMap<String, Entry>>,
}

impl IngestStats {
    /// Counters starting from the totals in the store.
    pub fn load(store: &dyn StatsStore) -> Result<Self, StoreError> {
        let totals = store.ingest_totals()?;
        let mut inputs = BTreeMap::new();
        for t in totals.per_input {
            inputs.insert(
                t.input.clone(),
                Entry {
                    total: InputCounts {
                        events_ingested: t.events_ingested,
                        events_rejected: t.events_rejected,
                        bytes: t.bytes,
                        last_seen: t.last_seen,
                    },
                    unflushed: (0, 0, 0),
                },
            );
        }
        Ok(IngestStats {
            inputs: Mutex::new(inputs),
        })
    }

    /// Counts one delivery of an input.
    pub fn record(&self, input: &str, accepted: u64, rejected: u64, bytes: u64) {
        let mut inputs = self.inputs.lock();
        let entry = match inputs.get_mut(input) {
            Some(e) => e,
            None => inputs.entry(input.to_owned()).or_default(),
        };
        entry.total.events_ingested += accepted;
        entry.total.events_rejected += rejected;
        entry.total.bytes += bytes;
        entry.total.last_seen = Some(Utc::now());
        entry.unflushed.0 += accepted;
        entry.unflushed.1 += rejected;
        entry.unflushed.2 += bytes;
    }

    /// Totals per input.
    pub fn per_input(&self) -> BTreeMap<String, InputCounts> {
        self.inputs
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.total.clone()))
            .collect()
    }

    /// Totals over all inputs.
    pub fn totals(&self) -> InputCounts {
        let mut sum = InputCounts::default();
        for entry in self.inputs.lock().values() {
            sum.events_ingested += entry.total.events_ingested;
            sum.events_rejected += entry.total.events_rejected;
            sum.bytes += entry.total.bytes;
            sum.last_seen = sum.last_seen.max(entry.total.last_seen);
        }
        sum
    }

    /// Writes the counts not yet stored.
    pub fn flush(&self, store: &dyn StatsStore) -> Result<(), StoreError> {
        let pending: Vec<(String, (u64, u64, u64))> = {
            let mut inputs = self.inputs.lock();
            inputs
                .iter_mut()
                .filter(|(_, e)| e.unflushed != (0, 0, 0))
                .map(|(k, e)| (k.clone(), std::mem::take(&mut e.unflushed)))
                .collect()
        };
        let mut result = Ok(());
        for (input, (a, r, b)) in pending {
            if let Err(e) = store.add_ingest(&input, a, r, b) {
                let mut inputs = self.inputs.lock();
                if let Some(entry) = inputs.get_mut(&input) {
                    entry.unflushed.0 += a;
                    entry.unflushed.1 += r;
                    entry.unflushed.2 += b;
                }
                result = Err(e);
            }
        }
        result
    }
}
