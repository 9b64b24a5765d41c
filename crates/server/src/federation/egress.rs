//! Egress: one push task per peer over the node's shared collections (peers on a `stream`
//! link subscribe to the node's live feed instead).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use shield_federation::FederationError;
use shield_federation::client::{ClientOptions, Credentials, TaxiiClient};
use shield_federation::correlate::CORRELATION_EXTENSION_ID;
use shield_federation::outbox::{Backoff, Batch, PeerOutbox, facts_of_stored};
use shield_federation::peer::{PeerConfig, Transport};
use shield_federation::policy::{ObjectFacts, PeerView};
use shield_federation::pseudonym::{ObservedValue, SIGHTING_EXTENSION_ID, share_sighting};
use shield_federation::sharing::{SHARING_EXTENSION_ID, with_named_recipients};
use shield_federation::signing::sign;
use shield_intel::stix::StixObject;
use shield_store::intel::{Reader, StoredObject};
use shield_store::{AuditEntry, Role, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Federation;
use crate::state::SharedState;

pub use super::observed::OBSERVED_PROPERTY;

/// Largest number of observed values read from one local sighting.
const MAX_OBSERVED_READ: usize = 64;

/// Starts one push task per peer; each stops when `shutdown` changes.
pub fn spawn_push_tasks(
    state: &SharedState,
    federation: &Arc<Federation>,
    shutdown: &watch::Receiver<bool>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for peer in &federation.peers {
        if peer.transport == Transport::Stream {
            // The peer subscribes to this node's live feed instead.
            continue;
        }
        let Some((client, url)) = peer_client(peer, env, Duration::from_secs(30)) else {
            continue;
        };
        let pusher = Pusher {
            state: Arc::clone(state),
            federation: Arc::clone(federation),
            peer: peer.clone(),
            view: peer.view(),
            client,
            url,
            backoff: Backoff::default(),
            outboxes: HashMap::new(),
        };
        tasks.push(tokio::spawn(pusher.run(shutdown.clone())));
    }
    tasks
}

/// The TAXII client (bearer token from the peer's `token` or `token_env`) and base URL for
/// `peer`; `None`, logged, when either cannot be made.
pub(super) fn peer_client(
    peer: &PeerConfig,
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> Option<(TaxiiClient, shield_federation::client::Url)> {
    let token = peer
        .token
        .as_ref()
        .map(|s| s.0.clone())
        .or_else(|| peer.token_env.as_deref().and_then(env));
    let client = TaxiiClient::new(ClientOptions {
        credentials: token.map_or(Credentials::None, Credentials::Bearer),
        timeout,
        ..ClientOptions::default()
    })
    .map_err(|e| {
        tracing::error!(
            "federation: peer {}: cannot build the client: {e}",
            peer.name
        );
    })
    .ok()?;
    let url = shield_federation::client::Url::parse(&peer.url)
        .map_err(|e| tracing::error!("federation: peer {}: url: {e}", peer.name))
        .ok()?;
    Some((client, url))
}

struct Pusher {
    state: SharedState,
    federation: Arc<Federation>,
    peer: PeerConfig,
    view: PeerView,
    client: TaxiiClient,
    url: shield_federation::client::Url,
    backoff: Backoff,
    outboxes: HashMap<String, PeerOutbox>,
}

/// A batch read and prepared for one peer: texts grouped by origin, plus what could not go.
struct Prepared {
    batch: Batch,
    groups: Vec<(String, Vec<String>, Vec<Value>)>,
    unsendable: Vec<Value>,
}

impl Pusher {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let interval = Duration::from_millis(self.federation.section.push_interval_ms);
        loop {
            for collection in self.federation.section.share_collections.clone() {
                if *shutdown.borrow() {
                    return;
                }
                self.drain(&collection).await;
            }
            tokio::select! {
                _ = self.federation.wake.notified() => {}
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Pushes everything after the peer's position in `collection`, batch by batch, until the
    /// log is drained or a push fails (then the outbox waits for its backoff).
    async fn drain(&mut self, collection: &str) {
        if !self.outboxes.contains_key(collection) {
            let state = Arc::clone(&self.state);
            let (peer, c) = (self.peer.name.clone(), collection.to_owned());
            let loaded = tokio::task::spawn_blocking(move || {
                let store = state.store.as_ref();
                // A collection that does not exist yet has nothing to push.
                Ok::<_, String>(match store.collection(&c).map_err(|e| e.to_string())? {
                    None => None,
                    Some(found) => {
                        Some(PeerOutbox::load(store, &peer, &found.id).map_err(|e| e.to_string())?)
                    }
                })
            })
            .await;
            match loaded {
                Ok(Ok(Some(outbox))) => {
                    self.outboxes.insert(collection.to_owned(), outbox);
                }
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::warn!(
                        "federation: outbox of {} ({collection}): {e}",
                        self.peer.name
                    );
                    return;
                }
                Err(_) => return,
            }
        }
        loop {
            let Some(outbox) = self.outboxes.get(collection).cloned() else {
                return;
            };
            if !outbox.is_due(Utc::now()) {
                return;
            }
            let state = Arc::clone(&self.state);
            let federation = Arc::clone(&self.federation);
            let view = self.view.clone();
            let prepared = tokio::task::spawn_blocking(move || {
                prepare(state.store.as_ref(), &federation, &view, &outbox)
            })
            .await;
            let prepared = match prepared {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    tracing::warn!(
                        "federation: reading for {} ({collection}): {e}",
                        self.peer.name
                    );
                    return;
                }
                Err(_) => return,
            };
            if prepared.batch.is_empty() {
                return;
            }
            let mut sent = Vec::new();
            let mut refused = Vec::new();
            let mut failure = None;
            for (origin, texts, decisions) in &prepared.groups {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                match self
                    .client
                    .add_objects(&self.url, &self.peer.collection, &refs)
                    .await
                {
                    Ok(status) => sent.push(json!({
                        "origin": origin,
                        "added": status.success_count,
                        "already_there": status.failure_count,
                        "objects": decisions,
                    })),
                    // The peer refused these objects for good (its admission or validation):
                    // retrying cannot help, so they are recorded and skipped.
                    Err(FederationError::Server {
                        status,
                        title,
                        description,
                        ..
                    }) if (400..500).contains(&status) && !matches!(status, 401 | 408 | 429) => {
                        refused.push(json!({
                            "origin": origin,
                            "status": status,
                            "title": title,
                            "description": description,
                            "objects": decisions,
                        }))
                    }
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            let Some(outbox) = self.outboxes.get_mut(collection) else {
                return;
            };
            let state = Arc::clone(&self.state);
            let actor = format!("federation (peer {})", self.peer.name);
            let target = self.peer.name.clone();
            let collection_name = collection.to_owned();
            let audit = move |action: &str, details: Value| {
                let entry = AuditEntry {
                    time: Utc::now(),
                    actor: actor.clone(),
                    action: action.to_owned(),
                    target: target.clone(),
                    details,
                };
                if let Err(e) = state.store.append_audit(&entry) {
                    tracing::error!("cannot write audit entry {action}: {e}");
                }
            };
            if let Some(error) = failure {
                let at = outbox.failed(Utc::now(), &self.backoff);
                tracing::warn!(
                    "federation: push to {} failed ({error}); retry at {at}",
                    self.peer.name
                );
                // What already went is recorded; the rest is read again at the retry.
                if !sent.is_empty() {
                    let details = json!({"collection": collection_name, "pushes": sent});
                    let _ = tokio::task::spawn_blocking(move || audit("federation.share", details))
                        .await;
                }
                return;
            }
            let mut done = outbox.clone();
            let store_state = Arc::clone(&self.state);
            let held: Vec<Value> = prepared
                .batch
                .held
                .iter()
                .map(|h| json!({"id": h.id, "version": h.version, "reason": h.decision.reason.code(), "why": h.decision.reason.to_string()}))
                .collect();
            let unsendable = prepared.unsendable;
            let batch = prepared.batch;
            let more = batch.more;
            let acked = tokio::task::spawn_blocking(move || {
                if !sent.is_empty() {
                    audit(
                        "federation.share",
                        json!({"collection": collection_name, "pushes": sent}),
                    );
                }
                if !refused.is_empty() {
                    audit(
                        "federation.refused_by_peer",
                        json!({"collection": collection_name, "pushes": refused}),
                    );
                }
                if !held.is_empty() || !unsendable.is_empty() {
                    audit(
                        "federation.hold",
                        json!({"collection": collection_name, "held": held, "unsendable": unsendable}),
                    );
                }
                done.acknowledge(store_state.store.as_ref(), &batch)
                    .map(|()| done)
            })
            .await;
            match acked {
                Ok(Ok(done)) => {
                    self.outboxes.insert(collection.to_owned(), done);
                }
                Ok(Err(e)) => {
                    tracing::error!(
                        "federation: cannot save the outbox of {}: {e}",
                        self.peer.name
                    );
                    return;
                }
                Err(_) => return,
            }
            if !more {
                return;
            }
        }
    }
}

/// The policy's facts of a stored version: its owner as an identity id, the groups and
/// organisations its sharing extension names, and the organisations a hub's correlation report
/// names (its recipients).
pub fn facts(federation: &Federation, stored: &StoredObject) -> ObjectFacts {
    let mut facts = facts_of_stored(stored);
    facts.owner = federation.owner_identity(&stored.owner_org).to_owned();
    if let Some(json) = stored.json.as_deref() {
        if json.contains(SHARING_EXTENSION_ID) {
            if let Ok(object) = StixObject::from_json(json.as_bytes()) {
                facts = with_named_recipients(facts, &object);
            }
        }
        if json.contains(CORRELATION_EXTENSION_ID) {
            if let Ok(object) = StixObject::from_json(json.as_bytes()) {
                if let Some(orgs) = object
                    .extension(CORRELATION_EXTENSION_ID)
                    .and_then(|e| e.get("organisations"))
                    .and_then(Value::as_array)
                {
                    facts = facts.shared_with(orgs.iter().filter_map(Value::as_str));
                }
            }
        }
    }
    facts
}

/// Reads the next batch for `view`, decides every version, and prepares the texts to push.
fn prepare(
    store: &dyn Store,
    federation: &Federation,
    view: &PeerView,
    outbox: &PeerOutbox,
) -> Result<Prepared, String> {
    let reader = Reader::new(federation.local_org.clone(), Role::Admin, "federation");
    let batch = outbox
        .next_batch(store, &reader, federation.section.batch_size, |s| {
            federation.policy.decide(&facts(federation, s), view)
        })
        .map_err(|e| e.to_string())?;
    let mut groups: Vec<(String, Vec<String>, Vec<Value>)> = Vec::new();
    let mut unsendable = Vec::new();
    for (stored, decision) in &batch.send {
        let owner = federation.owner_identity(&stored.owner_org).to_owned();
        match outgoing_text(federation, stored, &owner) {
            Ok(text) => {
                let record = json!({
                    "id": stored.id, "version": stored.version,
                    "reason": decision.reason.code(),
                });
                match groups.last_mut() {
                    Some((o, texts, records)) if *o == owner => {
                        texts.push(text);
                        records.push(record);
                    }
                    _ => groups.push((owner, vec![text], vec![record])),
                }
            }
            Err(reason) => unsendable.push(json!({
                "id": stored.id, "version": stored.version, "reason": reason,
            })),
        }
    }
    Ok(Prepared {
        batch,
        groups,
        unsendable,
    })
}

/// The text pushed for a stored version: own objects signed (local sightings first shared with
/// pseudonyms), others' objects as received.
pub(crate) fn outgoing_text(
    federation: &Federation,
    stored: &StoredObject,
    owner: &str,
) -> Result<String, String> {
    let json = stored
        .json
        .as_deref()
        .ok_or_else(|| "no stored text".to_owned())?;
    if !federation.is_own(owner) {
        return Ok(json.to_owned());
    }
    let object = StixObject::from_json(json.as_bytes()).map_err(|e| e.to_string())?;
    let object =
        if object.type_name() == "sighting" && object.extension(SIGHTING_EXTENSION_ID).is_none() {
            let keys = federation
                .community
                .as_ref()
                .ok_or_else(|| "no community key: sightings are not shared".to_owned())?;
            let observed = observed_values(&object);
            share_sighting(
                &object,
                &observed,
                &federation.identity.organisation.identity,
                &federation.classifier,
                keys,
            )
            .map_err(|e| e.to_string())?
        } else {
            object
        };
    let signed = sign(object, &federation.identity).map_err(|e| e.to_string())?;
    Ok(signed.to_json())
}

/// The values a local sighting observed ([`OBSERVED_PROPERTY`]).
pub fn observed_values(sighting: &StixObject) -> Vec<ObservedValue> {
    sighting
        .property(OBSERVED_PROPERTY)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .take(MAX_OBSERVED_READ)
                .filter_map(|item| {
                    let kind = item.get("type")?.as_str()?;
                    let value = item.get("value")?.as_str()?;
                    Some(ObservedValue::new(kind, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use shield_federation::identity::{Keyring, NodeKey, derived_identity_id};
    use shield_federation::signing::verify;
    use shield_intel::tlp::Tlp;

    const HOST: &str = "ws-042.corp.local";

    fn federation(dir: &std::path::Path) -> Federation {
        NodeKey::generate()
            .unwrap()
            .write_file(&dir.join(super::super::config::DEFAULT_KEY_FILE), false)
            .unwrap();
        let text = format!(
            "[server]\ndata_dir = \"{}\"\norganisation = \"ee-cert\"\n\n[federation]\nenabled = true\n\
             organisation = \"ee-cert\"\ncountry = \"EE\"\n\
             community_key = \"c2hpZWxkLXRlc3QtY29tbXVuaXR5LWtleS0wMTIzNDU=\"\n",
            dir.display()
        );
        let config = NodeConfig::from_toml(&text).unwrap();
        Federation::from_config(&config, &|_| None)
            .unwrap()
            .unwrap()
    }

    fn stored(json: Value, owner: &str) -> StoredObject {
        let object = StixObject::from_value(json).unwrap();
        StoredObject {
            collection: "c".into(),
            id: object.id().to_owned(),
            type_name: object.type_name().to_owned(),
            spec_version: "2.1".into(),
            version: "2026-01-01T00:00:00.000Z".into(),
            date_added: Utc::now(),
            tlp: shield_intel::tlp::tlp_of(&object).unwrap_or(Tlp::Amber),
            owner_org: owner.to_owned(),
            source: "test".into(),
            received: Utc::now(),
            revoked: false,
            valid_until: None,
            json: Some(object.to_json()),
        }
    }

    fn own_keyring(f: &Federation) -> Keyring {
        let mut ring = Keyring::new();
        ring.insert(
            &f.identity.organisation.identity,
            f.identity.key.public_key(),
        );
        ring
    }

    #[test]
    fn own_objects_leave_signed_and_sightings_pseudonymised() {
        let dir = tempfile::tempdir().unwrap();
        let f = federation(dir.path());
        let own = f.identity.organisation.identity.clone();
        let indicator = stored(
            json!({"type": "indicator", "spec_version": "2.1",
                "id": "indicator--00000000-0000-4000-8000-000000000001",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": "[domain-name:value = 'c2.example.net']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00.000Z"}),
            "ee-cert",
        );
        assert_eq!(facts(&f, &indicator).owner, own);
        let text = outgoing_text(&f, &indicator, &own).unwrap();
        let sent = StixObject::from_json(text.as_bytes()).unwrap();
        assert_eq!(verify(&sent, &own_keyring(&f)).unwrap().organisation, own);

        let sighting = stored(
            json!({"type": "sighting", "spec_version": "2.1",
                "id": "sighting--00000000-0000-4000-8000-000000000002",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001",
                "description": format!("seen on {HOST}"),
                "x_shield_observed": [{"type": "domain-name", "value": HOST},
                                      {"type": "domain-name", "value": "c2.example.net"}]}),
            "ee-cert",
        );
        let text = outgoing_text(&f, &sighting, &own).unwrap();
        assert!(!text.contains(HOST), "{text}");
        assert!(text.contains("hmac-sha256:"), "{text}");
        assert!(
            text.contains("c2.example.net"),
            "public values stay: {text}"
        );
        let sent = StixObject::from_json(text.as_bytes()).unwrap();
        assert!(verify(&sent, &own_keyring(&f)).is_ok());
    }

    #[test]
    fn others_objects_leave_verbatim_and_incidents_name_their_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let f = federation(dir.path());
        let lv = derived_identity_id("lv-cert");
        let relayed = stored(
            json!({"type": "indicator", "spec_version": "2.1",
                "id": "indicator--00000000-0000-4000-8000-000000000003",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00.000Z"}),
            &lv,
        );
        let text = outgoing_text(&f, &relayed, &lv).unwrap();
        assert_eq!(Some(text.as_str()), relayed.json.as_deref());
        assert_eq!(facts(&f, &relayed).owner, lv);

        let report = stored(
            json!({"type": "report", "spec_version": "2.1",
                "id": "report--00000000-0000-4000-8000-000000000004",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "name": "x", "published": "2026-01-01T00:00:00.000Z",
                "object_refs": ["indicator--00000000-0000-4000-8000-000000000003"],
                "extensions": {CORRELATION_EXTENSION_ID: {
                    "extension_type": "property-extension", "key": "k",
                    "organisations": [lv.clone()], "countries": ["LV"]}}}),
            "ee-cert",
        );
        let recipients = facts(&f, &report).shared_with;
        assert_eq!(recipients.into_iter().collect::<Vec<_>>(), vec![lv]);
    }
}
