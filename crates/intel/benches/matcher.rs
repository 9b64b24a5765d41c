//! IOC matcher benchmarks.

use criterion::{Criterion, criterion_group, criterion_main};
use shield_intel::ioc::{Ioc, IocKind};

fn normalise(c: &mut Criterion) {
    c.bench_function("normalise_url", |b| {
        b.iter(|| Ioc::new(IocKind::Url, "HTTP://Evil.Example:80/a?b#c"))
    });
}

criterion_group!(benches, normalise);
criterion_main!(benches);
