//! Correlation rules, resolved against the compiled detection rules.
//!
//! A correlation references rules by `id` or `name`; references are resolved once here, to compiled
//! detection rules or to other correlations (chains), and cycles are refused. Referenced rules stop
//! alerting on their own unless a correlation referencing them says `generate: true`, as the
//! specification says. The streaming state lives in [`crate::correlator`].

use crate::compiled::RuleInfo;
use crate::error::RuleError;
use crate::rule::{CmpOp, Correlation, CorrelationType, Rule, RuleBody};
use crate::ruleset::RuleSet;

/// What a correlation counts: a detection rule or another correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// A compiled detection rule, by index.
    Rule(usize),
    /// Another correlation, by index.
    Correlation(usize),
}

/// A correlation ready to run.
#[derive(Debug, Clone)]
pub struct CorrelationDef {
    /// Metadata (level, tags…) of the correlation rule.
    pub info: RuleInfo,
    /// The type.
    pub kind: CorrelationType,
    /// Referenced rules, in the order written.
    pub members: Vec<Member>,
    /// Group-by names.
    pub group_by: Vec<String>,
    /// Per group-by name, per member: the event field to read (aliases resolved).
    pub group_fields: Vec<Vec<String>>,
    /// Window length in milliseconds.
    pub timespan_ms: i64,
    /// Condition terms, AND-ed.
    pub condition: Vec<(CmpOp, f64)>,
    /// The counted/summed field, for value types.
    pub field: Option<String>,
    /// Whether it alerts on its own (false when only feeding another correlation).
    pub emits: bool,
}

impl CorrelationDef {
    /// Whether the condition holds for `value` (an empty condition holds for temporal types when
    /// every member was seen, checked by the caller).
    pub fn holds(&self, value: f64) -> bool {
        self.condition
            .iter()
            .all(|(op, bound)| op.holds(value, *bound))
    }

    /// Whether the condition can only become true as the count grows (only `gt`/`gte`), so it can be
    /// decided as events arrive; otherwise it is decided when the window closes.
    pub fn monotone(&self) -> bool {
        self.kind != CorrelationType::ValueAvg
            && self
                .condition
                .iter()
                .all(|(op, _)| matches!(op, CmpOp::Gt | CmpOp::Gte))
    }
}

/// Resolves every correlation rule of `rules`. `compiled` maps compiled rule index → index in
/// `rules`; `infos` are the compiled rules' infos (their `emits` flag is updated).
pub fn compile_correlations(
    rules: &RuleSet,
    compiled: &[usize],
    infos: &mut [RuleInfo],
    errors: &mut Vec<RuleError>,
) -> Vec<CorrelationDef> {
    let correlation_rules: Vec<(usize, &Rule, &Correlation)> = rules
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.body {
            RuleBody::Correlation(c) => Some((i, r, c)),
            _ => None,
        })
        .collect();
    let resolve = |reference: &str| -> Option<Member> {
        let matches =
            |r: &Rule| r.id.as_deref() == Some(reference) || r.name.as_deref() == Some(reference);
        if let Some(pos) = compiled.iter().position(|&i| matches(&rules.rules[i])) {
            return Some(Member::Rule(pos));
        }
        correlation_rules
            .iter()
            .position(|(_, r, _)| matches(r))
            .map(Member::Correlation)
    };
    let mut defs: Vec<Option<CorrelationDef>> = Vec::new();
    for (_, rule, c) in &correlation_rules {
        let err = |reason: String| {
            RuleError::new(&rule.file, Some(rule.line), reason)
                .for_rule(rule.id.as_deref(), Some(&rule.title))
        };
        let mut members = Vec::new();
        let mut missing = None;
        for reference in &c.rules {
            match resolve(reference) {
                Some(m) => members.push(m),
                None => {
                    missing = Some(reference.clone());
                    break;
                }
            }
        }
        if let Some(reference) = missing {
            errors.push(err(format!(
                "correlation references rule '{reference}', which is not loaded or did not compile"
            )));
            defs.push(None);
            continue;
        }
        let group_fields = c
            .group_by
            .iter()
            .map(|name| {
                let alias = c.aliases.iter().find(|(a, _)| a == name);
                c.rules
                    .iter()
                    .map(|reference| {
                        alias
                            .and_then(|(_, per_rule)| {
                                per_rule
                                    .iter()
                                    .find(|(r, _)| {
                                        r == reference || alias_names_rule(rules, r, reference)
                                    })
                                    .map(|(_, f)| f.clone())
                            })
                            .unwrap_or_else(|| name.clone())
                    })
                    .collect()
            })
            .collect();
        let mut info = RuleInfo::from_correlation(rule);
        info.emits = true;
        defs.push(Some(CorrelationDef {
            info,
            kind: c.kind,
            members,
            group_by: c.group_by.clone(),
            group_fields,
            timespan_ms: i64::try_from(c.timespan_ms).unwrap_or(i64::MAX),
            condition: c.condition.clone(),
            field: c.field.clone(),
            emits: true,
        }));
    }
    // Drop correlations that reference dropped ones, or that form cycles.
    loop {
        let mut changed = false;
        for i in 0..defs.len() {
            let Some(def) = &defs[i] else { continue };
            let broken = def.members.iter().any(|m| match m {
                Member::Correlation(j) => {
                    defs.get(*j).is_none_or(Option::is_none) || reaches(&defs, *j, i)
                }
                Member::Rule(_) => false,
            });
            if broken {
                let (_, rule, _) = correlation_rules[i];
                errors.push(
                    RuleError::new(
                        &rule.file,
                        Some(rule.line),
                        "correlation depends on a correlation that is missing or circular",
                    )
                    .for_rule(rule.id.as_deref(), Some(&rule.title)),
                );
                defs[i] = None;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Silence referenced rules unless some referencing correlation generates them.
    let mut silenced_rules = vec![false; infos.len()];
    let mut generated_rules = vec![false; infos.len()];
    let mut silenced_corr = vec![false; defs.len()];
    let mut generated_corr = vec![false; defs.len()];
    for (i, def) in defs.iter().enumerate() {
        let Some(def) = def else { continue };
        let generate = correlation_rules[i].2.generate;
        for m in &def.members {
            let (silenced, generated, j) = match m {
                Member::Rule(j) => (&mut silenced_rules, &mut generated_rules, *j),
                Member::Correlation(j) => (&mut silenced_corr, &mut generated_corr, *j),
            };
            if let Some(s) = silenced.get_mut(j) {
                *s = true;
            }
            if generate {
                if let Some(g) = generated.get_mut(j) {
                    *g = true;
                }
            }
        }
    }
    for (i, info) in infos.iter_mut().enumerate() {
        info.emits = !silenced_rules[i] || generated_rules[i];
    }
    // Keep indices stable: dropped correlations stay as never-firing placeholders would complicate
    // members, so renumber.
    let mut renumber = vec![None; defs.len()];
    let mut out = Vec::new();
    for (i, def) in defs.into_iter().enumerate() {
        if let Some(mut d) = def {
            d.emits = !silenced_corr[i] || generated_corr[i];
            d.info.emits = d.emits;
            renumber[i] = Some(out.len());
            out.push(d);
        }
    }
    for d in &mut out {
        for m in &mut d.members {
            if let Member::Correlation(j) = m {
                *j = renumber[*j].unwrap_or(usize::MAX);
            }
        }
    }
    out
}

/// Whether `alias_ref` (a rule name in an alias) names the same rule as `reference`.
fn alias_names_rule(rules: &RuleSet, alias_ref: &str, reference: &str) -> bool {
    match (rules.find(alias_ref), rules.find(reference)) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        _ => false,
    }
}

/// Whether correlation `from` depends (transitively) on correlation `target`.
fn reaches(defs: &[Option<CorrelationDef>], from: usize, target: usize) -> bool {
    let mut stack = vec![from];
    let mut seen = vec![false; defs.len()];
    while let Some(i) = stack.pop() {
        if i == target {
            return true;
        }
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if let Some(Some(d)) = defs.get(i) {
            for m in &d.members {
                if let Member::Correlation(j) = m {
                    if *j < defs.len() {
                        stack.push(*j);
                    }
                }
            }
        }
    }
    false
}

impl RuleInfo {
    pub(crate) fn from_correlation(rule: &Rule) -> RuleInfo {
        RuleInfo {
            id: rule.handle().to_owned(),
            name: rule.name.clone(),
            title: rule.title.clone(),
            level: rule.level.unwrap_or(shield_event::Level::Medium),
            tags: rule.tags.clone(),
            status: rule.status.clone(),
            description: rule.description.clone(),
            falsepositives: rule.falsepositives.clone(),
            references: rule.references.clone(),
            author: rule.author.clone(),
            logsource: rule.logsource.clone(),
            file: rule.file.clone(),
            line: rule.line,
            emits: true,
        }
    }
}
