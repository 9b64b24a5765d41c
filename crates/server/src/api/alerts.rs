//! `GET /api/v1/alerts` and `GET /api/v1/alerts/{id}`.
//!
//! Analysts see the alerts of their own organisation; admins see every alert on the node.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use shield_event::{AlertKind, Level};
use shield_store::{AlertQuery, Role};

use crate::auth::{CredentialForms, Principal};
use crate::error::ApiError;
use crate::state::SharedState;

/// Page size when the client names none.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page.
pub const MAX_LIMIT: usize = 1000;

/// Query parameters of `GET /api/v1/alerts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    /// Alerts created at or after this RFC 3339 time.
    since: Option<String>,
    /// Alerts created before this RFC 3339 time.
    until: Option<String>,
    /// Minimum level (`informational` … `critical`).
    level: Option<String>,
    /// Rule id.
    rule: Option<String>,
    /// Alert kind (`sigma`, `correlation`, `intel`, `incident`).
    kind: Option<String>,
    /// Cursor from a previous page's `next_cursor`.
    cursor: Option<String>,
    /// Page size (1–1000, default 100).
    limit: Option<usize>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "parameter '{name}': '{v}' is not an RFC 3339 time: {e}"
                    ))
                })
        })
        .transpose()
}

fn reader(state: &SharedState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let p = state.authenticate(headers, CredentialForms::Bearer)?;
    p.require(&[Role::Admin, Role::Analyst])?;
    Ok(p)
}

/// Lists alerts, newest first, with cursor pagination.
pub async fn list(
    State(state): State<SharedState>,
    headers: HeaderMap,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let principal = reader(&state, &headers)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let min_level = params
        .level
        .as_deref()
        .map(|l| {
            l.parse::<Level>()
                .map_err(|e| ApiError::bad_request(format!("parameter 'level': {e}")))
        })
        .transpose()?;
    let kind = params
        .kind
        .as_deref()
        .map(|k| {
            serde_json::from_value::<AlertKind>(json!(k)).map_err(|_| {
                ApiError::bad_request(format!(
                    "parameter 'kind': '{k}' is not sigma, correlation, intel or incident"
                ))
            })
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "parameter 'limit' must be between 1 and {MAX_LIMIT}"
        )));
    }
    let query = AlertQuery {
        since: time_param("since", params.since.as_deref())?,
        until: time_param("until", params.until.as_deref())?,
        min_level,
        rule_id: params.rule,
        kind,
        org: (principal.role != Role::Admin).then(|| principal.org.clone()),
        cursor: params.cursor,
        limit,
    };
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || store.query_alerts(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            shield_store::StoreError::InvalidCursor(m) => {
                ApiError::bad_request(format!("parameter 'cursor': {m}"))
            }
            other => ApiError::internal(other),
        })?;
    Ok(Json(
        json!({ "alerts": page.alerts, "next_cursor": page.next_cursor }),
    ))
}

/// One alert by id.
pub async fn get_one(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let principal = reader(&state, &headers)?;
    let uuid = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad_request(format!("'{id}' is not an alert id")))?;
    let store = state.store.clone();
    let alert = tokio::task::spawn_blocking(move || store.get_alert(&uuid))
        .await
        .map_err(ApiError::internal)??;
    match alert {
        Some(a)
            if principal.role == Role::Admin
                || a.org.as_deref() == Some(principal.org.as_str()) =>
        {
            Ok(Json(serde_json::to_value(a).map_err(ApiError::internal)?))
        }
        _ => Err(ApiError::not_found(format!("no alert {id}"))),
    }
}
