use chrono::TimeZone;
use serde_json::json;

use super::*;

fn ctx() -> ParseContext {
    ParseContext::new("syslog-udp")
        .with_org("acme")
        .with_path("10.0.0.5:514")
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap()
}

fn parse(msg: &str) -> Event {
    parse_syslog(msg.as_bytes(), &ctx(), received()).unwrap_or_else(|e| panic!("{msg:?}: {e}"))
}

fn error(msg: &[u8]) -> ParseError {
    match parse_syslog(msg, &ctx(), received()) {
        Ok(event) => panic!("{:?} parsed: {}", String::from_utf8_lossy(msg), event.data),
        Err(e) => e,
    }
}

#[test]
fn rfc5424_full_message() {
    let e = parse(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
         [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \u{feff}An application event",
    );
    assert_eq!(e.meta.format, Format::Syslog5424);
    assert_eq!(
        e.data,
        json!({
            "facility": "local4", "facility_code": 20, "severity": "notice", "severity_code": 5,
            "version": 1, "timestamp": "2003-10-11T22:14:15.003Z", "hostname": "mymachine.example.com",
            "app_name": "evntslog", "msgid": "ID47",
            "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
            "message": "An application event",
        })
    );
    assert_eq!(
        e.meta.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2003-10-11T22:14:15.003+00:00")
    );
    assert_eq!(e.meta.org.as_deref(), Some("acme"));
    assert_eq!(
        e.meta.source.as_ref().map(|s| s.path.as_ref()),
        Some("10.0.0.5:514")
    );
}

#[test]
fn rfc5424_nil_values_offset_and_no_message() {
    let e = parse("<34>1 2003-10-11T22:14:15.003-07:00 - - - - -");
    assert_eq!(
        e.data,
        json!({"facility": "auth", "facility_code": 4, "severity": "crit", "severity_code": 2,
               "version": 1, "timestamp": "2003-10-12T05:14:15.003Z"})
    );
    let e = parse("<0>1 - host app 1234 - - msg with  spaces ");
    assert_eq!(e.data["facility"], json!("kern"));
    assert_eq!(e.data["severity"], json!("emerg"));
    assert_eq!(e.data["procid"], json!("1234"));
    assert_eq!(e.data["message"], json!("msg with  spaces "));
    assert!(e.data.get("timestamp").is_none());
    assert_eq!(e.meta.timestamp, None);
    // Missing STRUCTURED-DATA at the very end is tolerated.
    let e = parse("<14>1 - h a p m");
    assert_eq!(e.data["msgid"], json!("m"));
}

#[test]
fn rfc5424_structured_data_escapes_and_multiple_elements() {
    let e = parse(
        r#"<13>1 - - - - - [a@1 k="q\"uote" b="back\\slash" c="br\]acket" d="keep\n"][b@2  x="]"][a@1 z="1"] m"#,
    );
    assert_eq!(
        e.data["structured_data"],
        json!({"a@1": {"k": "q\"uote", "b": "back\\slash", "c": "br]acket", "d": "keep\\n", "z": "1"},
               "b@2": {"x": "]"}})
    );
    assert_eq!(e.data["message"], json!("m"));
    let e = parse("<13>1 - - - - - [origin]");
    assert_eq!(e.data["structured_data"], json!({"origin": {}}));
}

#[test]
fn rfc5424_errors_name_the_offset() {
    let e = error(b"<13>1 yesterday host app - - - msg");
    assert!(e.message.contains("invalid RFC 5424 timestamp"), "{e}");
    assert_eq!(e.location.offset, Some(6));
    assert_eq!(e.location.file.as_deref(), Some("10.0.0.5:514"));
    let e = error(b"<13>1 - host app");
    assert!(e.message.contains("cut short"), "{e}");
    let e = error(br#"<13>1 - - - - - [id k="unterminated]"#);
    assert!(e.message.contains("ends without"), "{e}");
    let e = error(br#"<13>1 - - - - - [id k=v]"#);
    assert!(e.message.contains("expected `\"`"), "{e}");
    assert_eq!(e.location.offset, Some(22));
    let e = error(br#"<13>1 - - - - - [id k="v"x]"#);
    assert!(e.message.contains("SD-ELEMENT"), "{e}");
    let e = error(br#"<13>1 - - - - - [] m"#);
    assert!(e.message.contains("SD-ID"), "{e}");
    let e = error(b"<13>1 - - - - - x");
    assert!(e.message.contains("STRUCTURED-DATA"), "{e}");
    let e = error(b"<13>1 - - - - - [a]x");
    assert!(e.message.contains("space after"), "{e}");
}

#[test]
fn rfc3164_classic() {
    let e =
        parse("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(e.meta.format, Format::Syslog3164);
    assert_eq!(
        e.data,
        json!({"facility": "auth", "facility_code": 4, "severity": "crit", "severity_code": 2,
               "timestamp": "2023-10-11T22:14:15Z", "hostname": "mymachine", "app_name": "su", "procid": "230",
               "message": "'su root' failed for lonvick on /dev/pts/8"})
    );
    // Received on 2024-03-10: Oct 11 would be seven months ahead, so it is last year's.
    assert_eq!(
        e.meta.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2023-10-11T22:14:15+00:00")
    );
    // A date up to a day ahead (clock skew) stays in the received year.
    let e = parse("<13>Mar 11 01:00:00 host app: x");
    assert_eq!(e.data["timestamp"], json!("2024-03-11T01:00:00Z"));
    let e = parse("<13>Mar  9 01:00:00.250 host app: x");
    assert_eq!(e.data["timestamp"], json!("2024-03-09T01:00:00.250Z"));
}

#[test]
fn rfc3164_variants() {
    // No hostname (local logger), tag without pid.
    let e = parse("<13>Feb  5 17:32:18 sshd: Accepted password");
    assert_eq!(e.data.get("hostname"), None);
    assert_eq!(e.data["app_name"], json!("sshd"));
    assert_eq!(e.data["message"], json!("Accepted password"));
    // ISO timestamp as rsyslog forwards, with offset.
    let e = parse(
        "<86>2024-05-01T10:00:00.123456+02:00 web01 sudo[99]: pam_unix(sudo:session): opened",
    );
    assert_eq!(e.data["timestamp"], json!("2024-05-01T08:00:00.123456Z"));
    assert_eq!(e.data["hostname"], json!("web01"));
    assert_eq!(e.data["facility"], json!("authpriv"));
    assert_eq!(e.data["severity"], json!("info"));
    assert_eq!(e.data["procid"], json!("99"));
    // Year in the timestamp (network devices).
    let e = parse("<189>Jan 12 2022 10:00:00 fw1 %ASA-5-111008: User 'enable_15' executed");
    assert_eq!(e.data["timestamp"], json!("2022-01-12T10:00:00Z"));
    assert_eq!(e.data["hostname"], json!("fw1"));
    assert_eq!(e.data["app_name"], json!("%ASA-5-111008"));
    // Feb 29 received in a non-leap year is the last leap day; an impossible date is no timestamp.
    let in_2025 = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let e = parse_syslog(b"<13>Feb 29 10:00:00 h a: m", &ctx(), in_2025).unwrap();
    assert_eq!(e.data["timestamp"], json!("2024-02-29T10:00:00Z"));
    let e = parse("<13>Feb 30 10:00:00 h a: m");
    assert!(e.data.get("timestamp").is_none());
    assert_eq!(e.data["message"], json!("Feb 30 10:00:00 h a: m"));
    // A leap day received in a leap year.
    let e = parse("<13>Feb 29 10:00:00 h a: m");
    assert_eq!(e.data["timestamp"], json!("2024-02-29T10:00:00Z"));
}

#[test]
fn without_pri_or_structure() {
    let e = parse("sshd[12]: Failed password for root");
    assert_eq!(e.meta.format, Format::Syslog3164);
    assert_eq!(
        e.data,
        json!({"app_name": "sshd", "procid": "12", "message": "Failed password for root"})
    );
    let e = parse("Oct  3 10:00:00 host kernel: boom");
    assert_eq!(e.data["hostname"], json!("host"));
    assert_eq!(e.data["app_name"], json!("kernel"));
    assert!(e.data.get("facility").is_none());
    let e = parse("just some text http://x.y/z");
    assert_eq!(e.data, json!({"message": "just some text http://x.y/z"}));
    let e = parse("<13>hello");
    assert_eq!(e.data["message"], json!("hello"));
}

#[test]
fn garbage_is_an_error() {
    for (msg, what) in [
        (&b""[..], "empty"),
        (b"   \r\n", "empty"),
        (b"\n\0\0", "empty"),
        (b"<999>Oct 11 22:14:15 host x: y", "invalid PRI"),
        (b"<192>x", "invalid PRI"),
        (b"<>x", "invalid PRI"),
        (b"<1234>x", "invalid PRI"),
        (b"<13 x", "invalid PRI"),
        (b"<-1>x", "invalid PRI"),
        (b"<13>bin\0ary", "NUL"),
        (b"\x01\x02\x03\x04garbage", "control bytes"),
        (b"\x1b\x1b", "control bytes"),
    ] {
        let e = error(msg);
        assert!(
            e.message.contains(what),
            "{:?}: {e}",
            String::from_utf8_lossy(msg)
        );
        assert_eq!(e.location.file.as_deref(), Some("10.0.0.5:514"));
    }
    // A few control characters in a long message are kept.
    let e =
        parse("<13>Oct 11 22:14:15 host app: colour \x1b[31mred\x1b[0m text goes on and on and on");
    assert!(e.data["message"].as_str().unwrap().contains('\x1b'));
}

#[test]
fn invalid_utf8_is_replaced_not_refused() {
    let e = parse_syslog(
        b"<13>Oct 11 22:14:15 host app: caf\xe9 \xff\xfe",
        &ctx(),
        received(),
    )
    .unwrap();
    assert_eq!(e.data["message"], json!("caf\u{fffd} \u{fffd}\u{fffd}"));
    let e = parse_syslog(b"<13>1 - h a - - - \xEF\xBB\xBFok \xc3", &ctx(), received()).unwrap();
    assert_eq!(e.data["message"], json!("ok \u{fffd}"));
}

#[test]
fn trailing_newlines_and_leading_blanks_are_trimmed() {
    let e = parse("  <13>Oct 11 22:14:15 host app: m\r\n\0");
    assert_eq!(e.data["message"], json!("m"));
    let e = parse("<13>Oct 11 22:14:15 host app: multi\nline");
    assert_eq!(e.data["message"], json!("multi\nline"));
}

#[test]
fn cef_alone_and_after_headers() {
    let e = parse(
        "CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
    );
    assert_eq!(e.meta.format, Format::Cef);
    assert_eq!(e.data["device_vendor"], json!("Security"));
    assert_eq!(e.data["sourceAddress"], json!("10.0.0.1"));
    assert!(e.data.get("syslog").is_none());

    let e = parse(
        "<134>Feb 12 10:00:00 fw01 CEF:0|Palo Alto|PAN-OS|9.1|THREAT|virus|8|rt=1707732000123 suser=corp\\\\bob msg=a b",
    );
    assert_eq!(e.meta.format, Format::Cef);
    assert_eq!(e.data["device_product"], json!("PAN-OS"));
    assert_eq!(e.data["suser"], json!("corp\\bob"));
    assert_eq!(e.data["msg"], json!("a b"));
    assert_eq!(e.data["syslog"]["hostname"], json!("fw01"));
    assert_eq!(e.data["syslog"]["facility"], json!("local0"));
    assert_eq!(e.data["syslog"]["severity"], json!("info"));
    assert_eq!(
        e.meta.timestamp.map(|t| t.timestamp_millis()),
        Some(1_707_732_000_123)
    );

    let e = parse(
        "<13>1 2024-01-01T00:00:00Z host app - - - CEF:0|V|P|1|s|n|3|rt=Jan 02 2024 03:04:05 act=blocked",
    );
    assert_eq!(e.meta.format, Format::Cef);
    assert_eq!(e.data["deviceAction"], json!("blocked"));
    assert_eq!(e.data["syslog"]["app_name"], json!("app"));
    assert_eq!(
        e.meta.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-01-02T03:04:05+00:00")
    );

    let e = parse("<13>Oct 11 22:14:15 host CEF:0|V|P|1|s|n|3|");
    assert_eq!(
        e.meta.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2023-10-11T22:14:15+00:00")
    );

    let e = error(b"<13>Oct 11 22:14:15 host CEF:0|broken");
    assert!(e.message.contains("CEF header"), "{e}");
    assert_eq!(e.location.offset, Some(25));
}
