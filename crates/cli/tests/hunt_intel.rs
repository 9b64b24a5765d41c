//! `shield hunt --intel FILE`: indicators from lists, STIX bundles and MISP events swept over log
//! files beside the Sigma rules, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn hunt(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shield"))
        .arg("hunt")
        .args(args)
        .args(["--format", "jsonl"])
        .env_remove("SHIELD_RULES")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let hits = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        hits,
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn kinds(hits: &[Value]) -> Vec<&str> {
    hits.iter().map(|h| h["kind"].as_str().unwrap()).collect()
}

#[test]
fn list_indicators_are_reported_beside_sigma_hits_in_event_order() {
    let (code, hits, err) = hunt(&[
        "--rules",
        &fixture("rules"),
        "--intel",
        &fixture("intel/iocs.txt"),
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kinds(&hits), ["sigma", "intel", "intel"], "{hits:?}");
    assert_eq!(hits[0]["rule"]["title"], "Discovery With whoami");
    let ip = &hits[1];
    assert!(
        ip["rule"]["id"]
            .as_str()
            .unwrap()
            .starts_with("indicator--"),
        "{ip}"
    );
    assert_eq!(ip["rule"]["level"], "high", "the default level of IOC hits");
    assert_eq!(ip["source"]["record_id"], 2, "{ip}");
    assert!(ip.to_string().contains("203.0.113.7"), "{ip}");
    let domain = &hits[2];
    assert!(
        domain.to_string().contains("cdn.evil-updates.example"),
        "a subdomain of a listed domain: {domain}"
    );
    assert!(err.contains("of which 2 intel"), "{err}");
    assert!(
        err.contains("iocs.txt:5"),
        "the bad list line is named: {err}"
    );
}

#[test]
fn stix_bundle_alone_names_the_indicator_and_takes_the_level() {
    let (code, hits, err) = hunt(&[
        "--intel",
        &fixture("intel/advisory-bundle.json"),
        "--intel-level",
        "critical",
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kinds(&hits), ["intel", "intel"], "{hits:?}");
    for h in &hits {
        assert_eq!(
            h["rule"]["id"],
            "indicator--9e2c4b1a-6d3f-4e8a-b7c5-1f0e9d8c7b6a"
        );
        assert_eq!(h["rule"]["title"], "Stage-two download server");
        assert_eq!(h["rule"]["level"], "critical");
    }
    // --min-level filters IOC hits like Sigma hits.
    let (code, hits, _) = hunt(&[
        "--intel",
        &fixture("intel/advisory-bundle.json"),
        "--intel-level",
        "low",
        "--min-level",
        "medium",
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_eq!(code, 0);
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn misp_event_indicators_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"Event": {
            "uuid": "5f0c2d1e-8a7b-4c6d-9e0f-1a2b3c4d5e6f", "info": "Phishing wave",
            "date": "2026-04-30", "timestamp": "1777536000", "published": true,
            "threat_level_id": "2", "analysis": "2", "distribution": "1",
            "Orgc": {"name": "CERT-X", "uuid": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": [
                {"uuid": "7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "type": "ip-dst", "category": "Network activity",
                 "value": "203.0.113.7", "to_ids": true, "timestamp": "1777536000"},
                {"uuid": "8c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "type": "domain", "category": "Network activity",
                 "value": "intranet.corp.example", "to_ids": false, "timestamp": "1777536000"}
            ]
        }})
        .to_string(),
    )
    .unwrap();
    let (code, hits, err) = hunt(&[
        "--intel",
        event.to_str().unwrap(),
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_eq!(code, 0, "{err}");
    // The to_ids=false attribute is context, never alerted on.
    assert_eq!(kinds(&hits), ["intel"], "{hits:?}");
    assert_eq!(
        hits[0]["rule"]["id"],
        "indicator--7b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
    );
}

#[test]
fn unusable_intel_files_are_errors() {
    let (code, _, err) = hunt(&[
        "--intel",
        "/nonexistent/iocs.txt",
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/iocs.txt"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing here\n").unwrap();
    let (code, _, err) = hunt(&[
        "--intel",
        empty.to_str().unwrap(),
        &fixture("intel/sweep.ndjson"),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no indicator"), "{err}");
}
