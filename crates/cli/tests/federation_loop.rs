//! The cross-border loop between real `shield serve` processes on 127.0.0.1: a hub (BE) and two
//! members (EE, LV). Proves propagation member → hub → member with signatures verified at every
//! hop, that TLP:RED never reaches the hub, that a tampered or unsigned object is refused and
//! audited, and that sightings of the same internal host at two members correlate at the hub
//! into a cross-border incident without the host name reaching it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";
/// Base64 of 32 bytes: the community key every test node shares.
const COMMUNITY_KEY: &str = "c2hpZWxkLXRlc3QtY29tbXVuaXR5LWtleS0wMTIzNDU=";
const INTERNAL_HOST: &str = "ws-042.corp.local";

struct Site {
    name: &'static str,
    country: &'static str,
    data: PathBuf,
    port: u16,
    public_key: String,
    identity: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(args: &[&str]) -> String {
    let out = shield().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "shield {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn site(root: &Path, name: &'static str, country: &'static str) -> Site {
    let data = root.join(name);
    let out = run(&[
        "keys",
        "generate",
        "--data",
        data.to_str().unwrap(),
        "--organisation",
        name,
    ]);
    Site {
        name,
        country,
        data,
        port: free_port(),
        public_key: field(&out, "public key:"),
        identity: field(&out, "identity:"),
    }
}

/// A peer token created on `at`'s data directory for `for_site`.
fn peer_token(at: &Site, for_site: &Site) -> String {
    run(&[
        "token",
        "create",
        "--role",
        "peer",
        "--name",
        for_site.name,
        "--org",
        &for_site.identity,
        "--data",
        at.data.to_str().unwrap(),
    ])
    .trim()
    .to_owned()
}

fn peer_entry(peer: &Site, relation: &str, token: &str) -> String {
    format!(
        r#"
[[federation.peers]]
name = "{name}"
url = "http://127.0.0.1:{port}/taxii2/shield/"
relation = "{relation}"
organisation = "{identity}"
country = "{country}"
public_key = "{key}"
token = "{token}"
"#,
        name = peer.name,
        port = peer.port,
        identity = peer.identity,
        country = peer.country,
        key = peer.public_key,
    )
}

fn config(site: &Site, role: &str, peers: &str, trusted: &[&Site]) -> PathBuf {
    let mut text = format!(
        r#"
[server]
organisation = "{name}"

[federation]
enabled = true
organisation = "{name}"
country = "{country}"
role = "{role}"
community_key = "{COMMUNITY_KEY}"
push_interval_ms = 50
{peers}
"#,
        name = site.name,
        country = site.country,
    );
    for t in trusted {
        text += &format!(
            "\n[[federation.trusted_keys]]\norganisation = \"{}\"\npublic_key = \"{}\"\ncountry = \"{}\"\n",
            t.identity, t.public_key, t.country
        );
    }
    let path = site.data.join("shield.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(site: &Site, config: &Path) -> NodeProcess {
    start_node(
        &site.data,
        &[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{}", site.port),
        ],
        &[],
    )
}

async fn post_objects(
    base: &str,
    collection: &str,
    token: &str,
    objects: Vec<Value>,
) -> (u16, Value) {
    let r = client()
        .post(format!(
            "{base}/taxii2/shield/collections/{collection}/objects/"
        ))
        .bearer_auth(token)
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .json(&json!({ "objects": objects }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_object(base: &str, collection: &str, id: &str) -> Option<Value> {
    let r = client()
        .get(format!(
            "{base}/taxii2/shield/collections/{collection}/objects/{id}/"
        ))
        .bearer_auth(ADMIN)
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    if r.status() == 404 {
        return None;
    }
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["objects"].as_array().and_then(|a| a.last().cloned())
}

async fn wait_object(base: &str, collection: &str, id: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        if let Some(o) = get_object(base, collection, id).await {
            return o;
        }
        assert!(
            started.elapsed() < within,
            "{id} did not reach {base} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn indicator(id: &str, domain: &str, tlp: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let marking = match tlp {
        "green" => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "red" => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        _ => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    };
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": now, "modified": now, "name": format!("C2 {domain}"),
        "pattern": format!("[domain-name:value = '{domain}']"), "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [marking],
    })
}

fn local_sighting(id: &str, of: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "type": "sighting", "spec_version": "2.1", "id": id,
        "created": now, "modified": now, "sighting_of_ref": of,
        "first_seen": now, "last_seen": now, "count": 1,
        "description": format!("beacon from {INTERNAL_HOST}"),
        "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
        "x_shield_observed": [{"type": "domain-name", "value": INTERNAL_HOST}],
    })
}

async fn audit_actions(base: &str) -> Vec<Value> {
    let v = get_json_auth(&format!("{base}/api/v1/audit?limit=1000")).await;
    v["entries"].as_array().cloned().unwrap_or_default()
}

async fn get_json_auth(url: &str) -> Value {
    let r = client().get(url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

fn uuid4() -> String {
    uuid_like(rand_u128())
}

fn rand_u128() -> u128 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    t ^ (u128::from(std::process::id()) << 64)
}

fn uuid_like(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

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

    // 2. TLP:RED stays at EE: a GREEN object posted after it reaches the hub, the RED one never.
    let red_id = format!("indicator--{}", uuid4());
    let after_id = format!("indicator--{}", uuid4());
    let (status, _) = post_objects(
        &ee_node.url,
        "indicators",
        ADMIN,
        vec![
            indicator(&red_id, "red.example.net", "red"),
            indicator(&after_id, "after.example.net", "green"),
        ],
    )
    .await;
    assert_eq!(status, 202);
    wait_object(&hub_node.url, "shared", &after_id, Duration::from_secs(20)).await;
    wait_object(&lv_node.url, "shared", &after_id, Duration::from_secs(20)).await;
    assert!(get_object(&hub_node.url, "shared", &red_id).await.is_none());
    assert!(get_object(&lv_node.url, "shared", &red_id).await.is_none());
    let ee_audit = audit_actions(&ee_node.url).await;
    let held = ee_audit
        .iter()
        .filter(|e| e["action"] == "federation.hold")
        .any(|e| e["details"].to_string().contains(&red_id));
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
