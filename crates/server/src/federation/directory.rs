//! The key directory in the node: a hub publishes its members' keys
//! ([`shield_federation::directory`]) in its inbox at start, to be shared like its other
//! objects; a member trusts the keys its hub vouches for, as entries arrive and again at start
//! from what its inbox holds.

use std::sync::Arc;

use chrono::Utc;
use shield_federation::directory::{VouchedKey, directory_entry, entry_id, learn, vouched_key};
use shield_federation::policy::{NodeRole, PeerRelation};
use shield_federation::signing::verify;
use shield_intel::stix::{StixObject, Timestamp};
use shield_intel::tlp::Tlp;
use shield_store::intel::{IncomingObject, IntelWrite, ObjectQuery, Provenance, Reader};
use shield_store::{IntelStore, Role, StoreError};

use super::Federation;

/// Most directory entries read at start.
const MAX_ENTRIES: usize = 100_000;

fn admin(federation: &Federation) -> Reader {
    Reader::new(federation.local_org.clone(), Role::Admin, "federation")
}

/// The hub's organisation, when this node is a member with a hub peer.
fn hub_of(federation: &Federation) -> Option<&str> {
    if federation.section.role != NodeRole::Member {
        return None;
    }
    federation
        .peers
        .iter()
        .find(|p| p.relation == PeerRelation::Hub)
        .map(|p| p.organisation.as_str())
}

/// On a hub: stores a directory entry for every member peer whose entry is missing or
/// different (a new version), in the inbox, as the hub's own TLP:GREEN object. The number of
/// entries written.
pub fn publish(store: &dyn IntelStore, federation: &Federation) -> Result<usize, StoreError> {
    if federation.section.role != NodeRole::Hub {
        return Ok(0);
    }
    let Some(inbox) = store.collection(&federation.section.inbox)? else {
        return Ok(0);
    };
    let hub = &federation.identity.organisation.identity;
    let mut objects = Vec::new();
    let now = Timestamp::now();
    for peer in federation
        .peers
        .iter()
        .filter(|p| p.relation == PeerRelation::Member)
    {
        let vouched = VouchedKey {
            organisation: peer.organisation.clone(),
            name: peer.name.clone(),
            key: peer.public_key,
            country: peer.country,
        };
        let query = ObjectQuery {
            ids: vec![entry_id(&peer.organisation)],
            limit: 1,
            ..ObjectQuery::new(inbox.id.clone())
        };
        let current = store
            .query_objects(&admin(federation), &query)?
            .objects
            .into_iter()
            .next()
            .and_then(|s| s.json)
            .and_then(|json| StixObject::from_json(json.as_bytes()).ok());
        if current.as_ref().and_then(vouched_key).as_ref() == Some(&vouched) {
            continue;
        }
        let created = current
            .as_ref()
            .and_then(StixObject::created)
            .unwrap_or(now);
        match directory_entry(hub, &vouched, created, now) {
            Ok(entry) => objects.push(IncomingObject::new(entry)),
            Err(e) => tracing::warn!("federation: key directory entry of {}: {e}", peer.name),
        }
    }
    if objects.is_empty() {
        return Ok(0);
    }
    let report = store.put_objects(&IntelWrite {
        collection: inbox.id,
        objects,
        provenance: Provenance {
            source: "federation:key-directory".to_owned(),
            org: federation.local_org.clone(),
            default_tlp: Tlp::Green,
            shared_with: Vec::new(),
        },
        received: Utc::now(),
        status_id: None,
    })?;
    Ok(report.added())
}

/// On a member: trusts the keys that `objects`, received from `origin`, vouch for when
/// `origin` is the member's hub. The number of keys learned.
pub fn learn_from(federation: &Federation, origin: &str, objects: &[&StixObject]) -> usize {
    if hub_of(federation) != Some(origin) {
        return 0;
    }
    let vouched: Vec<VouchedKey> = objects.iter().filter_map(|o| vouched_key(o)).collect();
    if vouched.is_empty() {
        return 0;
    }
    let mut ring = (*federation.keyring()).clone();
    let learned = vouched
        .iter()
        .filter(|v| learn(&mut ring, &federation.configured_keys, v))
        .inspect(|v| {
            tracing::info!(
                "federation: the hub vouches for {} ({}), key {}",
                v.name,
                v.organisation,
                v.key.key_id()
            );
        })
        .count();
    if learned > 0 {
        federation.set_keyring(ring);
    }
    learned
}

/// On a member at start: trusts again the keys of the hub's entries in the inbox (each
/// verified against the configured keys, its origin the hub). The number of keys learned.
pub fn load(store: &dyn IntelStore, federation: &Arc<Federation>) -> Result<usize, StoreError> {
    let Some(hub) = hub_of(federation) else {
        return Ok(0);
    };
    let Some(inbox) = store.collection(&federation.section.inbox)? else {
        return Ok(0);
    };
    let mut query = ObjectQuery {
        types: vec!["identity".to_owned()],
        limit: 1000,
        ..ObjectQuery::new(inbox.id)
    };
    let mut entries = Vec::new();
    let mut read = 0;
    loop {
        let page = store.query_objects(&admin(federation), &query)?;
        read += page.objects.len();
        for stored in page.objects {
            let Some(object) = stored
                .json
                .and_then(|json| StixObject::from_json(json.as_bytes()).ok())
            else {
                continue;
            };
            if verify(&object, &federation.configured_keys)
                .is_ok_and(|origin| origin.organisation == hub)
            {
                entries.push(object);
            }
        }
        match page.next {
            Some(next) if page.more && read < MAX_ENTRIES => query.next = Some(next),
            _ => break,
        }
    }
    let refs: Vec<&StixObject> = entries.iter().collect();
    Ok(learn_from(federation, hub, &refs))
}
