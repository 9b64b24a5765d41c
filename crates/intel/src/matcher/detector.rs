//! The IOC matcher as a pipeline stage: events in, intel alerts out.

use std::sync::{Arc, PoisonError, RwLock};

use serde_json::json;
use shield_event::{Alert, AlertKind, Detector, Event, Level, RuleRef};

use super::{EventHit, IndicatorTable, IocMatcher};
use crate::observe::ObservableExtractor;
use crate::tlp::Tlp;

/// One generation of indicators: the matcher and the side table its references index.
#[derive(Debug, Clone, Default)]
pub struct IndicatorSet {
    /// The compiled values.
    pub matcher: Arc<IocMatcher>,
    /// The metadata of each reference.
    pub table: Arc<IndicatorTable>,
}

/// A [`Detector`] raising one [`AlertKind::Intel`] alert per (event, indicator).
///
/// The indicator set is swapped whole ([`IntelDetector::replace`]): a batch in progress keeps the
/// generation it started with, so updates never block detection for longer than an `Arc` clone.
/// Indicators past their `valid_until` at the event's time raise nothing. The alert level follows
/// the indicator's confidence: 85 and above high, below 50 low, otherwise (or unknown) medium.
/// `details` lists the matches (field, value, kind, how) and the indicator's TLP.
#[derive(Debug)]
pub struct IntelDetector {
    indicators: RwLock<IndicatorSet>,
    extractor: ObservableExtractor,
}

impl IntelDetector {
    /// A detector over `indicators` with the default field mapping.
    pub fn new(indicators: IndicatorSet) -> Self {
        IntelDetector::with_extractor(indicators, ObservableExtractor::default())
    }

    /// A detector with a configured field mapping.
    pub fn with_extractor(indicators: IndicatorSet, extractor: ObservableExtractor) -> Self {
        IntelDetector {
            indicators: RwLock::new(indicators),
            extractor,
        }
    }

    /// Swaps in a new generation of indicators.
    pub fn replace(&self, indicators: IndicatorSet) {
        *self
            .indicators
            .write()
            .unwrap_or_else(PoisonError::into_inner) = indicators;
    }

    /// The current generation.
    pub fn indicators(&self) -> IndicatorSet {
        self.indicators
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn level(confidence: Option<u8>) -> Level {
    match confidence {
        Some(c) if c >= 85 => Level::High,
        Some(c) if c < 50 => Level::Low,
        _ => Level::Medium,
    }
}

impl Detector for IntelDetector {
    fn name(&self) -> &str {
        "intel"
    }

    fn detect(&self, events: &[Event], alerts: &mut Vec<Alert>) {
        let set = self.indicators();
        let mut hits: Vec<EventHit> = Vec::new();
        for event in events {
            hits.clear();
            set.matcher
                .match_event_with(&self.extractor, event, &mut hits);
            if hits.is_empty() {
                continue;
            }
            let mut indicators: Vec<_> = hits.iter().map(|h| h.hit.indicator).collect();
            indicators.sort_unstable();
            indicators.dedup();
            for reference in indicators {
                let Some(info) = set.table.get(reference) else {
                    continue;
                };
                if !info.is_valid_at(event.time()) {
                    continue;
                }
                let matches: Vec<_> = hits
                    .iter()
                    .filter(|h| h.hit.indicator == reference)
                    .map(|h| json!({"field": h.field, "value": h.value, "kind": h.hit.kind, "via": h.hit.via}))
                    .collect();
                let rule = RuleRef {
                    id: info.id.to_string(),
                    title: info
                        .name
                        .map_or_else(|| format!("Indicator {}", info.id), str::to_owned),
                    level: level(info.confidence),
                    tags: Vec::new(),
                };
                let mut alert = Alert::for_event(AlertKind::Intel, rule, event);
                let tlp = info.marking.and_then(Tlp::from_marking_id).map(Tlp::tag);
                alert.details = json!({"matches": matches, "marking": info.marking, "tlp": tlp});
                alerts.push(alert);
            }
        }
    }
}
