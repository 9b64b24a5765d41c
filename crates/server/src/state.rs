//! What every request handler and listener shares.

use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;
use shield_event::Event;
use shield_store::Store;

use crate::auth::{Authenticator, CredentialForms, Principal};
use crate::config::NodeConfig;
use crate::detectors::RuleReloader;
use crate::error::ApiError;
use crate::pipeline::Pipeline;
use crate::stats::IngestStats;

/// The node's shared state.
pub struct AppState {
    /// Validated configuration.
    pub config: NodeConfig,
    /// The store (alerts, tokens, statistics, audit log).
    pub store: Arc<dyn Store>,
    /// Token authentication.
    pub auth: Authenticator,
    /// The processing pipeline.
    pub pipeline: Arc<Pipeline>,
    /// The ingest journal: accepted batches are written here before they are answered.
    pub journal: crate::journal::IngestJournal,
    /// Ingest counters.
    pub stats: Arc<IngestStats>,
    /// Rebuilds the detectors from the configured rules.
    pub reloader: RuleReloader,
    /// The live IOC matcher (also in every detector set).
    pub intel: Arc<shield_intel::matcher::IntelDetector>,
    /// What the last matcher build loaded.
    pub intel_load: parking_lot::Mutex<crate::intel::IndicatorLoad>,
    /// When the node started.
    pub started: Instant,
    /// Federation with peers, when `federation.enabled`.
    pub federation: Option<Arc<crate::federation::Federation>>,
}

/// A handle on the shared state.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// The caller, from the request's credentials.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        forms: CredentialForms,
    ) -> Result<Principal, ApiError> {
        self.auth.authenticate(headers, forms)
    }

    /// Hands parsed events to the pipeline through the journal and counts them; 429 when the queue
    /// is full. Returns once the events are durable (synced to disk): only then may the caller
    /// answer 2xx.
    pub async fn submit(
        &self,
        input: &str,
        events: Vec<Event>,
        rejected: u64,
        bytes: u64,
    ) -> Result<usize, ApiError> {
        let n = events.len();
        if n == 0 {
            self.stats.record(input, 0, rejected, bytes);
            return Ok(0);
        }
        let Some(room) = self.pipeline.try_reserve(n) else {
            self.stats.record(input, 0, rejected, bytes);
            return Err(ApiError::overloaded(self.config.ingest.retry_after_secs));
        };
        match self
            .journal
            .append(input, events, rejected, bytes, room)
            .await
        {
            Ok(()) => Ok(n),
            Err(e) => {
                self.stats.record(input, 0, rejected, bytes);
                Err(ApiError::internal(format!("events not accepted: {e}")))
            }
        }
    }

    /// Writes an audit entry; a failure is logged, never hidden from the log.
    pub fn audit(&self, actor: &Principal, action: &str, target: &str, details: serde_json::Value) {
        let entry = shield_store::AuditEntry {
            time: chrono::Utc::now(),
            actor: format!("{} ({})", actor.name, actor.token_id),
            action: action.to_owned(),
            target: target.to_owned(),
            details,
        };
        if let Err(e) = self.store.append_audit(&entry) {
            tracing::error!("cannot write audit entry {action} {target}: {e}");
        }
    }
}
