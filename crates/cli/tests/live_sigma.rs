//! Sigma rules running live in `shield serve`: alerts with rule metadata, correlation, alert queries
//! with filters and cursor pagination, reload by API and by SIGHUP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn sysmon(computer: &str, record: u64, image: &str, command_line: &str) -> Value {
    json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1, "EventRecordID": record,
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": computer,
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-23T09:00:00.000Z"}}
        },
        "EventData": {"Image": image, "CommandLine": command_line, "ParentImage": "C:\\Windows\\explorer.exe"}
    }})
}

async fn post(base: &str, events: &[Value]) {
    post_events(base, events).await;
}

async fn alerts(base: &str, query: &str) -> Value {
    get_json(&format!("{base}/api/v1/alerts?{query}")).await
}

async fn wait_alerts(base: &str, n: u64) -> Value {
    wait_stats(base, |s| {
        s["alerts"].as_u64().unwrap_or(0) >= n && s["queue"]["pending"] == 0
    })
    .await
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_raise_alerts_live_and_reload_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    copy_dir(&fixtures.join("rules"), &rules);
    let rules_arg = rules.to_str().unwrap().to_owned();
    let node = start_node(&dir.path().join("data"), &["--rules", &rules_arg], &[]);
    let base = node.url.clone();

    let loaded = get_json(&format!("{base}/api/v1/rules")).await;
    assert_eq!(loaded["report"]["rules_loaded"], 2, "{loaded}");

    // One harmless event, three whoami on one host (the third completes the correlation), one elsewhere.
    post(
        &base,
        &[
            sysmon(
                "WS1",
                1,
                "C:\\Windows\\System32\\notepad.exe",
                "notepad.exe",
            ),
            sysmon("WS1", 2, "C:\\Windows\\System32\\whoami.exe", "whoami /all"),
            sysmon("WS1", 3, "C:\\Windows\\System32\\whoami.exe", "whoami"),
            sysmon(
                "WS1",
                4,
                "C:\\Windows\\System32\\WHOAMI.EXE",
                "whoami /priv",
            ),
            sysmon("WS2", 5, "C:\\Windows\\System32\\whoami.exe", "whoami"),
        ],
    )
    .await;
    let stats = wait_alerts(&base, 5).await;
    assert_eq!(
        stats["alerts"], 5,
        "4 whoami alerts + 1 correlation: {stats}"
    );

    let page = alerts(&base, "rule=5d3c1e4a-7b7e-4a53-9d0a-0c6f3a1b2e01").await;
    let list = page["alerts"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let a = &list[0];
    assert_eq!(a["rule"]["title"], "Discovery With whoami");
    assert_eq!(a["rule"]["level"], "medium");
    assert!(
        a["rule"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("attack.t1033"))
    );
    assert_eq!(a["kind"], "sigma");

    let high = alerts(&base, "level=high").await;
    let high = high["alerts"].as_array().unwrap();
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(high[0]["kind"], "correlation");
    assert_eq!(
        high[0]["rule"]["id"],
        "5d3c1e4a-7b7e-4a53-9d0a-0c6f3a1b2e02"
    );

    // Cursor pagination visits every alert exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let page = alerts(&base, &q).await;
        for a in page["alerts"].as_array().unwrap() {
            seen.push(a["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5));
    let one = get_json(&format!("{base}/api/v1/alerts/{}", seen[0])).await;
    assert_eq!(one["id"], seen[0].as_str());
    let r = client()
        .get(format!("{base}/api/v1/alerts?cursor=garbage"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .get(format!("{base}/api/v1/alerts?level=severe"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Reload through the API picks up a new rule.
    copy_dir(&fixtures.join("rules-extra"), &rules);
    let r = client()
        .post(format!("{base}/api/v1/rules/reload"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["rules_loaded"], 3, "{report}");
    post(
        &base,
        &[sysmon(
            "WS3",
            6,
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe -nop /enc SQBFAFgA",
        )],
    )
    .await;
    wait_alerts(&base, 6).await;
    let ps = alerts(&base, "rule=5d3c1e4a-7b7e-4a53-9d0a-0c6f3a1b2e03").await;
    assert_eq!(ps["alerts"].as_array().unwrap().len(), 1, "{ps}");

    // A broken rule file is reported; the others keep running. SIGHUP reloads too.
    std::fs::write(rules.join("broken.yml"), "title: [unclosed\n").unwrap();
    let pid = node.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    loop {
        let r = get_json(&format!("{base}/api/v1/rules")).await;
        if r["report"]["rules_rejected"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(r["report"]["rules_loaded"], 3, "{r}");
            assert!(
                r["report"]["errors"][0]
                    .as_str()
                    .unwrap()
                    .contains("broken.yml"),
                "{r}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "SIGHUP did not reload: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let audit = get_json(&format!("{base}/api/v1/audit")).await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "rules.reload")
    );

    // Metrics expose the counts in Prometheus format.
    let r = client()
        .get(format!("{base}/metrics"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("shield_sigma_rules_loaded 3"), "{text}");
    assert!(
        text.contains("shield_events_ingested_total{input=\"http\"} 6"),
        "{text}"
    );
    node.stop();
}
