//! The embedded SQLite store.
//!
//! One file, `shield.db`, in WAL mode with `synchronous = NORMAL`: a commit is an append to the
//! write-ahead log without an fsync, so a power cut can lose the last commits but never corrupts the
//! database, and ingest can commit every batch. All writes go through one connection behind a mutex
//! (SQLite admits one writer at a time anyway, and a single connection keeps its prepared statements
//! hot); reads take a read-only connection from a small pool, so API reads never wait behind ingest
//! writes. An in-memory store has no files for other connections to share, so it uses its one
//! connection for both.

mod alerts;
mod records;
pub mod schema;
mod tokens;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "shield.db";

/// How long a statement waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections kept open between reads; more are opened under load and closed afterwards.
const IDLE_READERS: usize = 4;

/// Prepared statements cached per connection (alert queries vary with their filters).
const STATEMENT_CACHE: usize = 64;

/// A [`crate::Store`] in an embedded SQLite database.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// `None` for an in-memory store: reads use the writer.
    readers: Option<ReadPool>,
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir/shield.db`, creating `dir` too, and brings its
    /// schema up to date. A database written by a newer Shield is refused
    /// ([`StoreError::SchemaTooNew`]), as is another program's SQLite file.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        let path = dir.join(DB_FILE);
        let mut writer = Connection::open(&path).map_err(StoreError::sqlite("open database"))?;
        configure_writer(&writer, true)?;
        schema::migrate(&mut writer, &path)?;
        let readers = ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        };
        // Open one reader now, so a database that cannot be read fails here rather than later.
        let first = readers.open()?;
        readers.idle.lock().push(first);
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: Some(readers),
        })
    }

    /// A store that lives in memory and is gone when dropped: for tests and one-shot tools.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory().map_err(StoreError::sqlite("open database"))?;
        configure_writer(&conn, false)?;
        schema::migrate(&mut conn, Path::new(":memory:"))?;
        Ok(SqliteStore {
            writer: Mutex::new(conn),
            readers: None,
        })
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.readers.as_ref().map(|r| r.path.as_path())
    }

    /// Runs `f` on the write connection.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&mut self.writer.lock())
    }

    /// Runs `f` on a read connection.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return f(&self.writer.lock());
        };
        let taken = pool.idle.lock().pop();
        let conn = match taken {
            Some(conn) => conn,
            None => pool.open()?,
        };
        let result = f(&conn);
        let mut idle = pool.idle.lock();
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

impl ReadPool {
    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(StoreError::sqlite("open reader"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::sqlite("configure reader"))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

fn configure_writer(conn: &Connection, on_disk: bool) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(StoreError::sqlite("configure database"))?;
    if on_disk {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(StoreError::sqlite("enable WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite {
                op: "enable WAL",
                source: rusqlite::Error::InvalidQuery,
            });
        }
    }
    // The writer's page cache (negative = KiB): the intel indexes are keyed by random STIX ids, so
    // bulk imports touch pages all over them; with SQLite's 2 MiB default every insert re-reads
    // pages from the OS. Pages are allocated only as they are used.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -262144;",
    )
    .map_err(StoreError::sqlite("configure database"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// A time as stored: microseconds since the Unix epoch.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time back; `what` names the record for the error.
fn from_micros(us: i64, what: impl FnOnce() -> String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt {
        what: what(),
        reason: format!("time {us} out of range"),
    })
}

/// A counter as stored (SQLite integers are signed); saturates.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored counter back; a negative one (impossible unless tampered with) reads as 0.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
