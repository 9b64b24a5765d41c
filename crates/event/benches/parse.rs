//! Parser throughput: NDJSON and bulk bodies of a Winlogbeat-like event, syslog messages, and the
//! EVTX reader over the shared samples (skipped when `SHIELD_SHARED_DATA` is unset).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shield_event::parse::{
    ParseContext, SyslogFramer, discover_files, parse_es_bulk, parse_json_body, parse_syslog,
    read_evtx_file,
};

const LINES: usize = 10_000;

/// A Sysmon process-creation event as Winlogbeat 8 ships it (about 1.6 KB of JSON).
fn winlogbeat_event(i: usize) -> String {
    format!(
        r#"{{"@timestamp":"2024-05-01T10:00:{:02}.{:03}Z","agent":{{"type":"winlogbeat","version":"8.13.0","name":"WS-{i:04}","id":"4f1e5b1c-0d3a-4a7b-9d2e-1f0e3c{i:06}"}},"ecs":{{"version":"8.0.0"}},"host":{{"name":"ws-{i:04}.corp.example","os":{{"family":"windows","version":"10.0","build":"19045.4291"}}}},"event":{{"code":"1","kind":"event","provider":"Microsoft-Windows-Sysmon","action":"Process Create (rule: ProcessCreate)","created":"2024-05-01T10:00:01.123Z"}},"log":{{"level":"information"}},"message":"Process Create:\nRuleName: -\nUtcTime: 2024-05-01 10:00:00.000\nImage: C:\\Windows\\System32\\cmd.exe","winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"ws-{i:04}.corp.example","event_id":"1","record_id":{i},"provider_guid":"{{5770385f-c22a-43e0-bf4c-06f5698ffbd9}}","provider_name":"Microsoft-Windows-Sysmon","process":{{"pid":3044,"thread":{{"id":4140}}}},"user":{{"identifier":"S-1-5-18","name":"SYSTEM","domain":"NT AUTHORITY","type":"User"}},"version":5,"event_data":{{"RuleName":"-","UtcTime":"2024-05-01 10:00:00.000","ProcessGuid":"{{a1b2c3d4-0000-1111-2222-{i:012}}}","ProcessId":"{i}","Image":"C:\\Windows\\System32\\cmd.exe","FileVersion":"10.0.19041.1 (WinBuild.160101.0800)","Description":"Windows Command Processor","Product":"Microsoft Windows Operating System","Company":"Microsoft Corporation","OriginalFileName":"Cmd.Exe","CommandLine":"cmd.exe /c whoami /all > C:\\Users\\Public\\out-{i}.txt","CurrentDirectory":"C:\\Windows\\system32\\","User":"CORP\\alice","LogonGuid":"{{a1b2c3d4-0000-1111-2222-000000000001}}","LogonId":"0x3e7","TerminalSessionId":"0","IntegrityLevel":"High","Hashes":"SHA256=9A7C58BD98D70631AA1473F7B57B426DB367D72429A5455B433A05EE251F3236","ParentProcessGuid":"{{a1b2c3d4-0000-1111-2222-000000000002}}","ParentProcessId":"2412","ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"C:\\Windows\\Explorer.EXE","ParentUser":"CORP\\alice"}}}}}}"#,
        i % 60,
        i % 1000
    )
}

fn json_benches(c: &mut Criterion) {
    let ctx = ParseContext::new("http").with_org("acme");
    let ndjson: String = (0..LINES).map(|i| winlogbeat_event(i) + "\n").collect();
    let bulk: String = (0..LINES)
        .map(|i| {
            format!(
                "{{\"create\":{{\"_index\":\"winlogbeat-8.13.0\"}}}}\n{}\n",
                winlogbeat_event(i)
            )
        })
        .collect();
    assert_eq!(parse_json_body(ndjson.as_bytes(), &ctx).events.len(), LINES);

    let mut group = c.benchmark_group("json");
    group.sample_size(20);
    group.throughput(Throughput::Elements(LINES as u64));
    // Baseline: only `serde_json::from_slice` of each line, to see what the parser adds.
    group.bench_function("serde_json_value_baseline", |b| {
        b.iter(|| {
            for line in ndjson
                .as_bytes()
                .split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
            {
                black_box(serde_json::from_slice::<serde_json::Value>(line).ok());
            }
        })
    });
    group.bench_function("ndjson_winlogbeat_events", |b| {
        b.iter(|| black_box(parse_json_body(black_box(ndjson.as_bytes()), &ctx)))
    });
    group.bench_function("es_bulk_winlogbeat_events", |b| {
        b.iter(|| black_box(parse_es_bulk(black_box(bulk.as_bytes()), None, &ctx)))
    });
    group.finish();
}

fn syslog_benches(c: &mut Criterion) {
    let ctx = ParseContext::new("syslog-tcp").with_path("10.0.0.5:514");
    let messages: Vec<String> = (0..LINES)
        .map(|i| match i % 3 {
            0 => format!("<34>Oct 11 22:14:15 host{i} sshd[{i}]: Failed password for root from 10.0.0.{} port 22 ssh2", i % 255),
            1 => format!("<165>1 2024-05-01T10:00:00.003Z host{i} app {i} ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] message {i}"),
            _ => format!("<134>Feb 12 10:00:00 fw01 CEF:0|Vendor|Firewall|1.0|100|blocked|5|src=10.0.0.{} dst=8.8.8.8 spt={i} dpt=53 act=blocked msg=dns query blocked", i % 255),
        })
        .collect();
    let stream: Vec<u8> = messages
        .iter()
        .flat_map(|m| format!("{} {m}", m.len()).into_bytes())
        .collect();
    let received = Utc::now();

    let mut group = c.benchmark_group("syslog");
    group.sample_size(20);
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("parse_mixed_3164_5424_cef", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(parse_syslog(m.as_bytes(), &ctx, received).ok());
            }
        })
    });
    group.bench_function("framer_octet_counted", |b| {
        b.iter(|| {
            let mut framer = SyslogFramer::default();
            let mut frames = 0;
            for piece in stream.chunks(16 * 1024) {
                framer.push(piece);
                while let Some(frame) = framer.next_frame() {
                    frames += usize::from(frame.is_ok());
                }
            }
            assert_eq!(frames, LINES);
        })
    });
    group.finish();
}

fn evtx_benches(c: &mut Criterion) {
    let Some(root) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping evtx bench: SHIELD_SHARED_DATA not set");
        return;
    };
    let dir = PathBuf::from(root).join("evtx/evtx-attack-samples");
    let (files, errors) = discover_files(std::slice::from_ref(&dir));
    assert!(
        errors.is_empty() && !files.is_empty(),
        "{}: {errors:?}",
        dir.display()
    );
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect();
    let ctx = ParseContext::new("file");
    let read_all = || -> usize {
        files
            .iter()
            .map(|f| read_evtx_file(f, &ctx).map_or(0, |r| r.filter(Result::is_ok).count()))
            .sum()
    };
    let records = read_all();
    eprintln!("evtx: {} files, {records} records", files.len());

    let mut group = c.benchmark_group("evtx");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records as u64));
    group.bench_function("attack_samples_all_files", |b| {
        b.iter(|| black_box(read_all()))
    });
    group.finish();
}

criterion_group!(benches, json_benches, syslog_benches, evtx_benches);
criterion_main!(benches);
