//! NDJSON ingest over HTTP on loopback, end to end: requests from concurrent clients until every
//! event has gone through detection and into the archive.
//!
//! `cargo bench -p shield-server --bench ingest`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN: &str = "bench-admin-token-0123456789";
const BATCH: usize = 5_000;
const CLIENTS: usize = 4;
const EVENTS_PER_ITER: usize = 200_000;

fn sysmon_line(i: usize) -> String {
    format!(
        concat!(
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":1,"##,
            r##""Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws{}.corp.example","##,
            r##""TimeCreated":{{"#attributes":{{"SystemTime":"2024-05-01T10:00:00.000Z"}}}},"EventRecordID":{}}},"##,
            r##""EventData":{{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c echo {}","##,
            r##""ParentImage":"C:\\Windows\\explorer.exe","User":"CORP\\user{}","Hashes":"SHA256=4E2B0D5B2D2D","##,
            r##""ProcessId":"{}","IntegrityLevel":"Medium"}}}}}}"##
        ),
        i % 50,
        i,
        i,
        i % 100,
        1000 + i
    )
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = shield_server::NodeConfig::default();
    config.server.listen = "127.0.0.1:0".to_owned();
    config.server.data_dir = dir.path().to_owned();
    config.ingest.queue_events = 100_000;
    let node = runtime
        .block_on(shield_server::start(config, Some(ADMIN.to_owned())))
        .expect("node");
    let url = format!("{}/api/v1/events", node.url());
    let body: String = (0..BATCH).map(|i| sysmon_line(i) + "\n").collect();
    let body = bytes::Bytes::from(body);
    let state = Arc::clone(node.state());

    let mut group = c.benchmark_group("http_ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(EVENTS_PER_ITER as u64));
    group.bench_function("ndjson_sysmon_5000_per_request_4_clients", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = state.pipeline.counters().processed.load(Ordering::Relaxed);
                let started = Instant::now();
                runtime.block_on(async {
                    let mut tasks = Vec::new();
                    for _ in 0..CLIENTS {
                        let (url, body) = (url.clone(), body.clone());
                        tasks.push(tokio::spawn(async move {
                            let http = reqwest::Client::new();
                            let mut sent = 0;
                            while sent < EVENTS_PER_ITER / CLIENTS {
                                let r = http
                                    .post(&url)
                                    .bearer_auth(ADMIN)
                                    .body(body.clone())
                                    .send()
                                    .await
                                    .expect("post");
                                if r.status().as_u16() == 429 {
                                    tokio::time::sleep(Duration::from_millis(5)).await;
                                    continue;
                                }
                                assert!(r.status().is_success(), "{}", r.status());
                                sent += BATCH;
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.expect("client");
                    }
                });
                let target = before + EVENTS_PER_ITER as u64;
                while state.pipeline.counters().processed.load(Ordering::Relaxed) < target {
                    std::thread::sleep(Duration::from_micros(200));
                }
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    runtime.block_on(node.stop());
}

criterion_group!(benches, bench);
criterion_main!(benches);
