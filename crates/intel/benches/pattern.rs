//! Throughput of STIX pattern parsing and bundle parsing.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shield_intel::pattern::Pattern;
use std::hint::black_box;

fn patterns(c: &mut Criterion) {
    let text = "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:hashes.MD5 = '3773a88f65a5e780c8dff9cdc3a056f3']";
    let mut group = c.benchmark_group("pattern");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_hash_disjunction", |b| {
        b.iter(|| Pattern::parse(black_box(text)))
    });
    group.finish();
}

criterion_group!(benches, patterns);
criterion_main!(benches);
