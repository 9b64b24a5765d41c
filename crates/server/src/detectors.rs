//! Building the detectors the pipeline runs, and rebuilding them on reload.
//!
//! A reload builds a complete new [`DetectorSet`] beside the running one and swaps it in only when it
//! built; a rule set that fails to load as a whole leaves the running detectors untouched. Rules that
//! fail individually are reported and skipped, as `shield hunt` does.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use shield_event::{Detector, Level};
use shield_sigma::{
    CompiledRuleSet, LoadOptions, Mapping, RuleBody, RuleSet, Severity, SigmaDetector, load_rules,
};

use crate::pipeline::DetectorSet;

/// What the last (re)load did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// When the detectors were built.
    pub loaded_at: Option<DateTime<Utc>>,
    /// Sigma rules compiled into the running set.
    pub rules_loaded: usize,
    /// Rules that could not be loaded.
    pub rules_rejected: usize,
    /// The first rejections, each naming file and reason.
    pub errors: Vec<String>,
}

/// Most rejection messages kept in a report.
const MAX_REPORTED_ERRORS: usize = 200;

/// Builds detector sets from the configured rule folders.
pub struct RuleReloader {
    rules: Vec<PathBuf>,
    mapping: Option<PathBuf>,
    min_level: Option<Level>,
    extra: Vec<Arc<dyn Detector>>,
    last: Mutex<ReloadReport>,
}

impl RuleReloader {
    /// A reloader over rule folders, an optional mapping file and a minimum level.
    pub fn new(rules: Vec<PathBuf>, mapping: Option<PathBuf>, min_level: Option<Level>) -> Self {
        RuleReloader {
            rules,
            mapping,
            min_level,
            extra: Vec::new(),
            last: Mutex::new(ReloadReport::default()),
        }
    }

    /// Detectors that run after the Sigma rules in every set built (the IOC matcher); they are not
    /// rebuilt by a rule reload.
    pub fn with_detectors(mut self, extra: Vec<Arc<dyn Detector>>) -> Self {
        self.extra = extra;
        self
    }

    /// The report of the last successful build.
    pub fn last_report(&self) -> ReloadReport {
        self.last.lock().clone()
    }

    /// Builds a new detector set; an error leaves nothing changed. Without rule folders the set is
    /// empty. A rule folder that does not exist, a mapping file that does not parse, or rule folders
    /// in which not a single rule loads are errors; single bad rules are reported and skipped.
    pub fn build(&self) -> Result<(DetectorSet, ReloadReport), String> {
        let mut report = ReloadReport {
            loaded_at: Some(Utc::now()),
            ..ReloadReport::default()
        };
        if self.rules.is_empty() {
            *self.last.lock() = report.clone();
            return Ok((DetectorSet::new(self.extra.clone()), report));
        }
        for dir in &self.rules {
            if !dir.exists() {
                return Err(format!("rule path {} does not exist", dir.display()));
            }
        }
        let mut mapping = Mapping::default_windows();
        if let Some(path) = &self.mapping {
            let user = Mapping::from_file(path).map_err(|e| format!("sigma.mapping: {e}"))?;
            // The user's entries come first, so they win where both describe a log source.
            let mut entries = user.entries;
            entries.extend(mapping.entries);
            mapping.entries = entries;
        }
        let (mut set, load_errors) = load_rules(&self.rules, &LoadOptions::default());
        if let Some(min) = self.min_level {
            set = below_level_dropped(set, min);
        }
        let (compiled, compile_errors) = CompiledRuleSet::compile(&set, &mapping);
        let errors: Vec<_> = load_errors
            .into_iter()
            .chain(compile_errors)
            .filter(|e| e.severity == Severity::Error)
            .collect();
        if compiled.is_empty() && !errors.is_empty() {
            return Err(format!(
                "no rule could be loaded from {} ({} errors; first: {})",
                self.rules
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                errors.len(),
                errors[0]
            ));
        }
        report.rules_loaded = compiled.len() + compiled.stats().correlations;
        report.rules_rejected = errors.len();
        report.errors = truncate_errors(errors.iter().map(ToString::to_string));
        let detector: Arc<dyn Detector> = Arc::new(SigmaDetector::new(Arc::new(compiled)));
        *self.last.lock() = report.clone();
        let mut detectors = vec![detector];
        detectors.extend(self.extra.iter().cloned());
        Ok((DetectorSet::new(detectors), report))
    }
}

/// Drops detection rules below `min`, except those a correlation rule counts.
fn below_level_dropped(set: RuleSet, min: Level) -> RuleSet {
    let referenced: HashSet<String> = set
        .rules
        .iter()
        .filter_map(|r| match &r.body {
            RuleBody::Correlation(c) => Some(c.rules.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    let kept = set
        .rules
        .into_iter()
        .filter(|r| {
            !matches!(r.body, RuleBody::Detection(_))
                || r.level.is_none_or(|l| l >= min)
                || r.id.as_ref().is_some_and(|id| referenced.contains(id))
                || r.name.as_ref().is_some_and(|n| referenced.contains(n))
        })
        .collect();
    RuleSet::new(kept)
}

/// Keeps at most [`MAX_REPORTED_ERRORS`] messages.
pub fn truncate_errors(errors: impl IntoIterator<Item = String>) -> Vec<String> {
    errors.into_iter().take(MAX_REPORTED_ERRORS).collect()
}
