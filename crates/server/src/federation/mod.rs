//! Federation in the node: the node's organisation and key, the push of local and relayed
//! objects to peers ([`egress`]), the admission of what peers send ([`ingress`]), the hub's
//! cross-border correlation, and the propagation latency metric ([`metrics`]).
//!
//! # Design
//!
//! * **The store is the log.** Every object a node offers is in one of its intel collections
//!   (`federation.share_collections`: by default `indicators`, `sightings` and the inbox
//!   `shared`). One task per peer walks each collection from the peer's outbox position, asks the
//!   sharing policy about every version, writes the decisions to the audit log, pushes what may
//!   go with a TAXII add request to the peer's collection, and moves the position only after the
//!   peer accepted. A peer that is down is retried with exponential backoff and catches up from
//!   its position.
//! * **Own objects are signed when they leave**, so what is stored locally stays as it was
//!   written and the same signature (Ed25519 is deterministic) is produced on every push; local
//!   sightings are first turned into shared sightings (personal observables as pseudonyms under
//!   the community key). Objects received from others are relayed as the exact text received.
//! * **One origin per request.** A push groups consecutive versions by owner, so the receiver
//!   records each request under the organisation its signatures prove, not under the token of
//!   the hub that relayed it: policy rule "nothing back to its origin" works at every hop.
//! * **Owners are identity ids.** Locally written objects are owned by `server.organisation` in
//!   the store; the federation speaks of the organisation's STIX identity id, and the two are
//!   mapped at the edge ([`Federation::owner_identity`]).
//! * **Sharing groups** (`[[federation.groups]]` and the peers' `groups`) meet the groups and
//!   organisations an object names in Shield's sharing extension
//!   ([`shield_federation::sharing`]), or, for the hub's incidents, the organisations of the
//!   correlation extension: TLP:AMBER goes only to members named either way.
//! * **Pull, push and stream give the same receivers**: peers' TAXII reads and live feeds go
//!   through the sharing policy ([`reads`]), and the node pulls its peers ([`intake`]).
//! * **The hub vouches for members' keys** ([`directory`]): members configure the hub's key only.

pub mod activation;
pub mod config;
pub mod directory;
pub mod egress;
pub mod ingress;
pub mod intake;
pub mod metrics;
pub mod observed;
pub mod reads;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use shield_federation::correlate::{CorrelationConfig, Correlator};
use shield_federation::identity::{
    Country, Keyring, NodeIdentity, NodeKey, Organisation, derived_identity_id,
};
use shield_federation::peer::{PeerConfig, keyring, validate_peers};
use shield_federation::policy::{NodeRole, SharingPolicy};
use shield_federation::pseudonym::{Classifier, CommunityKey, CommunityKeys};
use shield_store::intel::{Collection, CollectionAccess, Grant};
use shield_store::{IntelStore, Role, StoreError};

use crate::ServerError;
use crate::config::NodeConfig;
pub use config::FederationSection;

/// A node's federation: identity, peers, keys, policy, pseudonyms, correlation, metrics.
pub struct Federation {
    /// The organisation and its key.
    pub identity: NodeIdentity,
    /// Keys this node accepts signatures from (its own, its peers', `trusted_keys`, and keys
    /// its hub vouches for); read with [`Federation::keyring`].
    keys: parking_lot::RwLock<Arc<Keyring>>,
    /// The keys of the configuration alone (own, peers', `trusted_keys`): the directory never
    /// replaces them.
    pub configured_keys: Keyring,
    /// The sharing policy.
    pub policy: SharingPolicy,
    /// The peers.
    pub peers: Vec<PeerConfig>,
    /// Countries of the organisations this node knows (its own, peers', trusted keys').
    pub countries: HashMap<String, Country>,
    /// Classification of observed values in shared sightings.
    pub classifier: Classifier,
    /// Community keys for pseudonyms; sightings are not shared without one.
    pub community: Option<CommunityKeys>,
    /// Cross-border correlation (hubs only).
    pub correlator: Option<Mutex<Correlator>>,
    /// Propagation latency of received indicators.
    pub latency: metrics::Histogram,
    /// When received indicators become active.
    pub activation: activation::Activation,
    /// Wakes the push tasks (something was stored).
    pub wake: tokio::sync::Notify,
    /// Counts stores of intelligence; live feeds wait on it.
    pub changes: tokio::sync::watch::Sender<u64>,
    /// Turns true when the node stops: live feeds end so the HTTP server can drain.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// `server.organisation`: the owner of locally written objects in the store.
    pub local_org: String,
    /// The section it was built from.
    pub section: FederationSection,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("organisation", &self.identity.organisation)
            .field("key_id", &self.identity.key.public_key().key_id())
            .field("peers", &self.peers.len())
            .finish()
    }
}

fn config_error(key: impl Into<String>, message: impl Into<String>) -> ServerError {
    ServerError::Config {
        key: key.into(),
        message: message.into(),
    }
}

impl Federation {
    /// The federation of `config`, `None` when `federation.enabled` is false. Reads the node
    /// key and the community key; every problem names the key (the key file by its path).
    pub fn from_config(
        config: &NodeConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Federation>, ServerError> {
        let section = &config.federation;
        if !section.enabled {
            return Ok(None);
        }
        section
            .validate()
            .map_err(|(key, message)| config_error(key, message))?;
        let country = Country::parse(&section.country)
            .ok_or_else(|| config_error("federation.country", "not a country code"))?;
        let identity_id = section
            .identity
            .clone()
            .unwrap_or_else(|| derived_identity_id(&section.organisation));
        let organisation = Organisation::new(&section.organisation, &identity_id, country)
            .map_err(|e| config_error("federation.organisation", e.to_string()))?;
        let key_path = section.key_path(&config.server.data_dir);
        let key = NodeKey::read_file(&key_path).map_err(|e| {
            config_error(
                "federation.key_file",
                format!(
                    "{e} (create the node key with `shield keys generate --data {}`)",
                    config.server.data_dir.display()
                ),
            )
        })?;
        let identity = NodeIdentity { organisation, key };
        validate_peers(
            &section.peers,
            &identity.organisation.identity,
            section.role == NodeRole::Hub,
        )
        .map_err(|e| {
            config_error(
                format!("federation.peers[{}]", e.index),
                format!("{} ({})", e.reason, e.name),
            )
        })?;
        for (i, peer) in section.peers.iter().enumerate() {
            if peer.token.is_none() && peer.token_env.as_deref().and_then(env).is_none() {
                return Err(config_error(
                    format!("federation.peers[{i}].token"),
                    format!("peer {}: no token (set token or token_env)", peer.name),
                ));
            }
        }
        let mut ring = keyring(&identity, &section.peers);
        let mut countries = HashMap::new();
        countries.insert(identity.organisation.identity.clone(), country);
        for peer in &section.peers {
            if let Some(c) = peer.country {
                countries.insert(peer.organisation.clone(), c);
            }
        }
        for trusted in &section.trusted_keys {
            ring.insert(&trusted.organisation, trusted.public_key);
            if let Some(c) = trusted.country {
                countries.insert(trusted.organisation.clone(), c);
            }
        }
        let classifier = Classifier::new(&section.personal_data)
            .map_err(|e| config_error("federation.personal_data", e.to_string()))?;
        let community = community_keys(section, env)?;
        if community.is_none() {
            tracing::warn!(
                "federation: no community key (federation.community_key_env or \
                 community_key_file): sightings are not shared"
            );
        }
        let correlator = (section.role == NodeRole::Hub).then(|| {
            Mutex::new(Correlator::new(
                CorrelationConfig {
                    min_organisations: section.correlation.min_organisations,
                    min_countries: section.correlation.min_countries,
                    window: std::time::Duration::from_secs(section.correlation.window_secs),
                    ..CorrelationConfig::default()
                },
                &identity.organisation.identity,
            ))
        });
        let policy = SharingPolicy::new(&identity.organisation.identity, section.role);
        let mut peers = section.peers.clone();
        shield_federation::sharing::apply_groups(&mut peers, &section.groups);
        Ok(Some(Federation {
            configured_keys: ring.clone(),
            keys: parking_lot::RwLock::new(Arc::new(ring)),
            policy,
            peers,
            countries,
            classifier,
            community,
            correlator,
            latency: metrics::Histogram::propagation(),
            activation: activation::Activation::default(),
            wake: tokio::sync::Notify::new(),
            changes: tokio::sync::watch::Sender::new(0),
            closing: tokio::sync::watch::Sender::new(false),
            local_org: config.server.organisation.clone(),
            section: section.clone(),
            identity,
        }))
    }

    /// The identity id of a stored object's owner: the organisation's for locally written ones
    /// (owned by `server.organisation` or by the federation organisation's name).
    pub fn owner_identity<'a>(&'a self, owner_org: &'a str) -> &'a str {
        if owner_org == self.local_org || owner_org == self.identity.organisation.name {
            &self.identity.organisation.identity
        } else {
            owner_org
        }
    }

    /// The keys this node accepts signatures from, as they are now.
    pub fn keyring(&self) -> Arc<Keyring> {
        Arc::clone(&self.keys.read())
    }

    /// Replaces the keyring (keys learned from the hub's key directory).
    pub fn set_keyring(&self, keyring: Keyring) {
        *self.keys.write() = Arc::new(keyring);
    }

    /// Something was stored: wakes the push tasks and the live feeds.
    pub fn notify_stored(&self) {
        self.wake.notify_waiters();
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether `owner` (an identity id) is this node's organisation.
    pub fn is_own(&self, owner: &str) -> bool {
        owner == self.identity.organisation.identity
    }

    /// Creates the inbox collection (readable by peers and analysts, writable by peers) when
    /// it does not exist.
    pub fn ensure_inbox(&self, store: &dyn IntelStore) -> Result<(), StoreError> {
        let alias = &self.section.inbox;
        if store.collection(alias)?.is_some() {
            return Ok(());
        }
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("shield:collection:{alias}").as_bytes(),
        )
        .to_string();
        store.ensure_collection(&Collection {
            id,
            alias: Some(alias.clone()),
            title: "Shared with the community".to_owned(),
            description: Some(
                "Objects received from peers, and objects this node shares with them.".to_owned(),
            ),
            access: CollectionAccess {
                read: vec![Grant::Role(Role::Peer), Grant::Role(Role::Analyst)],
                write: vec![Grant::Role(Role::Peer)],
            },
        })?;
        Ok(())
    }
}

/// The community keys from `community_key`, `community_key_env` or `community_key_file`.
fn community_keys(
    section: &FederationSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<CommunityKeys>, ServerError> {
    let (key, secret) = if let Some(s) = &section.community_key {
        ("federation.community_key", s.0.clone())
    } else if let Some(var) = &section.community_key_env {
        match env(var) {
            Some(s) => ("federation.community_key_env", s),
            None => {
                return Err(config_error(
                    "federation.community_key_env",
                    format!("environment variable {var} is not set"),
                ));
            }
        }
    } else if let Some(path) = &section.community_key_file {
        let text =
            read_secret_file(path).map_err(|e| config_error("federation.community_key_file", e))?;
        ("federation.community_key_file", text)
    } else {
        return Ok(None);
    };
    let key_id = &section.community_key_id;
    let community =
        CommunityKey::from_base64(key_id, secret.trim()).map_err(|e| config_error(key, e))?;
    let keys = CommunityKeys::new(vec![community], key_id)
        .map_err(|e| config_error("federation.community_key_id", e.to_string()))?;
    Ok(Some(keys))
}

fn read_secret_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 4096 {
        return Err(format!("{}: larger than 4096 bytes", path.display()));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts the node's federation tasks: one push task per peer (push links), the intake tasks
/// (pulls and live-feed subscriptions) and the activation task.
pub fn spawn_tasks(
    state: &crate::state::SharedState,
    federation: &Arc<Federation>,
    shutdown: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let env = |var: &str| std::env::var(var).ok();
    let mut tasks = egress::spawn_push_tasks(state, federation, shutdown, &env);
    tasks.extend(intake::spawn_intake_tasks(
        state, federation, shutdown, &env,
    ));
    let (closing, mut stop) = (Arc::clone(federation), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        let _ = stop.wait_for(|s| *s).await;
        closing.closing.send_replace(true);
    }));
    tasks.push(activation::spawn_activation_task(
        state,
        federation,
        shutdown.clone(),
    ));
    tasks
}

/// The federation of `config` at node start (`None` when disabled): loads it (environment from
/// the process) and creates the inbox collection.
pub fn start_federation(
    config: &NodeConfig,
    store: &dyn IntelStore,
) -> Result<Option<Arc<Federation>>, ServerError> {
    let Some(federation) = Federation::from_config(config, &|var| std::env::var(var).ok())? else {
        return Ok(None);
    };
    federation.ensure_inbox(store)?;
    let published = directory::publish(store, &federation)?;
    if published > 0 {
        tracing::info!("federation: {published} key directory entries published");
    }
    let federation = Arc::new(federation);
    let learned = directory::load(store, &federation)?;
    if learned > 0 {
        tracing::info!("federation: {learned} keys vouched for by the hub");
    }
    tracing::info!(
        "federation: {} ({}, {}) as {:?}, key {}, {} peers",
        federation.identity.organisation.name,
        federation.identity.organisation.identity,
        federation.identity.organisation.country,
        federation.section.role,
        federation.identity.key.public_key().key_id(),
        federation.peers.len()
    );
    Ok(Some(federation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_federation::identity::NodeKey;

    fn node_config(dir: &Path, federation: &str) -> NodeConfig {
        let text = format!(
            "[server]\ndata_dir = \"{}\"\norganisation = \"ee-cert\"\n\n[federation]\n{federation}",
            dir.display()
        );
        NodeConfig::from_toml(&text).unwrap()
    }

    fn error_key(result: Result<Option<Federation>, ServerError>) -> (String, String) {
        match result {
            Err(ServerError::Config { key, message }) => (key, message),
            Err(e) => panic!("not a configuration error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    const MEMBER: &str = "enabled = true\norganisation = \"ee-cert\"\ncountry = \"EE\"\n";

    fn hub_peer(token: &str) -> String {
        let key = NodeKey::from_seed([7; 32]).public_key().to_config_string();
        format!(
            "\n[[federation.peers]]\nname = \"hub\"\nurl = \"http://127.0.0.1:1/taxii2/shield/\"\n\
             relation = \"hub\"\norganisation = \"{}\"\npublic_key = \"{key}\"\n{token}",
            derived_identity_id("eu-hub")
        )
    }

    #[test]
    fn disabled_federation_needs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = node_config(dir.path(), "enabled = false\n");
        assert!(
            Federation::from_config(&config, &|_| None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_missing_key_names_the_key_file_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let config = node_config(dir.path(), MEMBER);
        let (key, message) = error_key(Federation::from_config(&config, &|_| None));
        assert_eq!(key, "federation.key_file");
        assert!(message.contains("node-key.pem"), "{message}");
        assert!(message.contains("shield keys generate"), "{message}");
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for (text, expected) in [
            (
                "enabled = true\ncountry = \"EE\"\n",
                "federation.organisation",
            ),
            (
                "enabled = true\norganisation = \"x\"\ncountry = \"Estonia\"\n",
                "federation.country",
            ),
            (
                &format!("{MEMBER}batch_size = 0\n"),
                "federation.batch_size",
            ),
        ] {
            let text = format!(
                "[server]\ndata_dir = \"{}\"\n\n[federation]\n{text}",
                dir.path().display()
            );
            match NodeConfig::from_toml(&text) {
                Err(ServerError::Config { key, .. }) => assert_eq!(key, expected),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn peers_need_a_token_and_community_keys_their_source() {
        let dir = tempfile::tempdir().unwrap();
        NodeKey::generate()
            .unwrap()
            .write_file(&dir.path().join(config::DEFAULT_KEY_FILE), false)
            .unwrap();
        let config = node_config(dir.path(), &format!("{MEMBER}{}", hub_peer("")));
        let (key, message) = error_key(Federation::from_config(&config, &|_| None));
        assert_eq!(key, "federation.peers[0].token");
        assert!(message.contains("hub"), "{message}");

        let with_env = format!("{MEMBER}{}", hub_peer("token_env = \"HUB_TOKEN\"\n"));
        let config = node_config(dir.path(), &with_env);
        let env = |var: &str| (var == "HUB_TOKEN").then(|| "secret".to_owned());
        let federation = Federation::from_config(&config, &env).unwrap().unwrap();
        assert!(federation.community.is_none());
        assert_eq!(federation.keyring().len(), 2, "own key and the hub's");
        assert!(federation.correlator.is_none(), "members do not correlate");
        assert_eq!(
            federation.owner_identity("ee-cert"),
            derived_identity_id("ee-cert")
        );

        let missing = with_env.replace(
            "country = \"EE\"\n",
            "country = \"EE\"\ncommunity_key_env = \"COMMUNITY\"\n",
        );
        let config = node_config(dir.path(), &missing);
        let (key, _) = error_key(Federation::from_config(&config, &env));
        assert_eq!(key, "federation.community_key_env");

        let short = with_env.replace(
            "country = \"EE\"\n",
            "country = \"EE\"\ncommunity_key = \"c2hvcnQ=\"\n",
        );
        let config = node_config(dir.path(), &short);
        let (key, message) = error_key(Federation::from_config(&config, &env));
        assert_eq!(key, "federation.community_key");
        assert!(message.contains("at least"), "{message}");
    }
}
