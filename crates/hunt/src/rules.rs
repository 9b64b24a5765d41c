//! Loading and compiling the rules of a hunt, and finding which rules feed correlations.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shield_sigma::{
    CompiledRuleSet, LoadOptions, Mapping, RuleError, RuleSet, load_rules, rule::RuleBody,
};

use crate::HuntError;
use crate::summary::tactic_mask;

/// Most correlation links followed when resolving chained correlations.
const MAX_CHAIN: usize = 64;

/// Compiled rules ready to hunt with, and what loading them reported.
#[derive(Debug)]
pub struct LoadedRules {
    /// The compiled detection and correlation rules.
    pub compiled: Arc<CompiledRuleSet>,
    /// Rule documents or files left out (errors of loading or compiling).
    pub rejected: Vec<RuleError>,
    /// Warnings about rules that load (run `shield rules check` to see them).
    pub warnings: usize,
    /// Time taken to read, parse and compile the rules.
    pub load_time: Duration,
    /// Per compiled rule: whether some correlation counts its matches.
    pub(crate) feeds: Vec<bool>,
    /// Per compiled rule: the ATT&CK tactics of its tags (bit `i` = [`crate::TACTICS`]`[i]`).
    pub(crate) tactics: Vec<u16>,
}

impl LoadedRules {
    /// No rules: a hunt with further detectors only (`shield hunt --intel FILE` without rules).
    pub fn none() -> LoadedRules {
        let (compiled, _) =
            CompiledRuleSet::compile(&RuleSet::default(), &Mapping::default_windows());
        LoadedRules {
            compiled: Arc::new(compiled),
            rejected: Vec::new(),
            warnings: 0,
            load_time: Duration::ZERO,
            feeds: Vec::new(),
            tactics: Vec::new(),
        }
    }

    /// Loads every rule under `paths` and compiles it with `mapping` (a mapping file) or, when
    /// `None`, Shield's default Windows mapping. Fails when the mapping cannot be used or when no
    /// rule at all compiled.
    pub fn load(paths: &[PathBuf], mapping: Option<&Path>) -> Result<LoadedRules, HuntError> {
        if paths.is_empty() {
            return Err(HuntError::NoRulePaths);
        }
        let start = Instant::now();
        let mapping = match mapping {
            Some(path) => Mapping::from_file(path)?,
            None => Mapping::default_windows(),
        };
        let (set, load_diags) = load_rules(paths, &LoadOptions::default());
        let (compiled, compile_diags) = CompiledRuleSet::compile(&set, &mapping);
        let load_time = start.elapsed();
        let (rejected, warnings): (Vec<RuleError>, Vec<RuleError>) = load_diags
            .into_iter()
            .chain(compile_diags)
            .partition(RuleError::is_error);
        if compiled.is_empty() && compiled.stats().correlations == 0 {
            return Err(HuntError::NoRules {
                paths: join_paths(paths),
                rejected: rejected.len(),
            });
        }
        let feeding = feeding_handles(&set);
        let feeds = compiled
            .rules()
            .iter()
            .map(|info| feeding.contains(info.id.as_str()))
            .collect();
        let tactics = compiled
            .rules()
            .iter()
            .map(|info| tactic_mask(&info.tags))
            .collect();
        Ok(LoadedRules {
            compiled: Arc::new(compiled),
            rejected,
            warnings: warnings.len(),
            load_time,
            feeds,
            tactics,
        })
    }

    /// Detection rules compiled.
    pub fn detection_rules(&self) -> usize {
        self.compiled.len()
    }

    /// Correlation rules compiled.
    pub fn correlation_rules(&self) -> usize {
        self.compiled.stats().correlations
    }

    /// Whether some correlation counts matches of any rule.
    pub(crate) fn has_feeds(&self) -> bool {
        self.feeds.iter().any(|f| *f)
    }
}

/// The handles (`id`, else title: what [`shield_sigma::RuleInfo::id`] holds) of the detection
/// rules some correlation counts, directly or through chained correlations. An over-approximation
/// is harmless (the correlator re-matches what it is fed), a miss would lose correlation hits.
fn feeding_handles(set: &RuleSet) -> HashSet<&str> {
    let mut handles = HashSet::new();
    let mut seen_correlations: HashSet<usize> = HashSet::new();
    let mut stack: Vec<(usize, usize)> = set
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.body, RuleBody::Correlation(_)))
        .map(|(i, _)| (i, 0))
        .collect();
    while let Some((index, depth)) = stack.pop() {
        if depth > MAX_CHAIN || !seen_correlations.insert(index) {
            continue;
        }
        let Some(RuleBody::Correlation(c)) = set.rules.get(index).map(|r| &r.body) else {
            continue;
        };
        for reference in &c.rules {
            for (i, rule) in set.rules.iter().enumerate() {
                let named = rule.id.as_deref() == Some(reference.as_str())
                    || rule.name.as_deref() == Some(reference.as_str());
                if !named {
                    continue;
                }
                match rule.body {
                    RuleBody::Detection(_) => {
                        handles.insert(rule.handle());
                    }
                    RuleBody::Correlation(_) => stack.push((i, depth + 1)),
                    RuleBody::Filter(_) => {}
                }
            }
        }
    }
    handles
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_sigma::parse_rule_str;

    #[test]
    fn feeding_rules_are_found_through_chained_correlations() {
        let yaml = r#"
title: A
id: a
logsource: {product: windows, service: security}
detection: {sel: {EventID: 1}, condition: sel}
---
title: B
name: b
logsource: {product: windows, service: security}
detection: {sel: {EventID: 2}, condition: sel}
---
title: C
logsource: {product: windows, service: security}
detection: {sel: {EventID: 3}, condition: sel}
---
title: Inner
name: inner
correlation: {type: event_count, rules: [a], group-by: [Computer], timespan: 1m, condition: {gte: 2}}
---
title: Outer
correlation: {type: temporal, rules: [inner, b], group-by: [Computer], timespan: 5m}
"#;
        let rules = parse_rule_str(yaml, "t.yml").expect("rules parse");
        let set = RuleSet::new(rules);
        let handles = feeding_handles(&set);
        let mut got: Vec<&str> = handles.into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, ["B", "a"]);
    }
}
