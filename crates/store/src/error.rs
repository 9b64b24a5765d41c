//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in a store or in the event archive.
///
/// Variants name where: the SQL operation, the file, the segment and byte offset of an archive frame.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed while doing `op`.
    #[error("sqlite: {op}: {source}")]
    Sqlite {
        /// What the store was doing (`insert alerts`, `open database`, …).
        op: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file or directory operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("schema migration to version {version} failed: {source}")]
    Migration {
        /// The version the migration would have reached.
        version: u32,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer Shield: its schema version is unknown to this build.
    #[error(
        "database schema version {found} is newer than the newest this build knows ({supported}); \
         run a newer Shield or restore a backup"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The file is a SQLite database of another application.
    #[error("{}: not a Shield database (application id {found:#x})", path.display())]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
        /// The application id found.
        found: i64,
    },
    /// A pagination cursor that this store did not issue (or that was altered).
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A stored record could not be decoded.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which record (`alert 0190…`, `audit entry 12`, …).
        what: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// An archive frame failed its checks (length, checksum, decompression, JSON).
    #[error("{}: corrupt frame at byte {offset}: {reason}", segment.display())]
    CorruptFrame {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset of the frame (or record's frame) in the segment.
        offset: u64,
        /// What failed.
        reason: String,
    },
    /// An argument the store cannot accept.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("random number generator: {0}")]
    Random(String),
}

impl StoreError {
    /// Whether the caller's request was at fault (a bad cursor or argument), not the store: an API
    /// answers these with 400, the rest with 500.
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            StoreError::InvalidCursor(_) | StoreError::InvalidInput { .. }
        )
    }

    /// A [`StoreError::Sqlite`] for `op`; for `map_err(StoreError::sqlite("…"))`.
    pub(crate) fn sqlite(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { op, source }
    }

    /// A [`StoreError::Io`] for `path`; for `map_err(StoreError::io(&path))`.
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
