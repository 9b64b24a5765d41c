//! The compiled rule set: every detection rule compiled once, with the router and the prefilter
//! that decide, per event, which few of them to evaluate.

use std::sync::Mutex;

use rayon::prelude::*;

use serde_json::{Map, Value};
use shield_event::{Event, Level, RuleRef};

use crate::correlate::{CorrelationDef, compile_correlations};
use crate::error::RuleError;
use crate::eval;
use crate::fields::{FieldId, FieldTable};
use crate::filter::effective_detections;
use crate::mapping::Mapping;
use crate::prefilter::{FieldScan, Prefilter, popularity, requirement};
use crate::program::{Program, compile, intern_fields};
use crate::route::Router;
use crate::rule::{LogSource, Rule};
use crate::ruleset::RuleSet;
use crate::view::{EventView, Scratch, recycle};
use rustc_hash::FxHashMap;

/// What callers need to know about a compiled detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// `id` (the title stands in when the rule has none).
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level` (`medium` when the rule gives none).
    pub level: Level,
    /// `tags`.
    pub tags: Vec<String>,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// The file the rule came from.
    pub file: String,
    /// 1-based line of the rule in its file.
    pub line: usize,
    /// Whether a match raises an alert on its own (false for rules only referenced by correlations
    /// without `generate: true`).
    pub emits: bool,
}

impl RuleInfo {
    fn from_rule(rule: &Rule) -> RuleInfo {
        RuleInfo {
            id: rule.handle().to_owned(),
            name: rule.name.clone(),
            title: rule.title.clone(),
            level: rule.level.unwrap_or(Level::Medium),
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

    /// The reference carried by alerts.
    pub fn rule_ref(&self) -> RuleRef {
        RuleRef {
            id: self.id.clone(),
            title: self.title.clone(),
            level: self.level,
            tags: self.tags.clone(),
        }
    }
}

/// A detection rule that matched an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMatch {
    /// Index of the rule (see [`CompiledRuleSet::rule`]).
    pub rule: usize,
    /// Which compiled form matched (log-source entry), for [`CompiledRuleSet::matched_fields`].
    pub(crate) program: u32,
}

/// One detection compiled for one log-source entry (or generic).
pub(crate) struct Compiled {
    pub rule: u32,
    /// Mapping entries routing to it; empty for generic programs.
    pub entries: Vec<u32>,
    pub program: Program,
    /// Sigma field name → event field read, for alert details.
    pub named_fields: Vec<(String, FieldId)>,
}

/// Every detection rule compiled once, ready to match events. Immutable and `Sync`: share it between
/// threads; each call borrows a scratch buffer from an internal pool.
pub struct CompiledRuleSet {
    infos: Vec<RuleInfo>,
    programs: Vec<Compiled>,
    table: FieldTable,
    router: Router,
    prefilter: Prefilter,
    /// Per mapping entry: programs without a prefilter requirement.
    always: Vec<Vec<u32>>,
    /// Generic programs without a prefilter requirement.
    generic_always: Vec<u32>,
    has_generic: bool,
    pub(crate) correlations: Vec<CorrelationDef>,
    entry_names: Vec<String>,
    pool: Mutex<Vec<Scratch>>,
}

impl std::fmt::Debug for CompiledRuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRuleSet")
            .field("rules", &self.infos.len())
            .field("programs", &self.programs.len())
            .field("fields", &self.table.len())
            .field("atoms", &self.prefilter.atom_count())
            .field("correlations", &self.correlations.len())
            .finish()
    }
}

/// Statistics of a compiled set, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileStats {
    /// Detection rules compiled.
    pub rules: usize,
    /// Compiled forms (a rule has one per log-source entry with distinct renames).
    pub programs: usize,
    /// Programs evaluated on every routed event (no literal to filter on).
    pub unfiltered: usize,
    /// Distinct field names.
    pub fields: usize,
    /// Prefilter literals.
    pub atoms: usize,
    /// Correlation rules.
    pub correlations: usize,
}

impl CompiledRuleSet {
    /// Compiles the detection rules of `rules` (with their filters applied) and the correlations
    /// over them. Rules that cannot compile are left out with an error; warnings concern rules kept.
    pub fn compile(rules: &RuleSet, mapping: &Mapping) -> (Self, Vec<RuleError>) {
        let mut errors = Vec::new();
        let mut table = FieldTable::default();
        let router = Router::new(mapping, &mut table);
        let detections = effective_detections(rules, &mut errors);
        // Which entries serve each rule, grouped by identical renames (one compiled form each).
        let forms_of: Vec<Vec<(Option<usize>, Vec<u32>)>> = detections
            .iter()
            .map(|(rule_idx, _)| forms(&rules.rules[*rule_idx].logsource, mapping))
            .collect();
        // Intern every field name first, so forms compile in parallel against a frozen table.
        for ((_, detection), forms) in detections.iter().zip(&forms_of) {
            for (entry, _) in forms {
                intern_fields(
                    detection,
                    entry.and_then(|e| mapping.entries.get(e)),
                    &mut table,
                );
            }
        }
        let table = table;
        let compiled_rules: Vec<Result<CompiledRule, RuleError>> = detections
            .par_iter()
            .zip(forms_of.par_iter())
            .map(|((rule_idx, detection), forms)| {
                compile_rule(&rules.rules[*rule_idx], detection, forms, mapping, &table)
            })
            .collect();
        let mut infos = Vec::new();
        let mut programs: Vec<Compiled> = Vec::new();
        let mut source_rules: Vec<usize> = Vec::new();
        for (result, (rule_idx, _)) in compiled_rules.into_iter().zip(&detections) {
            let compiled = match result {
                Ok(c) => c,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let info_idx = u32::try_from(infos.len()).unwrap_or(u32::MAX);
            errors.extend(compiled.warnings);
            for mut p in compiled.programs {
                p.rule = info_idx;
                programs.push(p);
            }
            infos.push(RuleInfo::from_rule(&rules.rules[*rule_idx]));
            source_rules.push(*rule_idx);
        }
        let correlations = compile_correlations(rules, &source_rules, &mut infos, &mut errors);
        let weak: Vec<FieldId> = ["Channel", "EventID", "Provider_Name"]
            .iter()
            .filter_map(|n| table.get(n))
            .collect();
        let popular = popularity(programs.iter().map(|p| &p.program));
        let requirements: Vec<_> = programs
            .par_iter()
            .map(|p| requirement(&p.program, &weak, &popular))
            .collect();
        let generic_scope = mapping.entries.len();
        let scopes_of: Vec<Vec<usize>> = programs
            .iter()
            .map(|p| {
                if p.entries.is_empty() {
                    vec![generic_scope]
                } else {
                    p.entries.iter().map(|e| *e as usize).collect()
                }
            })
            .collect();
        let prefilter = match Prefilter::build(&requirements, &scopes_of, generic_scope + 1) {
            Ok(p) => p,
            Err(e) => {
                errors.push(RuleError::new("<rule set>", None, e));
                // Without a prefilter every program is evaluated: correct, only slower.
                Prefilter::default()
            }
        };
        let built = prefilter.scope_count() == generic_scope + 1;
        let mut always = vec![Vec::new(); mapping.entries.len()];
        let mut generic_always = Vec::new();
        for (i, p) in programs.iter().enumerate() {
            if built && requirements[i].is_some() {
                continue;
            }
            let pi = u32::try_from(i).unwrap_or(u32::MAX);
            if p.entries.is_empty() {
                generic_always.push(pi);
            } else {
                for e in &p.entries {
                    if let Some(list) = always.get_mut(*e as usize) {
                        list.push(pi);
                    }
                }
            }
        }
        let has_generic = programs.iter().any(|p| p.entries.is_empty());
        let set = CompiledRuleSet {
            infos,
            programs,
            table,
            router,
            prefilter,
            always,
            generic_always,
            has_generic,
            correlations,
            entry_names: mapping.entries.iter().map(|e| e.name.clone()).collect(),
            pool: Mutex::new(Vec::new()),
        };
        (set, errors)
    }

    /// Builds every lazily built part now (prefilter automata; regexes stay lazy), so the first
    /// events of each log source pay nothing extra. Optional.
    pub fn prepare(&self) {
        self.prefilter.build_all();
    }

    /// Number of compiled detection rules.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether no rule compiled.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The rule at `idx` (as in [`RuleMatch::rule`]).
    ///
    /// # Panics
    /// When `idx >= self.len()`; indices come from [`RuleMatch`], so this is a caller bug.
    pub fn rule(&self, idx: usize) -> &RuleInfo {
        &self.infos[idx]
    }

    /// Every compiled rule, by index.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// Statistics.
    pub fn stats(&self) -> CompileStats {
        CompileStats {
            rules: self.infos.len(),
            programs: self.programs.len(),
            unfiltered: self.always.iter().map(Vec::len).sum::<usize>() + self.generic_always.len(),
            fields: self.table.len(),
            atoms: self.prefilter.atom_count(),
            correlations: self.correlations.len(),
        }
    }

    /// Appends the rules matching `event` to `out`, in rule order, each rule at most once.
    pub fn matches(&self, event: &Event, out: &mut Vec<RuleMatch>) {
        let mut scratch = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        self.matches_with(&event.data, &mut scratch, out);
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < 64 {
                pool.push(scratch);
            }
        }
    }

    /// [`CompiledRuleSet::matches`] on a bare payload with caller-owned scratch buffers (for hot
    /// loops that want no pool round trip).
    pub fn matches_with(&self, payload: &Value, scratch: &mut Scratch, out: &mut Vec<RuleMatch>) {
        scratch.begin(
            self.table.len(),
            self.programs.len(),
            self.prefilter.atom_count(),
        );
        let Scratch {
            slots,
            caches,
            hit_stamp,
            atom_stamp,
            hits,
            candidates,
            entries,
        } = scratch;
        let epoch = caches.epoch;
        let mut view = EventView::new(payload, &self.table, recycle(std::mem::take(slots)), caches);
        self.router.route(&mut view, entries);
        let generic = entries.is_empty();
        if generic && !self.has_generic {
            *slots = recycle(view.into_slots());
            return;
        }
        // Prefilter: scan the fields that carry literals, look up the ones with exact values, in the
        // scopes of the entries the event belongs to.
        let mut marker = Marker {
            prefilter: &self.prefilter,
            epoch,
            atom_stamp,
            hit_stamp,
            hits,
        };
        let generic_scope = [self.prefilter.scope_count().saturating_sub(1) as u32];
        let scope_ids: &[u32] = if generic { &generic_scope } else { entries };
        for &s in scope_ids {
            let Some(scope) = self.prefilter.scope(s as usize) else {
                // Automata that cannot be built: every program of the scope is a candidate.
                for &p in self
                    .prefilter
                    .scope_programs
                    .get(s as usize)
                    .map_or(&[][..], Vec::as_slice)
                {
                    marker.hit(p);
                }
                continue;
            };
            for fa in &scope.fields {
                let Some(span) = view.lower(fa.field) else {
                    continue;
                };
                let text = view.arena(span);
                if let Some(scan) = &fa.scan {
                    marker.scan(scan, text);
                }
                if !fa.exact.is_empty() {
                    marker.exact(&fa.exact, text);
                }
            }
            if let Some(any) = &scope.any {
                let all = view.leaves_text();
                marker.scan(any, view.arena(all));
            }
        }
        // Candidates: unfiltered programs of the matched entries, plus programs hit whose entries
        // include a matched one.
        if generic {
            candidates.extend_from_slice(&self.generic_always);
        } else {
            for e in entries.iter() {
                if let Some(list) = self.always.get(*e as usize) {
                    candidates.extend_from_slice(list);
                }
            }
        }
        for &h in hits.iter() {
            let Some(p) = self.programs.get(h as usize) else {
                continue;
            };
            let applies = if generic {
                p.entries.is_empty()
            } else {
                p.entries.iter().any(|e| entries.binary_search(e).is_ok())
            };
            if applies {
                candidates.push(h);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut last_rule = None;
        for &c in candidates.iter() {
            let Some(p) = self.programs.get(c as usize) else {
                continue;
            };
            if last_rule == Some(p.rule) {
                continue;
            }
            if generic
                && !p.program.has_keywords
                && !p.program.fields.iter().any(|f| view.value(*f).is_some())
            {
                continue;
            }
            if eval::matches(&p.program, &mut view) {
                last_rule = Some(p.rule);
                out.push(RuleMatch {
                    rule: p.rule as usize,
                    program: c,
                });
            }
        }
        *slots = recycle(view.into_slots());
    }

    /// The values of the fields a matched rule names, as found in the event `payload` (Sigma names
    /// as keys).
    pub fn matched_fields(&self, m: &RuleMatch, payload: &Value) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(p) = self.programs.get(m.program as usize) else {
            return out;
        };
        for (sigma, id) in &p.named_fields {
            if let Some(v) = shield_event::field::lookup(payload, self.table.name(*id)) {
                out.insert(sigma.clone(), v.clone());
            }
        }
        out
    }

    /// The log-source entry through which a match was made (`None` for generic rules).
    pub fn matched_logsource(&self, m: &RuleMatch) -> Option<&str> {
        let p = self.programs.get(m.program as usize)?;
        p.entries
            .first()
            .and_then(|e| self.entry_names.get(*e as usize))
            .map(String::as_str)
    }
}

/// Marks the programs whose atoms an event contains.
struct Marker<'a> {
    prefilter: &'a Prefilter,
    epoch: u32,
    atom_stamp: &'a mut Vec<u32>,
    hit_stamp: &'a mut Vec<u32>,
    hits: &'a mut Vec<u32>,
}

impl Marker<'_> {
    fn scan(&mut self, scan: &FieldScan, text: &str) {
        for m in scan.automaton.find_overlapping_iter(text) {
            if let Some(&atom) = scan.atoms.get(m.pattern().as_usize()) {
                self.mark(atom);
            }
        }
    }

    /// Exact atoms: the whole value, each array element (joined by NUL), and an integral float's
    /// integer form.
    fn exact(&mut self, table: &FxHashMap<Box<str>, u32>, text: &str) {
        let mut probe = |t: &str| {
            if let Some(&atom) = table.get(t) {
                self.mark(atom);
            }
            if let Some(int) = t.strip_suffix(".0") {
                if let Some(&atom) = table.get(int) {
                    self.mark(atom);
                }
            }
        };
        probe(text);
        if text.contains('\0') {
            text.split('\0').for_each(probe);
        }
    }

    fn hit(&mut self, p: u32) {
        if let Some(s) = self.hit_stamp.get_mut(p as usize) {
            if *s != self.epoch {
                *s = self.epoch;
                self.hits.push(p);
            }
        }
    }

    fn mark(&mut self, atom: u32) {
        let Some(stamp) = self.atom_stamp.get_mut(atom as usize) else {
            return;
        };
        if *stamp == self.epoch {
            return;
        }
        *stamp = self.epoch;
        for &p in self
            .prefilter
            .programs
            .get(atom as usize)
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(s) = self.hit_stamp.get_mut(p as usize) {
                if *s != self.epoch {
                    *s = self.epoch;
                    self.hits.push(p);
                }
            }
        }
    }
}

/// The mapping entries serving `logsource`, grouped by identical renames: (first entry, all
/// entries). No entry: one generic form.
fn forms(logsource: &LogSource, mapping: &Mapping) -> Vec<(Option<usize>, Vec<u32>)> {
    let mut forms: Vec<(Option<usize>, Vec<u32>)> = Vec::new();
    for (i, e) in mapping.entries_for(logsource) {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        let same = forms.iter_mut().find(|(first, _)| {
            first
                .and_then(|f| mapping.entries.get(f))
                .is_some_and(|f| f.fields == e.fields)
        });
        match same {
            Some((_, list)) => list.push(idx),
            None => forms.push((Some(i), vec![idx])),
        }
    }
    if forms.is_empty() {
        forms.push((None, Vec::new()));
    }
    forms
}

/// A detection rule's compiled forms and the warnings about it.
struct CompiledRule {
    programs: Vec<Compiled>,
    warnings: Vec<RuleError>,
}

fn compile_rule(
    rule: &Rule,
    detection: &crate::rule::Detection,
    forms: &[(Option<usize>, Vec<u32>)],
    mapping: &Mapping,
    table: &FieldTable,
) -> Result<CompiledRule, RuleError> {
    let diag = |reason: String| {
        RuleError::new(&rule.file, Some(rule.line), reason)
            .for_rule(rule.id.as_deref(), Some(&rule.title))
    };
    let sigma_fields = sigma_field_names(detection);
    let mut programs = Vec::with_capacity(forms.len());
    let mut warnings = Vec::new();
    for (first, entry_ids) in forms {
        let entry = first.and_then(|i| mapping.entries.get(i));
        let c = compile(detection, entry, table).map_err(diag)?;
        warnings.extend(c.warnings);
        let named_fields = sigma_fields
            .iter()
            .filter_map(|name| {
                let event_name = entry.map_or(name.as_str(), |e| e.rename(name));
                table.get(event_name).map(|id| (name.clone(), id))
            })
            .collect();
        programs.push(Compiled {
            rule: 0,
            entries: entry_ids.clone(),
            program: c.program,
            named_fields,
        });
    }
    warnings.sort();
    warnings.dedup();
    Ok(CompiledRule {
        programs,
        warnings: warnings.into_iter().map(|w| diag(w).warning()).collect(),
    })
}

/// Every Sigma field name a detection uses (fields of items and `fieldref` targets).
fn sigma_field_names(d: &crate::rule::Detection) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &d.searches {
        for alt in &s.alternatives {
            for item in alt {
                if let Some(f) = &item.field {
                    if !out.contains(f) {
                        out.push(f.clone());
                    }
                }
            }
        }
    }
    out
}
