//! `shield demo --headless` plays the whole scenario on loopback and reports every step passed
//! with measured propagation latencies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::Value;

#[test]
fn headless_demo_passes_every_step() {
    let out = common::shield()
        .args(["demo", "--headless", "--rounds", "5", "--bulk", "300"])
        .env_remove("SHIELD_CONFIG")
        .env_remove("SHIELD_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let steps = summary["steps"].as_array().unwrap();
    assert!(steps.len() >= 7, "{summary}");
    for step in steps {
        assert_eq!(step["passed"], Value::Bool(true), "{step}");
        assert!(step["name"].is_string());
    }
    let p50 = summary["propagation"]["p50_ms"].as_f64().unwrap();
    let p99 = summary["propagation"]["p99_ms"].as_f64().unwrap();
    assert_eq!(summary["propagation"]["samples"], 10);
    assert!(p50 > 0.0 && p50 <= p99, "{summary}");
    assert_eq!(summary["nodes"].as_array().unwrap().len(), 4);
}
