//! Per-kind validation and normalisation, plus the allocation-free folds the matcher uses on the
//! hot path.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{IocError, IocKind};

/// The longest value any indicator may have, in bytes (URLs and user agents; other kinds are
/// shorter).
pub const MAX_VALUE_LEN: usize = 8192;
const MAX_DOMAIN_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;
const MAX_EMAIL_LEN: usize = 320;
const MAX_LOCAL_PART_LEN: usize = 64;
const MAX_FILE_NAME_LEN: usize = 1024;

pub(super) fn normalise(kind: IocKind, raw: &str) -> Result<(IocKind, String), IocError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(IocError::Empty);
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(IocError::TooLong {
            kind,
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    match kind {
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => normalise_ip(kind, value),
        IocKind::Domain => Ok((kind, normalise_domain(value)?)),
        IocKind::Url => Ok((kind, normalise_url(value)?)),
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 | IocKind::Sha512 => {
            Ok((kind, normalise_hash(kind, value)?))
        }
        IocKind::Email => Ok((kind, normalise_email(value)?)),
        IocKind::FileName => Ok((kind, normalise_file_name(value)?)),
        IocKind::UserAgent => {
            if value.chars().any(|c| c.is_control()) {
                return Err(invalid(kind, "contains control characters"));
            }
            Ok((kind, value.to_owned()))
        }
    }
}

fn invalid(kind: IocKind, reason: &'static str) -> IocError {
    IocError::Invalid { kind, reason }
}

/// An address written alone, as IPv6 in brackets, or with an IPv6 zone id.
fn parse_addr(value: &str) -> Option<IpAddr> {
    let value = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    let value = value.split_once('%').map_or(value, |(addr, _zone)| addr);
    let addr: IpAddr = value.parse().ok()?;
    Some(unmap(addr))
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are IPv4 addresses.
fn unmap(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn normalise_ip(kind: IocKind, value: &str) -> Result<(IocKind, String), IocError> {
    if value.contains('/') {
        let net: IpNet = value
            .parse()
            .map_err(|_| invalid(IocKind::Cidr, "not an address with a prefix length"))?;
        let net = net.trunc();
        if net.prefix_len() == net.max_prefix_len() {
            return Ok(address(unmap(net.addr())));
        }
        return Ok((IocKind::Cidr, net.to_string()));
    }
    match parse_addr(value) {
        Some(addr) => Ok(address(addr)),
        None => Err(invalid(kind, "not an IP address")),
    }
}

fn address(addr: IpAddr) -> (IocKind, String) {
    match addr {
        IpAddr::V4(v4) => (IocKind::Ipv4, v4.to_string()),
        IpAddr::V6(v6) => (IocKind::Ipv6, v6.to_string()),
    }
}

/// Lowercases, strips a trailing dot and a leading `*.`, and validates label syntax.
fn normalise_domain(value: &str) -> Result<String, IocError> {
    let kind = IocKind::Domain;
    let value = value.strip_prefix("*.").unwrap_or(value);
    let value = value.strip_suffix('.').unwrap_or(value);
    if value.is_empty() {
        return Err(IocError::Empty);
    }
    if value.len() > MAX_DOMAIN_LEN {
        return Err(IocError::TooLong {
            kind,
            len: value.len(),
            max: MAX_DOMAIN_LEN,
        });
    }
    let lower = fold_lower(value).into_owned();
    let mut last = "";
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(invalid(kind, "empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid(kind, "label longer than 63 bytes"));
        }
        let ok = label.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || c == '_'
                || (!c.is_ascii() && c.is_alphanumeric())
        });
        if !ok {
            return Err(invalid(kind, "character not allowed in a host name"));
        }
        last = label;
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(kind, "top-level label is numeric (an IP address?)"));
    }
    Ok(lower)
}

/// The number of labels of a (normalised) domain.
pub fn domain_label_count(domain: &str) -> usize {
    domain.bytes().filter(|&b| b == b'.').count() + 1
}

/// Lowercase (ASCII fast path, Unicode otherwise), borrowing when nothing changes.
pub(crate) fn fold_lower(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else if value.chars().any(char::is_uppercase) {
        Cow::Owned(value.to_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

/// The lookup form of a domain seen in an event: trimmed, no trailing dot, lowercase.
pub(crate) fn fold_domain(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    let value = value.strip_suffix('.').unwrap_or(value);
    fold_lower(value)
}

/// Decodes exactly `N` bytes of hex, either case.
pub(crate) fn hex_decode<const N: usize>(value: &str) -> Option<[u8; N]> {
    let bytes = value.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn normalise_hash(kind: IocKind, value: &str) -> Result<String, IocError> {
    let want = kind.hash_hex_len().unwrap_or(0);
    if value.len() != want {
        return Err(invalid(kind, "wrong number of hex digits"));
    }
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(kind, "not hexadecimal"));
    }
    Ok(value.to_ascii_lowercase())
}

fn normalise_email(value: &str) -> Result<String, IocError> {
    let kind = IocKind::Email;
    let value = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value);
    let value = strip_prefix_ignore_case(value, "mailto:").unwrap_or(value);
    if value.len() > MAX_EMAIL_LEN {
        return Err(IocError::TooLong {
            kind,
            len: value.len(),
            max: MAX_EMAIL_LEN,
        });
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(invalid(kind, "no @"));
    };
    if local.is_empty() || local.len() > MAX_LOCAL_PART_LEN {
        return Err(invalid(kind, "local part empty or longer than 64 bytes"));
    }
    let local_ok = local.chars().all(|c| {
        !c.is_whitespace()
            && !c.is_control()
            && !matches!(
                c,
                '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'
            )
    });
    if !local_ok {
        return Err(invalid(kind, "character not allowed in the local part"));
    }
    let domain = normalise_domain(domain).map_err(|_| invalid(kind, "invalid domain part"))?;
    let mut out = fold_lower(local).into_owned();
    out.push('@');
    out.push_str(&domain);
    Ok(out)
}

fn normalise_file_name(value: &str) -> Result<String, IocError> {
    let kind = IocKind::FileName;
    let name = basename(value).trim();
    if name.is_empty() {
        return Err(invalid(kind, "no file name after the last path separator"));
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(IocError::TooLong {
            kind,
            len: name.len(),
            max: MAX_FILE_NAME_LEN,
        });
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(invalid(kind, "contains control characters"));
    }
    Ok(fold_lower(name).into_owned())
}

/// The last component of a Windows or POSIX path.
pub(crate) fn basename(path: &str) -> &str {
    match path.rfind(['/', '\\']) {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// The pieces of a `scheme://authority/path?query#fragment` URL, as slices of the input.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: Option<&'a str>,
    /// Path and query, fragment removed.
    rest: &'a str,
}

fn split_url(value: &str) -> Option<UrlParts<'_>> {
    let (scheme, after) = value.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    let rest_with_fragment = after;
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let tail = &rest_with_fragment[authority_end..];
    // White space before a dropped fragment is not part of the URL.
    let rest = tail.split_once('#').map_or(tail, |(r, _)| r).trim_end();
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        let close = hostport.find(']')?;
        let host = &hostport[..=close];
        match &hostport[close + 1..] {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    // Only an IPv6 literal may hold `:` or brackets.
    let bare_colon = !host.starts_with('[') && host.contains([':', '[', ']']);
    if host.is_empty() || bare_colon || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(UrlParts {
        scheme,
        userinfo,
        host,
        port,
        rest,
    })
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

fn normalise_url(value: &str) -> Result<String, IocError> {
    let kind = IocKind::Url;
    let parts = split_url(value).ok_or(invalid(kind, "not scheme://host…"))?;
    build_url(&parts).ok_or(invalid(kind, "invalid host or port"))
}

fn build_url(parts: &UrlParts<'_>) -> Option<String> {
    let scheme = parts.scheme.to_ascii_lowercase();
    let host = if let Some(inner) = parts
        .host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
    {
        let v6: Ipv6Addr = inner
            .split_once('%')
            .map_or(inner, |(a, _)| a)
            .parse()
            .ok()?;
        format!("[{v6}]")
    } else {
        let h = parts.host.trim_end_matches('.');
        if h.is_empty() {
            return None;
        }
        fold_lower(h).into_owned()
    };
    let port = match parts.port {
        None | Some("") => None,
        Some(p) => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u16 = p.parse().ok()?;
            (default_port(&scheme) != Some(n)).then_some(n)
        }
    };
    let mut out = String::with_capacity(scheme.len() + host.len() + parts.rest.len() + 16);
    out.push_str(&scheme);
    out.push_str("://");
    if let Some(user) = parts.userinfo {
        out.push_str(user);
        out.push('@');
    }
    out.push_str(&host);
    if let Some(n) = port {
        out.push(':');
        out.push_str(&n.to_string());
    }
    if !parts.rest.starts_with('/') {
        out.push('/');
    }
    out.push_str(parts.rest);
    Some(out)
}

/// The lookup form of a URL seen in an event: the normalised URL, borrowed from the input when it
/// is already canonical (the common case), or `None` when it is not a URL.
pub(crate) fn lookup_url(value: &str) -> Option<Cow<'_, str>> {
    let value = value.trim();
    if value.len() > MAX_VALUE_LEN {
        return None;
    }
    let parts = split_url(value)?;
    let canonical = !parts.scheme.bytes().any(|b| b.is_ascii_uppercase())
        && !parts.host.starts_with('[')
        && !parts.host.ends_with('.')
        && parts.port.is_none()
        && parts.rest.starts_with('/')
        && !parts.host.bytes().any(|b| b.is_ascii_uppercase())
        && parts.host.is_ascii();
    if canonical {
        // The input up to the fragment.
        let end = parts.rest.as_ptr() as usize - value.as_ptr() as usize + parts.rest.len();
        return value.get(..end).map(Cow::Borrowed);
    }
    build_url(&parts).map(Cow::Owned)
}

/// The host of a URL as written (brackets of an IPv6 literal removed), or `None` when the value is
/// not `scheme://host…`.
pub fn url_host(value: &str) -> Option<&str> {
    let parts = split_url(value.trim())?;
    let host = parts.host;
    Some(
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host),
    )
}

/// Parses an address seen in an event for lookup (brackets, zone ids and IPv4 mapping handled).
pub(crate) fn lookup_addr(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if value.len() > 64 {
        return None;
    }
    if let Ok(v4) = value.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    parse_addr(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_and_lookup_form() {
        assert_eq!(
            lookup_url("http://evil.example/a?b#c").as_deref(),
            Some("http://evil.example/a?b")
        );
        assert!(matches!(
            lookup_url("http://evil.example/a"),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(
            lookup_url("HTTP://Evil.Example:80").as_deref(),
            Some("http://evil.example/")
        );
        assert_eq!(lookup_url("not a url"), None);
        assert_eq!(
            url_host("https://[2001:db8::1]:8443/x"),
            Some("2001:db8::1")
        );
        assert_eq!(
            url_host("https://user@Host.example:8443/x"),
            Some("Host.example")
        );
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(hex_decode::<2>("aBcD"), Some([0xab, 0xcd]));
        assert_eq!(hex_decode::<2>("abc"), None);
        assert_eq!(hex_decode::<2>("abcg"), None);
    }

    #[test]
    fn addresses_for_lookup() {
        assert_eq!(lookup_addr(" 10.0.0.1 "), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(
            lookup_addr("::ffff:10.0.0.1"),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            lookup_addr("[fe80::1%eth0]"),
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(lookup_addr("-"), None);
    }
}
