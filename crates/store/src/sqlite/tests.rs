//! SQLite-specific behaviour, and the shared suite on every SQLite flavour.

use std::sync::Arc;

use rusqlite::Connection;
use tempfile::TempDir;

use super::schema::{APPLICATION_ID, SCHEMA_VERSION, user_version};
use super::*;
use crate::testsuite::{Backend, at, sample_alert};
use crate::{AlertQuery, AlertStore, Role, StateStore, Store, TokenStore};
use shield_event::{AlertKind, Level};

/// A store in a temporary directory, with its pool of read connections.
struct OnDisk {
    store: Arc<SqliteStore>,
    _dir: TempDir,
}

fn on_disk() -> OnDisk {
    let dir = tempfile::tempdir().unwrap();
    OnDisk {
        store: Arc::new(SqliteStore::open(dir.path()).unwrap()),
        _dir: dir,
    }
}

impl Backend for OnDisk {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

mod suite_on_disk {
    crate::store_test_suite!(super::on_disk());
}

mod suite_in_memory {
    crate::store_test_suite!(std::sync::Arc::new(
        crate::SqliteStore::open_in_memory().unwrap()
    ));
}

mod suite_memory_store {
    crate::store_test_suite!(std::sync::Arc::new(crate::MemoryStore::new()));
}

/// Every byte the store has written to its directory.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        out.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secrets_never_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (_, secret) = store.create_token("dc01", Role::Ingest, None).unwrap();
    store
        .import_token("boot", Role::Admin, None, "operator-chosen-secret")
        .unwrap();
    store.set_state("canary", "visible-canary-value").unwrap();
    let bytes = all_bytes(dir.path());
    // The check can see what was written: a state value is on disk in clear.
    assert!(contains(&bytes, b"visible-canary-value"));
    assert!(
        !contains(&bytes, secret.as_bytes()),
        "generated secret found on disk"
    );
    assert!(
        !contains(&bytes, &secret.as_bytes()[4..]),
        "secret body found on disk"
    );
    assert!(
        !contains(&bytes, b"operator-chosen-secret"),
        "imported secret found on disk"
    );
    assert!(
        contains(&bytes, &crate::token::hash_secret(&secret)),
        "the hash is what is stored"
    );
}

#[test]
fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let secret = {
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .insert_alerts(&[sample_alert(
                1,
                at(0),
                Level::High,
                "r",
                AlertKind::Sigma,
                None,
            )])
            .unwrap();
        store.set_state("k", "v").unwrap();
        store.create_token("a", Role::Analyst, None).unwrap().1
    };
    for _ in 0..2 {
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.count_alerts().unwrap(), 1);
        assert_eq!(store.get_state("k").unwrap().as_deref(), Some("v"));
        assert!(store.verify_token(&secret).unwrap().is_some());
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        assert_eq!(user_version(&conn).unwrap(), i64::from(SCHEMA_VERSION));
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    match SqliteStore::open(dir.path()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(
                (found, supported),
                (i64::from(SCHEMA_VERSION) + 1, SCHEMA_VERSION)
            );
        }
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a newer database was opened"),
    }
    let message = SqliteStore::open(dir.path()).err().unwrap().to_string();
    assert!(message.contains("newer"), "{message}");
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 3;")
        .unwrap();
    drop(conn);
    assert!(matches!(
        SqliteStore::open(dir.path()),
        Err(StoreError::ForeignDatabase { found: 0, .. })
    ));
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_ne!(id, APPLICATION_ID, "a refused database must not be marked");
}

#[test]
fn corrupt_rows_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .insert_alerts(&[sample_alert(
            1,
            at(0),
            Level::High,
            "r",
            AlertKind::Sigma,
            None,
        )])
        .unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute("UPDATE alerts SET body = '{broken'", [])
        .unwrap();
    conn.execute(
        "INSERT INTO tokens VALUES ('t1', 'n', 'superuser', NULL, 0, 0, x'00')",
        [],
    )
    .unwrap();
    assert!(matches!(
        store.query_alerts(&AlertQuery::default()),
        Err(StoreError::Corrupt { .. })
    ));
    let err = store.list_tokens().unwrap_err();
    assert!(err.to_string().contains("token t1"), "{err}");
}

#[test]
fn reads_do_not_wait_for_an_open_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .insert_alerts(&[sample_alert(
            1,
            at(0),
            Level::High,
            "r",
            AlertKind::Sigma,
            None,
        )])
        .unwrap();
    // Hold the writer (as a long ingest transaction would) and read meanwhile.
    let guard = store.writer.lock();
    guard
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM alerts;")
        .unwrap();
    assert_eq!(
        store.count_alerts().unwrap(),
        1,
        "readers see the last committed state"
    );
    assert_eq!(
        store
            .query_alerts(&AlertQuery::default())
            .unwrap()
            .alerts
            .len(),
        1
    );
    guard.execute_batch("ROLLBACK").unwrap();
}

/// A database at schema version 2 (intel rows naming collection and provenance by text) with two
/// versions of an indicator, an AMBER one shared with another organisation, and their observable
/// values: after migration every read answers as before, and deletes still remove observables.
#[test]
fn intel_rows_of_version_2_migrate() {
    use crate::intel::testsuite::{indicator, indicator_id};
    use crate::intel::{DeleteRequest, ObjectQuery, Reader};
    use crate::{IntelStore, testsuite::at};
    use shield_intel::tlp::Tlp;

    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for sql in &super::schema::MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO intel_collections (id, alias, title, read_grants, write_grants, \
             last_added) VALUES ('c-1', 'indicators', 'Indicators', '[\"*\"]', '[\"*\"]', 30)",
            [],
        )
        .unwrap();
        let rows = [
            (1, 1, Tlp::Green, "org-a", 10),
            (2, 2, Tlp::Green, "org-a", 20),
            (3, 1, Tlp::Amber, "org-b", 30),
        ];
        for (seq, modified, tlp, org, added) in rows {
            let n = if seq == 3 { 7 } else { 5 };
            let object = indicator(n, modified, Some(tlp));
            let version = object.version_text().unwrap().to_owned();
            let version_us = object.modified().unwrap().as_datetime().timestamp_micros();
            conn.execute(
                "INSERT INTO intel_objects (seq, collection, id, type, spec_version, version, \
                 version_us, date_added, tlp, owner_org, source, received, revoked, valid_until, \
                 body) VALUES (?1, 'c-1', ?2, 'indicator', '2.1', ?3, ?4, ?5, ?6, ?7, 'import:x', \
                 ?5, 0, NULL, ?8)",
                rusqlite::params![
                    seq,
                    object.id(),
                    version,
                    version_us,
                    at(added).timestamp_micros(),
                    if tlp == Tlp::Green { 1 } else { 2 },
                    org,
                    object.to_json()
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO intel_observables (value, seq) VALUES (?1, ?2)",
                rusqlite::params![format!("203.0.113.{n}"), seq],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO intel_shares (seq, org) VALUES (3, 'org-c')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    assert_eq!(user_version(&conn).unwrap(), i64::from(SCHEMA_VERSION));
    let c = store.collection("indicators").unwrap().unwrap();
    assert_eq!(c.id, "c-1");
    let reader = |org: &str| Reader::new(org, Role::Analyst, "t");
    let mut q = ObjectQuery::new("c-1");
    q.versions = vec![crate::intel::VersionMatch::All];
    let seen = |org: &str| -> Vec<(String, String, String)> {
        store
            .query_objects(&reader(org), &q)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| (o.id, o.owner_org, o.source))
            .collect()
    };
    assert_eq!(seen("org-a").len(), 2);
    assert_eq!(seen("org-c").len(), 3, "explicit sharing survives");
    assert_eq!(
        seen("org-b")[2],
        (indicator_id(7), "org-b".to_owned(), "import:x".to_owned())
    );
    let found = store
        .lookup_observable(&reader("org-a"), "203.0.113.5")
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].version, crate::intel::testsuite::stix_time(2));
    let mut live = Vec::new();
    store
        .live_indicators(at(0), &mut |o| live.push(o.id))
        .unwrap();
    assert_eq!(live, vec![indicator_id(5), indicator_id(7)]);
    let request = DeleteRequest {
        collection: "c-1".into(),
        id: indicator_id(7),
        versions: vec![],
        spec_versions: vec![],
    };
    assert_eq!(store.delete_objects(&reader("org-b"), &request).unwrap(), 1);
    let left: i64 = conn
        .query_row("SELECT count(*) FROM intel_observables", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 2);
    assert!(
        store
            .lookup_observable(&reader("org-b"), "203.0.113.7")
            .unwrap()
            .is_empty()
    );
}
