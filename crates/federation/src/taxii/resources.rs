//! Discovery, API root, collections and status: the TAXII resources that are not objects.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shield_store::intel::Collection;

use super::media::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, require_taxii_accept};
use super::{Caller, TaxiiError, TaxiiState};

/// A TAXII JSON answer with `status`.
pub(crate) fn taxii_json(status: StatusCode, body: Vec<u8>, headers: HeaderMap) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().extend(headers);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    response
}

fn json_response(value: &Value) -> Response {
    taxii_json(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
        HeaderMap::new(),
    )
}

/// `GET /taxii2/`.
pub(crate) async fn discovery(
    State(state): State<TaxiiState>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    state.caller(&headers)?;
    require_taxii_accept(&headers)?;
    let config = state.config();
    let root = state.api_root_url();
    let mut body = json!({
        "title": config.title,
        "default": root,
        "api_roots": [root],
    });
    if let Some(d) = &config.description {
        body["description"] = json!(d);
    }
    if let Some(c) = &config.contact {
        body["contact"] = json!(c);
    }
    Ok(json_response(&body))
}

/// `GET /taxii2/{root}/`.
pub(crate) async fn api_root(
    State(state): State<TaxiiState>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    state.caller(&headers)?;
    state.check_root(&root)?;
    require_taxii_accept(&headers)?;
    let config = state.config();
    Ok(json_response(&json!({
        "title": config.title,
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": config.max_content_length,
    })))
}

/// `GET /taxii2/{root}/status/{id}/`.
pub(crate) async fn status(
    State(state): State<TaxiiState>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    require_taxii_accept(&headers)?;
    let reader = caller.reader();
    let lookup = id.clone();
    let found = state
        .blocking(move |store| store.status(&reader, &lookup))
        .await?;
    let status = found.ok_or_else(|| TaxiiError::not_found(format!("no status '{id}'")))?;
    Ok(json_response(
        &serde_json::to_value(&status).map_err(TaxiiError::internal)?,
    ))
}

fn collection_resource(c: &Collection, caller: &Caller) -> Value {
    let reader = caller.reader();
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "can_read": c.can_read(&reader),
        "can_write": c.can_write(&reader),
        "media_types": [STIX_MEDIA_TYPE],
    });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    if let Some(a) = &c.alias {
        v["alias"] = json!(a);
    }
    v
}

/// `GET /taxii2/{root}/collections/`.
pub(crate) async fn collections(
    State(state): State<TaxiiState>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    require_taxii_accept(&headers)?;
    let all = state.blocking(|store| store.collections()).await?;
    let reader = caller.reader();
    let visible: Vec<Value> = all
        .iter()
        .filter(|c| c.is_visible_to(&reader))
        .map(|c| collection_resource(c, &caller))
        .collect();
    let body = if visible.is_empty() {
        json!({})
    } else {
        json!({ "collections": visible })
    };
    Ok(json_response(&body))
}

/// `GET /taxii2/{root}/collections/{id}/`.
pub(crate) async fn collection(
    State(state): State<TaxiiState>,
    Path((root, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    require_taxii_accept(&headers)?;
    let c = state.visible_collection(&caller, &key).await?;
    Ok(json_response(&collection_resource(&c, &caller)))
}
