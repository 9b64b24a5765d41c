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
    pub pipeline: Pipeline,
    /// Ingest counters.
    pub stats: IngestStats,
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

    /// Hands parsed events to the pipeline and counts them; 429 when the queue is full.
    pub fn submit(
        &self,
        input: &str,
        events: Vec<Event>,
        rejected: u64,
        bytes: u64,
    ) -> Result<usize, ApiError> {
        let n = events.len();
        match self.pipeline.try_submit(events) {
            Ok(()) => {
                self.stats.record(input, n as u64, rejected, bytes);
                Ok(n)
            }
            Err(_) => {
                self.stats.record(input, 0, rejected, bytes);
                Err(ApiError::overloaded(self.config.ingest.retry_after_secs))
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
