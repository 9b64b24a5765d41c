//! Who is calling: the [`TaxiiAuth`] boundary the node implements, and credential parsing.
//!
//! The TAXII router does not know how tokens are stored or cached: the node hands it a
//! [`TaxiiAuth`] (its own authenticator, which caches lookups). TAXII clients send credentials as
//! HTTP Basic (the interoperable baseline; the password is the token, the user name is ignored)
//! or as a bearer token; [`credentials`] reads both.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use shield_store::intel::Reader;
use shield_store::{Role, TokenStore};

use super::error::TaxiiError;

/// The authenticated caller of a TAXII request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token name (recorded as the provenance of what it adds: `taxii:<name>`).
    pub name: String,
    /// Organisation it acts for.
    pub org: String,
    /// Role.
    pub role: Role,
}

impl Caller {
    /// The caller as the store's [`Reader`].
    pub fn reader(&self) -> Reader {
        Reader::new(self.org.clone(), self.role, self.name.clone())
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No credentials, malformed ones, or an unknown or revoked token: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// Known, but not allowed to use TAXII at all: 403.
    #[error("{0}")]
    Forbidden(String),
    /// The check itself failed (the token store): 500.
    #[error("{0}")]
    Unavailable(String),
}

impl From<AuthFailure> for TaxiiError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::Unauthorized(m) => TaxiiError::unauthorized(m),
            AuthFailure::Forbidden(m) => TaxiiError::forbidden(m),
            AuthFailure::Unavailable(m) => TaxiiError::internal(m),
        }
    }
}

/// Authenticates TAXII requests. The node implements it over its token authenticator; it is
/// called on the async runtime, so it must be quick (cache lookups).
pub trait TaxiiAuth: Send + Sync + 'static {
    /// The caller of a request with these headers.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure>;
}

/// The token a request carries: `Authorization: Bearer <token>`, or the password of
/// `Authorization: Basic base64(user:password)`. `None` without an `Authorization` header.
pub fn credentials(headers: &HeaderMap) -> Result<Option<String>, AuthFailure> {
    let bad = |m: &str| AuthFailure::Unauthorized(m.to_owned());
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| bad("the Authorization header is not ASCII"))?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad("Basic credentials are not base64 of user:password"))?;
        let (_, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad("Basic credentials are not base64 of user:password"))?;
        password.to_owned()
    } else {
        return Err(bad(
            "unsupported authorization scheme; send HTTP Basic (password = token) or Bearer",
        ));
    };
    if token.is_empty() {
        return Err(bad("empty token"));
    }
    Ok(Some(token))
}

/// A [`TaxiiAuth`] that asks a [`TokenStore`] on every request, without a cache: for tests and
/// tools. Tokens without an organisation act for `default_org`; ingest tokens may not use TAXII.
pub struct TokenStoreAuth {
    store: Arc<dyn TokenStore>,
    default_org: String,
}

impl TokenStoreAuth {
    /// Authentication against `store`.
    pub fn new(store: Arc<dyn TokenStore>, default_org: impl Into<String>) -> TokenStoreAuth {
        TokenStoreAuth {
            store,
            default_org: default_org.into(),
        }
    }
}

impl TaxiiAuth for TokenStoreAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        let token = credentials(headers)?.ok_or_else(|| {
            AuthFailure::Unauthorized(
                "missing credentials: send HTTP Basic (password = token) or a Bearer token".into(),
            )
        })?;
        let info = self
            .store
            .verify_token(&token)
            .map_err(|e| AuthFailure::Unavailable(e.to_string()))?
            .ok_or_else(|| AuthFailure::Unauthorized("unknown or revoked token".into()))?;
        if info.role == Role::Ingest {
            return Err(AuthFailure::Forbidden(
                "ingest tokens may not use TAXII".into(),
            ));
        }
        Ok(Caller {
            name: info.name,
            org: info.org.unwrap_or_else(|| self.default_org.clone()),
            role: info.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic() {
        assert_eq!(credentials(&auth("Bearer abc")).unwrap().unwrap(), "abc");
        // "user:s3cr:et" — the password may contain colons.
        let basic = base64::engine::general_purpose::STANDARD.encode("user:s3cr:et");
        assert_eq!(
            credentials(&auth(&format!("Basic {basic}")))
                .unwrap()
                .unwrap(),
            "s3cr:et"
        );
        assert!(credentials(&HeaderMap::new()).unwrap().is_none());
        for bad in ["Bearer ", "Basic !!!", "Digest x", "Basic dXNlcg=="] {
            assert!(credentials(&auth(bad)).is_err(), "{bad}");
        }
    }
}
