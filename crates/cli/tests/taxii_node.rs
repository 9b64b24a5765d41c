//! `shield serve` answers TAXII 2.1 under `/taxii2/`: a client posts an envelope with the node's
//! tokens (HTTP Basic or Bearer), reads it back, and the indicator protects the node within
//! seconds: an event holding its value raises an intel alert.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";

async fn taxii_get(url: &str, token: &str) -> (u16, Value) {
    let r = client()
        .get(url)
        .basic_auth("soc-client", Some(token))
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn create_token(base: &str, name: &str, role: &str) -> String {
    let r = client()
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": name, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "create token {name}");
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii_objects_posted_to_the_node_match_live() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("shield.toml");
    std::fs::write(
        &config,
        r#"
[taxii]
title = "Test SOC"
max_content_length = 65536

[[taxii.collections]]
alias = "partners"
title = "Partners"
read = ["role:peer"]
write = ["role:peer"]
"#,
    )
    .unwrap();
    let node = start_node(&data, &["--config", config.to_str().unwrap()], &[]);
    let base = node.url.clone();
    let peer = create_token(&base, "peer-node", "peer").await;
    let ingest = create_token(&base, "shipper", "ingest").await;

    // Discovery and collections: the node's own and the configured one.
    let (status, discovery) = taxii_get(&format!("{base}/taxii2/"), &peer).await;
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["title"], "Test SOC");
    assert_eq!(discovery["api_roots"][0], "/taxii2/shield/");
    let (status, root) = taxii_get(&format!("{base}/taxii2/shield/"), &peer).await;
    assert_eq!(status, 200);
    assert_eq!(root["max_content_length"], 65536);
    let (_, collections) = taxii_get(&format!("{base}/taxii2/shield/collections/"), &peer).await;
    let aliases: Vec<&str> = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["alias"].as_str())
        .collect();
    for alias in ["indicators", "sightings", "partners"] {
        assert!(aliases.contains(&alias), "{aliases:?}");
    }

    // Without credentials 401, an ingest token 403.
    let r = client()
        .get(format!("{base}/taxii2/"))
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, error) = taxii_get(&format!("{base}/taxii2/"), &ingest).await;
    assert_eq!(status, 403, "{error}");
    assert!(
        error["title"].is_string(),
        "a TAXII error resource: {error}"
    );

    // POST an envelope with an indicator; 202 and a complete status.
    let id = "indicator--6b6e4a0c-3d55-4d8a-9f5e-0f2d3c4b5a61";
    let envelope = json!({"objects": [{
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-01-10T08:00:00.000Z", "modified": "2026-01-10T08:00:00.000Z",
        "name": "C2 of campaign Nightjar",
        "pattern": "[ipv4-addr:value = '198.51.100.23']", "pattern_type": "stix",
        "valid_from": "2026-01-10T08:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
    }]});
    let objects_url = format!("{base}/taxii2/shield/collections/indicators/objects/");
    let r = client()
        .post(&objects_url)
        .bearer_auth(&peer)
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(envelope.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["success_count"], 1, "{status}");

    // A body over max_content_length is refused with a TAXII error.
    let big = json!({"objects": [], "pad": "x".repeat(70_000)});
    let r = client()
        .post(&objects_url)
        .bearer_auth(&peer)
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(big.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Read back, exactly as posted.
    let (status, page) = taxii_get(&objects_url, &peer).await;
    assert_eq!(status, 200);
    let objects = page["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{page}");
    assert_eq!(objects[0], envelope["objects"][0]);

    // The live matcher picks the indicator up without restart.
    let started = Instant::now();
    loop {
        let s = get_json(&format!("{base}/api/v1/stats")).await;
        if s["indicators"]["indicators"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "indicator not live: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = [
        json!({"destination": {"ip": "198.51.100.23", "port": 443}, "source": {"ip": "10.1.2.3"}}),
        json!({"destination": {"ip": "198.51.100.24"}}),
    ];
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();
    let r = client()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(ADMIN)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stats = wait_stats(&base, |s| s["alerts"] == 1 && s["queue"]["pending"] == 0).await;
    assert_eq!(stats["alerts"], 1, "{stats}");
    let alerts = get_json(&format!("{base}/api/v1/alerts?kind=intel")).await;
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["rule"]["id"], id, "{alerts}");
    assert_eq!(alert["rule"]["title"], "C2 of campaign Nightjar");
    assert_eq!(alert["details"]["matches"][0]["value"], "198.51.100.23");

    // The sighting the node recorded is served over TAXII too.
    let (_, sightings) = taxii_get(
        &format!("{base}/taxii2/shield/collections/sightings/objects/?match[type]=sighting"),
        &peer,
    )
    .await;
    let sightings = sightings["objects"].as_array().cloned().unwrap_or_default();
    assert_eq!(sightings.len(), 1, "{sightings:?}");
    assert_eq!(sightings[0]["sighting_of_ref"], id);

    // A path under /taxii2/ that is no TAXII resource: a TAXII error resource, not the node's 404.
    let r = client()
        .get(format!("{base}/taxii2/shield/no-such-endpoint/"))
        .basic_auth("soc-client", Some(ADMIN))
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let media = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(media.starts_with("application/taxii+json"), "{media}");
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["http_status"], "404", "{error}");
    assert!(
        error["description"]
            .as_str()
            .unwrap()
            .contains("no-such-endpoint"),
        "{error}"
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shield.toml");
    std::fs::write(&config, "[taxii]\nenabled = false\n").unwrap();
    let node = start_node(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let (status, body) = taxii_get(&format!("{}/taxii2/", node.url), ADMIN).await;
    assert_eq!(status, 404);
    assert_eq!(body["http_status"], "404", "a TAXII error resource: {body}");
    node.stop();
}
