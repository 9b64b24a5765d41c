//! Sigma engine benchmarks over shared data (skipped with a message when `SHIELD_SHARED_DATA` is
//! unset):
//!
//! * `load_compile/sigmahq`: load and compile the maintained SigmaHQ rule sets (rules,
//!   emerging threats, threat hunting) with the default Windows mapping;
//! * `match/evtx_attack_samples`: match every event of the EVTX-ATTACK-SAMPLES logs, loaded once into
//!   memory, against the compiled set (throughput in events per second).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shield_event::Event;
use shield_event::parse::{ParseContext, read_evtx_file};
use shield_sigma::{CompiledRuleSet, LoadOptions, Mapping, MatchScratch, load_rules};

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("SHIELD_SHARED_DATA").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("skipping sigma benchmarks: SHIELD_SHARED_DATA not set");
    }
    dir
}

fn rule_dirs(data: &Path) -> Vec<PathBuf> {
    ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| data.join("sigma").join(d))
        .collect()
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            out.push(p);
        }
    }
}

fn load_events(data: &Path) -> Vec<Event> {
    let mut files = Vec::new();
    evtx_files(&data.join("evtx/evtx-attack-samples"), &mut files);
    files.sort();
    let ctx = ParseContext::new("bench");
    let mut events = Vec::new();
    for f in files {
        if let Ok(reader) = read_evtx_file(&f, &ctx) {
            events.extend(reader.flatten());
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let Some(data) = shared() else { return };
    let dirs = rule_dirs(&data);
    let mapping = Mapping::default_windows();

    let mut group = c.benchmark_group("load_compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("sigmahq", |b| {
        b.iter(|| {
            let (set, _) = load_rules(&dirs, &LoadOptions::default());
            CompiledRuleSet::compile(&set, &mapping).0.len()
        })
    });
    group.finish();

    let (set, _) = load_rules(&dirs, &LoadOptions::default());
    let (compiled, _) = CompiledRuleSet::compile(&set, &mapping);
    let events = load_events(&data);
    eprintln!(
        "{} rules, {} events, {:?}",
        compiled.len(),
        events.len(),
        compiled.stats()
    );
    let mut group = c.benchmark_group("match");
    group.throughput(Throughput::Elements(events.len() as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("evtx_attack_samples", |b| {
        let mut scratch = MatchScratch::default();
        let mut out = Vec::new();
        b.iter(|| {
            let mut total = 0usize;
            for e in &events {
                out.clear();
                compiled.matches_with(&e.data, &mut scratch, &mut out);
                total += out.len();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
