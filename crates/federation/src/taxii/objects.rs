//! The object endpoints: get and add objects, one object, its versions, the manifest.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};
use shield_store::intel::{
    Collection, IntelWrite, ObjectPage, ObjectQuery, Provenance, VersionMatch, taxii_timestamp,
};

use super::media::{STIX_MEDIA_TYPE, require_content_type, require_taxii_accept};
use super::params::{Endpoint, Params, parse};
use super::resources::taxii_json;
use super::{Admitted, Caller, TaxiiError, TaxiiState};
use crate::envelope::{EnvelopeError, parse_objects};

/// `X-TAXII-Date-Added-First`.
const DATE_ADDED_FIRST: HeaderName = HeaderName::from_static("x-taxii-date-added-first");
/// `X-TAXII-Date-Added-Last`.
const DATE_ADDED_LAST: HeaderName = HeaderName::from_static("x-taxii-date-added-last");

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn params(query: QueryPairs, endpoint: Endpoint) -> Result<Params, TaxiiError> {
    let Query(pairs) = query.map_err(|e| {
        TaxiiError::bad_request(format!(
            "the query string cannot be read: {}",
            e.body_text()
        ))
    })?;
    parse(&pairs, endpoint)
}

/// Authentication, API root, media type, collection visibility and read right: what every
/// read endpoint checks first, in this order.
async fn readable(
    state: &TaxiiState,
    headers: &HeaderMap,
    root: &str,
    key: &str,
) -> Result<(Caller, Collection), TaxiiError> {
    let caller = state.caller(headers)?;
    state.check_root(root)?;
    require_taxii_accept(headers)?;
    let collection = state.visible_collection(&caller, key).await?;
    if !collection.can_read(&caller.reader()) {
        return Err(TaxiiError::forbidden(format!(
            "you may not read collection '{key}'"
        )));
    }
    Ok((caller, collection))
}

/// A page as served, with the `date_added` of the first and last versions the store returned
/// (before a read scope held any back).
pub(crate) struct Served {
    pub(crate) page: ObjectPage,
    pub(crate) bounds: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The `X-TAXII-Date-Added-First/Last` headers of a page.
fn date_headers(served: &Served) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some((first, last)) = served.bounds else {
        return headers;
    };
    for (name, t) in [(DATE_ADDED_FIRST, first), (DATE_ADDED_LAST, last)] {
        if let Ok(v) = HeaderValue::from_str(&taxii_timestamp(t)) {
            headers.insert(name, v);
        }
    }
    headers
}

/// Opens a TAXII list resource: `{"more":…,"next":…` — the caller appends its list and `}`.
fn open_list(page: &ObjectPage, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity + 96);
    out.push_str(if page.more {
        "{\"more\":true"
    } else {
        "{\"more\":false"
    });
    if let Some(next) = &page.next {
        out.push_str(",\"next\":");
        out.push_str(&Value::from(next.as_str()).to_string());
    }
    out
}

/// The envelope of a page: the objects' stored JSON text, spliced in as it is.
pub(crate) fn envelope(page: &ObjectPage) -> Vec<u8> {
    let size = page
        .objects
        .iter()
        .map(|o| o.json.as_ref().map_or(0, |j| j.len() + 1))
        .sum();
    let mut out = open_list(page, size);
    if !page.objects.is_empty() {
        out.push_str(",\"objects\":[");
        for (i, o) in page.objects.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(o.json.as_deref().unwrap_or("null"));
        }
        out.push(']');
    }
    out.push('}');
    out.into_bytes()
}

/// One page of `q` as `caller` may read it: as the caller under the store's TLP rule, or
/// through the caller's read scope.
pub(crate) async fn query(
    state: &TaxiiState,
    caller: &Caller,
    q: ObjectQuery,
) -> Result<Served, TaxiiError> {
    let bounds = |page: &ObjectPage| {
        page.objects
            .first()
            .zip(page.objects.last())
            .map(|(f, l)| (f.date_added, l.date_added))
    };
    match state.scope(caller) {
        None => {
            let reader = caller.reader();
            let page = state
                .blocking(move |store| store.query_objects(&reader, &q))
                .await?;
            Ok(Served {
                bounds: bounds(&page),
                page,
            })
        }
        Some(scope) => {
            let with_json = q.with_json;
            let q = ObjectQuery {
                with_json: true,
                ..q
            };
            state
                .blocking(move |store| {
                    let mut page = store.query_objects(&scope.reader(), &q)?;
                    let served_bounds = bounds(&page);
                    page.objects = scope.serve(&q.collection, std::mem::take(&mut page.objects));
                    if !with_json {
                        for o in &mut page.objects {
                            o.json = None;
                        }
                    }
                    Ok(Served {
                        page,
                        bounds: served_bounds,
                    })
                })
                .await
        }
    }
}

/// Whether the caller may see any version of `id` in `collection`.
async fn object_exists(
    state: &TaxiiState,
    caller: &Caller,
    collection: &str,
    id: &str,
) -> Result<bool, TaxiiError> {
    let q = ObjectQuery {
        ids: vec![id.to_owned()],
        versions: vec![VersionMatch::All],
        limit: 1,
        with_json: false,
        ..ObjectQuery::new(collection)
    };
    Ok(!query(state, caller, q).await?.page.objects.is_empty())
}

fn page_query(state: &TaxiiState, p: &Params, collection: &str, with_json: bool) -> ObjectQuery {
    let config = state.config();
    p.query(collection, config.default_page, config.max_page, with_json)
}

/// `GET …/collections/{id}/objects/`.
pub(crate) async fn get_objects(
    State(state): State<TaxiiState>,
    Path((root, key)): Path<(String, String)>,
    query_pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let p = params(query_pairs, Endpoint::Objects)?;
    let (caller, c) = readable(&state, &headers, &root, &key).await?;
    let served = query(&state, &caller, page_query(&state, &p, &c.id, true)).await?;
    Ok(taxii_json(
        StatusCode::OK,
        envelope(&served.page),
        date_headers(&served),
    ))
}

/// `GET …/collections/{id}/objects/{object-id}/`.
pub(crate) async fn get_object(
    State(state): State<TaxiiState>,
    Path((root, key, id)): Path<(String, String, String)>,
    query_pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let mut p = params(query_pairs, Endpoint::Object)?;
    let (caller, c) = readable(&state, &headers, &root, &key).await?;
    p.ids = vec![id.clone()];
    let served = query(&state, &caller, page_query(&state, &p, &c.id, true)).await?;
    if served.page.objects.is_empty() && !object_exists(&state, &caller, &c.id, &id).await? {
        return Err(TaxiiError::not_found(format!(
            "no object '{id}' in collection '{key}'"
        )));
    }
    Ok(taxii_json(
        StatusCode::OK,
        envelope(&served.page),
        date_headers(&served),
    ))
}

/// `GET …/collections/{id}/objects/{object-id}/versions/`.
pub(crate) async fn versions(
    State(state): State<TaxiiState>,
    Path((root, key, id)): Path<(String, String, String)>,
    query_pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let mut p = params(query_pairs, Endpoint::Versions)?;
    let (caller, c) = readable(&state, &headers, &root, &key).await?;
    p.ids = vec![id.clone()];
    p.versions = vec![VersionMatch::All];
    let served = query(&state, &caller, page_query(&state, &p, &c.id, false)).await?;
    let page = &served.page;
    if page.objects.is_empty() && !object_exists(&state, &caller, &c.id, &id).await? {
        return Err(TaxiiError::not_found(format!(
            "no object '{id}' in collection '{key}'"
        )));
    }
    let mut out = open_list(page, page.objects.len() * 32);
    if !page.objects.is_empty() {
        let versions: Vec<&str> = page.objects.iter().map(|o| o.version.as_str()).collect();
        out.push_str(",\"versions\":");
        out.push_str(&json!(versions).to_string());
    }
    out.push('}');
    Ok(taxii_json(
        StatusCode::OK,
        out.into_bytes(),
        date_headers(&served),
    ))
}

/// `GET …/collections/{id}/manifest/`.
pub(crate) async fn manifest(
    State(state): State<TaxiiState>,
    Path((root, key)): Path<(String, String)>,
    query_pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let p = params(query_pairs, Endpoint::Objects)?;
    let (caller, c) = readable(&state, &headers, &root, &key).await?;
    let served = query(&state, &caller, page_query(&state, &p, &c.id, false)).await?;
    let page = &served.page;
    let mut out = open_list(page, page.objects.len() * 160);
    if !page.objects.is_empty() {
        let records: Vec<Value> = page
            .objects
            .iter()
            .map(|o| {
                json!({
                    "id": o.id,
                    "date_added": taxii_timestamp(o.date_added),
                    "version": o.version,
                    "media_type": STIX_MEDIA_TYPE,
                })
            })
            .collect();
        out.push_str(",\"objects\":");
        out.push_str(&Value::Array(records).to_string());
    }
    out.push('}');
    Ok(taxii_json(
        StatusCode::OK,
        out.into_bytes(),
        date_headers(&served),
    ))
}

/// `DELETE …/collections/{id}/objects/{object-id}/`: the matching versions the caller's
/// organisation owns (all matching ones for admins).
pub(crate) async fn delete_object(
    State(state): State<TaxiiState>,
    Path((root, key, id)): Path<(String, String, String)>,
    query_pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let p = params(query_pairs, Endpoint::Delete)?;
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    require_taxii_accept(&headers)?;
    let c = state.visible_collection(&caller, &key).await?;
    if !c.can_write(&caller.reader()) {
        return Err(TaxiiError::forbidden(format!(
            "you may not delete from collection '{key}'"
        )));
    }
    let request = p.delete(&c.id, &id);
    let reader = caller.reader();
    let deleted = state
        .blocking(move |store| store.delete_objects(&reader, &request))
        .await?;
    if deleted == 0 {
        if object_exists(&state, &caller, &c.id, &id).await? {
            return Err(TaxiiError::forbidden(format!(
                "no matching version of '{id}' belongs to organisation '{}'; only the owner \
                 organisation (or an admin) deletes",
                caller.org
            )));
        }
        return Err(TaxiiError::not_found(format!(
            "no object '{id}' in collection '{key}'"
        )));
    }
    Ok(StatusCode::OK.into_response())
}

/// Reads a request body of at most `max` bytes: 413 beyond.
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, TaxiiError> {
    let too_large = || {
        TaxiiError::too_large(format!(
            "the body exceeds max_content_length ({max} bytes); send fewer objects per request"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(TaxiiError::bad_request(format!(
            "the body could not be read: {e}"
        ))),
    }
}

/// `POST …/collections/{id}/objects/`: validates every object, stores all of them or none,
/// answers 202 with the (complete) status resource.
pub(crate) async fn add_objects(
    State(state): State<TaxiiState>,
    Path((root, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TaxiiError> {
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    let c = state.visible_collection(&caller, &key).await?;
    if !c.can_write(&caller.reader()) {
        return Err(TaxiiError::forbidden(format!(
            "you may not add objects to collection '{key}'"
        )));
    }
    require_taxii_accept(&headers)?;
    require_content_type(&headers)?;
    let bytes = read_body(&headers, body, state.config().max_content_length).await?;
    let limits = state.inner.limits.clone();
    let (mut objects, _) =
        tokio::task::spawn_blocking(move || parse_objects(&bytes, &limits, true))
            .await
            .map_err(TaxiiError::internal)?
            .map_err(|e| match e {
                EnvelopeError::Invalid(e) => TaxiiError::invalid_stix(&e),
                EnvelopeError::TooManyObjects { .. } => TaxiiError::too_large(e.to_string()),
                e => TaxiiError::bad_request(e.to_string()),
            })?;
    let config = state.config();
    let admission = state.inner.admission.clone();
    let admitted = match &admission {
        None => Admitted::default(),
        Some(a) => {
            let (a, caller, c) = (a.clone(), caller.clone(), c.clone());
            let (verdict, objects_back) = tokio::task::spawn_blocking(move || {
                let verdict = a.admit(&caller, &c, &objects);
                (verdict, objects)
            })
            .await
            .map_err(TaxiiError::internal)?;
            objects = objects_back;
            verdict?
        }
    };
    let write = IntelWrite {
        collection: c.id.clone(),
        objects,
        provenance: Provenance {
            source: format!("taxii:{}", caller.name),
            org: admitted.org.unwrap_or_else(|| caller.org.clone()),
            default_tlp: config.default_tlp,
            shared_with: admitted.shared_with,
        },
        received: chrono::Utc::now(),
        status_id: Some(uuid::Uuid::new_v4().to_string()),
    };
    let report = match admission {
        None => {
            state
                .blocking(move |store| store.put_objects(&write))
                .await?
        }
        Some(a) => {
            let (caller, c) = (caller.clone(), c.clone());
            state
                .blocking(move |store| {
                    let report = store.put_objects(&write)?;
                    a.stored(&caller, &c, &write, &report);
                    Ok(report)
                })
                .await?
        }
    };
    if report.added() > 0 {
        state.notify_changed();
    }
    let status = report
        .status
        .ok_or_else(|| TaxiiError::internal("the store recorded no status"))?;
    tracing::info!(
        collection = %c.id,
        caller = %caller.name,
        org = %caller.org,
        added = status.success_count,
        duplicates = status.failure_count,
        "TAXII objects added"
    );
    let body = serde_json::to_vec(&status).map_err(TaxiiError::internal)?;
    Ok(taxii_json(StatusCode::ACCEPTED, body, HeaderMap::new()))
}
