//! Reads by peers: what a peer pulls or streams from this node is what the sharing policy
//! would push to it.
//!
//! A caller with the peer role reads through a [`PeerScope`]: queries run as the node, every
//! version is decided by [`shield_federation::policy::SharingPolicy::decide`] for the peer's
//! view (the configured peer of the caller's organisation; an organisation that is not a
//! configured peer reads as a partner: TLP:CLEAR only), versions outside
//! `federation.share_collections` are never served, and what leaves has the text a push would
//! send (own objects signed, own sightings pseudonymised, others' objects verbatim). Every page
//! served with objects in it is audited (`federation.serve`, held versions with their reasons).

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use shield_federation::policy::{PeerRelation, PeerView};
use shield_federation::taxii::{Caller, ReadPolicy, ReadScope};
use shield_store::intel::{Reader, StoredObject};
use shield_store::{AuditEntry, Role};

use super::Federation;
use super::egress::{facts, outgoing_text};
use crate::state::SharedState;

/// The node's [`ReadPolicy`]: peers read by the sharing policy, everybody else by the store's
/// TLP rule.
pub struct PeerReads {
    state: SharedState,
    federation: Arc<Federation>,
}

impl PeerReads {
    /// Peer reads of `state`'s node.
    pub fn new(state: SharedState, federation: Arc<Federation>) -> PeerReads {
        PeerReads { state, federation }
    }
}

/// The policy's view of a peer-role caller: the configured peer of its token name and
/// organisation, else of its organisation, else a partner.
pub fn view_of_caller(federation: &Federation, caller: &Caller) -> PeerView {
    let peers = || {
        federation
            .peers
            .iter()
            .filter(|p| p.organisation == caller.org)
    };
    peers()
        .find(|p| p.name == caller.name)
        .or_else(|| peers().next())
        .map(|p| p.view())
        .unwrap_or_else(|| PeerView::new(&caller.name, PeerRelation::Partner, &caller.org))
}

impl ReadPolicy for PeerReads {
    fn scope(&self, caller: &Caller) -> Option<Arc<dyn ReadScope>> {
        if caller.role != Role::Peer {
            return None;
        }
        Some(Arc::new(PeerScope {
            state: Arc::clone(&self.state),
            federation: Arc::clone(&self.federation),
            view: view_of_caller(&self.federation, caller),
            caller: caller.name.clone(),
        }))
    }
}

/// One peer's reads.
pub struct PeerScope {
    state: SharedState,
    federation: Arc<Federation>,
    view: PeerView,
    caller: String,
}

impl PeerScope {
    /// Whether `collection` (an id) is one of the node's shared collections.
    fn is_shared(&self, collection: &str) -> bool {
        self.federation.section.share_collections.iter().any(|c| {
            c == collection
                || matches!(self.state.store.collection(c), Ok(Some(found)) if found.id == collection)
        })
    }
}

impl ReadScope for PeerScope {
    fn reader(&self) -> Reader {
        Reader::new(self.federation.local_org.clone(), Role::Admin, "federation")
    }

    fn serve(&self, collection: &str, objects: Vec<StoredObject>) -> Vec<StoredObject> {
        if objects.is_empty() {
            return objects;
        }
        let shared = self.is_shared(collection);
        let mut served = Vec::with_capacity(objects.len());
        let mut sent = Vec::new();
        let mut held = Vec::new();
        for mut stored in objects {
            if !shared {
                held.push(json!({"id": stored.id, "version": stored.version, "reason": "collection-not-shared"}));
                continue;
            }
            let decision = self
                .federation
                .policy
                .decide(&facts(&self.federation, &stored), &self.view);
            if !decision.send {
                held.push(json!({"id": stored.id, "version": stored.version, "reason": decision.reason.code()}));
                continue;
            }
            let owner = self.federation.owner_identity(&stored.owner_org).to_owned();
            match outgoing_text(&self.federation, &stored, &owner) {
                Ok(text) => {
                    sent.push(json!({"id": stored.id, "version": stored.version, "reason": decision.reason.code()}));
                    stored.json = Some(text);
                    served.push(stored);
                }
                Err(why) => {
                    held.push(json!({"id": stored.id, "version": stored.version, "reason": why}))
                }
            }
        }
        let entry = AuditEntry {
            time: Utc::now(),
            actor: format!("federation (peer {})", self.caller),
            action: "federation.serve".to_owned(),
            target: self.view.name.clone(),
            details: json!({"collection": collection, "objects": Value::Array(sent), "held": Value::Array(held)}),
        };
        if let Err(e) = self.state.store.append_audit(&entry) {
            tracing::error!("cannot write audit entry federation.serve: {e}");
        }
        served
    }
}
