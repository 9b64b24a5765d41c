//! The TAXII 2.1 endpoints over a real socket: resources, media types, headers, pagination,
//! versions, manifest, delete, status, authentication and collection rights.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_api_root_and_collections() {
    let s = TestServer::start().await;
    let r = get(&s.url(""), &s.analyst_a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], TAXII);
    let d = json_of(r).await;
    assert_eq!(d["title"], "Shield TAXII 2.1");
    assert_eq!(d["api_roots"], json!(["/taxii2/shield/"]));
    assert_eq!(d["default"], "/taxii2/shield/");

    // Without the trailing slash too.
    let root = json_of(get(&s.url("shield"), &s.analyst_a).send().await.unwrap()).await;
    assert_eq!(root["versions"], json!([TAXII]));
    assert_eq!(root["max_content_length"], 16 << 20);

    let r = get(&s.url("nowhere/"), &s.analyst_a).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let e = json_of(r).await;
    assert_eq!(e["http_status"], "404");
    assert!(e["description"].as_str().unwrap().contains("nowhere"));

    let list = json_of(
        get(&s.url("shield/collections/"), &s.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let collections = list["collections"].as_array().unwrap();
    assert_eq!(collections.len(), 2);
    let indicators = collections
        .iter()
        .find(|c| c["alias"] == "indicators")
        .unwrap();
    assert_eq!(indicators["id"], s.indicators_id());
    assert_eq!(indicators["can_read"], true);
    assert_eq!(indicators["can_write"], false);
    assert_eq!(
        indicators["media_types"],
        json!(["application/stix+json;version=2.1"])
    );
    // By id and by alias.
    for key in [s.indicators_id(), "indicators".to_owned()] {
        let c = json_of(
            get(&s.collection_url(&key, ""), &s.peer_b)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(c["can_write"], true, "{key}");
    }
}

#[tokio::test]
async fn authentication_and_rights() {
    let s = TestServer::start().await;
    // No credentials, a wrong token, a bad scheme: 401 with a challenge.
    let r = client().get(s.url("")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("Basic")
    );
    assert_eq!(r.headers()["content-type"], TAXII);
    assert_eq!(json_of(r).await["http_status"], "401");
    let r = get(&s.url(""), "shd_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Bearer works as well as Basic.
    let r = client()
        .get(s.url(""))
        .bearer_auth(&s.analyst_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Ingest tokens may not use TAXII.
    let r = get(&s.url(""), &s.ingest).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Analysts may read `indicators` but not write it; peers may write it.
    let objects = s.collection_url("indicators", "objects/");
    let r = post_objects(&objects, &s.analyst_a, &[indicator(1, 1, None)]).await;
    assert_eq!(r.status(), 403);
    let r = post_objects(&objects, &s.peer_b, &[indicator(1, 1, None)]).await;
    assert_eq!(r.status(), 202);

    // A collection the caller may not see is 404; one it may see but not read is 403.
    let mut c = shield_store::intel::Collection {
        id: "5e9c1b0e-6d55-4c4c-9a0f-5b1f51b1d001".into(),
        alias: Some("private-a".into()),
        title: "Org a only".into(),
        description: None,
        access: shield_store::intel::CollectionAccess {
            read: vec![shield_store::intel::Grant::Org("a".into())],
            write: vec![],
        },
    };
    s.store.put_collection(&c).unwrap();
    let r = get(&s.collection_url("private-a", "objects/"), &s.analyst_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = get(&s.collection_url("private-a", "objects/"), &s.analyst_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.access.read = vec![];
    c.access.write = vec![shield_store::intel::Grant::Token("peer-b".into())];
    s.store.put_collection(&c).unwrap();
    let r = get(&s.collection_url("private-a", "objects/"), &s.peer_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post_objects(
        &s.collection_url("private-a", "objects/"),
        &s.peer_b,
        &[indicator(2, 1, None)],
    )
    .await;
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn objects_round_trip_with_versions_manifest_and_status() {
    let s = TestServer::start().await;
    let objects_url = s.collection_url("indicators", "objects/");
    // Objects arrive pretty-printed with custom properties; they are served byte for byte.
    let special = json!({
        "type": "indicator", "spec_version": "2.1", "id": indicator_id(99),
        "created": ts(0), "modified": ts(0), "pattern_type": "stix",
        "pattern": "[domain-name:value = 'evil.example']", "valid_from": ts(0),
        "x_shield_score": 1.50, "x_note": "caf\u{e9} \\u00e9"
    });
    let pretty = serde_json::to_string_pretty(&special).unwrap();
    let body = format!(
        "{{\"objects\": [{pretty}, {}, {}]}}",
        indicator(1, 10, None),
        indicator(1, 20, None)
    );
    let r = client()
        .post(&objects_url)
        .basic_auth("x", Some(&s.peer_a))
        .header("content-type", TAXII)
        .header("accept", TAXII)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["content-type"], TAXII);
    let status = json_of(r).await;
    assert_eq!(status["status"], "complete");
    assert_eq!(status["total_count"], 3);
    assert_eq!(status["success_count"], 3);
    assert_eq!(status["failure_count"], 0);
    assert_eq!(status["pending_count"], 0);
    let status_id = status["id"].as_str().unwrap().to_owned();

    // Posting a known version again: reported as a failure, not an HTTP error.
    let again =
        json_of(post_objects(&objects_url, &s.peer_a, &[indicator(1, 20, None)]).await).await;
    assert_eq!(again["failure_count"], 1);
    assert_eq!(again["failures"][0]["id"], indicator_id(1));
    assert_eq!(again["failures"][0]["version"], ts(20));

    // The status resource, with and without trailing slash; other organisations do not see it.
    for path in [
        format!("shield/status/{status_id}/"),
        format!("shield/status/{status_id}"),
    ] {
        let st = json_of(get(&s.url(&path), &s.peer_a).send().await.unwrap()).await;
        assert_eq!(st["id"], status_id);
        assert_eq!(st["successes"].as_array().unwrap().len(), 3);
    }
    let r = get(&s.url(&format!("shield/status/{status_id}/")), &s.peer_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Latest versions by default, oldest date_added first, with the date headers.
    let r = get(&objects_url, &s.analyst_a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let first = r.headers()["x-taxii-date-added-first"]
        .to_str()
        .unwrap()
        .to_owned();
    let last = r.headers()["x-taxii-date-added-last"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        first < last && first.ends_with('Z') && first.len() == 27,
        "{first} {last}"
    );
    let text = r.text().await.unwrap();
    assert!(text.contains(&pretty), "served verbatim");
    let envelope: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(envelope["more"], false);
    assert_eq!(ids(&envelope), vec![indicator_id(99), indicator_id(1)]);
    assert_eq!(envelope["objects"][1]["modified"], ts(20));

    // match[version]=all / first, match[type], match[id].
    let all = json_of(
        get(&format!("{objects_url}?match[version]=all"), &s.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(all["objects"].as_array().unwrap().len(), 3);
    let firsts = json_of(
        get(
            &format!(
                "{objects_url}?match[version]=first&match[id]={}",
                indicator_id(1)
            ),
            &s.analyst_a,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(firsts["objects"][0]["modified"], ts(10));
    let none = json_of(
        get(&format!("{objects_url}?match[type]=malware"), &s.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none, json!({"more": false}));

    // One object, its versions, the manifest.
    let one = s.collection_url("indicators", &format!("objects/{}/", indicator_id(1)));
    let env = json_of(get(&one, &s.analyst_a).send().await.unwrap()).await;
    assert_eq!(env["objects"].as_array().unwrap().len(), 1);
    let env = json_of(
        get(&format!("{one}?match[version]={}", ts(10)), &s.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(env["objects"][0]["modified"], ts(10));
    let versions = json_of(
        get(&format!("{one}versions/"), &s.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        versions,
        json!({"more": false, "versions": [ts(10), ts(20)]})
    );
    let missing = s.collection_url("indicators", &format!("objects/{}/", indicator_id(5)));
    assert_eq!(
        get(&missing, &s.analyst_a).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        get(&format!("{missing}versions/"), &s.analyst_a)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let manifest = json_of(
        get(
            &s.collection_url("indicators", "manifest/?match[version]=all&limit=2"),
            &s.analyst_a,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(manifest["more"], true);
    let records = manifest["objects"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["id"], indicator_id(99));
    assert_eq!(
        records[0]["media_type"],
        "application/stix+json;version=2.1"
    );
    assert_eq!(records[1]["version"], ts(10));
    assert!(
        records[0]["date_added"].as_str().unwrap() < records[1]["date_added"].as_str().unwrap()
    );

    // Delete: another organisation may not, the owner may, one version at a time.
    let del = |token: &str, query: &str| {
        client()
            .delete(format!("{one}{query}"))
            .bearer_auth(token)
            .send()
    };
    // Unmarked objects took the default, AMBER: organisation b cannot even see them.
    assert_eq!(del(&s.peer_b, "").await.unwrap().status(), 404);
    let green_url = s.collection_url("indicators", &format!("objects/{}/", indicator_id(7)));
    let green = indicator(7, 1, Some(shield_intel::tlp::Tlp::Green));
    assert_eq!(
        post_objects(&objects_url, &s.peer_a, &[green])
            .await
            .status(),
        202
    );
    let r = client()
        .delete(&green_url)
        .bearer_auth(&s.peer_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        json_of(r).await["description"]
            .as_str()
            .unwrap()
            .contains("owner")
    );
    assert_eq!(
        del(&s.peer_a, "?match[version]=last")
            .await
            .unwrap()
            .status(),
        200
    );
    let env = json_of(get(&one, &s.analyst_a).send().await.unwrap()).await;
    assert_eq!(env["objects"][0]["modified"], ts(10));
    assert_eq!(del(&s.admin_a, "").await.unwrap().status(), 200);
    assert_eq!(get(&one, &s.analyst_a).send().await.unwrap().status(), 404);
    assert_eq!(del(&s.admin_a, "").await.unwrap().status(), 404);
}

#[tokio::test]
async fn pagination_with_limit_next_and_added_after() {
    let s = TestServer::start().await;
    let objects_url = s.collection_url("indicators", "objects/");
    let objects: Vec<Value> = (0..25).map(|n| indicator(n, 1, None)).collect();
    assert_eq!(
        post_objects(&objects_url, &s.peer_a, &objects)
            .await
            .status(),
        202
    );
    let mut seen = Vec::new();
    let mut url = format!("{objects_url}?limit=10");
    let mut pages = 0;
    let last_header = loop {
        let r = get(&url, &s.analyst_a).send().await.unwrap();
        let last_header = r.headers()["x-taxii-date-added-last"]
            .to_str()
            .unwrap()
            .to_owned();
        let env = json_of(r).await;
        pages += 1;
        seen.extend(ids(&env));
        if env["more"] == false {
            assert!(env.get("next").is_none());
            break last_header;
        }
        url = format!(
            "{objects_url}?limit=10&next={}",
            env["next"].as_str().unwrap()
        );
    };
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..25).map(indicator_id).collect::<Vec<_>>());
    // Polling with added_after = the last header returns only what came after.
    let newer: Vec<Value> = (25..28).map(|n| indicator(n, 1, None)).collect();
    post_objects(&objects_url, &s.peer_a, &newer).await;
    let env = json_of(
        get(
            &format!("{objects_url}?added_after={last_header}"),
            &s.analyst_a,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(ids(&env), (25..28).map(indicator_id).collect::<Vec<_>>());
    // A limit over the server's maximum is capped.
    let config = shield_federation::taxii::TaxiiConfig {
        max_page: 5,
        ..Default::default()
    };
    let small = TestServer::start_with(config).await;
    let url = small.collection_url("indicators", "objects/");
    post_objects(&url, &small.peer_a, &objects).await;
    let env = json_of(
        get(&format!("{url}?limit=100"), &small.analyst_a)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&env).len(), 5);
    assert_eq!(env["more"], true);
}
