//! Single IOCs (from lists, searches, the command line) as STIX 2.1 indicators.
//!
//! The indicator's id is derived from the IOC (UUIDv5 over `kind:value` in Shield's namespace), so
//! importing the same list twice names the same indicators: the store keeps one object with its
//! versions instead of a new object per import.

use uuid::Uuid;

use crate::ioc::{Ioc, IocKind};
use crate::stix::{ObjectBuilder, StixError, StixObject, Timestamp};
use crate::tlp::Tlp;

/// Namespace of the ids Shield derives for indicators of single IOCs.
pub const IOC_INDICATOR_NAMESPACE: Uuid =
    Uuid::from_u128(0x5b1e_1d00_7c0e_4e6a_9f3b_1c2d_3e4f_5a6b);

/// The STIX pattern that matches exactly this IOC.
pub fn ioc_pattern(ioc: &Ioc) -> String {
    let value = escape(ioc.value());
    match ioc.kind() {
        IocKind::Ipv4 => format!("[ipv4-addr:value = '{value}']"),
        IocKind::Ipv6 => format!("[ipv6-addr:value = '{value}']"),
        IocKind::Cidr if ioc.value().contains(':') => {
            format!("[ipv6-addr:value ISSUBSET '{value}']")
        }
        IocKind::Cidr => format!("[ipv4-addr:value ISSUBSET '{value}']"),
        IocKind::Domain => format!("[domain-name:value = '{value}']"),
        IocKind::Url => format!("[url:value = '{value}']"),
        IocKind::Md5 => format!("[file:hashes.MD5 = '{value}']"),
        IocKind::Sha1 => format!("[file:hashes.'SHA-1' = '{value}']"),
        IocKind::Sha256 => format!("[file:hashes.'SHA-256' = '{value}']"),
        IocKind::Sha512 => format!("[file:hashes.'SHA-512' = '{value}']"),
        IocKind::Email => format!("[email-addr:value = '{value}']"),
        IocKind::FileName => format!("[file:name = '{value}']"),
        IocKind::UserAgent => format!(
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{value}']"
        ),
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The id Shield gives the indicator of `ioc`.
pub fn ioc_indicator_id(ioc: &Ioc) -> String {
    let name = format!("{}:{}", ioc.kind().as_str(), ioc.value());
    format!(
        "indicator--{}",
        Uuid::new_v5(&IOC_INDICATOR_NAMESPACE, name.as_bytes())
    )
}

/// An indicator for one IOC, created (and valid from) `created`, marked `tlp` when given, with
/// `labels` (e.g. a list's tags) and a name (`kind: value` when none is given).
pub fn indicator_for_ioc(
    ioc: &Ioc,
    created: Timestamp,
    name: Option<&str>,
    labels: &[String],
    tlp: Option<Tlp>,
) -> Result<StixObject, StixError> {
    let pattern = ioc_pattern(ioc);
    let mut builder = ObjectBuilder::indicator(&pattern, "stix", created, created)
        .id(ioc_indicator_id(ioc))
        .property(
            "name",
            name.map_or_else(
                || format!("{}: {}", ioc.kind().as_str(), ioc.value()),
                str::to_owned,
            ),
        )
        .property("indicator_types", vec!["malicious-activity"]);
    for label in labels {
        builder = builder.label(label);
    }
    if let Some(tlp) = tlp {
        builder = builder.tlp(tlp);
    }
    builder.build()
}

/// Indicators for many IOCs that share their creation time and TLP marking (the lines of one
/// list), written straight to JSON text: the same text as [`indicator_for_ioc`] without labels
/// followed by [`StixObject::to_json`], byte for byte, without building a property map, drawing
/// a random id that is replaced, formatting the timestamp three times and validating an object
/// that is valid by construction. For imports of millions of indicators.
#[derive(Debug, Clone)]
pub struct IocIndicatorWriter {
    /// `created` as written, and as read back from that text.
    created_at: (String, Timestamp),
    tlp: Option<Tlp>,
    /// `created` as JSON text (quoted), also `modified` and `valid_from`.
    created: String,
    /// `,"object_marking_refs":["…"]` or nothing.
    marking: String,
}

impl IocIndicatorWriter {
    /// A writer of indicators created (and valid from) `created`, marked `tlp` when given.
    pub fn new(created: Timestamp, tlp: Option<Tlp>) -> IocIndicatorWriter {
        let text = created.to_string();
        let read_back = Timestamp::parse(&text).unwrap_or(created);
        IocIndicatorWriter {
            created: json_string(&text),
            created_at: (text, read_back),
            tlp,
            marking: tlp.map_or_else(String::new, |t| {
                format!(",\"object_marking_refs\":[{}]", json_string(t.marking_id()))
            }),
        }
    }

    /// When the indicators are created (their `created`, `modified` and `valid_from`): the text
    /// they carry, and the time it reads as.
    pub fn created(&self) -> (&str, Timestamp) {
        (&self.created_at.0, self.created_at.1)
    }

    /// Their TLP marking.
    pub fn tlp(&self) -> Option<Tlp> {
        self.tlp
    }

    /// The id and the JSON text of the indicator of `ioc`, named `name` (else `kind: value`).
    pub fn write(&self, ioc: &Ioc, name: Option<&str>) -> (String, String) {
        let id = ioc_indicator_id(ioc);
        let pattern = json_string(&ioc_pattern(ioc));
        let name = match name {
            Some(name) => json_string(name),
            None => json_string(&format!("{}: {}", ioc.kind().as_str(), ioc.value())),
        };
        let created = &self.created;
        let json = format!(
            "{{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"{id}\",\"created\":{created},\
             \"modified\":{created},\"pattern\":{pattern},\"pattern_type\":\"stix\",\
             \"valid_from\":{created},\"name\":{name},\
             \"indicator_types\":[\"malicious-activity\"]{marking}}}",
            marking = self.marking
        );
        (id, json)
    }
}

/// `text` as a JSON string literal, escaped as `serde_json` escapes it.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Pattern;

    #[test]
    fn every_kind_gives_a_valid_pattern_whose_simple_iocs_name_the_value() {
        let samples = [
            (IocKind::Ipv4, "10.1.2.3"),
            (IocKind::Ipv6, "2001:db8::1"),
            (IocKind::Cidr, "10.0.0.0/8"),
            (IocKind::Domain, "evil.example"),
            (IocKind::Url, "http://evil.example/a?b='c'"),
            (IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (IocKind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (IocKind::Email, "phish@evil.example"),
            (IocKind::FileName, "it's\\bad.exe"),
        ];
        for (kind, value) in samples {
            let ioc = Ioc::new(kind, value).unwrap();
            let text = ioc_pattern(&ioc);
            let pattern = Pattern::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            if kind != IocKind::Cidr {
                let iocs = pattern.simple_iocs();
                assert_eq!(iocs.len(), 1, "{text}");
                assert_eq!(iocs[0].value, ioc.value(), "{text}");
            }
            let ind = indicator_for_ioc(
                &ioc,
                Timestamp::now(),
                None,
                &["feed-x".to_owned()],
                Some(Tlp::Amber),
            )
            .unwrap();
            assert_eq!(ind.id(), ioc_indicator_id(&ioc));
            assert_eq!(crate::tlp::tlp_of(&ind), Some(Tlp::Amber));
        }
    }

    #[test]
    fn the_writer_writes_what_the_builder_builds() {
        let samples = [
            (IocKind::Ipv4, "10.1.2.3"),
            (IocKind::Ipv6, "2001:db8::1"),
            (IocKind::Cidr, "10.0.0.0/8"),
            (IocKind::Cidr, "2001:db8::/32"),
            (IocKind::Domain, "evil.example"),
            (IocKind::Url, "http://evil.example/a?b='c'&d=\"e\"\\f"),
            (IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (IocKind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (IocKind::Email, "phish@evil.example"),
            (IocKind::FileName, "it's\\bad \u{e9}.exe"),
            (IocKind::UserAgent, "Mozilla/5.0 \"x\""),
        ];
        let now = Timestamp::parse("2026-03-01T12:00:00.123Z").unwrap();
        for tlp in [None, Some(Tlp::Green), Some(Tlp::AmberStrict)] {
            let writer = IocIndicatorWriter::new(now, tlp);
            for (kind, value) in samples {
                let ioc = Ioc::new(kind, value).unwrap();
                for name in [None, Some("line \"comment\" \u{1}")] {
                    let built = indicator_for_ioc(&ioc, now, name, &[], tlp).unwrap();
                    let (id, json) = writer.write(&ioc, name);
                    assert_eq!(id, built.id());
                    assert_eq!(json, built.to_json(), "{kind:?} {value}");
                    assert_eq!(StixObject::from_json(json.as_bytes()).unwrap(), built);
                }
            }
        }
    }

    #[test]
    fn the_same_ioc_always_gets_the_same_id() {
        let a = Ioc::new(IocKind::Domain, "Evil.Example.").unwrap();
        let b = Ioc::new(IocKind::Domain, "evil.example").unwrap();
        assert_eq!(ioc_indicator_id(&a), ioc_indicator_id(&b));
        assert_ne!(
            ioc_indicator_id(&a),
            ioc_indicator_id(&Ioc::new(IocKind::Domain, "other.example").unwrap())
        );
    }
}
