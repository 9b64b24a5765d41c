//! Real STIX 2.1 data from the shared data set: OASIS examples, MITRE ATT&CK for ICS, a MISP export,
//! and a bundle that must be refused.
//!
//! Reads `$SHIELD_SHARED_DATA/ti/…`; skips (with a message) when the variable is unset, fails when it
//! is set but the files are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::Value;
use shield_intel::stix::{
    Limits, ObjectKind, Reason, StixObject, parse_bundle, parse_bundle_partial,
};
use shield_intel::tlp::{Tlp, tlp_of, tlp_of_marking_definition};

fn shared(relative: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping: SHIELD_SHARED_DATA not set");
        return None;
    };
    let path = PathBuf::from(root).join(relative);
    assert!(path.exists(), "{} is missing", path.display());
    Some(path)
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_oasis_example_bundle_is_valid_and_round_trips() {
    let Some(dir) = shared("ti/stix2-examples") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 16, "example files");
    let mut objects = 0;
    for file in &files {
        let bytes = read(file);
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        if original["type"] != "bundle" {
            // A few examples are single objects.
            let object =
                StixObject::from_json(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(object.to_value(), original);
            objects += 1;
            continue;
        }
        let bundle = parse_bundle(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            bundle.to_value(),
            original,
            "{} does not round-trip",
            file.display()
        );
        objects += bundle.objects().len();
    }
    assert_eq!(objects, 298, "objects in the 16 example files");
}

#[test]
fn apt1_and_poisonivy_have_their_objects() {
    let Some(path) = shared("ti/stix2-examples/apt1.json") else {
        return;
    };
    let bundle = parse_bundle(&read(&path), &Limits::default()).unwrap();
    assert_eq!(bundle.objects().len(), 76);
    let Some(path) = shared("ti/stix2-examples/poisonivy.json") else {
        return;
    };
    let bundle = parse_bundle(&read(&path), &Limits::default()).unwrap();
    assert_eq!(bundle.objects().len(), 155);
}

#[test]
fn the_negative_example_is_refused_for_its_known_faults() {
    let Some(path) = shared("ti/stix2-negative/bad-indicator.json") else {
        return;
    };
    let bytes = read(&path);
    assert!(parse_bundle(&bytes, &Limits::default()).is_err());
    let (bundle, errors) = parse_bundle_partial(&bytes, &Limits::default()).unwrap();
    assert_eq!(bundle.objects().len(), 0);
    assert_eq!(errors.len(), 2, "{errors:?}");
    // The indicator lacks pattern_type; the sighting has a negative count (and no sighting_of_ref).
    assert_eq!(
        (errors[0].index, errors[0].path.as_str()),
        (Some(0), "pattern_type")
    );
    assert_eq!(errors[0].reason, Reason::Missing);
    assert_eq!(errors[1].index, Some(1));
    assert!(
        matches!(errors[1].reason, Reason::OutOfRange { .. })
            || errors[1].path == "sighting_of_ref",
        "{:?}",
        errors[1]
    );
}

#[test]
fn tlp2_marking_definitions_file_matches_the_built_in_ones() {
    let Some(path) = shared("ti/stix2-examples/tlp2-marking-definitions.json") else {
        return;
    };
    let bundle = parse_bundle(&read(&path), &Limits::default()).unwrap();
    assert_eq!(bundle.objects().len(), 5);
    for (object, tlp) in bundle.objects().iter().zip(Tlp::ALL) {
        assert_eq!(object, &tlp.marking_definition());
        assert_eq!(tlp_of_marking_definition(object), Some(tlp));
    }
}

#[test]
fn attack_ics_bundle_parses_with_custom_types() {
    let Some(path) = shared("ti/attack/ics-attack-18.1.json") else {
        return;
    };
    let bytes = read(&path);
    let bundle = parse_bundle(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bundle.objects().len(), 1826);
    let custom = bundle
        .objects()
        .iter()
        .filter(|o| o.kind() == ObjectKind::Custom)
        .count();
    assert!(custom > 200, "{custom} custom objects");
    let original: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle.to_value(), original);
}

#[test]
fn misp_export_with_tlp1_markings_reads_as_tlp2_levels() {
    let Some(path) = shared("ti/misp-feed-sample-as-stix21.json") else {
        return;
    };
    let bundle = parse_bundle(&read(&path), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let levels: Vec<Tlp> = bundle.objects().iter().filter_map(tlp_of).collect();
    assert!(!levels.is_empty(), "no TLP-marked objects");
    let indicators = bundle
        .objects()
        .iter()
        .filter_map(|o| o.as_indicator())
        .count();
    assert!(indicators > 0);
}
