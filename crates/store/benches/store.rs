//! Throughput of the SQLite store and of the event archive.
//!
//! `cargo bench -p shield-store --bench store`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use shield_event::{AlertKind, Level};
use shield_store::testsuite::{at, sample_alert, sample_windows_event};
use shield_store::{AlertQuery, AlertStore, ArchiveConfig, EventArchive, SqliteStore, StatsStore};

fn alerts(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("sqlite");
    group.throughput(Throughput::Elements(100));
    group.bench_function("insert_alerts/batch_100", |b| {
        b.iter_batched(
            || {
                (0..100)
                    .map(|_| {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let level = Level::ALL[(n % 5) as usize];
                        sample_alert(
                            u128::from(n),
                            at(n as i64),
                            level,
                            "r1",
                            AlertKind::Sigma,
                            Some("ee-cert"),
                        )
                    })
                    .collect::<Vec<_>>()
            },
            |batch| store.insert_alerts(black_box(&batch)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("add_ingest", |b| {
        b.iter(|| store.add_ingest("bulk", 500, 2, 512_000).unwrap())
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("query_alerts/page_100", |b| {
        b.iter(|| {
            store
                .query_alerts(&AlertQuery {
                    min_level: Some(Level::High),
                    ..AlertQuery::default()
                })
                .unwrap()
        })
    });
    group.finish();
}

fn archive(c: &mut Criterion) {
    let batch: Vec<_> = (0..1000)
        .map(|i| sample_windows_event(i, at(0) + Duration::milliseconds(i as i64)))
        .collect();
    let json_bytes: usize = batch
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap().len() + 1)
        .sum();
    println!(
        "event size: {} bytes of JSON on average",
        json_bytes / batch.len()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open(dir.path(), ArchiveConfig::default()).unwrap();
    let mut group = c.benchmark_group("archive");
    group.sample_size(20);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("append/batch_1000/events", |b| {
        b.iter(|| archive.append(black_box(&batch)).unwrap())
    });
    group.throughput(Throughput::Bytes(json_bytes as u64));
    group.bench_function("append/batch_1000/bytes", |b| {
        b.iter(|| archive.append(black_box(&batch)).unwrap())
    });
    let stats = archive.stats();
    println!(
        "archive after the append runs: {} events, {} segments, ratio {:.1}",
        stats.events,
        stats.segments,
        stats.uncompressed_bytes as f64 / stats.compressed_bytes.max(1) as f64
    );
    drop(archive);

    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open(dir.path(), ArchiveConfig::default()).unwrap();
    for _ in 0..50 {
        archive.append(&batch).unwrap();
    }
    let total = archive.stats().events;
    group.throughput(Throughput::Elements(total));
    group.bench_function("scan/50k_events", |b| {
        b.iter(|| {
            let n = archive
                .scan(None, None)
                .unwrap()
                .filter(|r| r.is_ok())
                .count();
            assert_eq!(n as u64, total);
        })
    });
    group.finish();
}

criterion_group!(benches, alerts, archive);
criterion_main!(benches);
