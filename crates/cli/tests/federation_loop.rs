//! The cross-border loop between real `shield serve` processes on 127.0.0.1: a hub (BE) and two
//! members (EE, LV). Proves propagation member → hub → member with signatures verified at every
//! hop, that TLP:RED never reaches the hub, that a tampered or unsigned object is refused and
//! audited, and that sightings of the same internal host at two members correlate at the hub
//! into a cross-border incident without the host name reaching it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod federation_common;

use std::time::{Duration, Instant};

use common::*;
use federation_common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_border_loop_between_a_hub_and_two_members() {
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let ee = site(dir.path(), "ee-cert", "EE");
    let lv = site(dir.path(), "lv-cert", "LV");
    // Tokens each node gives the others (created before start, on the data directories).
    let hub_for_ee = peer_token(&hub, &ee);
    let hub_for_lv = peer_token(&hub, &lv);
    let ee_for_hub = peer_token(&ee, &hub);
    let lv_for_hub = peer_token(&lv, &hub);
    let hub_config = config(
        &hub,
        "hub",
        &(peer_entry(&ee, "member", &ee_for_hub) + &peer_entry(&lv, "member", &lv_for_hub)),
        &[],
    );
    let ee_config = config(&ee, "member", &peer_entry(&hub, "hub", &hub_for_ee), &[&lv]);
    let lv_config = config(&lv, "member", &peer_entry(&hub, "hub", &hub_for_lv), &[&ee]);
    let hub_node = start(&hub, &hub_config);
    let ee_node = start(&ee, &ee_config);
    let lv_node = start(&lv, &lv_config);

    // 1. Propagation EE → hub → LV, signed by EE, verified at the hub and at LV.
    let green_id = format!("indicator--{}", uuid4());
    let posted = Instant::now();
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![indicator(&green_id, "c2.example.net", "green")],
    )
    .await;
    assert_eq!(status, 202);
    let at_lv = wait_object(&lv_node.url, "shared", &green_id, Duration::from_secs(20)).await;
    let latency = posted.elapsed();
    eprintln!("propagation EE → hub → LV: {latency:?}");
    let signature =
        &at_lv["extensions"]["extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5"];
    assert_eq!(signature["signer_ref"], json!(ee.identity));
    let at_hub = wait_object(&hub_node.url, "shared", &green_id, Duration::from_secs(5)).await;
    assert_eq!(at_hub, at_lv, "the hub relays the object unaltered");
    // The indicator is live at LV: the metric counted it.
    let started = Instant::now();
    loop {
        let text = client()
            .get(format!("{}/metrics", lv_node.url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("shield_federation_propagation_seconds_count 1") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The object does not go back to EE's inbox.
    assert!(
        get_object(&ee_node.url, "shared", &green_id)
            .await
            .is_none()
    );

    // 2. TLP:RED and AMBER+STRICT stay at EE: CLEAR and GREEN objects posted after them reach
    //    the hub and LV, the RED and AMBER+STRICT ones never.
    let red_id = format!("indicator--{}", uuid4());
    let strict_id = format!("indicator--{}", uuid4());
    let clear_id = format!("indicator--{}", uuid4());
    let after_id = format!("indicator--{}", uuid4());
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![
            indicator(&red_id, "red.example.net", "red"),
            indicator(&strict_id, "strict.example.net", "amber+strict"),
            indicator(&clear_id, "clear.example.net", "clear"),
            indicator(&after_id, "after.example.net", "green"),
        ],
    )
    .await;
    assert_eq!(status, 202);
    wait_object(&hub_node.url, "shared", &after_id, Duration::from_secs(20)).await;
    wait_object(&lv_node.url, "shared", &after_id, Duration::from_secs(20)).await;
    wait_object(&lv_node.url, "shared", &clear_id, Duration::from_secs(20)).await;
    for id in [&red_id, &strict_id] {
        assert!(get_object(&hub_node.url, "shared", id).await.is_none());
        assert!(get_object(&lv_node.url, "shared", id).await.is_none());
    }
    let ee_audit = audit_actions(&ee_node.url).await;
    let held = ee_audit
        .iter()
        .filter(|e| e["action"] == "federation.hold")
        .any(|e| {
            let d = e["details"].to_string();
            d.contains(&red_id) && d.contains(&strict_id) && d.contains("red-stays-in-organisation")
        });
    assert!(held, "the RED decision is audited at EE: {ee_audit:?}");
    let shared = ee_audit
        .iter()
        .filter(|e| e["action"] == "federation.share")
        .any(|e| e["details"].to_string().contains(&green_id));
    assert!(shared, "the share decision is audited at EE");

    // 3. A tampered object and an unsigned one are refused by the hub and audited.
    let mut tampered = at_hub.clone();
    tampered["name"] = json!("C2 something else");
    tampered["modified"] =
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let (status, body) = post_objects(&hub_node.url, "shared", &hub_for_ee, vec![tampered]).await;
    assert_eq!(status, 403, "{body}");
    let unsigned_id = format!("indicator--{}", uuid4());
    let (status, body) = post_objects(
        &hub_node.url,
        "shared",
        &hub_for_ee,
        vec![indicator(&unsigned_id, "unsigned.example.net", "green")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        get_object(&hub_node.url, "shared", &unsigned_id)
            .await
            .is_none()
    );
    let hub_audit = audit_actions(&hub_node.url).await;
    let rejects = hub_audit
        .iter()
        .filter(|e| e["action"] == "federation.reject")
        .count();
    assert!(rejects >= 2, "{hub_audit:?}");

    // 4. The same internal host sighted at EE and LV (for different indicators) correlates at
    //    the hub by pseudonym; the host name never reaches the hub; both members get an
    //    incident alert.
    let ee_sighting = format!("sighting--{}", uuid4());
    let lv_sighting = format!("sighting--{}", uuid4());
    let (status, _) = post_objects(
        &ee_node.url,
        "sightings",
        ADMIN,
        vec![local_sighting(&ee_sighting, &green_id)],
    )
    .await;
    assert_eq!(status, 202);
    let (status, _) = post_objects(
        &lv_node.url,
        "sightings",
        ADMIN,
        vec![local_sighting(&lv_sighting, &after_id)],
    )
    .await;
    assert_eq!(status, 202);
    for node in [&ee_node, &lv_node] {
        let started = Instant::now();
        loop {
            let v = get_json_auth(&format!("{}/api/v1/alerts?kind=incident", node.url)).await;
            let alerts = v["alerts"].as_array().cloned().unwrap_or_default();
            if let Some(a) = alerts.first() {
                let key = a["details"]["correlation"]["key"].as_str().unwrap_or("");
                assert!(key.starts_with("hmac-sha256:"), "{a}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no incident alert at {}",
                node.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let hub_stop_data = hub.data.clone();
    hub_node.stop();
    ee_node.stop();
    lv_node.stop();
    let mut leaked = Vec::new();
    for entry in std::fs::read_dir(&hub_stop_data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes
                .windows(INTERNAL_HOST.len())
                .any(|w| w == INTERNAL_HOST.as_bytes())
            {
                leaked.push(path);
            }
        }
    }
    assert!(
        leaked.is_empty(),
        "the internal host reached the hub: {leaked:?}"
    );
}
