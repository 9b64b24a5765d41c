//! Interoperability with the OASIS Python clients: `taxii2-client` drives the server (discovery,
//! collections, add, pages, added_after, manifest, versions, delete) and `stix2-validator`
//! validates every object it serves, Shield-made ones included (TLP 2.0 marking definitions and,
//! with the shared data, MISP events converted by Shield).
//!
//! Runs when SHIELD_PYTHON names a Python with `scripts/python-requirements.txt` installed
//! (`scripts/test` prepares one); skips with a message otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use shield_intel::misp::import_event;
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;
use shield_store::intel::{IncomingObject, IntelWrite, Provenance};

/// Shield-made objects: the TLP 2.0 marking definitions, and the STIX form of the MISP feed
/// sample's events when SHIELD_SHARED_DATA is set (a set variable with the data missing fails).
fn shield_made_objects() -> Vec<StixObject> {
    let mut objects: Vec<StixObject> = Tlp::ALL.iter().map(|t| t.marking_definition()).collect();
    let Ok(shared) = std::env::var("SHIELD_SHARED_DATA") else {
        eprintln!("SHIELD_SHARED_DATA not set: MISP-converted objects are not part of this run");
        return objects;
    };
    let folder = Path::new(&shared).join("ti/misp-feed-sample");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "manifest.json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no MISP events in {}", folder.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let import = import_event(&text, &file.display().to_string()).unwrap();
        assert!(!import.objects.is_empty());
        objects.extend(
            import
                .objects
                .into_iter()
                .map(|v| StixObject::from_value(v).unwrap()),
        );
    }
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii2_client_and_stix2_validator_agree_with_the_server() {
    let Ok(python) = std::env::var("SHIELD_PYTHON") else {
        eprintln!(
            "skipping: SHIELD_PYTHON not set (scripts/test installs the Python clients and sets it)"
        );
        return;
    };
    let s = TestServer::start().await;
    let write = IntelWrite {
        collection: s.indicators_id(),
        objects: shield_made_objects()
            .into_iter()
            .map(IncomingObject::new)
            .collect(),
        provenance: Provenance {
            source: "import:test".into(),
            org: "a".into(),
            default_tlp: Tlp::Green,
            shared_with: vec![],
        },
        received: chrono::Utc::now(),
        status_id: None,
    };
    let preloaded = s.store.put_objects(&write).unwrap().added();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/interop.py");
    let mut command = std::process::Command::new(&python);
    command
        .arg(&script)
        .env("SHIELD_TAXII_URL", s.url(""))
        .env("SHIELD_TAXII_WRITER", &s.peer_a)
        .env("SHIELD_TAXII_READER", &s.peer_b)
        .env("SHIELD_PRELOADED", preloaded.to_string());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "interop.py failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("interop: all checks passed"));
    let validated: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("validated: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(validated > preloaded + 25, "{validated} validated");
}
