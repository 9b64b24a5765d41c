//! Evaluation semantics of STIX patterns against single observations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;

use serde_json::{Value, json};
use shield_intel::pattern::{Evaluation, ObjectPath, ObservableSource, ObservedObjects, Pattern};
use shield_intel::stix::Timestamp;

fn observation() -> Vec<Value> {
    vec![
        json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"}),
        json!({"type": "ipv4-addr", "id": "ipv4-addr--1f26c055-6336-5bc5-b98d-13d6226742dd", "value": "10.1.2.3"}),
        json!({"type": "domain-name", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5", "value": "evil.example"}),
        json!({"type": "network-traffic", "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
               "src_ref": "ipv4-addr--1f26c055-6336-5bc5-b98d-13d6226742dd",
               "dst_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
               "dst_port": 443, "protocols": ["ipv4", "tcp"]}),
        json!({"type": "file", "id": "file--5a27d487-c542-5f97-a131-a8866b477b46", "name": "invoice.pdf.exe", "size": 4096,
               "hashes": {"MD5": "3773a88f65a5e780c8dff9cdc3a056f3", "SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"},
               "magic_number_hex": "4d5a",
               "extensions": {"windows-pebinary-ext": {"pe_type": "exe", "sections": [{"name": ".text", "entropy": 7.2}, {"name": ".rsrc", "entropy": 3.1}]}}}),
        json!({"type": "process", "id": "process--f52a906a-0dfc-40bd-92f1-e7778ead38a9", "pid": 4242, "is_hidden": false,
               "command_line": "cmd.exe /c whoami", "created_time": "2026-03-01T10:00:00Z"}),
        json!({"type": "email-message", "id": "email-message--0c57a381-2a17-5e61-8754-5ef96efb286c", "is_multipart": false,
               "to_refs": ["email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3"]}),
        json!({"type": "email-addr", "id": "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3", "value": "victim@example.org"}),
    ]
}

fn eval(text: &str) -> Evaluation {
    let objects = observation();
    let source = ObservedObjects::from_objects(&objects);
    Pattern::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .evaluate(&source)
}

fn matches(text: &str) -> bool {
    match eval(text) {
        Evaluation::Match => true,
        Evaluation::NoMatch => false,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn equality_and_inequality() {
    assert!(matches("[ipv4-addr:value = '198.51.100.7']"));
    assert!(
        matches("[ipv4-addr:value = '10.1.2.3']"),
        "any object of the type"
    );
    assert!(!matches("[ipv4-addr:value = '198.51.100.8']"));
    assert!(
        matches("[ipv4-addr:value != '198.51.100.7']"),
        "the other address differs"
    );
    assert!(!matches("[domain-name:value != 'evil.example']"));
    assert!(!matches("[domain-name:value NOT = 'evil.example']"));
    assert!(
        !matches("[url:value != 'x']"),
        "absent type never satisfies, even negated"
    );
    assert!(
        !matches("[file:name = 4096]"),
        "a string never equals a number"
    );
    assert!(matches("[file:size = 4096]"));
    assert!(matches("[process:is_hidden = false]"));
}

#[test]
fn hashes_with_quoted_keys() {
    assert!(matches(
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"
    ));
    assert!(matches(
        "[file:hashes.MD5 = 'ffff' OR file:hashes.'MD5' = '3773a88f65a5e780c8dff9cdc3a056f3']"
    ));
    assert!(!matches(
        "[file:hashes.'SHA-1' = '3773a88f65a5e780c8dff9cdc3a056f3']"
    ));
}

#[test]
fn ordering_and_sets() {
    assert!(matches("[file:size > 1024 AND file:size <= 4096]"));
    assert!(!matches("[file:size < 1024]"));
    assert!(matches("[file:size NOT < 1024]"));
    assert!(matches("[network-traffic:dst_port IN (80, 443)]"));
    assert!(!matches("[network-traffic:dst_port IN (80, 8080)]"));
    assert!(matches("[network-traffic:dst_port NOT IN (80, 8080)]"));
    assert!(matches("[process:created_time > t'2026-01-01T00:00:00Z']"));
    assert!(matches("[file:magic_number_hex = h'4d5a']"));
    assert!(matches(
        "[domain-name:value > 'a' AND domain-name:value < 'f']"
    ));
}

#[test]
fn like_matches_and_networks() {
    assert!(matches("[file:name LIKE '%.exe']"));
    assert!(matches("[file:name LIKE 'invoice.___.exe']"));
    assert!(!matches("[file:name LIKE '%.pdf']"));
    assert!(matches("[file:name NOT LIKE '%.pdf']"));
    assert!(matches("[process:command_line MATCHES '^cmd\\\\.exe /c']"));
    assert!(!matches("[process:command_line MATCHES 'powershell']"));
    assert!(matches("[ipv4-addr:value ISSUBSET '198.51.100.0/24']"));
    assert!(matches("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"));
    assert!(!matches("[ipv4-addr:value ISSUBSET '192.168.0.0/16']"));
    assert!(
        matches("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']"),
        "198.51.100.7 is outside"
    );
}

#[test]
fn lists_references_and_exists() {
    assert!(matches("[network-traffic:protocols[*] = 'tcp']"));
    assert!(matches("[network-traffic:protocols[0] = 'ipv4']"));
    assert!(matches("[network-traffic:protocols[-1] = 'tcp']"));
    assert!(!matches("[network-traffic:protocols[5] = 'tcp']"));
    assert!(
        !matches("[network-traffic:protocols = 'tcp']"),
        "a list is not a string"
    );
    assert!(matches("[network-traffic:dst_ref.value = '198.51.100.7']"));
    assert!(matches(
        "[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8']"
    ));
    assert!(matches(
        "[email-message:to_refs[*].value = 'victim@example.org']"
    ));
    assert!(matches(
        "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]"
    ));
    assert!(matches("[EXISTS file:hashes.MD5]"));
    assert!(!matches("[EXISTS file:hashes.'SHA-512']"));
}

#[test]
fn boolean_combinations_inside_an_observation() {
    assert!(matches(
        "[file:name LIKE '%.exe' AND ipv4-addr:value = '198.51.100.7']"
    ));
    assert!(!matches(
        "[file:name LIKE '%.exe' AND ipv4-addr:value = '1.1.1.1']"
    ));
    assert!(matches(
        "[file:name = 'nope' OR (file:size = 4096 AND file:name LIKE 'inv%')]"
    ));
}

#[test]
fn observation_operators_need_state_and_say_so() {
    assert!(matches(
        "[url:value = 'x'] OR [domain-name:value = 'evil.example']"
    ));
    assert!(!matches(
        "[url:value = 'x'] OR [domain-name:value = 'good.example']"
    ));
    assert!(matches(
        "[domain-name:value = 'evil.example'] WITHIN 60 SECONDS"
    ));
    assert!(matches(
        "[domain-name:value = 'evil.example'] REPEATS 1 TIMES"
    ));

    match eval("[domain-name:value = 'evil.example'] FOLLOWEDBY [url:value = 'x']") {
        Evaluation::Indeterminate {
            reason,
            partial_match,
        } => {
            assert!(reason.contains("FOLLOWEDBY"), "{reason}");
            assert!(partial_match);
        }
        other => panic!("{other:?}"),
    }
    match eval("[domain-name:value = 'nope'] AND [url:value = 'x']") {
        Evaluation::Indeterminate { partial_match, .. } => assert!(!partial_match),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        eval("[file:size > 1] REPEATS 3 TIMES"),
        Evaluation::Indeterminate { .. }
    ));
    // Three-valued OR: one decided branch is enough.
    assert!(matches(
        "[file:size > 1] OR ([url:value = 'a'] FOLLOWEDBY [url:value = 'b'])"
    ));
    assert!(matches!(
        eval("[file:size > 99999] OR ([url:value = 'a'] FOLLOWEDBY [url:value = 'b'])"),
        Evaluation::Indeterminate { .. }
    ));
}

#[test]
fn start_stop_uses_the_observation_time() {
    let objects = observation();
    let pattern = Pattern::parse(
        "[domain-name:value = 'evil.example'] START t'2026-03-01T00:00:00Z' STOP t'2026-04-01T00:00:00Z'",
    )
    .unwrap();
    let inside = ObservedObjects::from_objects(&objects)
        .at(Timestamp::parse("2026-03-15T00:00:00Z").unwrap());
    let outside = ObservedObjects::from_objects(&objects)
        .at(Timestamp::parse("2026-04-01T00:00:00Z").unwrap());
    assert_eq!(pattern.evaluate(&inside), Evaluation::Match);
    assert_eq!(pattern.evaluate(&outside), Evaluation::NoMatch);
    assert!(matches!(
        pattern.evaluate(&ObservedObjects::from_objects(&objects)),
        Evaluation::Indeterminate { .. }
    ));
}

#[test]
fn unsupported_regex_is_reported_not_dropped() {
    let pattern = Pattern::parse("[process:command_line MATCHES '(?<=cmd)\\\\.exe']").unwrap();
    assert!(!pattern.single_event_evaluable());
    let objects = observation();
    match pattern.evaluate(&ObservedObjects::from_objects(&objects)) {
        Evaluation::Indeterminate { reason, .. } => assert!(reason.contains("MATCHES"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

/// An event adapter: answers `ipv4-addr:value` from flat event fields, as a live pipeline would.
struct FlatEvent(Value);

impl ObservableSource for FlatEvent {
    fn visit_values(&self, path: &ObjectPath, visit: &mut dyn FnMut(&Value) -> ControlFlow<()>) {
        if path.is("ipv4-addr:value") {
            for field in ["src_ip", "dst_ip"] {
                if let Some(v) = self.0.get(field) {
                    if visit(v).is_break() {
                        return;
                    }
                }
            }
        }
    }
}

#[test]
fn custom_sources_plug_in() {
    let event = FlatEvent(json!({"src_ip": "10.0.0.5", "dst_ip": "203.0.113.5", "user": "alice"}));
    let pattern = Pattern::parse("[ipv4-addr:value = '203.0.113.5']").unwrap();
    assert!(pattern.evaluate(&event).is_match());
    let pattern =
        Pattern::parse("[ipv4-addr:value = '203.0.113.6' OR domain-name:value = 'x']").unwrap();
    assert_eq!(pattern.evaluate(&event), Evaluation::NoMatch);
}

#[test]
fn observed_data_dictionaries_resolve_keys() {
    let objects = json!({
        "0": {"type": "ipv4-addr", "value": "198.51.100.3"},
        "1": {"type": "network-traffic", "dst_ref": "0", "protocols": ["tcp"]}
    });
    let source = ObservedObjects::from_dictionary(objects.as_object().unwrap());
    let pattern = Pattern::parse("[network-traffic:dst_ref.value = '198.51.100.3']").unwrap();
    assert!(pattern.evaluate(&source).is_match());
}
