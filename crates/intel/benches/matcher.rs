//! IOC matcher benchmarks: build time and memory for 1,000,000 mixed indicators, then lookups per
//! second over a mix of hits and misses of every kind.
//!
//! Memory is measured twice: by the structures' own `memory_usage()` (capacities of every vector
//! and table) and by the growth of the process's resident set across the build (allocator overhead
//! included; the input indicators stay alive, so it is an upper bound). The workspace forbids
//! `unsafe`, so no counting global allocator. Set `SHIELD_BENCH_IOCS`
//! to change the number of indicators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use shield_intel::ioc::{Ioc, IocKind};
use shield_intel::matcher::{IndicatorRecord, IndicatorRef, IndicatorTable, IocMatcher};

/// Resident set size of this process in bytes (Linux `/proc/self/statm`; 0 elsewhere).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/stat`, 100 ticks a second), so
/// lookups per CPU-second can be measured on a loaded machine.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// xorshift64*: deterministic values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(digits);
        s
    }

    fn word(&mut self, min: u64, max: u64) -> String {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

const TLDS: [&str; 8] = ["com", "net", "org", "ru", "info", "xyz", "top", "example"];

/// One indicator of a realistic feed mix: 30 % IPv4, 4 % IPv6, 4 % CIDR, 25 % domains,
/// 12 % URLs, 5 % MD5, 5 % SHA-1, 10 % SHA-256, 3 % e-mail, 2 % file names.
fn indicator(rng: &mut Rng) -> Ioc {
    let roll = rng.below(100);
    let (kind, value) = match roll {
        0..30 => {
            let a = rng.next() as u32;
            (IocKind::Ipv4, std::net::Ipv4Addr::from(a).to_string())
        }
        30..34 => (
            IocKind::Ipv6,
            std::net::Ipv6Addr::from(u128::from(rng.next()) << 64 | u128::from(rng.next()))
                .to_string(),
        ),
        34..38 => {
            let len = 16 + rng.below(15);
            let a = std::net::Ipv4Addr::from(rng.next() as u32);
            (IocKind::Cidr, format!("{a}/{len}"))
        }
        38..63 => (IocKind::Domain, domain(rng)),
        63..75 => {
            let d = domain(rng);
            let p = rng.word(3, 12);
            let q = rng.word(2, 8);
            (
                IocKind::Url,
                format!("http://{d}/{p}/{q}.php?id={}", rng.below(100000)),
            )
        }
        75..80 => (IocKind::Md5, rng.hex(32)),
        80..85 => (IocKind::Sha1, rng.hex(40)),
        85..95 => (IocKind::Sha256, rng.hex(64)),
        95..98 => (
            IocKind::Email,
            format!("{}@{}", rng.word(4, 10), domain(rng)),
        ),
        _ => (IocKind::FileName, format!("{}.exe", rng.word(5, 12))),
    };
    Ioc::new(kind, &value).unwrap_or_else(|e| panic!("generated {value}: {e}"))
}

fn domain(rng: &mut Rng) -> String {
    let tld = TLDS[rng.below(TLDS.len() as u64) as usize];
    if rng.below(4) == 0 {
        format!("{}.{}.{tld}", rng.word(3, 8), rng.word(5, 12))
    } else {
        format!("{}.{tld}", rng.word(5, 14))
    }
}

/// A lookup that hits `ioc` (a subdomain for domains, an address inside for networks).
fn hit_query(ioc: &Ioc) -> (IocKind, String) {
    match ioc.kind() {
        IocKind::Domain => (IocKind::Domain, format!("www.{}", ioc.value())),
        IocKind::Cidr => {
            let net: ipnet::IpNet = ioc.value().parse().unwrap_or_else(|e| panic!("{e}"));
            (IocKind::Ipv4, net.network().to_string())
        }
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => (ioc.kind(), ioc.value().to_uppercase()),
        kind => (kind, ioc.value().to_owned()),
    }
}

fn count() -> usize {
    std::env::var("SHIELD_BENCH_IOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

struct Fixture {
    matcher: IocMatcher,
    queries: Vec<(IocKind, String)>,
}

fn fixture() -> Fixture {
    let n = count();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let iocs: Vec<Ioc> = (0..n).map(|_| indicator(&mut rng)).collect();
    let before = rss();
    let start = Instant::now();
    let mut table = IndicatorTable::new();
    for i in 0..n {
        table
            .push(&IndicatorRecord {
                id: format!(
                    "indicator--{:08x}-0000-4000-8000-{:012x}",
                    i,
                    rng.next() & 0xffff_ffff_ffff
                ),
                name: Some(format!("feed indicator {i}")),
                marking: Some("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb".into()),
                valid_until: None,
                confidence: Some(70),
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
    table.shrink_to_fit();
    let refs = (0u32..).map(IndicatorRef);
    let matcher = IocMatcher::build(iocs.iter().zip(refs)).unwrap_or_else(|e| panic!("{e}"));
    let built = start.elapsed();
    let live = rss().saturating_sub(before);
    let (pairs, _, _) = matcher.stats();
    println!(
        "matcher build: {n} indicators ({pairs} distinct pairs) in {:.2} s",
        built.as_secs_f64()
    );
    println!(
        "memory: matcher {:.1} B/indicator (memory_usage), side table {:.1} B/indicator, \
         all-in {:.1} B/indicator (resident set growth)",
        matcher.memory_usage() as f64 / n as f64,
        table.memory_usage() as f64 / n as f64,
        live as f64 / n as f64
    );
    black_box(&table);

    // Half hits, half misses of the same mix of kinds.
    let mut queries = Vec::with_capacity(20_000);
    let mut miss_rng = Rng(0x0bad_cafe_dead_beef);
    for i in 0..10_000 {
        let pick = &iocs[rng.below(n as u64) as usize];
        queries.push(hit_query(pick));
        let miss = indicator(&mut miss_rng);
        queries.push(hit_query(&miss));
        let _ = i;
    }
    Fixture { matcher, queries }
}

fn lookups(c: &mut Criterion) {
    let fx = fixture();
    let mut out = Vec::with_capacity(16);
    let mut hits = 0usize;
    for (kind, value) in &fx.queries {
        out.clear();
        fx.matcher.lookup(*kind, value, &mut out);
        hits += usize::from(!out.is_empty());
    }
    println!("queries: {} of {} hit", hits, fx.queries.len());
    // Lookups per CPU-second of this thread: robust to other processes sharing the cores.
    if let Some(cpu_start) = thread_cpu_secs() {
        let mut done = 0usize;
        let wall = Instant::now();
        loop {
            for (kind, value) in &fx.queries {
                out.clear();
                fx.matcher.lookup(*kind, value, &mut out);
            }
            done += fx.queries.len();
            let cpu = thread_cpu_secs().unwrap_or(cpu_start) - cpu_start;
            if cpu >= 3.0 {
                println!(
                    "lookups: {:.2} M per CPU-second ({:.2} M per wall-second), {done} lookups",
                    done as f64 / cpu / 1e6,
                    done as f64 / wall.elapsed().as_secs_f64() / 1e6
                );
                break;
            }
        }
    }
    // Per-kind cost, to see where time goes.
    for kind in IocKind::ALL {
        let subset: Vec<&(IocKind, String)> =
            fx.queries.iter().filter(|(k, _)| *k == kind).collect();
        if subset.is_empty() {
            continue;
        }
        let start = Instant::now();
        for _ in 0..20 {
            for (k, value) in &subset {
                out.clear();
                fx.matcher.lookup(*k, value, &mut out);
            }
        }
        let per = start.elapsed().as_nanos() as f64 / (20 * subset.len()) as f64;
        println!("  {kind}: {} queries, {per:.0} ns/lookup", subset.len());
    }
    let mut group = c.benchmark_group("ioc_matcher");
    group.throughput(Throughput::Elements(fx.queries.len() as u64));
    group.bench_function("lookup_mixed_half_hits", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for (kind, value) in &fx.queries {
                out.clear();
                fx.matcher.lookup(*kind, value, &mut out);
                found += out.len();
            }
            black_box(found)
        })
    });
    // Whole events: observable extraction plus lookups, over common layouts.
    let events: Vec<shield_event::Event> = [
        serde_json::json!({"Event": {"System": {"EventID": 3}, "EventData": {
            "Image": "C:\\Users\\bob\\AppData\\Local\\Temp\\invoice.exe", "SourceIp": "10.0.0.12",
            "DestinationIp": "203.0.113.5", "DestinationHostname": "c2.evil.example", "DestinationPort": 443}}}),
        serde_json::json!({"Event": {"System": {"EventID": 1}, "EventData": {
            "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami",
            "Hashes": "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=00000000000000000000000000000000",
            "ParentImage": "C:\\Windows\\explorer.exe", "User": "CORP\\bob"}}}),
        serde_json::json!({"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "10.0.0.5", "port": 5555},
            "destination": {"ip": "198.51.100.20", "domain": "cdn.example.com", "port": 443},
            "url": {"full": "https://cdn.example.com/a/b.js?x=1"}, "user_agent": {"original": "Mozilla/5.0"},
            "event": {"category": "network"}, "host": {"name": "ws1"}}),
        serde_json::json!({"timestamp": "2026-01-01T00:00:00Z", "event_type": "dns", "src_ip": "10.0.0.3",
            "dest_ip": "10.0.0.53", "dns": {"type": "query", "rrname": "login.example.org", "rrtype": "A"}}),
    ]
    .into_iter()
    .map(|d| shield_event::Event::new(d, std::sync::Arc::from("bench"), shield_event::Format::Json))
    .collect();
    let mut hits = Vec::new();
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("match_event_4_layouts", |b| {
        b.iter(|| {
            hits.clear();
            for e in &events {
                fx.matcher.match_event(e, &mut hits);
            }
            black_box(hits.len())
        })
    });
    let mut live = fx.matcher.clone();
    group.throughput(Throughput::Elements(1000));
    group.bench_function("live_insert_1000", |b| {
        let mut rng = Rng(7);
        b.iter_batched(
            || (0..1000).map(|_| indicator(&mut rng)).collect::<Vec<_>>(),
            |batch| {
                for (i, ioc) in batch.iter().enumerate() {
                    let _ = live.insert(ioc, IndicatorRef(2_000_000 + i as u32));
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = lookups
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
