//! Throughput of STIX pattern parsing and evaluation, and of bundle parsing with full validation.
//!
//! `cargo bench -p shield-intel --bench pattern`; with `SHIELD_SHARED_DATA` set, the MITRE ATT&CK
//! for ICS bundle (1,826 objects) is parsed too.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use shield_intel::pattern::{ObservedObjects, Pattern};
use shield_intel::stix::{Limits, parse_bundle};

const PATTERNS: [(&str, &str); 4] = [
    ("ip", "[ipv4-addr:value = '203.0.113.5']"),
    (
        "hash_disjunction",
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:hashes.MD5 = '3773a88f65a5e780c8dff9cdc3a056f3']",
    ),
    (
        "network_and_qualifiers",
        "([network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port IN (80, 443, 8080)] FOLLOWEDBY [domain-name:value LIKE '%.evil.example']) WITHIN 600 SECONDS",
    ),
    (
        "process_regex",
        "[process:command_line MATCHES '(?i)powershell(\\\\.exe)? .*-enc(odedcommand)? ' AND process:name != 'svchost.exe']",
    ),
];

fn patterns(c: &mut Criterion) {
    let mut group = c.benchmark_group("pattern_parse");
    group.throughput(Throughput::Elements(1));
    for (name, text) in PATTERNS {
        group.bench_function(name, |b| b.iter(|| Pattern::parse(black_box(text))));
    }
    group.finish();

    let objects = vec![
        json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"}),
        json!({"type": "domain-name", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "cdn.evil.example"}),
        json!({"type": "network-traffic", "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
               "dst_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "dst_port": 443, "protocols": ["tcp"]}),
        json!({"type": "file", "id": "file--5a27d487-c542-5f97-a131-a8866b477b46", "name": "x.exe",
               "hashes": {"MD5": "3773a88f65a5e780c8dff9cdc3a056f3"}}),
        json!({"type": "process", "id": "process--f52a906a-0dfc-40bd-92f1-e7778ead38a9", "name": "powershell.exe",
               "command_line": "powershell.exe -nop -enc SQBFAFgA"}),
    ];
    let source = ObservedObjects::from_objects(&objects);
    let mut group = c.benchmark_group("pattern_evaluate");
    group.throughput(Throughput::Elements(1));
    for (name, text) in PATTERNS {
        let pattern = Pattern::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        group.bench_function(name, |b| b.iter(|| pattern.evaluate(black_box(&source))));
    }
    group.finish();
}

/// A bundle of `n` indicators, each with its observable and a relationship, as a feed would send.
fn synthetic_bundle(n: usize) -> Vec<u8> {
    let mut objects: Vec<Value> = Vec::with_capacity(n * 3);
    for i in 0..n {
        let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let indicator_id = format!("indicator--{:08x}-aaaa-4bbb-8ccc-{:012x}", i, i);
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1", "id": indicator_id,
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "name": format!("C2 {ip}"), "indicator_types": ["malicious-activity"],
            "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
            "created_by_ref": "identity--311b2d2d-f010-4473-83ec-1edf84858f4c"
        }));
        objects.push(json!({"type": "ipv4-addr", "spec_version": "2.1",
            "id": format!("ipv4-addr--{:08x}-aaaa-5bbb-8ccc-{:012x}", i, i), "value": ip}));
        objects.push(json!({
            "type": "relationship", "spec_version": "2.1", "id": format!("relationship--{:08x}-aaaa-4bbb-8ccc-{:012x}", i, i),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "relationship_type": "indicates", "source_ref": indicator_id,
            "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
        }));
    }
    serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": objects}))
        .unwrap_or_default()
}

fn bundles(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("bundle_parse");
    group.sample_size(20);
    let bytes = synthetic_bundle(3_000);
    group.throughput(Throughput::Elements(9_000));
    group.bench_function("synthetic_9000_objects", |b| {
        b.iter(|| parse_bundle(black_box(&bytes), &limits))
    });
    if let Some(root) = std::env::var_os("SHIELD_SHARED_DATA") {
        let path = std::path::Path::new(&root).join("ti/attack/ics-attack-18.1.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                group.throughput(Throughput::Elements(1_826));
                group.bench_function("attack_ics_1826_objects", |b| {
                    b.iter(|| parse_bundle(black_box(&bytes), &limits))
                });
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    } else {
        eprintln!("skipping the ATT&CK bundle: SHIELD_SHARED_DATA not set");
    }
    group.finish();
}

criterion_group!(benches, patterns, bundles);
criterion_main!(benches);
