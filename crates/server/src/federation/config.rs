//! `[federation]`: who this node is in its community, its key, its peers, pseudonyms and (on a
//! hub) correlation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shield_federation::feed::Secret;
use shield_federation::identity::{Country, PublicKey};
use shield_federation::peer::PeerConfig;
use shield_federation::policy::NodeRole;
use shield_federation::pseudonym::PersonalDataConfig;
use shield_federation::sharing::{GroupConfig, validate_groups};

/// File name of the node key in the data directory when `federation.key_file` is not set.
pub const DEFAULT_KEY_FILE: &str = "node-key.pem";

/// `[federation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationSection {
    /// Share with and receive from peers.
    pub enabled: bool,
    /// The organisation's name (its STIX identity id derives from it unless `identity` is set).
    pub organisation: String,
    /// The organisation's STIX identity id, when it is not derived from the name.
    pub identity: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the organisation.
    pub country: String,
    /// `member` or `hub`.
    pub role: NodeRole,
    /// The node's Ed25519 key (PKCS#8 PEM); `<data_dir>/node-key.pem` when unset.
    pub key_file: Option<PathBuf>,
    /// Local collections whose objects are offered to peers.
    pub share_collections: Vec<String>,
    /// Local collection received objects go to (created at start, writable by peers).
    pub inbox: String,
    /// Versions read per push.
    pub batch_size: usize,
    /// Milliseconds between checks for new objects to push.
    pub push_interval_ms: u64,
    /// Seconds between pulls from each peer (the safety net behind push and stream); 0: never.
    pub pull_interval_secs: u64,
    /// Community key for pseudonyms: id.
    pub community_key_id: String,
    /// Community key secret (base64); prefer `community_key_env` or `community_key_file`.
    pub community_key: Option<Secret>,
    /// Environment variable holding the community key (base64).
    pub community_key_env: Option<String>,
    /// File holding the community key (base64).
    pub community_key_file: Option<PathBuf>,
    /// What counts as personal or internal in shared sightings.
    pub personal_data: PersonalDataConfig,
    /// Cross-border correlation (hub).
    pub correlation: CorrelationSection,
    /// Peers this node pushes to and receives from.
    pub peers: Vec<PeerConfig>,
    /// Keys of organisations this node receives relayed objects from without peering with them.
    pub trusted_keys: Vec<TrustedKeyConfig>,
    /// Sharing groups: names and their organisations (merged with the peers' own `groups`).
    pub groups: Vec<GroupConfig>,
}

/// `[[federation.trusted_keys]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyConfig {
    /// The organisation's STIX identity id.
    pub organisation: String,
    /// Its public key (`ed25519:<base64>` or SPKI PEM).
    pub public_key: PublicKey,
    /// Its country (a hub needs it to correlate).
    #[serde(default)]
    pub country: Option<Country>,
}

/// `[federation.correlation]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorrelationSection {
    /// Distinct organisations needed.
    pub min_organisations: usize,
    /// Distinct countries needed among them.
    pub min_countries: usize,
    /// Window in seconds.
    pub window_secs: u64,
}

impl Default for CorrelationSection {
    fn default() -> Self {
        CorrelationSection {
            min_organisations: 2,
            min_countries: 2,
            window_secs: 24 * 3600,
        }
    }
}

impl Default for FederationSection {
    fn default() -> Self {
        FederationSection {
            enabled: false,
            organisation: String::new(),
            identity: None,
            country: String::new(),
            role: NodeRole::Member,
            key_file: None,
            share_collections: vec![
                crate::intel::INDICATORS.to_owned(),
                crate::intel::SIGHTINGS.to_owned(),
                "shared".to_owned(),
            ],
            inbox: "shared".to_owned(),
            batch_size: 500,
            push_interval_ms: 200,
            pull_interval_secs: 60,
            community_key_id: "community-1".to_owned(),
            community_key: None,
            community_key_env: None,
            community_key_file: None,
            personal_data: PersonalDataConfig::default(),
            correlation: CorrelationSection::default(),
            peers: Vec::new(),
            trusted_keys: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl FederationSection {
    /// The key file: `key_file`, else `node-key.pem` in `data_dir`.
    pub fn key_path(&self, data_dir: &Path) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(DEFAULT_KEY_FILE))
    }

    /// Checks what parses but cannot work, naming the key (`federation.<key>`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, message: &str| Err((format!("federation.{key}"), message.to_owned()));
        if !self.enabled {
            return Ok(());
        }
        if self.organisation.trim().is_empty() {
            return bad("organisation", "must be set when federation is enabled");
        }
        if Country::parse(&self.country).is_none() {
            return bad("country", "an ISO 3166-1 alpha-2 code such as EE");
        }
        if let Some(id) = &self.identity {
            if shield_intel::stix::identifier_type(id) != Some("identity") {
                return bad("identity", "not a STIX identity id");
            }
        }
        if self.batch_size == 0 || self.batch_size > 10_000 {
            return bad("batch_size", "1 to 10000");
        }
        if self.push_interval_ms == 0 || self.push_interval_ms > 3_600_000 {
            return bad("push_interval_ms", "1 to 3600000");
        }
        if self.pull_interval_secs > 86_400 {
            return bad("pull_interval_secs", "0 (never) to 86400");
        }
        if self.share_collections.is_empty() {
            return bad("share_collections", "name at least one collection");
        }
        if self.inbox.trim().is_empty() {
            return bad("inbox", "must not be empty");
        }
        if self.correlation.min_organisations < 2 {
            return bad("correlation.min_organisations", "at least 2");
        }
        if self.correlation.window_secs == 0 {
            return bad("correlation.window_secs", "at least 1");
        }
        validate_groups(&self.groups)?;
        for (i, t) in self.trusted_keys.iter().enumerate() {
            if shield_intel::stix::identifier_type(&t.organisation) != Some("identity") {
                return Err((
                    format!("federation.trusted_keys[{i}].organisation"),
                    "not a STIX identity id".to_owned(),
                ));
            }
        }
        Ok(())
    }
}
