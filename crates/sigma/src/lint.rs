//! Rule checks for `shield rules check`: everything loading and compiling report, plus warnings
//! about rules that load but may not do what their author meant.

use std::path::PathBuf;

use crate::compiled::CompiledRuleSet;
use crate::condition::Condition;
use crate::error::{RuleError, Severity};
use crate::mapping::Mapping;
use crate::parse::parse_file;
use crate::rule::{Rule, RuleBody};
use crate::ruleset::{LoadOptions, RuleSet, load_rules};

/// Checks every rule file under `paths` against `mapping`: syntax and structure errors, compile
/// errors (bad regexes…), and warnings (unknown placeholders, unmapped log sources, missing `id` or
/// `level`, deprecated status, duplicate ids…). Sorted by file, then line.
pub fn check(paths: &[PathBuf], opts: &LoadOptions, mapping: &Mapping) -> Vec<RuleError> {
    let (set, mut diags) = load_rules(paths, opts);
    diags.extend(lint_set(&set, mapping));
    finish(diags)
}

/// [`check`] for one YAML text.
pub fn check_str(yaml: &str, file: &str, mapping: &Mapping) -> Vec<RuleError> {
    let (rules, mut diags) = parse_file(yaml, file);
    let set = RuleSet::new(rules);
    diags.extend(lint_set(&set, mapping));
    finish(diags)
}

fn finish(mut diags: Vec<RuleError>) -> Vec<RuleError> {
    diags.sort_by(|a, b| {
        (a.file.as_str(), a.line, b.severity, a.reason.as_str()).cmp(&(
            b.file.as_str(),
            b.line,
            a.severity,
            b.reason.as_str(),
        ))
    });
    diags.dedup();
    diags
}

fn lint_set(set: &RuleSet, mapping: &Mapping) -> Vec<RuleError> {
    let mut out = Vec::new();
    for rule in &set.rules {
        lint_rule(rule, mapping, &mut out);
    }
    let mut ids: Vec<(&str, &Rule)> = set
        .rules
        .iter()
        .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
        .collect();
    ids.sort_by_key(|(id, _)| *id);
    for pair in ids.windows(2) {
        if pair[0].0 == pair[1].0 {
            let r = pair[1].1;
            out.push(warn(
                r,
                Some(r.line),
                format!("id '{}' is also used by {}", pair[0].0, pair[0].1.file),
            ));
        }
    }
    let (_, compile_diags) = CompiledRuleSet::compile(set, mapping);
    out.extend(compile_diags);
    out
}

fn warn(rule: &Rule, line: Option<usize>, reason: String) -> RuleError {
    RuleError {
        file: rule.file.clone(),
        line,
        rule_id: rule.id.clone(),
        title: Some(rule.title.clone()),
        severity: Severity::Warning,
        reason,
    }
}

fn lint_rule(rule: &Rule, mapping: &Mapping, out: &mut Vec<RuleError>) {
    let line = Some(rule.line);
    if rule.title.chars().count() > 256 {
        out.push(warn(
            rule,
            line,
            "title longer than 256 characters".to_owned(),
        ));
    }
    match &rule.id {
        None => out.push(warn(rule, line, "missing 'id'".to_owned())),
        Some(id) if !looks_like_uuid(id) => {
            out.push(warn(rule, line, format!("id '{id}' is not a UUID")))
        }
        Some(_) => {}
    }
    match rule.status.as_deref() {
        None | Some("stable" | "test" | "experimental") => {}
        Some(s @ ("deprecated" | "unsupported")) => {
            out.push(warn(rule, line, format!("status is '{s}'")))
        }
        Some(other) => out.push(warn(rule, line, format!("unknown status '{other}'"))),
    }
    match &rule.body {
        RuleBody::Detection(_) => {
            if rule.level.is_none() {
                out.push(warn(
                    rule,
                    line,
                    "missing 'level' (alerts use medium)".to_owned(),
                ));
            }
            let known_product = rule.logsource.product.as_deref().is_some_and(|p| {
                mapping.entries.iter().any(|e| {
                    e.product
                        .as_deref()
                        .is_some_and(|q| q.eq_ignore_ascii_case(p))
                })
            });
            if known_product && mapping.entries_for(&rule.logsource).next().is_none() {
                out.push(warn(
                    rule,
                    line,
                    format!(
                        "log source {} has no mapping entry: the rule never sees mapped events",
                        rule.logsource.describe()
                    ),
                ));
            }
        }
        RuleBody::Filter(f) => {
            let negates = f
                .detection
                .conditions
                .iter()
                .all(|c| matches!(c, Condition::Not(_)));
            if !negates {
                out.push(warn(
                    rule,
                    Some(f.detection.condition_line),
                    "filter condition is not a negation: it is AND-ed into the rules, so it restricts them \
                     to what it matches instead of suppressing it (write 'not selection')"
                        .to_owned(),
                ));
            }
        }
        RuleBody::Correlation(_) => {}
    }
}

fn looks_like_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n)
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_errors_and_warnings_with_lines() {
        let text = "title: A\nid: not-a-uuid\nstatus: deprecated\nlogsource: {product: windows, category: file_access}\n\
            detection:\n  sel: {Image|re: '(bad'}\n  condition: sel\n---\n\
            title: B\nlogsource: {product: windows, category: process_creation}\ndetection:\n  \
            sel: {User|expand: '%admins%'}\n  condition: sel\nlevel: low\n---\n\
            title: C\nid: 5638f7c0-ac70-491d-8465-2a65075e0d86\nlogsource: {product: windows}\ndetection:\n  \
            sel: {User|startswith|bogus: x}\n  condition: sel\n";
        let diags = check_str(text, "r.yml", &Mapping::default_windows());
        let has = |needle: &str, sev: Severity| {
            diags
                .iter()
                .any(|d| d.reason.contains(needle) && d.severity == sev)
        };
        assert!(has("not a UUID", Severity::Warning), "{diags:#?}");
        assert!(has("deprecated", Severity::Warning));
        assert!(has("no mapping entry", Severity::Warning));
        assert!(has("regular expression", Severity::Error));
        assert!(has("missing 'id'", Severity::Warning));
        assert!(has("%admins%", Severity::Warning));
        assert!(has("bogus", Severity::Error));
        assert!(diags.iter().all(|d| d.file == "r.yml" && d.line.is_some()));
        let lines: Vec<_> = diags.iter().map(|d| d.line).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }

    #[test]
    fn filters_without_negation_are_flagged() {
        let text = "title: F\nlogsource: {product: windows}\nfilter:\n  rules: any\n  sel: {User: x}\n  condition: sel\n";
        let diags = check_str(text, "f.yml", &Mapping::default_windows());
        assert!(
            diags.iter().any(|d| d.reason.contains("not a negation")),
            "{diags:?}"
        );
    }

    #[test]
    fn uuid_shape() {
        assert!(looks_like_uuid("5638f7c0-ac70-491d-8465-2a65075e0d86"));
        assert!(!looks_like_uuid("5638f7c0ac70491d84652a65075e0d86"));
    }
}
