//! Conformance with SigmaHQ's own regression data: for every `info.yml` under
//! `$SHIELD_SHARED_DATA/sigma/regression_data/rules`, the rule it names (loaded from the maintained
//! rule sets, compiled with the default Windows mapping) must fire on the test's `.evtx` log and on
//! the same log as `.json`, at least `match_count` times where given.
//!
//! Cases listed in [`EXCEPTIONS`] are reported but do not fail the test; every other failure does.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

use shield_event::Event;
use shield_event::parse::{ParseContext, parse_json_body, read_evtx_file};
use shield_sigma::{CompiledRuleSet, LoadOptions, Mapping, load_rules};

/// Cases known not to pass, with the reason. Empty: every case passes.
const EXCEPTIONS: &[(&str, &str)] = &[];

struct Case {
    dir: PathBuf,
    rule_id: String,
    tests: Vec<(String, Option<usize>)>,
}

/// Reads the few keys of an `info.yml` this test needs (`rule_metadata[].id`, and per test `path`
/// and `match_count`); the format is fixed and flat enough for a line reader.
fn read_info(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut section = "";
    let mut rule_id = None;
    let mut tests: Vec<(String, Option<usize>)> = Vec::new();
    let mut count: Option<usize> = None;
    let mut test_path: Option<String> = None;
    let flush = |tests: &mut Vec<(String, Option<usize>)>,
                 p: &mut Option<String>,
                 c: &mut Option<usize>| {
        if let Some(p) = p.take() {
            tests.push((p, c.take()));
        }
        *c = None;
    };
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        let trimmed = line.trim().trim_start_matches("- ");
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(['\'', '"']);
        match (section, key.trim()) {
            ("rule_metadata", "id") if rule_id.is_none() => rule_id = Some(value.to_owned()),
            ("regression_tests_info", "name") => flush(&mut tests, &mut test_path, &mut count),
            ("regression_tests_info", "match_count") => count = value.parse().ok(),
            ("regression_tests_info", "path") => test_path = Some(value.to_owned()),
            _ => {}
        }
    }
    flush(&mut tests, &mut test_path, &mut count);
    Case {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        rule_id: rule_id.unwrap_or_else(|| panic!("{}: no rule id", path.display())),
        tests,
    }
}

fn find_infos(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            find_infos(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

fn count_matches(compiled: &CompiledRuleSet, rule: usize, events: &[Event]) -> usize {
    let mut out = Vec::new();
    events
        .iter()
        .filter(|e| {
            out.clear();
            compiled.matches(e, &mut out);
            out.iter().any(|m| m.rule == rule)
        })
        .count()
}

#[test]
fn sigmahq_regression_data() {
    let Some(data) = std::env::var_os("SHIELD_SHARED_DATA").map(PathBuf::from) else {
        eprintln!("skipping: SHIELD_SHARED_DATA not set");
        return;
    };
    let sigma = data.join("sigma");
    let regression = sigma.join("regression_data/rules");
    assert!(
        regression.is_dir(),
        "missing shared data: {}",
        regression.display()
    );
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| sigma.join(d))
        .collect();
    let (set, _) = load_rules(&dirs, &LoadOptions::default());
    let (compiled, _) = CompiledRuleSet::compile(&set, &Mapping::default_windows());
    let mut infos = Vec::new();
    find_infos(&regression, &mut infos);
    infos.sort();
    assert!(
        infos.len() >= 150,
        "only {} regression cases found",
        infos.len()
    );

    let ctx = ParseContext::new("conformance");
    let (mut passed, mut failed, mut excused) = (0usize, Vec::new(), Vec::new());
    for info in &infos {
        let case = read_info(info);
        let Some(rule) = compiled.rules().iter().position(|r| r.id == case.rule_id) else {
            failed.push(format!(
                "{}: rule {} not loaded",
                case.dir.display(),
                case.rule_id
            ));
            continue;
        };
        let mut problems = Vec::new();
        for (path, want) in &case.tests {
            let evtx = case
                .dir
                .join(Path::new(path).file_name().unwrap_or_default());
            let json = evtx.with_extension("json");
            let want = want.unwrap_or(1).max(1);
            let evtx_events: Vec<Event> = read_evtx_file(&evtx, &ctx)
                .unwrap_or_else(|e| panic!("{}: {e}", evtx.display()))
                .filter_map(Result::ok)
                .collect();
            let bytes = std::fs::read(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
            let json_events = parse_json_body(&bytes, &ctx).events;
            for (kind, events) in [("evtx", &evtx_events), ("json", &json_events)] {
                let got = count_matches(&compiled, rule, events);
                if got < want {
                    problems.push(format!(
                        "{kind}: {got} of {} events matched, want >= {want}",
                        events.len()
                    ));
                }
            }
        }
        if problems.is_empty() {
            passed += 1;
            continue;
        }
        let line = format!(
            "{} ({}, {}): {}",
            case.rule_id,
            compiled.rule(rule).title,
            case.dir
                .strip_prefix(&regression)
                .unwrap_or(&case.dir)
                .display(),
            problems.join("; ")
        );
        match EXCEPTIONS.iter().find(|(id, _)| *id == case.rule_id) {
            Some((_, reason)) => excused.push(format!("{line} [exception: {reason}]")),
            None => failed.push(line),
        }
    }
    eprintln!(
        "Sigma conformance: {passed} passed, {} failed, {} excused of {}",
        failed.len(),
        excused.len(),
        infos.len()
    );
    for e in &excused {
        eprintln!("  excused: {e}");
    }
    for f in &failed {
        eprintln!("  FAILED: {f}");
    }
    assert!(
        failed.is_empty(),
        "{} regression cases failed",
        failed.len()
    );
}
