//! IOC list import and export.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shield_intel::ioc::{Ioc, IocKind};
use shield_intel::lists::{ListFormat, export_csv, export_text, import, import_csv, import_text};

fn kinds_values(list: &shield_intel::lists::ImportedList) -> Vec<(IocKind, &str, u64)> {
    list.entries
        .iter()
        .map(|e| (e.ioc.kind(), e.ioc.value(), e.line))
        .collect()
}

fn error_lines(list: &shield_intel::lists::ImportedList) -> Vec<(Option<u64>, String)> {
    list.errors
        .iter()
        .map(|e| (e.location.line, e.to_string()))
        .collect()
}

#[test]
fn text_list_with_comments_defanging_and_errors() {
    let text = "# blocklist 2026-01\n\
                203.0.113.5\n\
                \n\
                evil[.]example  # C2\n\
                hxxp://evil[.]example/gate.php\n\
                // another comment style\n\
                not an indicator\n\
                0.0.0.0 ads.tracker.example\n\
                D41D8CD98F00B204E9800998ECF8427E\n\
                1.2.3\n";
    let list = import_text(text, "blocklist.txt");
    assert_eq!(
        kinds_values(&list),
        vec![
            (IocKind::Ipv4, "203.0.113.5", 2),
            (IocKind::Domain, "evil.example", 4),
            (IocKind::Url, "http://evil.example/gate.php", 5),
            (IocKind::Domain, "ads.tracker.example", 8),
            (IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e", 9),
        ]
    );
    assert_eq!(list.entries[1].comment.as_deref(), Some("C2"));
    let errors = error_lines(&list);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, Some(7));
    assert!(
        errors[0].1.starts_with("blocklist.txt:7: cannot tell"),
        "{}",
        errors[0].1
    );
    assert_eq!(errors[1].0, Some(10));
}

#[test]
fn csv_with_type_value_header() {
    let csv = "type,value,comment\n\
               ip-dst,198.51.100.7,C2 server\n\
               domain,Login-Example.invalid.,\n\
               sha256,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,\"dropper, stage 1\"\n\
               ssdeep,3:abc:def,\n\
               md5,nothex,\n\
               ,evil.example,\n";
    let list = import_csv(csv, "feed.csv");
    assert_eq!(
        kinds_values(&list),
        vec![
            (IocKind::Ipv4, "198.51.100.7", 2),
            (IocKind::Domain, "login-example.invalid", 3),
            (
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                4
            ),
            (IocKind::Domain, "evil.example", 7),
        ]
    );
    assert_eq!(list.entries[0].comment.as_deref(), Some("C2 server"));
    assert_eq!(list.entries[2].comment.as_deref(), Some("dropper, stage 1"));
    let errors = error_lines(&list);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, Some(5));
    assert!(
        errors[0].1.contains("unknown indicator type \"ssdeep\""),
        "{}",
        errors[0].1
    );
    assert_eq!(errors[1].0, Some(6));
    assert!(errors[1].1.contains("feed.csv:6"), "{}", errors[1].1);
}

#[test]
fn csv_header_variants() {
    let list = import_csv(
        "indicator,type\nevil.example,domain\n203.0.113.1,ip\n",
        "a.csv",
    );
    assert_eq!(
        kinds_values(&list),
        vec![
            (IocKind::Domain, "evil.example", 2),
            (IocKind::Ipv4, "203.0.113.1", 3)
        ]
    );
    let list = import_csv("IOC\nevil.example\nhxxps://evil[.]example/x\n", "b.csv");
    assert_eq!(
        kinds_values(&list),
        vec![
            (IocKind::Domain, "evil.example", 2),
            (IocKind::Url, "https://evil.example/x", 3)
        ]
    );
    let list = import_csv(
        "first_seen;ioc_value;ioc_type\n2026-01-01;evil.example;domain\n",
        "c.csv",
    );
    assert_eq!(
        kinds_values(&list),
        vec![(IocKind::Domain, "evil.example", 2)]
    );
    // No header: `type,value` and `value,type` are both recognised.
    let list = import_csv("url,http://evil.example/a\nevil.example,domain\n", "d.csv");
    assert_eq!(
        kinds_values(&list),
        vec![
            (IocKind::Url, "http://evil.example/a", 1),
            (IocKind::Domain, "evil.example", 2)
        ]
    );
    let list = import_csv("203.0.113.5\n", "e.csv");
    assert_eq!(kinds_values(&list), vec![(IocKind::Ipv4, "203.0.113.5", 1)]);
}

#[test]
fn unclosed_quote_is_reported_at_its_record() {
    let list = import_csv(
        "type,value\ndomain,evil.example\nurl,\"http://x.example/\n",
        "q.csv",
    );
    assert_eq!(list.entries.len(), 1);
    let errors = error_lines(&list);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, Some(3));
    assert!(errors[0].1.contains("not closed"));
}

#[test]
fn auto_format_and_round_trip() {
    let iocs = vec![
        Ioc::new(IocKind::Ipv4, "203.0.113.5").unwrap(),
        Ioc::new(IocKind::Cidr, "198.51.100.0/24").unwrap(),
        Ioc::new(IocKind::Url, "http://evil.example/a?x=1,2").unwrap(),
        Ioc::new(IocKind::UserAgent, "Mozilla/5.0 (\"evil\")").unwrap(),
        Ioc::new(IocKind::FileName, "invoice.pdf.exe").unwrap(),
    ];
    let csv = export_csv(&iocs);
    assert!(csv.starts_with("type,value\nipv4,203.0.113.5\n"));
    let back = import(&csv, ListFormat::Auto, "export.csv");
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    let read: Vec<Ioc> = back.entries.into_iter().map(|e| e.ioc).collect();
    assert_eq!(read, iocs);

    let detectable = &iocs[..3];
    let text = export_text(detectable);
    let back = import(&text, ListFormat::Auto, "export.txt");
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    let read: Vec<Ioc> = back.entries.into_iter().map(|e| e.ioc).collect();
    assert_eq!(read, detectable);
}

#[test]
fn errors_are_bounded() {
    let text = "nonsense\n".repeat(5000);
    let list = import_text(&text, "junk.txt");
    assert!(list.entries.is_empty());
    assert_eq!(list.errors.len(), shield_intel::lists::MAX_ERRORS + 1);
}

#[test]
fn fuzz_entry_point_holds_on_awkward_inputs() {
    for input in [
        "",
        "\u{feff}value\n\"unterminated",
        "type,value\nuser-agent,\" spaced, \"\"quoted\"\" \"\nfilename,\"a,b.exe\"\n",
        "# only a comment",
        "0.0.0.0 evil.example\n::1 localhost\nhxxp://x[.]example/a,b\n",
        ";;;\n\t\t\n,,,\n",
        "filename,#hash.exe\nurl,http://x.example/#frag\n",
    ] {
        shield_intel::lists::fuzz_list(input.as_bytes());
    }
}
