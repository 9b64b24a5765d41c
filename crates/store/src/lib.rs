//! Shield's storage: the traits the node stores through, an embedded SQLite implementation of them,
//! and the append-only compressed event archive.
//!
//! # Design decisions
//!
//! * **Callers see traits, not SQLite.** [`TokenStore`], [`AlertStore`], [`StatsStore`], [`AuditLog`]
//!   and [`StateStore`] (together [`Store`]) say what the node needs; [`SqliteStore`] is the embedded
//!   backend and [`MemoryStore`] a second, trivial one. Both pass one behavioural test suite
//!   (`store_test_suite!`, feature `testsuite`), which is what a future PostgreSQL backend has to pass
//!   too. The traits are synchronous: SQLite calls take microseconds, and async callers run them on a
//!   blocking thread.
//! * **Alerts are JSON plus columns.** The whole [`shield_event::Alert`] is kept as JSON, so the model
//!   can grow without migrations, next to the few columns queries filter and sort on. Pages are cut by
//!   keyset (the (`created`, `id`) of the last alert, in an opaque cursor), never by offset, so paging
//!   stays fast deep into history and consistent while ingest inserts.
//! * **Tokens are stored hashed.** A token secret is 256 random bits; the store keeps its SHA-256 only
//!   and finds a token by that hash, so a stolen database file yields no usable token.
//! * **Schemas and files carry versions.** The database records its schema version and is migrated
//!   forward on open; one from a newer Shield is refused. Archive segments start with a format tag.
//! * **The archive is a log, not a database.** Events are appended in batches, one zstd frame per
//!   batch with its length and CRC-32, to segment files that are sealed by size or age and deleted
//!   whole by retention. After a crash a torn last frame is cut off and everything before it is kept;
//!   a damaged frame elsewhere is reported (file and byte offset) and skipped, never fatal. Each frame
//!   and each sealed segment records the range of receive times it holds, so a time-bounded scan
//!   skips what it does not need without decompressing it.
//! * **The archive doubles as the node's write-ahead journal.** A frame's position (segment number,
//!   byte offset) orders frames in write order; batches are encoded on the caller's thread and
//!   appended by one writer that reports where each frame went, and replay reads whole frames back
//!   from a position (see [`archive::FramePosition`]). Events are written once, before detection,
//!   so they are archived exactly once without a second log to reconcile.
//! * **Intel is kept as received.** STIX object versions are stored verbatim (the JSON text they
//!   arrived as) beside the columns TAXII queries need, and every read applies the TLP rule inside
//!   the query (see [`intel`]), so no caller can forget it.
#![deny(missing_docs)]

pub mod archive;
mod cursor;
mod error;
pub mod intel;
mod memory;
mod model;
mod sqlite;
mod token;
mod traits;

#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use archive::{ArchiveConfig, ArchiveScan, ArchiveStats, EventArchive, RetentionReport};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use model::{
    AlertPage, AlertQuery, AuditEntry, IngestTotals, InputTotals, MAX_KEY_LEN, MAX_PAGE,
    MAX_VALUE_LEN, ParseRoleError, Role, TokenInfo,
};
pub use sqlite::schema::SCHEMA_VERSION;
pub use sqlite::{DB_FILE, SqliteStore};
pub use token::{MAX_NAME_LEN, MAX_SECRET_LEN, SECRET_PREFIX};
pub use traits::{AlertStore, AuditLog, IntelStore, StateStore, StatsStore, Store, TokenStore};
