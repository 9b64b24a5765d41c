//! Guessing an indicator's kind from its value, after undoing defanging.

use std::borrow::Cow;

use ipnet::IpNet;

use super::normalise::{MAX_VALUE_LEN, lookup_addr};
use super::{Ioc, IocKind};

/// Defanging spellings and what they stand for. Matched case-insensitively.
const REFANG: [(&str, &str); 16] = [
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[@]", "@"),
    ("(@)", "@"),
    ("{@}", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("[:]", ":"),
    ("[://]", "://"),
    ("[/]", "/"),
    ("[://", "://"),
    ("://]", "://"),
];

/// Defanged schemes and their real names, matched case-insensitively at the start.
const SCHEMES: [(&str, &str); 4] = [
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("fxps", "ftps"),
    ("fxp", "ftp"),
];

/// File extensions that are not top-level domains: `invoice.exe` is a file name, not a host.
/// (Extensions that are also TLDs, such as `.zip`, `.mov` or `.com`, are left to the domain rule.)
const FILE_EXTENSIONS: [&str; 60] = [
    "exe", "dll", "sys", "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "wsf",
    "wsh", "hta", "scr", "lnk", "msi", "msp", "jar", "doc", "docx", "docm", "dot", "dotm", "xls",
    "xlsx", "xlsm", "xlsb", "ppt", "pptx", "pptm", "pdf", "rtf", "txt", "iso", "img", "vhd",
    "vhdx", "dat", "bin", "tmp", "ini", "elf", "so", "dylib", "apk", "dmg", "py", "sh", "php",
    "aspx", "jsp", "htm", "7z", "rar", "gz", "tgz", "cab", "cpl",
];

/// Undoes the usual defanging of indicators in reports: `hxxp://` and `fxp://` schemes, `[.]`,
/// `(.)`, `{.}`, `[dot]`, `[@]`, `(at)`, `[:]`, `[://]`. Borrows when there is nothing to undo.
pub fn refang(value: &str) -> Cow<'_, str> {
    let scheme = SCHEMES.iter().find(|(fanged, _)| {
        value
            .get(..fanged.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(fanged))
            && value[fanged.len()..].starts_with(['[', ':'])
    });
    let bracketed = value.contains(['[', '(', '{']) || value.contains("://]");
    if scheme.is_none() && !bracketed {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    if let Some((fanged, real)) = scheme {
        out.push_str(real);
        rest = &value[fanged.len()..];
    }
    'outer: while !rest.is_empty() {
        for (fanged, real) in REFANG {
            if rest
                .get(..fanged.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(fanged))
            {
                out.push_str(real);
                rest = &rest[fanged.len()..];
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

/// The kind of a bare value (see [`detect`]).
pub fn detect_kind(value: &str) -> Option<IocKind> {
    detect(value).map(|ioc| ioc.kind())
}

/// Guesses the kind of a bare value, as one-per-line lists write them, and normalises it.
/// Defanged values are refanged first. In order: hex of a hash's length is a hash; an address or
/// CIDR block is one; `scheme://…` is a URL; `x@y` is an e-mail address; a name ending in a common
/// file extension that is no top-level domain (`.exe`, `.dll`, `.docm`, …) or holding a backslash is
/// a file name; `host/path` is an `http://` URL; a dotted name with an alphabetic top-level label is
/// a domain. Anything else answers `None`.
pub fn detect(value: &str) -> Option<Ioc> {
    let value = refang(value.trim());
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        let kind = match value.len() {
            32 => IocKind::Md5,
            40 => IocKind::Sha1,
            64 => IocKind::Sha256,
            128 => IocKind::Sha512,
            _ => return None,
        };
        return Ioc::new(kind, value).ok();
    }
    if lookup_addr(value).is_some() || value.parse::<IpNet>().is_ok() {
        return Ioc::new(IocKind::Ipv4, value).ok();
    }
    if value.contains("://") {
        return Ioc::new(IocKind::Url, value).ok();
    }
    if value.contains(char::is_whitespace) {
        return None;
    }
    if value.contains('@') {
        return Ioc::new(IocKind::Email, value).ok();
    }
    if value.contains('\\') || has_file_extension(value) {
        return Ioc::new(IocKind::FileName, value).ok();
    }
    if let Some((host, _path)) = value.split_once('/') {
        let host_ok = lookup_addr(host).is_some() || is_domain_like(host);
        if !host_ok {
            return None;
        }
        return Ioc::new(IocKind::Url, &format!("http://{value}")).ok();
    }
    if is_domain_like(value) {
        return Ioc::new(IocKind::Domain, value).ok();
    }
    None
}

fn has_file_extension(value: &str) -> bool {
    match value.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !value.contains('/') => FILE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext)),
        _ => false,
    }
}

/// At least two labels and an alphabetic top-level label of two characters or more.
fn is_domain_like(value: &str) -> bool {
    let value = value.strip_suffix('.').unwrap_or(value);
    match value.rsplit_once('.') {
        Some((head, tld)) => {
            let tld_ok = tld.starts_with("xn--")
                || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
            !head.is_empty() && tld_ok
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refang_borrows_clean_values() {
        assert!(matches!(refang("evil.example"), Cow::Borrowed(_)));
        assert_eq!(
            refang("hXXps[:]//evil[.]example/a"),
            "https://evil.example/a"
        );
        assert_eq!(refang("bob[at]evil(.)example"), "bob@evil.example");
        assert_eq!(refang("fxp://files{dot}example"), "ftp://files.example");
    }

    #[test]
    fn hex_of_other_lengths_is_not_a_hash() {
        assert_eq!(detect_kind("abcdef"), None);
        assert_eq!(detect_kind("deadbeef"), None);
    }
}
