//! Hunting over the fixtures in `tests/fixtures`: exact hits, order, output formats, errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::io;
use std::path::PathBuf;

use serde_json::Value;
use shield_event::{Level, ParseError};
use shield_hunt::output::{CsvSink, JsonlSink, OutputFormat};
use shield_hunt::{
    Hit, HitSink, HuntError, HuntOptions, HuntSummary, LoadedRules, NoProgress, Progress, hunt,
    hunt_with_rules,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn options(threads: usize, batch_size: usize) -> HuntOptions {
    HuntOptions {
        rules: vec![fixtures().join("rules")],
        paths: vec![fixtures().join("logs")],
        threads,
        batch_size,
        ..HuntOptions::default()
    }
}

/// A hit as (kind, last part of the rule id, file name, record).
type Seen = (String, String, String, Option<u64>);

/// Records every hit.
#[derive(Default)]
struct Recorder(Vec<Seen>);

impl HitSink for Recorder {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        let file = PathBuf::from(hit.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = hit
            .rule
            .id
            .rsplit('-')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.0
            .push((hit.kind.as_str().to_owned(), id, file, hit.record_id));
        Ok(())
    }
}

/// Collects the problems reported.
#[derive(Default)]
struct Problems(RefCell<Vec<String>>);

impl Progress for Problems {
    fn problem(&self, error: &ParseError) {
        self.0.borrow_mut().push(error.to_string());
    }
}

fn run(opts: &HuntOptions) -> (Vec<Seen>, HuntSummary) {
    let mut sink = Recorder::default();
    let summary = hunt(opts, &mut sink, &NoProgress).expect("hunt");
    (sink.0, summary)
}

fn jsonl(opts: &HuntOptions) -> String {
    let mut sink = JsonlSink::new(Vec::new());
    hunt(opts, &mut sink, &NoProgress).expect("hunt");
    String::from_utf8(sink.into_inner()).expect("utf-8")
}

fn hit(kind: &str, rule: &str, file: &str, record: u64) -> Seen {
    (kind.into(), rule.into(), file.into(), Some(record))
}

#[test]
fn hits_are_exact_and_ordered_by_file_record_rule_then_correlations() {
    let (hits, summary) = run(&options(1, 1024));
    let expected = vec![
        hit("sigma", "000000000001", "a_sysmon.ndjson", 1),
        hit("sigma", "000000000002", "a_sysmon.ndjson", 3),
        // One event, two rules: rule (load) order, net_user.yml before whoami.yml.
        hit("sigma", "000000000003", "a_sysmon.ndjson", 6),
        hit("sigma", "000000000001", "a_sysmon.ndjson", 6),
        // Security 4688 through the mapping's NewProcessName rename.
        hit("sigma", "000000000001", "b_security.ndjson", 4),
        // A generic (non-Windows) rule on a plain JSON line.
        hit("sigma", "000000000006", "c_linux.jsonl", 1),
        // The failed logons only feed the correlation (no `generate`); it fires on the third
        // failure for `admin` in event-time order: 10:01:00 (line 2), 10:01:20 (line 5),
        // 10:01:40 (line 1).
        hit("correlation", "000000000005", "b_security.ndjson", 1),
    ];
    assert_eq!(hits, expected);
    assert_eq!(summary.files, 3);
    assert_eq!(summary.events, 13 - 1, "13 non-blank lines, one malformed");
    assert_eq!(summary.record_errors, 1);
    assert_eq!(summary.files_failed, 0);
    assert_eq!(summary.hits, 7);
    assert_eq!(summary.correlation_hits, 1);
    assert_eq!(summary.hits_at(Level::High), 2);
    assert_eq!(summary.hits_at(Level::Medium), 4);
    assert_eq!(summary.hits_at(Level::Low), 1);
    assert_eq!(summary.detection_rules, 5);
    assert_eq!(summary.correlation_rules, 1);
    assert_eq!(summary.correlation_events, 5, "every failed logon feeds it");
    let tactic = |name: &str| {
        let i = shield_hunt::TACTICS
            .iter()
            .position(|t| *t == name)
            .unwrap();
        summary.hits_by_tactic[i]
    };
    assert_eq!(tactic("discovery"), 4);
    assert_eq!(tactic("execution"), 1);
    assert_eq!(tactic("defense_evasion"), 1);
    assert_eq!(tactic("credential_access"), 2);
}

#[test]
fn output_is_identical_whatever_the_threads_and_batch_sizes() {
    let reference = jsonl(&options(1, 1024));
    assert_eq!(reference.lines().count(), 7);
    for (threads, batch) in [(4, 1024), (4, 1), (2, 2), (1, 1)] {
        assert_eq!(
            jsonl(&options(threads, batch)),
            reference,
            "threads {threads}, batch {batch}"
        );
    }
}

#[test]
fn jsonl_lines_have_the_documented_shape() {
    let text = jsonl(&options(2, 1024));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let first = &lines[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "computer",
            "event",
            "fields",
            "kind",
            "logsource",
            "rule",
            "source",
            "timestamp"
        ]
    );
    assert_eq!(first["kind"], "sigma");
    assert_eq!(
        first["rule"],
        serde_json::json!({
            "id": "7c1b0e52-1f0a-4d1e-9a55-000000000001",
            "title": "Discovery With whoami",
            "level": "medium",
            "tags": ["attack.discovery", "attack.t1033"],
        })
    );
    assert!(
        first["source"]["path"]
            .as_str()
            .unwrap()
            .ends_with("a_sysmon.ndjson")
    );
    assert_eq!(first["source"]["record_id"], 1);
    assert_eq!(first["timestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(first["computer"], "WS01.corp.example");
    assert_eq!(first["logsource"], "process_creation-sysmon");
    assert_eq!(
        first["fields"],
        serde_json::json!({"Image": "C:\\Windows\\System32\\whoami.exe"})
    );
    assert_eq!(first["event"]["Event"]["System"]["EventRecordID"], 101);

    let correlation = lines.last().unwrap();
    assert_eq!(correlation["kind"], "correlation");
    assert_eq!(correlation["rule"]["level"], "high");
    assert!(correlation.get("fields").is_none());
    let details = &correlation["correlation"];
    assert!(details.is_object(), "{correlation}");
    assert!(
        details.to_string().contains("admin"),
        "the group names the account: {details}"
    );
}

#[test]
fn csv_quotes_titles_and_neutralises_formulas() {
    let mut sink = CsvSink::new(Vec::new());
    hunt(&options(2, 1024), &mut sink, &NoProgress).unwrap();
    let text = String::from_utf8(sink.into_inner()).unwrap();
    let rows: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        rows[0],
        "timestamp,level,kind,rule_id,rule_title,tags,computer,path,record_id,fields"
    );
    assert_eq!(rows.len(), 1 + 7 + 1, "header, 7 hits, empty tail");
    let net_user = rows[3];
    assert!(
        net_user.starts_with(
            "2024-05-01T10:00:20Z,low,sigma,7c1b0e52-1f0a-4d1e-9a55-000000000003,\
             \"Account Discovery: \"\"net user\"\", Local\",attack.discovery;attack.t1087.001,\
             \"'=HYPERLINK(\"\"x\"\")\","
        ),
        "{net_user}"
    );
    assert!(
        net_user.ends_with(",6,\"{\"\"CommandLine\"\":\"\"whoami & net user\"\"}\""),
        "{net_user}"
    );
}

#[test]
fn min_level_keeps_higher_hits_and_correlations_still_count_lower_matches() {
    let mut opts = options(2, 1024);
    opts.min_level = Some(Level::High);
    let (hits, summary) = run(&opts);
    assert_eq!(
        hits,
        vec![
            hit("sigma", "000000000002", "a_sysmon.ndjson", 3),
            hit("correlation", "000000000005", "b_security.ndjson", 1),
        ]
    );
    assert_eq!(summary.hits, 2);
}

#[test]
fn bad_records_are_reported_with_file_and_line_and_the_hunt_goes_on() {
    let problems = Problems::default();
    let mut sink = Recorder::default();
    let mut opts = options(2, 1024);
    opts.paths.push(fixtures().join("missing.ndjson"));
    let summary = hunt(&opts, &mut sink, &problems).unwrap();
    let problems = problems.0.into_inner();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("missing.ndjson"), "{problems:?}");
    assert!(problems[1].contains("a_sysmon.ndjson:4"), "{problems:?}");
    assert_eq!(summary.files_failed, 1);
    assert_eq!(summary.record_errors, 1);
    assert_eq!(sink.0.len(), 7);
}

#[test]
fn configuration_problems_are_errors() {
    let mut opts = options(1, 1024);
    opts.paths = vec![fixtures().join("nothing-here")];
    assert!(matches!(
        hunt(&opts, &mut Recorder::default(), &NoProgress),
        Err(HuntError::NoInput { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yml"), "title: [unclosed\n").unwrap();
    let mut opts = options(1, 1024);
    opts.rules = vec![dir.path().to_path_buf()];
    match hunt(&opts, &mut Recorder::default(), &NoProgress) {
        Err(HuntError::NoRules { rejected, .. }) => assert_eq!(rejected, 1),
        other => panic!("expected NoRules, got {other:?}"),
    }
    let mut opts = options(1, 1024);
    opts.rules.clear();
    assert!(matches!(
        hunt(&opts, &mut Recorder::default(), &NoProgress),
        Err(HuntError::NoRulePaths)
    ));
    let mut opts = options(1, 1024);
    opts.mapping = Some(fixtures().join("no-such-mapping.yml"));
    assert!(matches!(
        hunt(&opts, &mut Recorder::default(), &NoProgress),
        Err(HuntError::Mapping(_))
    ));
}

/// A sink whose writes fail, like a closed pipe.
struct Failing;

impl HitSink for Failing {
    fn hit(&mut self, _: &Hit<'_>) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
    }
}

#[test]
fn an_output_error_stops_the_hunt_without_hanging() {
    // Many files and one-event batches so that readers are blocked on full lanes when it stops.
    let dir = tempfile::tempdir().unwrap();
    let line = std::fs::read_to_string(fixtures().join("logs/a_sysmon.ndjson")).unwrap();
    for i in 0..40 {
        std::fs::write(dir.path().join(format!("{i:03}.ndjson")), line.repeat(20)).unwrap();
    }
    let mut opts = options(3, 1);
    opts.paths = vec![dir.path().to_path_buf()];
    match hunt(&opts, &mut Failing, &NoProgress) {
        Err(HuntError::Output(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("expected an output error, got {other:?}"),
    }
}

#[test]
fn loaded_rules_can_be_reused_across_hunts() {
    let rules = LoadedRules::load(&[fixtures().join("rules")], None).unwrap();
    assert_eq!(rules.detection_rules(), 5);
    assert_eq!(rules.correlation_rules(), 1);
    assert!(rules.rejected.is_empty());
    let opts = options(2, 1024);
    let mut first = Vec::new();
    let mut second = Vec::new();
    for out in [&mut first, &mut second] {
        let mut sink = OutputFormat::Table.sink(Box::new(&mut *out), false);
        hunt_with_rules(&rules, &opts, &mut sink, &NoProgress).unwrap();
    }
    assert_eq!(first, second);
    let table = String::from_utf8(first).unwrap();
    assert!(table.starts_with("TIME "), "{table}");
    assert!(
        table.contains("[correlation] Password Guessing Against One Account"),
        "{table}"
    );
    assert!(!table.contains('\x1b'), "no colours unless asked");
}

#[test]
fn jsonl_carries_an_ndjson_event_as_read_whatever_its_spacing_and_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let event = r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "WS\u0030\u0031"}, "EventData": {"Image": "C:\\Windows\\System32\\whoami.exe", "Note": "caf\u00e9 \"q\" \/ tab\t"}}}"##;
    let quiet = r#"{"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": {"Image": "C:\\x.exe"}}}"#;
    let text = format!("{quiet}\n \t{event}  \r\n{quiet}\r\n{event}");
    std::fs::write(dir.path().join("odd.ndjson"), text).unwrap();
    let mut opts = options(2, 1);
    opts.paths = vec![dir.path().to_path_buf()];
    let out = jsonl(&opts);
    let lines: Vec<Value> = out
        .split_terminator('\n')
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let expected: Value = serde_json::from_str(event).unwrap();
    assert_eq!(lines.len(), 2, "{out}");
    for (line, record) in lines.iter().zip([2, 4]) {
        assert_eq!(line["event"], expected);
        assert_eq!(line["source"]["record_id"], record);
        assert_eq!(line["computer"], "WS01");
        assert_eq!(
            line["fields"],
            serde_json::json!({"Image": "C:\\Windows\\System32\\whoami.exe"})
        );
    }
    assert!(
        !out.contains('\r'),
        "line ends and blanks around the event are dropped"
    );
}
