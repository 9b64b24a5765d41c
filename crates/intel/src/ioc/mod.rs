//! Indicators of compromise as plain values: a kind and a normalised value.
//!
//! An [`Ioc`] is what the matcher stores and what events are compared against: `203.0.113.5`,
//! `evil.example`, `http://evil.example/x`, a file hash, an e-mail address. Every IOC is normalised
//! when it is made ([`Ioc::new`]), so two spellings of the same thing compare equal:
//!
//! * IP addresses are parsed with `std::net` and printed canonically (IPv6 compressed, lowercase;
//!   zone ids dropped; IPv4-mapped IPv6 addresses become IPv4);
//! * CIDR blocks are parsed with `ipnet` and truncated to their network address; a full-length prefix
//!   (`/32`, `/128`) is an address;
//! * domains are lowercased, lose a trailing dot and a leading `*.` wildcard; Unicode labels are
//!   lowercased but kept as Unicode (no IDNA/punycode mapping: no light crate exists for it);
//! * URLs get a lowercase scheme and host, lose the default port and the fragment, keep path and
//!   query as written, and an empty path becomes `/`;
//! * hashes are hex validated by length (MD5 32, SHA-1 40, SHA-256 64, SHA-512 128) and lowercased;
//! * e-mail addresses are lowercased as a whole; file names are reduced to their last path component
//!   and lowercased (Windows file names are case-insensitive); user agents are kept as written.
//!
//! [`detect`] guesses the kind of a bare value (one IOC per line in a list), after undoing the usual
//! defanging (`hxxp://`, `[.]`, `(.)`, `[@]`, …; see [`refang`]).

mod detect;
mod normalise;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use detect::{detect, detect_kind, refang};
pub use normalise::{MAX_VALUE_LEN, domain_label_count, url_host};

pub(crate) use normalise::{
    basename, fold_domain, fold_lower, hex_decode, lookup_addr, lookup_url,
};

/// What an indicator value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocKind {
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An IPv4 or IPv6 network in CIDR notation.
    Cidr,
    /// A domain or host name; it also matches its subdomains.
    Domain,
    /// A URL with a scheme.
    Url,
    /// An MD5 file hash.
    Md5,
    /// A SHA-1 file hash.
    Sha1,
    /// A SHA-256 file hash.
    Sha256,
    /// A SHA-512 file hash.
    Sha512,
    /// An e-mail address.
    Email,
    /// A file name (last path component).
    FileName,
    /// An HTTP user agent string.
    UserAgent,
}

impl IocKind {
    /// Every kind, in declaration order.
    pub const ALL: [IocKind; 12] = [
        IocKind::Ipv4,
        IocKind::Ipv6,
        IocKind::Cidr,
        IocKind::Domain,
        IocKind::Url,
        IocKind::Md5,
        IocKind::Sha1,
        IocKind::Sha256,
        IocKind::Sha512,
        IocKind::Email,
        IocKind::FileName,
        IocKind::UserAgent,
    ];

    /// The kind's name in lists and output (`ipv4`, `sha256`, `user-agent`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ipv4 => "ipv4",
            IocKind::Ipv6 => "ipv6",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::Sha512 => "sha512",
            IocKind::Email => "email",
            IocKind::FileName => "filename",
            IocKind::UserAgent => "user-agent",
        }
    }

    /// The kind for a type name as lists, MISP and STIX write it: Shield's own names plus common
    /// aliases (`ip-dst`, `hostname`, `domain-name`, `ipv4-addr`, `SHA-256`, `email-src`, …),
    /// case-insensitive. `ip`, `ip-src` and `ip-dst` answer [`IocKind::Ipv4`]: the value decides
    /// the address family (see [`Ioc::new`]).
    pub fn from_name(name: &str) -> Option<IocKind> {
        let name = name.trim().to_ascii_lowercase();
        let kind = match name.as_str() {
            "ipv4" | "ip" | "ip-src" | "ip-dst" | "ipv4-addr" | "ip_address" | "ip-address"
            | "ipaddress" | "ipv4_address" | "ipv4address" => IocKind::Ipv4,
            "ipv6" | "ipv6-addr" | "ipv6_address" | "ipv6address" => IocKind::Ipv6,
            "cidr" | "network" | "subnet" | "ip-range" | "netblock" => IocKind::Cidr,
            "domain" | "hostname" | "domain-name" | "fqdn" | "host" | "dns" | "domain_name" => {
                IocKind::Domain
            }
            "url" | "uri" => IocKind::Url,
            "md5" => IocKind::Md5,
            "sha1" | "sha-1" => IocKind::Sha1,
            "sha256" | "sha-256" => IocKind::Sha256,
            "sha512" | "sha-512" => IocKind::Sha512,
            "email" | "email-src" | "email-dst" | "email-addr" | "email_address" | "e-mail"
            | "email-address" => IocKind::Email,
            "filename" | "file-name" | "file_name" | "file" => IocKind::FileName,
            "user-agent" | "useragent" | "user_agent" => IocKind::UserAgent,
            _ => return None,
        };
        Some(kind)
    }

    /// Whether this kind is a file hash.
    pub fn is_hash(self) -> bool {
        matches!(
            self,
            IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 | IocKind::Sha512
        )
    }

    /// The number of hex digits of a hash kind, `None` for other kinds.
    pub fn hash_hex_len(self) -> Option<usize> {
        match self {
            IocKind::Md5 => Some(32),
            IocKind::Sha1 => Some(40),
            IocKind::Sha256 => Some(64),
            IocKind::Sha512 => Some(128),
            _ => None,
        }
    }
}

impl fmt::Display for IocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IocKind {
    type Err = IocError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IocKind::from_name(s).ok_or_else(|| IocError::UnknownKind(truncate(s)))
    }
}

/// Why a value is not an indicator of the asked kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IocError {
    /// The value is empty (or only white space).
    #[error("empty value")]
    Empty,
    /// The value is longer than [`MAX_VALUE_LEN`] bytes (or the kind's own limit).
    #[error("value of {len} bytes is longer than the {max}-byte limit for {kind}")]
    TooLong {
        /// The kind asked for.
        kind: IocKind,
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is not a valid indicator of this kind.
    #[error("not a valid {kind}: {reason}")]
    Invalid {
        /// The kind asked for.
        kind: IocKind,
        /// What is wrong, in words.
        reason: &'static str,
    },
    /// A type name that names no indicator kind.
    #[error("unknown indicator type {0:?}")]
    UnknownKind(String),
    /// A value whose kind could not be guessed.
    #[error("cannot tell what kind of indicator {0:?} is")]
    Undetected(String),
}

/// The first 64 characters of a value, for error messages about hostile input.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// One indicator of compromise: a kind and its normalised value. Deserialising normalises too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "IocParts")]
pub struct Ioc {
    kind: IocKind,
    value: String,
}

impl Ioc {
    /// Validates and normalises `value` as an indicator of `kind` (see the module docs).
    ///
    /// The address family of IP kinds follows the value: `Ioc::new(IocKind::Ipv4, "2001:db8::1")`
    /// answers an [`IocKind::Ipv6`] indicator, and an address with a prefix answers
    /// [`IocKind::Cidr`], so MISP's `ip-dst` and lists' `ip` columns need no second guess.
    pub fn new(kind: IocKind, value: &str) -> Result<Ioc, IocError> {
        let (kind, value) = normalise::normalise(kind, value)?;
        Ok(Ioc { kind, value })
    }

    /// The kind.
    pub fn kind(&self) -> IocKind {
        self.kind
    }

    /// The normalised value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Kind and value.
    pub fn into_parts(self) -> (IocKind, String) {
        (self.kind, self.value)
    }
}

/// The serialised form of an [`Ioc`], normalised on the way in.
#[derive(Deserialize)]
struct IocParts {
    kind: IocKind,
    value: String,
}

impl TryFrom<IocParts> for Ioc {
    type Error = IocError;

    fn try_from(parts: IocParts) -> Result<Self, Self::Error> {
        Ioc::new(parts.kind, &parts.value)
    }
}

impl fmt::Display for Ioc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}
