//! The TAXII client against the server, feeds pulled from one node into another, and paging
//! over HTTP while another client writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::*;
use reqwest::Url;
use serde_json::Value;
use shield_federation::client::{ClientOptions, Credentials, ObjectsRequest, TaxiiClient};
use shield_federation::feed::{FeedConfig, FeedContext, Secret, pull};
use shield_federation::taxii::{TaxiiConfig, install_collections};
use shield_intel::tlp::Tlp;
use shield_store::intel::{ObjectQuery, Reader, VersionMatch};
use shield_store::{IntelStore, MemoryStore, Role, StateStore};

fn client_for(token: &str) -> TaxiiClient {
    TaxiiClient::new(ClientOptions {
        credentials: Credentials::Basic {
            user: "node".into(),
            password: token.into(),
        },
        ..ClientOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn client_discovers_adds_and_pages() {
    let s = TestServer::start().await;
    let client = client_for(&s.peer_b);
    let discovery_url = Url::parse(&s.url("")).unwrap();
    let discovery = client.discovery(&discovery_url).await.unwrap();
    let roots = TaxiiClient::api_root_urls(&discovery_url, &discovery).unwrap();
    assert_eq!(roots.len(), 1);
    let root = &roots[0];
    let info = client.api_root(root).await.unwrap();
    assert_eq!(info.max_content_length, 16 << 20);
    let collections = client.collections(root).await.unwrap();
    let indicators = collections
        .iter()
        .find(|c| c.alias.as_deref() == Some("indicators"))
        .unwrap();
    assert!(indicators.can_write && indicators.can_read);

    let objects: Vec<String> = (0..30).map(|n| indicator(n, 1, None).to_string()).collect();
    let texts: Vec<&str> = objects.iter().map(String::as_str).collect();
    let status = client
        .add_objects(root, &indicators.id, &texts)
        .await
        .unwrap();
    assert_eq!((status.success_count, status.failure_count), (30, 0));
    let status = client
        .wait_until_complete(
            root,
            status,
            std::time::Duration::from_millis(10),
            std::time::Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(status.status, "complete");
    assert_eq!(client.status(root, &status.id).await.unwrap(), status);

    let mut request = ObjectsRequest {
        limit: Some(7),
        ..ObjectsRequest::default()
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = client
            .get_objects(root, &indicators.id, &request)
            .await
            .unwrap();
        pages += 1;
        assert!(page.invalid.is_empty());
        seen.extend(page.objects.iter().map(|o| o.json().to_owned()));
        if !page.more {
            break;
        }
        request.next = page.next;
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, objects, "served as posted, in order");

    // A server error comes back with the error resource's words.
    let e = client
        .get_objects(root, "no-such-collection", &ObjectsRequest::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("404") && text.contains("no-such-collection"),
        "{text}"
    );
}

fn local_node() -> (Arc<MemoryStore>, FeedContext) {
    let store = Arc::new(MemoryStore::new());
    install_collections(&*store, &TaxiiConfig::default()).unwrap();
    let ctx = FeedContext {
        store: store.clone(),
        state: store.clone(),
        node_org: "b".into(),
    };
    (store, ctx)
}

fn local_objects(store: &MemoryStore) -> Vec<shield_store::intel::StoredObject> {
    let collection = store.collection("indicators").unwrap().unwrap();
    let q = ObjectQuery {
        versions: vec![VersionMatch::All],
        limit: 1000,
        ..ObjectQuery::new(collection.id)
    };
    IntelStore::query_objects(store, &Reader::new("b", Role::Admin, "x"), &q)
        .unwrap()
        .objects
}

#[tokio::test]
async fn feeds_pull_what_is_new_and_remember_where_they_stopped() {
    let remote = TestServer::start().await;
    let url = remote.collection_url("indicators", "objects/");
    // Organisation a shares GREEN objects; the feed reads as organisation b.
    let green = |n, modified| indicator(n, modified, Some(Tlp::Green));
    let first: Vec<Value> = (0..23).map(|n| green(n, 1)).collect();
    assert_eq!(
        post_objects(&url, &remote.peer_a, &first).await.status(),
        202
    );
    // An AMBER object of organisation a never reaches b.
    post_objects(&url, &remote.peer_a, &[indicator(500, 1, Some(Tlp::Amber))]).await;

    let (store, ctx) = local_node();
    let mut feed = FeedConfig::adhoc("hub-eu", &remote.url("shield/"), "indicators");
    feed.token = Some(Secret(remote.peer_b.clone()));
    feed.page_size = 5;
    let client = feed.client().unwrap();

    let report = pull(&client, &feed, &ctx).await.unwrap();
    assert_eq!(
        (
            report.pages,
            report.added,
            report.duplicates,
            report.invalid
        ),
        (5, 23, 0, 0)
    );
    let cursor = store.get_state("feed:hub-eu:added_after").unwrap().unwrap();
    assert_eq!(report.cursor.as_deref(), Some(cursor.as_str()));
    let stored = local_objects(&store);
    assert_eq!(stored.len(), 23);
    assert!(
        stored
            .iter()
            .all(|o| o.source == "feed:hub-eu" && o.owner_org == "b")
    );
    let served: Vec<String> = first.iter().map(Value::to_string).collect();
    let kept: Vec<String> = stored.iter().map(|o| o.json.clone().unwrap()).collect();
    assert_eq!(kept, served, "stored verbatim");

    // Nothing new: one page, nothing added, the cursor stays.
    let report = pull(&client, &feed, &ctx).await.unwrap();
    assert_eq!((report.pages, report.added), (1, 0));
    assert_eq!(report.cursor.as_deref(), Some(cursor.as_str()));

    // New objects and a new version: only those come.
    let newer: Vec<Value> = (23..26).map(|n| green(n, 1)).chain([green(0, 9)]).collect();
    post_objects(&url, &remote.peer_a, &newer).await;
    let report = pull(&client, &feed, &ctx).await.unwrap();
    assert_eq!((report.added, report.duplicates), (4, 0));
    assert_eq!(local_objects(&store).len(), 27);

    // Losing the cursor costs a full pull, never a duplicate.
    store
        .set_state("feed:hub-eu:added_after", "2000-01-01T00:00:00Z")
        .unwrap();
    let report = pull(&client, &feed, &ctx).await.unwrap();
    assert_eq!((report.added, report.duplicates), (0, 26));

    // A feed into a collection that does not exist fails clearly.
    feed.into = "nowhere".into();
    let e = pull(&client, &feed, &ctx).await.unwrap_err();
    assert!(e.to_string().contains("nowhere"), "{e}");
}

#[tokio::test]
async fn paging_over_http_never_skips_or_repeats_under_concurrent_writes() {
    let s = Arc::new(TestServer::start().await);
    let url = s.collection_url("indicators", "objects/");
    let initial: Vec<Value> = (0..150).map(|n| indicator(n, 1, None)).collect();
    post_objects(&url, &s.peer_a, &initial).await;
    let writer = {
        let s = s.clone();
        let url = url.clone();
        tokio::spawn(async move {
            for batch in 0..30u64 {
                let objects: Vec<Value> = (0..4)
                    .map(|i| indicator(1_000 + batch * 4 + i, 1, None))
                    .chain([indicator(batch, 100 + batch as i64, None)])
                    .collect();
                assert_eq!(post_objects(&url, &s.peer_a, &objects).await.status(), 202);
            }
        })
    };
    let client = client_for(&s.analyst_a);
    let root = Url::parse(&s.url("shield/")).unwrap();
    let mut request = ObjectsRequest {
        limit: Some(6),
        versions: vec!["all".into()],
        ..ObjectsRequest::default()
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut last_added = String::new();
    loop {
        let page = client
            .get_objects(&root, "indicators", &request)
            .await
            .unwrap();
        if let Some(first) = &page.date_added_first {
            assert!(*first > last_added, "pages overlap");
            last_added = page.date_added_last.clone().unwrap();
        }
        for o in &page.objects {
            let v: Value = serde_json::from_str(o.json()).unwrap();
            seen.push((
                v["id"].as_str().unwrap().into(),
                v["modified"].as_str().unwrap().into(),
            ));
        }
        if !page.more {
            break;
        }
        request.next = page.next;
    }
    writer.await.unwrap();
    let unique: HashSet<&(String, String)> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a version was served twice");
    for n in 0..150 {
        assert!(unique.contains(&(indicator_id(n), ts(1))), "skipped {n}");
    }
    // Polling on from the last date served brings exactly the rest.
    let rest = client
        .get_objects(
            &root,
            "indicators",
            &ObjectsRequest {
                added_after: Some(last_added),
                versions: vec!["all".into()],
                limit: Some(1000),
                ..ObjectsRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(seen.len() + rest.objects.len(), 150 + 30 * 5);
}
