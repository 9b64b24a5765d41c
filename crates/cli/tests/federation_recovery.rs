//! Nothing accepted is lost between real nodes: a hub that is down while a member publishes gets
//! everything once it is back; a member killed with SIGKILL while the hub publishes 10,000
//! objects holds all 10,000, each exactly once, after its restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod federation_common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use federation_common::*;
use serde_json::Value;

fn indicators(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| {
            indicator(
                &format!("indicator--{}", uuid4()),
                &format!("{tag}-{i}.example.net"),
                "green",
            )
        })
        .collect()
}

fn assert_exactly_once(versions: &[(String, String)], n: usize) {
    let distinct: HashSet<&(String, String)> = versions.iter().collect();
    assert_eq!(versions.len(), n, "versions");
    assert_eq!(distinct.len(), n, "each version once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_was_down_receives_everything_once_back() {
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let ee = site(dir.path(), "ee-cert", "EE");
    let hub_for_ee = peer_token(&hub, &ee);
    let ee_for_hub = peer_token(&ee, &hub);
    let hub_config = config(&hub, "hub", &peer_entry(&ee, "member", &ee_for_hub), &[]);
    let ee_config = config(&ee, "member", &peer_entry(&hub, "hub", &hub_for_ee), &[]);
    let ee_node = start(&ee, &ee_config);
    // The hub is down: EE publishes 500 indicators in five requests.
    for _ in 0..5 {
        let (status, _) =
            post_objects(&ee_node.url, "indicators", ADMIN, indicators(100, "down")).await;
        assert_eq!(status, 202);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hub_node = start(&hub, &hub_config);
    let started = Instant::now();
    let versions = wait_versions(
        &hub_node.url,
        "shared",
        "indicator--",
        500,
        Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "hub caught up with 500 objects {:?} after its start",
        started.elapsed()
    );
    assert_exactly_once(&versions, 500);
    hub_node.stop();
    ee_node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_while_the_hub_publishes_gets_all_ten_thousand_exactly_once() {
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let hub = site(dir.path(), "eu-hub", "BE");
    let lv = site(dir.path(), "lv-cert", "LV");
    let hub_for_lv = peer_token(&hub, &lv);
    let lv_for_hub = peer_token(&lv, &hub);
    let hub_config = config(&hub, "hub", &peer_entry(&lv, "member", &lv_for_hub), &[]);
    let lv_config = config(&lv, "member", &peer_entry(&hub, "hub", &hub_for_lv), &[]);
    let hub_node = start(&hub, &hub_config);
    let mut lv_node = start(&lv, &lv_config);
    let published = Instant::now();
    for _ in 0..(N / 1000) {
        let (status, body) =
            post_objects(&hub_node.url, "indicators", ADMIN, indicators(1000, "bulk")).await;
        assert_eq!(status, 202, "{body}");
    }
    // Kill LV once part of the stream has arrived.
    wait_versions(
        &lv_node.url,
        "shared",
        "indicator--",
        1,
        Duration::from_secs(60),
    )
    .await;
    lv_node.child.kill().unwrap();
    lv_node.child.wait().unwrap();
    drop(lv_node);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lv_node = start(&lv, &lv_config);
    let versions = wait_versions(
        &lv_node.url,
        "shared",
        "indicator--",
        N,
        Duration::from_secs(300),
    )
    .await;
    let elapsed = published.elapsed();
    eprintln!(
        "{N} objects hub → LV with a SIGKILL in between: {elapsed:?} ({:.0} objects/s)",
        N as f64 / elapsed.as_secs_f64()
    );
    assert_exactly_once(&versions, N);
    hub_node.stop();
    lv_node.stop();
}
