//! From STIX indicators to matcher entries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use shield_intel::ioc::{Ioc, IocKind};
use shield_intel::matcher::{
    IndicatorTable, IocMatcher, PatternIocs, indicator_record, pattern_iocs,
};
use shield_intel::pattern::Pattern;
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;

fn iocs(pattern: &str) -> Option<PatternIocs> {
    pattern_iocs(&Pattern::parse(pattern).unwrap())
}

fn ioc(kind: IocKind, value: &str) -> Ioc {
    Ioc::new(kind, value).unwrap()
}

#[test]
fn patterns_to_indicator_values() {
    let got =
        iocs("[ipv4-addr:value = '203.0.113.5'] OR [domain-name:value = 'Evil.Example']").unwrap();
    assert_eq!(
        got.iocs,
        vec![
            ioc(IocKind::Ipv4, "203.0.113.5"),
            ioc(IocKind::Domain, "evil.example")
        ]
    );
    assert!(got.exact);
    let got =
        iocs("[ipv4-addr:value ISSUBSET '198.51.100.0/24' OR ipv6-addr:value = '2001:db8::1']")
            .unwrap();
    assert_eq!(
        got.iocs,
        vec![
            ioc(IocKind::Cidr, "198.51.100.0/24"),
            ioc(IocKind::Ipv6, "2001:db8::1")
        ]
    );
    let got = iocs("[file:hashes.'SHA-256' IN ('E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855')]").unwrap();
    assert_eq!(got.iocs[0].kind(), IocKind::Sha256);
    // A conjunction stands by its most specific value and is not exact.
    let got =
        iocs("[file:name = 'a.exe' AND file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']")
            .unwrap();
    assert_eq!(
        got.iocs,
        vec![ioc(IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e")]
    );
    assert!(!got.exact);
    let got = iocs("[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'c2.example' AND network-traffic:dst_port = 443]").unwrap();
    assert_eq!(got.iocs, vec![ioc(IocKind::Domain, "c2.example")]);
    // What the matcher cannot stand for stays with the pattern engine.
    assert_eq!(iocs("[process:command_line MATCHES 'evil']"), None);
    assert_eq!(iocs("[ipv4-addr:value != '203.0.113.5']"), None);
    assert_eq!(
        iocs("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'x.example']"),
        None
    );
    assert_eq!(
        iocs("[ipv4-addr:value = '1.2.3.4'] OR [process:name = 'x.exe']"),
        None
    );
    assert_eq!(
        iocs("[domain-name:value = 'x.example'] WITHIN 10 SECONDS"),
        None
    );
}

#[test]
fn stix_indicators_build_a_matcher_and_side_table() {
    let indicator = StixObject::from_value(json!({
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "C2 domains", "confidence": 85,
        "pattern": "[domain-name:value = 'c2.example'] OR [url:value = 'http://c2.example/gate']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z",
        "object_marking_refs": [Tlp::Green.marking_id(), Tlp::Amber.marking_id()]
    }))
    .unwrap();
    let mut table = IndicatorTable::new();
    let reference = table.push(&indicator_record(&indicator)).unwrap();
    let pattern = indicator
        .as_indicator()
        .unwrap()
        .stix_pattern()
        .unwrap()
        .unwrap();
    let values = pattern_iocs(&pattern).unwrap();
    let matcher = IocMatcher::build(values.iocs.iter().map(|i| (i, reference))).unwrap();
    let mut hits = Vec::new();
    matcher.lookup(IocKind::Domain, "www.c2.example", &mut hits);
    assert_eq!(hits.len(), 1);
    let info = table.get(hits[0].indicator).unwrap();
    assert_eq!(info.id, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
    assert_eq!(info.name, Some("C2 domains"));
    assert_eq!(info.marking, Some(Tlp::Amber.marking_id()));
    assert_eq!(info.confidence, Some(85));
    assert_eq!(
        info.valid_until.unwrap().to_rfc3339(),
        "2027-01-01T00:00:00+00:00"
    );
}
