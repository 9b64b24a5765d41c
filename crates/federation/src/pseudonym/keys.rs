//! Community keys and the pseudonyms they make.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{MIN_KEY_BYTES, ObservableKind, PSEUDONYM_PREFIX, PseudonymError, normalise};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::test_support::keys;

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
}
