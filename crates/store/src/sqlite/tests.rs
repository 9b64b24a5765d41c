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
