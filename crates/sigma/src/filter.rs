//! Sigma filters: extra conditions AND-ed into the detections they name.
//!
//! As in the reference implementation (pySigma), a filter applies to a rule when the filter's
//! log source covers the rule's (each of product, category and service the filter sets is equal) and
//! the rule is named in `filter.rules` by id or name (or the list is empty / `any`). The rule's
//! condition becomes `(condition) and (filter condition)`, so filters are written with `not`:
//! `condition: not selection` suppresses what `selection` matches. A filter whose condition is not a
//! negation is reported by [`crate::check`].

use std::borrow::Cow;

use crate::condition::Condition;
use crate::error::RuleError;
use crate::rule::{Detection, Filter, LogSource, Rule, RuleBody, Search};
use crate::ruleset::RuleSet;

/// Each detection rule's index and its detection with the applicable filters merged in, in rule
/// order. Filters naming rules that do not exist are reported as warnings.
pub fn effective_detections<'r>(
    rules: &'r RuleSet,
    errors: &mut Vec<RuleError>,
) -> Vec<(usize, Cow<'r, Detection>)> {
    let filters: Vec<(usize, &Rule, &Filter)> = rules
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.body {
            RuleBody::Filter(f) => Some((i, r, f)),
            _ => None,
        })
        .collect();
    for (_, rule, filter) in &filters {
        for reference in &filter.rules {
            if rules.find(reference).is_none() {
                errors.push(
                    RuleError::new(
                        &rule.file,
                        Some(rule.line),
                        format!("filter names rule '{reference}', which is not loaded"),
                    )
                    .for_rule(rule.id.as_deref(), Some(&rule.title))
                    .warning(),
                );
            }
        }
    }
    let mut out = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let RuleBody::Detection(detection) = &rule.body else {
            continue;
        };
        let mut effective = Cow::Borrowed(detection);
        for (fi, _, filter) in &filters {
            if applies(filter_logsource(rules, *fi), filter, rule) {
                merge(effective.to_mut(), filter, *fi);
            }
        }
        out.push((i, effective));
    }
    out
}

fn filter_logsource(rules: &RuleSet, idx: usize) -> &LogSource {
    &rules.rules[idx].logsource
}

/// Whether a filter with `logsource` applies to `rule`.
pub fn applies(logsource: &LogSource, filter: &Filter, rule: &Rule) -> bool {
    let covers = |f: &Option<String>, r: &Option<String>| match f {
        None => true,
        Some(f) => r.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(f)),
    };
    if !(covers(&logsource.product, &rule.logsource.product)
        && covers(&logsource.category, &rule.logsource.category)
        && covers(&logsource.service, &rule.logsource.service))
    {
        return false;
    }
    filter.rules.is_empty()
        || filter.rules.iter().any(|r| {
            rule.id.as_deref() == Some(r.as_str()) || rule.name.as_deref() == Some(r.as_str())
        })
}

fn merge(detection: &mut Detection, filter: &Filter, filter_idx: usize) {
    let prefix = format!("__filter{filter_idx}_");
    let rename = |n: &str| format!("{prefix}{n}");
    for s in &filter.detection.searches {
        detection.searches.push(Search {
            name: rename(&s.name),
            line: s.line,
            alternatives: s.alternatives.clone(),
        });
    }
    let own: Vec<Condition> = filter
        .detection
        .conditions
        .iter()
        .map(|c| {
            // `them` in a filter means the filter's own identifiers.
            let scoped = match c {
                Condition::Of {
                    quantifier,
                    target: crate::condition::OfTarget::Them,
                } => Condition::Of {
                    quantifier: *quantifier,
                    target: crate::condition::OfTarget::Pattern("*".to_owned()),
                },
                other => other.clone(),
            };
            scoped.rename(&rename)
        })
        .collect();
    let filter_cond = if own.len() == 1 {
        own.into_iter().next()
    } else {
        Some(Condition::Or(own))
    };
    let original = std::mem::take(&mut detection.conditions);
    let rule_cond = if original.len() == 1 {
        original.into_iter().next()
    } else {
        Some(Condition::Or(original))
    };
    if let (Some(r), Some(f)) = (rule_cond, filter_cond) {
        detection.conditions = vec![Condition::And(vec![r, f])];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    #[test]
    fn filters_merge_into_named_rules_of_their_logsource() {
        let text = "title: R1\nid: r1\nlogsource: {product: windows, category: process_creation}\n\
            detection:\n  selection: {Image|endswith: '\\rar.exe'}\n  condition: selection\n---\n\
            title: R2\nid: r2\nlogsource: {product: windows, category: process_creation}\n\
            detection:\n  selection: {Image|endswith: '\\x.exe'}\n  condition: selection\n---\n\
            title: F\nlogsource: {product: windows, category: process_creation}\nfilter:\n  rules: [r1, gone]\n  \
            selection: {User|startswith: adm_}\n  condition: not selection\n";
        let (rules, diags) = parse_file(text, "f.yml");
        assert!(diags.is_empty(), "{diags:?}");
        let set = RuleSet::new(rules);
        let mut errors = Vec::new();
        let eff = effective_detections(&set, &mut errors);
        assert_eq!(eff.len(), 2);
        assert_eq!(errors.len(), 1, "unknown rule 'gone' is reported");
        assert_eq!(eff[0].1.searches.len(), 2);
        assert_eq!(
            eff[0].1.conditions[0].to_string(),
            "(selection and not __filter2_selection)"
        );
        assert_eq!(eff[1].1.searches.len(), 1, "R2 is not named by the filter");
    }
}
