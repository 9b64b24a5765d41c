//! `POST /api/v1/events`: NDJSON, a JSON array or a single object.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use shield_event::ParseError;
use shield_event::parse::{ParseContext, Parsed, parse_json_body};
use shield_store::Role;

use crate::auth::CredentialForms;
use crate::body::read_body;
use crate::error::ApiError;
use crate::state::SharedState;

/// Most rejected records listed one by one in an answer; the count is always complete.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// Bodies larger than this are parsed on a blocking thread rather than on the async runtime.
pub const INLINE_PARSE_BYTES: usize = 256 * 1024;

/// Ingests events. The answer gives the accepted count and every rejected record with its error;
/// when nothing could be accepted it is a 400 with the same details.
pub async fn post_events(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers, CredentialForms::Bearer)?;
    principal.require(&[Role::Admin, Role::Ingest])?;
    let bytes = read_body(&headers, body, state.config.server.max_body_bytes).await?;
    let ctx = ParseContext {
        input: Arc::from("http"),
        org: Some(Arc::from(principal.org.as_str())),
        path: Some(Arc::from("http")),
    };
    let size = bytes.len() as u64;
    let parsed = if bytes.len() > INLINE_PARSE_BYTES {
        tokio::task::spawn_blocking(move || parse_json_body(&bytes, &ctx))
            .await
            .map_err(ApiError::internal)?
    } else {
        parse_json_body(&bytes, &ctx)
    };
    let Parsed { events, errors } = parsed;
    let rejected = errors.len() as u64;
    let details = json!({
        "rejected": rejected,
        "errors": listed_errors(&errors),
    });
    if events.is_empty() && !errors.is_empty() {
        state.stats.record("http", 0, rejected, size);
        let mut details = details;
        if let Some(map) = details.as_object_mut() {
            map.insert("accepted".to_owned(), json!(0));
        }
        return Err(
            ApiError::bad_request(format!("no event could be parsed: {}", errors[0]))
                .with_details(details),
        );
    }
    let accepted = state.submit("http", events, rejected, size).await?;
    let mut answer = details;
    if let Some(map) = answer.as_object_mut() {
        map.insert("accepted".to_owned(), json!(accepted));
    }
    Ok(Json(answer))
}

/// The first [`MAX_LISTED_ERRORS`] errors as JSON objects naming their place.
pub fn listed_errors(errors: &[ParseError]) -> Vec<Value> {
    errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|e| {
            let mut v = json!({ "message": e.message });
            if let Some(map) = v.as_object_mut() {
                if let Some(line) = e.location.line {
                    map.insert("line".to_owned(), json!(line));
                }
                if let Some(record) = e.location.record {
                    map.insert("record".to_owned(), json!(record));
                }
                if let Some(offset) = e.location.offset {
                    map.insert("offset".to_owned(), json!(offset));
                }
            }
            v
        })
        .collect()
}
