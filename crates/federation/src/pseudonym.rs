//! Pseudonymised sightings: personal and internal observables leave a node only as keyed
//! pseudonyms.
//!
//! * A [`Classifier`] (built from [`PersonalDataConfig`]) says whether an observed value is
//!   [`Class::Personal`] (internal addresses, user accounts, internal host names, e-mail addresses
//!   of the organisation's domains, MAC addresses) or [`Class::Public`] (the attacker's address,
//!   a malware hash).
//! * [`CommunityKeys`] turn a personal value into `hmac-sha256:<key id>:<64 hex digits>`: HMAC-SHA256
//!   under a key every member of the community holds, over `<kind>:<normalised value>` (`ip-addr` for both address families). Equal
//!   values at two members give equal pseudonyms, so the hub correlates them without seeing them;
//!   anyone without the key learns nothing. Keys rotate: several are known, one is current; a
//!   pseudonym names its key, so a member can still recognise its own values under an older one.
//! * [`share_sighting`] turns a local sighting and the values it observed into the sighting a
//!   node shares: only an allow-list of properties is kept (no free text, no references to local
//!   objects), the sighter is the organisation, and the observed values ride in Shield's sighting
//!   extension ([`SIGHTING_EXTENSION_ID`]), public ones as they are, personal ones as pseudonyms.
//!
//! Normalisation before hashing: IP addresses in canonical form (an IPv4-mapped IPv6 address is
//! its IPv4 address), names and e-mail addresses and accounts lower-cased and trimmed, host names
//! without a trailing dot, MAC addresses as lower-case colon-separated hex.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use shield_intel::stix::{StixError, StixObject};
use uuid::Uuid;

use crate::identity::SHIELD_NAMESPACE;
use crate::signing::SHIELD_IDENTITY_ID;

/// The id of Shield's shared-sighting extension definition.
pub const SIGHTING_EXTENSION_ID: &str =
    "extension-definition--739be2b2-6903-4b82-a43a-b4de3689cb26";
/// Prefix of every pseudonym.
pub const PSEUDONYM_PREFIX: &str = "hmac-sha256:";
/// Shortest community key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;
/// Most observed values one shared sighting carries.
pub const MAX_OBSERVED: usize = 1_000;

/// What can go wrong configuring or applying pseudonymisation.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymError {
    /// A configuration entry that cannot be used.
    #[error("{field}[{index}]: {reason}")]
    Config {
        /// The configuration key.
        field: &'static str,
        /// The entry's position in it.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The current key id names no configured key.
    #[error("current community key {0:?} is not among the configured keys")]
    NoCurrentKey(String),
    /// The local object is not a sighting.
    #[error("{0}: not a sighting")]
    NotASighting(String),
    /// Too many observed values for one sighting.
    #[error("{object_id}: {count} observed values, at most {MAX_OBSERVED}")]
    TooManyObserved {
        /// The sighting.
        object_id: String,
        /// How many were given.
        count: usize,
    },
    /// The shared sighting did not validate.
    #[error(transparent)]
    Stix(#[from] StixError),
}

/// The kinds of observed values a sighting reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObservableKind {
    /// `ipv4-addr`.
    Ipv4Addr,
    /// `ipv6-addr`.
    Ipv6Addr,
    /// `domain-name`, also host names.
    DomainName,
    /// `email-addr`.
    EmailAddr,
    /// `user-account` (its `account_login` or `user_id`).
    UserAccount,
    /// `mac-addr`.
    MacAddr,
    /// `url`.
    Url,
    /// Any other observable (file hashes, file names, user agents…): public.
    Other,
}

impl ObservableKind {
    /// The kind of a STIX cyber-observable type.
    pub fn from_stix_type(object_type: &str) -> ObservableKind {
        match object_type {
            "ipv4-addr" => ObservableKind::Ipv4Addr,
            "ipv6-addr" => ObservableKind::Ipv6Addr,
            "domain-name" => ObservableKind::DomainName,
            "email-addr" => ObservableKind::EmailAddr,
            "user-account" => ObservableKind::UserAccount,
            "mac-addr" => ObservableKind::MacAddr,
            "url" => ObservableKind::Url,
            _ => ObservableKind::Other,
        }
    }

    /// The tag hashed before the value: the STIX type, except that IPv4 and IPv6 addresses share
    /// `ip-addr` (an IPv4-mapped IPv6 address is its IPv4 address).
    fn hash_tag(self) -> &'static str {
        match self {
            ObservableKind::Ipv4Addr | ObservableKind::Ipv6Addr => "ip-addr",
            other => other.as_str(),
        }
    }

    /// The STIX type name (`other` for [`ObservableKind::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Ipv4Addr => "ipv4-addr",
            ObservableKind::Ipv6Addr => "ipv6-addr",
            ObservableKind::DomainName => "domain-name",
            ObservableKind::EmailAddr => "email-addr",
            ObservableKind::UserAccount => "user-account",
            ObservableKind::MacAddr => "mac-addr",
            ObservableKind::Url => "url",
            ObservableKind::Other => "other",
        }
    }
}

/// Whether a value may travel as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Public: shared as the value.
    Public,
    /// Personal or internal: shared as a pseudonym only.
    Personal,
}

/// What counts as personal or internal (`[federation.personal_data]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalDataConfig {
    /// Networks whose addresses are internal (CIDR or single addresses).
    pub internal_networks: Vec<String>,
    /// The organisation's own DNS domains: host names under them and e-mail addresses at them
    /// are personal.
    pub organisation_domains: Vec<String>,
    /// Suffixes of internal host names.
    pub internal_suffixes: Vec<String>,
    /// Whether single-label host names (`WS-042`) are internal.
    pub bare_host_names: bool,
    /// Whether user accounts are personal.
    pub user_accounts: bool,
    /// Whether MAC addresses are personal.
    pub mac_addresses: bool,
}

impl Default for PersonalDataConfig {
    /// Private, shared (CGNAT), loopback, link-local and unspecified IPv4 and IPv6 ranges,
    /// common internal suffixes, bare host names, user accounts and MAC addresses.
    fn default() -> Self {
        let networks = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "0.0.0.0/32",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
            "::/128",
        ];
        let suffixes = [
            "local",
            "localdomain",
            "lan",
            "internal",
            "intranet",
            "corp",
            "home.arpa",
        ];
        PersonalDataConfig {
            internal_networks: networks.map(str::to_owned).to_vec(),
            organisation_domains: Vec::new(),
            internal_suffixes: suffixes.map(str::to_owned).to_vec(),
            bare_host_names: true,
            user_accounts: true,
            mac_addresses: true,
        }
    }
}

/// The classification rules, ready to apply.
#[derive(Debug, Clone)]
pub struct Classifier {
    networks: Vec<IpNet>,
    /// Organisation domains and internal suffixes, lower case, without dots at the ends.
    organisation_domains: Vec<String>,
    internal_suffixes: Vec<String>,
    bare_host_names: bool,
    user_accounts: bool,
    mac_addresses: bool,
}

fn clean_domain(text: &str) -> String {
    text.trim().trim_matches('.').to_ascii_lowercase()
}

impl Classifier {
    /// Compiles a configuration; a bad entry is named by key and position.
    pub fn new(config: &PersonalDataConfig) -> Result<Classifier, PseudonymError> {
        let mut networks = Vec::with_capacity(config.internal_networks.len());
        for (index, text) in config.internal_networks.iter().enumerate() {
            let text = text.trim();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| PseudonymError::Config {
                    field: "internal_networks",
                    index,
                    reason: format!("not a CIDR network or address: {text:?}"),
                })?;
            networks.push(net.trunc());
        }
        let domains = |field: &'static str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(index, d)| {
                    let d = clean_domain(d);
                    if d.is_empty() || d.len() > 253 || d.contains(char::is_whitespace) {
                        Err(PseudonymError::Config {
                            field,
                            index,
                            reason: "not a domain name".into(),
                        })
                    } else {
                        Ok(d)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Classifier {
            networks,
            organisation_domains: domains("organisation_domains", &config.organisation_domains)?,
            internal_suffixes: domains("internal_suffixes", &config.internal_suffixes)?,
            bare_host_names: config.bare_host_names,
            user_accounts: config.user_accounts,
            mac_addresses: config.mac_addresses,
        })
    }

    /// The class of a value of `kind`.
    pub fn classify(&self, kind: ObservableKind, value: &str) -> Class {
        let personal = match kind {
            ObservableKind::Ipv4Addr | ObservableKind::Ipv6Addr => match parse_ip(value) {
                Some(ip) => self.is_internal_ip(ip),
                // A value that is not an address cannot be judged: keep it home.
                None => true,
            },
            ObservableKind::DomainName => self.is_internal_host(value),
            ObservableKind::EmailAddr => match value.trim().rsplit_once('@') {
                Some((_, domain)) => {
                    let domain = clean_domain(domain);
                    under_any(&domain, &self.organisation_domains)
                        || under_any(&domain, &self.internal_suffixes)
                }
                None => true,
            },
            ObservableKind::UserAccount => self.user_accounts,
            ObservableKind::MacAddr => self.mac_addresses,
            ObservableKind::Url => match url_host(value) {
                Some(host) => match parse_ip(host) {
                    Some(ip) => self.is_internal_ip(ip),
                    None => self.is_internal_host(host),
                },
                None => true,
            },
            ObservableKind::Other => false,
        };
        if personal {
            Class::Personal
        } else {
            Class::Public
        }
    }

    fn is_internal_ip(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&ip))
    }

    fn is_internal_host(&self, host: &str) -> bool {
        let host = clean_domain(host);
        (self.bare_host_names && !host.contains('.'))
            || under_any(&host, &self.organisation_domains)
            || under_any(&host, &self.internal_suffixes)
    }
}

/// Whether `name` is one of `domains` or under one.
fn under_any(name: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        name == d
            || (name.len() > d.len()
                && name.ends_with(d.as_str())
                && name.as_bytes()[name.len() - d.len() - 1] == b'.')
    })
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// The host of a URL (`scheme://[user@]host[:port]/…`), without brackets for IPv6.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    let host = host_port.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// The form a value is hashed in, so that equal values give equal pseudonyms everywhere.
pub fn normalise(kind: ObservableKind, value: &str) -> String {
    match kind {
        ObservableKind::Ipv4Addr | ObservableKind::Ipv6Addr => match parse_ip(value) {
            Some(ip) => ip.to_string(),
            None => value.trim().to_ascii_lowercase(),
        },
        ObservableKind::DomainName => clean_domain(value),
        ObservableKind::MacAddr => {
            let hex: String = value
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            if hex.len() == 12 {
                hex.as_bytes()
                    .chunks(2)
                    .map(|pair| String::from_utf8_lossy(pair).into_owned())
                    .collect::<Vec<_>>()
                    .join(":")
            } else {
                value.trim().to_ascii_lowercase()
            }
        }
        ObservableKind::EmailAddr | ObservableKind::UserAccount => value.trim().to_lowercase(),
        ObservableKind::Url | ObservableKind::Other => value.trim().to_owned(),
    }
}

/// One community key: an id (`[A-Za-z0-9._-]`, 1 to 32 characters) and a secret.
#[derive(Clone)]
pub struct CommunityKey {
    id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for CommunityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CommunityKey({})", self.id)
    }
}

impl CommunityKey {
    /// A key of at least [`MIN_KEY_BYTES`] secret bytes.
    pub fn new(id: &str, secret: &[u8]) -> Result<CommunityKey, String> {
        let id_ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(format!(
                "key id {id:?}: 1 to 32 characters of A-Z a-z 0-9 . _ -"
            ));
        }
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "key {id}: {} secret bytes, at least {MIN_KEY_BYTES}",
                secret.len()
            ));
        }
        Ok(CommunityKey {
            id: id.to_owned(),
            secret: secret.to_vec(),
        })
    }

    /// A key whose secret is given in base64 (as in the configuration).
    pub fn from_base64(id: &str, secret: &str) -> Result<CommunityKey, String> {
        let bytes = STANDARD
            .decode(secret.trim())
            .map_err(|e| format!("key {id}: secret is not base64: {e}"))?;
        CommunityKey::new(id, &bytes)
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The pseudonym of a value of `kind` under this key.
    pub fn pseudonymise(&self, kind: ObservableKind, value: &str) -> String {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            // HMAC takes keys of any length.
            Err(_) => unreachable!("HMAC refused a key"),
        };
        mac.update(kind.hash_tag().as_bytes());
        mac.update(b":");
        mac.update(normalise(kind, value).as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(PSEUDONYM_PREFIX.len() + self.id.len() + 65);
        out.push_str(PSEUDONYM_PREFIX);
        out.push_str(&self.id);
        out.push(':');
        for b in digest.iter() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The key id a pseudonym names, when it is one.
pub fn pseudonym_key_id(pseudonym: &str) -> Option<&str> {
    let rest = pseudonym.strip_prefix(PSEUDONYM_PREFIX)?;
    let (id, hex) = rest.split_once(':')?;
    (hex.len() == 64 && hex.bytes().all(|b| HEX.contains(&b))).then_some(id)
}

/// The community's keys: one current (used to pseudonymise), the others kept to recognise older
/// pseudonyms until they are retired.
#[derive(Debug, Clone)]
pub struct CommunityKeys {
    keys: Vec<CommunityKey>,
    current: usize,
}

impl CommunityKeys {
    /// The keys, with `current` naming the one to use.
    pub fn new(keys: Vec<CommunityKey>, current: &str) -> Result<CommunityKeys, PseudonymError> {
        let current = keys
            .iter()
            .position(|k| k.id == current)
            .ok_or_else(|| PseudonymError::NoCurrentKey(current.to_owned()))?;
        Ok(CommunityKeys { keys, current })
    }

    /// The current key.
    pub fn current(&self) -> &CommunityKey {
        &self.keys[self.current]
    }

    /// Makes another configured key current (rotation); `false` when no key has that id.
    pub fn rotate_to(&mut self, key_id: &str) -> bool {
        match self.keys.iter().position(|k| k.id == key_id) {
            Some(i) => {
                self.current = i;
                true
            }
            None => false,
        }
    }

    /// Adds a key (replacing one with the same id).
    pub fn add(&mut self, key: CommunityKey) {
        match self.keys.iter().position(|k| k.id == key.id) {
            Some(i) => self.keys[i] = key,
            None => self.keys.push(key),
        }
    }

    /// Forgets a key; the current key cannot be retired (`false`).
    pub fn retire(&mut self, key_id: &str) -> bool {
        let Some(i) = self.keys.iter().position(|k| k.id == key_id) else {
            return false;
        };
        if i == self.current {
            return false;
        }
        self.keys.remove(i);
        if i < self.current {
            self.current -= 1;
        }
        true
    }

    /// The pseudonym of a value under the current key.
    pub fn pseudonymise(&self, kind: ObservableKind, value: &str) -> String {
        self.current().pseudonymise(kind, value)
    }

    /// Whether `pseudonym` is the pseudonym of this value under the key it names (a member
    /// recognising its own values in what the hub reports).
    pub fn matches(&self, pseudonym: &str, kind: ObservableKind, value: &str) -> bool {
        let Some(id) = pseudonym_key_id(pseudonym) else {
            return false;
        };
        self.keys
            .iter()
            .find(|k| k.id == id)
            .is_some_and(|k| k.pseudonymise(kind, value) == pseudonym)
    }
}

/// A value a local sighting observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedValue {
    /// Its kind.
    pub kind: ObservableKind,
    /// The value as observed.
    pub value: String,
}

impl ObservedValue {
    /// A value of the STIX type `object_type`.
    pub fn new(object_type: &str, value: &str) -> ObservedValue {
        ObservedValue {
            kind: ObservableKind::from_stix_type(object_type),
            value: value.to_owned(),
        }
    }
}

/// What a shared sighting says it observed: a value or a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedObservation {
    /// A public value.
    Value {
        /// The STIX type (`other` for kinds outside the list).
        object_type: String,
        /// The value.
        value: String,
    },
    /// A pseudonymised value.
    Pseudonym {
        /// The STIX type.
        object_type: String,
        /// `hmac-sha256:<key id>:<hex>`.
        pseudonym: String,
    },
}

impl SharedObservation {
    /// The text the hub correlates on: the pseudonym, or `<type>:<value>`.
    pub fn correlation_key(&self) -> String {
        match self {
            SharedObservation::Value { object_type, value } => format!("{object_type}:{value}"),
            SharedObservation::Pseudonym { pseudonym, .. } => pseudonym.clone(),
        }
    }
}

/// Properties of a local sighting that a shared sighting keeps; everything else (descriptions,
/// custom properties, references to local observed data and places) stays home.
const SHARED_PROPERTIES: [&str; 11] = [
    "type",
    "spec_version",
    "created",
    "modified",
    "sighting_of_ref",
    "first_seen",
    "last_seen",
    "count",
    "confidence",
    "object_marking_refs",
    "revoked",
];

/// The sighting `organisation` shares for its local `sighting` that observed `observed`:
/// allow-listed properties, `where_sighted_refs` = the organisation, `created_by_ref` = the
/// organisation, the observed values (public ones as values, personal ones as pseudonyms under
/// the current community key) in the extension [`SIGHTING_EXTENSION_ID`]. Its id is derived from
/// the local id, so sharing a new version of the local sighting updates the same shared object.
pub fn share_sighting(
    sighting: &StixObject,
    observed: &[ObservedValue],
    organisation: &str,
    classifier: &Classifier,
    keys: &CommunityKeys,
) -> Result<StixObject, PseudonymError> {
    if sighting.type_name() != "sighting" {
        return Err(PseudonymError::NotASighting(sighting.id().to_owned()));
    }
    if observed.len() > MAX_OBSERVED {
        return Err(PseudonymError::TooManyObserved {
            object_id: sighting.id().to_owned(),
            count: observed.len(),
        });
    }
    let mut properties = Map::new();
    for name in SHARED_PROPERTIES {
        if let Some(value) = sighting.property(name) {
            properties.insert(name.to_owned(), value.clone());
        }
    }
    let id = Uuid::new_v5(
        &SHIELD_NAMESPACE,
        format!("shared-sighting:{organisation}:{}", sighting.id()).as_bytes(),
    );
    properties.insert("id".into(), json!(format!("sighting--{id}")));
    properties.insert("created_by_ref".into(), json!(organisation));
    properties.insert("where_sighted_refs".into(), json!([organisation]));
    let mut seen = std::collections::BTreeSet::new();
    let mut items = Vec::with_capacity(observed.len());
    for o in observed {
        let item = match classifier.classify(o.kind, &o.value) {
            Class::Public => json!({"type": o.kind.as_str(), "value": normalise(o.kind, &o.value)}),
            Class::Personal => {
                json!({"type": o.kind.as_str(), "pseudonym": keys.pseudonymise(o.kind, &o.value)})
            }
        };
        if seen.insert(item.to_string()) {
            items.push(item);
        }
    }
    properties.insert(
        "extensions".into(),
        json!({ SIGHTING_EXTENSION_ID: {
            "extension_type": "property-extension",
            "observed": items,
        }}),
    );
    Ok(StixObject::from_map(properties)?)
}

/// The observations a shared sighting carries (entries that are neither a value nor a
/// well-formed pseudonym are skipped).
pub fn shared_observations(sighting: &StixObject) -> Vec<SharedObservation> {
    let Some(items) = sighting
        .extension(SIGHTING_EXTENSION_ID)
        .and_then(|e| e.get("observed"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    items
        .iter()
        .take(MAX_OBSERVED)
        .filter_map(|item| {
            let object_type = item.get("type")?.as_str()?.to_owned();
            if let Some(p) = item.get("pseudonym").and_then(Value::as_str) {
                pseudonym_key_id(p)?;
                return Some(SharedObservation::Pseudonym {
                    object_type,
                    pseudonym: p.to_owned(),
                });
            }
            let value = item.get("value")?.as_str()?.to_owned();
            Some(SharedObservation::Value { object_type, value })
        })
        .collect()
}

/// The `extension-definition` object of the shared-sighting extension.
pub fn sighting_extension_definition() -> StixObject {
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Shield shared sighting",
  "description": "What a sighting observed: public values as they are, personal or internal values as HMAC-SHA256 pseudonyms under the community key named in the pseudonym.",
  "type": "object",
  "properties": {
    "extension_type": {"const": "property-extension"},
    "observed": {"type": "array", "maxItems": 1000, "items": {
      "type": "object",
      "properties": {
        "type": {"type": "string", "description": "STIX cyber-observable type, or 'other'"},
        "value": {"type": "string"},
        "pseudonym": {"type": "string", "pattern": "^hmac-sha256:[A-Za-z0-9._-]{1,32}:[0-9a-f]{64}$",
                      "description": "HMAC-SHA256 under the community key over '<type>:<normalised value>', type ip-addr for IPv4 and IPv6"}
      },
      "required": ["type"],
      "oneOf": [{"required": ["value"]}, {"required": ["pseudonym"]}]
    }}
  },
  "required": ["extension_type", "observed"]
}"#;
    let value = json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": SIGHTING_EXTENSION_ID,
        "created_by_ref": SHIELD_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Shield shared sighting",
        "description": "Observed values of a sighting, personal ones pseudonymised.",
        "schema": schema,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    });
    match StixObject::from_value(value) {
        Ok(object) => object,
        // A constant shape; validation cannot refuse it (unit-tested).
        Err(e) => unreachable!("constant STIX object refused: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_intel::stix::{ObjectBuilder, Timestamp};
    use shield_intel::tlp::Tlp;

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";

    fn classifier() -> Classifier {
        let config = PersonalDataConfig {
            organisation_domains: vec!["cert.ee".into(), ".Ria.EE.".into()],
            ..PersonalDataConfig::default()
        };
        Classifier::new(&config).unwrap()
    }

    fn keys() -> CommunityKeys {
        CommunityKeys::new(
            vec![
                CommunityKey::new("2026q1", &[1u8; 32]).unwrap(),
                CommunityKey::new("2026q2", &[2u8; 32]).unwrap(),
            ],
            "2026q1",
        )
        .unwrap()
    }

    #[test]
    fn default_classification() {
        use ObservableKind::*;
        let c = classifier();
        let table: [(ObservableKind, &str, Class); 30] = [
            (Ipv4Addr, "10.1.2.3", Class::Personal),
            (Ipv4Addr, "172.31.255.255", Class::Personal),
            (Ipv4Addr, "172.32.0.1", Class::Public),
            (Ipv4Addr, "192.168.0.10", Class::Personal),
            (Ipv4Addr, "100.64.1.1", Class::Personal),
            (Ipv4Addr, "127.0.0.1", Class::Personal),
            (Ipv4Addr, "169.254.10.20", Class::Personal),
            (Ipv4Addr, "203.0.113.5", Class::Public),
            (Ipv4Addr, "not an ip", Class::Personal),
            (Ipv6Addr, "fe80::1", Class::Personal),
            (Ipv6Addr, "fd12:3456::1", Class::Personal),
            (Ipv6Addr, "::1", Class::Personal),
            (Ipv6Addr, "::ffff:10.0.0.1", Class::Personal),
            (Ipv6Addr, "2001:db8::5", Class::Public),
            (DomainName, "WS-042", Class::Personal),
            (DomainName, "dc01.corp", Class::Personal),
            (DomainName, "mail.cert.ee.", Class::Personal),
            (DomainName, "x.ria.ee", Class::Personal),
            (DomainName, "notcert.ee", Class::Public),
            (DomainName, "evil.example", Class::Public),
            (EmailAddr, "Jaan.Tamm@CERT.ee", Class::Personal),
            (EmailAddr, "phish@evil.example", Class::Public),
            (EmailAddr, "no-at-sign", Class::Personal),
            (UserAccount, "administrator", Class::Personal),
            (MacAddr, "00:1A:2b:3c:4d:5e", Class::Personal),
            (Url, "http://10.0.0.5:8080/admin", Class::Personal),
            (Url, "https://intranet.cert.ee/login", Class::Personal),
            (Url, "http://[fe80::1]/x", Class::Personal),
            (Url, "https://evil.example/payload.exe", Class::Public),
            (Other, "44d88612fea8a8f36de82e1278abb02f", Class::Public),
        ];
        for (kind, value, class) in table {
            assert_eq!(c.classify(kind, value), class, "{kind:?} {value}");
        }
        let off = Classifier::new(&PersonalDataConfig {
            user_accounts: false,
            bare_host_names: false,
            mac_addresses: false,
            internal_networks: vec!["203.0.113.0/24".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap();
        assert_eq!(off.classify(UserAccount, "administrator"), Class::Public);
        assert_eq!(off.classify(DomainName, "WS-042"), Class::Public);
        assert_eq!(off.classify(MacAddr, "00:1a:2b:3c:4d:5e"), Class::Public);
        assert_eq!(off.classify(Ipv4Addr, "203.0.113.5"), Class::Personal);
        assert_eq!(off.classify(Ipv4Addr, "10.0.0.1"), Class::Public);
    }

    #[test]
    fn bad_configuration_is_named() {
        let err = Classifier::new(&PersonalDataConfig {
            internal_networks: vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("internal_networks[1]"), "{err}");
        let err = Classifier::new(&PersonalDataConfig {
            organisation_domains: vec!["..".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("organisation_domains[0]"), "{err}");
        let parsed: PersonalDataConfig =
            toml::from_str("organisation_domains = [\"cert.ee\"]\nuser_accounts = false").unwrap();
        assert_eq!(parsed.organisation_domains, ["cert.ee"]);
        assert!(!parsed.user_accounts);
        assert!(parsed.bare_host_names, "defaults fill the rest");
        assert!(toml::from_str::<PersonalDataConfig>("unknown = 1").is_err());
    }

    #[test]
    fn pseudonyms_are_keyed_normalised_and_typed() {
        let keys = keys();
        let p = keys.pseudonymise(ObservableKind::Ipv4Addr, "10.0.0.5");
        assert!(p.starts_with("hmac-sha256:2026q1:"), "{p}");
        assert_eq!(p.len(), "hmac-sha256:2026q1:".len() + 64);
        assert_eq!(pseudonym_key_id(&p), Some("2026q1"));
        // Equal values after normalisation, anywhere.
        assert_eq!(p, keys.pseudonymise(ObservableKind::Ipv4Addr, " 10.0.0.5 "));
        assert_eq!(
            p,
            keys.pseudonymise(ObservableKind::Ipv6Addr, "::ffff:10.0.0.5")
        );
        assert_eq!(
            keys.pseudonymise(ObservableKind::DomainName, "WS-042.corp."),
            keys.pseudonymise(ObservableKind::DomainName, "ws-042.CORP")
        );
        assert_eq!(
            keys.pseudonymise(ObservableKind::MacAddr, "00-1A-2B-3C-4D-5E"),
            keys.pseudonymise(ObservableKind::MacAddr, "00:1a:2b:3c:4d:5e")
        );
        // Different values, kinds and keys differ.
        assert_ne!(p, keys.pseudonymise(ObservableKind::Ipv4Addr, "10.0.0.6"));
        assert_ne!(
            keys.pseudonymise(ObservableKind::DomainName, "admin"),
            keys.pseudonymise(ObservableKind::UserAccount, "admin")
        );
        let other = CommunityKey::new("2026q1", &[9u8; 32]).unwrap();
        assert_ne!(p, other.pseudonymise(ObservableKind::Ipv4Addr, "10.0.0.5"));
        assert_eq!(pseudonym_key_id("hmac-sha256:k:abc"), None);
        assert_eq!(pseudonym_key_id("10.0.0.5"), None);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231 with the message split as pseudonymise splits it.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want ");
        mac.update(b"for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rotation() {
        let mut keys = keys();
        let old = keys.pseudonymise(ObservableKind::UserAccount, "jaan");
        assert!(keys.rotate_to("2026q2"));
        let new = keys.pseudonymise(ObservableKind::UserAccount, "jaan");
        assert_ne!(old, new);
        assert!(new.contains(":2026q2:"));
        // Both still recognised while the old key is kept.
        assert!(keys.matches(&old, ObservableKind::UserAccount, "JAAN"));
        assert!(keys.matches(&new, ObservableKind::UserAccount, "jaan"));
        assert!(!keys.matches(&new, ObservableKind::UserAccount, "mari"));
        assert!(!keys.retire("2026q2"), "the current key stays");
        assert!(keys.retire("2026q1"));
        assert!(!keys.matches(&old, ObservableKind::UserAccount, "jaan"));
        assert_eq!(keys.current().id(), "2026q2");
        assert!(!keys.rotate_to("2025q4"));
        keys.add(CommunityKey::from_base64("2026q3", &STANDARD.encode([3u8; 32])).unwrap());
        assert!(keys.rotate_to("2026q3"));
        assert!(CommunityKeys::new(Vec::new(), "x").is_err());
        assert!(CommunityKey::new("ok", &[0u8; 15]).is_err());
        assert!(CommunityKey::new("bad id", &[0u8; 32]).is_err());
        assert!(CommunityKey::from_base64("k", "***").is_err());
        assert!(!format!("{:?}", keys.current()).contains("3, 3"));
    }

    fn local_sighting() -> StixObject {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        ObjectBuilder::sighting("indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70", t)
            .property("first_seen", "2026-03-01T11:00:00Z")
            .property("last_seen", "2026-03-01T11:30:00Z")
            .property("count", 3)
            .property("description", "seen on Jaan's laptop ws-042")
            .property("x_analyst", "mari")
            .property(
                "where_sighted_refs",
                json!(["identity--00000000-0000-4000-8000-000000000042"]),
            )
            .property(
                "observed_data_refs",
                json!(["observed-data--00000000-0000-4000-8000-000000000043"]),
            )
            .tlp(Tlp::Amber)
            .build()
            .unwrap()
    }

    #[test]
    fn shared_sighting_keeps_public_values_and_hides_personal_ones() {
        let keys = keys();
        let local = local_sighting();
        let observed = [
            ObservedValue::new("ipv4-addr", "203.0.113.5"),
            ObservedValue::new("ipv4-addr", "10.0.0.42"),
            ObservedValue::new("domain-name", "ws-042"),
            ObservedValue::new("user-account", "jaan.tamm"),
            ObservedValue::new("email-addr", "jaan.tamm@cert.ee"),
            ObservedValue::new("file", "44d88612fea8a8f36de82e1278abb02f"),
            ObservedValue::new("ipv4-addr", "10.0.0.42"),
        ];
        let shared = share_sighting(&local, &observed, EE, &classifier(), &keys).unwrap();
        let text = shared.to_json();
        for secret in [
            "10.0.0.42",
            "ws-042",
            "jaan",
            "mari",
            "Jaan",
            "000000000042",
            "000000000043",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("203.0.113.5"));
        assert_eq!(shared.created_by_ref(), Some(EE));
        assert_eq!(shared.property("where_sighted_refs"), Some(&json!([EE])));
        assert_eq!(shared.property("count"), Some(&json!(3)));
        assert_eq!(
            shared.str_property("sighting_of_ref"),
            local.str_property("sighting_of_ref")
        );
        assert_eq!(
            shared.marking_refs().collect::<Vec<_>>(),
            [Tlp::Amber.marking_id()]
        );
        assert_ne!(shared.id(), local.id());
        let observations = shared_observations(&shared);
        assert_eq!(observations.len(), 6, "the duplicate is dropped");
        assert_eq!(
            observations[0],
            SharedObservation::Value {
                object_type: "ipv4-addr".into(),
                value: "203.0.113.5".into()
            }
        );
        assert_eq!(
            observations[1].correlation_key(),
            keys.pseudonymise(ObservableKind::Ipv4Addr, "10.0.0.42")
        );
        assert_eq!(
            observations[5].correlation_key(),
            "other:44d88612fea8a8f36de82e1278abb02f"
        );
        // Deterministic: the same local sighting is the same shared object.
        assert_eq!(
            share_sighting(&local, &observed, EE, &classifier(), &keys).unwrap(),
            shared
        );
        // Two members sighting the same internal value give the same pseudonym.
        let lv = "identity--00000000-0000-4000-8000-00000000001e";
        let other = share_sighting(&local, &observed[1..2], lv, &classifier(), &keys).unwrap();
        assert_eq!(shared_observations(&other)[0], observations[1]);
        assert_ne!(other.id(), shared.id());
    }

    #[test]
    fn share_sighting_refuses_other_objects_and_floods() {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let note = ObjectBuilder::new("note", t)
            .property("content", "x")
            .property(
                "object_refs",
                json!(["indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70"]),
            )
            .build()
            .unwrap();
        assert!(matches!(
            share_sighting(&note, &[], EE, &classifier(), &keys()),
            Err(PseudonymError::NotASighting(_))
        ));
        let many = vec![ObservedValue::new("ipv4-addr", "10.0.0.1"); MAX_OBSERVED + 1];
        assert!(matches!(
            share_sighting(&local_sighting(), &many, EE, &classifier(), &keys()),
            Err(PseudonymError::TooManyObserved { .. })
        ));
    }

    #[test]
    fn extension_definition_is_valid() {
        let d = sighting_extension_definition();
        assert_eq!(d.id(), SIGHTING_EXTENSION_ID);
        let schema: Value = serde_json::from_str(d.str_property("schema").unwrap()).unwrap();
        assert_eq!(schema["title"], "Shield shared sighting");
    }
}
