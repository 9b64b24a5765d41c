//! STIX objects: every type round-trips losslessly (custom properties and extensions included),
//! each validation rule refuses what it should, and observable ids agree with the reference
//! implementation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value, json};
use shield_intel::stix::{
    Category, Limits, ObjectBuilder, ObjectKind, Reason, StixError, StixObject, Timestamp,
    parse_bundle,
};

const CREATED: &str = "2026-01-01T00:00:00.000Z";
const EXT: &str = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e";
const IDENTITY: &str = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c";
const INDICATOR: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
const IPV4: &str = "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4";

fn uuid_for(type_name: &str) -> String {
    // A fixed, valid UUIDv4 per type, so samples are stable.
    let n = type_name
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{type_name}--{n:08x}-1111-4222-8333-444455556666")
}

/// A sample of each of the 42 types, with its required properties, one custom property and one
/// property extension.
fn samples() -> Vec<Value> {
    let sdo = |t: &str, props: Value| -> Value {
        let mut map = Map::new();
        map.insert("type".into(), t.into());
        map.insert("spec_version".into(), "2.1".into());
        map.insert("id".into(), uuid_for(t).into());
        map.insert("created".into(), CREATED.into());
        map.insert("modified".into(), "2026-01-02T03:04:05.678Z".into());
        map.insert("created_by_ref".into(), IDENTITY.into());
        map.insert("x_shield_score".into(), json!(0.75));
        map.insert(
            "extensions".into(),
            json!({EXT: {"extension_type": "property-extension", "rank": 3}}),
        );
        for (k, v) in props.as_object().unwrap() {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    };
    let sco = |t: &str, props: Value| -> Value {
        let mut map = Map::new();
        map.insert("type".into(), t.into());
        map.insert("spec_version".into(), "2.1".into());
        // Observables with id-contributing properties take UUIDv5 ids; a process takes a UUIDv4.
        let id = if t == "process" {
            uuid_for(t)
        } else {
            uuid_for(t).replace("-4222-", "-5222-")
        };
        map.insert("id".into(), id.into());
        map.insert("x_shield_seen".into(), json!([1, "two", {"three": null}]));
        map.insert(
            "extensions".into(),
            json!({EXT: {"extension_type": "property-extension", "pseudonym": "h:abc"}}),
        );
        for (k, v) in props.as_object().unwrap() {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    };
    let kcp = json!([{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]);
    vec![
        sdo(
            "attack-pattern",
            json!({"name": "Spearphishing", "kill_chain_phases": kcp}),
        ),
        sdo(
            "campaign",
            json!({"name": "C", "first_seen": "2025-01-01T00:00:00Z", "last_seen": "2025-02-01T00:00:00Z"}),
        ),
        sdo("course-of-action", json!({"name": "Block"})),
        sdo(
            "grouping",
            json!({"context": "suspicious-activity", "object_refs": [INDICATOR]}),
        ),
        sdo(
            "identity",
            json!({"name": "CERT-X", "identity_class": "organization", "sectors": ["government"]}),
        ),
        sdo("incident", json!({"name": "Intrusion at ministry"})),
        sdo(
            "indicator",
            json!({"pattern": "[ipv4-addr:value = '203.0.113.5']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "indicator_types": ["malicious-activity"],
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}),
        ),
        sdo("infrastructure", json!({"name": "C2 cluster"})),
        sdo(
            "intrusion-set",
            json!({"name": "Group X", "aliases": ["X"]}),
        ),
        sdo(
            "location",
            json!({"latitude": 48.8566, "longitude": 2.3522, "precision": 1000.0}),
        ),
        sdo(
            "malware",
            json!({"name": "Poison Ivy", "is_family": true, "malware_types": ["remote-access-trojan"]}),
        ),
        sdo(
            "malware-analysis",
            json!({"product": "sandbox", "result": "malicious"}),
        ),
        sdo(
            "note",
            json!({"content": "seen again", "object_refs": [INDICATOR]}),
        ),
        sdo(
            "observed-data",
            json!({"first_observed": "2026-01-01T00:00:00Z", "last_observed": "2026-01-01T00:00:00Z",
            "number_observed": 3, "object_refs": [IPV4]}),
        ),
        sdo(
            "opinion",
            json!({"opinion": "agree", "object_refs": [INDICATOR]}),
        ),
        sdo(
            "report",
            json!({"name": "Weekly", "published": "2026-01-05T00:00:00Z", "object_refs": [INDICATOR, IDENTITY]}),
        ),
        sdo(
            "threat-actor",
            json!({"name": "Actor", "threat_actor_types": ["nation-state"]}),
        ),
        sdo("tool", json!({"name": "mimikatz"})),
        sdo(
            "vulnerability",
            json!({"name": "CVE-2026-0001",
            "external_references": [{"source_name": "cve", "external_id": "CVE-2026-0001"}]}),
        ),
        sdo(
            "relationship",
            json!({"relationship_type": "indicates", "source_ref": INDICATOR,
            "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}),
        ),
        sdo(
            "sighting",
            json!({"sighting_of_ref": INDICATOR, "count": 2, "where_sighted_refs": [IDENTITY],
            "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T01:00:00Z"}),
        ),
        sco(
            "artifact",
            json!({"payload_bin": "AQIDBA==", "mime_type": "application/octet-stream"}),
        ),
        sco("autonomous-system", json!({"number": 64500})),
        sco("directory", json!({"path": "C:\\Windows"})),
        sco(
            "domain-name",
            json!({"value": "evil.example", "resolves_to_refs": [IPV4]}),
        ),
        sco(
            "email-addr",
            json!({"value": "phish@evil.example", "display_name": "P"}),
        ),
        sco(
            "email-message",
            json!({"is_multipart": false, "subject": "invoice",
            "from_ref": "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3"}),
        ),
        sco(
            "file",
            json!({"name": "a.exe", "hashes": {"MD5": "3773a88f65a5e780c8dff9cdc3a056f3", "ssdeep": "3:a:b"}}),
        ),
        sco("ipv4-addr", json!({"value": "203.0.113.5"})),
        sco("ipv6-addr", json!({"value": "2001:db8::5"})),
        sco("mac-addr", json!({"value": "d2:fb:49:24:37:18"})),
        sco("mutex", json!({"name": "Global\\x"})),
        sco(
            "network-traffic",
            json!({"src_ref": IPV4, "dst_port": 443, "protocols": ["ipv4", "tcp"]}),
        ),
        sco(
            "process",
            json!({"pid": 4242, "command_line": "cmd.exe /c whoami"}),
        ),
        sco("software", json!({"name": "Word", "vendor": "Microsoft"})),
        sco("url", json!({"value": "http://evil.example/x"})),
        sco(
            "user-account",
            json!({"user_id": "1001", "account_login": "jdoe"}),
        ),
        sco(
            "windows-registry-key",
            json!({"key": "HKEY_LOCAL_MACHINE\\System"}),
        ),
        sco(
            "x509-certificate",
            json!({"serial_number": "36:f7:d4:32:f4:ab:70:ea"}),
        ),
        sdo(
            "language-content",
            json!({"object_ref": INDICATOR, "contents": {"de": {"name": "Bösartig"}}}),
        ),
        json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
               "created": "2017-01-20T00:00:00.000Z", "name": "TLP:GREEN", "definition_type": "tlp", "definition": {"tlp": "green"}}),
        sdo(
            "extension-definition",
            json!({"name": "Shield signature", "schema": "https://example.invalid/schema",
            "version": "1.0", "extension_types": ["property-extension"]}),
        ),
    ]
}

#[test]
fn every_type_round_trips_byte_for_byte() {
    let samples = samples();
    assert_eq!(samples.len(), ObjectKind::ALL.len());
    let mut kinds = Vec::new();
    for sample in samples {
        let text = serde_json::to_string(&sample).unwrap();
        let object =
            StixObject::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            serde_json::to_string(&object).unwrap(),
            text,
            "serialize(parse(x)) == x"
        );
        assert_eq!(object.to_value(), sample);
        assert_ne!(object.kind(), ObjectKind::Custom, "{}", object.type_name());
        if object.kind() != ObjectKind::MarkingDefinition {
            assert!(
                object
                    .custom_properties()
                    .any(|(k, _)| k.starts_with("x_shield")),
                "{}",
                object.type_name()
            );
            assert!(object.extension(EXT).is_some(), "{}", object.type_name());
        }
        kinds.push(object.kind());
    }
    for kind in ObjectKind::ALL {
        assert!(kinds.contains(kind), "no sample of {kind:?}");
    }
}

#[test]
fn versions_and_categories() {
    for sample in samples() {
        let object = StixObject::from_value(sample).unwrap();
        match object.category() {
            Category::Observable => {
                assert_eq!(object.modified(), None, "{}", object.type_name());
                assert_eq!(object.created(), None);
            }
            Category::Meta if object.kind() == ObjectKind::MarkingDefinition => {
                assert_eq!(
                    object.modified(),
                    object.created(),
                    "markings version by created"
                );
            }
            _ => assert_eq!(
                object.version_text(),
                Some("2026-01-02T03:04:05.678Z"),
                "{}",
                object.type_name()
            ),
        }
    }
}

#[test]
fn a_bundle_of_every_type_round_trips() {
    let bundle = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": samples(),
                        "x_relay_hops": 2});
    let text = serde_json::to_string(&bundle).unwrap();
    let parsed = parse_bundle(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(parsed.objects().len(), 42);
    assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
}

fn sample(type_name: &str) -> Value {
    samples()
        .into_iter()
        .find(|s| s["type"] == type_name)
        .unwrap()
}

fn refuse(value: Value) -> StixError {
    match StixObject::from_value(value.clone()) {
        Ok(_) => panic!("accepted {value}"),
        Err(e) => e,
    }
}

#[test]
fn every_required_property_is_required() {
    let required: &[(&str, &[&str])] = &[
        (
            "indicator",
            &[
                "type",
                "spec_version",
                "id",
                "created",
                "modified",
                "pattern",
                "pattern_type",
                "valid_from",
            ],
        ),
        ("sighting", &["sighting_of_ref"]),
        (
            "observed-data",
            &["first_observed", "last_observed", "number_observed"],
        ),
        ("identity", &["name"]),
        ("incident", &["name"]),
        ("report", &["name", "published", "object_refs"]),
        ("note", &["content", "object_refs"]),
        (
            "relationship",
            &["relationship_type", "source_ref", "target_ref"],
        ),
        ("malware", &["is_family"]),
        ("threat-actor", &["name"]),
        ("campaign", &["name"]),
        ("attack-pattern", &["name"]),
        ("vulnerability", &["name"]),
        ("course-of-action", &["name"]),
        ("grouping", &["context", "object_refs"]),
        ("opinion", &["opinion", "object_refs"]),
        ("malware-analysis", &["product"]),
        ("ipv4-addr", &["type", "id", "value"]),
        ("ipv6-addr", &["value"]),
        ("domain-name", &["value"]),
        ("url", &["value"]),
        ("email-addr", &["value"]),
        ("network-traffic", &["protocols"]),
        ("software", &["name"]),
        ("email-message", &["is_multipart"]),
        ("marking-definition", &["created", "spec_version"]),
        (
            "extension-definition",
            &[
                "created_by_ref",
                "name",
                "schema",
                "version",
                "extension_types",
            ],
        ),
        ("language-content", &["object_ref", "contents"]),
    ];
    for (type_name, properties) in required {
        for property in *properties {
            let mut value = sample(type_name);
            value.as_object_mut().unwrap().remove(*property);
            let e = refuse(value);
            assert_eq!(
                (e.path.as_str(), &e.reason),
                (*property, &Reason::Missing),
                "{type_name}.{property}: {e}"
            );
        }
    }
}

#[test]
fn co_occurrence_rules() {
    type Edit = Box<dyn Fn(&mut Map<String, Value>)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "file",
            Box::new(|m| {
                m.remove("name");
                m.remove("hashes");
            }),
        ),
        (
            "network-traffic",
            Box::new(|m| {
                m.remove("src_ref");
            }),
        ),
        (
            "process",
            Box::new(|m| {
                m.remove("pid");
                m.remove("command_line");
                m.remove("extensions");
                m.remove("x_shield_seen");
            }),
        ),
        (
            "artifact",
            Box::new(|m| {
                m.insert("url".into(), "http://x".into());
            }),
        ),
        (
            "location",
            Box::new(|m| {
                m.remove("longitude");
            }),
        ),
        (
            "malware",
            Box::new(|m| {
                m.remove("name");
            }),
        ),
        (
            "malware-analysis",
            Box::new(|m| {
                m.remove("result");
            }),
        ),
        (
            "observed-data",
            Box::new(|m| {
                m.insert(
                    "objects".into(),
                    json!({"0": {"type": "ipv4-addr", "value": "1.2.3.4"}}),
                );
            }),
        ),
        (
            "observed-data",
            Box::new(|m| {
                m.insert("object_refs".into(), json!([INDICATOR]));
            }),
        ),
        (
            "opinion",
            Box::new(|m| {
                m.insert("opinion".into(), "maybe".into());
            }),
        ),
        (
            "relationship",
            Box::new(|m| {
                m.insert("relationship_type".into(), "Indicates".into());
            }),
        ),
        (
            "relationship",
            Box::new(|m| {
                m.insert(
                    "target_ref".into(),
                    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da".into(),
                );
            }),
        ),
        (
            "relationship",
            Box::new(|m| {
                m.insert(
                    "source_ref".into(),
                    "relationship--34098fce-860f-48ae-8e50-ebd3cc5e41da".into(),
                );
            }),
        ),
        (
            "sighting",
            Box::new(|m| {
                m.insert("count".into(), json!(-1));
            }),
        ),
        (
            "sighting",
            Box::new(|m| {
                m.insert("last_seen".into(), "2025-01-01T00:00:00Z".into());
            }),
        ),
        (
            "sighting",
            Box::new(|m| {
                m.insert("sighting_of_ref".into(), IPV4.into());
            }),
        ),
        (
            "sighting",
            Box::new(|m| {
                m.insert("where_sighted_refs".into(), json!([INDICATOR]));
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("valid_until".into(), "2025-01-01T00:00:00Z".into());
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("created_by_ref".into(), INDICATOR.into());
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("object_marking_refs".into(), json!([IDENTITY]));
            }),
        ),
        (
            "marking-definition",
            Box::new(|m| {
                m.insert("definition".into(), json!({"tlp": "purple"}));
            }),
        ),
        (
            "report",
            Box::new(|m| {
                m.insert("object_refs".into(), json!([]));
            }),
        ),
        (
            "file",
            Box::new(|m| {
                m.insert("hashes".into(), json!({"SHA-256": "abc"}));
            }),
        ),
        (
            "malware",
            Box::new(|m| {
                m.insert("operating_system_refs".into(), json!([IDENTITY]));
            }),
        ),
        (
            "domain-name",
            Box::new(|m| {
                m.insert("spec_version".into(), "2.0".into());
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("extensions".into(), json!({"not-an-extension": {}}));
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert(
                    "granular_markings".into(),
                    json!([{"selectors": ["name"], "marking_ref": IDENTITY}]),
                );
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("external_references".into(), json!([{"url": "http://x"}]));
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("kill_chain_phases".into(), json!([{"phase_name": "x"}]));
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("labels".into(), json!(["ok", 5]));
            }),
        ),
        (
            "indicator",
            Box::new(|m| {
                m.insert("revoked".into(), json!("no"));
            }),
        ),
        (
            "location",
            Box::new(|m| {
                m.insert("latitude".into(), json!(91.0));
            }),
        ),
        (
            "network-traffic",
            Box::new(|m| {
                m.insert("dst_port".into(), json!(70000));
            }),
        ),
        (
            "process",
            Box::new(|m| {
                m.insert(
                    "id".into(),
                    "process--ed8d1e6f-1111-5222-8333-444455556666".into(),
                );
            }),
        ),
        (
            "marking-definition",
            Box::new(|m| {
                // The TLP 1.0 GREEN id defining another level: a spoofed marking.
                m.insert("definition".into(), json!({"tlp": "white"}));
            }),
        ),
    ];
    for (type_name, edit) in &cases {
        let mut value = sample(type_name);
        edit(value.as_object_mut().unwrap());
        let e = refuse(value);
        assert!(e.object_id.is_some(), "{type_name}: {e}");
    }
}

#[test]
fn common_property_failures_name_the_property() {
    let check =
        |edit: &dyn Fn(&mut Map<String, Value>), path: &str, reason: fn(&Reason) -> bool| {
            let mut value = sample("indicator");
            edit(value.as_object_mut().unwrap());
            let e = refuse(value);
            assert_eq!(e.path, path, "{e}");
            assert!(reason(&e.reason), "{e}");
        };
    check(
        &|m| drop(m.insert("pattern".into(), "[ipv4-addr:value = '1.2.3.4'".into())),
        "pattern",
        |r| matches!(r, Reason::Pattern(p) if p.offset == 28),
    );
    check(
        &|m| drop(m.insert("id".into(), "indicator--1234".into())),
        "id",
        |r| matches!(r, Reason::Identifier(..)),
    );
    check(
        &|m| drop(m.insert("id".into(), IDENTITY.into())),
        "id",
        |r| matches!(r, Reason::Identifier(..)),
    );
    check(
        &|m| {
            drop(m.insert(
                "id".into(),
                "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f".into(),
            ))
        },
        "id",
        |r| matches!(r, Reason::Identifier(..)),
    );
    check(
        &|m| drop(m.insert("created".into(), "2026-01-01T00:00:00Z".into())),
        "created",
        |r| matches!(r, Reason::Timestamp(..)),
    );
    check(
        &|m| drop(m.insert("modified".into(), "2026-01-01 00:00:00.000".into())),
        "modified",
        |r| matches!(r, Reason::Timestamp(..)),
    );
    check(
        &|m| drop(m.insert("valid_from".into(), "2026-01-01T00:00:00+01:00".into())),
        "valid_from",
        |r| matches!(r, Reason::Timestamp(..)),
    );
    check(
        &|m| drop(m.insert("modified".into(), "2025-12-31T23:59:59.999Z".into())),
        "modified",
        |r| matches!(r, Reason::Constraint(_)),
    );
    check(
        &|m| drop(m.insert("spec_version".into(), "2.0".into())),
        "spec_version",
        |r| matches!(r, Reason::SpecVersion(v) if v == "2.0"),
    );
    check(
        &|m| drop(m.insert("confidence".into(), json!(101))),
        "confidence",
        |r| matches!(r, Reason::OutOfRange { .. }),
    );
    check(
        &|m| drop(m.insert("confidence".into(), json!(-1))),
        "confidence",
        |r| matches!(r, Reason::OutOfRange { .. }),
    );
    check(
        &|m| drop(m.insert("xShield".into(), json!(1))),
        "xShield",
        |r| matches!(r, Reason::PropertyName(_)),
    );
    check(&|m| drop(m.insert("x".into(), json!(1))), "x", |r| {
        matches!(r, Reason::PropertyName(_))
    });
    check(
        &|m| drop(m.insert("type".into(), "Indicator".into())),
        "type",
        |r| matches!(r, Reason::Constraint(_)),
    );

    // Patterns of other languages are not parsed as STIX.
    let mut value = sample("indicator");
    value["pattern_type"] = "sigma".into();
    value["pattern"] = "title: not a stix pattern".into();
    assert!(StixObject::from_value(value).is_ok());
}

#[test]
fn nesting_is_bounded() {
    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!({"x": deep});
    }
    let mut value = sample("indicator");
    value["x_deep"] = deep;
    assert!(matches!(
        refuse(value.clone()).reason,
        Reason::TooDeep { limit: 32 }
    ));
    let limits = Limits {
        max_depth: 64,
        ..Limits::default()
    };
    assert!(StixObject::from_value_with(value, &limits).is_ok());
}

#[test]
fn custom_object_types_are_kept() {
    let value = json!({"type": "x-mitre-tactic", "spec_version": "2.1", "id": "x-mitre-tactic--69da72d2-f550-41c5-ab9e-e8255707f28a",
        "created": "2018-10-17T00:14:20.652Z", "modified": "2022-04-28T16:09:02.163Z", "name": "Inhibit Response Function",
        "x_mitre_shortname": "inhibit-response-function"});
    let object = StixObject::from_value(value.clone()).unwrap();
    assert_eq!(
        (object.kind(), object.category()),
        (ObjectKind::Custom, Category::Custom)
    );
    assert_eq!(object.to_value(), value);
    let mut no_modified = value;
    no_modified.as_object_mut().unwrap().remove("modified");
    assert_eq!(refuse(no_modified).path, "modified");
}

/// Deterministic observable ids, compared with those the OASIS `stix2` Python library computes.
#[test]
fn observable_ids_agree_with_the_reference_implementation() {
    let build = |t: &str, props: Value| {
        let mut b = ObjectBuilder::observable(t);
        for (k, v) in props.as_object().unwrap() {
            b = b.property(k, v.clone());
        }
        b.build().unwrap().id().to_owned()
    };
    assert_eq!(
        build("ipv4-addr", json!({"value": "198.51.100.3"})),
        "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
    );
    assert_eq!(
        build(
            "file",
            json!({"name": "a.exe", "size": 10, "hashes": {"SHA-256": "aa".repeat(32), "MD5": "bb".repeat(16)}})
        ),
        "file--e1b5a944-94ee-544e-9acf-7c35a855ac95"
    );
    assert_eq!(
        build("domain-name", json!({"value": "evil.example"})),
        "domain-name--69228563-c8d2-54ae-aeca-5f4134cb59aa"
    );
    assert_eq!(
        build(
            "network-traffic",
            json!({"src_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "protocols": ["tcp"], "dst_port": 443})
        ),
        "network-traffic--d4de0dd9-b32a-510a-9c71-1e136561232f"
    );
    assert_eq!(
        build(
            "user-account",
            json!({"user_id": "1001", "account_login": "jdoe", "account_type": "unix"})
        ),
        "user-account--f94d689e-707d-58c3-b803-c720bb6ed096"
    );
    assert_eq!(
        build("email-addr", json!({"value": "café@example.org"})),
        "email-addr--caa05404-7c4e-5d61-93c5-90e1ecf86db7"
    );
}

#[test]
fn builders_make_objects_a_validator_accepts() {
    let now = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
    let org = ObjectBuilder::identity("CERT-X", "organization", now)
        .build()
        .unwrap();
    let indicator =
        ObjectBuilder::indicator("[url:value = 'http://evil.example/x']", "stix", now, now)
            .created_by(org.id())
            .tlp(shield_intel::tlp::Tlp::AmberStrict)
            .build()
            .unwrap();
    let round = StixObject::from_value(indicator.to_value()).unwrap();
    assert_eq!(round, indicator);
    assert_eq!(
        shield_intel::tlp::tlp_of(&round),
        Some(shield_intel::tlp::Tlp::AmberStrict)
    );
    assert_eq!(round.as_indicator().unwrap().valid_from(), Some(now));
    assert!(round.as_indicator().unwrap().is_valid_at(now));
}

#[test]
fn fuzz_entry_point_holds_its_invariants_on_samples_and_garbage() {
    let bundle = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": samples()});
    shield_intel::stix::fuzz_bundle(serde_json::to_string(&bundle).unwrap().as_bytes());
    for garbage in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"type\":\"bundle\"}",
        b"{\"type\":\"bundle\",\"id\":\"bundle--x\"}",
        b"\xff",
    ] {
        shield_intel::stix::fuzz_bundle(garbage);
    }
    let floats = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
        "objects": [{"type": "x-thing", "id": "x-thing--44af6c39-c09b-49c5-9de2-394224b04982", "x_f": [100.0, 1e21, 0.1]}]});
    shield_intel::stix::fuzz_bundle(floats.to_string().as_bytes());
}
