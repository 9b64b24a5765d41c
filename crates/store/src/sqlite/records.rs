//! [`StatsStore`], [`AuditLog`] and [`StateStore`] over SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, from_micros, micros, to_i64, to_u64};
use crate::model::{MAX_PAGE, check_audit, check_input_name, check_state};
use crate::{AuditEntry, AuditLog, IngestTotals, InputTotals, StateStore, StatsStore, StoreError};

impl StatsStore for SqliteStore {
    fn add_ingest(
        &self,
        input: &str,
        accepted: u64,
        rejected: u64,
        bytes: u64,
    ) -> Result<(), StoreError> {
        check_input_name(input)?;
        let now = micros(Utc::now());
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO ingest_stats (input, accepted, rejected, bytes, last_seen) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (input) DO UPDATE SET \
                   accepted = accepted + excluded.accepted, \
                   rejected = rejected + excluded.rejected, \
                   bytes = bytes + excluded.bytes, \
                   last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen)",
            )
            .and_then(|mut s| s.execute(params![input, to_i64(accepted), to_i64(rejected), to_i64(bytes), now]))
            .map_err(StoreError::sqlite("add ingest counts"))?;
            Ok(())
        })
    }

    fn ingest_totals(&self) -> Result<IngestTotals, StoreError> {
        type RawRow = (String, i64, i64, i64, Option<i64>);
        let rows: Vec<RawRow> = self.read(|conn| {
            let fail = |e| StoreError::Sqlite {
                op: "read ingest counts",
                source: e,
            };
            let mut stmt = conn
                .prepare_cached("SELECT input, accepted, rejected, bytes, last_seen FROM ingest_stats ORDER BY input")
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .map_err(fail)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(fail)
        })?;
        let mut totals = IngestTotals::default();
        for (input, accepted, rejected, bytes, last_seen) in rows {
            let last_seen = last_seen
                .map(|t| from_micros(t, || format!("ingest counts of {input}")))
                .transpose()?;
            let per = InputTotals {
                input,
                events_ingested: to_u64(accepted),
                events_rejected: to_u64(rejected),
                bytes: to_u64(bytes),
                last_seen,
            };
            totals.events_ingested = totals.events_ingested.saturating_add(per.events_ingested);
            totals.events_rejected = totals.events_rejected.saturating_add(per.events_rejected);
            totals.bytes = totals.bytes.saturating_add(per.bytes);
            totals.per_input.push(per);
        }
        Ok(totals)
    }
}

impl AuditLog for SqliteStore {
    fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let details = check_audit(e)?;
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO audit (time, actor, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![micros(e.time), e.actor, e.action, e.target, details]))
            .map_err(StoreError::sqlite("append audit entry"))?;
            Ok(())
        })
    }

    fn audit_entries(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        type RawRow = (i64, i64, String, String, String, String);
        let since = since.map_or(i64::MIN, micros);
        let limit = limit.min(MAX_PAGE) as i64;
        let rows: Vec<RawRow> = self.read(|conn| {
            let fail = |e| StoreError::Sqlite {
                op: "read audit entries",
                source: e,
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, time, actor, action, target, details FROM audit WHERE time >= ?1 \
                     ORDER BY time DESC, seq DESC LIMIT ?2",
                )
                .map_err(fail)?;
            let rows = stmt
                .query_map(params![since, limit], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(fail)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(fail)
        })?;
        rows.into_iter()
            .map(|(seq, time, actor, action, target, details)| {
                let what = || format!("audit entry {seq}");
                Ok(AuditEntry {
                    time: from_micros(time, what)?,
                    actor,
                    action,
                    target,
                    details: serde_json::from_str(&details).map_err(|e| StoreError::Corrupt {
                        what: what(),
                        reason: e.to_string(),
                    })?,
                })
            })
            .collect()
    }
}

impl StateStore for SqliteStore {
    fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT value FROM state WHERE key = ?1")
                .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
                .map_err(StoreError::sqlite("get state"))
        })
    }

    fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        check_state(key, value)?;
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute([key, value]))
            .map_err(StoreError::sqlite("set state"))?;
            Ok(())
        })
    }
}
