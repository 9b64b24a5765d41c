//! The storage traits: what the node needs from a store, whatever holds the data.

use chrono::{DateTime, Utc};
use shield_event::{Alert, Level};
use uuid::Uuid;

use crate::intel::{
    BulkObject, BulkReport, BulkWrite, Collection, DeleteRequest, IntelWrite, LiveIndicator,
    ObjectPage, ObjectQuery, PutReport, Reader, StatusResource, StoredObject,
};
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

/// Threat intelligence: STIX object versions in collections, with TLP, provenance, revocation and
/// expiry (see [`crate::intel`] for the rules every backend keeps).
///
/// Every read takes a [`Reader`] and returns only the versions its organisation may see under
/// the TLP rule; collection access lists ([`Collection::can_read`]) are the caller's to check.
pub trait IntelStore: Send + Sync {
    /// Creates `collection`, or replaces the title, description, alias and access lists of the
    /// collection with its id.
    fn put_collection(&self, collection: &Collection) -> Result<(), StoreError>;

    /// Creates `collection` unless a collection with its id exists; `true` when created.
    fn ensure_collection(&self, collection: &Collection) -> Result<bool, StoreError>;

    /// Every collection, by id.
    fn collections(&self) -> Result<Vec<Collection>, StoreError>;

    /// The collection with this id or alias.
    fn collection(&self, id_or_alias: &str) -> Result<Option<Collection>, StoreError>;

    /// Stores a batch in one transaction: every object or none. A version already in the
    /// collection (same id and version) is a [`crate::intel::PutOutcome::Duplicate`], not an
    /// error. An unknown collection is [`StoreError::InvalidInput`].
    fn put_objects(&self, write: &IntelWrite) -> Result<PutReport, StoreError>;

    /// Stores a large import into one collection in one transaction: every object or none.
    /// Versions, duplicates, TLP, provenance and `date_added` follow the rules of
    /// [`IntelStore::put_objects`], except that objects may be stored (and given their
    /// `date_added`) in another order than they come in, and that the outcome is counted rather
    /// than listed per object. Objects are taken from `objects` as they are written, so an
    /// import need not be in memory at once; they come as [`BulkObject`]s, made from
    /// [`crate::intel::IncomingObject`]s on the caller's threads. An unknown collection is
    /// [`StoreError::InvalidInput`].
    fn put_bulk(
        &self,
        write: &BulkWrite,
        objects: &mut dyn Iterator<Item = BulkObject>,
    ) -> Result<BulkReport, StoreError>;

    /// One page of the versions matching `query` that `reader` may see, oldest `date_added`
    /// first. `match[version]` `last`/`first` pick among the versions the reader may see.
    fn query_objects(&self, reader: &Reader, query: &ObjectQuery)
    -> Result<ObjectPage, StoreError>;

    /// Deletes the matching versions of one object that `reader` may see and owns (its
    /// organisation wrote them), or that it may see at all when it is an admin. Returns how many.
    fn delete_objects(&self, reader: &Reader, request: &DeleteRequest)
    -> Result<usize, StoreError>;

    /// The status resource with this id, when `reader`'s organisation made the request (it names
    /// the objects' ids and versions, so other organisations, admins included, do not see it).
    fn status(&self, reader: &Reader, id: &str) -> Result<Option<StatusResource>, StoreError>;

    /// The current version (per collection) of every indicator `reader` may see whose simple
    /// pattern looks for `value` (compared in normalised form), revoked and expired ones included.
    fn lookup_observable(
        &self,
        reader: &Reader,
        value: &str,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// Visits the current version of every indicator, once per STIX id across collections, that
    /// is neither revoked nor expired at `now`: the input of the live IOC matcher (its id and
    /// JSON only). Returns how many were visited.
    fn live_indicators(
        &self,
        now: DateTime<Utc>,
        visit: &mut dyn FnMut(LiveIndicator),
    ) -> Result<u64, StoreError>;

    /// A counter that changes whenever stored intel changes (objects added or deleted), so a
    /// reader of [`IntelStore::live_indicators`] knows when to rebuild.
    fn intel_generation(&self) -> Result<u64, StoreError>;
}

/// Everything the node stores. Implemented for every type that implements the parts.
pub trait Store: TokenStore + AlertStore + StatsStore + AuditLog + StateStore + IntelStore {}

impl<T: TokenStore + AlertStore + StatsStore + AuditLog + StateStore + IntelStore> Store for T {}
