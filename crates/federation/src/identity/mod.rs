//! Who a node is: its organisation and its Ed25519 key pair.
//!
//! Every node belongs to an [`Organisation`] (a STIX `identity` of class `organization` with an
//! ISO 3166-1 country code) and signs what it shares with its [`NodeKey`]. Other nodes know it
//! by its [`PublicKey`], which the configuration carries as one line of text, and keep the keys of
//! the organisations they trust in a [`Keyring`].
//!
//! # Formats
//!
//! * **Private key file**: standard PEM of a PKCS#8 (RFC 5958 / RFC 8410) Ed25519 private key,
//!   `-----BEGIN PRIVATE KEY-----`, the same file `openssl genpkey -algorithm ed25519` writes and
//!   `openssl pkey` reads. Written with mode 0600 (owner only) on Unix; a key file that group or
//!   others can read is refused when loaded, as SSH does.
//! * **Public key file**: PEM of the SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
//! * **Public key in configuration**: `ed25519:<base64 of the 32 key bytes>` (standard alphabet,
//!   padded). The PEM text is accepted there too.
//! * **Key id**: the first 8 bytes of SHA-256 over the 32 public key bytes, as 16 lowercase hex
//!   digits. It names a key in signatures; verification always uses the full key.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use shield_intel::stix::StixError;
use uuid::Uuid;

mod organisation;

pub use organisation::{Country, Organisation, derived_identity_id};

/// The DER prefix of a PKCS#8 v1 Ed25519 private key: SEQUENCE { INTEGER 0, AlgorithmIdentifier
/// { 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }, followed by the 32-byte seed.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The DER prefix of an Ed25519 SubjectPublicKeyInfo, followed by the 32-byte key.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const PRIVATE_LABEL: &str = "PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";
/// Prefix of a public key written on one configuration line.
const CONFIG_PREFIX: &str = "ed25519:";
/// Largest key file read (a PEM key is about 120 bytes).
const MAX_KEY_FILE: u64 = 16 * 1024;

/// Namespace of the UUIDv5 ids Shield derives (organisation identities, locations).
pub const SHIELD_NAMESPACE: Uuid = Uuid::from_u128(0x5d1e_1d00_7a3c_4b8e_9f61_2c0d_e4a5_b7c3);

/// What can go wrong with keys and organisations.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A private key file that others may read.
    #[error("{path}: private key readable by group or others (mode {mode:o}); chmod 600 it")]
    InsecurePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Text that is not a key of the expected kind.
    #[error("{source_name}: {reason}")]
    InvalidKey {
        /// Where the text came from (a file name, or `configuration`).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// An organisation that cannot be used.
    #[error("organisation {field}: {reason}")]
    InvalidOrganisation {
        /// The field (`name`, `identity`, `country`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A STIX object could not be built.
    #[error(transparent)]
    Stix(#[from] StixError),
}

fn invalid_key(source_name: &str, reason: impl Into<String>) -> IdentityError {
    IdentityError::InvalidKey {
        source_name: source_name.to_owned(),
        reason: reason.into(),
    }
}

/// A node's private Ed25519 key. Never printed (its `Debug` shows the key id only).
#[derive(Clone)]
pub struct NodeKey {
    key: SigningKey,
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({})", self.public_key().key_id())
    }
}

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<NodeKey, IdentityError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
        let key = NodeKey::from_seed(seed);
        seed.fill(0);
        Ok(key)
    }

    /// The key of a 32-byte seed (RFC 8032 private key). For tests and fixed fixtures.
    pub fn from_seed(seed: [u8; 32]) -> NodeKey {
        NodeKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(self.key.verifying_key())
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The PKCS#8 PEM text of the key.
    pub fn to_pem(&self) -> String {
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&PKCS8_PREFIX);
        der.extend_from_slice(self.key.as_bytes());
        let pem = pem_encode(PRIVATE_LABEL, &der);
        der.fill(0);
        pem
    }

    /// Reads a PKCS#8 PEM Ed25519 private key; `source_name` names the input in errors.
    pub fn from_pem(text: &str, source_name: &str) -> Result<NodeKey, IdentityError> {
        let der = pem_decode(text, PRIVATE_LABEL, source_name)?;
        let seed = der
            .strip_prefix(&PKCS8_PREFIX[..])
            .and_then(|rest| <[u8; 32]>::try_from(rest).ok())
            .ok_or_else(|| {
                invalid_key(source_name, "not a PKCS#8 Ed25519 private key (RFC 8410)")
            })?;
        Ok(NodeKey::from_seed(seed))
    }

    /// Writes the key as PEM to `path`, readable by its owner only. Refuses to replace an
    /// existing file unless `overwrite`.
    pub fn write_file(&self, path: &Path, overwrite: bool) -> Result<(), IdentityError> {
        use std::io::Write as _;
        let io = |source| IdentityError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        #[cfg(unix)]
        {
            // An existing file keeps its mode when truncated: tighten it.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        file.write_all(self.to_pem().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Reads a key file written by [`NodeKey::write_file`] (or by `openssl genpkey`). On Unix a
    /// file that group or others can read is refused.
    pub fn read_file(path: &Path) -> Result<NodeKey, IdentityError> {
        let name = path.display().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|source| IdentityError::Io {
                path: name.clone(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(IdentityError::InsecurePermissions { path: name, mode });
            }
        }
        let text = read_small(path)?;
        NodeKey::from_pem(&text, &name)
    }
}

/// An Ed25519 public key with its key id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

/// The short name of a public key: 16 hex digits of SHA-256 over the key bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// Parses 16 hex digits.
    pub fn parse(text: &str) -> Option<KeyId> {
        let bytes = text.as_bytes();
        if bytes.len() != 16 {
            return None;
        }
        let mut id = [0u8; 8];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0])?;
            let lo = hex_value(pair[1])?;
            id[i] = hi << 4 | lo;
        }
        Some(KeyId(id))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_config_string())
    }
}

impl PublicKey {
    fn from_verifying_key(key: VerifyingKey) -> PublicKey {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        PublicKey { key, id: KeyId(id) }
    }

    /// The key of 32 raw bytes; `None` when they are not a point of the curve.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<PublicKey> {
        VerifyingKey::from_bytes(bytes)
            .ok()
            .map(PublicKey::from_verifying_key)
    }

    /// The 32 raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Whether `signature` is this key's (strict RFC 8032 verification) signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let signature = Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &signature).is_ok()
    }

    /// `ed25519:<base64>`, the form the configuration carries.
    pub fn to_config_string(&self) -> String {
        format!("{CONFIG_PREFIX}{}", STANDARD.encode(self.key.as_bytes()))
    }

    /// The SubjectPublicKeyInfo PEM text of the key.
    pub fn to_pem(&self) -> String {
        let mut der = Vec::with_capacity(44);
        der.extend_from_slice(&SPKI_PREFIX);
        der.extend_from_slice(self.key.as_bytes());
        pem_encode(PUBLIC_LABEL, &der)
    }

    /// Reads a public key from `ed25519:<base64>` or from PEM; `source_name` names the input in
    /// errors.
    pub fn parse(text: &str, source_name: &str) -> Result<PublicKey, IdentityError> {
        let text = text.trim();
        let bytes: Vec<u8> = if let Some(b64) = text.strip_prefix(CONFIG_PREFIX) {
            STANDARD
                .decode(b64.trim())
                .map_err(|e| invalid_key(source_name, format!("base64: {e}")))?
        } else if text.starts_with("-----BEGIN") {
            let der = pem_decode(text, PUBLIC_LABEL, source_name)?;
            der.strip_prefix(&SPKI_PREFIX[..])
                .map(<[u8]>::to_vec)
                .ok_or_else(|| invalid_key(source_name, "not an Ed25519 public key (RFC 8410)"))?
        } else {
            return Err(invalid_key(
                source_name,
                "expected `ed25519:<base64>` or a PEM public key",
            ));
        };
        let array = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            invalid_key(
                source_name,
                format!("an Ed25519 key has 32 bytes, not {}", bytes.len()),
            )
        })?;
        PublicKey::from_bytes(&array)
            .ok_or_else(|| invalid_key(source_name, "not a valid Ed25519 public key"))
    }

    /// Reads a public key file (PEM or `ed25519:<base64>`).
    pub fn read_file(path: &Path) -> Result<PublicKey, IdentityError> {
        let text = read_small(path)?;
        PublicKey::parse(&text, &path.display().to_string())
    }
}

impl FromStr for PublicKey {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::parse(s, "configuration")
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_config_string())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicKey::parse(&text, "configuration").map_err(serde::de::Error::custom)
    }
}

fn read_small(path: &Path) -> Result<String, IdentityError> {
    use std::io::Read as _;
    let io = |source| IdentityError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_KEY_FILE {
        return Err(invalid_key(
            &path.display().to_string(),
            format!("larger than {MAX_KEY_FILE} bytes"),
        ));
    }
    Ok(text)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(text: &str, label: &str, source_name: &str) -> Result<Vec<u8>, IdentityError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| invalid_key(source_name, format!("no `{begin}` line")))?;
    let body_start = start + begin.len();
    let body_len = text[body_start..]
        .find(&end)
        .ok_or_else(|| invalid_key(source_name, format!("no `{end}` line")))?;
    let body: String = text[body_start..body_start + body_len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| invalid_key(source_name, format!("base64: {e}")))
}

/// A node's own identity: its organisation and its signing key.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// The organisation the node belongs to.
    pub organisation: Organisation,
    /// The node's private key.
    pub key: NodeKey,
}

/// One trusted key: whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// The STIX identity id of the organisation the key signs for.
    pub organisation: String,
}

/// The public keys a node trusts, by key id: its own, its peers' and, on members, the keys the
/// hub distributes. One organisation may have several keys (several nodes, rotation).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: std::collections::HashMap<KeyId, TrustedKey>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Trusts `key` for the organisation `organisation` (a STIX identity id). A key already
    /// trusted for another organisation is re-assigned: the last declaration wins.
    pub fn insert(&mut self, organisation: &str, key: PublicKey) {
        self.keys.insert(
            key.key_id(),
            TrustedKey {
                key,
                organisation: organisation.to_owned(),
            },
        );
    }

    /// Stops trusting a key.
    pub fn remove(&mut self, key_id: KeyId) -> Option<TrustedKey> {
        self.keys.remove(&key_id)
    }

    /// The trusted key with this id.
    pub fn get(&self, key_id: KeyId) -> Option<&TrustedKey> {
        self.keys.get(&key_id)
    }

    /// The keys of one organisation.
    pub fn keys_of<'a>(
        &'a self,
        organisation: &'a str,
    ) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.keys
            .values()
            .filter(move |t| t.organisation == organisation)
            .map(|t| &t.key)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_sign() {
        let a = NodeKey::generate().unwrap();
        let b = NodeKey::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
        let sig = a.sign(b"message");
        assert!(a.public_key().verify(b"message", &sig));
        assert!(!a.public_key().verify(b"messagf", &sig));
        assert!(!b.public_key().verify(b"message", &sig));
        assert!(!a.public_key().verify(b"message", &sig[..63]));
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = NodeKey::from_seed(seed);
        assert_eq!(
            key.public_key().as_bytes(),
            &hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        let sig = key.sign(b"");
        let expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                        5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    fn hex32(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
            out[i] = u8::from_str_radix(std::str::from_utf8(chunk).unwrap(), 16).unwrap();
        }
        out
    }

    #[test]
    fn private_key_pem_round_trip_and_openssl_form() {
        let key = NodeKey::from_seed([7u8; 32]);
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
        let back = NodeKey::from_pem(&pem, "test").unwrap();
        assert_eq!(back.public_key(), key.public_key());
        // What `openssl genpkey -algorithm ed25519` writes (RFC 8410 section 10.3 example).
        let rfc = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let key = NodeKey::from_pem(rfc, "rfc8410").unwrap();
        assert_eq!(key.public_key().as_bytes()[0], 0x19);
        assert_eq!(
            key.public_key().to_pem(),
            "-----BEGIN PUBLIC KEY-----\n\
             MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
             -----END PUBLIC KEY-----\n"
        );
    }

    #[test]
    fn bad_private_keys_are_refused_with_reasons() {
        let cases = [
            ("", "no `-----BEGIN PRIVATE KEY-----` line"),
            (
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n",
                "no `-----END PRIVATE KEY-----` line",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
                "base64",
            ),
            (
                // An RSA-like prefix: not RFC 8410.
                "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n",
                "not a PKCS#8 Ed25519",
            ),
        ];
        for (text, reason) in cases {
            let err = NodeKey::from_pem(text, "k.pem").unwrap_err().to_string();
            assert!(err.starts_with("k.pem: "), "{err}");
            assert!(err.contains(reason), "{err} should contain {reason}");
        }
    }

    #[test]
    fn public_key_config_forms() {
        let key = NodeKey::from_seed([1u8; 32]).public_key();
        let line = key.to_config_string();
        assert!(line.starts_with("ed25519:"));
        assert_eq!(line.parse::<PublicKey>().unwrap(), key);
        assert_eq!(PublicKey::parse(&key.to_pem(), "pem").unwrap(), key);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key);
        for bad in ["ed25519:AAAA", "ssh-ed25519 AAAA", "ed25519:@@"] {
            assert!(bad.parse::<PublicKey>().is_err(), "{bad}");
        }
        assert_eq!(KeyId::parse(&key.key_id().to_string()), Some(key.key_id()));
        assert_eq!(KeyId::parse("0123456789ABCDEF"), None);
        assert_eq!(key.key_id().to_string().len(), 16);
    }

    #[test]
    fn key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = NodeKey::generate().unwrap();
        key.write_file(&path, false).unwrap();
        assert!(key.write_file(&path, false).is_err(), "no silent overwrite");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = NodeKey::read_file(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = NodeKey::read_file(&path).unwrap_err();
            assert!(matches!(
                err,
                IdentityError::InsecurePermissions { mode: 0o644, .. }
            ));
            // Overwriting tightens the mode again.
            key.write_file(&path, true).unwrap();
            assert!(NodeKey::read_file(&path).is_ok());
        }
        let pub_path = dir.path().join("node.pub");
        std::fs::write(&pub_path, key.public_key().to_pem()).unwrap();
        assert_eq!(PublicKey::read_file(&pub_path).unwrap(), key.public_key());
        assert!(!format!("{key:?}").contains(&key.to_pem()[30..60]));
    }

    #[test]
    fn keyring_lookup() {
        let a = NodeKey::from_seed([2u8; 32]).public_key();
        let b = NodeKey::from_seed([3u8; 32]).public_key();
        let mut ring = Keyring::new();
        ring.insert("identity--a", a);
        ring.insert("identity--a", b);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.keys_of("identity--a").count(), 2);
        ring.insert("identity--b", b);
        assert_eq!(ring.get(b.key_id()).unwrap().organisation, "identity--b");
        assert_eq!(ring.keys_of("identity--a").count(), 1);
        assert!(ring.remove(a.key_id()).is_some());
        assert!(ring.get(a.key_id()).is_none());
    }
}
