//! The live feed between real `shield serve` processes: every link of a hub (BE) and two
//! members (EE, LV) is `transport = "stream"` with the periodic pull off, so objects travel only
//! over server-sent events. Proves propagation member → hub → member over the feeds, a member
//! that was down resuming from its cursor (everything published meanwhile, each version once),
//! and the endpoint itself: media type, resume by `Last-Event-ID`, the sharing policy applied.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod federation_common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use federation_common::*;
use serde_json::{Value, json};

const SIGNATURE: &str = "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5";

fn stream_entry(peer: &Site, relation: &str, token: &str) -> String {
    peer_entry(peer, relation, token) + "transport = \"stream\"\n"
}

/// Reads one `objects` event from an open stream: (id, objects).
async fn next_event(response: &mut reqwest::Response, buffer: &mut String) -> (String, Vec<Value>) {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if !event.contains("event: objects") {
                continue;
            }
            let id = event
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .unwrap()
                .to_owned();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            let v: Value = serde_json::from_str(&data.join("\n")).unwrap();
            return (id, v["objects"].as_array().cloned().unwrap_or_default());
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("an event within 20 s")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn open_stream(base: &str, token: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .get(format!(
            "{base}/taxii2/shield/collections/shared/stream/?limit=1"
        ))
        .bearer_auth(token)
        .header("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_travel_over_live_feeds_and_a_member_resumes_by_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let ee = site(dir.path(), "ee-cert", "EE");
    let lv = site(dir.path(), "lv-cert", "LV");
    let hub_for_ee = peer_token(&hub, &ee);
    let hub_for_lv = peer_token(&hub, &lv);
    let ee_for_hub = peer_token(&ee, &hub);
    let lv_for_hub = peer_token(&lv, &hub);
    let no_pull = "pull_interval_secs = 0\n";
    let hub_config = config(
        &hub,
        "hub",
        &format!(
            "{no_pull}{}{}",
            stream_entry(&ee, "member", &ee_for_hub),
            stream_entry(&lv, "member", &lv_for_hub)
        ),
        &[],
    );
    let ee_config = config(
        &ee,
        "member",
        &format!("{no_pull}{}", stream_entry(&hub, "hub", &hub_for_ee)),
        &[&lv],
    );
    let lv_config = config(
        &lv,
        "member",
        &format!("{no_pull}{}", stream_entry(&hub, "hub", &hub_for_lv)),
        &[&ee],
    );
    let hub_node = start(&hub, &hub_config);
    let ee_node = start(&ee, &ee_config);
    let mut lv_node = start(&lv, &lv_config);
    // Let the subscriptions open.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // 1. EE → hub → LV over the feeds, signed by EE, unaltered.
    let mut latencies = Vec::new();
    let mut first_id = String::new();
    for round in 0..5 {
        let id = format!("indicator--{}", uuid4());
        let posted = Instant::now();
        let (status, _) = post_objects(
            &ee_node.url,
            "indicators",
            ADMIN,
            vec![indicator(
                &id,
                &format!("live-{round}.example.net"),
                "green",
            )],
        )
        .await;
        assert_eq!(status, 202);
        let at_lv = wait_object(&lv_node.url, "shared", &id, Duration::from_secs(20)).await;
        latencies.push(posted.elapsed());
        assert_eq!(
            at_lv["extensions"][SIGNATURE]["signer_ref"],
            json!(ee.identity)
        );
        let at_hub = get_object(&hub_node.url, "shared", &id).await.unwrap();
        assert_eq!(at_hub, at_lv);
        if round == 0 {
            first_id = id;
        }
    }
    eprintln!("EE → hub → LV over live feeds: {latencies:?}");
    let ee_audit = audit_actions(&ee_node.url).await;
    assert!(
        !ee_audit.iter().any(|e| e["action"] == "federation.share"),
        "nothing was pushed on stream links"
    );
    assert!(
        ee_audit
            .iter()
            .any(|e| e["action"] == "federation.serve" && e["target"] == "eu-hub"),
        "EE served the hub's subscription: {ee_audit:?}"
    );

    // 2. LV down while EE publishes 50: after its restart LV resumes from its cursor.
    lv_node.stop();
    let mut ids = Vec::new();
    let objects: Vec<Value> = (0..50)
        .map(|i| {
            let id = format!("indicator--{}", uuid4());
            ids.push(id.clone());
            indicator(&id, &format!("while-down-{i}.example.net"), "green")
        })
        .collect();
    let (status, _) = post_objects(&ee_node.url, "indicators", ADMIN, objects).await;
    assert_eq!(status, 202);
    wait_object(
        &hub_node.url,
        "shared",
        ids.last().unwrap(),
        Duration::from_secs(20),
    )
    .await;
    lv_node = start(&lv, &lv_config);
    let versions = wait_versions(
        &lv_node.url,
        "shared",
        "indicator--",
        55,
        Duration::from_secs(30),
    )
    .await;
    let distinct: HashSet<_> = versions.iter().collect();
    assert_eq!(versions.len(), 55, "{versions:?}");
    assert_eq!(distinct.len(), 55, "each version once");
    for id in &ids {
        assert!(versions.iter().any(|(v, _)| v == id), "{id} missing at LV");
    }

    // 3. The endpoint: TAXII media type only is refused; LV's feed of the hub starts with EE's
    //    objects and resumes after the cursor it is given.
    let r = client()
        .get(format!(
            "{}/taxii2/shield/collections/shared/stream/",
            hub_node.url
        ))
        .bearer_auth(&hub_for_lv)
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let r = client()
        .get(format!(
            "{}/taxii2/shield/collections/shared/stream/",
            hub_node.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // One version per event (`limit=1`): the hub's key directory entries, then EE's objects in
    // the order they were stored.
    let mut buffer = String::new();
    let mut feed = open_stream(&hub_node.url, &hub_for_lv, None).await;
    let mut cursor = String::new();
    for _ in 0..10 {
        let (id, objects) = next_event(&mut feed, &mut buffer).await;
        if objects.iter().any(|o| o["id"] == json!(first_id)) {
            cursor = id;
            break;
        }
    }
    assert!(!cursor.is_empty(), "EE's first object is in the hub's feed");
    drop(feed);
    let mut buffer = String::new();
    let mut resumed = open_stream(&hub_node.url, &hub_for_lv, Some(&cursor)).await;
    let (_, objects) = next_event(&mut resumed, &mut buffer).await;
    assert_eq!(objects.len(), 1);
    assert_ne!(
        objects[0]["id"],
        json!(first_id),
        "resumed after the cursor"
    );
    assert!(
        objects[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("indicator--"),
        "{objects:?}"
    );
    // EE reads the hub's feed without its own objects (back to their origin).
    let mut buffer = String::new();
    let mut as_ee = open_stream(&hub_node.url, &hub_for_ee, None).await;
    let lv_id = format!("indicator--{}", uuid4());
    let (status, _) = post_objects(
        &lv_node.url,
        "indicators",
        ADMIN,
        vec![indicator(&lv_id, "from-lv.example.net", "green")],
    )
    .await;
    assert_eq!(status, 202);
    let started = Instant::now();
    loop {
        let (_, objects) = next_event(&mut as_ee, &mut buffer).await;
        assert!(
            objects
                .iter()
                .all(|o| o["extensions"][SIGNATURE]["signer_ref"] != json!(ee.identity)),
            "EE's own objects are held"
        );
        if objects.iter().any(|o| o["id"] == json!(lv_id)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    lv_node.stop();
    ee_node.stop();
    hub_node.stop();
}
