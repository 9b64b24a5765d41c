//! Health, statistics, Prometheus metrics, rules and audit log.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shield_store::Role;

use crate::auth::{CredentialForms, Principal};
use crate::error::ApiError;
use crate::state::{AppState, SharedState};

fn reader(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let p = state.authenticate(headers, CredentialForms::Bearer)?;
    p.require(&[Role::Admin, Role::Analyst])?;
    Ok(p)
}

/// `GET /healthz`: no authentication; 200 while the node can accept events.
pub async fn healthz(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
    }))
}

/// `GET /api/v1/stats`.
pub async fn stats(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    reader(&state, &headers)?;
    let store = state.store.clone();
    let (alerts, by_level) =
        tokio::task::spawn_blocking(move || -> Result<_, shield_store::StoreError> {
            Ok((store.count_alerts()?, store.alert_counts_by_level()?))
        })
        .await
        .map_err(ApiError::internal)??;
    let totals = state.stats.totals();
    let c = state.pipeline.counters();
    let levels: serde_json::Map<String, Value> = by_level
        .into_iter()
        .map(|(l, n)| (l.to_string(), json!(n)))
        .collect();
    Ok(Json(json!({
        "events_ingested": totals.events_ingested,
        "events_rejected": totals.events_rejected,
        "events_refused": c.refused.load(Ordering::Relaxed),
        "events_processed": c.processed.load(Ordering::Relaxed),
        "bytes_ingested": totals.bytes,
        "alerts": alerts,
        "alerts_by_level": levels,
        "queue": { "pending": state.pipeline.pending(), "capacity": state.pipeline.capacity() },
        "inputs": state.stats.per_input(),
        "rules": state.reloader.last_report(),
        "indicators": state.intel_load.lock().clone(),
        "uptime_seconds": state.started.elapsed().as_secs(),
    })))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    reader(&state, &headers)?;
    let mut out = String::with_capacity(2048);
    let per_input = state.stats.per_input();
    metric(
        &mut out,
        "shield_events_ingested_total",
        "counter",
        "Events accepted into the pipeline, by input.",
    );
    for (input, c) in &per_input {
        let _ = writeln!(
            out,
            "shield_events_ingested_total{{input=\"{}\"}} {}",
            escape(input),
            c.events_ingested
        );
    }
    metric(
        &mut out,
        "shield_events_rejected_total",
        "counter",
        "Records rejected as malformed, by input.",
    );
    for (input, c) in &per_input {
        let _ = writeln!(
            out,
            "shield_events_rejected_total{{input=\"{}\"}} {}",
            escape(input),
            c.events_rejected
        );
    }
    metric(
        &mut out,
        "shield_ingest_bytes_total",
        "counter",
        "Bytes read by the inputs, by input.",
    );
    for (input, c) in &per_input {
        let _ = writeln!(
            out,
            "shield_ingest_bytes_total{{input=\"{}\"}} {}",
            escape(input),
            c.bytes
        );
    }
    let c = state.pipeline.counters();
    let processed = c.processed.load(Ordering::Relaxed);
    let simple = [
        (
            "shield_events_refused_total",
            "counter",
            "Events refused with 429 because the queue was full.",
            c.refused.load(Ordering::Relaxed),
        ),
        (
            "shield_events_processed_total",
            "counter",
            "Events that went through detection and were stored.",
            processed,
        ),
        (
            "shield_alerts_raised_total",
            "counter",
            "Alerts raised since start.",
            c.alerts.load(Ordering::Relaxed),
        ),
        (
            "shield_output_errors_total",
            "counter",
            "Batches whose alerts or archive write failed.",
            c.output_errors.load(Ordering::Relaxed),
        ),
        (
            "shield_queue_pending_events",
            "gauge",
            "Events accepted and not yet stored.",
            state.pipeline.pending() as u64,
        ),
        (
            "shield_queue_capacity_events",
            "gauge",
            "Events the queue may hold.",
            state.pipeline.capacity() as u64,
        ),
    ];
    for (name, kind, help, value) in simple {
        metric(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    let total_micros = c.latency_micros_total.load(Ordering::Relaxed);
    metric(
        &mut out,
        "shield_pipeline_latency_seconds_sum",
        "counter",
        "Sum over processed events of the time from acceptance to stored.",
    );
    let _ = writeln!(
        out,
        "shield_pipeline_latency_seconds_sum {}",
        total_micros as f64 / 1e6
    );
    metric(
        &mut out,
        "shield_pipeline_latency_seconds_max",
        "gauge",
        "Largest time from acceptance to stored seen.",
    );
    let _ = writeln!(
        out,
        "shield_pipeline_latency_seconds_max {}",
        c.latency_micros_max.load(Ordering::Relaxed) as f64 / 1e6
    );
    let rules = state.reloader.last_report();
    metric(
        &mut out,
        "shield_sigma_rules_loaded",
        "gauge",
        "Sigma rules running.",
    );
    let _ = writeln!(out, "shield_sigma_rules_loaded {}", rules.rules_loaded);
    metric(
        &mut out,
        "shield_uptime_seconds",
        "gauge",
        "Seconds since the node started.",
    );
    let _ = writeln!(
        out,
        "shield_uptime_seconds {}",
        state.started.elapsed().as_secs()
    );
    if let Some(federation) = &state.federation {
        out.push_str(&federation.latency.render());
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `POST /api/v1/rules/reload` (admin): rebuilds the detectors from the configured rules.
pub async fn reload_rules(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers, CredentialForms::Bearer)?;
    principal.require(&[Role::Admin])?;
    let st = state.clone();
    let report = tokio::task::spawn_blocking(move || crate::node::reload_detectors(&st))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "rules_not_loaded",
                e,
            )
        })?;
    state.audit(
        &principal,
        "rules.reload",
        "sigma",
        json!({"loaded": report.rules_loaded, "rejected": report.rules_rejected}),
    );
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

/// `GET /api/v1/rules`: what the last rule load did.
pub async fn rules(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    reader(&state, &headers)?;
    Ok(Json(json!({
        "detectors": state.pipeline.detectors().names(),
        "report": state.reloader.last_report(),
    })))
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    since: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/audit` (admin): the audit log, newest first.
pub async fn audit(
    State(state): State<SharedState>,
    headers: HeaderMap,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authenticate(&headers, CredentialForms::Bearer)?;
    principal.require(&[Role::Admin])?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let since = params
        .since
        .as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| ApiError::bad_request(format!("parameter 'since': {e}")))
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state.store.audit_entries(since, limit)?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| json!({"time": e.time, "actor": e.actor, "action": e.action, "target": e.target, "details": e.details}))
        .collect();
    Ok(Json(json!({ "entries": entries })))
}

/// Unknown routes: a 404 in the stable error shape.
pub async fn not_found(uri: Uri) -> Response {
    let path: String = uri.path().chars().take(MAX_PATH_ECHO).collect();
    // TAXII clients expect a TAXII error resource under the TAXII prefix (also when TAXII is off).
    if path == "/taxii2" || path.starts_with("/taxii2/") {
        return shield_federation::taxii::TaxiiError::not_found(format!(
            "no TAXII resource at '{path}'"
        ))
        .into_response();
    }
    ApiError::not_found(format!("no route {path}")).into_response()
}

/// Longest part of an unknown path repeated in a 404, in characters.
const MAX_PATH_ECHO: usize = 200;
