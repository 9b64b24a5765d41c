//! TAXII `GET objects` requests per second under 50 concurrent clients, on a collection of
//! 10,000 indicators in the SQLite store (pages of 100, spread over the whole collection through
//! the server's own `next` cursors), over loopback HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use shield_federation::taxii::{
    self, AuthFailure, Caller, TaxiiAuth, TaxiiConfig, TaxiiState, credentials,
};
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;
use shield_store::intel::{IncomingObject, IntelWrite, Provenance};
use shield_store::{Role, SqliteStore, Store};

const INDICATORS: u64 = 10_000;
const CLIENTS: usize = 50;
const PAGE: usize = 100;

fn indicator(n: u64) -> StixObject {
    StixObject::from_value(json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012x}"),
        "created": "2024-05-01T00:00:00.000Z", "modified": "2024-05-01T00:00:00.000Z",
        "name": format!("C2 server {n}"), "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", n >> 16 & 255, n >> 8 & 255, n & 255),
        "pattern_type": "stix", "valid_from": "2024-05-01T00:00:00Z",
        "object_marking_refs": [Tlp::Green.marking_id()],
    }))
    .unwrap()
}

/// One known token, answered from memory as the node's cached authenticator does.
struct CachedAuth {
    token: String,
}

impl TaxiiAuth for CachedAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        match credentials(headers)? {
            Some(t) if t == self.token => Ok(Caller {
                name: "reader".into(),
                org: "b".into(),
                role: Role::Peer,
            }),
            _ => Err(AuthFailure::Unauthorized("unknown token".into())),
        }
    }
}

struct Setup {
    base: String,
    token: String,
    cursors: Vec<Option<String>>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let config = TaxiiConfig::default();
    taxii::install_collections(&*store, &config).unwrap();
    let collection = config.collections[0].collection_id();
    for batch in 0..INDICATORS / 1000 {
        let write = IntelWrite {
            collection: collection.clone(),
            objects: (batch * 1000..(batch + 1) * 1000)
                .map(|n| IncomingObject::new(indicator(n)))
                .collect(),
            provenance: Provenance {
                source: "bench".into(),
                org: "a".into(),
                default_tlp: Tlp::Green,
                shared_with: vec![],
            },
            received: chrono::Utc::now(),
            status_id: None,
        };
        store.put_objects(&write).unwrap();
    }
    let token = "shd_bench-reader-token".to_owned();
    let auth = Arc::new(CachedAuth {
        token: token.clone(),
    });
    let router = taxii::router(TaxiiState::new(store.clone(), auth, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://{}/taxii2/shield/collections/indicators/objects/",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // The cursor of every page, to spread requests over the collection.
    let http = reqwest::Client::new();
    let mut cursors = vec![None];
    loop {
        let mut request = http
            .get(&base)
            .bearer_auth(&token)
            .query(&[("limit", PAGE)]);
        if let Some(Some(next)) = cursors.last() {
            request = request.query(&[("next", next)]);
        }
        let page: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        match page["next"].as_str() {
            Some(next) => cursors.push(Some(next.to_owned())),
            None => break,
        }
    }
    assert_eq!(cursors.len(), INDICATORS as usize / PAGE);
    Setup {
        base,
        token,
        cursors,
        _dir: dir,
    }
}

fn get_objects(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let setup = Arc::new(runtime.block_on(setup()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let per_client = 8;
    let mut group = c.benchmark_group("taxii");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements((CLIENTS * per_client) as u64));
    group.bench_function("get_objects_50_clients_page_100_of_10k", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let tasks: Vec<_> = (0..CLIENTS)
                        .map(|client| {
                            let (http, setup) = (http.clone(), setup.clone());
                            tokio::spawn(async move {
                                for i in 0..per_client {
                                    let cursor = &setup.cursors
                                        [(client * per_client + i) % setup.cursors.len()];
                                    let mut request = http
                                        .get(&setup.base)
                                        .basic_auth("bench", Some(&setup.token))
                                        .query(&[("limit", PAGE)]);
                                    if let Some(next) = cursor {
                                        request = request.query(&[("next", next)]);
                                    }
                                    let r = request.send().await.unwrap();
                                    assert_eq!(r.status(), 200);
                                    let body = r.bytes().await.unwrap();
                                    assert!(body.len() > PAGE * 300);
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, get_objects);
criterion_main!(benches);
