//! TLP: an organisation never reads an object it is not cleared for, through any TAXII read
//! (objects, one object, versions, manifest) nor through the store's reads the node's API uses
//! (queries and observable lookups).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};
use shield_intel::tlp::Tlp;
use shield_store::intel::{ObjectQuery, Reader, VersionMatch};
use shield_store::{IntelStore, Role};

/// Object `n` for each level (and one without a marking, which takes the server's default,
/// AMBER), owned by organisation "a".
fn levels() -> Vec<(u64, Option<Tlp>)> {
    vec![
        (1, Some(Tlp::Clear)),
        (2, Some(Tlp::Green)),
        (3, Some(Tlp::Amber)),
        (4, Some(Tlp::AmberStrict)),
        (5, Some(Tlp::Red)),
        (6, None),
    ]
}

/// Whether organisation `org` may read level `tlp` of an object owned by "a".
fn cleared(org: &str, tlp: Option<Tlp>) -> bool {
    org == "a" || matches!(tlp, Some(Tlp::Clear | Tlp::Green))
}

async fn envelope_ids(url: &str, token: &str) -> BTreeSet<String> {
    let r = get(url, token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    ids(&json_of(r).await).into_iter().collect()
}

#[tokio::test]
async fn organisations_read_only_what_they_are_cleared_for() {
    let s = TestServer::start().await;
    let objects: Vec<Value> = levels()
        .into_iter()
        .map(|(n, tlp)| {
            let mut o = indicator(n, 1, tlp);
            o["pattern"] = json!(format!("[domain-name:value = 'level{n}.example']"));
            o
        })
        .collect();
    let url = s.collection_url("indicators", "objects/");
    assert_eq!(post_objects(&url, &s.peer_a, &objects).await.status(), 202);
    // A later version of the GREEN object raised to RED: others keep the GREEN version only.
    let mut raised = indicator(2, 50, Some(Tlp::Red));
    raised["pattern"] = json!("[domain-name:value = 'level2.example']");
    assert_eq!(post_objects(&url, &s.peer_a, &[raised]).await.status(), 202);

    for (org, token, peer) in [
        ("a", &s.analyst_a, &s.peer_a),
        ("b", &s.analyst_b, &s.peer_b),
    ] {
        let expected: BTreeSet<String> = levels()
            .into_iter()
            .filter(|(_, tlp)| cleared(org, *tlp))
            .map(|(n, _)| indicator_id(n))
            .collect();
        // Get objects, latest and all versions, as analyst and as peer.
        for t in [token, peer] {
            assert_eq!(envelope_ids(&url, t).await, expected, "{org}");
            assert_eq!(
                envelope_ids(&format!("{url}?match[version]=all"), t).await,
                expected,
                "{org}"
            );
        }
        // The manifest.
        let manifest = json_of(
            get(&s.collection_url("indicators", "manifest/"), token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            ids(&manifest).into_iter().collect::<BTreeSet<_>>(),
            expected
        );
        // One object and its versions: 404 when not cleared.
        for (n, tlp) in levels() {
            let one = s.collection_url("indicators", &format!("objects/{}/", indicator_id(n)));
            let want = if cleared(org, tlp) { 200 } else { 404 };
            assert_eq!(
                get(&one, token).send().await.unwrap().status(),
                want,
                "{org} {n}"
            );
            let versions = get(&format!("{one}versions/"), token).send().await.unwrap();
            assert_eq!(versions.status(), want, "{org} {n}");
        }
        // The RED version of object 2 is the owner's alone.
        let two = s.collection_url(
            "indicators",
            &format!("objects/{}/versions/", indicator_id(2)),
        );
        let versions = json_of(get(&two, token).send().await.unwrap()).await;
        let expected_versions = if org == "a" {
            json!([ts(1), ts(50)])
        } else {
            json!([ts(1)])
        };
        assert_eq!(versions["versions"], expected_versions, "{org}");
        let latest = json_of(
            get(
                &s.collection_url("indicators", &format!("objects/{}/", indicator_id(2))),
                token,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        let marking = &latest["objects"][0]["object_marking_refs"][0];
        let want = if org == "a" { Tlp::Red } else { Tlp::Green };
        assert_eq!(marking, want.marking_id(), "{org}");

        // The store reads the node's API is built on: queries and observable lookups.
        let reader = Reader::new(org, Role::Analyst, "api");
        let q = ObjectQuery {
            versions: vec![VersionMatch::All],
            ..ObjectQuery::new(s.indicators_id())
        };
        let via_api: BTreeSet<String> = IntelStore::query_objects(&*s.store, &reader, &q)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(via_api, expected, "{org}");
        for (n, tlp) in levels() {
            let found = s
                .store
                .lookup_observable(&reader, &format!("LEVEL{n}.example"))
                .unwrap();
            let want = usize::from(cleared(org, tlp));
            assert_eq!(found.len(), want, "{org} level {n}");
        }
    }
    // An admin of organisation b is not cleared either.
    let admin_b = s
        .store
        .create_token("admin-b", Role::Admin, Some("b"))
        .unwrap()
        .1;
    assert_eq!(envelope_ids(&url, &admin_b).await.len(), 2);
}
