//! The intel part of the behavioural suite every backend must pass (run by `store_test_suite!`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::thread;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;

use super::{
    BulkWrite, Collection, CollectionAccess, DeleteRequest, Grant, IncomingObject, IntelWrite,
    ObjectQuery, Provenance, PutOutcome, Reader, VersionMatch,
};
use crate::testsuite::at;
use crate::{Role, Store, StoreError};

/// The id `indicator--…n` (a valid version-4 UUID).
pub fn indicator_id(n: u64) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012x}")
}

/// A STIX timestamp `secs` after 2024-05-01 with milliseconds.
pub fn stix_time(secs: i64) -> String {
    at(secs).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Indicator `n`, version `modified` (seconds), looking for `203.0.113.<n % 256>`, marked `tlp`.
pub fn indicator(n: u64, modified: i64, tlp: Option<Tlp>) -> StixObject {
    indicator_with(n, modified, tlp, json!({}))
}

/// [`indicator`] with extra properties.
pub fn indicator_with(n: u64, modified: i64, tlp: Option<Tlp>, extra: Value) -> StixObject {
    let mut v = json!({
        "type": "indicator", "spec_version": "2.1", "id": indicator_id(n),
        "created": stix_time(0), "modified": stix_time(modified),
        "pattern": format!("[ipv4-addr:value = '203.0.113.{}']", n % 256),
        "pattern_type": "stix", "valid_from": stix_time(0),
    });
    if let Some(tlp) = tlp {
        v["object_marking_refs"] = json!([tlp.marking_id()]);
    }
    if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
        map.extend(more);
    }
    StixObject::from_value(v).unwrap()
}

/// A collection `alias` that everyone may read and write.
pub fn open_collection(alias: &str) -> Collection {
    Collection {
        id: format!("00000000-0000-4000-8000-{:012x}", alias.len()),
        alias: Some(alias.to_owned()),
        title: format!("Collection {alias}"),
        description: None,
        access: CollectionAccess {
            read: vec![Grant::Anyone],
            write: vec![Grant::Anyone],
        },
    }
}

pub fn write_of(
    collection: &str,
    org: &str,
    objects: Vec<StixObject>,
    received: DateTime<Utc>,
) -> IntelWrite {
    IntelWrite {
        collection: collection.to_owned(),
        objects: objects.into_iter().map(IncomingObject::new).collect(),
        provenance: Provenance {
            source: format!("test:{org}"),
            org: org.to_owned(),
            default_tlp: Tlp::Green,
            shared_with: Vec::new(),
        },
        received,
        status_id: None,
    }
}

pub fn reader(org: &str) -> Reader {
    Reader::new(org, Role::Analyst, format!("{org}-analyst"))
}

fn versions_of(store: &dyn Store, r: &Reader, q: ObjectQuery) -> Vec<(String, String)> {
    store
        .query_objects(r, &q)
        .unwrap()
        .objects
        .into_iter()
        .map(|o| (o.id, o.version))
        .collect()
}

pub fn intel_collections_are_stored_and_found_by_alias(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    assert!(store.ensure_collection(&c).unwrap());
    assert!(!store.ensure_collection(&c).unwrap());
    assert_eq!(store.collection(&c.id).unwrap().unwrap(), c);
    assert_eq!(store.collection("indicators").unwrap().unwrap(), c);
    assert!(store.collection("nope").unwrap().is_none());
    let mut changed = c.clone();
    changed.title = "Renamed".into();
    changed.access.read = vec![Grant::Role(Role::Peer), Grant::Org("cert-ee".into())];
    store.put_collection(&changed).unwrap();
    assert_eq!(store.collections().unwrap(), vec![changed]);
    let mut clash = open_collection("other");
    clash.alias = Some("indicators".into());
    assert!(matches!(
        store.put_collection(&clash),
        Err(StoreError::InvalidInput { .. })
    ));
    assert_eq!(store.collections().unwrap().len(), 1);
}

pub fn intel_versions_are_idempotent_and_strictly_ordered(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    let t = at(100);
    let report = store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![
                indicator(1, 10, None),
                indicator(1, 20, None),
                indicator(1, 10, None),
            ],
            t,
        ))
        .unwrap();
    assert_eq!(report.added(), 2);
    assert_eq!(report.outcomes[2].2, PutOutcome::Duplicate);
    // The same receive time again: date_added still increases.
    let again = store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![indicator(1, 20, None), indicator(2, 5, None)],
            t,
        ))
        .unwrap();
    assert_eq!(again.duplicates(), 1);
    let all = store
        .query_objects(
            &reader("a"),
            &ObjectQuery {
                versions: vec![VersionMatch::All],
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap()
        .objects;
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].date_added < w[1].date_added));
    assert_eq!(all[0].date_added, t);
    assert_eq!(
        all[0].json.as_deref(),
        Some(indicator(1, 10, None).to_json().as_str())
    );
    let r = reader("a");
    let q = |versions: Vec<VersionMatch>| ObjectQuery {
        versions,
        ..ObjectQuery::new(&c.id)
    };
    assert_eq!(
        versions_of(&*store, &r, q(vec![])),
        vec![
            (indicator_id(1), stix_time(20)),
            (indicator_id(2), stix_time(5))
        ]
    );
    assert_eq!(
        versions_of(&*store, &r, q(vec![VersionMatch::First])),
        vec![
            (indicator_id(1), stix_time(10)),
            (indicator_id(2), stix_time(5))
        ]
    );
    assert_eq!(
        versions_of(
            &*store,
            &r,
            q(vec![VersionMatch::At(at(10)), VersionMatch::At(at(5))])
        ),
        vec![
            (indicator_id(1), stix_time(10)),
            (indicator_id(2), stix_time(5))
        ]
    );
    // Provenance is kept per version.
    assert!(
        all.iter()
            .all(|o| o.source == "test:a" && o.owner_org == "a" && o.received == t)
    );

    // An observable has one version: posting it again is a duplicate.
    let ip = StixObject::from_value(json!({
        "type": "ipv4-addr", "spec_version": "2.1",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"
    }))
    .unwrap();
    let first = store
        .put_objects(&write_of(&c.id, "a", vec![ip.clone()], at(200)))
        .unwrap();
    let second = store
        .put_objects(&write_of(&c.id, "a", vec![ip], at(300)))
        .unwrap();
    assert_eq!(first.added(), 1);
    assert_eq!(second.outcomes[0].2, PutOutcome::Duplicate);
    assert_eq!(first.outcomes[0].1, second.outcomes[0].1);
    assert_eq!(first.outcomes[0].1, "2024-05-01T00:03:20.000000Z");
}

pub fn intel_writes_are_all_or_nothing(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    assert!(matches!(
        store.put_objects(&write_of(
            "no-such",
            "a",
            vec![indicator(1, 1, None)],
            at(1)
        )),
        Err(StoreError::InvalidInput { .. })
    ));
    let mut w = write_of(&c.id, "a", vec![indicator(1, 1, None)], at(1));
    w.status_id = Some("status-1".into());
    let report = store.put_objects(&w).unwrap();
    assert_eq!(report.status.unwrap().success_count, 1);
    // A second write under the same status id fails as a whole: its objects are not kept.
    let mut w = write_of(
        &c.id,
        "a",
        vec![indicator(2, 1, None), indicator(3, 1, None)],
        at(2),
    );
    w.status_id = Some("status-1".into());
    assert!(store.put_objects(&w).is_err());
    let page = store
        .query_objects(&reader("a"), &ObjectQuery::new(&c.id))
        .unwrap();
    assert_eq!(page.objects.len(), 1);
    let generation = store.intel_generation().unwrap();
    store
        .put_objects(&write_of(&c.id, "a", vec![indicator(1, 1, None)], at(3)))
        .unwrap();
    assert_eq!(
        store.intel_generation().unwrap(),
        generation,
        "a duplicate changes nothing"
    );
}

pub fn intel_tlp_rule_applies_to_every_read(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    let levels = [
        Some(Tlp::Clear),
        Some(Tlp::Green),
        Some(Tlp::Amber),
        Some(Tlp::AmberStrict),
        Some(Tlp::Red),
        None,
    ];
    let objects: Vec<StixObject> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| indicator(i as u64, 1, *l))
        .collect();
    let mut w = write_of(&c.id, "a", objects, at(1));
    w.provenance.default_tlp = Tlp::Amber;
    store.put_objects(&w).unwrap();
    let mut shared = write_of(&c.id, "a", vec![indicator(10, 1, Some(Tlp::Red))], at(2));
    shared.provenance.shared_with = vec!["c".into()];
    store.put_objects(&shared).unwrap();

    let seen = |org: &str| -> HashSet<String> {
        store
            .query_objects(&reader(org), &ObjectQuery::new(&c.id))
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.id)
            .collect()
    };
    let ids = |ns: &[u64]| ns.iter().map(|n| indicator_id(*n)).collect::<HashSet<_>>();
    assert_eq!(seen("a"), ids(&[0, 1, 2, 3, 4, 5, 10]));
    assert_eq!(seen("b"), ids(&[0, 1]));
    assert_eq!(seen("c"), ids(&[0, 1, 10]));
    // The unmarked object took the source's default.
    let five = store
        .query_objects(
            &reader("a"),
            &ObjectQuery {
                ids: vec![indicator_id(5)],
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap();
    assert_eq!(five.objects[0].tlp, Tlp::Amber);
    // Admins of another organisation are no exception.
    let admin = Reader::new("b", Role::Admin, "root");
    assert_eq!(
        store
            .query_objects(&admin, &ObjectQuery::new(&c.id))
            .unwrap()
            .objects
            .len(),
        2
    );

    // A newer RED version hides from others; they still get the newest version they may see.
    store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![indicator(1, 50, Some(Tlp::Red))],
            at(3),
        ))
        .unwrap();
    let for_b = versions_of(
        &*store,
        &reader("b"),
        ObjectQuery {
            ids: vec![indicator_id(1)],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert_eq!(for_b, vec![(indicator_id(1), stix_time(1))]);
    let all_b = versions_of(
        &*store,
        &reader("b"),
        ObjectQuery {
            ids: vec![indicator_id(1)],
            versions: vec![VersionMatch::All],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert_eq!(all_b.len(), 1);
    // Lookups too.
    assert!(
        store
            .lookup_observable(&reader("b"), "203.0.113.4")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .lookup_observable(&reader("a"), "203.0.113.4")
            .unwrap()
            .len(),
        1
    );
}

pub fn intel_pagination_never_skips_or_repeats(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    let initial: Vec<StixObject> = (0..200).map(|n| indicator(n, 1, None)).collect();
    store
        .put_objects(&write_of(&c.id, "a", initial, at(10)))
        .unwrap();
    let writer = {
        let store = store.clone();
        let id = c.id.clone();
        thread::spawn(move || {
            for batch in 0..40u64 {
                // New objects, and new versions of old ones, with receive times that go back.
                let objects = (0..5)
                    .map(|i| indicator(1_000 + batch * 5 + i, 1, None))
                    .chain([indicator(batch, 100 + batch as i64, None)])
                    .collect();
                store
                    .put_objects(&write_of(&id, "a", objects, at(5)))
                    .unwrap();
                thread::yield_now();
            }
        })
    };
    let r = reader("a");
    let mut seen: Vec<(String, String, DateTime<Utc>)> = Vec::new();
    let mut q = ObjectQuery {
        limit: 7,
        versions: vec![VersionMatch::All],
        with_json: false,
        ..ObjectQuery::new(&c.id)
    };
    loop {
        let page = store.query_objects(&r, &q).unwrap();
        assert!(page.objects.len() <= 7);
        seen.extend(
            page.objects
                .into_iter()
                .map(|o| (o.id, o.version, o.date_added)),
        );
        if !page.more {
            break;
        }
        q.next = page.next;
        assert!(q.next.is_some());
    }
    writer.join().unwrap();
    let unique: HashSet<(String, String)> = seen
        .iter()
        .map(|(i, v, _)| (i.clone(), v.clone()))
        .collect();
    assert_eq!(unique.len(), seen.len(), "a version was served twice");
    assert!(seen.windows(2).all(|w| w[0].2 < w[1].2));
    // Everything that existed when paging started was served, and the last page reached the end.
    let total = store
        .query_objects(
            &r,
            &ObjectQuery {
                limit: 1000,
                versions: vec![VersionMatch::All],
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap();
    assert!(seen.len() >= 200);
    let last_seen = seen.last().unwrap().2;
    let after_last = total
        .objects
        .iter()
        .filter(|o| o.date_added > last_seen)
        .count();
    assert_eq!(seen.len() + after_last, total.objects.len());

    // added_after is strict.
    let third = total.objects[2].date_added;
    let after = store
        .query_objects(
            &r,
            &ObjectQuery {
                added_after: Some(third),
                limit: 1000,
                versions: vec![VersionMatch::All],
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap();
    assert_eq!(after.objects.len(), total.objects.len() - 3);
    assert!(!after.more && after.next.is_none());
}

pub fn intel_filters_select_the_right_versions(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    let identity = StixObject::from_value(json!({
        "type": "identity", "spec_version": "2.1", "id": "identity--00000000-0000-4000-8000-000000000001",
        "created": stix_time(0), "modified": stix_time(0), "name": "CERT", "identity_class": "organization"
    })).unwrap();
    store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![indicator(1, 1, None), identity, indicator(2, 1, None)],
            at(1),
        ))
        .unwrap();
    let r = reader("a");
    let types = versions_of(
        &*store,
        &r,
        ObjectQuery {
            types: vec!["identity".into()],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert_eq!(types.len(), 1);
    let ids = versions_of(
        &*store,
        &r,
        ObjectQuery {
            ids: vec![indicator_id(2), indicator_id(9)],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert_eq!(ids, vec![(indicator_id(2), stix_time(1))]);
    let spec = versions_of(
        &*store,
        &r,
        ObjectQuery {
            spec_versions: vec!["2.0".into()],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert!(spec.is_empty());
    let meta = store
        .query_objects(
            &r,
            &ObjectQuery {
                with_json: false,
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap();
    assert!(meta.objects.iter().all(|o| o.json.is_none()));
    assert!(matches!(
        store.query_objects(
            &r,
            &ObjectQuery {
                next: Some("garbage!".into()),
                ..ObjectQuery::new(&c.id)
            }
        ),
        Err(StoreError::InvalidCursor(_))
    ));
    let capped = store
        .query_objects(
            &r,
            &ObjectQuery {
                limit: 0,
                ..ObjectQuery::new(&c.id)
            },
        )
        .unwrap();
    assert_eq!(capped.objects.len(), 1);
    assert!(capped.more);
}

pub fn intel_deletes_only_what_the_reader_owns(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![
                indicator(1, 1, None),
                indicator(1, 2, None),
                indicator(1, 3, None),
            ],
            at(1),
        ))
        .unwrap();
    let del = |versions: Vec<VersionMatch>| DeleteRequest {
        collection: c.id.clone(),
        id: indicator_id(1),
        versions,
        spec_versions: vec![],
    };
    assert_eq!(store.delete_objects(&reader("b"), &del(vec![])).unwrap(), 0);
    let generation = store.intel_generation().unwrap();
    assert_eq!(
        store
            .delete_objects(&reader("a"), &del(vec![VersionMatch::Last]))
            .unwrap(),
        1
    );
    assert!(store.intel_generation().unwrap() > generation);
    let left = versions_of(
        &*store,
        &reader("a"),
        ObjectQuery {
            versions: vec![VersionMatch::All],
            ..ObjectQuery::new(&c.id)
        },
    );
    assert_eq!(
        left,
        vec![
            (indicator_id(1), stix_time(1)),
            (indicator_id(1), stix_time(2))
        ]
    );
    let admin = Reader::new("z", Role::Admin, "root");
    assert_eq!(store.delete_objects(&admin, &del(vec![])).unwrap(), 2);
    assert!(
        store
            .query_objects(&reader("a"), &ObjectQuery::new(&c.id))
            .unwrap()
            .objects
            .is_empty()
    );
}

pub fn intel_status_resources_are_kept_for_their_organisation(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    store
        .put_objects(&write_of(&c.id, "a", vec![indicator(1, 1, None)], at(1)))
        .unwrap();
    let mut w = write_of(
        &c.id,
        "a",
        vec![indicator(1, 1, None), indicator(2, 1, None)],
        at(2),
    );
    w.status_id = Some("5b0a1d8c-1111-4000-8000-000000000001".into());
    let report = store.put_objects(&w).unwrap();
    let status = store
        .status(&reader("a"), "5b0a1d8c-1111-4000-8000-000000000001")
        .unwrap()
        .unwrap();
    assert_eq!(Some(&status), report.status.as_ref());
    assert_eq!(
        (
            status.total_count,
            status.success_count,
            status.failure_count,
            status.pending_count
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(status.failures[0].id, indicator_id(1));
    assert!(status.failures[0].message.is_some());
    assert_eq!(status.successes[0].version, stix_time(1));
    assert_eq!(status.status, "complete");
    assert!(store.status(&reader("b"), &status.id).unwrap().is_none());
    assert!(
        store
            .status(&Reader::new("b", Role::Admin, "root"), &status.id)
            .unwrap()
            .is_none()
    );
    assert!(store.status(&reader("a"), "unknown").unwrap().is_none());
}

pub fn intel_lookup_and_live_indicators(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    let other = open_collection("shared");
    store.ensure_collection(&c).unwrap();
    store.ensure_collection(&other).unwrap();
    let domain = indicator_with(
        7,
        1,
        None,
        json!({"pattern": "[domain-name:value = 'Evil.Example'] OR [url:value = 'http://evil.example/x']"}),
    );
    let expiring = indicator_with(8, 1, None, json!({"valid_until": "2024-06-01T00:00:00Z"}));
    store
        .put_objects(&write_of(
            &c.id,
            "a",
            vec![domain, expiring, indicator(9, 1, None)],
            at(1),
        ))
        .unwrap();
    // The same indicator in a second collection, and a newer revoked version of 9.
    store
        .put_objects(&write_of(
            &other.id,
            "a",
            vec![
                indicator(9, 2, None)
                    .with_property("revoked", json!(true))
                    .unwrap(),
            ],
            at(2),
        ))
        .unwrap();
    let found = store
        .lookup_observable(&reader("b"), "evil[.]EXAMPLE")
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, indicator_id(7));
    assert!(found[0].json.is_some());
    assert_eq!(
        store
            .lookup_observable(&reader("b"), "http://EVIL.example/x")
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .lookup_observable(&reader("b"), "good.example")
            .unwrap()
            .is_empty()
    );

    let live = |now| {
        let mut ids = Vec::new();
        let n = store.live_indicators(now, &mut |o| ids.push(o.id)).unwrap();
        assert_eq!(n as usize, ids.len());
        ids
    };
    assert_eq!(live(at(0)), vec![indicator_id(7), indicator_id(8)]);
    assert_eq!(live(at(0) + Duration::days(60)), vec![indicator_id(7)]);
    let generation = store.intel_generation().unwrap();
    store
        .put_objects(&write_of(&c.id, "a", vec![indicator(7, 5, None)], at(3)))
        .unwrap();
    assert!(store.intel_generation().unwrap() > generation);
    // The new version of 7 looks for another value: the old one no longer finds it.
    assert!(
        store
            .lookup_observable(&reader("b"), "evil.example")
            .unwrap()
            .is_empty()
    );
}

fn bulk_of(
    collection: &str,
    org: &str,
    skip_known_ids: bool,
    received: DateTime<Utc>,
) -> BulkWrite {
    BulkWrite {
        collection: collection.to_owned(),
        provenance: Provenance {
            source: format!("import:{org}"),
            org: org.to_owned(),
            default_tlp: Tlp::Green,
            shared_with: vec!["c".to_owned()],
        },
        received,
        skip_known_ids,
    }
}

pub fn intel_bulk_imports_keep_every_rule(store: Arc<dyn Store>) {
    let c = open_collection("indicators");
    store.ensure_collection(&c).unwrap();
    store
        .put_objects(&write_of(
            &c.id,
            "b",
            vec![indicator(1, 1, Some(Tlp::Amber))],
            at(1),
        ))
        .unwrap();
    store
        .put_objects(&write_of(&c.id, "a", vec![indicator(2, 1, None)], at(1)))
        .unwrap();
    let generation = store.intel_generation().unwrap();

    // Versions: a repeat inside the import and a version already stored are duplicates; a new
    // version of a stored object is added.
    let objects = [
        indicator(5, 1, None),
        indicator(3, 1, Some(Tlp::Amber)),
        indicator(5, 1, None),
        indicator(2, 1, None),
        indicator(2, 2, None),
        indicator(4, 1, None),
        indicator(4, 1, None),
    ];
    let report = store
        .put_bulk(
            &bulk_of(&c.id, "a", false, at(1)),
            &mut objects.into_iter().map(|o| IncomingObject::new(o).into()),
        )
        .unwrap();
    assert_eq!((report.added, report.duplicates), (4, 3));
    assert!(store.intel_generation().unwrap() > generation);

    let mut all = ObjectQuery::new(c.id.clone());
    all.versions = vec![VersionMatch::All];
    // Six versions, five of which "a" may see (1 is AMBER of "b").
    let page = store.query_objects(&reader("a"), &all).unwrap();
    assert_eq!(page.objects.len(), 5);
    let added: Vec<_> = page.objects.iter().map(|o| o.date_added).collect();
    assert!(added.windows(2).all(|w| w[0] < w[1]), "{added:?}");
    let bulk: Vec<_> = page
        .objects
        .iter()
        .filter(|o| o.source == "import:a")
        .collect();
    assert_eq!(bulk.len(), 4);
    assert!(bulk.iter().all(|o| o.owner_org == "a" && o.json.is_some()));
    let three = bulk.iter().find(|o| o.id == indicator_id(3)).unwrap();
    assert_eq!(three.tlp, Tlp::Amber);
    let five = bulk.iter().find(|o| o.id == indicator_id(5)).unwrap();
    assert_eq!(five.tlp, Tlp::Green);
    // The JSON is stored as the object serialises.
    assert_eq!(
        five.json.as_deref(),
        Some(indicator(5, 1, None).to_json().as_str())
    );
    // TLP and explicit sharing: AMBER 3 is seen by its owner and by "c", not by "d".
    let ids = |org: &str| -> HashSet<String> {
        store
            .query_objects(&reader(org), &all)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.id)
            .collect()
    };
    assert!(ids("c").contains(&indicator_id(3)));
    assert!(!ids("d").contains(&indicator_id(3)));
    // Observable lookup finds bulk-stored indicators; the current version of 2 is the new one.
    let found = store
        .lookup_observable(&reader("a"), "203.0.113.5")
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, indicator_id(5));
    let two = store
        .lookup_observable(&reader("a"), "203.0.113.2")
        .unwrap();
    assert_eq!(two[0].version, stix_time(2));
    let mut live = Vec::new();
    store
        .live_indicators(at(0), &mut |o| live.push(o.id))
        .unwrap();
    assert_eq!(live.len(), 5);

    // Known ids: 2 is known to "a"; 1 is stored but AMBER of "b", so "a" stores its own; the
    // second 6 repeats the first.
    let objects = [
        indicator(2, 3, None),
        indicator(1, 2, None),
        indicator(6, 1, None),
        indicator(6, 2, None),
    ];
    let report = store
        .put_bulk(
            &bulk_of(&c.id, "a", true, at(2)),
            &mut objects.into_iter().map(|o| IncomingObject::new(o).into()),
        )
        .unwrap();
    assert_eq!((report.added, report.duplicates), (2, 2));
    let versions = versions_of(&*store, &reader("a"), all.clone());
    assert!(versions.contains(&(indicator_id(1), stix_time(2))));
    assert!(!versions.contains(&(indicator_id(2), stix_time(3))));
    assert!(versions.contains(&(indicator_id(6), stix_time(1))));

    // An unknown collection is refused; an empty import changes nothing.
    let err = store
        .put_bulk(
            &bulk_of("nowhere", "a", false, at(3)),
            &mut [indicator(9, 1, None)]
                .into_iter()
                .map(|o| IncomingObject::new(o).into()),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    let generation = store.intel_generation().unwrap();
    let report = store
        .put_bulk(&bulk_of(&c.id, "a", false, at(3)), &mut std::iter::empty())
        .unwrap();
    assert_eq!((report.added, report.duplicates), (0, 0));
    assert_eq!(store.intel_generation().unwrap(), generation);
}
