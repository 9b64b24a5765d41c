//! The TAXII 2.1 server: an axum [`Router`] the node merges into its own.
//!
//! | route | methods |
//! |---|---|
//! | `/taxii2/` | GET discovery |
//! | `/taxii2/{root}/` | GET API root |
//! | `/taxii2/{root}/status/{id}/` | GET status of an add request |
//! | `/taxii2/{root}/collections/` | GET the collections the caller may see |
//! | `/taxii2/{root}/collections/{id}/` | GET one collection (by id or alias) |
//! | `/taxii2/{root}/collections/{id}/objects/` | GET (envelope), POST (add; 202 + status) |
//! | `/taxii2/{root}/collections/{id}/objects/{object-id}/` | GET, DELETE |
//! | `/taxii2/{root}/collections/{id}/objects/{object-id}/versions/` | GET |
//! | `/taxii2/{root}/collections/{id}/manifest/` | GET |
//! | `/taxii2/{root}/collections/{id}/stream/` | GET server-sent events (Shield's live feed) |
//!
//! Every route also answers without its trailing slash. Every request authenticates through
//! [`TaxiiAuth`] (401), unknown roots, collections, objects and statuses, and collections the
//! caller may not see, are 404, a visible collection it may not read or write is 403, an `Accept`
//! that excludes TAXII 2.1 is 406, a POST body that is not TAXII/STIX JSON is 415, one over
//! `max_content_length` (or with too many objects) is 413, and an invalid STIX object refuses the
//! whole request with 422 naming the object's index, id and property: nothing of it is stored.
//! Every error is a TAXII error resource ([`TaxiiError`]). Store calls run on blocking threads.

mod admission;
mod auth;
pub(crate) mod config;
mod error;
mod media;
mod objects;
mod params;
mod resources;
mod scope;
mod stream;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{MethodRouter, get};
use shield_intel::stix::Limits;
use shield_store::IntelStore;
use shield_store::intel::Collection;

pub use admission::{Admission, Admitted};
pub use auth::{AuthFailure, Caller, TaxiiAuth, TokenStoreAuth, credentials};
pub use config::{CollectionConfig, TaxiiConfig, install_collections};
pub use error::{ErrorResource, TaxiiError};
pub use media::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE};
pub use params::{Endpoint, Params, parse as parse_params};
pub use scope::{ReadPolicy, ReadScope};
pub use stream::{MAX_STREAM_LIFETIME, MAX_STREAM_PAGE, STREAM_MEDIA_TYPE, format_event};

/// What the TAXII handlers share: the store, authentication, configuration.
#[derive(Clone)]
pub struct TaxiiState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    store: Arc<dyn IntelStore>,
    auth: Arc<dyn TaxiiAuth>,
    config: TaxiiConfig,
    limits: Limits,
    admission: Option<Arc<dyn Admission>>,
    read_policy: Option<Arc<dyn ReadPolicy>>,
    changes: tokio::sync::watch::Sender<u64>,
    streams: Arc<tokio::sync::Semaphore>,
    closing: Option<tokio::sync::watch::Receiver<bool>>,
}

impl TaxiiState {
    /// The state of a server over `store`, authenticating through `auth`.
    pub fn new(
        store: Arc<dyn IntelStore>,
        auth: Arc<dyn TaxiiAuth>,
        config: TaxiiConfig,
    ) -> TaxiiState {
        let limits = Limits {
            max_bytes: config.max_content_length,
            max_objects: config.max_objects_per_request,
            ..Limits::default()
        };
        TaxiiState {
            inner: Arc::new(Inner {
                store,
                auth,
                config,
                limits,
                admission: None,
                read_policy: None,
                changes: tokio::sync::watch::Sender::new(0),
                streams: Arc::new(tokio::sync::Semaphore::new(stream::MAX_STREAMS)),
                closing: None,
            }),
        }
    }

    fn update(mut self, change: impl FnOnce(&mut Inner)) -> TaxiiState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            change(inner);
        } else {
            let mut inner = (*self.inner).clone();
            change(&mut inner);
            self.inner = Arc::new(inner);
        }
        self
    }

    /// The same server, asking `admission` about every add request before storing it (and
    /// telling it what was stored). Call before the state is shared.
    pub fn with_admission(self, admission: Arc<dyn Admission>) -> TaxiiState {
        self.update(|inner| inner.admission = Some(admission))
    }

    /// The same server, reading through the scopes `policy` gives callers (see
    /// [`ReadPolicy`]). Call before the state is shared.
    pub fn with_read_policy(self, policy: Arc<dyn ReadPolicy>) -> TaxiiState {
        self.update(|inner| inner.read_policy = Some(policy))
    }

    /// The same server, waking its streams through `changes` (the node bumps it whenever it
    /// stores intelligence, also outside TAXII). Call before the state is shared.
    pub fn with_changes(self, changes: tokio::sync::watch::Sender<u64>) -> TaxiiState {
        self.update(|inner| inner.changes = changes)
    }

    /// The same server, ending its open streams when `closing` turns true (a node stopping:
    /// its graceful shutdown waits for open responses). Call before the state is shared.
    pub fn with_closing(self, closing: tokio::sync::watch::Receiver<bool>) -> TaxiiState {
        self.update(|inner| inner.closing = Some(closing))
    }

    /// Tells open streams that something was stored.
    pub fn notify_changed(&self) {
        self.inner.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The scope `caller` reads with, when the read policy gives it one.
    fn scope(&self, caller: &Caller) -> Option<Arc<dyn ReadScope>> {
        self.inner
            .read_policy
            .as_ref()
            .and_then(|p| p.scope(caller))
    }

    /// The configuration.
    pub fn config(&self) -> &TaxiiConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn IntelStore> {
        &self.inner.store
    }

    /// The caller of a request.
    fn caller(&self, headers: &HeaderMap) -> Result<Caller, TaxiiError> {
        Ok(self.inner.auth.authenticate(headers)?)
    }

    /// Passes for the configured API root, 404 otherwise.
    fn check_root(&self, root: &str) -> Result<(), TaxiiError> {
        if root == self.inner.config.api_root {
            Ok(())
        } else {
            Err(TaxiiError::not_found(format!("no API root '{root}'")))
        }
    }

    /// The collection `key` (id or alias) when `caller` may see it; 404 otherwise.
    async fn visible_collection(
        &self,
        caller: &Caller,
        key: &str,
    ) -> Result<Collection, TaxiiError> {
        let key_owned = key.to_owned();
        let found = self
            .blocking(move |store| store.collection(&key_owned))
            .await?;
        found
            .filter(|c| c.is_visible_to(&caller.reader()))
            .ok_or_else(|| TaxiiError::not_found(format!("no collection '{key}'")))
    }

    /// The URL of the API root, as listed in discovery.
    fn api_root_url(&self) -> String {
        let base = self
            .inner
            .config
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/');
        format!("{base}/taxii2/{}/", self.inner.config.api_root)
    }

    /// Runs a store call on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn IntelStore) -> Result<T, shield_store::StoreError> + Send + 'static,
    ) -> Result<T, TaxiiError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(TaxiiError::internal)?
            .map_err(TaxiiError::from)
    }
}

/// The TAXII 2.1 routes under `/taxii2/`, ready to merge into the node's router (they set no
/// fallback and read bodies themselves under `max_content_length`).
pub fn router(state: TaxiiState) -> Router {
    let routes: [(&str, MethodRouter<TaxiiState>); 10] = [
        ("/taxii2/", get(resources::discovery)),
        ("/taxii2/{root}/", get(resources::api_root)),
        ("/taxii2/{root}/status/{id}/", get(resources::status)),
        ("/taxii2/{root}/collections/", get(resources::collections)),
        (
            "/taxii2/{root}/collections/{collection}/",
            get(resources::collection),
        ),
        (
            "/taxii2/{root}/collections/{collection}/objects/",
            get(objects::get_objects).post(objects::add_objects),
        ),
        (
            "/taxii2/{root}/collections/{collection}/objects/{object}/",
            get(objects::get_object).delete(objects::delete_object),
        ),
        (
            "/taxii2/{root}/collections/{collection}/objects/{object}/versions/",
            get(objects::versions),
        ),
        (
            "/taxii2/{root}/collections/{collection}/manifest/",
            get(objects::manifest),
        ),
        (
            "/taxii2/{root}/collections/{collection}/stream/",
            get(stream::stream),
        ),
    ];
    let mut router = Router::new();
    for (path, methods) in routes {
        router = router
            .route(path, methods.clone())
            .route(path.trim_end_matches('/'), methods);
    }
    router.layer(DefaultBodyLimit::disable()).with_state(state)
}
