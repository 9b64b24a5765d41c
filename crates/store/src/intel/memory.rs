//! [`IntelStore`] over plain collections, for [`crate::MemoryStore`].

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::cursor;
use shield_intel::stix::StixObject;

use super::model::{
    BulkObject, BulkReport, BulkWrite, Collection, DeleteRequest, IncomingObject, IntelWrite,
    LiveIndicator, ObjectPage, ObjectQuery, PutOutcome, PutReport, Reader, StatusResource,
    StoredObject, VersionMatch, taxii_timestamp,
};
use super::record::{check_text, check_write, from_micros, lookup_keys, next_date_added, prepare};
use super::status::build_status;
use crate::{IntelStore, MemoryStore, Role, StoreError};

/// The intel part of a [`MemoryStore`].
#[derive(Default)]
pub(crate) struct MemoryIntel {
    /// Collections by id, with the `date_added` (µs) of their newest version.
    collections: BTreeMap<String, (Collection, i64)>,
    /// Versions per collection id, in `date_added` order.
    objects: HashMap<String, Vec<Row>>,
    /// Status resources by id, with the requester's organisation.
    statuses: HashMap<String, (String, StatusResource)>,
    generation: u64,
}

struct Row {
    stored: StoredObject,
    version_us: i64,
    date_added_us: i64,
    shared_with: Vec<String>,
    observables: Vec<String>,
}

impl Row {
    fn visible_to(&self, reader: &Reader) -> bool {
        reader.may_see(self.stored.tlp, &self.stored.owner_org, &self.shared_with)
    }

    fn served(&self, with_json: bool) -> StoredObject {
        let mut stored = self.stored.clone();
        if !with_json {
            stored.json = None;
        }
        stored
    }
}

/// The oldest and newest version (µs) per object id among `rows` that pass `keep`.
fn version_bounds(rows: &[Row], keep: impl Fn(&Row) -> bool) -> HashMap<&str, (i64, i64)> {
    let mut bounds: HashMap<&str, (i64, i64)> = HashMap::new();
    for row in rows.iter().filter(|r| keep(r)) {
        let entry = bounds
            .entry(row.stored.id.as_str())
            .or_insert((row.version_us, row.version_us));
        entry.0 = entry.0.min(row.version_us);
        entry.1 = entry.1.max(row.version_us);
    }
    bounds
}

fn version_selected(v: &VersionMatch, version_us: i64, bounds: Option<&(i64, i64)>) -> bool {
    match v {
        VersionMatch::All => true,
        VersionMatch::First => bounds.is_some_and(|b| b.0 == version_us),
        VersionMatch::Last => bounds.is_some_and(|b| b.1 == version_us),
        VersionMatch::At(t) => t.timestamp_micros() == version_us,
    }
}

fn check_collection(c: &Collection) -> Result<(), StoreError> {
    check_text("collection id", &c.id)?;
    check_text("collection title", &c.title)?;
    if let Some(alias) = &c.alias {
        check_text("collection alias", alias)?;
    }
    Ok(())
}

impl MemoryIntel {
    fn alias_taken(&self, c: &Collection) -> bool {
        c.alias.as_ref().is_some_and(|alias| {
            self.collections
                .values()
                .any(|(other, _)| other.id != c.id && other.alias.as_ref() == Some(alias))
        })
    }
}

fn alias_conflict() -> StoreError {
    StoreError::InvalidInput {
        field: "collection alias",
        reason: "another collection has this alias".into(),
    }
}

impl IntelStore for MemoryStore {
    fn put_collection(&self, c: &Collection) -> Result<(), StoreError> {
        check_collection(c)?;
        let mut intel = self.intel.write();
        if intel.alias_taken(c) {
            return Err(alias_conflict());
        }
        let last = intel.collections.get(&c.id).map_or(0, |(_, last)| *last);
        intel.collections.insert(c.id.clone(), (c.clone(), last));
        Ok(())
    }

    fn ensure_collection(&self, c: &Collection) -> Result<bool, StoreError> {
        check_collection(c)?;
        let mut intel = self.intel.write();
        if intel.collections.contains_key(&c.id) {
            return Ok(false);
        }
        if intel.alias_taken(c) {
            return Err(alias_conflict());
        }
        intel.collections.insert(c.id.clone(), (c.clone(), 0));
        Ok(true)
    }

    fn collections(&self) -> Result<Vec<Collection>, StoreError> {
        Ok(self
            .intel
            .read()
            .collections
            .values()
            .map(|(c, _)| c.clone())
            .collect())
    }

    fn collection(&self, key: &str) -> Result<Option<Collection>, StoreError> {
        let intel = self.intel.read();
        if let Some((c, _)) = intel.collections.get(key) {
            return Ok(Some(c.clone()));
        }
        Ok(intel
            .collections
            .values()
            .find(|(c, _)| c.alias.as_deref() == Some(key))
            .map(|(c, _)| c.clone()))
    }

    fn put_objects(&self, write: &IntelWrite) -> Result<PutReport, StoreError> {
        check_write(write)?;
        let p = &write.provenance;
        let mut guard = self.intel.write();
        let intel = &mut *guard;
        let Some((_, last_added)) = intel.collections.get(&write.collection) else {
            return Err(StoreError::InvalidInput {
                field: "collection",
                reason: format!("no collection {}", write.collection),
            });
        };
        // Build every new row first, so that a failure leaves the store unchanged.
        let existing = intel.objects.get(&write.collection);
        let mut last = *last_added;
        let mut new_rows: Vec<Row> = Vec::new();
        let mut outcomes = Vec::with_capacity(write.objects.len());
        for incoming in &write.objects {
            let o = prepare(incoming, p);
            let version_us = o.version.map(|(_, us)| us);
            let same =
                |r: &&Row| r.stored.id == o.id && version_us.is_none_or(|v| r.version_us == v);
            let duplicate = existing
                .and_then(|rows| rows.iter().find(same))
                .or_else(|| new_rows.iter().find(same));
            if let Some(row) = duplicate {
                outcomes.push((
                    o.id.to_owned(),
                    row.stored.version.clone(),
                    PutOutcome::Duplicate,
                ));
                continue;
            }
            let date_added_us = next_date_added(write.received, last);
            last = date_added_us;
            let date_added = from_micros(date_added_us, "date_added")?;
            let (version, version_us) = match o.version {
                Some((text, us)) => (text.to_owned(), us),
                None => (taxii_timestamp(date_added), date_added_us),
            };
            outcomes.push((
                o.id.to_owned(),
                version.clone(),
                PutOutcome::Added { date_added },
            ));
            new_rows.push(Row {
                stored: StoredObject {
                    collection: write.collection.clone(),
                    id: o.id.to_owned(),
                    type_name: o.type_name.to_owned(),
                    spec_version: o.spec_version.to_owned(),
                    version,
                    date_added,
                    tlp: o.tlp,
                    owner_org: p.org.clone(),
                    source: p.source.clone(),
                    received: write.received,
                    revoked: o.revoked,
                    valid_until: o
                        .valid_until
                        .map(|us| from_micros(us, "valid_until"))
                        .transpose()?,
                    json: Some(o.json.to_owned()),
                },
                version_us,
                date_added_us,
                shared_with: p.shared_with.clone(),
                observables: o.observables.to_vec(),
            });
        }
        let status = write
            .status_id
            .as_ref()
            .map(|id| build_status(id, write.received, &outcomes));
        if let Some((id, status)) = write.status_id.as_ref().zip(status.as_ref()) {
            if intel.statuses.contains_key(id) {
                return Err(StoreError::InvalidInput {
                    field: "status id",
                    reason: format!("status {id} exists"),
                });
            }
            intel
                .statuses
                .insert(id.clone(), (p.org.clone(), status.clone()));
        }
        if let Some((_, last_added)) = intel.collections.get_mut(&write.collection) {
            *last_added = last;
        }
        if !new_rows.is_empty() {
            intel.generation += 1;
            intel
                .objects
                .entry(write.collection.clone())
                .or_default()
                .extend(new_rows);
        }
        Ok(PutReport { outcomes, status })
    }

    fn put_bulk(
        &self,
        write: &BulkWrite,
        objects: &mut dyn Iterator<Item = BulkObject>,
    ) -> Result<BulkReport, StoreError> {
        // This store keeps parsed objects: read each one back from its JSON.
        let mut objects = objects
            .map(|o| {
                let object = StixObject::from_json(o.json.as_bytes()).map_err(|e| {
                    StoreError::InvalidInput {
                        field: "object",
                        reason: format!("{}: {e}", o.id),
                    }
                })?;
                Ok(IncomingObject::verbatim(object, o.json))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut known_ids = 0;
        if write.skip_known_ids {
            let owner = Reader::new(write.provenance.org.clone(), Role::Admin, "bulk");
            let mut known: HashSet<String> = self
                .intel
                .read()
                .objects
                .get(&write.collection)
                .map(|rows| {
                    rows.iter()
                        .filter(|r| r.visible_to(&owner))
                        .map(|r| r.stored.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            let before = objects.len();
            objects.retain(|o| known.insert(o.object().id().to_owned()));
            known_ids = before - objects.len();
        }
        let report = self.put_objects(&IntelWrite {
            collection: write.collection.clone(),
            objects,
            provenance: write.provenance.clone(),
            received: write.received,
            status_id: None,
        })?;
        Ok(BulkReport {
            added: report.added() as u64,
            duplicates: (known_ids + report.duplicates()) as u64,
        })
    }

    fn query_objects(&self, reader: &Reader, q: &ObjectQuery) -> Result<ObjectPage, StoreError> {
        let limit = q.effective_limit();
        let mut after = q.added_after.map_or(i64::MIN, |t| t.timestamp_micros());
        if let Some(next) = &q.next {
            after = after.max(cursor::decode(next)?);
        }
        let intel = self.intel.read();
        let rows = intel
            .objects
            .get(&q.collection)
            .map_or(&[][..], Vec::as_slice);
        let spec_ok = |r: &Row| {
            q.spec_versions.is_empty() || q.spec_versions.contains(&r.stored.spec_version)
        };
        let bounds = version_bounds(rows, |r| r.visible_to(reader) && spec_ok(r));
        let versions = if q.versions.is_empty() {
            &[VersionMatch::Last][..]
        } else {
            &q.versions[..]
        };
        let mut objects: Vec<StoredObject> = rows
            .iter()
            .filter(|r| {
                r.date_added_us > after
                    && r.visible_to(reader)
                    && spec_ok(r)
                    && (q.ids.is_empty() || q.ids.contains(&r.stored.id))
                    && (q.types.is_empty() || q.types.contains(&r.stored.type_name))
                    && versions.iter().any(|v| {
                        version_selected(v, r.version_us, bounds.get(r.stored.id.as_str()))
                    })
            })
            .take(limit + 1)
            .map(|r| r.served(q.with_json))
            .collect();
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
        let mut intel = self.intel.write();
        let Some(rows) = intel.objects.get_mut(&r.collection) else {
            return Ok(0);
        };
        let candidate = |row: &Row| {
            row.stored.id == r.id
                && row.visible_to(reader)
                && (r.spec_versions.is_empty()
                    || r.spec_versions.contains(&row.stored.spec_version))
        };
        let bounds = version_bounds(rows, candidate).get(r.id.as_str()).copied();
        let before = rows.len();
        rows.retain(|row| {
            let selected = candidate(row)
                && (r.versions.is_empty()
                    || r.versions
                        .iter()
                        .any(|v| version_selected(v, row.version_us, bounds.as_ref())))
                && (reader.role == Role::Admin || row.stored.owner_org == reader.org);
            !selected
        });
        let deleted = before - rows.len();
        if deleted > 0 {
            intel.generation += 1;
        }
        Ok(deleted)
    }

    fn status(&self, reader: &Reader, id: &str) -> Result<Option<StatusResource>, StoreError> {
        Ok(self
            .intel
            .read()
            .statuses
            .get(id)
            .filter(|(org, _)| *org == reader.org)
            .map(|(_, s)| s.clone()))
    }

    fn lookup_observable(
        &self,
        reader: &Reader,
        value: &str,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let keys = lookup_keys(value);
        let intel = self.intel.read();
        let mut found = Vec::new();
        let mut collections: Vec<&String> = intel.objects.keys().collect();
        collections.sort();
        for collection in collections {
            let rows = &intel.objects[collection];
            let bounds = version_bounds(rows, |r| r.visible_to(reader));
            for row in rows {
                let current = bounds
                    .get(row.stored.id.as_str())
                    .is_some_and(|b| b.1 == row.version_us);
                if current
                    && row.visible_to(reader)
                    && row.observables.iter().any(|v| keys.contains(v))
                {
                    found.push(row.served(true));
                }
            }
        }
        found.sort_by(|a, b| (&a.collection, &a.id).cmp(&(&b.collection, &b.id)));
        Ok(found)
    }

    fn live_indicators(
        &self,
        now: DateTime<Utc>,
        visit: &mut dyn FnMut(LiveIndicator),
    ) -> Result<u64, StoreError> {
        let intel = self.intel.read();
        // The newest version of each indicator across collections.
        let mut newest: BTreeMap<&str, &Row> = BTreeMap::new();
        let mut collections: Vec<&String> = intel.objects.keys().collect();
        collections.sort();
        for collection in collections {
            for row in &intel.objects[collection] {
                if row.stored.type_name != "indicator" {
                    continue;
                }
                let entry = newest.entry(row.stored.id.as_str()).or_insert(row);
                if row.version_us > entry.version_us {
                    *entry = row;
                }
            }
        }
        let mut visited = 0;
        for row in newest.into_values() {
            let expired = row.stored.valid_until.is_some_and(|t| t <= now);
            if !row.stored.revoked && !expired {
                visit(LiveIndicator {
                    id: row.stored.id.clone(),
                    json: row.stored.json.clone().unwrap_or_default(),
                });
                visited += 1;
            }
        }
        Ok(visited)
    }

    fn intel_generation(&self) -> Result<u64, StoreError> {
        Ok(self.intel.read().generation)
    }
}
