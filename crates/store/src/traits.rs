//! The storage traits: what the node needs from a store, whatever holds the data.

use chrono::{DateTime, Utc};
use shield_event::{Alert, Level};
use uuid::Uuid;

use crate::{AlertPage, AlertQuery, AuditEntry, IngestTotals, Role, StoreError, TokenInfo};

/// API tokens. Only a SHA-256 of each secret is kept, so a copy of the store reveals no usable token.
pub trait TokenStore: Send + Sync {
    /// Creates a token and returns it with its secret (`shd_` followed by 43 base64url characters of
    /// 32 random bytes). The secret is shown this once: it cannot be read back.
    fn create_token(
        &self,
        name: &str,
        role: Role,
        org: Option<&str>,
    ) -> Result<(TokenInfo, String), StoreError>;

    /// Registers a secret chosen by the operator (the bootstrap admin token). If a token with this
    /// secret exists already, it is returned unchanged (a revoked one stays revoked).
    fn import_token(
        &self,
        name: &str,
        role: Role,
        org: Option<&str>,
        secret: &str,
    ) -> Result<TokenInfo, StoreError>;

    /// The token with this secret, or `None` when it is unknown or revoked.
    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError>;

    /// Every token, revoked ones included, oldest first.
    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes the token with this id; `false` when there is none. Revoking twice is not an error.
    fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;

    /// How many tokens are not revoked, of `role` or of any role.
    fn count_tokens(&self, role: Option<Role>) -> Result<u64, StoreError>;
}

/// Alerts, queried newest first with keyset pagination.
pub trait AlertStore: Send + Sync {
    /// Stores alerts in one transaction; alerts whose id is already stored are skipped. Returns how
    /// many were new.
    fn insert_alerts(&self, alerts: &[Alert]) -> Result<usize, StoreError>;

    /// The alert with this id.
    fn get_alert(&self, id: &Uuid) -> Result<Option<Alert>, StoreError>;

    /// One page of the alerts matching `q`, newest first by (`created`, `id`). Pass the page's
    /// `next_cursor` back in `q.cursor` (with the same filters) for the next page; alerts inserted
    /// meanwhile never make a page repeat or skip an alert. A cursor the store did not issue is
    /// [`StoreError::InvalidCursor`].
    fn query_alerts(&self, q: &AlertQuery) -> Result<AlertPage, StoreError>;

    /// How many alerts are stored.
    fn count_alerts(&self) -> Result<u64, StoreError>;

    /// How many alerts are stored per level: every level, least severe first.
    fn alert_counts_by_level(&self) -> Result<Vec<(Level, u64)>, StoreError>;
}

/// Ingest counters, per input.
pub trait StatsStore: Send + Sync {
    /// Adds one batch's counts to `input`'s totals and marks the input seen now.
    fn add_ingest(
        &self,
        input: &str,
        accepted: u64,
        rejected: u64,
        bytes: u64,
    ) -> Result<(), StoreError>;

    /// Totals over all inputs and per input (by input name).
    fn ingest_totals(&self) -> Result<IngestTotals, StoreError>;
}

/// The audit trail of administrative actions. Append-only.
pub trait AuditLog: Send + Sync {
    /// Records an action.
    fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries (at most [`crate::MAX_PAGE`]) at or after `since`, newest first.
    fn audit_entries(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Small named values the node persists across restarts (feed cursors, last poll times).
pub trait StateStore: Send + Sync {
    /// The value under `key`.
    fn get_state(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets the value under `key`, replacing any previous one.
    fn set_state(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// Everything the node stores. Implemented for every type that implements the parts.
pub trait Store: TokenStore + AlertStore + StatsStore + AuditLog + StateStore {}

impl<T: TokenStore + AlertStore + StatsStore + AuditLog + StateStore> Store for T {}
