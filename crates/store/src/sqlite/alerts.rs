//! [`AlertStore`] over SQLite: the alert as a JSON body plus the columns queries filter and sort on.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use shield_event::{Alert, Level};
use uuid::Uuid;

use super::{SqliteStore, to_u64};
use crate::cursor::{AlertKey, check_alert_id};
use crate::{AlertPage, AlertQuery, AlertStore, StoreError};

/// The stored integer of a level: its rank, least severe 0.
pub(crate) fn level_code(level: Level) -> i64 {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0) as i64
}

/// An alert ready for insertion: serialised outside the write lock.
struct Row {
    key: AlertKey,
    level: i64,
    rule_id: String,
    kind: &'static str,
    org: Option<String>,
    body: String,
}

impl AlertStore for SqliteStore {
    fn insert_alerts(&self, alerts: &[Alert]) -> Result<usize, StoreError> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let rows = alerts
            .iter()
            .map(|a| {
                check_alert_id(&a.id)?;
                let body = serde_json::to_string(a).map_err(|e| StoreError::InvalidInput {
                    field: "alert",
                    reason: e.to_string(),
                })?;
                Ok(Row {
                    key: AlertKey::of(a),
                    level: level_code(a.rule.level),
                    rule_id: a.rule.id.clone(),
                    kind: a.kind.as_str(),
                    org: a.org.clone(),
                    body,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write(|conn| {
            let fail = StoreError::sqlite("insert alerts");
            let tx = conn.transaction().map_err(StoreError::sqlite("insert alerts"))?;
            let mut inserted = 0;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO alerts (id, created, level, rule_id, kind, org, body) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(StoreError::sqlite("insert alerts"))?;
                for r in &rows {
                    inserted += stmt
                        .execute(params![r.key.id, r.key.created, r.level, r.rule_id, r.kind, r.org, r.body])
                        .map_err(StoreError::sqlite("insert alerts"))?;
                }
            }
            tx.commit().map_err(fail)?;
            Ok(inserted)
        })
    }

    fn get_alert(&self, id: &Uuid) -> Result<Option<Alert>, StoreError> {
        let id = id.hyphenated().to_string();
        let body: Option<String> = self.read(|conn| {
            conn.prepare_cached("SELECT body FROM alerts WHERE id = ?1")
                .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
                .map_err(StoreError::sqlite("get alert"))
        })?;
        body.map(|b| decode(&id, &b)).transpose()
    }

    fn query_alerts(&self, q: &AlertQuery) -> Result<AlertPage, StoreError> {
        let after = q.cursor.as_deref().map(AlertKey::decode).transpose()?;
        let limit = q.effective_limit();
        let mut sql = String::from("SELECT created, id, body FROM alerts WHERE 1");
        let mut args: Vec<Value> = Vec::new();
        let mut cond = |sql_part: &str, value: Value| {
            sql.push_str(sql_part);
            args.push(value);
        };
        if let Some(t) = q.since {
            cond(" AND created >= ?", Value::Integer(t.timestamp_micros()));
        }
        if let Some(t) = q.until {
            cond(" AND created < ?", Value::Integer(t.timestamp_micros()));
        }
        if let Some(l) = q.min_level {
            cond(" AND level >= ?", Value::Integer(level_code(l)));
        }
        if let Some(r) = &q.rule_id {
            cond(" AND rule_id = ?", Value::Text(r.clone()));
        }
        if let Some(k) = q.kind {
            cond(" AND kind = ?", Value::Text(k.as_str().to_owned()));
        }
        if let Some(o) = &q.org {
            cond(" AND org = ?", Value::Text(o.clone()));
        }
        if let Some(key) = &after {
            sql.push_str(" AND (created, id) < (?, ?)");
            args.push(Value::Integer(key.created));
            args.push(Value::Text(key.id.clone()));
        }
        sql.push_str(" ORDER BY created DESC, id DESC LIMIT ?");
        args.push(Value::Integer(limit as i64 + 1));

        let mut rows: Vec<(AlertKey, String)> = self.read(|conn| {
            let fail = |e| StoreError::Sqlite {
                op: "query alerts",
                source: e,
            };
            let mut stmt = conn.prepare_cached(&sql).map_err(fail)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    Ok((
                        AlertKey {
                            created: r.get(0)?,
                            id: r.get(1)?,
                        },
                        r.get(2)?,
                    ))
                })
                .map_err(fail)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(fail)
        })?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|(key, _)| key.encode())
        } else {
            None
        };
        let alerts = rows
            .iter()
            .map(|(key, body)| decode(&key.id, body))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AlertPage {
            alerts,
            next_cursor,
        })
    }

    fn count_alerts(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT coalesce(sum(n), 0) FROM alert_counts", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(to_u64)
            .map_err(StoreError::sqlite("count alerts"))
        })
    }

    fn alert_counts_by_level(&self) -> Result<Vec<(Level, u64)>, StoreError> {
        let counts: Vec<(i64, i64)> = self.read(|conn| {
            let fail = |e| StoreError::Sqlite {
                op: "count alerts by level",
                source: e,
            };
            let mut stmt = conn
                .prepare_cached("SELECT level, n FROM alert_counts")
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(fail)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(fail)
        })?;
        Ok(Level::ALL
            .iter()
            .map(|&level| {
                let n = counts
                    .iter()
                    .find(|(code, _)| *code == level_code(level))
                    .map_or(0, |(_, n)| to_u64(*n));
                (level, n)
            })
            .collect())
    }
}

fn decode(id: &str, body: &str) -> Result<Alert, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        what: format!("alert {id}"),
        reason: e.to_string(),
    })
}
