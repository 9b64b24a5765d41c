//! Making received indicators active: the live matcher is rebuilt at once when it was not rebuilt
//! within [`MIN_GAP`], otherwise by a task within `MIN_GAP`. A quiet node applies a new indicator
//! in the request that stored it; a node receiving a stream of batches rebuilds at most every
//! `MIN_GAP` instead of once per batch, so bulk transfers are not bound by rebuilds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::metrics::Histogram;
use crate::state::{AppState, SharedState};

/// Shortest time between two rebuilds caused by received intelligence.
pub const MIN_GAP: Duration = Duration::from_millis(100);
/// Most `created` times waiting for the next rebuild (beyond, samples are dropped, not objects).
const MAX_PENDING: usize = 100_000;

#[derive(Debug, Default)]
struct Pending {
    last_rebuild: Option<Instant>,
    dirty: bool,
    created: Vec<DateTime<Utc>>,
}

/// Rebuild scheduling and the latency samples waiting for it.
#[derive(Debug, Default)]
pub struct Activation {
    pending: Mutex<Pending>,
}

impl Activation {
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

    /// Rebuilds when something is waiting.
    pub fn flush(&self, state: &AppState, latency: &Histogram) {
        if self.pending.lock().dirty {
            self.rebuild(state, latency);
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
        let active = Utc::now();
        for c in created {
            let micros = (active - c).num_microseconds().unwrap_or(i64::MAX);
            latency.observe(micros as f64 / 1e6);
        }
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
