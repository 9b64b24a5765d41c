//! `shield hunt` and `shield rules check` through the real binary: exit codes and formats.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hunt/tests/fixtures")
}

fn shield(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shield"));
    cmd.args(args)
        .env_remove("SHIELD_RULES")
        .env("NO_COLOR", "1");
    cmd
}

fn rules() -> String {
    fixtures().join("rules").display().to_string()
}

fn logs() -> String {
    fixtures().join("logs").display().to_string()
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run shield");
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn hunt_with_hits_exits_zero_and_prints_the_table_and_summary() {
    let (code, out, err) = run(&mut shield(&["hunt", "--rules", &rules(), &logs()]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 7, "{out}");
    assert!(lines[0].starts_with("TIME"), "{out}");
    assert!(
        lines[2].contains("Encoded PowerShell Command Line"),
        "{out}"
    );
    assert!(lines[2].contains("a_sysmon.ndjson:3"), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    assert!(
        err.contains("a_sysmon.ndjson:4"),
        "the bad line is reported: {err}"
    );
    assert!(err.contains("hunted 3 files, 12 events"), "{err}");
    assert!(err.contains("hits: 7 (high 2, medium 4, low 1)"), "{err}");
}

#[test]
fn hunt_without_hits_exits_zero() {
    let (code, out, err) = run(&mut shield(&[
        "hunt",
        "--rules",
        &rules(),
        "--min-level",
        "critical",
        "--format",
        "jsonl",
        &logs(),
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("hits: 0"), "{err}");
}

#[test]
fn jsonl_and_csv_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("hits.jsonl");
    let (code, out, err) = run(&mut shield(&[
        "hunt",
        "--rules",
        &rules(),
        "--format",
        "jsonl",
        "--output",
        jsonl.to_str().unwrap(),
        "--threads",
        "3",
        "--quiet",
        &logs(),
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(!err.contains("hunted"), "--quiet hides the summary: {err}");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[1]["rule"]["title"], "Encoded PowerShell Command Line");
    assert_eq!(lines[1]["source"]["record_id"], 3);
    assert_eq!(lines[6]["kind"], "correlation");

    let (code, out, err) = run(&mut shield(&[
        "hunt",
        "--rules",
        &rules(),
        "--format",
        "csv",
        "--quiet",
        &logs(),
    ]));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "timestamp,level,kind,rule_id,rule_title,tags,computer,path,record_id,fields"
    );
    assert!(
        rows[3].contains(",\"Account Discovery: \"\"net user\"\", Local\","),
        "{}",
        rows[3]
    );
}

#[test]
fn rules_come_from_shield_rules_when_not_given() {
    let (code, out, err) = run(shield(&["hunt", "--format", "jsonl", &logs()])
        .env("SHIELD_RULES", fixtures().join("rules")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 7);
}

#[test]
fn configuration_errors_exit_one() {
    // No rules at all.
    let (code, _, err) = run(&mut shield(&["hunt", &logs()]));
    assert_eq!(code, 1);
    assert!(err.contains("--rules"), "{err}");
    // No input files.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&mut shield(&[
        "hunt",
        "--rules",
        &rules(),
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("no input files"), "{err}");
    // An output that cannot be written.
    let bad = dir.path().join("no/such/folder/hits.jsonl");
    let (code, _, err) = run(&mut shield(&[
        "hunt",
        "--rules",
        &rules(),
        "--output",
        bad.to_str().unwrap(),
        &logs(),
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("cannot create output file"), "{err}");
    // A bad option value is a usage error.
    let (code, _, _) = run(&mut shield(&["hunt", "--format", "xml", &logs()]));
    assert_eq!(code, 2);
}

#[test]
fn rules_check_passes_good_rules_and_fails_on_a_broken_one() {
    let (code, out, err) = run(&mut shield(&["rules", "check", &rules()]));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.trim_end(),
        "checked 5 files: 6 rules ok, 0 errors, 0 warnings"
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "title: Broken\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|nosuchmod: x\n  condition: sel\n",
    )
    .unwrap();
    let (code, out, err) = run(&mut shield(&[
        "rules",
        "check",
        dir.path().to_str().unwrap(),
        &rules(),
    ]));
    assert_eq!(code, 1, "{out}{err}");
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{}:5: error: unknown modifier 'nosuchmod' [Broken]",
            broken.display()
        )
    );
    assert!(
        out.contains("checked 6 files: 6 rules ok, 1 errors, 0 warnings"),
        "{out}"
    );
    assert!(err.contains("1 errors in rules"), "{err}");
}

#[test]
fn rules_check_lints_log_source_coverage_against_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.yml");
    std::fs::write(
        &mapping,
        "logsources:\n  process_creation-sysmon:\n    product: windows\n    category: process_creation\n    conditions: { Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1 }\n",
    )
    .unwrap();
    let (code, out, err) = run(&mut shield(&[
        "rules",
        "check",
        "--mapping",
        mapping.to_str().unwrap(),
        &rules(),
    ]));
    assert_eq!(code, 0, "warnings only: {out}{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("failed_logon.yml:1: warning:")
                && l.contains("windows/-/security has no mapping entry")),
        "{out}"
    );
    assert!(out.contains("1 warnings"), "{out}");
}
