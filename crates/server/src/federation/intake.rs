//! Intake from peers: the periodic pull (the safety net behind push) and the live-feed
//! subscription of `stream` links.
//!
//! One task per peer and pulled collection (`pull_collections`, by default the peer's
//! `indicators`, `sightings` and `shared`). Its position is the peer's `date_added` of the last
//! page applied, `federation:<peer>:<collection>:added_after` in the `StateStore`, written after
//! the page: the pull reuses [`shield_federation::feed::pull_pages`], the stream continues from
//! the same position, so a link that switches between them neither skips nor repeats more than
//! a page. What arrives is applied like a push ([`apply`]): every object must verify against the
//! keyring (refusals audited as `federation.reject`), is stored in the inbox under the
//! organisation that signed it, idempotently by (id, version), and the ingress hook makes it
//! live (indicators), correlates it (hub) or raises incident alerts (members).
//!
//! * `transport = "push"`: a pull now and every `federation.pull_interval_secs` (never when 0).
//! * `transport = "stream"`: the peer's live feed, reconnected from the position after a
//!   disconnection; when it cannot be opened or breaks, a pull catches up before the next
//!   attempt (backoff 1 s doubling to 30 s).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use shield_federation::FederationError;
use shield_federation::client::{TaxiiClient, Url};
use shield_federation::feed::{PageSink, PullSource, pull_pages};
use shield_federation::peer::{PeerConfig, Transport};
use shield_federation::signing::{ProvenanceError, verify};
use shield_federation::taxii::{Admission, Caller};
use shield_store::intel::{IncomingObject, IntelWrite, Provenance};
use shield_store::{AuditEntry, Role, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Federation;
use super::egress::peer_client;
use super::ingress::PeerAdmission;
use crate::state::SharedState;

/// Objects per pull request.
const PULL_PAGE: usize = 500;
/// Longest wait between attempts to open a peer's live feed.
const MAX_STREAM_BACKOFF: Duration = Duration::from_secs(30);

/// What one batch of received objects did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// New versions stored.
    pub added: usize,
    /// Versions already stored (or this node's own objects coming back).
    pub duplicates: usize,
    /// Objects refused (no valid signature of a trusted key).
    pub refused: usize,
}

/// Stores objects received from `peer` (by pull or stream, `via`) as a push would: each must
/// verify; consecutive objects of one origin are one store write under that origin, followed
/// by the ingress hook. Runs on a blocking thread.
pub fn apply(
    state: &SharedState,
    federation: &Arc<Federation>,
    peer: &PeerConfig,
    via: &str,
    objects: Vec<IncomingObject>,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let Some(inbox) = state.store.collection(&federation.section.inbox)? else {
        return Err(StoreError::InvalidInput {
            field: "federation.inbox",
            reason: format!("no collection '{}'", federation.section.inbox),
        });
    };
    let caller = Caller {
        name: peer.name.clone(),
        org: peer.organisation.clone(),
        role: Role::Peer,
    };
    let admission = PeerAdmission::new(Arc::clone(state), Arc::clone(federation));
    // Runs of one origin are stored as one write each; an object signed with an unknown key
    // is verified again once the run before it is stored, so keys the hub's directory vouches
    // for apply to the objects after the entry.
    let mut group: Option<(String, Vec<IncomingObject>)> = None;
    let store_group = |group: Option<(String, Vec<IncomingObject>)>,
                       applied: &mut Applied|
     -> Result<(), StoreError> {
        let Some((origin, objects)) = group else {
            return Ok(());
        };
        let write = IntelWrite {
            collection: inbox.id.clone(),
            objects,
            provenance: Provenance {
                source: format!("peer:{}", peer.name),
                org: origin,
                default_tlp: state.config.taxii.server.default_tlp,
                shared_with: vec![
                    federation.local_org.clone(),
                    federation.identity.organisation.identity.clone(),
                ],
            },
            received: Utc::now(),
            status_id: None,
        };
        let report = state.store.put_objects(&write)?;
        applied.added += report.added();
        applied.duplicates += report.duplicates();
        if report.added() > 0 {
            admission.stored(&caller, &inbox, &write, &report);
        }
        Ok(())
    };
    for incoming in objects {
        let object = incoming.object();
        let mut verdict = verify(object, &federation.keyring());
        if matches!(verdict, Err(ProvenanceError::UnknownKey { .. })) && group.is_some() {
            // The objects before it may be the directory entry that vouches for its key.
            store_group(group.take(), &mut applied)?;
            verdict = verify(object, &federation.keyring());
        }
        match verdict {
            Ok(origin) if federation.is_own(&origin.organisation) => applied.duplicates += 1,
            Ok(origin) => match group.as_mut() {
                Some((o, list)) if *o == origin.organisation => list.push(incoming),
                _ => {
                    store_group(group.take(), &mut applied)?;
                    group = Some((origin.organisation, vec![incoming]));
                }
            },
            Err(e) => {
                applied.refused += 1;
                tracing::warn!(
                    "federation: refused {} from {} ({via}): {e}",
                    object.id(),
                    peer.name
                );
                let entry = AuditEntry {
                    time: Utc::now(),
                    actor: format!("{} (peer)", peer.name),
                    action: "federation.reject".to_owned(),
                    target: object.id().to_owned(),
                    details: json!({"via": via, "collection": inbox.id, "reason": e.to_string()}),
                };
                if let Err(e) = state.store.append_audit(&entry) {
                    tracing::error!("cannot write audit entry federation.reject: {e}");
                }
            }
        }
    }
    store_group(group.take(), &mut applied)?;
    Ok(applied)
}

/// Starts the intake tasks: per peer and pulled collection, a periodic pull (`push` links, when
/// `pull_interval_secs` > 0) or a live-feed subscription (`stream` links).
pub fn spawn_intake_tasks(
    state: &SharedState,
    federation: &Arc<Federation>,
    shutdown: &watch::Receiver<bool>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<JoinHandle<()>> {
    let interval = federation.section.pull_interval_secs;
    let mut tasks = Vec::new();
    for peer in &federation.peers {
        if peer.transport == Transport::Push && interval == 0 {
            continue;
        }
        let Some((client, url)) = peer_client(peer, env, Duration::from_secs(60)) else {
            continue;
        };
        for collection in &peer.pull_collections {
            let intake = Intake {
                state: Arc::clone(state),
                federation: Arc::clone(federation),
                peer: peer.clone(),
                client: client.clone(),
                url: url.clone(),
                collection: collection.clone(),
            };
            tasks.push(tokio::spawn(intake.run(shutdown.clone())));
        }
    }
    tasks
}

/// One peer collection pulled or streamed.
struct Intake {
    state: SharedState,
    federation: Arc<Federation>,
    peer: PeerConfig,
    client: TaxiiClient,
    url: Url,
    collection: String,
}

impl Intake {
    fn cursor_key(&self) -> String {
        format!(
            "federation:{}:{}:added_after",
            self.peer.name, self.collection
        )
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let interval = Duration::from_secs(self.federation.section.pull_interval_secs);
        match self.peer.transport {
            Transport::Push => loop {
                self.pull().await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.changed() => return,
                }
            },
            Transport::Stream => {
                let mut backoff = Duration::from_secs(1);
                loop {
                    if *shutdown.borrow() {
                        return;
                    }
                    match self.stream(&mut shutdown).await {
                        // The peer ended the stream (its lifetime): reconnect at once.
                        Ok(()) => {
                            backoff = Duration::from_secs(1);
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(
                                "federation: live feed of {} ({}): {e}; pulling instead",
                                self.peer.name,
                                self.collection
                            );
                            self.pull().await;
                        }
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(MAX_STREAM_BACKOFF);
                }
            }
        }
    }

    /// Stores one page of received objects on a blocking thread.
    async fn apply(
        &self,
        via: &'static str,
        objects: Vec<IncomingObject>,
    ) -> Result<Applied, FederationError> {
        let (state, federation, peer) = (
            Arc::clone(&self.state),
            Arc::clone(&self.federation),
            self.peer.clone(),
        );
        tokio::task::spawn_blocking(move || apply(&state, &federation, &peer, via, objects))
            .await
            .map_err(|e| {
                FederationError::Store(StoreError::InvalidInput {
                    field: "federation intake",
                    reason: e.to_string(),
                })
            })?
            .map_err(FederationError::from)
    }

    /// Pulls what the peer's collection added after the position.
    async fn pull(&self) {
        let key = self.cursor_key();
        let source = PullSource {
            name: &self.peer.name,
            api_root: &self.url,
            collection: &self.collection,
            cursor_key: &key,
            page_size: PULL_PAGE,
            types: &[],
            all_versions: true,
        };
        let state: Arc<dyn shield_store::StateStore> = self.state.store.clone();
        let (node, federation, peer) = (
            Arc::clone(&self.state),
            Arc::clone(&self.federation),
            self.peer.clone(),
        );
        let sink: PageSink = Arc::new(move |objects| {
            let applied = apply(&node, &federation, &peer, "pull", objects)?;
            Ok((applied.added, applied.duplicates + applied.refused))
        });
        let result = pull_pages(&self.client, &source, state, sink).await;
        match result {
            Ok(r) if r.added > 0 => tracing::info!(
                peer = %self.peer.name, collection = %self.collection, pages = r.pages,
                added = r.added, duplicates = r.duplicates, "federation: pulled"
            ),
            Ok(_) => {}
            // A peer without this collection has nothing to pull from it.
            Err(FederationError::Server { status: 404, .. }) => tracing::debug!(
                "federation: {} has no collection {}",
                self.peer.name,
                self.collection
            ),
            Err(e) => tracing::warn!(
                "federation: pull from {} ({}) failed: {e}",
                self.peer.name,
                self.collection
            ),
        }
    }

    /// Follows the peer's live feed from the position until it ends, fails, or the node stops.
    async fn stream(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), FederationError> {
        let key = self.cursor_key();
        let store = self.state.store.clone();
        let read_key = key.clone();
        let cursor = tokio::task::spawn_blocking(move || store.get_state(&read_key))
            .await
            .map_err(|e| {
                FederationError::Store(StoreError::InvalidInput {
                    field: "federation intake",
                    reason: e.to_string(),
                })
            })??;
        let mut events = self
            .client
            .open_stream(&self.url, &self.collection, cursor.as_deref())
            .await?;
        tracing::info!(
            "federation: following the live feed of {} ({})",
            self.peer.name,
            self.collection
        );
        loop {
            let page = tokio::select! {
                page = events.next_page() => page?,
                _ = shutdown.changed() => return Ok(()),
            };
            let Some(page) = page else {
                return Ok(());
            };
            for e in &page.invalid {
                tracing::warn!("federation: invalid object from {}: {e}", self.peer.name);
            }
            if !page.objects.is_empty() {
                self.apply("stream", page.objects).await?;
            }
            let (store, key, value) = (self.state.store.clone(), key.clone(), page.cursor);
            tokio::task::spawn_blocking(move || store.set_state(&key, &value))
                .await
                .map_err(|e| {
                    FederationError::Store(StoreError::InvalidInput {
                        field: "federation intake",
                        reason: e.to_string(),
                    })
                })??;
        }
    }
}
