//! The STIX 2.1 pieces MISP import writes: escaped pattern comparisons, cyber observables with
//! their deterministic ids, and TLP 2.0 markings by tag.

use serde_json::{Map, Value};

use crate::ioc::{Ioc, IocKind};
use crate::stix::observable_identifier;
use crate::tlp::Tlp;

/// The most restrictive TLP level among MISP tags (`tlp:white` reads as CLEAR).
pub(super) fn tlp_of_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
    tags.into_iter().filter_map(Tlp::from_tag).max()
}

/// A value inside a pattern string literal: `\` and `'` escaped.
pub(super) fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// `path = 'value'`.
pub(super) fn eq(path: &str, value: &str) -> String {
    format!("{path} = '{}'", escape(value))
}

/// The pattern path of a hash kind.
pub(super) fn hash_path(kind: IocKind) -> Option<&'static str> {
    Some(match kind {
        IocKind::Md5 => "file:hashes.MD5",
        IocKind::Sha1 => "file:hashes.'SHA-1'",
        IocKind::Sha256 => "file:hashes.'SHA-256'",
        IocKind::Sha512 => "file:hashes.'SHA-512'",
        _ => return None,
    })
}

/// The STIX hash algorithm name of a hash kind.
pub(super) fn hash_name(kind: IocKind) -> Option<&'static str> {
    Some(match kind {
        IocKind::Md5 => "MD5",
        IocKind::Sha1 => "SHA-1",
        IocKind::Sha256 => "SHA-256",
        IocKind::Sha512 => "SHA-512",
        _ => return None,
    })
}

/// The one-comparison pattern of a single indicator value.
pub(super) fn comparison(ioc: &Ioc) -> String {
    let v = ioc.value();
    match ioc.kind() {
        IocKind::Ipv4 => eq("ipv4-addr:value", v),
        IocKind::Ipv6 => eq("ipv6-addr:value", v),
        IocKind::Cidr if v.contains(':') => format!("ipv6-addr:value ISSUBSET '{}'", escape(v)),
        IocKind::Cidr => format!("ipv4-addr:value ISSUBSET '{}'", escape(v)),
        IocKind::Domain => eq("domain-name:value", v),
        IocKind::Url => eq("url:value", v),
        IocKind::Email => eq("email-addr:value", v),
        IocKind::FileName => eq("file:name", v),
        IocKind::UserAgent => eq(
            "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
            v,
        ),
        kind => eq(hash_path(kind).unwrap_or("file:hashes.MD5"), v),
    }
}

/// A cyber observable with the id the specification derives from its contributing properties.
fn observable(kind: &str, properties: Map<String, Value>) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), kind.into());
    object.insert("spec_version".into(), "2.1".into());
    if let Some(id) = observable_identifier(kind, &properties) {
        object.insert("id".into(), id.into());
    }
    object.extend(properties);
    Value::Object(object)
}

/// The observable of one indicator value, `None` for kinds without one (user agents).
pub(super) fn observable_of(ioc: &Ioc) -> Option<Value> {
    let v = ioc.value();
    let value_only = |kind: &str| {
        let mut m = Map::new();
        m.insert("value".into(), v.into());
        observable(kind, m)
    };
    Some(match ioc.kind() {
        IocKind::Ipv4 => value_only("ipv4-addr"),
        IocKind::Ipv6 => value_only("ipv6-addr"),
        IocKind::Cidr if v.contains(':') => value_only("ipv6-addr"),
        IocKind::Cidr => value_only("ipv4-addr"),
        IocKind::Domain => value_only("domain-name"),
        IocKind::Url => value_only("url"),
        IocKind::Email => value_only("email-addr"),
        IocKind::FileName => file_observable(&[], Some(v)),
        IocKind::UserAgent => return None,
        kind => file_observable(&[(hash_name(kind)?, v)], None),
    })
}

/// A `file` observable with its hashes (algorithm, value) and name.
pub(super) fn file_observable(hashes: &[(&str, &str)], name: Option<&str>) -> Value {
    let mut properties = Map::new();
    if !hashes.is_empty() {
        let all: Map<String, Value> = hashes
            .iter()
            .map(|(a, v)| ((*a).to_owned(), Value::from(*v)))
            .collect();
        properties.insert("hashes".into(), Value::Object(all));
    }
    if let Some(name) = name {
        properties.insert("name".into(), name.into());
    }
    observable("file", properties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping_quotes_and_backslashes() {
        assert_eq!(eq("file:name", r"a\b'c"), r"file:name = 'a\\b\'c'");
    }

    #[test]
    fn observables_get_deterministic_ids() {
        let ioc = Ioc::new(IocKind::Ipv4, "1.2.3.4").unwrap();
        let a = observable_of(&ioc).unwrap();
        let b = observable_of(&ioc).unwrap();
        assert_eq!(a["id"], b["id"]);
        assert!(a["id"].as_str().unwrap().starts_with("ipv4-addr--"));
        let f = file_observable(&[("SHA-256", "ab"), ("MD5", "cd")], Some("x.exe"));
        assert_eq!(f["hashes"], json!({"MD5": "cd", "SHA-256": "ab"}));
        assert!(f["id"].as_str().unwrap().starts_with("file--"));
    }

    #[test]
    fn tlp_tags() {
        assert_eq!(tlp_of_tags(["TLP:WHITE"]), Some(Tlp::Clear));
        assert_eq!(
            tlp_of_tags(["tlp:green", "tlp:amber+strict", "pap:red"]),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(tlp_of_tags(["pap:green"]), None);
    }
}
