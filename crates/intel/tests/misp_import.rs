//! MISP event and feed import into STIX 2.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use shield_intel::ioc::{Ioc, IocKind};
use shield_intel::matcher::{IndicatorRef, IocMatcher};
use shield_intel::misp::{MispError, MispImport, import_event, import_feed};
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/misp")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn object<'a>(import: &'a MispImport, id: &str) -> &'a Value {
    import
        .objects
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn event_attributes_become_indicators_and_observations() {
    let import = import_event(&fixture("event-small.json"), "event-small.json").unwrap();
    assert_eq!(import.event_uuid, "6f1c5e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(import.indicators.len(), 10, "{:#?}", import.indicators);
    // text, link, deleted md5, yara object.
    assert_eq!(import.skipped, 4);
    assert_eq!(import.issues.len(), 1);
    let issue = import.issues[0].to_string();
    assert!(
        issue.contains("Attribute[10] (uuid a1000000-0000-4000-8000-00000000000b)")
            && issue.contains("ip-dst"),
        "{issue}"
    );

    // Every object is valid STIX 2.1.
    for o in &import.objects {
        StixObject::from_value(o.clone()).unwrap_or_else(|e| panic!("{e}: {o}"));
    }

    let c2 = object(&import, "indicator--a1000000-0000-4000-8000-000000000001");
    assert_eq!(c2["pattern"], "[ipv4-addr:value = '198.51.100.7']");
    assert_eq!(c2["pattern_type"], "stix");
    assert_eq!(c2["valid_from"], "2026-02-10T10:41:40.000Z");
    assert_eq!(c2["description"], "C2 server");
    assert_eq!(
        c2["created_by_ref"],
        "identity--0d5e1f2a-6b7c-4d8e-9f0a-1b2c3d4e5f60"
    );
    // The attribute's own TLP wins over the event's.
    assert_eq!(c2["object_marking_refs"][0], Tlp::Amber.marking_id());
    let labels: Vec<&str> = c2["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        vec![
            "misp:type=\"ip-dst\"",
            "misp:category=\"Network activity\"",
            "kill-chain:c2"
        ]
    );

    let domain = object(&import, "indicator--a1000000-0000-4000-8000-000000000002");
    assert_eq!(
        domain["pattern"],
        "[domain-name:value = 'login-example.invalid']"
    );
    assert_eq!(domain["object_marking_refs"][0], Tlp::Green.marking_id());

    // Quotes and backslashes are escaped inside pattern literals.
    let url = object(&import, "indicator--a1000000-0000-4000-8000-000000000003");
    assert_eq!(
        url["pattern"],
        r"[url:value = 'https://login-example.invalid/owa/?user=x\'y']"
    );
    let file = object(&import, "indicator--a1000000-0000-4000-8000-000000000005");
    assert_eq!(
        file["pattern"],
        r"[file:name = 'inv\'oice\\2026.pdf.exe' AND file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']"
    );
    let port = object(&import, "indicator--a1000000-0000-4000-8000-000000000004");
    assert_eq!(
        port["pattern"],
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.9' AND network-traffic:dst_port = 8443]"
    );
    let file_object = object(&import, "indicator--b2000000-0000-4000-8000-000000000001");
    assert_eq!(
        file_object["pattern"],
        "[file:hashes.MD5 = '098f6bcd4621d373cade4e832627b4f6' AND file:hashes.'SHA-1' = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3' AND file:name = 'stage2.dll']"
    );

    // to_ids false: an observation, not an indicator.
    let observed = object(
        &import,
        "observed-data--a1000000-0000-4000-8000-000000000008",
    );
    let sco_id = observed["object_refs"][0].as_str().unwrap();
    assert_eq!(object(&import, sco_id)["value"], "192.0.2.44");
    assert!(
        import
            .indicators
            .iter()
            .all(|i| !i.id.ends_with("000000000008"))
    );

    // The report groups everything and carries the event's tags.
    let report = object(&import, "report--6f1c5e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(report["name"], "Test event: phishing wave with a dropper");
    assert_eq!(report["object_refs"].as_array().unwrap().len(), 11);
    assert_eq!(report["labels"][0], "campaign:wave-2");
    assert_eq!(report["object_marking_refs"][0], Tlp::Green.marking_id());
    assert_eq!(report["published"], "2026-02-10T11:40:00.000Z");
    let refs = report["external_references"].as_array().unwrap();
    assert!(
        refs.iter()
            .any(|r| r["url"] == "https://reports.example/wave-2")
    );
    // Marking definitions of the levels used, and the identity, come first.
    assert_eq!(import.objects[0]["type"], "identity");
    assert!(
        import
            .objects
            .iter()
            .any(|o| o["id"] == Tlp::Amber.marking_id())
    );
    assert!(
        import
            .objects
            .iter()
            .any(|o| o["id"] == Tlp::Green.marking_id())
    );
}

#[test]
fn imported_indicators_feed_the_matcher() {
    let import = import_event(&fixture("event-small.json"), "event-small.json").unwrap();
    let entries: Vec<(Ioc, IndicatorRef)> = import
        .indicators
        .iter()
        .enumerate()
        .flat_map(|(i, ind)| {
            ind.iocs
                .iter()
                .map(move |ioc| (ioc.clone(), IndicatorRef(i as u32)))
        })
        .collect();
    let matcher = IocMatcher::build(entries.iter().map(|(i, r)| (i, *r))).unwrap();
    let names = |kind, value: &str| -> Vec<String> {
        let mut out = Vec::new();
        matcher.lookup(kind, value, &mut out);
        let mut n: Vec<String> = out
            .iter()
            .map(|h| import.indicators[h.indicator.0 as usize].name.clone())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(IocKind::Domain, "cdn.login-example.invalid"),
        vec![
            "domain: Login-Example.invalid",
            "domain|ip: cdn.login-example.invalid|198.51.100.8"
        ]
    );
    assert_eq!(
        names(IocKind::Md5, "098F6BCD4621D373CADE4E832627B4F6"),
        vec!["file object"]
    );
    assert_eq!(
        names(IocKind::Ipv4, "203.0.113.77"),
        vec!["network-connection object"]
    );
    // The victim side of a connection is context, not an indicator value.
    assert!(names(IocKind::Ipv4, "10.20.30.40").is_empty());
    assert!(names(IocKind::Ipv4, "192.0.2.44").is_empty());
    assert_eq!(
        names(IocKind::UserAgent, "Mozilla/4.0 (compatible; EvilBot)").len(),
        1
    );
}

#[test]
fn bad_documents_are_refused_with_their_position() {
    match import_event("{\"Event\": {\"uuid\": ", "broken.json") {
        Err(MispError::Json { input, line, .. }) => {
            assert_eq!(input, "broken.json");
            assert_eq!(line, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        import_event("[1, 2]", "array.json"),
        Err(MispError::NotAnEvent { .. })
    ));
    assert!(matches!(
        import_event(r#"{"Event": {"uuid": "not-a-uuid"}}"#, "x.json"),
        Err(MispError::NotAnEvent {
            reason: "uuid is not a UUID",
            ..
        })
    ));
    // An event with nothing to map imports, says so, and has no report.
    let empty = import_event(
        r#"{"uuid": "11111111-2222-4333-8444-555555555555", "Attribute": [{"type": "text", "value": "x"}]}"#,
        "empty.json",
    )
    .unwrap();
    assert!(empty.objects.is_empty());
    assert_eq!(empty.skipped, 1);
    assert_eq!(empty.issues.len(), 1);
}

#[test]
fn feed_folder_with_missing_and_hostile_entries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misp/feed");
    let mut asked = Vec::new();
    let feed = import_feed(
        &std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
        |name| {
            asked.push(name.to_owned());
            std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string())
        },
    )
    .unwrap();
    // The hostile key is never turned into a file name.
    assert!(asked.iter().all(|n| !n.contains('/')), "{asked:?}");
    assert_eq!(feed.events.len(), 2);
    assert_eq!(feed.issues.len(), 2, "{:?}", feed.issues);
    assert!(feed.issues.iter().any(|e| {
        e.to_string()
            .contains("8b3e7a4c-5d6f-4a71-8c1d-2e3f4a5b6c7d.json")
    }));
    assert!(
        feed.issues
            .iter()
            .any(|e| e.to_string().contains("not an event uuid"))
    );
    let bare = feed
        .events
        .iter()
        .find(|e| e.event_uuid.starts_with("7a2d6f3b"))
        .unwrap();
    assert_eq!(bare.indicators.len(), 2);
    let network = &bare.indicators[1];
    assert_eq!(
        network.iocs,
        vec![Ioc::new(IocKind::Cidr, "2001:db8:bad::/48").unwrap()]
    );
    assert_eq!(network.tlp, Some(Tlp::Clear));
    let pattern = bare
        .objects
        .iter()
        .find(|o| o["id"] == network.id.as_str())
        .unwrap()["pattern"]
        .clone();
    assert_eq!(pattern, "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']");
}

fn shared_data() -> Option<PathBuf> {
    match std::env::var_os("SHIELD_SHARED_DATA") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipping: SHIELD_SHARED_DATA not set");
            None
        }
    }
}

#[test]
fn pymisp_feed_sample_matches_misp_converter_ids() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("ti/misp-feed-sample");
    let manifest =
        std::fs::read_to_string(dir.join("manifest.json")).expect("misp-feed-sample is missing");
    let feed = import_feed(&manifest, |name| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string())
    })
    .unwrap();
    assert_eq!(feed.events.len(), 2);
    assert!(feed.issues.is_empty(), "{:?}", feed.issues);
    let synthetic = feed
        .events
        .iter()
        .find(|e| e.event_uuid == "c242d472-dde3-4198-b4d4-2d48b33b468a")
        .unwrap();
    // MISP's own converter made the same indicators (it also reuses the MISP uuids).
    let converted: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("ti/misp-feed-sample-as-stix21.json")).unwrap(),
    )
    .unwrap();
    let mut theirs: Vec<&str> = converted["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let mut ours: Vec<&str> = synthetic.indicators.iter().map(|i| i.id.as_str()).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
    let c2 = synthetic
        .indicators
        .iter()
        .find(|i| i.id.ends_with("a01d9023-a62b-4141-b528-99d21613ec25"))
        .unwrap();
    assert_eq!(c2.tlp, Some(Tlp::Amber));
    assert_eq!(
        c2.iocs,
        vec![Ioc::new(IocKind::Ipv4, "198.51.100.7").unwrap()]
    );
    // The real OSINT event (files, domains, text) imports with every object valid.
    let sednit = feed
        .events
        .iter()
        .find(|e| e.event_uuid.starts_with("5a3c2fcd"))
        .unwrap();
    assert!(sednit.indicators.len() > 10, "{}", sednit.indicators.len());
    for o in &sednit.objects {
        StixObject::from_value(o.clone()).unwrap_or_else(|e| panic!("{e}: {o}"));
    }
}

#[test]
fn misp_sample_events_import_without_losing_the_event() {
    let Some(data) = shared_data() else { return };
    for name in [
        "MISP-tests-event.json",
        "pymisp-existing_event-sednit.json",
        "pymisp-57c4445b-xorist-feed-event.json",
    ] {
        let text = std::fs::read_to_string(data.join("ti/misp-samples").join(name))
            .expect("misp sample is missing");
        let import = import_event(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!import.objects.is_empty(), "{name}");
        for o in &import.objects {
            StixObject::from_value(o.clone()).unwrap_or_else(|e| panic!("{name}: {e}: {o}"));
        }
    }
}

#[test]
fn fuzz_entry_point_survives_truncated_and_mangled_events() {
    let text = fixture("event-small.json");
    let bytes = text.as_bytes();
    for cut in (0..bytes.len()).step_by(97) {
        shield_intel::misp::fuzz_event(&bytes[..cut]);
    }
    let mangled = text
        .replace("\"to_ids\": true", "\"to_ids\": {\"x\": []}")
        .replace("\"value\": \"", "\"value\": [\"");
    shield_intel::misp::fuzz_event(mangled.as_bytes());
    shield_intel::misp::fuzz_event(br#"{"Event": {"uuid": "6f1c5e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "Attribute": 7, "Object": [null, 1, {"name": "file", "Attribute": [{"object_relation": "md5", "type": "md5", "value": "zz"}]}]}}"#);
}
