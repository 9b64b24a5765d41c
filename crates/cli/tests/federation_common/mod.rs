//! Hubs and members as real `shield serve` processes: keys, peer tokens and configurations
//! written before start, so each node knows the others' addresses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

pub const TAXII: &str = "application/taxii+json;version=2.1";
/// Base64 of 32 bytes: the community key every test node shares.
pub const COMMUNITY_KEY: &str = "c2hpZWxkLXRlc3QtY29tbXVuaXR5LWtleS0wMTIzNDU=";
pub const INTERNAL_HOST: &str = "ws-042.corp.local";

pub struct Site {
    pub name: &'static str,
    pub country: &'static str,
    pub data: PathBuf,
    pub port: u16,
    pub public_key: String,
    pub identity: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn run(args: &[&str]) -> String {
    let out = shield().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "shield {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

pub fn site(root: &Path, name: &'static str, country: &'static str) -> Site {
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
pub fn peer_token(at: &Site, for_site: &Site) -> String {
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

pub fn peer_entry(peer: &Site, relation: &str, token: &str) -> String {
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

pub fn config(site: &Site, role: &str, peers: &str, trusted: &[&Site]) -> PathBuf {
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

pub fn start(site: &Site, config: &Path) -> NodeProcess {
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

pub async fn post_objects(
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

pub async fn get_object(base: &str, collection: &str, id: &str) -> Option<Value> {
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

pub async fn wait_object(base: &str, collection: &str, id: &str, within: Duration) -> Value {
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

pub fn indicator(id: &str, domain: &str, tlp: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let marking = match tlp {
        "green" => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "red" => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        "amber+strict" => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "clear" => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        _ => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    };
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": now, "modified": now, "name": format!("C2 {domain}"),
        "pattern": format!("[domain-name:value = '{domain}']"), "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [marking],
    })
}

pub fn local_sighting(id: &str, of: &str) -> Value {
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

pub async fn audit_actions(base: &str) -> Vec<Value> {
    let v = get_json_auth(&format!("{base}/api/v1/audit?limit=1000")).await;
    v["entries"].as_array().cloned().unwrap_or_default()
}

pub async fn get_json_auth(url: &str) -> Value {
    let r = client().get(url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

pub fn uuid4() -> String {
    uuid_like(rand_u128())
}

pub fn rand_u128() -> u128 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (t << 32) ^ (u128::from(std::process::id()) << 96) ^ u128::from(n)
}

pub fn uuid_like(n: u128) -> String {
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

/// Every version (id, modified) in a node's collection, paging with `next`.
pub async fn all_versions(base: &str, collection: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = format!(
            "{base}/taxii2/shield/collections/{collection}/objects/?limit=1000&match[version]=all"
        );
        if let Some(n) = &next {
            url += &format!("&next={n}");
        }
        let r = client()
            .get(url)
            .bearer_auth(ADMIN)
            .header("Accept", TAXII)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        for o in v["objects"].as_array().cloned().unwrap_or_default() {
            out.push((
                o["id"].as_str().unwrap_or("").to_owned(),
                o["modified"].as_str().unwrap_or("").to_owned(),
            ));
        }
        if v["more"] == json!(true) {
            next = v["next"].as_str().map(str::to_owned);
            assert!(next.is_some());
        } else {
            return out;
        }
    }
}

/// Waits until `collection` at `base` holds at least `n` versions of type `prefix`; returns them.
pub async fn wait_versions(
    base: &str,
    collection: &str,
    prefix: &str,
    n: usize,
    within: Duration,
) -> Vec<(String, String)> {
    let started = Instant::now();
    loop {
        let versions: Vec<_> = all_versions(base, collection)
            .await
            .into_iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .collect();
        if versions.len() >= n {
            return versions;
        }
        assert!(
            started.elapsed() < within,
            "{} of {n} versions at {base} after {within:?}",
            versions.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
