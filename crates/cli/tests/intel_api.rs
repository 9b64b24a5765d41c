//! The intel API applies the TLP rule through the store: an AMBER object of organisation A is never
//! returned to a token of organisation B, whatever its role; a GREEN one is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const GREEN_ID: &str = "indicator--1f0d3c6e-2a9b-4c8d-9e7f-0a1b2c3d4e51";
const AMBER_ID: &str = "indicator--7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c62";

fn indicator(id: &str, domain: &str, marking: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-03-01T09:00:00.000Z", "modified": "2026-03-01T09:00:00.000Z",
        "name": format!("Phishing domain {domain}"),
        "pattern": format!("[domain-name:value = '{domain}']"), "pattern_type": "stix",
        "valid_from": "2026-03-01T09:00:00Z", "object_marking_refs": [marking]
    })
}

async fn token(base: &str, name: &str, role: &str, org: &str) -> String {
    let r = client()
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": name, "role": role, "org": org}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_owned()
}

async fn get(url: &str, token: &str) -> (u16, Value) {
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ids(found: &Value) -> Vec<String> {
    found["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amber_stays_in_its_organisation_green_is_shared() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(
        &dir.path().join("data"),
        &[],
        &[("SHIELD_ORGANISATION", "cert-a")],
    );
    let base = node.url.clone();
    // The admin token belongs to the node's organisation, cert-a: it owns what it posts.
    let r = client()
        .post(format!(
            "{base}/taxii2/shield/collections/indicators/objects/"
        ))
        .bearer_auth(ADMIN)
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(
            json!({"objects": [
                indicator(GREEN_ID, "login-portal.example", GREEN),
                indicator(AMBER_ID, "payroll-update.example", AMBER),
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    let analyst_a = token(&base, "analyst-a", "analyst", "cert-a").await;
    let analyst_b = token(&base, "analyst-b", "analyst", "cert-b").await;
    let admin_b = token(&base, "admin-b", "admin", "cert-b").await;
    let ingest_a = token(&base, "shipper-a", "ingest", "cert-a").await;
    let search = |value: &str| format!("{base}/api/v1/intel/search?value={value}");
    let object = |id: &str| format!("{base}/api/v1/intel/objects/{id}");

    // Organisation A sees both, through search and by id.
    let (status, found) = get(&search("payroll-update.example"), &analyst_a).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(ids(&found), vec![AMBER_ID]);
    assert_eq!(found["indicators"][0]["tlp"], "tlp:amber");
    assert_eq!(found["indicators"][0]["owner_org"], "cert-a");
    assert_eq!(found["indicators"][0]["collection_alias"], "indicators");
    assert_eq!(
        found["indicators"][0]["object"]["name"],
        "Phishing domain payroll-update.example"
    );
    // Values are compared in normalised form, as the live matcher compares them.
    let (_, found) = get(&search("Login-Portal.example"), &analyst_a).await;
    assert_eq!(ids(&found), vec![GREEN_ID]);
    let (status, o) = get(&object(AMBER_ID), &analyst_a).await;
    assert_eq!(status, 200);
    assert_eq!(o["object"]["id"], AMBER_ID);

    // Organisation B: GREEN yes, AMBER never, an admin of B included.
    for tok in [&analyst_b, &admin_b] {
        let (status, found) = get(&search("payroll-update.example"), tok).await;
        assert_eq!(status, 200);
        assert!(ids(&found).is_empty(), "AMBER leaked: {found}");
        let (status, o) = get(&object(AMBER_ID), tok).await;
        assert_eq!(status, 404, "AMBER leaked: {o}");
        let (_, found) = get(&search("login-portal.example"), tok).await;
        assert_eq!(ids(&found), vec![GREEN_ID]);
        let (status, o) = get(&object(GREEN_ID), tok).await;
        assert_eq!(status, 200);
        assert_eq!(o["tlp"], "tlp:green");
    }

    // Roles and parameters.
    let (status, _) = get(&search("login-portal.example"), &ingest_a).await;
    assert_eq!(status, 403);
    let (status, e) = get(&format!("{base}/api/v1/intel/search"), &analyst_a).await;
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("value"),
        "{e}"
    );
    let (status, _) = get(&object("not-an-id"), &analyst_a).await;
    assert_eq!(status, 400);
    let (status, _) = get(
        &object("indicator--00000000-0000-4000-8000-000000000000"),
        &analyst_a,
    )
    .await;
    assert_eq!(status, 404);

    // Both routes are documented.
    let doc = get_json(&format!("{base}/api/v1/openapi.json")).await;
    assert!(doc["paths"]["/api/v1/intel/search"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/intel/objects/{id}"]["get"].is_object());
    node.stop();
}
