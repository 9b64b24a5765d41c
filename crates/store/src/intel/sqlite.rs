//! [`IntelStore`] over SQLite.
//!
//! Object versions are rows of `intel_objects` with the JSON as received in `body` (see
//! [`super::body`]). Collections and provenance (source and owner organisation) are numbered
//! (`intel_collections.num`, `intel_sources.num`) and rows refer to them by number. Pages are cut
//! on `(collection, date_added)` (a unique index); `match[version]` `last`/`first` are correlated
//! subqueries over the unique `(id, version_us, collection)` index restricted to the versions the
//! reader may see, and the TLP rule is one SQL fragment ([`visible`]) present in every read.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use super::body;
use super::cursor;
use super::model::{
    BulkObject, BulkReport, BulkWrite, Collection, CollectionAccess, DeleteRequest, Grant,
    IntelWrite, LiveIndicator, ObjectPage, ObjectQuery, Provenance, PutOutcome, PutReport, Reader,
    StatusResource, StoredObject, VersionMatch, taxii_timestamp,
};
use super::record::{
    check_text, check_write, from_micros, lookup_keys, next_date_added, observable_values, prepare,
    tlp_from_rank, tlp_rank,
};
use super::status::build_status;
use crate::{IntelStore, Role, SqliteStore, StoreError};
use shield_intel::stix::StixObject;

/// Indicator ids lie strictly between these two texts (`indicator--<uuid>`; `.` follows `-`).
const INDICATOR_IDS: &str = "indicator--";
const INDICATOR_IDS_END: &str = "indicator-.";

/// Most indicators one observable lookup returns.
const MAX_LOOKUP: usize = 1000;

/// The columns of a [`StoredObject`], body excluded, over [`FROM_OBJECTS`].
const COLUMNS: &str = "c.id, o.id, o.type, o.spec_version, o.version, o.date_added, o.tlp, \
                       p.org, p.source, o.received, o.revoked, o.valid_until";

/// Object versions `o` with their collection `c` and provenance `p`.
const FROM_OBJECTS: &str = "intel_objects o JOIN intel_collections c ON c.num = o.collection \
                            JOIN intel_sources p ON p.num = o.source";

/// The number of the collection whose id is parameter `id`, in SQL.
fn collection_num(id: &str) -> String {
    format!("(SELECT num FROM intel_collections WHERE id = {id})")
}

/// Positional parameters collected while a statement is built.
#[derive(Default)]
struct Params(Vec<SqlValue>);

impl Params {
    /// Adds a value and returns its placeholder.
    fn push(&mut self, value: impl Into<SqlValue>) -> String {
        self.0.push(value.into());
        format!("?{}", self.0.len())
    }

    /// `IN (?a, ?b, …)` over `values`.
    fn list(&mut self, values: &[String]) -> String {
        let marks: Vec<String> = values.iter().map(|v| self.push(v.clone())).collect();
        format!("IN ({})", marks.join(", "))
    }
}

/// The TLP rule in SQL for the row alias `a`, the reader's organisation being parameter `org`.
pub(super) fn visible(a: &str, org: &str) -> String {
    format!(
        "({a}.tlp <= 1 OR {a}.source IN (SELECT num FROM intel_sources WHERE org = {org}) OR \
         EXISTS (SELECT 1 FROM intel_shares s WHERE s.seq = {a}.seq AND s.org = {org}))"
    )
}

fn read_stored(row: &Row<'_>) -> rusqlite::Result<RawStored> {
    Ok(RawStored {
        collection: row.get(0)?,
        id: row.get(1)?,
        type_name: row.get(2)?,
        spec_version: row.get(3)?,
        version: row.get(4)?,
        date_added: row.get(5)?,
        tlp: row.get(6)?,
        owner_org: row.get(7)?,
        source: row.get(8)?,
        received: row.get(9)?,
        revoked: row.get(10)?,
        valid_until: row.get(11)?,
        body: match row.get_ref(12)? {
            rusqlite::types::ValueRef::Null => None,
            value => Some(body::read(value)?),
        },
    })
}

/// A row as read, before its times and TLP are checked.
struct RawStored {
    collection: String,
    id: String,
    type_name: String,
    spec_version: String,
    version: String,
    date_added: i64,
    tlp: i64,
    owner_org: String,
    source: String,
    received: i64,
    revoked: i64,
    valid_until: Option<i64>,
    body: Option<String>,
}

impl RawStored {
    fn decode(self) -> Result<StoredObject, StoreError> {
        let what = format!("intel object {} {}", self.id, self.version);
        Ok(StoredObject {
            date_added: from_micros(self.date_added, &what)?,
            tlp: tlp_from_rank(self.tlp, &what)?,
            received: from_micros(self.received, &what)?,
            valid_until: self
                .valid_until
                .map(|us| from_micros(us, &what))
                .transpose()?,
            collection: self.collection,
            id: self.id,
            type_name: self.type_name,
            spec_version: self.spec_version,
            version: self.version,
            owner_org: self.owner_org,
            source: self.source,
            revoked: self.revoked != 0,
            json: self.body,
        })
    }
}

fn grants_json(grants: &[Grant]) -> Result<String, StoreError> {
    serde_json::to_string(grants).map_err(|e| StoreError::InvalidInput {
        field: "collection grants",
        reason: e.to_string(),
    })
}

fn grants_from(json: &str, what: &str) -> Result<Vec<Grant>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

fn check_collection(c: &Collection) -> Result<(), StoreError> {
    check_text("collection id", &c.id)?;
    check_text("collection title", &c.title)?;
    if let Some(alias) = &c.alias {
        check_text("collection alias", alias)?;
    }
    Ok(())
}

fn collection_row(row: &Row<'_>) -> rusqlite::Result<(Collection, String, String)> {
    Ok((
        Collection {
            id: row.get(0)?,
            alias: row.get(1)?,
            title: row.get(2)?,
            description: row.get(3)?,
            access: CollectionAccess::default(),
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn decode_collection(
    (mut c, read, write): (Collection, String, String),
) -> Result<Collection, StoreError> {
    let what = format!("collection {}", c.id);
    c.access.read = grants_from(&read, &what)?;
    c.access.write = grants_from(&write, &what)?;
    Ok(c)
}

/// A constraint violation (a second collection with the same alias) as the caller's error.
fn alias_conflict(source: rusqlite::Error) -> StoreError {
    match source {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::InvalidInput {
                field: "collection alias",
                reason: "another collection has this alias".into(),
            }
        }
        source => StoreError::Sqlite {
            op: "store collection",
            source,
        },
    }
}

const COLLECTION_SQL: &str =
    "SELECT id, alias, title, description, read_grants, write_grants FROM intel_collections";

/// The number and the newest `date_added` of the collection `id`, for a write into it.
pub(super) fn collection_for_write(conn: &Connection, id: &str) -> Result<(i64, i64), StoreError> {
    conn.query_row(
        "SELECT num, last_added FROM intel_collections WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(StoreError::sqlite("store intel objects"))?
    .ok_or_else(|| StoreError::InvalidInput {
        field: "collection",
        reason: format!("no collection {id}"),
    })
}

/// The number of `provenance`'s source and organisation, numbered on first use.
pub(super) fn source_num(conn: &Connection, provenance: &Provenance) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO intel_sources (source, org) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![provenance.source, provenance.org],
    )
    .map_err(StoreError::sqlite("store provenance"))?;
    conn.query_row(
        "SELECT num FROM intel_sources WHERE source = ?1 AND org = ?2",
        params![provenance.source, provenance.org],
        |r| r.get(0),
    )
    .map_err(StoreError::sqlite("store provenance"))
}

/// Deletes the observable values of the version `seq`: those its body derives (by their key),
/// or, when the body no longer reads as a STIX object, every row of `seq` (a full scan).
fn delete_observables(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    let fail = StoreError::sqlite("delete intel objects");
    let json: Option<String> = conn
        .query_row(
            "SELECT body FROM intel_objects WHERE seq = ?1",
            [seq],
            |r| body::read(r.get_ref(0)?),
        )
        .optional()
        .map_err(fail)?;
    let object = json.and_then(|j| StixObject::from_json(j.as_bytes()).ok());
    match object {
        Some(object) => {
            for value in observable_values(&object) {
                conn.execute(
                    "DELETE FROM intel_observables WHERE value = ?1 AND seq = ?2",
                    params![value, seq],
                )
                .map_err(StoreError::sqlite("delete intel objects"))?;
            }
        }
        None => {
            conn.execute("DELETE FROM intel_observables WHERE seq = ?1", [seq])
                .map_err(StoreError::sqlite("delete intel objects"))?;
        }
    }
    Ok(())
}

/// The `seq` of the current version of each indicator id, ascending: its newest version (of
/// several collections' copies of it, the first stored). Read from the `(id, version_us,
/// collection)` index alone.
fn current_indicator_versions(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, version_us, seq FROM intel_objects WHERE id > '{INDICATOR_IDS}' AND \
         id < '{INDICATOR_IDS_END}' ORDER BY id, version_us"
    ))?;
    let mut rows = stmt.query([])?;
    let mut current = Vec::new();
    // The id being read, its newest version and that version's first seq.
    let mut group: Option<(String, i64, i64)> = None;
    while let Some(row) = rows.next()? {
        let id = row.get_ref(0)?.as_str()?;
        let (version_us, seq): (i64, i64) = (row.get(1)?, row.get(2)?);
        match &mut group {
            Some((group_id, newest, first)) if group_id == id => {
                if version_us > *newest || (version_us == *newest && seq < *first) {
                    (*newest, *first) = (version_us, seq);
                }
            }
            _ => {
                if let Some((_, _, seq)) = group.take() {
                    current.push(seq);
                }
                group = Some((id.to_owned(), version_us, seq));
            }
        }
    }
    if let Some((_, _, seq)) = group {
        current.push(seq);
    }
    current.sort_unstable();
    Ok(current)
}

/// Visits the versions `current` (ascending `seq`) that are neither revoked nor expired at
/// `now` (µs), reading the table in storage order.
fn visit_live(
    conn: &Connection,
    current: &[i64],
    now: i64,
    visit: &mut dyn FnMut(LiveIndicator),
) -> rusqlite::Result<u64> {
    let Some(first) = current.first() else {
        return Ok(0);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT seq, revoked, valid_until, id, body FROM intel_objects WHERE seq >= ?1 \
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([first])?;
    let mut wanted = current.iter().copied().peekable();
    let mut visited = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        while wanted.next_if(|w| *w < seq).is_some() {}
        if wanted.next_if_eq(&seq).is_none() {
            if wanted.peek().is_none() {
                break;
            }
            continue;
        }
        let revoked: bool = row.get(1)?;
        let valid_until: Option<i64> = row.get(2)?;
        if revoked || valid_until.is_some_and(|t| t <= now) {
            continue;
        }
        visit(LiveIndicator {
            id: row.get(3)?,
            json: body::read(row.get_ref(4)?)?,
        });
        visited += 1;
    }
    Ok(visited)
}

fn bump_generation(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE intel_meta SET value = value + 1 WHERE key = 'generation'",
        [],
    )
    .map_err(StoreError::sqlite("count intel change"))?;
    Ok(())
}

impl IntelStore for SqliteStore {
    fn put_collection(&self, c: &Collection) -> Result<(), StoreError> {
        check_collection(c)?;
        let (read, write) = (grants_json(&c.access.read)?, grants_json(&c.access.write)?);
        self.write(|conn| {
            conn.execute(
                "INSERT INTO intel_collections (id, alias, title, description, read_grants, \
                 write_grants) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET \
                 alias = excluded.alias, title = excluded.title, description = \
                 excluded.description, read_grants = excluded.read_grants, write_grants = \
                 excluded.write_grants",
                params![c.id, c.alias, c.title, c.description, read, write],
            )
            .map_err(alias_conflict)?;
            Ok(())
        })
    }

    fn ensure_collection(&self, c: &Collection) -> Result<bool, StoreError> {
        check_collection(c)?;
        let (read, write) = (grants_json(&c.access.read)?, grants_json(&c.access.write)?);
        self.write(|conn| {
            let n = conn
                .execute(
                    "INSERT INTO intel_collections (id, alias, title, description, read_grants, \
                     write_grants) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    params![c.id, c.alias, c.title, c.description, read, write],
                )
                .map_err(alias_conflict)?;
            Ok(n == 1)
        })
    }

    fn collections(&self) -> Result<Vec<Collection>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!("{COLLECTION_SQL} ORDER BY id"))
                .map_err(StoreError::sqlite("list collections"))?;
            let rows = stmt
                .query_map([], collection_row)
                .map_err(StoreError::sqlite("list collections"))?;
            rows.map(|r| decode_collection(r.map_err(StoreError::sqlite("list collections"))?))
                .collect()
        })
    }

    fn collection(&self, key: &str) -> Result<Option<Collection>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                &format!("{COLLECTION_SQL} WHERE id = ?1 OR alias = ?1 ORDER BY id = ?1 DESC"),
                [key],
                collection_row,
            )
            .optional()
            .map_err(StoreError::sqlite("read collection"))?
            .map(decode_collection)
            .transpose()
        })
    }

    fn put_objects(&self, write: &IntelWrite) -> Result<PutReport, StoreError> {
        check_write(write)?;
        let prepared: Vec<_> = write
            .objects
            .iter()
            .map(|o| prepare(o, &write.provenance))
            .collect();
        let p = &write.provenance;
        let received = write.received.timestamp_micros();
        self.write(|conn| {
            let fail = StoreError::sqlite("store intel objects");
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite("store intel objects"))?;
            let (collection, mut last) = collection_for_write(&tx, &write.collection)?;
            let source = source_num(&tx, p)?;
            let mut outcomes = Vec::with_capacity(prepared.len());
            {
                let mut find_version = tx
                    .prepare_cached(
                        "SELECT version FROM intel_objects WHERE id = ?2 AND +collection = ?1 \
                         AND (?3 IS NULL OR version_us = ?3) LIMIT 1",
                    )
                    .map_err(StoreError::sqlite("store intel objects"))?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO intel_objects (collection, id, type, spec_version, version, \
                         version_us, date_added, tlp, source, received, revoked, valid_until, \
                         body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    )
                    .map_err(StoreError::sqlite("store intel objects"))?;
                let mut share = tx
                    .prepare_cached("INSERT OR IGNORE INTO intel_shares (seq, org) VALUES (?1, ?2)")
                    .map_err(StoreError::sqlite("store intel objects"))?;
                let mut observable = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO intel_observables (value, seq) VALUES (?1, ?2)",
                    )
                    .map_err(StoreError::sqlite("store intel objects"))?;
                for o in &prepared {
                    let version_us = o.version.map(|(_, us)| us);
                    let existing: Option<String> = find_version
                        .query_row(params![collection, o.id, version_us], |r| r.get(0))
                        .optional()
                        .map_err(StoreError::sqlite("store intel objects"))?;
                    if let Some(version) = existing {
                        outcomes.push((o.id.to_owned(), version, PutOutcome::Duplicate));
                        continue;
                    }
                    let date_added = next_date_added(write.received, last);
                    last = date_added;
                    let (version, version_us) = match o.version {
                        Some((text, us)) => (text.to_owned(), us),
                        None => (
                            taxii_timestamp(from_micros(date_added, "date_added")?),
                            date_added,
                        ),
                    };
                    insert
                        .execute(params![
                            collection,
                            o.id,
                            o.type_name,
                            o.spec_version,
                            version,
                            version_us,
                            date_added,
                            tlp_rank(o.tlp),
                            source,
                            received,
                            o.revoked,
                            o.valid_until,
                            body::pack(o.json),
                        ])
                        .map_err(StoreError::sqlite("store intel objects"))?;
                    let seq = tx.last_insert_rowid();
                    for org in &p.shared_with {
                        share
                            .execute(params![seq, org])
                            .map_err(StoreError::sqlite("store intel objects"))?;
                    }
                    for value in o.observables {
                        observable
                            .execute(params![value, seq])
                            .map_err(StoreError::sqlite("store intel objects"))?;
                    }
                    let date_added = from_micros(date_added, "date_added")?;
                    outcomes.push((o.id.to_owned(), version, PutOutcome::Added { date_added }));
                }
            }
            tx.execute(
                "UPDATE intel_collections SET last_added = ?1 WHERE num = ?2",
                params![last, collection],
            )
            .map_err(fail)?;
            if outcomes
                .iter()
                .any(|(_, _, o)| matches!(o, PutOutcome::Added { .. }))
            {
                bump_generation(&tx)?;
            }
            let status = match &write.status_id {
                Some(id) => {
                    let status = build_status(id, write.received, &outcomes);
                    let body =
                        serde_json::to_string(&status).map_err(|e| StoreError::InvalidInput {
                            field: "status",
                            reason: e.to_string(),
                        })?;
                    tx.execute(
                        "INSERT INTO intel_status (id, org, created, body) VALUES (?1, ?2, ?3, ?4)",
                        params![id, p.org, received, body],
                    )
                    .map_err(StoreError::sqlite("store status"))?;
                    Some(status)
                }
                None => None,
            };
            tx.commit()
                .map_err(StoreError::sqlite("store intel objects"))?;
            Ok(PutReport { outcomes, status })
        })
    }

    fn put_bulk(
        &self,
        write: &BulkWrite,
        objects: &mut dyn Iterator<Item = BulkObject>,
    ) -> Result<BulkReport, StoreError> {
        super::sqlite_bulk::put_bulk(self, write, objects)
    }

    fn query_objects(&self, reader: &Reader, q: &ObjectQuery) -> Result<ObjectPage, StoreError> {
        let limit = q.effective_limit();
        let mut after = q.added_after.map_or(i64::MIN, |t| t.timestamp_micros());
        if let Some(next) = &q.next {
            after = after.max(cursor::decode(next)?);
        }
        let mut ps = Params::default();
        let collection = ps.push(q.collection.clone());
        let org = ps.push(reader.org.clone());
        let after = ps.push(after);
        // With ids to look for, the (id, version_us, collection) index finds the few versions
        // and they are sorted; otherwise the (collection, date_added) index serves the page in
        // order. The unary `+` keeps the planner off the date index when ids are given.
        let (date, in_collection) = if q.ids.is_empty() {
            ("o.date_added", "o.collection")
        } else {
            ("+o.date_added", "+o.collection")
        };
        let mut sql = format!(
            "SELECT {COLUMNS}, {body} FROM {FROM_OBJECTS} WHERE {in_collection} = {num} \
             AND {date} > {after} AND {vis}",
            body = if q.with_json { "o.body" } else { "NULL" },
            num = collection_num(&collection),
            vis = visible("o", &org),
        );
        if !q.ids.is_empty() {
            sql += &format!(" AND o.id {}", ps.list(&q.ids));
        }
        if !q.types.is_empty() {
            sql += &format!(" AND o.type {}", ps.list(&q.types));
        }
        let spec_filter = if q.spec_versions.is_empty() {
            String::new()
        } else {
            let list = ps.list(&q.spec_versions);
            sql += &format!(" AND o.spec_version {list}");
            format!(" AND v.spec_version {list}")
        };
        let versions = if q.versions.is_empty() {
            &[VersionMatch::Last][..]
        } else {
            &q.versions[..]
        };
        let mut conditions = Vec::new();
        for v in versions {
            conditions.push(match v {
                VersionMatch::All => "1".to_owned(),
                VersionMatch::Last | VersionMatch::First => format!(
                    "o.version_us = (SELECT {agg}(v.version_us) FROM intel_objects v WHERE \
                     v.id = o.id AND +v.collection = o.collection AND {vis}{spec_filter})",
                    agg = if *v == VersionMatch::Last {
                        "MAX"
                    } else {
                        "MIN"
                    },
                    vis = visible("v", &org),
                ),
                VersionMatch::At(t) => format!("o.version_us = {}", ps.push(t.timestamp_micros())),
            });
        }
        sql += &format!(" AND ({})", conditions.join(" OR "));
        sql += &format!(
            " ORDER BY {date} LIMIT {}",
            ps.push(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        );
        let mut objects = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(StoreError::sqlite("query intel objects"))?;
            let rows = stmt
                .query_map(params_from_iter(ps.0.iter()), read_stored)
                .map_err(StoreError::sqlite("query intel objects"))?;
            rows.map(|r| {
                r.map_err(StoreError::sqlite("query intel objects"))?
                    .decode()
            })
            .collect::<Result<Vec<_>, _>>()
        })?;
        let more = objects.len() > limit;
        objects.truncate(limit);
        let next = more
            .then(|| {
                objects
                    .last()
                    .map(|o| cursor::encode(o.date_added.timestamp_micros()))
            })
            .flatten();
        Ok(ObjectPage {
            objects,
            more,
            next,
        })
    }

    fn delete_objects(&self, reader: &Reader, r: &DeleteRequest) -> Result<usize, StoreError> {
        self.write(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::sqlite("delete intel objects"))?;
            let mut ps = Params::default();
            let collection = ps.push(r.collection.clone());
            let id = ps.push(r.id.clone());
            let org = ps.push(reader.org.clone());
            let mut sql = format!(
                "SELECT o.seq, o.version_us, p.org FROM {FROM_OBJECTS} WHERE \
                 +o.collection = {num} AND o.id = {id} AND {vis}",
                num = collection_num(&collection),
                vis = visible("o", &org)
            );
            if !r.spec_versions.is_empty() {
                sql += &format!(" AND o.spec_version {}", ps.list(&r.spec_versions));
            }
            sql += " ORDER BY o.version_us";
            let candidates: Vec<(i64, i64, String)> = {
                let mut stmt = tx
                    .prepare(&sql)
                    .map_err(StoreError::sqlite("delete intel objects"))?;
                let rows = stmt
                    .query_map(params_from_iter(ps.0.iter()), |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })
                    .map_err(StoreError::sqlite("delete intel objects"))?;
                rows.collect::<Result<_, _>>()
                    .map_err(StoreError::sqlite("delete intel objects"))?
            };
            let (first, last) = (
                candidates.first().map(|c| c.1),
                candidates.last().map(|c| c.1),
            );
            let mut deleted = 0;
            for (seq, version_us, owner) in &candidates {
                let selected = r.versions.is_empty()
                    || r.versions.iter().any(|v| match v {
                        VersionMatch::All => true,
                        VersionMatch::First => first == Some(*version_us),
                        VersionMatch::Last => last == Some(*version_us),
                        VersionMatch::At(t) => t.timestamp_micros() == *version_us,
                    });
                if selected && (reader.role == Role::Admin || *owner == reader.org) {
                    delete_observables(&tx, *seq)?;
                    deleted += tx
                        .execute("DELETE FROM intel_objects WHERE seq = ?1", [seq])
                        .map_err(StoreError::sqlite("delete intel objects"))?;
                }
            }
            if deleted > 0 {
                bump_generation(&tx)?;
            }
            tx.commit()
                .map_err(StoreError::sqlite("delete intel objects"))?;
            Ok(deleted)
        })
    }

    fn status(&self, reader: &Reader, id: &str) -> Result<Option<StatusResource>, StoreError> {
        let found: Option<(String, String)> = self.read(|conn| {
            conn.query_row(
                "SELECT org, body FROM intel_status WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::sqlite("read status"))
        })?;
        let Some((org, body)) = found else {
            return Ok(None);
        };
        if org != reader.org {
            return Ok(None);
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: format!("status {id}"),
                reason: e.to_string(),
            })
    }

    fn lookup_observable(
        &self,
        reader: &Reader,
        value: &str,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let keys = lookup_keys(value);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut ps = Params::default();
        let org = ps.push(reader.org.clone());
        let list = ps.list(&keys);
        let sql = format!(
            "SELECT DISTINCT {COLUMNS}, o.body FROM {FROM_OBJECTS} JOIN intel_observables x ON \
             x.seq = o.seq WHERE x.value {list} AND {vis} AND o.version_us = (SELECT \
             MAX(v.version_us) FROM intel_objects v WHERE v.id = o.id AND +v.collection = \
             o.collection AND {vis_v}) ORDER BY c.id, o.id LIMIT {MAX_LOOKUP}",
            vis = visible("o", &org),
            vis_v = visible("v", &org),
        );
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(StoreError::sqlite("look up observable"))?;
            let rows = stmt
                .query_map(params_from_iter(ps.0.iter()), read_stored)
                .map_err(StoreError::sqlite("look up observable"))?;
            rows.map(|r| {
                r.map_err(StoreError::sqlite("look up observable"))?
                    .decode()
            })
            .collect()
        })
    }

    fn live_indicators(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        visit: &mut dyn FnMut(LiveIndicator),
    ) -> Result<u64, StoreError> {
        self.read(|conn| {
            current_indicator_versions(conn)
                .and_then(|current| visit_live(conn, &current, now.timestamp_micros(), visit))
                .map_err(StoreError::sqlite("read live indicators"))
        })
    }

    fn intel_generation(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .query_row(
                    "SELECT value FROM intel_meta WHERE key = 'generation'",
                    [],
                    |r| r.get(0),
                )
                .map_err(StoreError::sqlite("read intel generation"))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
