//! The hub distributes its members' keys, between real `shield serve` processes: a hub (BE) and
//! three members (EE, LV, LT) that each configure only the hub's key. An object of EE verifies at
//! LV and LT on the hub's word; a tampered key directory entry is refused. With a sharing group `north` = {LV} at the hub, EE's TLP:AMBER
//! object naming `north` reaches LV and not LT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod federation_common;

use std::time::Duration;

use common::*;
use federation_common::*;
use serde_json::json;

const SIGNATURE: &str = "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5";
const DIRECTORY: &str = "extension-definition--0b6c4d7e-5a0f-4f0e-9a52-6f3c1e2d8b17";
const SHARING: &str = "extension-definition--9c3e5f41-7d2a-4b8e-a6f0-3e1d5c7b9a24";

/// The id of the hub's directory entry for `organisation` (UUIDv5 in the URL namespace).
fn entry_id(organisation: &str) -> String {
    let uuid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("shield:key-directory:{organisation}").as_bytes(),
    );
    format!("identity--{uuid}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_trust_each_other_on_the_hubs_word() {
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let ee = site(dir.path(), "ee-cert", "EE");
    let lv = site(dir.path(), "lv-cert", "LV");
    let lt = site(dir.path(), "lt-cert", "LT");
    let members = [&ee, &lv, &lt];
    let mut hub_peers = format!(
        "\n[[federation.groups]]\nname = \"north\"\norganisations = [\"{}\"]\n",
        lv.identity
    );
    let mut member_configs = Vec::new();
    for m in members {
        let hub_for_m = peer_token(&hub, m);
        let m_for_hub = peer_token(m, &hub);
        hub_peers += &peer_entry(m, "member", &m_for_hub);
        // Only the hub: no trusted_keys.
        member_configs.push((
            config(m, "member", &peer_entry(&hub, "hub", &hub_for_m), &[]),
            m_for_hub,
        ));
    }
    // Groups are a [federation] table array: after the peers' entries is fine in TOML.
    let hub_config = config(&hub, "hub", &hub_peers, &[]);
    let hub_node = start(&hub, &hub_config);
    let nodes: Vec<_> = members
        .iter()
        .zip(&member_configs)
        .map(|(m, (c, _))| start(m, c))
        .collect();
    let (ee_node, lv_node, lt_node) = (&nodes[0], &nodes[1], &nodes[2]);

    // The directory entries reach the members, signed by the hub.
    for node in [lv_node, lt_node] {
        let entry = wait_object(
            &node.url,
            "shared",
            &entry_id(&ee.identity),
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(
            entry["extensions"][SIGNATURE]["signer_ref"],
            json!(hub.identity)
        );
        assert_eq!(
            entry["extensions"][DIRECTORY]["public_key"],
            json!(ee.public_key)
        );
    }

    // 1. EE's object verifies at LV and LT, whose only configured key is the hub's.
    let id = format!("indicator--{}", uuid4());
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![indicator(&id, "vouched.example.net", "green")],
    )
    .await;
    assert_eq!(status, 202);
    for node in [lv_node, lt_node] {
        let at = wait_object(&node.url, "shared", &id, Duration::from_secs(20)).await;
        assert_eq!(
            at["extensions"][SIGNATURE]["signer_ref"],
            json!(ee.identity)
        );
    }

    // 2. A tampered entry (EE's entry with another key) is refused at LT's admission.
    let lt_for_hub = &member_configs[2].1;
    let mut tampered = get_object(&lt_node.url, "shared", &entry_id(&ee.identity))
        .await
        .unwrap();
    tampered["extensions"][DIRECTORY]["public_key"] = json!(lv.public_key);
    let (status, body) = post_objects(&lt_node.url, "shared", lt_for_hub, vec![tampered]).await;
    assert_eq!(status, 403, "{body}");
    let audit = audit_actions(&lt_node.url).await;
    assert!(
        audit.iter().any(|e| e["action"] == "federation.reject"
            && e["details"].to_string().contains("altered after signing")),
        "{audit:?}"
    );

    // 3. The group: EE's AMBER object for `north` reaches LV, never LT.
    let group_id = format!("indicator--{}", uuid4());
    let after_id = format!("indicator--{}", uuid4());
    let mut amber = indicator(&group_id, "north.example.net", "amber");
    amber["extensions"] = json!({SHARING: {
        "extension_type": "property-extension", "groups": ["north"], "organisations": []}});
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![amber, indicator(&after_id, "after.example.net", "green")],
    )
    .await;
    assert_eq!(status, 202);
    let at_lv = wait_object(&lv_node.url, "shared", &group_id, Duration::from_secs(20)).await;
    assert_eq!(at_lv["extensions"][SHARING]["groups"], json!(["north"]));
    wait_object(&lt_node.url, "shared", &after_id, Duration::from_secs(20)).await;
    assert!(
        get_object(&lt_node.url, "shared", &group_id)
            .await
            .is_none()
    );
    let hub_audit = audit_actions(&hub_node.url).await;
    let held_for_lt = hub_audit.iter().any(|e| {
        e["action"] == "federation.hold"
            && e["target"] == "lt-cert"
            && e["details"].to_string().contains(&group_id)
            && e["details"].to_string().contains("amber-not-named")
    });
    assert!(held_for_lt, "{hub_audit:?}");

    for node in nodes {
        node.stop();
    }
    hub_node.stop();
}
