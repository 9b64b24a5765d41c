//! Every maintained SigmaHQ rule must load and compile (shared data; skipped when
//! `SHIELD_SHARED_DATA` is unset).

use std::path::PathBuf;
use std::time::Instant;

use shield_sigma::{CompiledRuleSet, LoadOptions, Mapping, RuleBody, load_rules};

fn shared() -> Option<PathBuf> {
    match std::env::var_os("SHIELD_SHARED_DATA") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipping: SHIELD_SHARED_DATA not set");
            None
        }
    }
}

#[test]
fn every_maintained_rule_loads_and_compiles() {
    let Some(data) = shared() else { return };
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| data.join("sigma").join(d))
        .collect();
    for d in &dirs {
        assert!(d.is_dir(), "missing shared data: {}", d.display());
    }
    let start = Instant::now();
    let (set, load_diags) = load_rules(&dirs, &LoadOptions::default());
    let loaded = start.elapsed();
    let (compiled, compile_diags) = CompiledRuleSet::compile(&set, &Mapping::default_windows());
    let total = start.elapsed();
    let errors: Vec<_> = load_diags
        .iter()
        .chain(&compile_diags)
        .filter(|d| d.is_error())
        .collect();
    for e in &errors {
        eprintln!("{e}");
    }
    let warnings = load_diags.len() + compile_diags.len() - errors.len();
    let detections = set
        .rules
        .iter()
        .filter(|r| matches!(r.body, RuleBody::Detection(_)))
        .count();
    eprintln!(
        "{} rules ({} detections) loaded in {:?}, compiled {} in {:?} total; {} warnings; {:?}",
        set.len(),
        detections,
        loaded,
        compiled.len(),
        total,
        warnings,
        compiled.stats()
    );
    assert!(
        errors.is_empty(),
        "{} rules failed to load or compile",
        errors.len()
    );
    assert!(set.len() > 3500, "only {} rules found", set.len());
    assert_eq!(compiled.len(), detections);
}

#[test]
fn deprecated_and_unsupported_rules_never_panic() {
    let Some(data) = shared() else { return };
    let dirs = vec![
        data.join("sigma/deprecated"),
        data.join("sigma/unsupported"),
    ];
    let (set, diags) = load_rules(&dirs, &LoadOptions::default());
    let (_, compile_diags) = CompiledRuleSet::compile(&set, &Mapping::default_windows());
    let errors = diags
        .iter()
        .chain(&compile_diags)
        .filter(|d| d.is_error())
        .count();
    eprintln!(
        "deprecated+unsupported: {} rules, {} errors",
        set.len(),
        errors
    );
    assert!(set.len() > 200);
}
