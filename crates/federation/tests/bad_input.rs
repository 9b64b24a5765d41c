//! Bad input to the TAXII server, each case on its own: a TAXII error resource that says why,
//! and nothing stored from the bad request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use shield_store::intel::{ObjectQuery, Reader, VersionMatch};
use shield_store::{IntelStore, Role};

/// Everything stored in `indicators`, every version.
fn stored(s: &TestServer) -> usize {
    let q = ObjectQuery {
        versions: vec![VersionMatch::All],
        limit: 1000,
        ..ObjectQuery::new(s.indicators_id())
    };
    let admin = Reader::new("a", Role::Admin, "admin-a");
    IntelStore::query_objects(&*s.store, &admin, &q)
        .unwrap()
        .objects
        .len()
}

/// Posts `body` and checks the answer: `status`, a TAXII error resource whose description
/// contains each of `says`, and nothing more stored than before.
async fn refused(
    s: &TestServer,
    body: String,
    content_type: &str,
    status: u16,
    says: &[&str],
) -> Value {
    let before = stored(s);
    let generation = s.store.intel_generation().unwrap();
    let r = client()
        .post(s.collection_url("indicators", "objects/"))
        .bearer_auth(&s.peer_a)
        .header("accept", TAXII)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], TAXII);
    let e = json_of(r).await;
    assert_eq!(e["http_status"], status.to_string());
    assert!(e["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(e["error_id"].as_str().unwrap().len(), 36);
    let description = e["description"].as_str().unwrap();
    for word in says {
        assert!(description.contains(word), "{description:?} lacks {word:?}");
    }
    assert_eq!(stored(s), before, "something was stored");
    assert_eq!(s.store.intel_generation().unwrap(), generation);
    e
}

fn envelope(objects: &[Value]) -> String {
    json!({ "objects": objects }).to_string()
}

#[tokio::test]
async fn a_missing_required_property_refuses_the_request() {
    let s = TestServer::start().await;
    let mut bad = indicator(2, 1, None);
    bad.as_object_mut().unwrap().remove("pattern");
    let e = refused(
        &s,
        envelope(&[indicator(1, 1, None), bad]),
        TAXII,
        422,
        &[
            "objects[1]",
            &indicator_id(2),
            "pattern",
            "nothing from this request was stored",
        ],
    )
    .await;
    assert_eq!(e["details"]["index"], 1);
    assert_eq!(e["details"]["id"], indicator_id(2));
    assert_eq!(e["details"]["property"], "pattern");
    assert_eq!(e["error_code"], "invalid-stix");
}

#[tokio::test]
async fn a_bad_pattern_refuses_the_request() {
    let s = TestServer::start().await;
    let mut bad = indicator(3, 1, None);
    bad["pattern"] = json!("[ipv4-addr:value = '203.0.113.5'");
    let e = refused(
        &s,
        envelope(&[indicator(1, 1, None), bad]),
        TAXII,
        422,
        &["pattern"],
    )
    .await;
    assert_eq!(e["details"]["property"], "pattern");
    assert_eq!(e["details"]["index"], 1);
}

#[tokio::test]
async fn a_malformed_id_refuses_the_request() {
    let s = TestServer::start().await;
    for id in [
        "indicator--not-a-uuid",
        "malware--00000000-0000-4000-8000-000000000001",
        "indicator-00000000-0000-4000-8000-000000000001",
    ] {
        let mut bad = indicator(4, 1, None);
        bad["id"] = json!(id);
        let e = refused(
            &s,
            envelope(&[bad, indicator(1, 1, None)]),
            TAXII,
            422,
            &["objects[0]"],
        )
        .await;
        assert_eq!(e["details"]["property"], "id", "{id}");
    }
}

#[tokio::test]
async fn wrong_media_types_are_refused() {
    let s = TestServer::start().await;
    let body = envelope(&[indicator(1, 1, None)]);
    for content_type in [
        "application/json",
        "text/plain",
        "application/taxii+json;version=2.0",
    ] {
        refused(
            &s,
            body.clone(),
            content_type,
            415,
            &["application/taxii+json;version=2.1"],
        )
        .await;
    }
    // An Accept that excludes TAXII 2.1, on a read and on a write.
    let r = client()
        .get(s.collection_url("indicators", "objects/"))
        .bearer_auth(&s.analyst_a)
        .header("accept", "application/vnd.oasis.taxii+json; version=2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    assert_eq!(json_of(r).await["http_status"], "406");
    let r = client()
        .post(s.collection_url("indicators", "objects/"))
        .bearer_auth(&s.peer_a)
        .header("accept", "text/html")
        .header("content-type", TAXII)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    assert_eq!(stored(&s), 0);
}

#[tokio::test]
async fn an_oversized_bundle_is_refused() {
    let config = shield_federation::taxii::TaxiiConfig {
        max_content_length: 64 * 1024,
        max_objects_per_request: 50,
        ..Default::default()
    };
    let s = TestServer::start_with(config).await;
    // Over max_content_length in bytes: 413 (declared length, and streamed without one).
    let big: Vec<Value> = (0..40)
        .map(|n| {
            let mut o = indicator(n, 1, None);
            o["description"] = json!("x".repeat(2000));
            o
        })
        .collect();
    refused(
        &s,
        envelope(&big),
        TAXII,
        413,
        &["max_content_length", "65536"],
    )
    .await;
    let status = post_chunked(&s, &envelope(&big)).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert_eq!(stored(&s), 0);
    // Over the object count: 413 too, naming the limit.
    let many: Vec<Value> = (0..51).map(|n| indicator(n, 1, None)).collect();
    refused(&s, envelope(&many), TAXII, 413, &["51", "50"]).await;
    // The API root advertises the limit.
    let root = json_of(get(&s.url("shield/"), &s.analyst_a).send().await.unwrap()).await;
    assert_eq!(root["max_content_length"], 64 * 1024);
}

/// Posts `body` without a Content-Length (chunked transfer encoding) over a raw socket; the
/// status line of the answer.
async fn post_chunked(s: &TestServer, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /taxii2/shield/collections/indicators/objects/ HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: {TAXII}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.addr, s.peer_a
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(4096) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        // The server may answer and close before the whole body is sent.
        if socket.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn bodies_that_are_not_envelopes_are_refused() {
    let s = TestServer::start().await;
    refused(&s, "{\"objects\": [".into(), TAXII, 400, &["not JSON"]).await;
    refused(&s, "[1, 2]".into(), TAXII, 400, &["envelope"]).await;
    refused(
        &s,
        indicator(1, 1, None).to_string(),
        TAXII,
        400,
        &["single object", "indicator"],
    )
    .await;
    refused(
        &s,
        "{\"objects\": {\"a\": 1}}".into(),
        TAXII,
        400,
        &["envelope"],
    )
    .await;
    refused(&s, envelope(&[json!("text")]), TAXII, 422, &["objects[0]"]).await;
}

#[tokio::test]
async fn bad_query_parameters_are_refused() {
    let s = TestServer::start().await;
    let url = s.collection_url("indicators", "objects/");
    for (query, names) in [
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("added_after=yesterday", "added_after"),
        ("match[version]=newest", "match[version]"),
        ("match[labels]=x", "match[labels]"),
        ("next=definitely-not-a-cursor", "next"),
    ] {
        let r = get(&format!("{url}?{query}"), &s.analyst_a)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let e = json_of(r).await;
        assert!(
            e["description"].as_str().unwrap().contains(names),
            "{query}: {e}"
        );
    }
}
