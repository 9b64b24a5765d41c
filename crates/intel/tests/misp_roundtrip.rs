//! MISP → STIX → MISP: what an exported event keeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;
use shield_intel::misp::{ExportOptions, export_event, export_feed, import_event, import_feed};
use uuid::Uuid;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/misp")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn attribute<'a>(event: &'a Value, uuid: &str) -> &'a Value {
    event["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["uuid"] == uuid)
        .unwrap_or_else(|| panic!("no attribute {uuid}"))
}

fn tag_names(item: &Value) -> Vec<&str> {
    item["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

#[test]
fn attributes_objects_and_tags_survive_the_round_trip() {
    let imported = import_event(&fixture("event-small.json"), "event-small.json").unwrap();
    let options = ExportOptions {
        org: Some((
            "Shield-Node".to_owned(),
            Uuid::from_u128(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd),
        )),
        timestamp: 1_770_800_000,
        ..ExportOptions::default()
    };
    let export = export_event(&imported.objects, &options);
    assert!(export.issues.is_empty(), "{:?}", export.issues);
    let event = &export.event["Event"];
    assert_eq!(event["uuid"], "6f1c5e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(event["info"], "Test event: phishing wave with a dropper");
    assert_eq!(event["date"], "2026-02-11");
    assert_eq!(event["timestamp"], "1770800000");
    for key in ["threat_level_id", "analysis", "distribution"] {
        assert!(event[key].is_string(), "{key}");
    }
    assert_eq!(event["Orgc"]["name"], "Shield-Node");
    let tags = tag_names(event);
    assert!(
        tags.contains(&"tlp:green") && tags.contains(&"campaign:wave-2"),
        "{tags:?}"
    );

    let expect = [
        (
            "a1000000-0000-4000-8000-000000000001",
            "ip-dst",
            "198.51.100.7",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000002",
            "domain",
            "login-example.invalid",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000003",
            "url",
            "https://login-example.invalid/owa/?user=x'y",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000004",
            "ip-dst|port",
            "203.0.113.9|8443",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000005",
            "filename|sha256",
            "inv'oice\\2026.pdf.exe|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000006",
            "domain|ip",
            "cdn.login-example.invalid|198.51.100.8",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000007",
            "email-src",
            "billing@login-example.invalid",
            true,
        ),
        (
            "a1000000-0000-4000-8000-000000000008",
            "ip-src",
            "192.0.2.44",
            false,
        ),
        (
            "a1000000-0000-4000-8000-00000000000d",
            "user-agent",
            "Mozilla/4.0 (compatible; EvilBot)",
            true,
        ),
    ];
    assert_eq!(event["Attribute"].as_array().unwrap().len(), expect.len());
    for (uuid, kind, value, to_ids) in expect {
        let a = attribute(event, uuid);
        assert_eq!(
            (
                a["type"].as_str(),
                a["value"].as_str(),
                a["to_ids"].as_bool()
            ),
            (Some(kind), Some(value), Some(to_ids)),
            "{uuid}"
        );
        assert!(a["category"].is_string() && a["timestamp"].is_string());
    }
    let c2 = attribute(event, "a1000000-0000-4000-8000-000000000001");
    assert_eq!(c2["category"], "Network activity");
    assert_eq!(c2["comment"], "C2 server");
    assert_eq!(tag_names(c2), vec!["kill-chain:c2", "tlp:amber"]);

    let objects = event["Object"].as_array().unwrap();
    assert_eq!(objects.len(), 2);
    let file = objects.iter().find(|o| o["name"] == "file").unwrap();
    assert_eq!(file["uuid"], "b2000000-0000-4000-8000-000000000001");
    let mut relations: Vec<(&str, &str)> = file["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["object_relation"].as_str().unwrap(),
                a["value"].as_str().unwrap(),
            )
        })
        .collect();
    relations.sort();
    assert_eq!(
        relations,
        vec![
            ("filename", "stage2.dll"),
            ("md5", "098f6bcd4621d373cade4e832627b4f6"),
            ("sha1", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        ]
    );
    let connection = objects
        .iter()
        .find(|o| o["name"] == "network-connection")
        .unwrap();
    assert_eq!(connection["Attribute"].as_array().unwrap().len(), 3);

    // Importing the export again gives the same indicators and patterns.
    let again = import_event(&export.event.to_string(), "exported.json").unwrap();
    assert!(again.issues.is_empty(), "{:?}", again.issues);
    let patterns = |objects: &[Value]| {
        let mut p: Vec<(String, String)> = objects
            .iter()
            .filter(|o| o["type"] == "indicator")
            .map(|o| {
                (
                    o["id"].as_str().unwrap().to_owned(),
                    o["pattern"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        p.sort();
        p
    };
    assert_eq!(patterns(&again.objects), patterns(&imported.objects));
}

#[test]
fn patterns_without_a_misp_form_are_reported() {
    let objects: Vec<Value> = serde_json::from_str(
        r#"[
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-1111-4111-8111-111111111111",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern": "[process:command_line MATCHES 'evil']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--22222222-2222-4222-8222-222222222222",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern": "title: x", "pattern_type": "sigma", "valid_from": "2026-01-01T00:00:00Z"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--33333333-3333-4333-8333-333333333333",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
         "pattern": "[domain-name:value = 'a.example'] OR [ipv4-addr:value = '203.0.113.1']",
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}
    ]"#,
    )
    .unwrap();
    let export = export_event(&objects, &ExportOptions::default());
    assert_eq!(export.issues.len(), 2);
    assert!(export.issues[0].to_string().contains("indicator--11111111"));
    let event = &export.event["Event"];
    let attrs = event["Attribute"].as_array().unwrap();
    assert_eq!(attrs.len(), 2);
    assert_eq!(attrs[0]["uuid"], "33333333-3333-4333-8333-333333333333");
    assert_eq!(attrs[0]["type"], "domain");
    assert_eq!(attrs[1]["type"], "ip-dst");
    assert_ne!(attrs[1]["uuid"], attrs[0]["uuid"]);
    assert_eq!(tag_names(event), vec!["tlp:red"]);
    assert_eq!(event["date"], "2026-01-02");
    assert_eq!(event["info"], "Shield export");
}

#[test]
fn exported_feed_reads_back() {
    let imported = import_event(&fixture("event-small.json"), "event-small.json").unwrap();
    let export = export_event(&imported.objects, &ExportOptions::default());
    let files = export_feed(&[
        export.event.clone(),
        serde_json::json!({"Event": {"uuid": "../x"}}),
    ]);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["manifest.json", "6f1c5e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b.json"]
    );
    let feed = import_feed(&files[0].1, |name| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| "missing".to_owned())
    })
    .unwrap();
    assert!(feed.issues.is_empty(), "{:?}", feed.issues);
    assert_eq!(feed.events.len(), 1);
    assert_eq!(feed.events[0].indicators.len(), imported.indicators.len());
}
