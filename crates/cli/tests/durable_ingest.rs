//! Accepted means durable: events answered 200 survive a SIGKILL of the node, are archived exactly
//! once and raise their alerts exactly once after the restart, also with a torn journal tail and a
//! second kill during replay; `events_ingested` stays exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// A Sigma rule firing on every whoami process creation (written for these tests).
const WHOAMI_RULE: &str = "title: whoami run
id: 8a0f3b52-1c4d-4e7a-9b6c-2d8e5f1a3c77
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
level: medium
";

/// Events per request and requests per test.
const PER_REQUEST: u64 = 500;
const REQUESTS: u64 = 24;
/// One event in this many runs whoami.
const WHOAMI_EVERY: u64 = 10;

fn rules_dir(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("whoami.yml"), WHOAMI_RULE).unwrap();
    rules
}

/// Sysmon process creation number `i` (its record id); whoami for every [`WHOAMI_EVERY`]th.
fn sysmon(i: u64) -> Value {
    let image = if i % WHOAMI_EVERY == 0 {
        "C:\\Windows\\System32\\whoami.exe"
    } else {
        "C:\\Windows\\System32\\notepad.exe"
    };
    json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1, "EventRecordID": i,
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": format!("ws{}", i % 7),
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-23T09:00:00.000Z"}}
        },
        "EventData": {"Image": image, "CommandLine": format!("run {i}"),
                      "ParentImage": "C:\\Windows\\explorer.exe"}
    }})
}

fn record_id(event: &Value) -> u64 {
    event["Event"]["System"]["EventRecordID"].as_u64().unwrap()
}

/// Posts every event from 4 concurrent clients, each request answered 200 before the function
/// returns; the number of events acknowledged.
async fn post_all(base: &str) -> u64 {
    let mut tasks = Vec::new();
    for client_no in 0..4u64 {
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut acked = 0;
            for r in (client_no..REQUESTS).step_by(4) {
                let body: String = (r * PER_REQUEST..(r + 1) * PER_REQUEST)
                    .map(|i| format!("{}\n", sysmon(i)))
                    .collect();
                loop {
                    let answer = http
                        .post(format!("{base}/api/v1/events"))
                        .bearer_auth(ADMIN)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    match answer.status().as_u16() {
                        200 => {
                            let a: Value = answer.json().await.unwrap();
                            assert_eq!(a["accepted"], PER_REQUEST, "{a}");
                            acked += PER_REQUEST;
                            break;
                        }
                        429 => tokio::time::sleep(Duration::from_millis(20)).await,
                        other => panic!("unexpected status {other}"),
                    }
                }
            }
            acked
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    acked
}

/// Record id → number of times in the archive (read with the node stopped).
fn archived(data: &Path) -> BTreeMap<u64, u32> {
    let archive = shield_store::archive::EventArchive::open(data, Default::default()).unwrap();
    let mut seen = BTreeMap::new();
    for event in archive.scan(None, None).unwrap() {
        *seen.entry(record_id(&event.unwrap().data)).or_insert(0) += 1;
    }
    seen
}

/// Record id of the triggering event → number of alerts, over every page.
async fn alerts_by_event(base: &str) -> BTreeMap<u64, u32> {
    let mut seen = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/alerts?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get_json(&url).await;
        for alert in page["alerts"].as_array().unwrap() {
            *seen.entry(record_id(&alert["event"])).or_insert(0) += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

/// Every acknowledged event archived once and every whoami alert stored once, through the API of
/// the running node (alerts and counters) and the archive once it stopped.
async fn assert_exactly_once(node: NodeProcess, total: u64) {
    let base = node.url.clone();
    let stats = wait_stats(&base, |s| {
        s["queue"]["pending"] == 0 && s["alerts"].as_u64() == Some(total / WHOAMI_EVERY)
    })
    .await;
    assert_eq!(stats["events_ingested"], total, "counted once: {stats}");
    assert_eq!(stats["inputs"]["http"]["events_ingested"], total, "{stats}");
    let alerts = alerts_by_event(&base).await;
    let expected: BTreeMap<u64, u32> = (0..total)
        .filter(|i| i % WHOAMI_EVERY == 0)
        .map(|i| (i, 1))
        .collect();
    let doubled: Vec<_> = alerts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "alerts stored twice: {doubled:?}");
    assert_eq!(alerts.len(), expected.len(), "alerts of whoami events");
    assert_eq!(alerts, expected);
    let data = node.data.clone();
    node.stop();
    let archive = archived(&data);
    let doubled: Vec<_> = archive.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "events archived twice: {doubled:?}");
    let missing: Vec<_> = (0..total).filter(|i| !archive.contains_key(i)).collect();
    assert!(missing.is_empty(), "acknowledged events lost: {missing:?}");
    assert_eq!(archive.len() as u64, total);
}

/// The newest archive segment file.
fn newest_segment(data: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("archive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files.pop().expect("a segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rules = rules_dir(dir.path());
    let rules_arg = rules.to_str().unwrap().to_owned();
    let node = start_node(&data, &["--rules", &rules_arg], &[]);
    let acked = post_all(&node.url).await;
    assert_eq!(acked, PER_REQUEST * REQUESTS);
    // Killed at once: some acknowledged events are still waiting for detection.
    kill_node(node);

    let node = start_node(&data, &["--rules", &rules_arg], &[]);
    assert_exactly_once(node, acked).await;

    // A clean restart afterwards replays nothing and changes nothing.
    let node = start_node(&data, &["--rules", &rules_arg], &[]);
    let stats = get_json(&format!("{}/api/v1/stats", node.url)).await;
    assert_eq!(stats["events_processed"], 0, "nothing replayed: {stats}");
    assert_eq!(stats["events_ingested"], acked, "{stats}");
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_and_a_kill_during_replay_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rules = rules_dir(dir.path());
    let rules_arg = rules.to_str().unwrap().to_owned();
    let log = dir.path().join("node.log");
    // A small queue: replay waits for detection, so it lasts long enough to be interrupted.
    let env = [("SHIELD_QUEUE_EVENTS", "600")];
    let node = wait_listening(
        spawn_node_logged(&data, &["--rules", &rules_arg], &env, &log),
        &data,
    );
    let acked = post_all(&node.url).await;
    kill_node(node);

    // A write interrupted by the crash: garbage after the last synced frame.
    let segment = newest_segment(&data);
    let before = std::fs::metadata(&segment).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    file.write_all(b"SHFR\xff\x00\x00\x00 torn frame: the node died while writing this")
        .unwrap();
    drop(file);

    // Restart and kill again as soon as replay begins.
    let mut child = spawn_node_logged(&data, &["--rules", &rules_arg], &env, &log);
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("replaying the journal") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no replay in the log:\n{text}"
        );
        assert!(child.try_wait().unwrap().is_none(), "node exited:\n{text}");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("torn tail cut off") && text.contains(&format!("at byte {before}")),
        "the torn tail is reported with its place:\n{text}"
    );
    assert_eq!(
        std::fs::metadata(&segment).unwrap().len(),
        before,
        "the torn tail is cut off, the synced frames kept"
    );

    // The third start finishes the replay; nothing acknowledged is lost or doubled.
    let node = wait_listening(
        spawn_node_logged(&data, &["--rules", &rules_arg], &env, &log),
        &data,
    );
    assert_exactly_once(node, acked).await;
}
