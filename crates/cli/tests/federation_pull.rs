//! The periodic pull as the safety net, between real `shield serve` processes: a member whose
//! push endpoint refuses the hub (the hub holds a wrong token for it) still receives a member's
//! object through its pull of the hub, verified and exactly once; and what a peer reads from a
//! node over TAXII is what the sharing policy sends it (AMBER from another member: yes, although
//! the store's TLP rule would hide it; its own objects: never back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod federation_common;

use std::time::{Duration, Instant};

use common::*;
use federation_common::*;
use serde_json::{Value, json};

const SIGNATURE: &str = "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5";

/// The ids a peer token reads from `collection` at `base`.
async fn ids_read_as(base: &str, collection: &str, token: &str) -> Vec<String> {
    let r = client()
        .get(format!(
            "{base}/taxii2/shield/collections/{collection}/objects/?match[version]=all"
        ))
        .bearer_auth(token)
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_push_endpoint_refuses_gets_objects_by_pull() {
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let ee = site(dir.path(), "ee-cert", "EE");
    let lv = site(dir.path(), "lv-cert", "LV");
    let hub_for_ee = peer_token(&hub, &ee);
    let hub_for_lv = peer_token(&hub, &lv);
    let ee_for_hub = peer_token(&ee, &hub);
    // The hub holds a token LV does not know: every push to LV is refused (401).
    let hub_config = config(
        &hub,
        "hub",
        &(peer_entry(&ee, "member", &ee_for_hub)
            + &peer_entry(&lv, "member", "not-a-token-lv-knows")),
        &[],
    );
    let ee_config = config(&ee, "member", &peer_entry(&hub, "hub", &hub_for_ee), &[&lv]);
    let lv_config = config(
        &lv,
        "member",
        &format!(
            "pull_interval_secs = 1\n{}",
            peer_entry(&hub, "hub", &hub_for_lv)
        ),
        &[&ee],
    );
    let hub_node = start(&hub, &hub_config);
    let ee_node = start(&ee, &ee_config);
    let lv_node = start(&lv, &lv_config);

    // EE publishes an AMBER indicator; it reaches the hub by push.
    let amber_id = format!("indicator--{}", uuid4());
    let posted = Instant::now();
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![indicator(&amber_id, "amber.example.net", "amber")],
    )
    .await;
    assert_eq!(status, 202);
    wait_object(&hub_node.url, "shared", &amber_id, Duration::from_secs(20)).await;

    // The hub cannot push it to LV; LV's pull of the hub's `shared` brings it, signed by EE.
    let at_lv = wait_object(&lv_node.url, "shared", &amber_id, Duration::from_secs(30)).await;
    eprintln!("EE → hub → LV by pull: {:?}", posted.elapsed());
    assert_eq!(
        at_lv["extensions"][SIGNATURE]["signer_ref"],
        json!(ee.identity)
    );
    let at_hub = get_object(&hub_node.url, "shared", &amber_id)
        .await
        .unwrap();
    assert_eq!(at_lv, at_hub, "pulled unaltered");
    let hub_audit = audit_actions(&hub_node.url).await;
    assert!(
        hub_audit.iter().any(|e| e["action"] == "federation.serve"
            && e["target"] == "lv-cert"
            && e["details"].to_string().contains(&amber_id)),
        "the hub audits what LV pulled: {hub_audit:?}"
    );
    let lv_audit = audit_actions(&lv_node.url).await;
    assert!(
        lv_audit.iter().any(|e| e["action"] == "federation.receive"),
        "LV applied it like a push: {lv_audit:?}"
    );

    // LV's own object reaches the hub by push; read back by LV it is held (back to its
    // origin), while EE reads it. EE's AMBER object is read by LV (the sharing policy: AMBER to
    // the community), never by EE itself.
    let lv_id = format!("indicator--{}", uuid4());
    let (status, _) = post_objects(
        &lv_node.url,
        "indicators",
        ADMIN,
        vec![indicator(&lv_id, "lv.example.net", "green")],
    )
    .await;
    assert_eq!(status, 202);
    wait_object(&hub_node.url, "shared", &lv_id, Duration::from_secs(20)).await;
    let as_lv = ids_read_as(&hub_node.url, "shared", &hub_for_lv).await;
    let as_ee = ids_read_as(&hub_node.url, "shared", &hub_for_ee).await;
    assert!(
        as_lv.contains(&amber_id) && !as_lv.contains(&lv_id),
        "{as_lv:?}"
    );
    assert!(
        as_ee.contains(&lv_id) && !as_ee.contains(&amber_id),
        "{as_ee:?}"
    );

    // Pulls keep coming every second; LV still holds each version once.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let versions: Vec<_> = all_versions(&lv_node.url, "shared")
        .await
        .into_iter()
        .filter(|(id, _)| *id == amber_id)
        .collect();
    assert_eq!(versions.len(), 1, "{versions:?}");

    lv_node.stop();
    ee_node.stop();
    hub_node.stop();
}
