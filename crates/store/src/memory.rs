//! [`MemoryStore`]: the store traits over plain collections.
//!
//! It exists for two reasons: it proves that callers depend on the traits only (the shared test suite
//! passes on it and on SQLite alike), and it gives tests of other crates a store with no files.
//! Nothing is persisted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use shield_event::{Alert, Level};
use uuid::Uuid;

use crate::cursor::{AlertKey, check_alert_id, stored_alert_id};
use crate::model::{MAX_PAGE, check_audit, check_input_name, check_state};
use crate::token::{
    check_imported_secret, check_token_fields, generate_secret, hash_secret, new_token_info,
    now_micros, plausible_secret,
};
use crate::{
    AlertPage, AlertQuery, AlertStore, AuditEntry, AuditLog, IngestTotals, InputTotals, Role,
    StateStore, StatsStore, StoreError, TokenInfo, TokenStore,
};

/// A [`crate::Store`] in memory, gone when dropped.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    /// Threat intelligence (`crate::intel`).
    pub(crate) intel: RwLock<crate::intel::memory::MemoryIntel>,
}

#[derive(Default)]
struct Inner {
    /// Tokens in creation order, with the hash of their secret.
    tokens: Vec<(TokenInfo, [u8; 32])>,
    /// Alerts by sort key.
    alerts: BTreeMap<AlertKey, Alert>,
    /// Sort key of each stored alert id.
    alert_keys: HashMap<String, AlertKey>,
    stats: BTreeMap<String, InputTotals>,
    audit: Vec<AuditEntry>,
    state: HashMap<String, String>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

impl TokenStore for MemoryStore {
    fn create_token(
        &self,
        name: &str,
        role: Role,
        org: Option<&str>,
    ) -> Result<(TokenInfo, String), StoreError> {
        check_token_fields(name, org)?;
        let secret = generate_secret()?;
        let info = new_token_info(name, role, org);
        self.inner
            .write()
            .tokens
            .push((info.clone(), hash_secret(&secret)));
        Ok((info, secret))
    }

    fn import_token(
        &self,
        name: &str,
        role: Role,
        org: Option<&str>,
        secret: &str,
    ) -> Result<TokenInfo, StoreError> {
        check_token_fields(name, org)?;
        check_imported_secret(secret)?;
        let hash = hash_secret(secret);
        let mut inner = self.inner.write();
        if let Some((existing, _)) = inner.tokens.iter().find(|(_, h)| *h == hash) {
            return Ok(existing.clone());
        }
        let info = new_token_info(name, role, org);
        inner.tokens.push((info.clone(), hash));
        Ok(info)
    }

    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !plausible_secret(secret) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        let inner = self.inner.read();
        Ok(inner
            .tokens
            .iter()
            .find(|(info, h)| *h == hash && !info.revoked)
            .map(|(info, _)| info.clone()))
    }

    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut tokens: Vec<TokenInfo> = self
            .inner
            .read()
            .tokens
            .iter()
            .map(|(i, _)| i.clone())
            .collect();
        tokens.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(tokens)
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.write();
        match inner.tokens.iter_mut().find(|(info, _)| info.id == id) {
            Some((info, _)) => {
                info.revoked = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn count_tokens(&self, role: Option<Role>) -> Result<u64, StoreError> {
        let inner = self.inner.read();
        let n = inner
            .tokens
            .iter()
            .filter(|(info, _)| !info.revoked && role.is_none_or(|r| info.role == r))
            .count();
        Ok(n as u64)
    }
}

impl AlertStore for MemoryStore {
    fn insert_alerts(&self, alerts: &[Alert]) -> Result<usize, StoreError> {
        for a in alerts {
            check_alert_id(&a.id)?;
        }
        let mut inner = self.inner.write();
        let mut inserted = 0;
        for a in alerts {
            let key = AlertKey::of(a);
            if inner.alert_keys.contains_key(&key.id) {
                continue;
            }
            inner.alert_keys.insert(key.id.clone(), key.clone());
            inner.alerts.insert(key, a.clone());
            inserted += 1;
        }
        Ok(inserted)
    }

    fn get_alert(&self, id: &Uuid) -> Result<Option<Alert>, StoreError> {
        let inner = self.inner.read();
        let id = stored_alert_id(&id.to_string());
        Ok(inner
            .alert_keys
            .get(&id)
            .and_then(|key| inner.alerts.get(key))
            .cloned())
    }

    fn query_alerts(&self, q: &AlertQuery) -> Result<AlertPage, StoreError> {
        let after = q.cursor.as_deref().map(AlertKey::decode).transpose()?;
        let limit = q.effective_limit();
        let inner = self.inner.read();
        let below = match &after {
            Some(key) => inner.alerts.range(..key.clone()),
            None => inner.alerts.range(..),
        };
        let mut page: Vec<(&AlertKey, &Alert)> = below
            .rev()
            .filter(|(_, a)| q.matches(a))
            .take(limit + 1)
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let next_cursor = if more {
            page.last().map(|(key, _)| key.encode())
        } else {
            None
        };
        Ok(AlertPage {
            alerts: page.into_iter().map(|(_, a)| a.clone()).collect(),
            next_cursor,
        })
    }

    fn count_alerts(&self) -> Result<u64, StoreError> {
        Ok(self.inner.read().alerts.len() as u64)
    }

    fn alert_counts_by_level(&self) -> Result<Vec<(Level, u64)>, StoreError> {
        let inner = self.inner.read();
        Ok(Level::ALL
            .iter()
            .map(|&level| {
                let n = inner
                    .alerts
                    .values()
                    .filter(|a| a.rule.level == level)
                    .count();
                (level, n as u64)
            })
            .collect())
    }
}

impl StatsStore for MemoryStore {
    fn add_ingest(
        &self,
        input: &str,
        accepted: u64,
        rejected: u64,
        bytes: u64,
    ) -> Result<(), StoreError> {
        check_input_name(input)?;
        let mut inner = self.inner.write();
        let entry = inner
            .stats
            .entry(input.to_owned())
            .or_insert_with(|| InputTotals {
                input: input.to_owned(),
                events_ingested: 0,
                events_rejected: 0,
                bytes: 0,
                last_seen: None,
            });
        entry.events_ingested = entry.events_ingested.saturating_add(accepted);
        entry.events_rejected = entry.events_rejected.saturating_add(rejected);
        entry.bytes = entry.bytes.saturating_add(bytes);
        let now = now_micros();
        entry.last_seen = Some(entry.last_seen.map_or(now, |t| t.max(now)));
        Ok(())
    }

    fn ingest_totals(&self) -> Result<IngestTotals, StoreError> {
        let inner = self.inner.read();
        let mut totals = IngestTotals::default();
        for per in inner.stats.values() {
            totals.events_ingested = totals.events_ingested.saturating_add(per.events_ingested);
            totals.events_rejected = totals.events_rejected.saturating_add(per.events_rejected);
            totals.bytes = totals.bytes.saturating_add(per.bytes);
            totals.per_input.push(per.clone());
        }
        Ok(totals)
    }
}

impl AuditLog for MemoryStore {
    fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        check_audit(e)?;
        let mut entry = e.clone();
        entry.time = DateTime::from_timestamp_micros(e.time.timestamp_micros()).unwrap_or(e.time);
        self.inner.write().audit.push(entry);
        Ok(())
    }

    fn audit_entries(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.inner.read();
        // Entries in append order; newest first is by time, then by append order.
        let mut entries: Vec<(usize, &AuditEntry)> = inner
            .audit
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                since.is_none_or(|s| e.time.timestamp_micros() >= s.timestamp_micros())
            })
            .collect();
        entries.sort_by(|(ia, a), (ib, b)| {
            (b.time.timestamp_micros(), ib).cmp(&(a.time.timestamp_micros(), ia))
        });
        Ok(entries
            .into_iter()
            .take(limit.min(MAX_PAGE))
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl StateStore for MemoryStore {
    fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.inner.read().state.get(key).cloned())
    }

    fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError> {
        check_state(key, value)?;
        self.inner
            .write()
            .state
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }
}
