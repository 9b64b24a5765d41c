//! [`IntelStore::put_bulk`](crate::IntelStore::put_bulk) over SQLite: a large import in one
//! transaction, written in index order.
//!
//! Every index of `intel_objects` but one is keyed by the STIX id, a random UUID, so objects
//! inserted in arrival order touch index pages all over the file, and a million of them rewrite
//! each page many times. The import is therefore read in runs (up to [`RUN_OBJECTS`] objects or
//! [`RUN_BYTES`] of JSON), each run sorted by `(id, version)` and inserted in that order: the
//! id-keyed indexes are written as one sweep per run, `(collection, date_added)` and the table
//! itself append (`date_added` increases in insertion order), and the observable values of a run
//! are sorted and inserted after it, one more sweep. A run keeps only what is written (the JSON
//! text and the columns derived when the objects were made), never the parsed objects.
//!
//! Duplicates are found as by `put_objects`, with two short cuts: within a run, sorted order puts
//! the versions of one id side by side; and the first run into a collection that held nothing
//! asks the database nothing. The whole import is one immediate transaction, so readers keep
//! seeing the store as it was until it commits, and a failure leaves nothing of it. While it
//! runs, the writer's page cache is larger ([`BULK_CACHE_KIB`]).

use rusqlite::{Connection, OptionalExtension, Statement, TransactionBehavior, params};

use super::body;
use super::model::{BulkObject, BulkReport, BulkWrite, taxii_timestamp};
use super::record::{check_text, from_micros, next_date_added, tlp_rank};
use super::sqlite::{collection_for_write, source_num, visible};
use crate::{SqliteStore, StoreError};

/// Most objects sorted and written as one run (a few under test, so the shared test suite
/// exercises imports of several runs).
const RUN_OBJECTS: usize = if cfg!(test) { 3 } else { 250_000 };

/// Most JSON text kept for one run, in bytes.
const RUN_BYTES: usize = 128 << 20;

/// The writer's page cache while an import runs (KiB): the id-keyed indexes of a million objects
/// fit, so each sweep finds the pages the previous one wrote.
const BULK_CACHE_KIB: i64 = 512 << 10;

/// The writer's page cache otherwise (KiB), as the connection is configured.
const NORMAL_CACHE_KIB: i64 = 256 << 10;

/// A failed statement of an import.
fn fail(source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        op: "store intel objects",
        source,
    }
}

/// One object of a run: a [`BulkObject`] with its TLP level under the write's provenance.
struct BulkRow {
    object: BulkObject,
    tlp: i64,
}

impl BulkRow {
    fn version_us(&self) -> Option<i64> {
        self.object.version.as_ref().map(|(_, us)| *us)
    }
}

/// Checks what a bulk write carries besides its objects.
fn check_bulk(write: &BulkWrite) -> Result<(), StoreError> {
    let p = &write.provenance;
    check_text("collection", &write.collection)?;
    check_text("provenance source", &p.source)?;
    check_text("provenance organisation", &p.org)?;
    for org in &p.shared_with {
        check_text("shared_with organisation", org)?;
    }
    Ok(())
}

/// Stores an import (see the module docs).
pub(super) fn put_bulk(
    store: &SqliteStore,
    write: &BulkWrite,
    objects: &mut dyn Iterator<Item = BulkObject>,
) -> Result<BulkReport, StoreError> {
    check_bulk(write)?;
    store.write(|conn| {
        set_cache(conn, BULK_CACHE_KIB)?;
        let result = import(conn, write, objects);
        let restored = set_cache(conn, NORMAL_CACHE_KIB);
        let report = result?;
        restored?;
        // The import's pages are in the write-ahead log (copied into the database by the
        // checkpoint of the commit): truncate the log now rather than leave it as large as the
        // import. A reader in the middle of a read makes this wait or give up, which leaves a
        // large log until the next checkpoint, not a failed import.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(report)
    })
}

fn set_cache(conn: &Connection, kib: i64) -> Result<(), StoreError> {
    conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))
        .map_err(StoreError::sqlite("size the page cache"))
}

/// The statements of an import, prepared once.
struct Statements<'c> {
    /// Whether a version (or, without one, any version) of an id is stored.
    find_version: Statement<'c>,
    /// Whether any version of an id that the owner organisation may see is stored.
    find_id: Statement<'c>,
    insert: Statement<'c>,
    share: Statement<'c>,
    observable: Statement<'c>,
}

fn import(
    conn: &mut Connection,
    write: &BulkWrite,
    objects: &mut dyn Iterator<Item = BulkObject>,
) -> Result<BulkReport, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let (collection, mut last) = collection_for_write(&tx, &write.collection)?;
    let source = source_num(&tx, &write.provenance)?;
    let was_empty: bool = tx
        .query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM intel_objects WHERE collection = ?1)",
            [collection],
            |r| r.get(0),
        )
        .map_err(fail)?;
    let target = Target {
        collection,
        source,
        write,
    };
    let mut report = BulkReport::default();
    {
        let mut st = Statements {
            find_version: tx
                .prepare(
                    "SELECT 1 FROM intel_objects WHERE id = ?2 AND +collection = ?1 \
                     AND (?3 IS NULL OR version_us = ?3) LIMIT 1",
                )
                .map_err(fail)?,
            find_id: tx
                .prepare(&format!(
                    "SELECT 1 FROM intel_objects o WHERE o.id = ?2 AND +o.collection = ?1 AND {} \
                     LIMIT 1",
                    visible("o", "?3")
                ))
                .map_err(fail)?,
            insert: tx
                .prepare(
                    "INSERT INTO intel_objects (collection, id, type, spec_version, version, \
                     version_us, date_added, tlp, source, received, revoked, valid_until, \
                     body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(fail)?,
            share: tx
                .prepare("INSERT OR IGNORE INTO intel_shares (seq, org) VALUES (?1, ?2)")
                .map_err(fail)?,
            observable: tx
                .prepare("INSERT OR IGNORE INTO intel_observables (value, seq) VALUES (?1, ?2)")
                .map_err(fail)?,
        };
        let mut first_run = true;
        loop {
            let run = next_run(objects, write);
            if run.is_empty() {
                break;
            }
            let ask_database = !(was_empty && first_run);
            write_run(&mut st, &target, run, ask_database, &mut last, &mut report)?;
            first_run = false;
        }
    }
    tx.execute(
        "UPDATE intel_collections SET last_added = ?1 WHERE num = ?2",
        params![last, collection],
    )
    .map_err(fail)?;
    if report.added > 0 {
        tx.execute(
            "UPDATE intel_meta SET value = value + 1 WHERE key = 'generation'",
            [],
        )
        .map_err(StoreError::sqlite("count intel change"))?;
    }
    tx.commit().map_err(fail)?;
    Ok(report)
}

/// The next run of objects, sorted by id and version (objects without a version first).
fn next_run(objects: &mut dyn Iterator<Item = BulkObject>, write: &BulkWrite) -> Vec<BulkRow> {
    let mut run = Vec::new();
    let mut bytes = 0;
    while run.len() < RUN_OBJECTS && bytes < RUN_BYTES {
        let Some(object) = objects.next() else {
            break;
        };
        bytes += object.json.len();
        let tlp = tlp_rank(object.marking_tlp.unwrap_or(write.provenance.default_tlp));
        run.push(BulkRow { object, tlp });
    }
    // Stable: among equal keys, the first to come is the one stored.
    run.sort_by(|a, b| (&a.object.id, a.version_us()).cmp(&(&b.object.id, b.version_us())));
    run
}

/// Where a run goes: the collection's and the provenance's numbers.
struct Target<'a> {
    collection: i64,
    source: i64,
    write: &'a BulkWrite,
}

fn write_run(
    st: &mut Statements<'_>,
    target: &Target<'_>,
    run: Vec<BulkRow>,
    ask_database: bool,
    last: &mut i64,
    report: &mut BulkReport,
) -> Result<(), StoreError> {
    let write = target.write;
    let p = &write.provenance;
    let received = write.received.timestamp_micros();
    let mut observables: Vec<(String, i64)> = Vec::new();
    // The versions (µs) stored so far in this run for the id being written.
    let mut group_id: Option<String> = None;
    let mut group: Vec<i64> = Vec::new();
    for row in run {
        let version_us = row.version_us();
        let BulkRow { object, tlp } = row;
        if group_id.as_deref() != Some(object.id.as_str()) {
            group_id = Some(object.id.clone());
            group.clear();
        }
        let repeated = if write.skip_known_ids {
            !group.is_empty()
        } else {
            version_us.map_or(!group.is_empty(), |us| group.contains(&us))
        };
        let stored = repeated
            || (ask_database && {
                let found = if write.skip_known_ids {
                    st.find_id
                        .query_row(params![target.collection, object.id, p.org], |_| Ok(()))
                } else {
                    st.find_version.query_row(
                        params![target.collection, object.id, version_us],
                        |_| Ok(()),
                    )
                };
                found.optional().map_err(fail)?.is_some()
            });
        if stored {
            report.duplicates += 1;
            continue;
        }
        let date_added = next_date_added(write.received, *last);
        *last = date_added;
        let (version, version_us) = match object.version {
            Some((text, us)) => (text, us),
            None => (
                taxii_timestamp(from_micros(date_added, "date_added")?),
                date_added,
            ),
        };
        let seq = st
            .insert
            .insert(params![
                target.collection,
                object.id,
                object.type_name,
                object.spec_version,
                version,
                version_us,
                date_added,
                tlp,
                target.source,
                received,
                object.revoked,
                object.valid_until,
                body::pack(&object.json),
            ])
            .map_err(fail)?;
        for org in &p.shared_with {
            st.share.execute(params![seq, org]).map_err(fail)?;
        }
        observables.extend(object.observables.into_iter().map(|v| (v, seq)));
        group.push(version_us);
        report.added += 1;
    }
    observables.sort_unstable();
    for (value, seq) in &observables {
        st.observable.execute(params![value, seq]).map_err(fail)?;
    }
    Ok(())
}
