//! A TAXII 2.1 client: discovery, API roots, collections, objects with pagination, adding
//! objects and waiting for their status.
//!
//! Servers are untrusted: every response body is read under a size cap, objects are validated
//! one by one ([`ObjectsPage::invalid`] lists those refused, the others are kept verbatim), and
//! nothing a server says is followed without bounds.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{RequestBuilder, Response};

/// The URL type the client takes (re-exported so callers need no HTTP client of their own).
pub use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shield_intel::stix::{Limits, StixError};
use shield_store::intel::{IncomingObject, StatusResource};

use crate::envelope::parse_objects;
use crate::error::FederationError;
use crate::taxii::{TAXII_MEDIA_TYPE, TaxiiError};

/// Largest response body read by default, in bytes.
pub const DEFAULT_MAX_RESPONSE: usize = 64 << 20;

/// How a client proves who it is.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP Basic.
    Basic {
        /// User name.
        user: String,
        /// Password (a Shield token, for Shield servers).
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// Never prints secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer(…)"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, …)"),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Credentials sent with every request.
    pub credentials: Credentials,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Largest response body read.
    pub max_response: usize,
    /// PEM certificates of extra trusted roots (a private hub's CA).
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Limits objects are validated within.
    pub limits: Limits,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            credentials: Credentials::None,
            timeout: Duration::from_secs(60),
            max_response: DEFAULT_MAX_RESPONSE,
            extra_roots_pem: None,
            limits: Limits::default(),
        }
    }
}

/// A discovery resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Contact.
    #[serde(default)]
    pub contact: Option<String>,
    /// The default API root's URL.
    #[serde(default)]
    pub default: Option<String>,
    /// API root URLs (possibly relative to the discovery URL).
    #[serde(default)]
    pub api_roots: Vec<String>,
}

/// An API root resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiRootInfo {
    /// Title.
    pub title: String,
    /// Supported TAXII media types.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Largest request body the server takes.
    pub max_content_length: u64,
}

/// A collection resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CollectionInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Alias.
    #[serde(default)]
    pub alias: Option<String>,
    /// Whether the caller may read.
    pub can_read: bool,
    /// Whether the caller may write.
    pub can_write: bool,
    /// Media types of its objects.
    #[serde(default)]
    pub media_types: Vec<String>,
}

#[derive(Deserialize)]
struct CollectionList {
    #[serde(default)]
    collections: Vec<CollectionInfo>,
}

#[derive(Deserialize)]
struct PageHead {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
}

/// What to ask `GET objects` for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectsRequest {
    /// `added_after` (a TAXII timestamp, as a previous page's `X-TAXII-Date-Added-Last`).
    pub added_after: Option<String>,
    /// `limit`.
    pub limit: Option<usize>,
    /// `next`, from the previous page.
    pub next: Option<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// `match[version]` (`last`, `first`, `all` or timestamps).
    pub versions: Vec<String>,
}

impl ObjectsRequest {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(a) = &self.added_after {
            q.push(("added_after", a.clone()));
        }
        if let Some(l) = self.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(n) = &self.next {
            q.push(("next", n.clone()));
        }
        for (name, list) in [
            ("match[type]", &self.types),
            ("match[id]", &self.ids),
            ("match[version]", &self.versions),
        ] {
            if !list.is_empty() {
                q.push((name, list.join(",")));
            }
        }
        q
    }
}

/// One page of objects.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectsPage {
    /// The valid objects, each with its JSON text as served.
    pub objects: Vec<IncomingObject>,
    /// One error per object that is not valid STIX 2.1 (index in the page, id, property).
    pub invalid: Vec<StixError>,
    /// Whether the server has more.
    pub more: bool,
    /// The server's cursor for the next page.
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First`.
    pub date_added_first: Option<String>,
    /// `X-TAXII-Date-Added-Last`: the `added_after` of a later poll.
    pub date_added_last: Option<String>,
}

/// A TAXII 2.1 client.
#[derive(Debug, Clone)]
pub struct TaxiiClient {
    http: reqwest::Client,
    options: ClientOptions,
}

/// A URL with a trailing slash, so that relative resolution appends to it.
fn as_directory(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

impl TaxiiClient {
    /// A client with `options`. Installs the ring TLS provider for the process if none is.
    pub fn new(options: ClientOptions) -> Result<TaxiiClient, FederationError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("shield/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| FederationError::Tls(e.to_string()))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| FederationError::Tls(e.to_string()))?;
        Ok(TaxiiClient { http, options })
    }

    fn request(&self, builder: RequestBuilder) -> RequestBuilder {
        self.authorised(builder.header(ACCEPT, TAXII_MEDIA_TYPE))
    }

    fn authorised(&self, builder: RequestBuilder) -> RequestBuilder {
        match &self.options.credentials {
            Credentials::None => builder,
            Credentials::Bearer(token) => builder.bearer_auth(token),
            Credentials::Basic { user, password } => builder.basic_auth(user, Some(password)),
        }
    }

    /// Sends a request and reads its body under the size cap; a TAXII error answer becomes
    /// [`FederationError::Server`].
    async fn send(
        &self,
        url: &Url,
        builder: RequestBuilder,
    ) -> Result<(HeaderMap, Vec<u8>), FederationError> {
        let http_error = |source| FederationError::Http {
            url: url.to_string(),
            source,
        };
        let mut response: Response = self.request(builder).send().await.map_err(http_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.options.max_response;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FederationError::ResponseTooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http_error)? {
            if body.len() + chunk.len() > limit {
                return Err(FederationError::ResponseTooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(server_error(url, status.as_u16(), &body));
        }
        Ok((headers, body))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, FederationError> {
        let (_, body) = self.send(url, self.http.get(url.clone())).await?;
        serde_json::from_slice(&body).map_err(|e| FederationError::InvalidResponse {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    fn join(base: &Url, path: &str) -> Result<Url, FederationError> {
        as_directory(base)
            .join(path)
            .map_err(|e| FederationError::InvalidUrl(format!("{base} + {path}: {e}")))
    }

    /// `GET` the discovery resource at `url`.
    pub async fn discovery(&self, url: &Url) -> Result<Discovery, FederationError> {
        self.get_json(&as_directory(url)).await
    }

    /// The URLs of the API roots a discovery resource lists, resolved against its URL.
    pub fn api_root_urls(
        discovery_url: &Url,
        discovery: &Discovery,
    ) -> Result<Vec<Url>, FederationError> {
        discovery
            .api_roots
            .iter()
            .map(|r| Ok(as_directory(&Self::join(discovery_url, r)?)))
            .collect()
    }

    /// `GET` an API root.
    pub async fn api_root(&self, api_root: &Url) -> Result<ApiRootInfo, FederationError> {
        self.get_json(&as_directory(api_root)).await
    }

    /// The collections of an API root the caller may see.
    pub async fn collections(
        &self,
        api_root: &Url,
    ) -> Result<Vec<CollectionInfo>, FederationError> {
        let list: CollectionList = self
            .get_json(&Self::join(api_root, "collections/")?)
            .await?;
        Ok(list.collections)
    }

    fn objects_url(api_root: &Url, collection: &str) -> Result<Url, FederationError> {
        if collection.is_empty() || collection.contains(['/', '?', '#']) {
            return Err(FederationError::InvalidUrl(format!(
                "collection id {collection:?}"
            )));
        }
        Self::join(api_root, &format!("collections/{collection}/objects/"))
    }

    /// One page of `GET objects`.
    pub async fn get_objects(
        &self,
        api_root: &Url,
        collection: &str,
        request: &ObjectsRequest,
    ) -> Result<ObjectsPage, FederationError> {
        let url = Self::objects_url(api_root, collection)?;
        let builder = self.http.get(url.clone()).query(&request.pairs());
        let (headers, body) = self.send(&url, builder).await?;
        let invalid_response = |reason: String| FederationError::InvalidResponse {
            url: url.to_string(),
            reason,
        };
        let head: PageHead =
            serde_json::from_slice(&body).map_err(|e| invalid_response(e.to_string()))?;
        let limits = self.options.limits.clone();
        let (objects, invalid) =
            tokio::task::spawn_blocking(move || parse_objects(&body, &limits, false))
                .await
                .map_err(|e| invalid_response(e.to_string()))?
                .map_err(|e| invalid_response(e.to_string()))?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(ObjectsPage {
            objects,
            invalid,
            more: head.more,
            next: head.next.filter(|n| !n.is_empty()),
            date_added_first: header("x-taxii-date-added-first"),
            date_added_last: header("x-taxii-date-added-last"),
        })
    }

    /// `POST` objects (their JSON texts) to a collection; the server's status resource.
    pub async fn add_objects(
        &self,
        api_root: &Url,
        collection: &str,
        objects: &[&str],
    ) -> Result<StatusResource, FederationError> {
        let url = Self::objects_url(api_root, collection)?;
        let mut body =
            String::with_capacity(objects.iter().map(|o| o.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"objects\":[");
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(o);
        }
        body.push_str("]}");
        let builder = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, TAXII_MEDIA_TYPE)
            .body(body);
        let (_, body) = self.send(&url, builder).await?;
        serde_json::from_slice(&body).map_err(|e| FederationError::InvalidResponse {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET` a status resource.
    pub async fn status(
        &self,
        api_root: &Url,
        id: &str,
    ) -> Result<StatusResource, FederationError> {
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(FederationError::InvalidUrl(format!("status id {id:?}")));
        }
        self.get_json(&Self::join(api_root, &format!("status/{id}/"))?)
            .await
    }

    /// Polls a status until it is complete or `timeout` passes (every `interval`); the last
    /// status seen.
    pub async fn wait_until_complete(
        &self,
        api_root: &Url,
        status: StatusResource,
        interval: Duration,
        timeout: Duration,
    ) -> Result<StatusResource, FederationError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut status = status;
        while status.status != "complete" && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(interval).await;
            status = self.status(api_root, &status.id).await?;
        }
        Ok(status)
    }
}

/// Longest a live feed may stay silent (no event, no keep-alive) before the client gives up.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// One event of a live feed: a page of versions and the position after it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPage {
    /// The event id: the `date_added` of the last version of the page (the `Last-Event-ID` and
    /// `added_after` to resume from).
    pub cursor: String,
    /// The valid objects, each with its JSON text.
    pub objects: Vec<IncomingObject>,
    /// One error per object that is not valid STIX 2.1.
    pub invalid: Vec<StixError>,
}

/// An open live feed (`…/collections/{id}/stream/`), read event by event.
#[derive(Debug)]
pub struct EventStream {
    url: Url,
    response: Response,
    buffer: Vec<u8>,
    limits: Limits,
    max_event: usize,
}

/// The fields of one server-sent event being read.
#[derive(Default)]
struct RawEvent {
    id: Option<String>,
    event: Option<String>,
    data: Vec<u8>,
    lines: usize,
}

impl EventStream {
    fn invalid(&self, reason: impl Into<String>) -> FederationError {
        FederationError::InvalidResponse {
            url: self.url.to_string(),
            reason: reason.into(),
        }
    }

    /// The next page of objects; `None` when the server closed the stream. Keep-alive comments
    /// are skipped; silence longer than [`STREAM_IDLE_TIMEOUT`] is an error.
    pub async fn next_page(&mut self) -> Result<Option<StreamPage>, FederationError> {
        let mut event = RawEvent::default();
        let mut scanned = 0;
        loop {
            while let Some(end) = self.buffer[scanned..].iter().position(|&b| b == b'\n') {
                let line_end = scanned + end;
                let mut line = &self.buffer[scanned..line_end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let line = line.to_vec();
                scanned = line_end + 1;
                if line.is_empty() {
                    self.buffer.drain(..scanned);
                    scanned = 0;
                    let done = std::mem::take(&mut event);
                    if let Some(page) = self.dispatch(done).await? {
                        return Ok(Some(page));
                    }
                    continue;
                }
                if line[0] == b':' {
                    continue;
                }
                let (field, value) = match line.iter().position(|&b| b == b':') {
                    Some(i) => {
                        let v = &line[i + 1..];
                        (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
                    }
                    None => (&line[..], &b""[..]),
                };
                match field {
                    b"id" => event.id = Some(String::from_utf8_lossy(value).into_owned()),
                    b"event" => event.event = Some(String::from_utf8_lossy(value).into_owned()),
                    b"data" => {
                        if event.lines > 0 {
                            event.data.push(b'\n');
                        }
                        event.data.extend_from_slice(value);
                        event.lines += 1;
                    }
                    _ => {}
                }
            }
            if self.buffer.len() > self.max_event {
                return Err(self.invalid(format!("an event larger than {} bytes", self.max_event)));
            }
            let chunk = tokio::time::timeout(STREAM_IDLE_TIMEOUT, self.response.chunk())
                .await
                .map_err(|_| self.invalid("the stream fell silent"))?
                .map_err(|source| FederationError::Http {
                    url: self.url.to_string(),
                    source,
                })?;
            match chunk {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }

    async fn dispatch(&self, event: RawEvent) -> Result<Option<StreamPage>, FederationError> {
        match event.event.as_deref() {
            Some("objects") => {}
            Some("error") => {
                let error: Option<serde_json::Value> = serde_json::from_slice(&event.data).ok();
                let text = |name: &str| {
                    error
                        .as_ref()
                        .and_then(|e| e.get(name))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                return Err(FederationError::Server {
                    url: self.url.to_string(),
                    status: text("http_status")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(500),
                    title: text("title"),
                    description: text("description"),
                });
            }
            _ => return Ok(None),
        }
        let cursor = event
            .id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| self.invalid("an objects event without an id"))?;
        let limits = self.limits.clone();
        let data = event.data;
        let (objects, invalid) =
            tokio::task::spawn_blocking(move || parse_objects(&data, &limits, false))
                .await
                .map_err(|e| self.invalid(e.to_string()))?
                .map_err(|e| self.invalid(e.to_string()))?;
        Ok(Some(StreamPage {
            cursor,
            objects,
            invalid,
        }))
    }
}

impl TaxiiClient {
    /// Opens the live feed of `collection` from `after` (a previous event's cursor, sent as
    /// `Last-Event-ID`), or from the start.
    pub async fn open_stream(
        &self,
        api_root: &Url,
        collection: &str,
        after: Option<&str>,
    ) -> Result<EventStream, FederationError> {
        if collection.is_empty() || collection.contains(['/', '?', '#']) {
            return Err(FederationError::InvalidUrl(format!(
                "collection id {collection:?}"
            )));
        }
        let url = Self::join(api_root, &format!("collections/{collection}/stream/"))?;
        let mut builder = self
            .authorised(self.http.get(url.clone()))
            .header(ACCEPT, crate::taxii::STREAM_MEDIA_TYPE)
            // The stream outlives the client's request timeout; silence is watched instead.
            .timeout(crate::taxii::MAX_STREAM_LIFETIME + Duration::from_secs(60));
        if let Some(after) = after {
            builder = builder.header("last-event-id", after);
        }
        let response = builder
            .send()
            .await
            .map_err(|source| FederationError::Http {
                url: url.to_string(),
                source,
            })?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let mut response = response;
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() > 64 << 10 {
                    break;
                }
            }
            return Err(server_error(&url, status, &body));
        }
        Ok(EventStream {
            url,
            response,
            buffer: Vec::new(),
            limits: self.options.limits.clone(),
            max_event: self.options.max_response,
        })
    }
}

/// A TAXII error resource as the server sent it (for callers that want the whole of it).
pub fn parse_error(body: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .filter(|v| v.get("title").is_some())
}

impl From<TaxiiError> for FederationError {
    fn from(e: TaxiiError) -> Self {
        FederationError::Server {
            url: String::new(),
            status: e.status().as_u16(),
            title: Some(e.title.clone()),
            description: e.description.clone(),
        }
    }
}

/// A non-success answer: its status, and the TAXII error resource's title and description when
/// the body is one.
fn server_error(url: &Url, status: u16, body: &[u8]) -> FederationError {
    let error: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        error
            .as_ref()
            .and_then(|e| e.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    FederationError::Server {
        url: url.to_string(),
        status,
        title: field("title"),
        description: field("description"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_like_taxii_clients_do() {
        let discovery = Url::parse("https://hub.example/taxii2/").unwrap();
        let d = Discovery {
            title: "t".into(),
            description: None,
            contact: None,
            default: None,
            api_roots: vec![
                "/taxii2/shield/".into(),
                "https://other.example/root".into(),
            ],
        };
        let roots = TaxiiClient::api_root_urls(&discovery, &d).unwrap();
        assert_eq!(roots[0].as_str(), "https://hub.example/taxii2/shield/");
        assert_eq!(roots[1].as_str(), "https://other.example/root/");
        let objects = TaxiiClient::objects_url(&roots[0], "indicators").unwrap();
        assert_eq!(
            objects.as_str(),
            "https://hub.example/taxii2/shield/collections/indicators/objects/"
        );
        let no_slash = Url::parse("https://hub.example/taxii2/shield").unwrap();
        assert_eq!(
            TaxiiClient::objects_url(&no_slash, "c").unwrap().as_str(),
            "https://hub.example/taxii2/shield/collections/c/objects/"
        );
        assert!(TaxiiClient::objects_url(&roots[0], "../x").is_err());
    }

    #[test]
    fn credentials_never_print() {
        let c = Credentials::Basic {
            user: "u".into(),
            password: "secret".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
        assert!(!format!("{:?}", Credentials::Bearer("tok".into())).contains("tok"));
    }

    #[test]
    fn request_pairs() {
        let r = ObjectsRequest {
            added_after: Some("2024-05-01T00:00:00.000001Z".into()),
            limit: Some(10),
            types: vec!["indicator".into(), "malware".into()],
            ..ObjectsRequest::default()
        };
        assert_eq!(
            r.pairs(),
            vec![
                ("added_after", "2024-05-01T00:00:00.000001Z".to_owned()),
                ("limit", "10".to_owned()),
                ("match[type]", "indicator,malware".to_owned()),
            ]
        );
    }
}
