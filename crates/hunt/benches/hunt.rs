//! Hunting benchmarks over the shared attack logs (needs `SHIELD_SHARED_DATA`):
//!
//! * `rules_load`: read, parse and compile SigmaHQ `rules/windows`, `rules-emerging-threats` and
//!   `rules-threat-hunting` (issue target: < 0.3 s);
//! * `evtx_attack_samples`: hunt the 278 EVTX attack samples (7,860 events) with those rules;
//! * `ndjson_attack_samples_x8`: the same events as NDJSON, eight times over (62,880 events), the
//!   path where parsing runs on the matching threads (issue target: ≥ 100,000 events/s).
//!
//! Hits go to a JSON-lines sink that discards its output, so formatting is measured too.
//! `scripts/bench-hunt` measures the same through the `shield` binary, end to end.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shield_event::parse::{ParseContext, discover_files, read_file};
use shield_hunt::output::JsonlSink;
use shield_hunt::{HuntOptions, LoadedRules, NoProgress, hunt_with_rules};

fn shared() -> Option<PathBuf> {
    match std::env::var_os("SHIELD_SHARED_DATA") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipping: SHIELD_SHARED_DATA not set");
            None
        }
    }
}

fn rule_dirs(data: &Path) -> Vec<PathBuf> {
    [
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting",
    ]
    .iter()
    .map(|d| data.join("sigma").join(d))
    .collect()
}

/// Writes the payloads of the events under `input` as NDJSON, `times` over; returns the count.
fn write_ndjson(input: &Path, out: &Path, times: usize) -> u64 {
    let (files, _) = discover_files(&[input.to_path_buf()]);
    let ctx = ParseContext::new("bench");
    let mut lines = Vec::new();
    for file in &files {
        if let Ok(events) = read_file(file, &ctx) {
            for event in events.flatten() {
                let mut line = serde_json::to_vec(&event.data).expect("serialise");
                line.push(b'\n');
                lines.push(line);
            }
        }
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("create NDJSON"));
    for _ in 0..times {
        for line in &lines {
            w.write_all(line).expect("write NDJSON");
        }
    }
    w.flush().expect("flush");
    (lines.len() * times) as u64
}

fn hunt_once(rules: &LoadedRules, path: &Path) -> u64 {
    let opts = HuntOptions {
        paths: vec![path.to_path_buf()],
        ..HuntOptions::default()
    };
    let mut sink = JsonlSink::new(std::io::sink());
    let summary = hunt_with_rules(rules, &opts, &mut sink, &NoProgress).expect("hunt");
    summary.hits
}

fn hunting(c: &mut Criterion) {
    let Some(data) = shared() else { return };
    let dirs = rule_dirs(&data);
    let mut group = c.benchmark_group("hunt");
    group.sample_size(10);
    group.bench_function("rules_load", |b| {
        b.iter(|| LoadedRules::load(&dirs, None).expect("rules"))
    });

    let rules = LoadedRules::load(&dirs, None).expect("rules");
    let evtx = data.join("evtx/evtx-attack-samples");
    group.throughput(Throughput::Elements(7_860));
    group.bench_function("evtx_attack_samples", |b| {
        b.iter(|| hunt_once(&rules, &evtx))
    });

    let dir = tempfile::tempdir().expect("temporary folder");
    let ndjson = dir.path().join("attack-x8.ndjson");
    let events = write_ndjson(&evtx, &ndjson, 8);
    group.throughput(Throughput::Elements(events));
    group.bench_function("ndjson_attack_samples_x8", |b| {
        b.iter(|| hunt_once(&rules, &ndjson))
    });
    group.finish();
}

criterion_group!(benches, hunting);
criterion_main!(benches);
