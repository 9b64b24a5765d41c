//! Making new indicators active.
//!
//! * **At once, incrementally**: the indicators of one write (received from a peer, or published
//!   locally) are added to the live matcher in the request that stored them
//!   ([`Activation::added`]): their patterns are compiled and inserted into the matcher's delta,
//!   their records appended to a copy of the side table, and the new set swapped in. The cost is
//!   that of the new indicators (plus a copy of the side table), not of every stored indicator,
//!   so a node receiving a stream of batches is not bound by rebuilds. The incremental path is
//!   taken only when it gives exactly what a rebuild from the store would: the write is the only
//!   change since the matcher's generation (the store's generation is the matcher's plus one),
//!   each indicator's id appears once in the write and has no other version in the collection.
//!   The matcher's delta is merged into its base when it outgrows it
//!   ([`shield_intel::matcher::IocMatcher::needs_rebuild`]).
//! * **Otherwise by a rebuild**: at once when the matcher was not rebuilt within [`MIN_GAP`],
//!   else by the activation task within `MIN_GAP` (one rebuild per gap under a stream of such
//!   writes).
//! * **Reconciled**: after incremental additions, once no write came for [`RECONCILE_QUIET`],
//!   the matcher is rebuilt from the store, so anything the incremental path could not see (a
//!   version of the same id in another collection, a rebuild racing with an addition) lasts
//!   only until then.
//!
//! The latency histogram is observed when the indicators became active.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use shield_intel::matcher::{IndicatorSet, indicator_record, pattern_iocs};
use shield_intel::stix::StixObject;
use shield_store::Role;
use shield_store::intel::{ObjectQuery, Reader, VersionMatch};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::metrics::Histogram;
use crate::error::ServerError;
use crate::state::{AppState, SharedState};

/// Shortest time between two rebuilds caused by received intelligence.
pub const MIN_GAP: Duration = Duration::from_millis(100);
/// Quiet time after incremental additions before the matcher is rebuilt from the store.
pub const RECONCILE_QUIET: Duration = Duration::from_secs(2);
/// Most `created` times waiting for the next rebuild (beyond, samples are dropped, not objects).
const MAX_PENDING: usize = 100_000;
/// Most indicators of one write added incrementally (a larger write is rebuilt).
const MAX_INCREMENTAL: usize = 10_000;

#[derive(Debug, Default)]
struct Pending {
    last_rebuild: Option<Instant>,
    dirty: bool,
    created: Vec<DateTime<Utc>>,
    /// When indicators were last added incrementally, until the next rebuild from the store.
    incremental: Option<Instant>,
}

/// Rebuild scheduling and the latency samples waiting for it.
#[derive(Debug, Default)]
pub struct Activation {
    pending: Mutex<Pending>,
}

/// Why a write could not be applied incrementally.
enum Skip {
    /// The incremental path does not apply; rebuild.
    Rebuild,
    /// Something failed; rebuild.
    Failed(String),
}

impl From<ServerError> for Skip {
    fn from(e: ServerError) -> Skip {
        Skip::Failed(e.to_string())
    }
}

impl From<shield_store::StoreError> for Skip {
    fn from(e: shield_store::StoreError) -> Skip {
        Skip::Failed(e.to_string())
    }
}

impl From<shield_intel::matcher::MatcherError> for Skip {
    fn from(e: shield_intel::matcher::MatcherError) -> Skip {
        Skip::Failed(e.to_string())
    }
}

impl Activation {
    /// `indicators` (new versions, as stored in `collection` by one write) become active: added
    /// to the live matcher at once when the incremental path applies, otherwise as
    /// [`Activation::stored`] does. `created` are the origin times to measure (empty for local
    /// publications). Runs on the calling, blocking thread.
    pub fn added(
        &self,
        state: &AppState,
        latency: &Histogram,
        collection: &str,
        indicators: &[&StixObject],
        created: Vec<DateTime<Utc>>,
    ) {
        match self.extend(state, collection, indicators) {
            Ok(()) => {
                self.pending.lock().incremental = Some(Instant::now());
                observe(latency, created, Utc::now());
            }
            Err(skip) => {
                if let Skip::Failed(e) = skip {
                    tracing::warn!("federation: cannot add indicators to the live matcher: {e}");
                }
                self.stored(state, latency, created);
            }
        }
    }

    /// Adds `indicators` to the live matcher when that gives what a rebuild would.
    fn extend(
        &self,
        state: &AppState,
        collection: &str,
        indicators: &[&StixObject],
    ) -> Result<(), Skip> {
        if indicators.len() > MAX_INCREMENTAL {
            return Err(Skip::Rebuild);
        }
        let mut ids = HashSet::with_capacity(indicators.len());
        if !indicators.iter().all(|o| ids.insert(o.id())) {
            return Err(Skip::Rebuild);
        }
        // Held while the set is replaced: a concurrent addition waits, a rebuild that finishes
        // meanwhile records an older generation and is followed by another.
        let mut load = state.intel_load.lock();
        let generation = state.store.intel_generation()?;
        if generation != load.generation.wrapping_add(1) {
            return Err(Skip::Rebuild);
        }
        if !ids.is_empty() {
            // Another version of one of these ids: the rebuild decides which one is live.
            let query = ObjectQuery {
                ids: ids.iter().map(|id| (*id).to_owned()).collect(),
                versions: vec![VersionMatch::All],
                limit: ids.len() + 1,
                with_json: false,
                ..ObjectQuery::new(collection)
            };
            let reader = Reader::new(
                state.config.server.organisation.clone(),
                Role::Admin,
                "activation",
            );
            let mut seen = 0;
            let mut query = query;
            loop {
                let page = state.store.query_objects(&reader, &query)?;
                seen += page.objects.len();
                if seen > ids.len() {
                    return Err(Skip::Rebuild);
                }
                match page.next {
                    Some(next) if page.more => query.next = Some(next),
                    _ => break,
                }
            }
        }
        let now = Utc::now();
        let set = state.intel.indicators();
        let mut matcher = shield_intel::matcher::IocMatcher::clone(&set.matcher);
        let mut table = shield_intel::matcher::IndicatorTable::clone(&set.table);
        let mut next = load.clone();
        for object in indicators {
            // What the store's live set leaves out.
            if object.revoked() {
                continue;
            }
            let record = indicator_record(object);
            if record.valid_until.is_some_and(|until| until <= now) {
                continue;
            }
            let iocs = object
                .as_indicator()
                .and_then(|i| i.stix_pattern())
                .and_then(Result::ok)
                .and_then(|p| pattern_iocs(&p))
                .filter(|p| !p.iocs.is_empty());
            let Some(iocs) = iocs else {
                next.not_matchable += 1;
                continue;
            };
            let reference = table.push(&record)?;
            for ioc in &iocs.iocs {
                matcher.insert(ioc, reference)?;
            }
            next.indicators += 1;
            next.values += iocs.iocs.len();
        }
        if matcher.needs_rebuild() {
            matcher.rebuild()?;
        }
        state.intel.replace(IndicatorSet {
            matcher: Arc::new(matcher),
            table: Arc::new(table),
        });
        next.generation = generation;
        *load = next;
        Ok(())
    }

    /// New indicators were stored; `created` are the origin times to measure (empty for local
    /// publications). Rebuilds now when due (on the calling, blocking thread).
    pub fn stored(&self, state: &AppState, latency: &Histogram, created: Vec<DateTime<Utc>>) {
        let due = {
            let mut p = self.pending.lock();
            let room = MAX_PENDING.saturating_sub(p.created.len());
            p.created.extend(created.into_iter().take(room));
            p.dirty = true;
            p.last_rebuild.is_none_or(|t| t.elapsed() >= MIN_GAP)
        };
        if due {
            self.rebuild(state, latency);
        }
    }

    /// Rebuilds when something is waiting, or reconciles after incremental additions once the
    /// node has been quiet for [`RECONCILE_QUIET`].
    pub fn flush(&self, state: &AppState, latency: &Histogram) {
        let (dirty, reconcile) = {
            let p = self.pending.lock();
            (
                p.dirty,
                p.incremental
                    .is_some_and(|t| t.elapsed() >= RECONCILE_QUIET),
            )
        };
        if dirty {
            self.rebuild(state, latency);
        } else if reconcile {
            self.reconcile(state);
        }
    }

    fn rebuild(&self, state: &AppState, latency: &Histogram) {
        let created = {
            let mut p = self.pending.lock();
            p.dirty = false;
            p.last_rebuild = Some(Instant::now());
            std::mem::take(&mut p.created)
        };
        if let Err(e) = crate::node::refresh_indicators(state) {
            tracing::warn!("federation: cannot refresh the live indicators: {e}");
            return;
        }
        observe(latency, created, Utc::now());
    }

    /// Rebuilds the matcher from the store even when the generation says it is current.
    fn reconcile(&self, state: &AppState) {
        self.pending.lock().incremental = None;
        match crate::intel::build_indicator_set(state.store.as_ref(), Utc::now()) {
            Ok((set, built)) => {
                let mut load = state.intel_load.lock();
                if load.generation > built.generation {
                    // An addition came meanwhile: reconcile again after the next quiet time.
                    self.pending.lock().incremental = Some(Instant::now());
                    return;
                }
                state.intel.replace(set);
                *load = built;
            }
            Err(e) => tracing::warn!("federation: cannot rebuild the live indicators: {e}"),
        }
    }
}

fn observe(latency: &Histogram, created: Vec<DateTime<Utc>>, active: DateTime<Utc>) {
    for c in created {
        let micros = (active - c).num_microseconds().unwrap_or(i64::MAX);
        latency.observe(micros as f64 / 1e6);
    }
}

/// The task that applies deferred rebuilds every [`MIN_GAP`].
pub fn spawn_activation_task(
    state: &SharedState,
    federation: &Arc<super::Federation>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let state = Arc::clone(state);
    let federation = Arc::clone(federation);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(MIN_GAP) => {}
                _ = shutdown.changed() => return,
            }
            let (st, f) = (Arc::clone(&state), Arc::clone(&federation));
            let _ = tokio::task::spawn_blocking(move || f.activation.flush(&st, &f.latency)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_intel::ioc::IocKind;
    use shield_intel::stix::{ObjectBuilder, Timestamp};
    use shield_intel::tlp::Tlp;
    use shield_store::intel::{IncomingObject, IntelWrite, Provenance};

    fn indicator(n: u32, domain: &str, modified: i64, revoked: bool) -> StixObject {
        let created = Timestamp::from_datetime(DateTime::from_timestamp(1_770_000_000, 0).unwrap());
        let modified = Timestamp::from_datetime(
            DateTime::from_timestamp(1_770_000_000 + modified, 0).unwrap(),
        );
        let mut b = ObjectBuilder::indicator(
            &format!("[domain-name:value = '{domain}']"),
            "stix",
            created,
            created,
        )
        .id(format!("indicator--00000000-0000-4000-8000-{n:012}"))
        .property("modified", modified)
        .tlp(Tlp::Green);
        if revoked {
            b = b.property("revoked", true);
        }
        b.build().unwrap()
    }

    fn store(state: &AppState, collection: &str, objects: &[&StixObject]) {
        state
            .store
            .put_objects(&IntelWrite {
                collection: collection.to_owned(),
                objects: objects
                    .iter()
                    .map(|o| IncomingObject::new((*o).clone()))
                    .collect(),
                provenance: Provenance {
                    source: "test".into(),
                    org: "lv-cert".into(),
                    default_tlp: Tlp::Amber,
                    shared_with: Vec::new(),
                },
                received: Utc::now(),
                status_id: None,
            })
            .unwrap();
    }

    fn matches(state: &AppState, domain: &str) -> usize {
        let mut hits = Vec::new();
        state
            .intel
            .indicators()
            .matcher
            .lookup(IocKind::Domain, domain, &mut hits);
        hits.len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_indicators_are_added_at_once_and_versions_of_known_ids_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::NodeConfig::default();
        config.server.listen = "127.0.0.1:0".to_owned();
        config.server.data_dir = dir.path().join("data");
        let node = crate::start(config, Some("activation-admin-token-0123".to_owned()))
            .await
            .unwrap();
        let state = Arc::clone(node.state());
        let collection = state
            .store
            .collection(crate::intel::INDICATORS)
            .unwrap()
            .unwrap()
            .id;
        let activation = Activation::default();
        let latency = Histogram::propagation();

        // New ids: added to the matcher's delta, no rebuild (the node's own refresh, every
        // second, may come in between once: then the write is rebuilt and tried again).
        let mut added_incrementally = false;
        for attempt in 0..3 {
            let domain = format!("c2-{attempt}.example.net");
            let new = indicator(attempt, &domain, 0, false);
            let revoked = indicator(100 + attempt, "revoked.example.net", 0, true);
            store(&state, &collection, &[&new, &revoked]);
            let created = new.created().unwrap().as_datetime();
            activation.added(
                &state,
                &latency,
                &collection,
                &[&new, &revoked],
                vec![created],
            );
            assert_eq!(matches(&state, &domain), 1, "active at once");
            assert_eq!(matches(&state, "revoked.example.net"), 0, "not live");
            assert_eq!(
                state.intel_load.lock().generation,
                state.store.intel_generation().unwrap(),
                "the matcher reflects the store"
            );
            assert!(
                !crate::node::refresh_indicators(&state).unwrap(),
                "nothing to rebuild"
            );
            if state.intel.indicators().matcher.stats().1 > 0 {
                added_incrementally = true;
                break;
            }
        }
        assert!(added_incrementally);
        assert!(activation.pending.lock().incremental.is_some());

        // A second version of a known id: the rebuild decides which version is live.
        let second = indicator(0, "moved.example.net", 60, false);
        store(&state, &collection, &[&second]);
        activation.added(&state, &latency, &collection, &[&second], Vec::new());
        assert_eq!(matches(&state, "moved.example.net"), 1);
        assert_eq!(
            matches(&state, "c2-0.example.net"),
            0,
            "the old version left"
        );
        assert_eq!(state.intel.indicators().matcher.stats().1, 0, "rebuilt");

        // Two writes since the matcher's generation: the second one's activation rebuilds.
        let a = indicator(200, "a.example.net", 0, false);
        let b = indicator(201, "b.example.net", 0, false);
        store(&state, &collection, &[&a]);
        store(&state, &collection, &[&b]);
        activation.added(&state, &latency, &collection, &[&b], Vec::new());
        // When the last rebuild was less than MIN_GAP ago, the activation task's next flush
        // does it.
        activation.flush(&state, &latency);
        assert_eq!(matches(&state, "a.example.net"), 1, "the other write too");
        assert_eq!(matches(&state, "b.example.net"), 1);
        assert!(latency.count() >= 1);
        node.stop().await;
    }
}
