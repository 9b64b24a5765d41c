//! STIX pattern grammar: a table of valid patterns (they parse, print canonically and read back
//! to the same tree) and of invalid ones (they fail at the expected byte offset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shield_intel::pattern::{
    Comparison, ComparisonExpr, Constant, ObjectPath, ObservationExpr, Operator, PathStep, Pattern,
    PatternLimits, Qualifier,
};

const VALID: &[&str] = &[
    "[ipv4-addr:value = '203.0.113.5']",
    "[ipv4-addr:value == '203.0.113.5']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[ipv6-addr:value ISSUPERSET '2001:db8::1']",
    "[domain-name:value = 'evil.example']",
    "[url:value = 'http://evil.example/a?b=c']",
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    "[file:hashes.MD5 = '3773a88f65a5e780c8dff9cdc3a056f3' OR file:hashes.'SHA-1' = '0123456789abcdef0123456789abcdef01234567']",
    "[email-addr:value = 'phish@evil.example']",
    "[process:command_line MATCHES '^cmd\\\\.exe /c']",
    "[file:name LIKE '%.exe' AND file:size > 1024]",
    "[file:name NOT LIKE '%.txt']",
    "[file:size NOT > 10]",
    "[network-traffic:dst_port IN (80, 443, 8080)]",
    "[network-traffic:protocols[*] = 'tcp']",
    "[network-traffic:protocols[0] = 'ipv4' AND network-traffic:protocols[-1] = 'tcp']",
    "[network-traffic:dst_ref.value = '198.51.100.7']",
    "[email-message:to_refs[*].value = 'a@example.com']",
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo\\\\Bar']",
    "[user-account:account_login = 'o\\'brien']",
    "[x509-certificate:issuer != 'CN=Trusted']",
    "[x509-certificate:issuer <> 'CN=Trusted']",
    "[file:created < t'2016-01-01T00:00:00Z' AND file:modified >= t'2016-01-01T00:00:00.123456Z']",
    "[artifact:payload_bin = b'AQIDBA==']",
    "[file:magic_number_hex = h'ffd8']",
    "[process:is_hidden = true]",
    "[process:is_hidden != false]",
    "[process:pid = -1 OR process:pid = +4 OR process:pid = 0]",
    "[x-custom-object:x_prop.'key with spaces' = 'v']",
    "[file:'name' = 'a']",
    "[network-traffic:src_port = 8080 AND (network-traffic:dst_port = 80 OR network-traffic:dst_port = 443)]",
    "[(file:name = 'a' OR file:name = 'b') AND file:size = 3]",
    "[EXISTS windows-registry-key:values]",
    "[EXISTS file:hashes.MD5 AND file:name = 'x']",
    "[domain-name:value = 'a'] OR [url:value = 'b']",
    "[domain-name:value = 'a'] AND [url:value = 'b']",
    "[domain-name:value = 'a'] FOLLOWEDBY [url:value = 'b']",
    "[a:b = 1] OR [c:d = 2] AND [e:f = 3] FOLLOWEDBY [g:h = 4]",
    "([a:b = 1] OR [c:d = 2]) AND [e:f = 3]",
    "([a:b = 1] FOLLOWEDBY [c:d = 2]) FOLLOWEDBY [e:f = 3]",
    "[file:name = 'a'] WITHIN 300 SECONDS",
    "[file:name = 'a'] WITHIN 2.5 SECONDS",
    "[file:name = 'a'] REPEATS 5 TIMES",
    "[file:name = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
    "[file:name = 'a'] REPEATS 2 TIMES WITHIN 60 SECONDS",
    "([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32'] FOLLOWEDBY [domain-name:value = 'example.com']) WITHIN 600 SECONDS",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']",
    "[file:name IN ()]",
    "[file:name IN ('a', 'b', 3, true, t'2020-01-01T00:00:00Z')]",
    "  [ file:name = 'a' ]  /* comment */ // trailing",
    "[file:name = '\u{e9}t\u{e9}']",
    "[file:size = .5]",
];

/// (pattern, byte offset of the error)
const INVALID: &[(&str, usize)] = &[
    ("", 0),
    ("ipv4-addr:value = '1.2.3.4'", 0),
    ("[ipv4-addr:value = '198.51.100.7'", 33),
    ("[ipv4-addr:value = '198.51.100.7']]", 34),
    ("[ipv4-addr:value = 198.51.100.7]", 25),
    ("[ipv4-addr:value '1.2.3.4']", 17),
    ("[ipv4-addr value = '1.2.3.4']", 11),
    ("[:value = 'x']", 1),
    ("[file:hashes.SHA-256 = 'x']", 13),
    ("[file:name = 'x' AND]", 20),
    ("[file:name = 'x'] AND", 21),
    ("[file:name = 'x'] WITHIN SECONDS", 25),
    ("[file:name = 'x'] WITHIN 0 SECONDS", 25),
    ("[file:name = 'x'] WITHIN -5 SECONDS", 25),
    ("[file:name = 'x'] WITHIN 5", 26),
    ("[file:name = 'x'] REPEATS 0 TIMES", 26),
    ("[file:name = 'x'] REPEATS 1.5 TIMES", 26),
    (
        "[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'",
        18,
    ),
    (
        "[file:name = 'x'] START '2016-07-01T00:00:00Z' STOP t'2017-06-01T00:00:00Z'",
        24,
    ),
    ("[file:name LIKE 5]", 16),
    ("[file:name MATCHES x]", 19),
    ("[file:size > true]", 13),
    ("[file:name IN 'a']", 14),
    ("[file:name IN ('a',)]", 19),
    ("[file:name = 'unterminated]", 13),
    ("[file:name = 'bad \\n escape']", 18),
    ("[file:name = h'abc']", 15),
    ("[file:name = b'not base64!']", 15),
    ("[file:created = t'2016-13-01T00:00:00Z']", 18),
    ("[file:created = t'2016-01-01 00:00:00']", 18),
    ("[file:size = 007]", 13),
    ("[file:name = 'x'] FOLLOWEDBY", 28),
    ("[file:name = 'x'] [file:name = 'y']", 18),
    ("([file:name = 'x']", 18),
    ("[file:name = 'x' OR (file:name = 'y']", 36),
    ("[file:name = 'x'] and [file:name = 'y']", 18),
    ("[file:name NOT]", 14),
    ("[file:name = 'x'] ^ 2", 18),
    ("[NOT file:name = 'x']", 1),
    ("[file:name = 'x'] /* open", 18),
    ("[file:name[x] = 'x']", 10),
];

#[test]
fn valid_patterns_parse_and_print_back_to_the_same_tree() {
    for text in VALID {
        let pattern = Pattern::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let printed = pattern.to_string();
        let again = Pattern::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
        assert_eq!(again, pattern, "{text:?} printed as {printed:?}");
        assert_eq!(again.to_string(), printed, "printing is stable");
    }
}

#[test]
fn invalid_patterns_fail_at_the_right_offset() {
    let mut wrong = Vec::new();
    for (text, offset) in INVALID {
        match Pattern::parse(text) {
            Ok(p) => wrong.push(format!("{text:?} parsed as {p}")),
            Err(e) if e.offset != *offset => {
                wrong.push(format!("{text:?}: expected offset {offset}, got {e}"))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn precedence_and_grouping() {
    let p = Pattern::parse("[a:b = 1] OR [c:d = 2] AND [e:f = 3] FOLLOWEDBY [g:h = 4]").unwrap();
    let ObservationExpr::FollowedBy(seq) = p.root() else {
        panic!("{:?}", p.root())
    };
    assert_eq!(seq.len(), 2);
    let ObservationExpr::Or(alternatives) = &seq[0] else {
        panic!("{:?}", seq[0])
    };
    assert!(matches!(alternatives[1], ObservationExpr::And(_)));

    let p = Pattern::parse("[a:b = 1 OR a:c = 2 AND a:d = 3]").unwrap();
    let ObservationExpr::Observation(ComparisonExpr::Or(items)) = p.root() else {
        panic!()
    };
    assert!(matches!(items[1], ComparisonExpr::And(_)));

    let p = Pattern::parse("[a:b = 1] REPEATS 2 TIMES WITHIN 60 SECONDS").unwrap();
    let ObservationExpr::Qualified(inner, Qualifier::Within(s)) = p.root() else {
        panic!()
    };
    assert_eq!(*s, 60.0);
    assert!(matches!(
        **inner,
        ObservationExpr::Qualified(_, Qualifier::Repeats(2))
    ));
}

#[test]
fn comparisons_carry_paths_operators_and_constants() {
    let p = Pattern::parse(
        "[file:extensions.'windows-pebinary-ext'.sections[*].name NOT MATCHES '^\\\\.text']",
    )
    .unwrap();
    let ObservationExpr::Observation(ComparisonExpr::Comparison(c)) = p.root() else {
        panic!()
    };
    assert_eq!(
        c,
        &Comparison {
            path: ObjectPath {
                object_type: "file".into(),
                steps: vec![
                    PathStep::Key("extensions".into()),
                    PathStep::Key("windows-pebinary-ext".into()),
                    PathStep::Key("sections".into()),
                    PathStep::AnyIndex,
                    PathStep::Key("name".into()),
                ],
            },
            negated: true,
            operator: Operator::Matches,
            value: Constant::Str("^\\.text".into()),
        }
    );
    assert_eq!(
        c.path.to_string(),
        "file:extensions.'windows-pebinary-ext'.sections[*].name"
    );
    assert!(
        ObjectPath::parse("file:hashes.'MD5'")
            .unwrap()
            .is("file:hashes.MD5")
    );
    assert!(
        ObjectPath::parse("file:hashes.'SHA-256'")
            .unwrap()
            .is("file:hashes.'SHA-256'")
    );
    assert!(ObjectPath::parse("file:hashes.").is_err());
}

#[test]
fn limits_bound_length_and_nesting() {
    let deep = format!("[{}a:b = 1{}]", "(".repeat(100), ")".repeat(100));
    let e = Pattern::parse(&deep).unwrap_err();
    assert!(e.reason.contains("nested deeper"), "{e}");
    let limits = PatternLimits {
        max_depth: 200,
        ..PatternLimits::default()
    };
    assert!(Pattern::parse_with(&deep, &limits).is_ok());

    let long = format!("[a:b = '{}']", "x".repeat(100));
    let limits = PatternLimits {
        max_len: 50,
        ..PatternLimits::default()
    };
    assert_eq!(Pattern::parse_with(&long, &limits).unwrap_err().offset, 50);

    // Deep nesting far beyond the limit fails cleanly (no stack overflow).
    let hostile = "(".repeat(1_000_000);
    assert!(Pattern::parse(&hostile).is_err());
}

#[test]
fn simple_iocs_of_disjunctions_of_equalities() {
    let iocs = |text: &str| -> Vec<(String, String)> {
        Pattern::parse(text)
            .unwrap()
            .simple_iocs()
            .into_iter()
            .map(|i| (i.path.to_string(), i.value))
            .collect()
    };
    assert_eq!(
        iocs("[ipv4-addr:value = '1.2.3.4']"),
        [("ipv4-addr:value".into(), "1.2.3.4".into())]
    );
    assert_eq!(
        iocs("[file:hashes.MD5 = 'aa' OR file:hashes.'SHA-256' = 'bb']"),
        [
            ("file:hashes.MD5".into(), "aa".into()),
            ("file:hashes.'SHA-256'".into(), "bb".into())
        ]
    );
    assert_eq!(
        iocs("[domain-name:value = 'x'] OR [url:value = 'y']"),
        [
            ("domain-name:value".into(), "x".into()),
            ("url:value".into(), "y".into())
        ]
    );
    assert_eq!(
        iocs("[domain-name:value IN ('a', 'b')]"),
        [
            ("domain-name:value".into(), "a".into()),
            ("domain-name:value".into(), "b".into())
        ]
    );
    for not_simple in [
        "[domain-name:value = 'x' AND url:value = 'y']",
        "[domain-name:value != 'x']",
        "[domain-name:value NOT = 'x']",
        "[domain-name:value LIKE 'x%']",
        "[network-traffic:dst_port = 443]",
        "[domain-name:value = 'x'] AND [url:value = 'y']",
        "[domain-name:value = 'x'] WITHIN 5 SECONDS",
        "[domain-name:value IN ('a', 1)]",
    ] {
        assert!(iocs(not_simple).is_empty(), "{not_simple}");
    }
}

#[test]
fn object_types_and_single_event_reasons() {
    let p =
        Pattern::parse("[file:name = 'a' AND ipv4-addr:value = 'b'] OR [file:size > 1]").unwrap();
    assert_eq!(p.object_types(), ["file", "ipv4-addr"]);
    assert!(p.single_event_evaluable());
    for (text, needle) in [
        ("[a:b = 1] FOLLOWEDBY [a:b = 2]", "FOLLOWEDBY"),
        ("[a:b = 1] AND [a:b = 2]", "observation AND"),
        ("[a:b = 1] REPEATS 3 TIMES", "REPEATS 3"),
        (
            "[a:b = 1] OR ([a:b = 2] FOLLOWEDBY [a:b = 3])",
            "FOLLOWEDBY",
        ),
        ("[a:b MATCHES '(?<=x)y']", "MATCHES"),
    ] {
        let p = Pattern::parse(text).unwrap();
        assert!(!p.single_event_evaluable(), "{text}");
        let reason = p.single_event_reason().unwrap();
        assert!(reason.contains(needle), "{text}: {reason}");
    }
    for evaluable in [
        "[a:b = 1] WITHIN 5 SECONDS",
        "[a:b = 1] REPEATS 1 TIMES",
        "[a:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "[a:b = 1] OR [a:c = 2]",
    ] {
        assert!(
            Pattern::parse(evaluable).unwrap().single_event_evaluable(),
            "{evaluable}"
        );
    }
}

#[test]
fn fuzz_entry_point_accepts_odd_input() {
    for input in [
        &b"[a:b = 1]"[..],
        b"\xff\xfe",
        b"[",
        b"((((",
        b"[a:b = 1] WITHIN 1e5 SECONDS",
        b"[a:b = 1.0e3]",
    ] {
        shield_intel::pattern::fuzz_pattern(input);
    }
    for text in VALID {
        shield_intel::pattern::fuzz_pattern(text.as_bytes());
    }
}
