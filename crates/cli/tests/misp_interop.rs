//! Interoperability with PyMISP, MISP's own library: PyMISP loads Shield's MISP export as a
//! `MISPEvent`, and Shield imports an event PyMISP wrote (attributes, a `tlp:amber` tag, a `file`
//! object) with its TLP kept.
//!
//! Runs when SHIELD_PYTHON names a Python with `scripts/python-requirements.txt` installed
//! (`scripts/test` prepares one); skips with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn shield_intel(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shield"))
        .arg("intel")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("SHIELD_ORGANISATION")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "shield intel {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn pymisp(python: &str, mode: &str, file: &Path) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/misp_interop.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(mode)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pymisp {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pymisp_and_shield_exchange_events_with_their_tlp() {
    let Ok(python) = std::env::var("SHIELD_PYTHON") else {
        eprintln!(
            "skipping: SHIELD_PYTHON not set (scripts/test installs the Python clients and sets it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // PyMISP writes an event; Shield imports it. The event's tlp:amber wins over --tlp green,
    // which only applies to objects without a marking.
    let written = dir.path().join("pymisp-event.json");
    let made = pymisp(&python, "write", &written);
    let out = shield_intel(
        &data,
        &["import", written.to_str().unwrap(), "--tlp", "green"],
    );
    assert!(out.contains(", 0 problems"), "{out}");
    let out = shield_intel(&data, &["search", "198.51.100.77"]);
    assert!(
        out.contains("indicator--") && out.contains("TLP:AMBER"),
        "{out}"
    );
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let out = shield_intel(&data, &["search", sha]);
    let object = made["object"].as_str().unwrap();
    assert!(
        out.contains(&format!("indicator--{object}")) && out.contains("TLP:AMBER"),
        "the file object is one indicator: {out}"
    );
    // AMBER: another organisation does not see it.
    let out = shield_intel(&data, &["search", "198.51.100.77", "--org", "cert-other"]);
    assert!(out.contains("no indicator"), "{out}");
    // to_ids=false is context, not an indicator.
    let out = shield_intel(&data, &["search", "https://login-ministry.example/owa/"]);
    assert!(out.contains("no indicator"), "{out}");

    // Shield's MISP export (of that event and of a STIX bundle) loads as a MISPEvent.
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intel/advisory-bundle.json");
    shield_intel(&data, &["import", bundle.to_str().unwrap()]);
    let exported = dir.path().join("shield-export.json");
    std::fs::write(
        &exported,
        shield_intel(&data, &["export", "--format", "misp"]),
    )
    .unwrap();
    let read = pymisp(&python, "load", &exported);
    assert_eq!(
        read["info"], "Credential phishing against ministries",
        "{read}"
    );
    assert!(
        read["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "tlp:amber"),
        "{read}"
    );
    let attributes = read["attributes"].as_array().unwrap();
    let find = |value: &str| {
        attributes
            .iter()
            .chain(
                read["objects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|o| o["attributes"].as_array().unwrap()),
            )
            .find(|a| a["value"].as_str().is_some_and(|v| v.contains(value)))
            .cloned()
            .unwrap_or_else(|| panic!("{value} not in what PyMISP read: {read}"))
    };
    let ip = find("198.51.100.77");
    assert_eq!(ip["type"], "ip-dst");
    assert_eq!(ip["to_ids"], true);
    assert!(
        ip["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "tlp:amber")
    );
    find(sha);
    find("login-ministry.example");
    let bundled = find("203.0.113.7");
    assert!(
        bundled["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "tlp:green"),
        "the bundle's TLP:GREEN marking becomes a tag: {bundled}"
    );
    find("evil-updates.example");
}
