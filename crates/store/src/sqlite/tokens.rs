//! [`TokenStore`] over SQLite.

use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, from_micros, micros};
use crate::token::{
    check_imported_secret, check_token_fields, generate_secret, hash_secret, new_token_info,
    plausible_secret,
};
use crate::{Role, StoreError, TokenInfo, TokenStore};

const COLUMNS: &str = "id, name, role, org, created, revoked";

impl TokenStore for SqliteStore {
    fn create_token(
        &self,
        name: &str,
        role: Role,
        org: Option<&str>,
    ) -> Result<(TokenInfo, String), StoreError> {
        check_token_fields(name, org)?;
        let secret = generate_secret()?;
        let info = new_token_info(name, role, org);
        self.write(|conn| insert(conn, &info, &hash_secret(&secret)))?;
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
        self.write(|conn| {
            let tx = conn
                .transaction()
                .map_err(StoreError::sqlite("import token"))?;
            if let Some(existing) = by_hash(&tx, &hash, false)? {
                return Ok(existing);
            }
            let info = new_token_info(name, role, org);
            insert(&tx, &info, &hash)?;
            tx.commit().map_err(StoreError::sqlite("import token"))?;
            Ok(info)
        })
    }

    fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !plausible_secret(secret) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        self.read(|conn| by_hash(conn, &hash, true))
    }

    fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(|conn| {
            let fail = |e| StoreError::Sqlite {
                op: "list tokens",
                source: e,
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM tokens ORDER BY created, id"
                ))
                .map_err(fail)?;
            let rows = stmt.query_map([], raw_token).map_err(fail)?;
            rows.map(|r| r.map_err(fail).and_then(RawToken::into_info))
                .collect()
        })
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            let n = conn
                .prepare_cached("UPDATE tokens SET revoked = 1 WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(StoreError::sqlite("revoke token"))?;
            Ok(n > 0)
        })
    }

    fn count_tokens(&self, role: Option<Role>) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = match role {
                Some(role) => conn.query_row(
                    "SELECT count(*) FROM tokens WHERE revoked = 0 AND role = ?1",
                    [role.as_str()],
                    |r| r.get(0),
                ),
                None => conn.query_row("SELECT count(*) FROM tokens WHERE revoked = 0", [], |r| {
                    r.get(0)
                }),
            }
            .map_err(StoreError::sqlite("count tokens"))?;
            Ok(super::to_u64(n))
        })
    }
}

fn insert(
    conn: &rusqlite::Connection,
    info: &TokenInfo,
    hash: &[u8; 32],
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO tokens (id, name, role, org, created, revoked, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            info.id,
            info.name,
            info.role.as_str(),
            info.org,
            micros(info.created),
            &hash[..]
        ])
    })
    .map_err(StoreError::sqlite("insert token"))?;
    Ok(())
}

fn by_hash(
    conn: &rusqlite::Connection,
    hash: &[u8; 32],
    active_only: bool,
) -> Result<Option<TokenInfo>, StoreError> {
    let sql = if active_only {
        format!("SELECT {COLUMNS} FROM tokens WHERE secret_hash = ?1 AND revoked = 0")
    } else {
        format!("SELECT {COLUMNS} FROM tokens WHERE secret_hash = ?1")
    };
    let raw = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([&hash[..]], raw_token).optional())
        .map_err(StoreError::sqlite("look up token"))?;
    raw.map(RawToken::into_info).transpose()
}

/// A token row before its text columns are checked.
struct RawToken {
    id: String,
    name: String,
    role: String,
    org: Option<String>,
    created: i64,
    revoked: bool,
}

fn raw_token(row: &Row<'_>) -> rusqlite::Result<RawToken> {
    Ok(RawToken {
        id: row.get(0)?,
        name: row.get(1)?,
        role: row.get(2)?,
        org: row.get(3)?,
        created: row.get(4)?,
        revoked: row.get::<_, i64>(5)? != 0,
    })
}

impl RawToken {
    fn into_info(self) -> Result<TokenInfo, StoreError> {
        let role = self.role.parse::<Role>().map_err(|e| StoreError::Corrupt {
            what: format!("token {}", self.id),
            reason: e.to_string(),
        })?;
        let created = from_micros(self.created, || format!("token {}", self.id))?;
        Ok(TokenInfo {
            id: self.id,
            name: self.name,
            role,
            org: self.org,
            created,
            revoked: self.revoked,
        })
    }
}
