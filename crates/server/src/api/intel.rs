//! `GET /api/v1/intel/search?value=V` and `GET /api/v1/intel/objects/{id}`.
//!
//! Both read through the store's [`Reader`], so the TLP rule applies inside the query: an AMBER,
//! AMBER+STRICT or RED object is returned only to its owner organisation and the organisations it
//! was shared with, whatever the caller's role. Collection access lists come on top: an object is
//! found only in collections the caller may read.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use shield_store::intel::{ObjectQuery, Reader, StoredObject, VersionMatch};
use shield_store::{IntelStore, Role};

use crate::auth::{CredentialForms, Principal};
use crate::error::ApiError;
use crate::state::SharedState;

/// Longest value searched for.
const MAX_VALUE: usize = 4096;

/// Query parameters of `GET /api/v1/intel/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// An address, domain, URL, hash or e-mail address.
    value: Option<String>,
}

fn reader(state: &SharedState, headers: &HeaderMap) -> Result<(Principal, Reader), ApiError> {
    let p = state.authenticate(headers, CredentialForms::Bearer)?;
    p.require(&[Role::Admin, Role::Analyst])?;
    let reader = Reader::new(p.org.clone(), p.role, p.name.clone());
    Ok((p, reader))
}

/// One stored version as the API shows it: metadata and the STIX object.
fn view(o: StoredObject, collection_alias: Option<String>) -> Value {
    let now = Utc::now();
    let object = o
        .json
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
        .unwrap_or(Value::Null);
    json!({
        "id": o.id,
        "type": o.type_name,
        "version": o.version,
        "collection": o.collection,
        "collection_alias": collection_alias,
        "tlp": o.tlp.tag(),
        "owner_org": o.owner_org,
        "source": o.source,
        "date_added": shield_store::intel::taxii_timestamp(o.date_added),
        "revoked": o.revoked,
        "valid_until": o.valid_until.map(shield_store::intel::taxii_timestamp),
        "expired": o.valid_until.is_some_and(|t| t <= now),
        "object": object,
    })
}

/// Orders versions of one object: by version time, then by when this node stored them.
fn version_key(o: &StoredObject) -> (Option<chrono::DateTime<Utc>>, chrono::DateTime<Utc>) {
    let version = chrono::DateTime::parse_from_rfc3339(&o.version)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    (version, o.date_added)
}

/// The aliases of the collections `reader` may read, by id.
fn readable(
    store: &dyn IntelStore,
    reader: &Reader,
) -> Result<Vec<(String, Option<String>)>, shield_store::StoreError> {
    Ok(store
        .collections()?
        .into_iter()
        .filter(|c| c.can_read(reader))
        .map(|c| (c.id, c.alias))
        .collect())
}

/// Indicators whose pattern looks for a value, in collections the caller may read.
pub async fn search(
    State(state): State<SharedState>,
    headers: HeaderMap,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (_, reader) = reader(&state, &headers)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let value = params
        .value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request("parameter 'value' is required"))?;
    if value.len() > MAX_VALUE {
        return Err(ApiError::bad_request(format!(
            "parameter 'value' is longer than {MAX_VALUE} bytes"
        )));
    }
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || {
        let collections = readable(store.as_ref(), &reader)?;
        let found = store.lookup_observable(&reader, &value)?;
        Ok::<_, shield_store::StoreError>(
            found
                .into_iter()
                .filter_map(|o| {
                    let alias = collections.iter().find(|(id, _)| *id == o.collection)?;
                    Some(view(o, alias.1.clone()))
                })
                .collect::<Vec<Value>>(),
        )
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(json!({ "indicators": found })))
}

/// The newest version of one STIX object the caller may see, from any collection it may read.
pub async fn object(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, reader) = reader(&state, &headers)?;
    let valid = id.split_once("--").is_some_and(|(t, u)| {
        !t.is_empty()
            && t.len() <= 250
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && uuid::Uuid::parse_str(u).is_ok()
    });
    if !valid {
        return Err(ApiError::bad_request(format!(
            "'{}' is not a STIX identifier (type--UUID)",
            id.chars().take(100).collect::<String>()
        )));
    }
    let store = state.store.clone();
    let wanted = id.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut newest: Option<(StoredObject, Option<String>)> = None;
        for (collection, alias) in readable(store.as_ref(), &reader)? {
            let mut q = ObjectQuery::new(collection);
            q.ids = vec![wanted.clone()];
            q.versions = vec![VersionMatch::Last];
            q.limit = 1;
            let page = store.query_objects(&reader, &q)?;
            for o in page.objects {
                let newer = newest
                    .as_ref()
                    .is_none_or(|(n, _)| version_key(&o) > version_key(n));
                if newer {
                    newest = Some((o, alias.clone()));
                }
            }
        }
        Ok::<_, shield_store::StoreError>(newest)
    })
    .await
    .map_err(ApiError::internal)??;
    match found {
        Some((o, alias)) => Ok(Json(view(o, alias))),
        None => Err(ApiError::not_found(format!("no object {id}"))),
    }
}
