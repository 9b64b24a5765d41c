use std::fs;

use serde_json::json;

use super::*;
use crate::Format;

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, content).unwrap();
    path
}

fn ctx() -> ParseContext {
    ParseContext::new("file").with_org("acme")
}

fn read(path: &Path) -> (Vec<Event>, Vec<ParseError>) {
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for item in read_file(path, &ctx()).unwrap() {
        match item {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    (events, errors)
}

fn record(event: &Event) -> Option<u64> {
    event.meta.source.as_ref().and_then(|s| s.record_id)
}

#[test]
fn kinds_by_content_then_extension() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[u8], FileKind); 12] = [
        ("a.log", b"ElfFile\0rest", FileKind::Evtx),
        ("b.txt", b"  \n[{\"a\":1}]", FileKind::Json),
        ("c.log", b"{\"a\":1}\n{\"a\":2}\n", FileKind::Ndjson),
        ("d.jsonl", b"{\n  \"a\": 1\n}\n", FileKind::Json),
        ("e.json", b"\xEF\xBB\xBF{\"a\":1}", FileKind::Ndjson),
        ("f.json", b"Record 1\n{\n}\n", FileKind::Json),
        ("g.json", b"", FileKind::Json),
        ("h.ndjson", b"", FileKind::Ndjson),
        ("i.evtx", b"", FileKind::Evtx),
        (
            "j.log",
            b"<13>Oct 11 22:14:15 host app: m\n",
            FileKind::SyslogText,
        ),
        ("messages", b"plain text\n", FileKind::SyslogText),
        ("k.JSONL", b"", FileKind::Ndjson),
    ];
    for (name, content, kind) in cases {
        let path = write(d, name, content);
        assert_eq!(detect_file_kind(&path).unwrap(), kind, "{name}");
    }
    // A first line longer than what is looked at: the extension decides.
    let long = [b"{\"a\":\"".as_slice(), &vec![b'x'; 70_000], b"\"}\n{}\n"].concat();
    assert_eq!(
        detect_file_kind(&write(d, "long.ndjson", &long)).unwrap(),
        FileKind::Ndjson
    );
    assert_eq!(
        detect_file_kind(&write(d, "long.json", &long)).unwrap(),
        FileKind::Json
    );
    assert!(detect_file_kind(&d.join("missing.json")).is_err());
}

#[test]
fn ndjson_file_streams_lines_with_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "x.ndjson",
        b"{\"a\":1}\n\n{\"a\":\n{\"a\":3}\r\n",
    );
    let (events, errors) = read(&path);
    assert_eq!(
        events.iter().map(record).collect::<Vec<_>>(),
        [Some(1), Some(4)]
    );
    assert_eq!(events[1].data, json!({"a": 3}));
    assert_eq!(events[0].meta.org.as_deref(), Some("acme"));
    let name = path.to_string_lossy();
    assert_eq!(
        events[0].meta.source.as_ref().map(|s| s.path.as_ref()),
        Some(name.as_ref())
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location.line, Some(3));
    assert_eq!(errors[0].location.file.as_deref(), Some(name.as_ref()));
    assert!(errors[0].location.offset.is_some_and(|o| o >= 9));
}

#[test]
fn evtx_dump_outputs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let json = b"Record 1\n{\n  \"Event\": {\n    \"System\": {\"EventID\": 4688}\n  }\n}\nRecord 2\n{\n  \"Event\": {\n    \"System\": {\"EventID\": 1}\n  }\n}\n";
    let (events, errors) = read(&write(dir.path(), "dump.json", json));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        events.iter().map(record).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    assert_eq!(events[0].field("EventID"), Some(&json!(4688)));
    let jsonl =
        b"{\"Event\":{\"System\":{\"EventID\":4688}}}\n{\"Event\":{\"System\":{\"EventID\":1}}}\n";
    let (events, errors) = read(&write(dir.path(), "dump.jsonl", jsonl));
    assert!(errors.is_empty());
    assert_eq!(events.len(), 2);
}

#[test]
fn syslog_text_file_names_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"<13>Oct 11 22:14:15 host app: one\n\n<999>bad\nsshd[1]: two\n";
    let path = write(dir.path(), "syslog.log", text);
    let (events, errors) = read(&path);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events.iter().map(record).collect::<Vec<_>>(),
        [Some(1), Some(4)]
    );
    assert_eq!(events[0].meta.format, Format::Syslog3164);
    assert_eq!(events[1].data["app_name"], json!("sshd"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location.line, Some(3));
    assert_eq!(errors[0].location.offset, Some(35));
}

#[test]
fn json_array_file_and_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "arr.json", b"[{\"a\":1},{\"a\":2},{oops}]");
    let (events, errors) = read(&path);
    assert_eq!(events.len(), 2);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location.record, Some(2));
    let refused = read_json(&path, &ctx().with_path("arr.json"), 10)
        .err()
        .unwrap();
    assert!(
        refused.message.contains("larger than the 10-byte limit"),
        "{refused}"
    );
    assert_eq!(refused.location.file.as_deref(), Some("arr.json"));
}

#[test]
fn unreadable_and_fake_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_file(&dir.path().join("nope.ndjson"), &ctx())
        .err()
        .unwrap();
    assert!(missing.message.contains("cannot read file"), "{missing}");
    let fake = write(dir.path(), "fake.evtx", b"not an event log");
    let e = read_file(&fake, &ctx()).err().unwrap();
    assert!(e.message.contains("not an EVTX file"), "{e}");
}

#[test]
fn discover_expands_folders_sorted_and_filters_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in [
        "b/2.evtx",
        "b/1.JSON",
        "a.ndjson",
        "notes.md",
        "b/c/deep.log",
        "b/c/x.bin",
        "z.txt",
    ] {
        write(d, name, b"");
    }
    let explicit = write(&d.join("other"), "named.data", b"");
    let (files, errors) = discover_files(&[d.to_path_buf(), explicit.clone(), d.join("missing")]);
    let relative: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(d).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        relative,
        [
            "a.ndjson",
            "b/1.JSON",
            "b/2.evtx",
            "b/c/deep.log",
            "z.txt",
            "other/named.data"
        ]
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, d.join("missing"));
    assert!(errors[0].to_string().contains("missing"));
}

#[cfg(unix)]
#[test]
fn discover_survives_symlink_loops_and_dangling_links() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "logs/a.json", b"");
    std::os::unix::fs::symlink(d.join("logs"), d.join("logs/loop")).unwrap();
    std::os::unix::fs::symlink(d.join("nowhere.json"), d.join("logs/dangling.json")).unwrap();
    std::os::unix::fs::symlink(d.join("logs/a.json"), d.join("logs/b.json")).unwrap();
    let (files, errors) = discover_files(&[d.to_path_buf(), d.join("logs")]);
    // `b.json` is a link to `a.json`: the same file is listed once.
    assert_eq!(files, [d.join("logs/a.json")]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, d.join("logs/dangling.json"));
}
