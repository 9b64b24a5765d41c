//! The SQLite schema and its versioned migrations.
//!
//! The schema version lives in `PRAGMA user_version`; `MIGRATIONS[i]` takes a database from version
//! `i` to `i + 1`. Each migration runs in its own immediate transaction together with the version
//! bump, so a crash leaves the database at a whole version. Migrations are append-only: a released one
//! is never edited, a change is a new entry. A database whose version is above the newest known one was
//! written by a newer Shield and is refused rather than guessed at. `PRAGMA application_id` marks the
//! file as Shield's, so pointing the node at another program's database fails clearly.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// `PRAGMA application_id` of a Shield database: "SHLD".
pub(crate) const APPLICATION_ID: i64 = 0x5348_4c44;

/// Version 1: tokens, alerts (JSON body plus indexed columns, counts kept by triggers), ingest
/// counters, audit trail, key-value state.
const V1: &str = "
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    org         TEXT,
    created     INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    secret_hash BLOB NOT NULL UNIQUE
) STRICT;

CREATE TABLE alerts (
    id      TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    level   INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    org     TEXT,
    body    TEXT NOT NULL
) STRICT;
CREATE INDEX alerts_by_time ON alerts (created, id);
CREATE INDEX alerts_by_rule ON alerts (rule_id, created, id);
CREATE INDEX alerts_by_org  ON alerts (org, created, id);

CREATE TABLE alert_counts (
    level INTEGER PRIMARY KEY,
    n     INTEGER NOT NULL
) STRICT;
INSERT INTO alert_counts (level, n) VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0);
CREATE TRIGGER alerts_counted AFTER INSERT ON alerts BEGIN
    UPDATE alert_counts SET n = n + 1 WHERE level = NEW.level;
END;
CREATE TRIGGER alerts_uncounted AFTER DELETE ON alerts BEGIN
    UPDATE alert_counts SET n = n - 1 WHERE level = OLD.level;
END;

CREATE TABLE ingest_stats (
    input     TEXT PRIMARY KEY,
    accepted  INTEGER NOT NULL,
    rejected  INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    last_seen INTEGER
) STRICT;

CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    details TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_time ON audit (time);

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
";

/// Version 2: threat intelligence. Collections with access lists and the `date_added` of their
/// newest version; object versions stored verbatim with the columns TAXII queries filter on, TLP,
/// ownership and provenance; explicit sharing; the observable values of simple indicators; TAXII
/// status resources; a change counter for the live matcher.
const V2: &str = "
CREATE TABLE intel_collections (
    id           TEXT PRIMARY KEY,
    alias        TEXT UNIQUE,
    title        TEXT NOT NULL,
    description  TEXT,
    read_grants  TEXT NOT NULL,
    write_grants TEXT NOT NULL,
    last_added   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE intel_objects (
    seq          INTEGER PRIMARY KEY,
    collection   TEXT NOT NULL REFERENCES intel_collections (id),
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    version      TEXT NOT NULL,
    version_us   INTEGER NOT NULL,
    date_added   INTEGER NOT NULL,
    tlp          INTEGER NOT NULL,
    owner_org    TEXT NOT NULL,
    source       TEXT NOT NULL,
    received     INTEGER NOT NULL,
    revoked      INTEGER NOT NULL,
    valid_until  INTEGER,
    body         TEXT NOT NULL,
    UNIQUE (collection, id, version_us)
) STRICT;
CREATE UNIQUE INDEX intel_objects_by_added ON intel_objects (collection, date_added);
CREATE INDEX intel_objects_by_id ON intel_objects (id, version_us);
CREATE INDEX intel_objects_by_type ON intel_objects (type, id);

CREATE TABLE intel_shares (
    seq INTEGER NOT NULL REFERENCES intel_objects (seq) ON DELETE CASCADE,
    org TEXT NOT NULL,
    PRIMARY KEY (seq, org)
) STRICT, WITHOUT ROWID;

CREATE TABLE intel_observables (
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL REFERENCES intel_objects (seq) ON DELETE CASCADE,
    PRIMARY KEY (value, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX intel_observables_by_seq ON intel_observables (seq);

CREATE TABLE intel_status (
    id      TEXT PRIMARY KEY,
    org     TEXT NOT NULL,
    created INTEGER NOT NULL,
    body    TEXT NOT NULL
) STRICT;

CREATE TABLE intel_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO intel_meta (key, value) VALUES ('generation', 0);
";

/// Version 3: leaner intel rows, for imports of millions of indicators. Collections and
/// provenance (source and owner organisation) are numbered, and object versions refer to them
/// by number instead of repeating their text; one unique index on `(id, version_us, collection)`
/// serves both identity and lookups by id (the by-id and by-type indexes are gone: a type's ids
/// share the `<type>--` prefix); the body is `ANY`: JSON text as received, or that text packed
/// (see `intel::body`). Observable values lose their foreign key and by-seq index: the store
/// deletes them with their object. Rows are copied with their `seq`, so nothing else changes.
const V3: &str = "
CREATE TABLE intel_collections_v3 (
    num          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    alias        TEXT UNIQUE,
    title        TEXT NOT NULL,
    description  TEXT,
    read_grants  TEXT NOT NULL,
    write_grants TEXT NOT NULL,
    last_added   INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO intel_collections_v3 (id, alias, title, description, read_grants, write_grants,
    last_added)
SELECT id, alias, title, description, read_grants, write_grants, last_added
FROM intel_collections ORDER BY id;

CREATE TABLE intel_sources (
    num    INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    org    TEXT NOT NULL,
    UNIQUE (source, org)
) STRICT;
INSERT INTO intel_sources (source, org)
SELECT DISTINCT source, owner_org FROM intel_objects ORDER BY source, owner_org;

CREATE TABLE intel_objects_v3 (
    seq          INTEGER PRIMARY KEY,
    collection   INTEGER NOT NULL REFERENCES intel_collections_v3 (num),
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    version      TEXT NOT NULL,
    version_us   INTEGER NOT NULL,
    date_added   INTEGER NOT NULL,
    tlp          INTEGER NOT NULL,
    source       INTEGER NOT NULL REFERENCES intel_sources (num),
    received     INTEGER NOT NULL,
    revoked      INTEGER NOT NULL,
    valid_until  INTEGER,
    body         ANY NOT NULL,
    UNIQUE (id, version_us, collection)
) STRICT;
INSERT INTO intel_objects_v3 (seq, collection, id, type, spec_version, version, version_us,
    date_added, tlp, source, received, revoked, valid_until, body)
SELECT o.seq, c.num, o.id, o.type, o.spec_version, o.version, o.version_us, o.date_added, o.tlp,
    s.num, o.received, o.revoked, o.valid_until, o.body
FROM intel_objects o
JOIN intel_collections_v3 c ON c.id = o.collection
JOIN intel_sources s ON s.source = o.source AND s.org = o.owner_org
ORDER BY o.seq;

CREATE TABLE intel_shares_v3 (
    seq INTEGER NOT NULL REFERENCES intel_objects_v3 (seq) ON DELETE CASCADE,
    org TEXT NOT NULL,
    PRIMARY KEY (seq, org)
) STRICT, WITHOUT ROWID;
INSERT INTO intel_shares_v3 (seq, org) SELECT seq, org FROM intel_shares;

CREATE TABLE intel_observables_v3 (
    value TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (value, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO intel_observables_v3 (value, seq) SELECT value, seq FROM intel_observables;

DROP TABLE intel_observables;
DROP TABLE intel_shares;
DROP TABLE intel_objects;
DROP TABLE intel_collections;
ALTER TABLE intel_collections_v3 RENAME TO intel_collections;
ALTER TABLE intel_objects_v3 RENAME TO intel_objects;
ALTER TABLE intel_shares_v3 RENAME TO intel_shares;
ALTER TABLE intel_observables_v3 RENAME TO intel_observables;
CREATE UNIQUE INDEX intel_objects_by_added ON intel_objects (collection, date_added);
";

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`SCHEMA_VERSION`]; refuses a foreign or newer database.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(StoreError::sqlite("read application id"))?;
    let version = user_version(conn)?;
    if app_id != APPLICATION_ID && (app_id != 0 || version != 0) {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            found: app_id,
        });
    }
    check_not_newer(version)?;
    if app_id == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(StoreError::sqlite("set application id"))?;
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = index as u32 + 1;
        let fail = |source| StoreError::Migration {
            version: target,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let current = user_version(&tx)?;
        check_not_newer(current)?;
        if current >= i64::from(target) {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", target)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

/// `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(StoreError::sqlite("read schema version"))
}

fn check_not_newer(version: i64) -> Result<(), StoreError> {
    if version > i64::from(SCHEMA_VERSION) {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}
