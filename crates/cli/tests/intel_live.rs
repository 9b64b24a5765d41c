//! Indicators imported with `shield intel import` protect the running node within seconds: events
//! that contain them raise intel alerts and STIX sightings; search and export see them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn intel(data: &Path, args: &[&str]) -> (String, String, bool) {
    let out = shield()
        .arg("intel")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_indicators_match_live_and_become_sightings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = start_node(&data, &[], &[]);
    let base = node.url.clone();

    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intel/iocs.txt");
    let (out, err, ok) = intel(&data, &["import", list.to_str().unwrap(), "--tlp", "green"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("3 added"), "{out}");
    assert!(err.contains("iocs.txt:5"), "the bad line is named: {err}");
    // Importing again stores nothing new.
    let (out, _, _) = intel(&data, &["import", list.to_str().unwrap(), "--tlp", "green"]);
    assert!(out.contains("0 added, 3 already stored"), "{out}");

    // The running node picks the indicators up without restart.
    let started = Instant::now();
    loop {
        let s = get_json(&format!("{base}/api/v1/stats")).await;
        if s["indicators"]["indicators"] == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "indicators not live: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let events = [
        json!({"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "WS7"},
            "EventData": {"Image": "C:\\Users\\bob\\a.exe", "DestinationIp": "203.0.113.7", "DestinationPort": "443"}}}),
        json!({"dns": {"question": {"name": "cdn.evil-updates.example"}}, "source": {"ip": "10.0.0.8"}}),
        json!({"dns": {"question": {"name": "good.example"}}}),
    ];
    post_events(&base, &events).await;
    let stats = wait_stats(&base, |s| s["alerts"] == 2 && s["queue"]["pending"] == 0).await;
    assert_eq!(stats["alerts"], 2, "{stats}");
    let alerts = get_json(&format!("{base}/api/v1/alerts?kind=intel")).await;
    let alerts = alerts["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(
        alerts
            .iter()
            .all(|a| a["rule"]["id"].as_str().unwrap().starts_with("indicator--"))
    );
    let fields: Vec<&str> = alerts
        .iter()
        .map(|a| a["details"]["matches"][0]["value"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"203.0.113.7"), "{fields:?}");

    // Search and export see the indicators; the sightings collection holds one sighting per hit.
    let (out, _, ok) = intel(&data, &["search", "203.0.113.7"]);
    assert!(
        ok && out.contains("indicator--") && out.contains("TLP:GREEN"),
        "{out}"
    );
    let (out, _, ok) = intel(&data, &["export", "--format", "csv"]);
    assert!(
        ok && out.contains("203.0.113.7") && out.contains("evil-updates.example"),
        "{out}"
    );
    let (out, _, ok) = intel(&data, &["export", "--collection", "sightings"]);
    assert!(ok, "{out}");
    let bundle: Value = serde_json::from_str(&out).unwrap();
    let sightings: Vec<&Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "sighting")
        .collect();
    assert_eq!(sightings.len(), 2, "{bundle}");
    let (out, _, ok) = intel(&data, &["export", "--format", "misp"]);
    assert!(ok, "{out}");
    let misp: Value = serde_json::from_str(&out).unwrap();
    assert!(
        misp["Event"]["Attribute"]
            .as_array()
            .is_some_and(|a| a.len() >= 3)
            || misp["Event"]["Object"].is_array(),
        "{misp}"
    );
    node.stop();
}
