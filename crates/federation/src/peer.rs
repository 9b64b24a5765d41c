//! Peers as the configuration declares them (`[[federation.peers]]`).
//!
//! ```toml
//! [[federation.peers]]
//! name = "baltic-hub"
//! url = "https://hub.example:8443/taxii2/shield/"
//! relation = "hub"                      # own-node | hub | member | partner
//! organisation = "identity--…"
//! country = "LV"
//! public_key = "ed25519:…"              # or the PEM text
//! groups = ["baltic"]                   # sharing groups the peer's organisation is in
//! token_env = "SHIELD_HUB_TOKEN"        # or token = "…"
//! transport = "push"                    # push (default) | stream: the link's live transport
//! pull_collections = ["indicators", "sightings", "shared"]   # read by the periodic pull
//! ```
//!
//! **Transports.** With `push` (the default) each side posts what the other may receive to the
//! other's `collection` as soon as it is stored. With `stream` neither side pushes on the link:
//! each subscribes to the other's live feed (server-sent events) of its `pull_collections`,
//! resuming from its cursor after a disconnection and pulling when the feed is unavailable. In
//! both cases each node also pulls the peer's `pull_collections` every
//! `federation.pull_interval_secs`, the safety net for whatever a push missed.
//!
//! A peer gives the sharing policy its [`PeerView`] and the keyring its organisation's key; the
//! hub distributes members' keys by listing them as peers of its own.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::feed::Secret;
use crate::identity::{Country, Keyring, NodeIdentity, PublicKey};
use crate::policy::{PeerRelation, PeerView};

/// Largest number of peers one node declares.
pub const MAX_PEERS: usize = 1_000;

/// One `[[federation.peers]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Unique name (audit records, outbox positions, `peer:<name>` provenance).
    pub name: String,
    /// The peer's TAXII API root URL.
    pub url: String,
    /// What the peer is to this node.
    pub relation: PeerRelation,
    /// The peer's organisation (STIX identity id).
    pub organisation: String,
    /// The peer's country (the hub's correlation needs it for members).
    #[serde(default)]
    pub country: Option<Country>,
    /// The key the peer's organisation signs with.
    pub public_key: PublicKey,
    /// Sharing groups the peer's organisation belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Object types this peer takes (every type when absent).
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// Lowest confidence this peer takes.
    #[serde(default)]
    pub min_confidence: Option<u8>,
    /// The peer's collection to push to (id or alias).
    #[serde(default = "default_collection")]
    pub collection: String,
    /// Bearer token for the peer.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// How objects travel on the link as they are stored: push, or the peer's live feed.
    #[serde(default)]
    pub transport: Transport,
    /// The peer's collections this node pulls (and streams) from.
    #[serde(default = "default_pull_collections")]
    pub pull_collections: Vec<String>,
}

/// How objects travel on a link as soon as they are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Each side posts (TAXII add) to the other.
    #[default]
    Push,
    /// Each side subscribes to the other's live feed (server-sent events); nobody pushes.
    Stream,
}

fn default_collection() -> String {
    "shared".into()
}

/// The collections a peer is pulled from by default: a Shield node's shared collections.
pub fn default_pull_collections() -> Vec<String> {
    ["indicators", "sightings", "shared"]
        .map(str::to_owned)
        .to_vec()
}

/// A peer list that cannot be used; names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("federation.peers[{index}] ({name}): {reason}")]
pub struct PeerConfigError {
    /// Position in the list.
    pub index: usize,
    /// The entry's name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl PeerConfig {
    /// The policy's view of the peer.
    pub fn view(&self) -> PeerView {
        PeerView {
            name: self.name.clone(),
            relation: self.relation,
            organisation: self.organisation.clone(),
            groups: self.groups.iter().cloned().collect(),
            types: self
                .types
                .as_ref()
                .map(|t| t.iter().cloned().collect::<BTreeSet<_>>()),
            min_confidence: self.min_confidence,
        }
    }
}

/// Checks a peer list against this node's own organisation: unique names of letters, digits,
/// `-`, `_`, `.`; HTTP(S) URLs; identity ids; an own node of this organisation and no other
/// peer of it; members with a country on a hub (`needs_country`); at most one hub.
pub fn validate_peers(
    peers: &[PeerConfig],
    own_organisation: &str,
    needs_country: bool,
) -> Result<(), PeerConfigError> {
    let fail = |index: usize, peer: &PeerConfig, reason: &str| PeerConfigError {
        index,
        name: peer.name.clone(),
        reason: reason.to_owned(),
    };
    if peers.len() > MAX_PEERS {
        return Err(PeerConfigError {
            index: MAX_PEERS,
            name: String::new(),
            reason: format!("at most {MAX_PEERS} peers"),
        });
    }
    let mut names = BTreeSet::new();
    let mut hubs = 0;
    for (i, peer) in peers.iter().enumerate() {
        let name_ok = !peer.name.is_empty()
            && peer.name.len() <= 64
            && peer
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !name_ok {
            return Err(fail(i, peer, "name: 1 to 64 of A-Z a-z 0-9 - _ ."));
        }
        if !names.insert(peer.name.as_str()) {
            return Err(fail(i, peer, "name used twice"));
        }
        match reqwest::Url::parse(&peer.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => return Err(fail(i, peer, "url: not an http(s) URL")),
        }
        if shield_intel::stix::identifier_type(&peer.organisation) != Some("identity") {
            return Err(fail(i, peer, "organisation: not an identity id"));
        }
        let own = peer.organisation == own_organisation;
        match (peer.relation, own) {
            (PeerRelation::OwnNode, false) => {
                return Err(fail(i, peer, "own-node of another organisation"));
            }
            (PeerRelation::OwnNode, true) => {}
            (_, true) => {
                return Err(fail(i, peer, "our own organisation must be an own-node"));
            }
            (PeerRelation::Hub, false) => hubs += 1,
            _ => {}
        }
        if hubs > 1 {
            return Err(fail(i, peer, "a second hub"));
        }
        if peer.pull_collections.len() > 16
            || peer
                .pull_collections
                .iter()
                .any(|c| c.is_empty() || c.contains(['/', '?', '#']))
        {
            return Err(fail(
                i,
                peer,
                "pull_collections: at most 16 collection ids or aliases",
            ));
        }
        if needs_country && peer.relation == PeerRelation::Member && peer.country.is_none() {
            return Err(fail(i, peer, "country: a hub needs its members' countries"));
        }
    }
    Ok(())
}

/// The keyring of a node: its own key, for its organisation, and every peer's.
pub fn keyring(own: &NodeIdentity, peers: &[PeerConfig]) -> Keyring {
    let mut ring = Keyring::new();
    for peer in peers {
        ring.insert(&peer.organisation, peer.public_key);
    }
    ring.insert(&own.organisation.identity, own.key.public_key());
    ring
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{NodeKey, Organisation};

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";
    const LV: &str = "identity--00000000-0000-4000-8000-00000000001e";
    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";

    fn parse(text: &str) -> Vec<PeerConfig> {
        #[derive(Deserialize)]
        struct File {
            peers: Vec<PeerConfig>,
        }
        toml::from_str::<File>(text).unwrap().peers
    }

    fn config() -> String {
        let hub_key = NodeKey::from_seed([1; 32]).public_key().to_config_string();
        let lv_key = NodeKey::from_seed([2; 32]).public_key().to_pem();
        format!(
            r#"
[[peers]]
name = "hub"
url = "https://hub.example:8443/taxii2/shield/"
relation = "hub"
organisation = "{HUB}"
public_key = "{hub_key}"
token_env = "HUB_TOKEN"

[[peers]]
name = "lv"
url = "http://127.0.0.1:9001/taxii2/shield/"
relation = "member"
organisation = "{LV}"
country = "lv"
public_key = """{lv_key}"""
groups = ["baltic"]
types = ["indicator", "sighting"]
min_confidence = 60
"#
        )
    }

    #[test]
    fn peers_from_toml() {
        let peers = parse(&config());
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0].collection, "shared");
        assert_eq!(peers[0].relation, PeerRelation::Hub);
        assert_eq!(peers[1].country, Country::parse("LV"));
        assert_eq!(
            peers[1].public_key,
            NodeKey::from_seed([2; 32]).public_key()
        );
        let view = peers[1].view();
        assert!(view.groups.contains("baltic"));
        assert_eq!(view.min_confidence, Some(60));
        assert!(view.types.unwrap().contains("sighting"));
        assert!(validate_peers(&peers, EE, true).is_ok());
        let own = NodeIdentity {
            organisation: Organisation::new("CERT-EE", EE, Country::parse("EE").unwrap()).unwrap(),
            key: NodeKey::from_seed([3; 32]),
        };
        let ring = keyring(&own, &peers);
        assert_eq!(ring.len(), 3);
        assert_eq!(
            ring.get(peers[0].public_key.key_id()).unwrap().organisation,
            HUB
        );
        assert_eq!(ring.keys_of(EE).count(), 1);
        let bad_key = config().replace("ed25519:", "ed25519:AAAA");
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            peers: Vec<PeerConfig>,
        }
        assert!(toml::from_str::<File>(&bad_key).is_err());
    }

    type Edit = Box<dyn Fn(&mut Vec<PeerConfig>)>;

    #[test]
    fn invalid_peer_lists_name_the_entry() {
        let peers = parse(&config());
        let cases: [(Edit, &str); 8] = [
            (
                Box::new(|p| p[1].name = "hub".into()),
                "[1] (hub): name used twice",
            ),
            (Box::new(|p| p[1].name = "l v".into()), "name: 1 to 64"),
            (
                Box::new(|p| p[0].url = "ftp://hub".into()),
                "[0] (hub): url",
            ),
            (
                Box::new(|p| p[1].organisation = "LV".into()),
                "not an identity id",
            ),
            (
                Box::new(|p| p[1].relation = PeerRelation::OwnNode),
                "own-node of another organisation",
            ),
            (
                Box::new(|p| p[1].organisation = EE.into()),
                "must be an own-node",
            ),
            (
                Box::new(|p| p[1].relation = PeerRelation::Hub),
                "a second hub",
            ),
            (Box::new(|p| p[1].country = None), "country"),
        ];
        for (edit, expected) in cases {
            let mut list = peers.clone();
            edit(&mut list);
            let err = validate_peers(&list, EE, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
        let mut list = peers.clone();
        list[1].country = None;
        assert!(
            validate_peers(&list, EE, false).is_ok(),
            "members need no country"
        );
    }
}
