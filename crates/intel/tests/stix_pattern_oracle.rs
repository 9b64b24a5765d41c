//! Pattern evaluation against an independent oracle: each case's expected result was computed by
//! the OASIS reference matcher over the same objects (one observed-data), and is kept beside the
//! patterns in `fixtures/stix_pattern_oracle.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use shield_intel::pattern::{Evaluation, ObservedObjects, Pattern};

#[test]
fn evaluation_agrees_with_the_reference_matcher() {
    let text = include_str!("fixtures/stix_pattern_oracle.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let objects = fixture["objects"].as_array().unwrap();
    let source = ObservedObjects::from_objects(objects);
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut disagreements = Vec::new();
    for case in cases {
        let pattern_text = case["pattern"].as_str().unwrap();
        let expected = case["matches"].as_bool().unwrap();
        let pattern =
            Pattern::parse(pattern_text).unwrap_or_else(|e| panic!("{pattern_text}: {e}"));
        let got = match pattern.evaluate(&source) {
            Evaluation::Match => true,
            Evaluation::NoMatch => false,
            other => panic!("{pattern_text}: {other:?}"),
        };
        if got != expected {
            disagreements.push(format!("{pattern_text}: expected {expected}, got {got}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
