//! `read_file` over the shared Sigma regression data: each test folder holds an `.evtx` log and the
//! same log as the pretty-printed JSON the `evtx` crate writes. Both must give the same events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use shield_event::parse::{FileKind, ParseContext, detect_file_kind, discover_files, read_file};
use shield_event::{Event, Format};

fn shared(sub: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping: SHIELD_SHARED_DATA not set");
        return None;
    };
    let path = Path::new(&root).join(sub);
    assert!(
        path.is_dir(),
        "SHIELD_SHARED_DATA is set but {} is missing",
        path.display()
    );
    Some(path)
}

fn events(path: &Path) -> Vec<Event> {
    let ctx = ParseContext::new("file");
    read_file(path, &ctx)
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn evtx_and_its_json_export_give_the_same_events() {
    let Some(dir) = shared("sigma/regression_data") else {
        return;
    };
    let (files, errors) = discover_files(&[dir]);
    assert!(errors.is_empty(), "{errors:?}");
    let logs: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect();
    assert!(logs.len() >= 150, "{} logs", logs.len());
    let mut compared = 0;
    for evtx in logs {
        let json = evtx.with_extension("json");
        if !json.exists() {
            continue;
        }
        assert_eq!(detect_file_kind(evtx).unwrap(), FileKind::Evtx);
        assert_eq!(detect_file_kind(&json).unwrap(), FileKind::Json);
        let from_evtx = events(evtx);
        let from_json = events(&json);
        assert!(!from_evtx.is_empty(), "{}", evtx.display());
        assert_eq!(from_evtx.len(), from_json.len(), "{}", evtx.display());
        for (a, b) in from_evtx.iter().zip(&from_json) {
            assert_eq!(a.meta.format, Format::Evtx);
            assert_eq!(b.meta.format, Format::Json);
            assert_eq!(a.field("EventID"), b.field("EventID"), "{}", evtx.display());
            assert_eq!(
                a.field("EventRecordID"),
                b.field("EventRecordID"),
                "{}",
                evtx.display()
            );
            // The exports were written with microseconds; the record has 100 ns ticks.
            let micros = |e: &Event| e.meta.timestamp.map(|t| t.timestamp_micros());
            assert!(micros(a).is_some());
            assert_eq!(micros(a), micros(b), "{}", evtx.display());
        }
        compared += 1;
    }
    assert!(compared >= 150, "compared {compared}");
}
