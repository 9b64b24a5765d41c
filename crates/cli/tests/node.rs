//! End-to-end tests of `shield serve` over real sockets: HTTP NDJSON, Elasticsearch `_bulk` as
//! Winlogbeat sends it, syslog RFC 3164/5424 over TCP and UDP, `shield ingest` of EVTX files, bad
//! input of every kind, restart, authentication and roles, overload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

const WINLOGBEAT_DOC: &str = r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"code":"4688","provider":"Microsoft-Windows-Security-Auditing","kind":"event","created":"2024-05-01T10:00:01.123Z"},"winlog":{"channel":"Security","event_id":"4688","record_id":"1001","provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC01.corp.example","event_data":{"NewProcessName":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","SubjectUserName":"alice"}},"host":{"name":"DC01"},"agent":{"type":"winlogbeat","version":"8.17.0"},"ecs":{"version":"8.0.0"},"message":"A new process has been created."}"#;

fn shield_ingest(url: &str, token: &str, paths: &[&std::path::Path]) -> (String, String, bool) {
    let out = shield()
        .arg("ingest")
        .arg("--quiet")
        .arg("--url")
        .arg(url)
        .arg("--token")
        .arg(token)
        .args(paths)
        .output()
        .expect("run shield ingest");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// "N files, N events sent, N accepted, ..." → accepted.
fn accepted_of(summary: &str) -> u64 {
    summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" accepted"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accepted count in {summary:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_end_to_end_and_nothing_lost_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = start_node(
        &data,
        &["--syslog-udp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0"],
        &[],
    );
    let base = node.url.clone();
    let http = client();

    // Node-level ingest token created with the CLI while the node runs.
    let out = shield()
        .args([
            "token",
            "create",
            "--role",
            "ingest",
            "--name",
            "winlogbeat-dc01",
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ingest_token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(ingest_token.starts_with("shd_"), "{ingest_token}");

    // 1. NDJSON with one malformed line: the rest is accepted, the bad line is named.
    let ndjson = "{\"EventID\":1,\"Image\":\"C:\\\\a.exe\"}\n{\"EventID\":2}\n{not json}\n\n{\"EventID\":3}\n";
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&ingest_token)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["rejected"], 1, "{answer}");
    assert_eq!(answer["errors"][0]["line"], 3, "{answer}");
    assert!(answer["errors"][0]["message"].as_str().unwrap().len() > 5);

    // A JSON array.
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&ingest_token)
        .json(&json!([{"a": 1}, {"a": 2}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], 2);

    // Only garbage: 400 in the stable error shape, with the line.
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&ingest_token)
        .body("this is not json\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "bad_request");
    assert_eq!(e["error"]["details"]["errors"][0]["line"], 1);

    // 2. _bulk as Winlogbeat sends it: version probe, then gzip bulk with Basic auth.
    let basic = ("elastic", Some(ingest_token.clone()));
    let r = http
        .get(format!("{base}/"))
        .basic_auth(basic.0, basic.1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-elastic-product"], "Elasticsearch");
    let probe: Value = r.json().await.unwrap();
    assert!(
        probe["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with('8')
    );
    let r = http
        .head(format!("{base}/_index_template/winlogbeat-8.17.0"))
        .basic_auth(basic.0, basic.1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut bulk = String::new();
    for _ in 0..10 {
        bulk.push_str("{\"create\":{\"_index\":\"winlogbeat-8.17.0\"}}\n");
        bulk.push_str(WINLOGBEAT_DOC);
        bulk.push('\n');
    }
    bulk.push_str("{\"create\":{\"_index\":\"winlogbeat-8.17.0\"}}\n{broken doc\n");
    let r = http
        .post(format!("{base}/_bulk"))
        .basic_auth(basic.0, basic.1.clone())
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(bulk.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert!(
        items[..10].iter().all(|i| i["create"]["status"] == 201),
        "{answer}"
    );
    assert_eq!(items[10]["create"]["status"], 400);
    // ApiKey form on the index route.
    let apikey = base64_encode(&format!("beat:{ingest_token}"));
    let r = http
        .post(format!("{base}/logs-generic/_bulk"))
        .header("authorization", format!("ApiKey {apikey}"))
        .body(format!("{{\"index\":{{}}}}\n{WINLOGBEAT_DOC}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["items"][0]["index"]["_index"],
        "logs-generic"
    );

    // 3. Syslog over TCP (octet counting and newline framing) and UDP, with garbage.
    let tcp_addr = node.syslog_tcp.clone().unwrap();
    let msg5424 = "<34>1 2024-05-01T10:00:00.000Z host1 sshd 123 ID47 [origin ip=\"10.0.0.1\"] Failed password for root";
    let mut s = TcpStream::connect(&tcp_addr).unwrap();
    write!(s, "{} {}", msg5424.len(), msg5424).unwrap();
    s.write_all(b"<13>May  1 10:00:00 host2 sshd[42]: Accepted publickey for bob from 10.0.0.5 port 22 ssh2\n").unwrap();
    s.write_all(b"<999>\x01\x02\x03 garbage\n").unwrap();
    drop(s);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_addr = node.syslog_udp.clone().unwrap();
    udp.send_to(
        b"<165>1 2024-05-01T10:00:05Z host3 app - - - hello over udp",
        &udp_addr,
    )
    .unwrap();
    udp.send_to(b"<13>May  1 10:00:06 host4 cron[7]: job done", &udp_addr)
        .unwrap();
    udp.send_to(b"\x00\x00\x00\x00", &udp_addr).unwrap();
    let stats = wait_stats(&base, |s| {
        s["inputs"]["syslog-tcp"]["events_ingested"] == 2
            && s["inputs"]["syslog-udp"]["events_ingested"] == 2
            && s["inputs"]["syslog-tcp"]["events_rejected"] == 1
            && s["inputs"]["syslog-udp"]["events_rejected"] == 1
    })
    .await;
    assert_eq!(
        stats["inputs"]["syslog-tcp"]["events_ingested"], 2,
        "{stats}"
    );
    assert_eq!(
        stats["inputs"]["syslog-tcp"]["events_rejected"], 1,
        "{stats}"
    );
    assert_eq!(
        stats["inputs"]["syslog-udp"]["events_ingested"], 2,
        "{stats}"
    );
    assert_eq!(
        stats["inputs"]["syslog-udp"]["events_rejected"], 1,
        "{stats}"
    );

    // 4. EVTX through `shield ingest`, including a truncated file.
    let mut file_events = 0;
    if let Some(shared) = shared_data() {
        let samples = shared.join("evtx/evtx-attack-samples");
        let sample = find_evtx(&samples, 300 * 1024).expect("an evtx sample over 300 KiB");
        let (stdout, stderr, ok) = shield_ingest(&base, &ingest_token, &[&sample]);
        assert!(ok, "{stdout}\n{stderr}");
        let whole = accepted_of(&stdout);
        assert!(whole > 0, "{stdout}");
        let truncated = dir.path().join("truncated.evtx");
        let bytes = std::fs::read(&sample).unwrap();
        std::fs::write(&truncated, &bytes[..4096 + 65536 + 20_000]).unwrap();
        let (stdout, stderr, ok) = shield_ingest(&base, &ingest_token, &[&truncated]);
        assert!(
            ok,
            "a truncated file is reported, not fatal: {stdout}\n{stderr}"
        );
        let partial = accepted_of(&stdout);
        assert!(partial > 0 && partial < whole, "{stdout}");
        assert!(
            stderr.contains("truncated.evtx"),
            "the error names the file: {stderr}"
        );
        file_events = whole + partial;
    }

    let expected_total = 3 + 2 + 10 + 1 + 2 + 2 + file_events;
    let stats = wait_stats(&base, |s| s["events_processed"] == expected_total).await;
    assert_eq!(stats["events_ingested"], expected_total, "{stats}");
    assert_eq!(stats["events_processed"], expected_total, "{stats}");
    assert!(stats["events_rejected"].as_u64().unwrap() >= 5, "{stats}");
    let rejected_before = stats["events_rejected"].clone();
    node.stop();

    // 5. Restart: statistics, tokens and archived events are all still there.
    let node = start_node(&data, &[], &[]);
    let stats = get_json(&format!("{}/api/v1/stats", node.url)).await;
    assert_eq!(stats["events_ingested"], expected_total, "{stats}");
    assert_eq!(stats["events_rejected"], rejected_before, "{stats}");
    let r = http
        .post(format!("{}/api/v1/events", node.url))
        .bearer_auth(&ingest_token)
        .body("{\"after\":\"restart\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the ingest token survived the restart");
    wait_stats(&node.url, |s| s["events_processed"] == 1).await;
    node.stop();
    let archive = shield_store::archive::EventArchive::open(&data, Default::default()).unwrap();
    let archived = archive
        .scan(None, None)
        .unwrap()
        .filter(|e| e.is_ok())
        .count() as u64;
    assert_eq!(
        archived,
        expected_total + 1,
        "every accepted event is in the archive"
    );
}

/// Creates a token through the API with the admin token and returns its secret.
async fn create_token(base: &str, name: &str, role: &str) -> String {
    let r = client()
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": name, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    created["secret"].as_str().unwrap().to_owned()
}

fn base64_encode(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | (u32::from(c) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn find_evtx(dir: &std::path::Path, min: u64) -> Option<std::path::PathBuf> {
    let mut found: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() >= min)
                .unwrap_or(false)
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_roles_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = start_node(&data, &[], &[("SHIELD_MAX_BODY_BYTES", "4096")]);
    let base = node.url.clone();
    let http = client();

    // Health needs nothing.
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Missing token: 401 with the stable shape and a challenge.
    let r = http
        .get(format!("{base}/api/v1/alerts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["status"], 401);
    assert_eq!(e["error"]["code"], "unauthorized");
    let r = http
        .post(format!("{base}/api/v1/events"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{base}/api/v1/stats"))
        .bearer_auth("shd_unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Wrong role: an ingest token may not read alerts; an analyst may not ingest.
    let ingest = create_token(&base, "shipper", "ingest").await;
    let analyst = create_token(&base, "analyst", "analyst").await;
    let r = http
        .get(format!("{base}/api/v1/alerts"))
        .bearer_auth(&ingest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "forbidden");
    assert!(e["error"]["message"].as_str().unwrap().contains("ingest"));
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&analyst)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(format!("{base}/api/v1/alerts"))
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(&analyst)
        .json(&json!({"name":"x","role":"admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Body over the limit: 413, plain and gzip-compressed.
    let big = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(5000));
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&ingest)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "body_too_large");
    let r = http
        .post(format!("{base}/_bulk"))
        .bearer_auth(&ingest)
        .header("content-encoding", "gzip")
        .body(gzip(format!("{{\"index\":{{}}}}\n{big}").as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Revoked tokens stop working.
    let tokens: Value = common::get_json(&format!("{base}/api/v1/tokens")).await;
    let id = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "shipper")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .delete(format!("{base}/api/v1/tokens/{id}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&ingest)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Nothing else was lost: the node still ingests.
    let r = http
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(ADMIN)
        .body("{\"ok\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audit = common::get_json(&format!("{base}/api/v1/audit")).await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "token.revoke")
    );
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_429_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = start_node(&data, &[], &[("SHIELD_QUEUE_EVENTS", "2000")]);
    let base = node.url.clone();
    let mut batch = String::new();
    for i in 0..2000 {
        batch.push_str(&format!("{{\"i\":{i},\"winlog\":{{\"channel\":\"Security\",\"event_data\":{{\"CommandLine\":\"{}\"}}}}}}\n", "a".repeat(400)));
    }
    let batch = bytes::Bytes::from(batch);
    let baseline = node.rss_kib().unwrap_or(0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (base, batch) = (base.clone(), batch.clone());
        tasks.push(tokio::spawn(async move {
            let http = client();
            let (mut ok, mut busy) = (0u64, 0u64);
            for _ in 0..40 {
                let r = http
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(ADMIN)
                    .body(batch.clone())
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => ok += 1,
                    429 => {
                        assert_eq!(r.headers()["retry-after"], "1");
                        let e: Value = r.json().await.unwrap();
                        assert_eq!(e["error"]["code"], "overloaded");
                        busy += 1;
                    }
                    other => panic!("unexpected status {other}"),
                }
            }
            (ok, busy)
        }));
    }
    let mut peak = 0;
    let mut totals = (0, 0);
    for t in tasks {
        while !t.is_finished() {
            peak = peak.max(node.rss_kib().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (ok, busy) = t.await.unwrap();
        totals.0 += ok;
        totals.1 += busy;
    }
    assert!(totals.1 > 0, "the queue never filled: {totals:?}");
    assert!(totals.0 > 0, "nothing was accepted: {totals:?}");
    // 320 requests of ~900 KB were sent (about 290 MB); the node holds at most a few batches.
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    assert!(
        growth_mib < 200,
        "resident memory grew by {growth_mib} MiB (baseline {baseline} KiB, peak {peak} KiB)"
    );
    let stats = wait_stats(&base, |s| s["queue"]["pending"] == 0).await;
    assert_eq!(stats["events_ingested"], totals.0 * 2000, "{stats}");
    assert_eq!(stats["events_refused"], totals.1 * 2000, "{stats}");
    node.stop();
}
