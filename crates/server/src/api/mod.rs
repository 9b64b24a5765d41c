//! The HTTP API: routes, and the handlers grouped by concern.
//!
//! | Route | Roles |
//! |---|---|
//! | `GET /healthz` | none |
//! | `POST /api/v1/events` | admin, ingest |
//! | `GET /`, `POST /_bulk`, `POST /{index}/_bulk` and the Elasticsearch set-up calls | admin, ingest (Bearer, Basic password or ApiKey) |
//! | `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `GET /api/v1/stats`, `GET /metrics`, `GET /api/v1/openapi.json` | admin, analyst |
//! | `GET /api/v1/intel/search?value=`, `GET /api/v1/intel/objects/{id}` | admin, analyst (TLP rule of the caller's organisation) |
//! | `/taxii2/…` (TAXII 2.1, merged by the node when `taxii.enabled`; see [`crate::taxii`]) | admin, analyst, peer (Bearer or Basic password), per-collection grants |
//! | `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`, `POST /api/v1/rules/reload`, `GET /api/v1/audit` | admin |

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::state::SharedState;

mod alerts;
mod elastic;
mod ingest;
mod intel;
pub mod openapi;
mod status;
mod tokens;

/// The node's router.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/healthz", get(status::healthz))
        .route("/metrics", get(status::metrics))
        .route("/api/v1/stats", get(status::stats))
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .route("/api/v1/events", post(ingest::post_events))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts/{id}", get(alerts::get_one))
        .route("/api/v1/intel/search", get(intel::search))
        .route("/api/v1/intel/objects/{id}", get(intel::object))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke))
        .route("/api/v1/rules/reload", post(status::reload_rules))
        .route("/api/v1/rules", get(status::rules))
        .route("/api/v1/audit", get(status::audit))
        .merge(elastic::routes())
        .fallback(status::not_found)
        // Bodies are read by `crate::body::read_body` under `server.max_body_bytes`.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
