//! Authentication and roles.
//!
//! Every route but `/healthz` needs a token. Clients send it as `Authorization: Bearer <token>`; the
//! Elasticsearch-compatible routes also take it the ways log shippers send credentials: as the
//! password of HTTP Basic (any user name), or as `Authorization: ApiKey <key>` where the key is the
//! token itself or base64 of `id:token` (the form Beats build from `api_key: "id:token"`).
//!
//! Tokens are looked up by their SHA-256 in the store; an answer is cached for a short time so that
//! a busy shipper does not cost a database read per request. A revoked token therefore stops working
//! within [`CACHE_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine;
use shield_store::{Role, TokenInfo, TokenStore};

use crate::error::ApiError;

/// How long a token lookup is trusted before the store is asked again.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// Most cached lookups; the cache is cleared when it grows past this.
const CACHE_MAX: usize = 10_000;

/// Who is calling: the token's identity, role and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Token name (for the audit log).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organisation.
    pub org: String,
}

impl Principal {
    /// Passes when the caller's role is one of `allowed`, otherwise a 403 naming the roles.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<String> = allowed.iter().map(|r| r.to_string()).collect();
        Err(ApiError::forbidden(format!(
            "role '{}' may not do this; it needs one of: {}",
            self.role,
            names.join(", ")
        )))
    }
}

/// Which credential forms a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialForms {
    /// `Bearer` only.
    Bearer,
    /// `Bearer`, HTTP Basic password, `ApiKey` (the Elasticsearch-compatible routes).
    Shipper,
}

/// Extracts the token from the request headers, or `None` when there is no `Authorization`.
pub fn token_from_headers(
    headers: &HeaderMap,
    forms: CredentialForms,
) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return non_empty(rest).map(Some);
    }
    if forms == CredentialForms::Shipper {
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = decode_b64(rest).ok_or_else(|| {
                ApiError::unauthorized("Basic credentials are not base64 of user:password")
            })?;
            let (_, password) = decoded.split_once(':').ok_or_else(|| {
                ApiError::unauthorized("Basic credentials are not base64 of user:password")
            })?;
            return non_empty(password).map(Some);
        }
        if scheme.eq_ignore_ascii_case("apikey") {
            // Beats send base64("id:key"); accept the key part, or the raw value as the token.
            if let Some(decoded) = decode_b64(rest) {
                if let Some((_, key)) = decoded.split_once(':') {
                    return non_empty(key).map(Some);
                }
            }
            return non_empty(rest).map(Some);
        }
    }
    Err(ApiError::unauthorized(format!(
        "unsupported authorization scheme '{scheme}'; send 'Authorization: Bearer <token>'"
    )))
}

fn non_empty(token: &str) -> Result<String, ApiError> {
    if token.is_empty() {
        Err(ApiError::unauthorized("empty token"))
    } else {
        Ok(token.to_owned())
    }
}

fn decode_b64(s: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(bytes).ok()
}

/// Resolves tokens to principals through the store, with a short-lived cache.
pub struct Authenticator {
    store: Arc<dyn TokenStore>,
    default_org: String,
    cache: Mutex<HashMap<String, (Option<Principal>, Instant)>>,
}

impl Authenticator {
    /// An authenticator over a token store; tokens without an organisation belong to `default_org`
    /// (the node's own).
    pub fn new(store: Arc<dyn TokenStore>, default_org: impl Into<String>) -> Self {
        Authenticator {
            store,
            default_org: default_org.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The principal for the request's credentials: 401 when absent or unknown.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        forms: CredentialForms,
    ) -> Result<Principal, ApiError> {
        let token = token_from_headers(headers, forms)?.ok_or_else(|| {
            ApiError::unauthorized("missing credentials: send 'Authorization: Bearer <token>'")
        })?;
        self.principal(&token)?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))
    }

    /// The principal for a token, or `None` when the store does not know it (or it is revoked).
    pub fn principal(&self, token: &str) -> Result<Option<Principal>, ApiError> {
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock() {
            if let Some((p, at)) = cache.get(token) {
                if now.duration_since(*at) < CACHE_TTL {
                    return Ok(p.clone());
                }
            }
        }
        let found = self
            .store
            .verify_token(token)?
            .map(|info| principal_of(info, &self.default_org));
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(token.to_owned(), (found.clone(), now));
        }
        Ok(found)
    }

    /// Forgets cached answers (after a token is revoked through this node).
    pub fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }
}

fn principal_of(info: TokenInfo, default_org: &str) -> Principal {
    Principal {
        token_id: info.id,
        name: info.name,
        role: info.role,
        org: info.org.unwrap_or_else(|| default_org.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn bearer_everywhere() {
        for forms in [CredentialForms::Bearer, CredentialForms::Shipper] {
            assert_eq!(
                token_from_headers(&headers("Bearer abc"), forms)
                    .unwrap()
                    .as_deref(),
                Some("abc")
            );
            assert_eq!(
                token_from_headers(&headers("bearer  abc "), forms)
                    .unwrap()
                    .as_deref(),
                Some("abc")
            );
        }
        assert_eq!(
            token_from_headers(&HeaderMap::new(), CredentialForms::Bearer).unwrap(),
            None
        );
        assert!(token_from_headers(&headers("Bearer "), CredentialForms::Bearer).is_err());
    }

    #[test]
    fn shipper_forms_only_where_allowed() {
        let basic = format!("Basic {}", b64("elastic:tok123"));
        assert_eq!(
            token_from_headers(&headers(&basic), CredentialForms::Shipper)
                .unwrap()
                .as_deref(),
            Some("tok123")
        );
        assert!(token_from_headers(&headers(&basic), CredentialForms::Bearer).is_err());
        let apikey = format!("ApiKey {}", b64("id1:tok456"));
        assert_eq!(
            token_from_headers(&headers(&apikey), CredentialForms::Shipper)
                .unwrap()
                .as_deref(),
            Some("tok456")
        );
        assert_eq!(
            token_from_headers(&headers("ApiKey rawtoken"), CredentialForms::Shipper)
                .unwrap()
                .as_deref(),
            Some("rawtoken")
        );
        assert!(token_from_headers(&headers("Basic !!!"), CredentialForms::Shipper).is_err());
        assert!(
            token_from_headers(
                &headers(&format!("Basic {}", b64("nocolon"))),
                CredentialForms::Shipper
            )
            .is_err()
        );
        assert!(token_from_headers(&headers("Digest x"), CredentialForms::Shipper).is_err());
    }

    #[test]
    fn roles_are_enforced_with_a_clear_message() {
        let p = Principal {
            token_id: "t".into(),
            name: "n".into(),
            role: Role::Ingest,
            org: "o".into(),
        };
        assert!(p.require(&[Role::Ingest, Role::Admin]).is_ok());
        let e = p.require(&[Role::Admin, Role::Analyst]).unwrap_err();
        assert_eq!(e.status.as_u16(), 403);
        assert!(
            e.message.contains("ingest") && e.message.contains("analyst"),
            "{}",
            e.message
        );
    }
}
