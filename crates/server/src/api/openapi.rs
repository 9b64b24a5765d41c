//! `GET /api/v1/openapi.json`: the API described as OpenAPI 3.1.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::auth::CredentialForms;
use crate::error::ApiError;
use crate::state::SharedState;

/// Serves the document to any authenticated caller.
pub async fn openapi(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.authenticate(&headers, CredentialForms::Bearer)?;
    Ok(Json(document()))
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let std_errors = |extra: &[(&str, &str)]| {
        let mut m = serde_json::Map::new();
        m.insert(
            "401".into(),
            error_response("missing, unknown or revoked token"),
        );
        m.insert(
            "403".into(),
            error_response("the token's role may not do this"),
        );
        for (code, what) in extra {
            m.insert((*code).into(), error_response(what));
        }
        m
    };
    let mut ingest_responses = std_errors(&[
        (
            "400",
            "no record could be parsed (details list each rejected record)",
        ),
        ("413", "body over server.max_body_bytes"),
        ("415", "unsupported Content-Encoding"),
        (
            "429",
            "ingest queue full; retry after the Retry-After header",
        ),
    ]);
    ingest_responses.insert(
        "200".into(),
        json!({"description": "accepted count and every rejected record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}}),
    );
    let mut alerts_responses = std_errors(&[("400", "invalid parameter or cursor")]);
    alerts_responses.insert(
        "200".into(),
        json!({"description": "a page of alerts, newest first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertPage"}}}}),
    );
    let mut alert_responses = std_errors(&[("404", "no such alert")]);
    alert_responses.insert("200".into(), json!({"description": "the alert", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}}));
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Shield node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ingest, alerts and operations of a Shield node. Every route but /healthz needs 'Authorization: Bearer <token>'. Errors always have the shape {\"error\": {status, code, message, details?}}."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "the node is up"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (admin, analyst)", "responses": {"200": {"description": "text exposition format", "content": {"text/plain": {}}}}}},
            "/api/v1/stats": {"get": {"summary": "Ingest and detection statistics (admin, analyst)", "responses": {"200": {"description": "statistics", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}}}}},
            "/api/v1/events": {"post": {
                "summary": "Ingest events (admin, ingest)",
                "description": "NDJSON (one JSON object per line), a JSON array of objects, or one object. gzip and deflate bodies are accepted. A malformed record is rejected alone.",
                "requestBody": {"required": true, "content": {"application/x-ndjson": {}, "application/json": {}}},
                "responses": ingest_responses
            }},
            "/_bulk": {"post": {"summary": "Elasticsearch-compatible bulk ingest (admin, ingest; Bearer, Basic password or ApiKey)", "responses": {"200": {"description": "Elasticsearch bulk answer with one item per action"}}}},
            "/{index}/_bulk": {"post": {"summary": "Elasticsearch-compatible bulk ingest into a named index", "parameters": [{"name": "index", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "Elasticsearch bulk answer"}}}},
            "/api/v1/alerts": {"get": {
                "summary": "List alerts, newest first (admin: all; analyst: own organisation)",
                "parameters": [
                    param("since", "created at or after (RFC 3339)", json!({"type": "string", "format": "date-time"})),
                    param("until", "created before (RFC 3339)", json!({"type": "string", "format": "date-time"})),
                    param("level", "minimum level", json!({"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]})),
                    param("rule", "rule id", json!({"type": "string"})),
                    param("kind", "alert kind", json!({"type": "string", "enum": ["sigma", "correlation", "intel", "incident"]})),
                    param("cursor", "next_cursor of the previous page", json!({"type": "string"})),
                    param("limit", "page size", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))
                ],
                "responses": alerts_responses
            }},
            "/api/v1/alerts/{id}": {"get": {"summary": "One alert", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}], "responses": alert_responses}},
            "/api/v1/tokens": {
                "get": {"summary": "List tokens (admin)", "responses": {"200": {"description": "tokens, without secrets"}}},
                "post": {"summary": "Create a token (admin); the secret is returned once", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "role"], "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": ["admin", "analyst", "ingest", "peer"]}, "org": {"type": "string"}}}}}}, "responses": {"201": {"description": "the token and its secret"}}}
            },
            "/api/v1/tokens/{id}": {"delete": {"summary": "Revoke a token (admin)", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"204": {"description": "revoked"}, "404": error_response("no such token")}}},
            "/api/v1/rules": {"get": {"summary": "Running detectors and the last rule load (admin, analyst)", "responses": {"200": {"description": "report"}}}},
            "/api/v1/rules/reload": {"post": {"summary": "Reload Sigma rules without restart (admin)", "responses": {"200": {"description": "load report"}, "422": error_response("the rule set could not be loaded; the running rules stay")}}},
            "/api/v1/audit": {"get": {"summary": "Audit log, newest first (admin)", "parameters": [param("since", "entries at or after (RFC 3339)", json!({"type": "string", "format": "date-time"})), param("limit", "entries", json!({"type": "integer", "minimum": 1, "maximum": 1000}))], "responses": {"200": {"description": "entries"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["status", "code", "message"], "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
                "IngestResult": {"type": "object", "required": ["accepted", "rejected", "errors"], "properties": {"accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "errors": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "record": {"type": "integer"}, "offset": {"type": "integer"}, "message": {"type": "string"}}}}}},
                "Alert": {"type": "object", "required": ["id", "created", "kind", "rule"], "properties": {"id": {"type": "string", "format": "uuid"}, "created": {"type": "string", "format": "date-time"}, "event_time": {"type": "string", "format": "date-time"}, "kind": {"type": "string"}, "rule": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "level": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}, "org": {"type": "string"}, "source": {"type": "object"}, "event": {"type": "object"}, "details": {}}},
                "AlertPage": {"type": "object", "required": ["alerts"], "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}, "next_cursor": {"type": ["string", "null"]}}},
                "Stats": {"type": "object", "required": ["events_ingested", "events_rejected", "alerts"], "properties": {"events_ingested": {"type": "integer"}, "events_rejected": {"type": "integer"}, "alerts": {"type": "integer"}}}
            }
        }
    });
    add_intel(&mut doc, &std_errors);
    doc
}

/// Builds the responses of a route: the common errors plus `extra` (status, description).
type Responses<'a> = &'a dyn Fn(&[(&str, &str)]) -> serde_json::Map<String, Value>;

/// The intel routes and their schemas.
fn add_intel(doc: &mut Value, std_errors: Responses<'_>) {
    let mut search_responses = std_errors(&[("400", "'value' missing or too long")]);
    search_responses.insert(
        "200".into(),
        json!({"description": "indicators whose pattern looks for the value, in collections the caller may read, that the caller's organisation may see (TLP)", "content": {"application/json": {"schema": {"type": "object", "required": ["indicators"], "properties": {"indicators": {"type": "array", "items": {"$ref": "#/components/schemas/IntelObject"}}}}}}}),
    );
    let mut object_responses = std_errors(&[
        ("400", "not a STIX identifier"),
        (
            "404",
            "no such object, or none the caller may see (TLP) in a collection it may read",
        ),
    ]);
    object_responses.insert(
        "200".into(),
        json!({"description": "the newest version the caller may see", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntelObject"}}}}),
    );
    let paths = json!({
        "/api/v1/intel/search": {"get": {
            "summary": "Indicators looking for a value (admin, analyst)",
            "description": "An address, domain, URL, hash or e-mail address, compared in normalised form. Revoked and expired indicators are listed and flagged. The TLP rule applies: AMBER, AMBER+STRICT and RED objects only reach their owner organisation and those it shared them with.",
            "parameters": [{"name": "value", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 4096}}],
            "responses": search_responses
        }},
        "/api/v1/intel/objects/{id}": {"get": {
            "summary": "One STIX object by id (admin, analyst)",
            "parameters": [{"name": "id", "in": "path", "required": true, "description": "type--UUID", "schema": {"type": "string"}}],
            "responses": object_responses
        }}
    });
    let schema = json!({"type": "object", "required": ["id", "type", "version", "collection", "tlp", "owner_org", "object"], "properties": {
        "id": {"type": "string"}, "type": {"type": "string"}, "version": {"type": "string"},
        "collection": {"type": "string"}, "collection_alias": {"type": ["string", "null"]},
        "tlp": {"type": "string", "enum": ["tlp:clear", "tlp:green", "tlp:amber", "tlp:amber+strict", "tlp:red"]},
        "owner_org": {"type": "string"}, "source": {"type": "string"},
        "date_added": {"type": "string", "format": "date-time"}, "revoked": {"type": "boolean"},
        "valid_until": {"type": ["string", "null"], "format": "date-time"}, "expired": {"type": "boolean"},
        "object": {"type": "object", "description": "the STIX 2.1 object as stored"}
    }});
    if let (Some(all), Value::Object(new)) = (doc["paths"].as_object_mut(), paths) {
        all.extend(new);
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.insert("IntelObject".into(), schema);
    }
}
