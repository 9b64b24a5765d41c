//! Turning one field value into observables: plausibility checks, Sysmon hash lists, addresses in
//! free text.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{FieldRule, MAX_SCAN_BYTES};
use crate::ioc::{IocKind, basename, detect, lookup_addr};

/// The most addresses taken from one free-text value.
const MAX_TEXT_ADDRESSES: usize = 32;

pub(super) fn apply<'a>(
    rule: FieldRule,
    raw: &'a str,
    emit: &mut impl FnMut(IocKind, Cow<'a, str>),
) {
    let value = raw.trim();
    if value.is_empty() || value == "-" {
        return;
    }
    match rule {
        FieldRule::Kind(kind) => {
            if let Some(v) = plausible(kind, value) {
                emit(kind, Cow::Borrowed(v));
            }
        }
        FieldRule::Address => {
            if let Some(kind) = address_kind(value) {
                emit(kind, Cow::Borrowed(value));
            }
        }
        FieldRule::HostOrAddress => {
            if let Some(kind) = address_kind(value) {
                emit(kind, Cow::Borrowed(value));
            } else if let Some(v) = plausible(IocKind::Domain, value) {
                emit(IocKind::Domain, Cow::Borrowed(v));
            }
        }
        FieldRule::Detect => {
            if let Some(kind) = address_kind(value) {
                emit(kind, Cow::Borrowed(value));
            } else if let Some(ioc) = detect(value) {
                let (kind, value) = ioc.into_parts();
                emit(kind, Cow::Owned(value));
            }
        }
        FieldRule::FileHashes => {
            file_hashes(value, |kind, hash| emit(kind, Cow::Borrowed(hash)));
        }
        FieldRule::FilePath => {
            let name = basename(value).trim();
            if !name.is_empty() && name.len() <= 1024 {
                emit(IocKind::FileName, Cow::Borrowed(name));
            }
        }
        FieldRule::ScanText => {
            addresses_in_text(value, |kind, addr| emit(kind, Cow::Borrowed(addr)));
        }
    }
}

fn address_kind(value: &str) -> Option<IocKind> {
    match lookup_addr(value)? {
        IpAddr::V4(_) => Some(IocKind::Ipv4),
        IpAddr::V6(_) => Some(IocKind::Ipv6),
    }
}

/// The part of `value` that can be an indicator of `kind`, or `None`.
fn plausible(kind: IocKind, value: &str) -> Option<&str> {
    match kind {
        IocKind::Ipv4 | IocKind::Ipv6 => address_kind(value).map(|_| value),
        IocKind::Cidr => value.parse::<ipnet::IpNet>().ok().map(|_| value),
        IocKind::Domain => {
            let v = value.strip_suffix('.').unwrap_or(value);
            let tld = v.rsplit_once('.')?.1;
            let ok = v.len() <= 253
                && !v.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '@' | ':' | '\\'))
                && (tld.starts_with("xn--")
                    || tld.eq_ignore_ascii_case("arpa") // reverse lookups
                    || (tld.len() >= 2 && tld.chars().all(char::is_alphabetic)));
            ok.then_some(value)
        }
        IocKind::Url => value.contains("://").then_some(value),
        IocKind::Email => {
            // `Name <bob@example.org>` → the address between the brackets.
            let v = match (value.rfind('<'), value.rfind('>')) {
                (Some(open), Some(close)) if open < close => value[open + 1..close].trim(),
                _ => value,
            };
            let (local, domain) = v.rsplit_once('@')?;
            let ok = !local.is_empty()
                && domain.contains('.')
                && v.len() <= 320
                && !v.contains(char::is_whitespace);
            ok.then_some(v)
        }
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 | IocKind::Sha512 => {
            let ok = Some(value.len()) == kind.hash_hex_len()
                && value.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then_some(value)
        }
        IocKind::FileName | IocKind::UserAgent => (value.len() <= 8192).then_some(value),
    }
}

/// Calls `found` with each hash of a Sysmon `Hashes` value (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`) or
/// a bare hash. Algorithms are matched case-insensitively; `IMPHASH` (an import-table hash, not a
/// file hash) and malformed pieces are skipped.
pub fn file_hashes<'a>(value: &'a str, mut found: impl FnMut(IocKind, &'a str)) {
    for piece in value.split([',', ';', ' ']) {
        let piece = piece.trim();
        let (kind, hash) = match piece.split_once('=') {
            Some((alg, hash)) => {
                let kind = match alg.trim().to_ascii_uppercase().as_str() {
                    "MD5" => IocKind::Md5,
                    "SHA1" | "SHA-1" => IocKind::Sha1,
                    "SHA256" | "SHA-256" => IocKind::Sha256,
                    "SHA512" | "SHA-512" => IocKind::Sha512,
                    _ => continue,
                };
                (kind, hash.trim())
            }
            None => {
                let kind = match piece.len() {
                    32 => IocKind::Md5,
                    40 => IocKind::Sha1,
                    64 => IocKind::Sha256,
                    128 => IocKind::Sha512,
                    _ => continue,
                };
                (kind, piece)
            }
        };
        if Some(hash.len()) == kind.hash_hex_len() && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            found(kind, hash);
        }
    }
}

/// Calls `found` with each IPv4 and IPv6 address written in free text (a syslog message, Sysmon's
/// `QueryResults`), up to 32 and over the first 64 KiB. An address is a maximal run of address
/// characters that parses; IPv4 runs glued to letters or further dots-and-digits are ignored
/// (`v1.2.3.4` and `1.2.3.4.5` are not addresses). IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is found, as IPv4.
pub fn addresses_in_text<'a>(text: &'a str, mut found: impl FnMut(IocKind, &'a str)) {
    let mut end = text.len().min(MAX_SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = &text.as_bytes()[..end];
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() && count < MAX_TEXT_ADDRESSES {
        let b = bytes[i];
        if !(b.is_ascii_hexdigit() || b == b':') {
            i += 1;
            continue;
        }
        // A candidate starts here only if the previous byte cannot be part of a token.
        if i > 0 && is_token_byte(bytes[i - 1]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len()
            && (bytes[j].is_ascii_hexdigit() || bytes[j] == b':' || bytes[j] == b'.')
        {
            j += 1;
        }
        // Trailing dots end sentences, not addresses.
        let mut k = j;
        while k > i && bytes[k - 1] == b'.' {
            k -= 1;
        }
        let glued = j < bytes.len() && is_token_byte(bytes[j]);
        let candidate = &text[i..k];
        if !glued {
            let colons = candidate.matches(':').count();
            if colons >= 2 {
                if let Ok(v6) = candidate.parse::<Ipv6Addr>() {
                    let kind = match v6.to_ipv4_mapped() {
                        Some(_) => IocKind::Ipv4,
                        None => IocKind::Ipv6,
                    };
                    found(kind, candidate);
                    count += 1;
                }
            } else if colons == 1 {
                // `address:port`
                let (addr, _port) = candidate.split_once(':').unwrap_or((candidate, ""));
                if addr.parse::<Ipv4Addr>().is_ok() {
                    found(IocKind::Ipv4, addr);
                    count += 1;
                }
            } else if candidate.parse::<Ipv4Addr>().is_ok() {
                found(IocKind::Ipv4, candidate);
                count += 1;
            }
        }
        i = j.max(i + 1);
    }
}

/// Bytes that glue to an address and make it part of a longer token.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str) -> Vec<(IocKind, &str)> {
        let mut out = Vec::new();
        addresses_in_text(text, |k, v| out.push((k, v)));
        out
    }

    #[test]
    fn addresses_in_syslog_text() {
        assert_eq!(
            addresses("Failed password for root from 203.0.113.9 port 22 ssh2"),
            vec![(IocKind::Ipv4, "203.0.113.9")]
        );
        assert_eq!(
            addresses("conn 10.0.0.1:443 -> [2001:db8::7]:80, done."),
            vec![(IocKind::Ipv4, "10.0.0.1"), (IocKind::Ipv6, "2001:db8::7")]
        );
        assert_eq!(
            addresses("version v1.2.3.4 and 1.2.3.4.5 and 999.1.1.1"),
            vec![]
        );
        assert_eq!(
            addresses("ended at 192.0.2.10."),
            vec![(IocKind::Ipv4, "192.0.2.10")]
        );
        assert_eq!(
            addresses("type:  5 evil.example;::ffff:198.51.100.4;"),
            vec![(IocKind::Ipv4, "::ffff:198.51.100.4")]
        );
        assert_eq!(addresses("12:30:45 deadbeef"), vec![]);
    }

    #[test]
    fn sysmon_hash_lists() {
        let mut out = Vec::new();
        file_hashes(
            "SHA1=A94A8FE5CCB19BA61C4C0873D391E987982FBBD3,MD5=098F6BCD4621D373CADE4E832627B4F6,IMPHASH=0123456789ABCDEF0123456789ABCDEF,SHA256=bad",
            |k, v| out.push((k, v)),
        );
        assert_eq!(
            out,
            vec![
                (IocKind::Sha1, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"),
                (IocKind::Md5, "098F6BCD4621D373CADE4E832627B4F6"),
            ]
        );
    }
}
