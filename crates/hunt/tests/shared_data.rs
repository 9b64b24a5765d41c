//! Hunting over the shared attack logs with the SigmaHQ rules (needs `SHIELD_SHARED_DATA`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::path::PathBuf;

use shield_event::ParseError;
use shield_hunt::output::JsonlSink;
use shield_hunt::{HuntOptions, LoadedRules, NoProgress, Progress, hunt, hunt_with_rules};

fn shared() -> Option<PathBuf> {
    match std::env::var_os("SHIELD_SHARED_DATA") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.is_dir(),
                "SHIELD_SHARED_DATA={} is not a folder",
                dir.display()
            );
            Some(dir)
        }
        None => {
            eprintln!("skipping: SHIELD_SHARED_DATA not set");
            None
        }
    }
}

#[derive(Default)]
struct Problems(RefCell<Vec<String>>);

impl Progress for Problems {
    fn problem(&self, error: &ParseError) {
        self.0.borrow_mut().push(error.to_string());
    }
}

#[test]
fn a_truncated_evtx_is_reported_and_the_hunt_goes_on() {
    let Some(data) = shared() else { return };
    let sample = data.join("evtx/evtx-attack-samples/Privilege Escalation/Sysmon_UACME_64.evtx");
    let bytes = std::fs::read(&sample).expect("sample present");
    assert!(bytes.len() > 4096 + 3 * 65536, "a multi-chunk sample");
    let dir = tempfile::tempdir().unwrap();
    // Header, two whole chunks and part of the third; and a file that only claims to be EVTX.
    std::fs::write(
        dir.path().join("a_truncated.evtx"),
        &bytes[..4096 + 2 * 65536 + 20_000],
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b_not_evtx.evtx"),
        b"this is not an event log",
    )
    .unwrap();
    std::fs::write(dir.path().join("c_whole.evtx"), &bytes).unwrap();

    let problems = Problems::default();
    let mut sink = JsonlSink::new(Vec::new());
    let opts = HuntOptions {
        rules: vec![data.join("sigma/rules/windows/process_creation")],
        paths: vec![dir.path().to_path_buf()],
        threads: 2,
        ..HuntOptions::default()
    };
    let summary = hunt(&opts, &mut sink, &problems).expect("hunt");
    let problems = problems.0.into_inner();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("a_truncated.evtx") && p.contains("truncated")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("b_not_evtx.evtx")),
        "{problems:?}"
    );
    assert!(summary.record_errors >= 1);
    // The whole copy was read after the damaged ones.
    let whole = shield_event::parse::read_file(
        &dir.path().join("c_whole.evtx"),
        &shield_event::ParseContext::new("t"),
    )
    .unwrap()
    .filter(Result::is_ok)
    .count() as u64;
    assert!(
        summary.events > whole,
        "{} events, {whole} in the whole copy",
        summary.events
    );
    let text = String::from_utf8(sink.into_inner()).unwrap();
    assert!(
        text.lines().any(|l| l.contains("c_whole.evtx")),
        "hits from the intact copy"
    );
}

#[test]
fn attack_samples_with_sigmahq_windows_rules() {
    let Some(data) = shared() else { return };
    let rules = LoadedRules::load(&[data.join("sigma/rules/windows")], None).expect("rules");
    assert!(
        rules.detection_rules() > 2000,
        "{}",
        rules.detection_rules()
    );
    let mut outputs = Vec::new();
    for threads in [1, 3] {
        let opts = HuntOptions {
            paths: vec![data.join("evtx/evtx-attack-samples")],
            threads,
            ..HuntOptions::default()
        };
        let mut sink = JsonlSink::new(Vec::new());
        let summary = hunt_with_rules(&rules, &opts, &mut sink, &NoProgress).expect("hunt");
        eprintln!("threads {threads}:\n{summary}");
        assert_eq!(summary.files, 278);
        assert!(summary.events > 7_000, "{}", summary.events);
        // Plausible: attack logs fire many rules, but not one per rule and event.
        assert!(
            summary.hits > 500 && summary.hits < 50_000,
            "{} hits",
            summary.hits
        );
        assert!(summary.hits_by_tactic.iter().filter(|n| **n > 0).count() >= 8);
        outputs.push((summary, sink.into_inner()));
    }
    let (a, b) = (&outputs[0], &outputs[1]);
    assert_eq!(a.0.hits, b.0.hits);
    assert_eq!(a.0.events, b.0.events);
    assert!(a.1 == b.1, "the same bytes with 1 and 3 threads");
}
