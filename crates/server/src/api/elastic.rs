//! The Elasticsearch-compatible surface, so that Winlogbeat, Filebeat, Vector and Fluent Bit ship to
//! Shield unchanged: the `GET /` version probe, `POST /_bulk` and `POST /{index}/_bulk`, and benign
//! answers to the set-up calls shippers make at start (license, templates, ILM, ingest pipelines, data
//! streams). Every answer carries `X-Elastic-Product: Elasticsearch`, which current clients check.
//!
//! Credentials are taken as shippers send them: Bearer, the password of HTTP Basic, or `ApiKey`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use shield_event::parse::{BulkAction, BulkItem, ParseContext, parse_es_bulk};
use shield_store::Role;

use crate::auth::{CredentialForms, Principal};
use crate::body::read_body;
use crate::error::ApiError;
use crate::state::{AppState, SharedState};

/// The Elasticsearch version Shield answers as: recent enough for Beats 8 and Vector.
pub const COMPAT_VERSION: &str = "8.17.0";

pub(super) fn routes() -> Router<SharedState> {
    let setup = any(setup_call);
    Router::new()
        .route("/", get(root).head(root))
        .route("/_bulk", post(bulk_default).put(bulk_default))
        .route("/{index}/_bulk", post(bulk_index).put(bulk_index))
        .route("/_license", setup.clone())
        .route("/_xpack", setup.clone())
        .route("/_cluster/health", setup.clone())
        .route("/_nodes", setup.clone())
        .route("/_nodes/{*rest}", setup.clone())
        .route("/_index_template/{*rest}", setup.clone())
        .route("/_component_template/{*rest}", setup.clone())
        .route("/_template/{*rest}", setup.clone())
        .route("/_ilm/{*rest}", setup.clone())
        .route("/_ingest/{*rest}", setup.clone())
        .route("/_data_stream/{*rest}", setup.clone())
        .route("/_cat/{*rest}", setup)
}

fn shipper(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let principal = state.authenticate(headers, CredentialForms::Shipper)?;
    principal.require(&[Role::Admin, Role::Ingest])?;
    Ok(principal)
}

fn with_product(e: impl IntoResponse) -> Response {
    let mut r = e.into_response();
    r.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    r
}

fn elastic_json(status: StatusCode, body: Value) -> Response {
    with_product((status, axum::Json(body)))
}

async fn root(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    if let Err(e) = shipper(&state, &headers) {
        return with_product(e);
    }
    let name = &state.config.server.organisation;
    elastic_json(
        StatusCode::OK,
        json!({
            "name": format!("shield-{name}"),
            "cluster_name": "shield",
            "cluster_uuid": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
            "version": {
                "number": COMPAT_VERSION,
                "build_flavor": "default",
                "build_type": "shield",
                "build_snapshot": false,
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "Shield node (Elasticsearch-compatible ingest)"
        }),
    )
}

async fn setup_call(
    State(state): State<SharedState>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Err(e) = shipper(&state, &headers) {
        return with_product(e);
    }
    let path = uri.path();
    if method == Method::GET && path == "/_license" {
        return elastic_json(
            StatusCode::OK,
            json!({"license": {"status": "active", "type": "basic", "uid": "shield", "issued_to": "shield", "issuer": "shield"}}),
        );
    }
    if method == Method::GET && path == "/_xpack" {
        return elastic_json(
            StatusCode::OK,
            json!({"build": {}, "license": {"status": "active", "type": "basic", "mode": "basic"}, "features": {}}),
        );
    }
    if method == Method::GET && path == "/_cluster/health" {
        return elastic_json(
            StatusCode::OK,
            json!({"cluster_name": "shield", "status": "green", "number_of_nodes": 1}),
        );
    }
    match method {
        // Existence checks: say it exists, so the shipper does not try to install it.
        Method::HEAD => with_product(StatusCode::OK),
        Method::GET => elastic_json(StatusCode::OK, json!({})),
        _ => elastic_json(StatusCode::OK, json!({"acknowledged": true})),
    }
}

async fn bulk_default(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    bulk(state, headers, None, body).await
}

async fn bulk_index(
    State(state): State<SharedState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    bulk(state, headers, Some(index), body).await
}

async fn bulk(
    state: SharedState,
    headers: HeaderMap,
    index: Option<String>,
    body: Body,
) -> Response {
    let started = Instant::now();
    let principal = match shipper(&state, &headers) {
        Ok(p) => p,
        Err(e) => return with_product(e),
    };
    let bytes = match read_body(&headers, body, state.config.server.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return with_product(e),
    };
    let size = bytes.len() as u64;
    let ctx = ParseContext {
        input: Arc::from("bulk"),
        org: Some(Arc::from(principal.org.as_str())),
        path: Some(Arc::from("_bulk")),
    };
    let parse = move || parse_es_bulk(&bytes, index.as_deref(), &ctx);
    let items = if size as usize > super::ingest::INLINE_PARSE_BYTES {
        match tokio::task::spawn_blocking(parse).await {
            Ok(items) => items,
            Err(e) => return with_product(ApiError::internal(e)),
        }
    } else {
        parse()
    };
    let mut answers = Vec::with_capacity(items.len());
    let mut events = Vec::with_capacity(items.len());
    let mut rejected = 0u64;
    let mut errors = false;
    for BulkItem {
        action,
        index,
        id,
        result,
    } in items
    {
        let action_name = action_name(action);
        let index = index.unwrap_or_else(|| "shield".to_owned());
        match result {
            Ok(event) => {
                let id = id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
                answers.push(json!({ action_name: {
                    "_index": index, "_id": id, "_version": 1, "result": "created", "status": 201,
                    "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1
                }}));
                events.push(event);
            }
            Err(e) => {
                rejected += 1;
                errors = true;
                answers.push(json!({ action_name: {
                    "_index": index, "_id": id, "status": 400,
                    "error": {"type": "document_parsing_exception", "reason": e.to_string()}
                }}));
            }
        }
    }
    if let Err(e) = state.submit("bulk", events, rejected, size).await {
        return with_product(e);
    }
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    elastic_json(
        StatusCode::OK,
        json!({"took": took, "errors": errors, "items": answers}),
    )
}

fn action_name(action: BulkAction) -> &'static str {
    match action {
        BulkAction::Index => "index",
        BulkAction::Create => "create",
        BulkAction::Update => "update",
        BulkAction::Delete => "delete",
    }
}
