//! A TAXII server on a loopback socket over a real store, with tokens of several organisations
//! and roles, for the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use shield_federation::taxii::{self, TaxiiConfig, TaxiiState, TokenStoreAuth};
use shield_intel::tlp::Tlp;
use shield_store::{Role, SqliteStore, Store, TokenStore};
use tokio::task::JoinHandle;

pub const TAXII: &str = "application/taxii+json;version=2.1";

/// A running server and the secrets of its tokens.
pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub config: TaxiiConfig,
    /// Org "a": admin, analyst, peer. Org "b": analyst, peer. An ingest token.
    pub admin_a: String,
    pub analyst_a: String,
    pub peer_a: String,
    pub analyst_b: String,
    pub peer_b: String,
    pub ingest: String,
    _dir: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn token(store: &dyn TokenStore, name: &str, role: Role, org: &str) -> String {
    store.create_token(name, role, Some(org)).unwrap().1
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(TaxiiConfig::default()).await
    }

    pub async fn start_with(config: TaxiiConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        taxii::install_collections(&*store, &config).unwrap();
        let tokens: &dyn TokenStore = &*store;
        let admin_a = token(tokens, "admin-a", Role::Admin, "a");
        let analyst_a = token(tokens, "analyst-a", Role::Analyst, "a");
        let peer_a = token(tokens, "peer-a", Role::Peer, "a");
        let analyst_b = token(tokens, "analyst-b", Role::Analyst, "b");
        let peer_b = token(tokens, "peer-b", Role::Peer, "b");
        let ingest = token(tokens, "shipper", Role::Ingest, "a");
        let auth = Arc::new(TokenStoreAuth::new(store.clone(), "a"));
        let state = TaxiiState::new(store.clone(), auth, config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = taxii::router(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        TestServer {
            addr,
            store,
            config,
            admin_a,
            analyst_a,
            peer_a,
            analyst_b,
            peer_b,
            ingest,
            _dir: dir,
            task,
        }
    }

    /// `http://addr/taxii2/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/taxii2/{path}", self.addr)
    }

    /// `…/taxii2/shield/collections/<collection>/<rest>`.
    pub fn collection_url(&self, collection: &str, rest: &str) -> String {
        self.url(&format!("shield/collections/{collection}/{rest}"))
    }

    pub fn indicators_id(&self) -> String {
        self.config.collections[0].collection_id()
    }
}

pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

/// A GET with Basic auth (password = token) and the TAXII Accept.
pub fn get(url: &str, token: &str) -> RequestBuilder {
    client()
        .get(url)
        .basic_auth("user", Some(token))
        .header("accept", TAXII)
}

/// Posts an envelope of `objects` with the TAXII media types, as a bearer.
pub async fn post_objects(url: &str, token: &str, objects: &[Value]) -> Response {
    client()
        .post(url)
        .bearer_auth(token)
        .header("accept", TAXII)
        .header("content-type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .await
        .unwrap()
}

pub async fn json_of(r: Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {text:?}: {e}"))
}

/// A STIX timestamp `secs` after 2024-05-01 with milliseconds.
pub fn ts(secs: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z").unwrap()
        + chrono::Duration::seconds(secs))
    .with_timezone(&chrono::Utc)
    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
    .to_string()
}

/// The id `indicator--…n` (a valid version-4 UUID).
pub fn indicator_id(n: u64) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012x}")
}

/// Indicator `n` at version `modified` (seconds), marked `tlp` when given.
pub fn indicator(n: u64, modified: i64, tlp: Option<Tlp>) -> Value {
    let mut v = json!({
        "type": "indicator", "spec_version": "2.1", "id": indicator_id(n),
        "created": ts(0), "modified": ts(modified),
        "name": format!("Indicator {n}"),
        "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '198.51.{}.{}']", (n / 256) % 256, n % 256),
        "pattern_type": "stix", "pattern_version": "2.1", "valid_from": ts(0),
    });
    if let Some(tlp) = tlp {
        v["object_marking_refs"] = json!([tlp.marking_id()]);
    }
    v
}

/// The ids of an envelope's objects.
pub fn ids(envelope: &Value) -> Vec<String> {
    envelope["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
