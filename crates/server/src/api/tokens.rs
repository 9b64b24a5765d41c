//! Token administration: `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}` (admin only).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use shield_store::Role;

use crate::auth::{CredentialForms, Principal};
use crate::error::ApiError;
use crate::state::SharedState;

fn admin(state: &SharedState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let p = state.authenticate(headers, CredentialForms::Bearer)?;
    p.require(&[Role::Admin])?;
    Ok(p)
}

/// Lists tokens (never their secrets).
pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    admin(&state, &headers)?;
    let tokens = state.store.list_tokens()?;
    Ok(Json(json!({ "tokens": tokens })))
}

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: String,
    #[serde(default)]
    org: Option<String>,
}

/// Creates a token; the secret is in this answer only.
pub async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = admin(&state, &headers)?;
    let Json(req) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let role: Role = req.role.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "field 'role': '{}' is not admin, analyst, ingest or peer",
            req.role
        ))
    })?;
    if req.name.trim().is_empty() {
        return Err(ApiError::bad_request("field 'name' must not be empty"));
    }
    let (info, secret) = state
        .store
        .create_token(req.name.trim(), role, req.org.as_deref())?;
    state.audit(
        &principal,
        "token.create",
        &info.id,
        json!({"name": info.name, "role": role.to_string(), "org": info.org}),
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": info, "secret": secret })),
    ))
}

/// Revokes a token.
pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = admin(&state, &headers)?;
    if state.store.revoke_token(&id)? {
        state.auth.invalidate();
        state.audit(&principal, "token.revoke", &id, json!({}));
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no token {id}")))
    }
}
