//! The node's TAXII 2.1 server: the federation crate's router mounted under `/taxii2/`, callers
//! authenticated by the node's own token cache, extra collections created at start.
//!
//! TAXII clients send credentials as HTTP Basic (the password is the token, the user name is
//! ignored) or as a bearer token. Both resolve through [`crate::auth::Authenticator`], the cache the
//! HTTP API uses, so a TAXII poll costs no database read either and a revoked token stops working
//! within [`crate::auth::CACHE_TTL`]. Ingest tokens may not use TAXII.

use axum::Router;
use axum::http::HeaderMap;
use shield_federation::taxii::{
    AuthFailure, Caller, TaxiiAuth, TaxiiConfig, TaxiiState, credentials, install_collections,
};
use shield_store::{IntelStore, Role, StoreError};

use crate::state::SharedState;

/// [`TaxiiAuth`] over the node's token authenticator (and its cache).
pub struct NodeTaxiiAuth {
    state: SharedState,
}

impl NodeTaxiiAuth {
    /// Authentication through `state`'s authenticator.
    pub fn new(state: SharedState) -> NodeTaxiiAuth {
        NodeTaxiiAuth { state }
    }
}

impl TaxiiAuth for NodeTaxiiAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        let token = credentials(headers)?.ok_or_else(|| {
            AuthFailure::Unauthorized(
                "missing credentials: send HTTP Basic (password = token) or a Bearer token".into(),
            )
        })?;
        let principal = self
            .state
            .auth
            .principal(&token)
            .map_err(|e| AuthFailure::Unavailable(e.message))?
            .ok_or_else(|| AuthFailure::Unauthorized("unknown or revoked token".into()))?;
        if principal.role == Role::Ingest {
            return Err(AuthFailure::Forbidden(
                "ingest tokens may not use TAXII".into(),
            ));
        }
        Ok(Caller {
            name: principal.name,
            org: principal.org,
            role: principal.role,
        })
    }
}

/// Creates the configured collections that do not exist yet. A collection whose id or alias is
/// already taken (the node's own `indicators` and `sightings` among them) is left as it is.
/// Returns how many were created.
pub fn install_configured_collections(
    store: &dyn IntelStore,
    config: &TaxiiConfig,
) -> Result<usize, StoreError> {
    let mut missing = Vec::new();
    for c in &config.collections {
        let taken = store.collection(&c.collection_id())?.is_some()
            || store.collection(&c.alias)?.is_some();
        if !taken {
            missing.push(c.clone());
        }
    }
    install_collections(
        store,
        &TaxiiConfig {
            collections: missing,
            ..config.clone()
        },
    )
}

/// The TAXII routes (`/taxii2/…`) over the node's store and authenticator.
pub fn router(state: &SharedState) -> Router {
    let mut taxii = TaxiiState::new(
        state.store.clone(),
        std::sync::Arc::new(NodeTaxiiAuth::new(state.clone())),
        state.config.taxii.server.clone(),
    );
    if let Some(federation) = &state.federation {
        taxii = taxii
            .with_admission(std::sync::Arc::new(
                crate::federation::ingress::PeerAdmission::new(state.clone(), federation.clone()),
            ))
            .with_read_policy(std::sync::Arc::new(
                crate::federation::reads::PeerReads::new(state.clone(), federation.clone()),
            ))
            .with_changes(federation.changes.clone())
            .with_closing(federation.closing.subscribe());
    }
    shield_federation::taxii::router(taxii)
}
