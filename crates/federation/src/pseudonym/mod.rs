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

use serde::{Deserialize, Serialize};
use shield_intel::stix::StixError;

mod classify;
mod keys;
mod sighting;

pub use classify::{Class, Classifier, PersonalDataConfig, normalise};
pub use keys::{CommunityKey, CommunityKeys, pseudonym_key_id};
pub use sighting::{
    ObservedValue, SharedObservation, share_sighting, shared_observations,
    sighting_extension_definition,
};

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

#[cfg(test)]
mod test_support {
    use super::*;

    pub(super) fn classifier() -> Classifier {
        let config = PersonalDataConfig {
            organisation_domains: vec!["cert.ee".into(), ".Ria.EE.".into()],
            ..PersonalDataConfig::default()
        };
        Classifier::new(&config).unwrap()
    }

    pub(super) fn keys() -> CommunityKeys {
        CommunityKeys::new(
            vec![
                CommunityKey::new("2026q1", &[1u8; 32]).unwrap(),
                CommunityKey::new("2026q2", &[2u8; 32]).unwrap(),
            ],
            "2026q1",
        )
        .unwrap()
    }
}
