//! [`SigmaDetector`]: the compiled rule set as a pipeline stage.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shield_event::{Alert, AlertKind, Detector, Event};

use crate::compiled::{CompiledRuleSet, RuleMatch};
use crate::correlate::Member;
use crate::correlator::{CorrelationHit, CorrelationLimits, Correlator};

/// Sigma detection over a stream of events: single-event rules raise [`AlertKind::Sigma`] alerts,
/// correlation rules raise [`AlertKind::Correlation`] alerts from the matches they count.
///
/// Matching runs without locks; the correlation state sits behind one mutex, taken once per batch
/// and only when a batch has matches that feed correlations.
pub struct SigmaDetector {
    rules: Arc<CompiledRuleSet>,
    /// Per compiled rule: whether some correlation counts it.
    feeds: Vec<bool>,
    correlator: Mutex<Correlator>,
}

impl std::fmt::Debug for SigmaDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaDetector")
            .field("rules", &self.rules)
            .finish()
    }
}

impl SigmaDetector {
    /// A detector over `rules` with default correlation limits.
    pub fn new(rules: Arc<CompiledRuleSet>) -> Self {
        SigmaDetector::with_limits(rules, CorrelationLimits::default())
    }

    /// A detector with explicit bounds on correlation state.
    pub fn with_limits(rules: Arc<CompiledRuleSet>, limits: CorrelationLimits) -> Self {
        let mut feeds = vec![false; rules.len()];
        for def in &rules.correlations {
            for m in &def.members {
                if let Member::Rule(i) = m {
                    if let Some(f) = feeds.get_mut(*i) {
                        *f = true;
                    }
                }
            }
        }
        let correlator = Mutex::new(Correlator::new(rules.correlations.len(), limits));
        SigmaDetector {
            rules,
            feeds,
            correlator,
        }
    }

    /// The compiled rules.
    pub fn rules(&self) -> &Arc<CompiledRuleSet> {
        &self.rules
    }

    /// Decides every open correlation window (call at the end of a finite input, e.g. a hunt over
    /// files) and appends the resulting alerts.
    pub fn flush(&self, alerts: &mut Vec<Alert>) {
        let mut hits = Vec::new();
        if let Ok(mut c) = self.correlator.lock() {
            c.flush(&self.rules.correlations, &mut hits);
        }
        for hit in hits {
            self.push_correlation(hit, alerts);
        }
    }

    /// Correlation groups currently held in memory (bounded by [`CorrelationLimits`]).
    pub fn correlation_groups(&self) -> usize {
        self.correlator.lock().map_or(0, |c| c.group_count())
    }

    /// The alert for one single-event match.
    pub fn alert_for(&self, m: &RuleMatch, event: &Event) -> Alert {
        let info = self.rules.rule(m.rule);
        let mut alert = Alert::for_event(AlertKind::Sigma, info.rule_ref(), event);
        alert.details = json!({
            "fields": Value::Object(self.rules.matched_fields(m, &event.data)),
            "logsource": self.rules.matched_logsource(m),
            "rule_file": info.file,
        });
        alert
    }

    fn push_correlation(&self, hit: CorrelationHit, alerts: &mut Vec<Alert>) {
        let Some(def) = self.rules.correlations.get(hit.correlation) else {
            return;
        };
        if !def.emits {
            return;
        }
        let mut alert = Alert::for_event(AlertKind::Correlation, def.info.rule_ref(), &hit.event);
        let mut details = hit.details;
        if let Some(members) = details.get_mut("members").and_then(Value::as_array_mut) {
            for m in members.iter_mut() {
                let id = if let Some(i) = m.get("rule").and_then(Value::as_u64) {
                    usize::try_from(i)
                        .ok()
                        .filter(|i| *i < self.rules.len())
                        .map(|i| self.rules.rule(i).id.clone())
                } else if let Some(i) = m.get("correlation").and_then(Value::as_u64) {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| self.rules.correlations.get(i))
                        .map(|d| d.info.id.clone())
                } else {
                    None
                };
                *m = id.map_or(Value::Null, Value::String);
            }
        }
        alert.details = details;
        alerts.push(alert);
    }
}

impl Detector for SigmaDetector {
    fn name(&self) -> &str {
        "sigma"
    }

    fn detect(&self, events: &[Event], alerts: &mut Vec<Alert>) {
        let mut matches: Vec<(usize, RuleMatch)> = Vec::new();
        let mut buf = Vec::new();
        for (i, event) in events.iter().enumerate() {
            buf.clear();
            self.rules.matches(event, &mut buf);
            matches.extend(buf.iter().map(|m| (i, *m)));
        }
        let needs_correlation = matches
            .iter()
            .any(|(_, m)| self.feeds.get(m.rule).copied().unwrap_or(false));
        let mut correlator = if needs_correlation {
            self.correlator.lock().ok()
        } else {
            None
        };
        let mut hits = Vec::new();
        for (i, m) in matches {
            let event = &events[i];
            if self.rules.rule(m.rule).emits {
                alerts.push(self.alert_for(&m, event));
            }
            if let Some(c) = correlator.as_mut() {
                if self.feeds.get(m.rule).copied().unwrap_or(false) {
                    let t = event.time().timestamp_millis();
                    c.feed(
                        &self.rules.correlations,
                        Member::Rule(m.rule),
                        event,
                        t,
                        &mut hits,
                    );
                    for hit in hits.drain(..) {
                        self.push_correlation(hit, alerts);
                    }
                }
            }
        }
    }
}
