//! The compiled IOC matcher: kinds, subdomains, networks, live updates, events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::json;
use shield_event::{Event, Format};
use shield_intel::ioc::{Ioc, IocKind};
use shield_intel::matcher::{IndicatorRef, IocHit, IocMatcher, MatchVia};

fn ioc(kind: IocKind, value: &str) -> Ioc {
    Ioc::new(kind, value).unwrap()
}

fn refs(matcher: &IocMatcher, kind: IocKind, value: &str) -> Vec<u32> {
    let mut out = Vec::new();
    matcher.lookup(kind, value, &mut out);
    let mut r: Vec<u32> = out.iter().map(|h| h.indicator.0).collect();
    r.sort_unstable();
    r
}

fn sample() -> IocMatcher {
    let entries = [
        (ioc(IocKind::Ipv4, "203.0.113.5"), 1),
        (ioc(IocKind::Cidr, "198.51.100.0/24"), 2),
        (ioc(IocKind::Cidr, "198.51.0.0/16"), 3),
        (ioc(IocKind::Ipv6, "2001:db8::5"), 4),
        (ioc(IocKind::Cidr, "2001:db8:bad::/48"), 5),
        (ioc(IocKind::Domain, "evil.com"), 6),
        (ioc(IocKind::Domain, "tracker.ads.example"), 7),
        (ioc(IocKind::Url, "http://evil.com/drop.php?id=1"), 8),
        (ioc(IocKind::Md5, "D41D8CD98F00B204E9800998ECF8427E"), 9),
        (
            ioc(IocKind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            10,
        ),
        (
            ioc(
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            11,
        ),
        (ioc(IocKind::Email, "Phish@Evil.com"), 12),
        (ioc(IocKind::FileName, "invoice.pdf.exe"), 13),
        (ioc(IocKind::UserAgent, "EvilBot/1.0"), 14),
        (ioc(IocKind::Domain, "evil.com"), 15),
        (ioc(IocKind::Sha512, &"AB".repeat(64)), 16),
    ];
    IocMatcher::build(entries.iter().map(|(i, r)| (i, IndicatorRef(*r)))).unwrap()
}

#[test]
fn exact_values_of_every_kind() {
    let m = sample();
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.5"), vec![1]);
    assert_eq!(refs(&m, IocKind::Ipv6, "2001:DB8:0::5"), vec![4]);
    assert_eq!(
        refs(&m, IocKind::Url, "HTTP://EVIL.com:80/drop.php?id=1#x"),
        vec![8]
    );
    assert_eq!(
        refs(&m, IocKind::Url, "http://evil.com/drop.php?id=2"),
        Vec::<u32>::new()
    );
    assert_eq!(refs(&m, IocKind::Email, "phish@evil.COM"), vec![12]);
    assert_eq!(
        refs(&m, IocKind::FileName, "C:\\Users\\x\\INVOICE.pdf.exe"),
        vec![13]
    );
    assert_eq!(refs(&m, IocKind::UserAgent, "EvilBot/1.0"), vec![14]);
    assert_eq!(
        refs(&m, IocKind::UserAgent, "evilbot/1.0"),
        Vec::<u32>::new()
    );
    assert_eq!(refs(&m, IocKind::Sha512, &"ab".repeat(64)), vec![16]);
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.6"), Vec::<u32>::new());
    assert_eq!(refs(&m, IocKind::Ipv4, "not an address"), Vec::<u32>::new());
}

#[test]
fn hashes_match_in_either_case() {
    let m = sample();
    assert_eq!(
        refs(&m, IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        vec![9]
    );
    assert_eq!(
        refs(&m, IocKind::Md5, "D41D8CD98F00B204E9800998ECF8427E"),
        vec![9]
    );
    assert_eq!(
        refs(
            &m,
            IocKind::Sha1,
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
        ),
        vec![10]
    );
    assert_eq!(
        refs(
            &m,
            IocKind::Sha256,
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        ),
        vec![11]
    );
    // A hash of the wrong length or kind matches nothing.
    assert_eq!(
        refs(&m, IocKind::Sha1, "d41d8cd98f00b204e9800998ecf8427e"),
        Vec::<u32>::new()
    );
    assert_eq!(
        refs(&m, IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427f"),
        Vec::<u32>::new()
    );
}

#[test]
fn subdomains_match_but_lookalikes_do_not() {
    let m = sample();
    assert_eq!(refs(&m, IocKind::Domain, "evil.com"), vec![6, 15]);
    assert_eq!(refs(&m, IocKind::Domain, "a.b.evil.com"), vec![6, 15]);
    assert_eq!(refs(&m, IocKind::Domain, "WWW.Evil.Com."), vec![6, 15]);
    assert_eq!(refs(&m, IocKind::Domain, "notevil.com"), Vec::<u32>::new());
    assert_eq!(
        refs(&m, IocKind::Domain, "evil.com.attacker.example"),
        Vec::<u32>::new()
    );
    assert_eq!(refs(&m, IocKind::Domain, "com"), Vec::<u32>::new());
    assert_eq!(refs(&m, IocKind::Domain, "ads.example"), Vec::<u32>::new());
    assert_eq!(refs(&m, IocKind::Domain, "x.tracker.ads.example"), vec![7]);
    let mut out = Vec::new();
    m.lookup(IocKind::Domain, "a.evil.com", &mut out);
    assert!(
        out.iter()
            .all(|h| h.via == MatchVia::Subdomain && h.kind == IocKind::Domain)
    );
    out.clear();
    m.lookup(IocKind::Domain, "evil.com", &mut out);
    assert!(out.iter().all(|h| h.via == MatchVia::Exact));
}

#[test]
fn cidr_containment_v4_and_v6() {
    let m = sample();
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.100.200"), vec![2, 3]);
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.7.1"), vec![3]);
    assert_eq!(refs(&m, IocKind::Ipv4, "198.52.0.1"), Vec::<u32>::new());
    assert_eq!(refs(&m, IocKind::Ipv4, "::ffff:198.51.100.1"), vec![2, 3]);
    assert_eq!(refs(&m, IocKind::Ipv6, "2001:db8:bad:ffff::1"), vec![5]);
    assert_eq!(
        refs(&m, IocKind::Ipv6, "2001:db8:bae::1"),
        Vec::<u32>::new()
    );
    // A network matches the blocks that contain it.
    assert_eq!(refs(&m, IocKind::Cidr, "198.51.100.128/25"), vec![2, 3]);
    assert_eq!(refs(&m, IocKind::Cidr, "198.51.0.0/16"), vec![3]);
    assert_eq!(refs(&m, IocKind::Cidr, "198.0.0.0/8"), Vec::<u32>::new());
    let mut out = Vec::new();
    m.lookup(IocKind::Ipv4, "198.51.100.9", &mut out);
    assert_eq!(
        out,
        vec![
            IocHit {
                indicator: IndicatorRef(2),
                kind: IocKind::Cidr,
                via: MatchVia::Network { prefix_len: 24 }
            },
            IocHit {
                indicator: IndicatorRef(3),
                kind: IocKind::Cidr,
                via: MatchVia::Network { prefix_len: 16 }
            },
        ]
    );
}

#[test]
fn zero_length_prefix_matches_everything_of_its_family() {
    let all = ioc(IocKind::Cidr, "0.0.0.0/0");
    let m = IocMatcher::build([(&all, IndicatorRef(1))]).unwrap();
    assert_eq!(refs(&m, IocKind::Ipv4, "255.255.255.255"), vec![1]);
    assert_eq!(refs(&m, IocKind::Ipv6, "2001:db8::1"), Vec::<u32>::new());
}

#[test]
fn live_insert_revoke_and_rebuild() {
    let mut m = sample();
    let (base, _, _) = m.stats();
    m.insert(&ioc(IocKind::Domain, "new-c2.example"), IndicatorRef(20))
        .unwrap();
    m.insert(&ioc(IocKind::Ipv4, "203.0.113.5"), IndicatorRef(21))
        .unwrap();
    assert_eq!(refs(&m, IocKind::Domain, "x.new-c2.example"), vec![20]);
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.5"), vec![1, 21]);

    // Revoking hides base entries and drops delta entries.
    m.revoke(IndicatorRef(6)).unwrap();
    m.revoke(IndicatorRef(20)).unwrap();
    assert_eq!(refs(&m, IocKind::Domain, "a.evil.com"), vec![15]);
    assert_eq!(
        refs(&m, IocKind::Domain, "x.new-c2.example"),
        Vec::<u32>::new()
    );

    // A new version of a revoked indicator: its new values live in the delta.
    m.insert(&ioc(IocKind::Domain, "evil2.com"), IndicatorRef(6))
        .unwrap();
    assert_eq!(refs(&m, IocKind::Domain, "evil2.com"), vec![6]);
    assert_eq!(refs(&m, IocKind::Domain, "evil.com"), vec![15]);

    // A reader holding the old generation is not affected by later changes.
    let snapshot = Arc::new(m.clone());
    m.revoke(IndicatorRef(1)).unwrap();
    assert_eq!(refs(&snapshot, IocKind::Ipv4, "203.0.113.5"), vec![1, 21]);
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.5"), vec![21]);

    let before: Vec<Vec<u32>> = probes().iter().map(|(k, v)| refs(&m, *k, v)).collect();
    m.rebuild().unwrap();
    let after: Vec<Vec<u32>> = probes().iter().map(|(k, v)| refs(&m, *k, v)).collect();
    assert_eq!(before, after);
    let (rebuilt_base, delta, revoked) = m.stats();
    assert_eq!((delta, revoked), (0, 0));
    // 16 pairs, 2 revoked (refs 1 and 6), 2 added (21, and evil2.com for 6).
    assert_eq!(base, 16);
    assert_eq!(rebuilt_base, 16);
    assert!(!m.needs_rebuild());
}

fn probes() -> Vec<(IocKind, &'static str)> {
    vec![
        (IocKind::Ipv4, "203.0.113.5"),
        (IocKind::Ipv4, "198.51.100.3"),
        (IocKind::Domain, "a.evil.com"),
        (IocKind::Domain, "evil2.com"),
        (IocKind::Ipv6, "2001:db8::5"),
        (IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        (IocKind::Url, "http://evil.com/drop.php?id=1"),
    ]
}

#[test]
fn memory_usage_is_reported() {
    let m = sample();
    assert!(m.memory_usage() > 0);
    let empty = IocMatcher::new();
    assert_eq!(empty.memory_usage(), 0);
}

fn event(data: serde_json::Value) -> Event {
    Event::new(data, Arc::from("test"), Format::Json)
}

#[test]
fn events_match_through_their_observables() {
    let m = sample();
    let e = event(json!({
        "source": {"ip": "10.0.0.5"},
        "destination": {"ip": "198.51.100.20", "domain": "cdn.evil.com"},
        "url": {"full": "http://www.evil.com/index.html"},
        "file": {"hash": {"md5": "D41D8CD98F00B204E9800998ECF8427E"}}
    }));
    let mut hits = Vec::new();
    m.match_event(&e, &mut hits);
    let mut got: Vec<(u32, &str)> = hits
        .iter()
        .map(|h| (h.hit.indicator.0, h.field.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (2, "destination.ip"),
            (3, "destination.ip"),
            (6, "destination.domain"),
            (6, "url.full"),
            (9, "file.hash.md5"),
            (15, "destination.domain"),
            (15, "url.full"),
        ]
    );
    let url_hit = hits.iter().find(|h| h.field == "url.full").unwrap();
    assert_eq!(url_hit.value, "http://www.evil.com/index.html");
    assert_eq!(url_hit.hit.via, MatchVia::Subdomain);

    let quiet = event(json!({"source": {"ip": "10.0.0.5"}, "message": "all good"}));
    hits.clear();
    m.match_event(&quiet, &mut hits);
    assert!(hits.is_empty());
}

#[test]
fn live_networks_match_before_and_after_rebuild() {
    let mut m = sample();
    m.insert(&ioc(IocKind::Cidr, "203.0.113.0/28"), IndicatorRef(30))
        .unwrap();
    m.insert(&ioc(IocKind::Cidr, "198.51.100.0/25"), IndicatorRef(31))
        .unwrap();
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.5"), vec![1, 30]);
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.100.1"), vec![2, 3, 31]);
    m.revoke(IndicatorRef(2)).unwrap();
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.100.1"), vec![3, 31]);
    m.rebuild().unwrap();
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.5"), vec![1, 30]);
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.100.1"), vec![3, 31]);
    assert_eq!(refs(&m, IocKind::Ipv4, "198.51.100.200"), vec![3]);
    assert_eq!(refs(&m, IocKind::Ipv4, "203.0.113.16"), Vec::<u32>::new());
}

#[test]
fn intel_detector_raises_one_alert_per_event_and_indicator() {
    use shield_event::{AlertKind, Detector, Level};
    use shield_intel::matcher::{IndicatorRecord, IndicatorSet, IndicatorTable, IntelDetector};

    let mut table = IndicatorTable::new();
    let c2 = table
        .push(&IndicatorRecord {
            id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
            name: Some("C2 domain".into()),
            marking: Some(shield_intel::tlp::Tlp::Amber.marking_id().into()),
            valid_until: None,
            confidence: Some(90),
        })
        .unwrap();
    let expired = table
        .push(&IndicatorRecord {
            id: "indicator--00000000-0000-4000-8000-000000000001".into(),
            valid_until: chrono::DateTime::from_timestamp(1_000_000_000, 0),
            ..IndicatorRecord::default()
        })
        .unwrap();
    let domain = ioc(IocKind::Domain, "evil.com");
    let addr = ioc(IocKind::Ipv4, "203.0.113.5");
    let matcher = IocMatcher::build([(&domain, c2), (&addr, c2), (&addr, expired)]).unwrap();
    let detector = IntelDetector::new(IndicatorSet {
        matcher: Arc::new(matcher),
        table: Arc::new(table),
    });
    let events = vec![
        event(
            json!({"@timestamp": "2026-01-01T00:00:00Z", "dns": {"question": {"name": "x.evil.com"}}, "destination": {"ip": "203.0.113.5"}}),
        ),
        event(json!({"@timestamp": "2026-01-01T00:00:00Z", "destination": {"ip": "10.0.0.1"}})),
    ];
    let mut alerts = Vec::new();
    detector.detect(&events, &mut alerts);
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert.kind, AlertKind::Intel);
    assert_eq!(
        alert.rule.id,
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
    assert_eq!(alert.rule.title, "C2 domain");
    assert_eq!(alert.rule.level, Level::High);
    assert_eq!(alert.details["tlp"], "tlp:amber");
    assert_eq!(alert.details["matches"].as_array().unwrap().len(), 2);

    // A new generation replaces the old one at once.
    detector.replace(IndicatorSet::default());
    alerts.clear();
    detector.detect(&events, &mut alerts);
    assert!(alerts.is_empty());
}
