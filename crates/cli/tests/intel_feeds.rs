//! Intel moves between nodes over TAXII: `shield intel pull` copies a collection of node A into
//! another data directory once, and a node with `[[intel.feeds]]` pointing at A pulls on its
//! schedule, keeps its position in the store, and matches what arrives without restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use shield_store::{SqliteStore, StateStore};

const TAXII: &str = "application/taxii+json;version=2.1";

fn indicator(uuid: &str, ip: &str, name: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{uuid}"),
        "created": "2026-02-01T10:00:00.000Z", "modified": "2026-02-01T10:00:00.000Z",
        "name": name, "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-02-01T10:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
    })
}

async fn post_taxii(base: &str, token: &str, objects: Vec<Value>) {
    let r = client()
        .post(format!(
            "{base}/taxii2/shield/collections/indicators/objects/"
        ))
        .bearer_auth(token)
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["failure_count"], 0, "{status}");
}

async fn create_token(base: &str, name: &str, role: &str) -> String {
    let r = client()
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": name, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_owned()
}

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

async fn wait_indicators(base: &str, n: u64, within: Duration) {
    let started = Instant::now();
    loop {
        let s = get_json(&format!("{base}/api/v1/stats")).await;
        if s["indicators"]["indicators"] == n {
            return;
        }
        assert!(started.elapsed() < within, "{n} indicators not live: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_once_and_feeds_bring_intel_from_another_node() {
    let dir = tempfile::tempdir().unwrap();
    let a = start_node(&dir.path().join("a"), &[], &[]);
    let peer = create_token(&a.url, "node-c", "peer").await;
    post_taxii(
        &a.url,
        &peer,
        vec![indicator(
            "0c2f6a3e-1b7d-4f0e-8a51-6d3e2b9c4f10",
            "192.0.2.44",
            "Dropper host",
        )],
    )
    .await;
    let api_root = format!("{}/taxii2/shield/", a.url);

    // One-shot pull into another data directory, with HTTP Basic.
    let b = dir.path().join("b");
    let (out, err, ok) = intel(
        &b,
        &[
            "pull",
            &api_root,
            "--collection",
            "indicators",
            "--user",
            "node-b",
            "--password",
            &peer,
            "--tlp",
            "green",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("1 added"), "{out}");
    let (out, _, ok) = intel(&b, &["search", "192.0.2.44"]);
    assert!(ok && out.contains("indicator--0c2f6a3e"), "{out}");
    assert!(out.contains("TLP:GREEN"), "{out}");
    // The position is kept: pulling again fetches nothing new.
    let (out, err, ok) = intel(
        &b,
        &[
            "pull",
            &api_root,
            "--collection",
            "indicators",
            "--user",
            "node-b",
            "--password",
            &peer,
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("pulled 0 objects"), "{out}");
    // A wrong token is an error that says so.
    let (out, err, ok) = intel(
        &b,
        &[
            "pull",
            &api_root,
            "--collection",
            "indicators",
            "--token",
            "shd_wrong",
        ],
    );
    assert!(!ok, "{out}");
    assert!(err.contains("401"), "{err}");

    // A node with a feed pointing at A gets A's objects at start and what A adds later.
    let c_data = dir.path().join("c");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[[intel.feeds]]\nname = \"node-a\"\nurl = \"{api_root}\"\ncollection = \"indicators\"\n\
             interval = \"10s\"\ndefault_tlp = \"green\"\ntoken_env = \"FEED_A_TOKEN\"\n"
        ),
    )
    .unwrap();
    let c = start_node(
        &c_data,
        &["--config", config.to_str().unwrap()],
        &[("FEED_A_TOKEN", &peer)],
    );
    wait_indicators(&c.url, 1, Duration::from_secs(20)).await;
    post_taxii(
        &a.url,
        &peer,
        vec![indicator(
            "5d1e7c22-93a4-4b6f-b0de-2a8f41c6e7b3",
            "192.0.2.45",
            "Exfiltration server",
        )],
    )
    .await;
    wait_indicators(&c.url, 2, Duration::from_secs(30)).await;
    post_events(
        &c.url,
        &[json!({"destination": {"ip": "192.0.2.45"}, "host": {"name": "ws-12"}})],
    )
    .await;
    let stats = wait_stats(&c.url, |s| s["alerts"] == 1 && s["queue"]["pending"] == 0).await;
    assert_eq!(stats["alerts"], 1, "{stats}");
    let alerts = get_json(&format!("{}/api/v1/alerts?kind=intel", c.url)).await;
    assert_eq!(alerts["alerts"][0]["rule"]["title"], "Exfiltration server");
    c.stop();
    a.stop();

    // The feed's position is in C's store.
    let store = SqliteStore::open(&c_data).unwrap();
    let cursor = store.get_state("feed:node-a:added_after").unwrap();
    assert!(cursor.is_some_and(|c| c.ends_with('Z')));
}
