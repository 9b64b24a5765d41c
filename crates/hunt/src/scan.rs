//! The matching task: one [`Batch`] in, its hits (and the events correlations need) out.
//!
//! Runs on the rayon pool, many batches at once. Events that match nothing are dropped here; an
//! event with hits is moved (not cloned) into the result, and cloned only when a correlation also
//! needs it.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use shield_event::parse::parse_ndjson_line;
use shield_event::{Event, Level, ParseError};
use shield_sigma::{CompiledRuleSet, MatchScratch, RuleMatch};

use crate::rules::LoadedRules;
use crate::source::{Batch, LineBatch};

/// Matches batches against the compiled rules. Shared by every matching task.
///
/// Extension point: an IOC sweep (`--intel`) becomes a second stage here, run on the same events
/// and producing its own hits in the same [`Scanned`].
pub(crate) struct Scanner {
    rules: Arc<CompiledRuleSet>,
    /// Per rule: whether its matches are reported (it emits, and its level is high enough).
    reports: Vec<bool>,
    /// Per rule: whether a correlation counts its matches.
    feeds: Vec<bool>,
    /// Scratch buffers, one per task running.
    scratch: Mutex<Vec<MatchScratch>>,
}

/// One single-event hit of a [`Scanned`] batch.
pub(crate) struct SigmaHit {
    /// Index in [`Scanned::hit_events`].
    pub event: usize,
    pub rule: RuleMatch,
    /// The values of the fields the rule names.
    pub fields: Map<String, Value>,
}

/// The outcome of matching one batch.
#[derive(Default)]
pub(crate) struct Scanned {
    /// Events read in this batch.
    pub events: u64,
    /// Records that could not be parsed.
    pub errors: Vec<ParseError>,
    /// The file could not be read at all.
    pub file_failed: Option<ParseError>,
    /// Events with at least one reported hit, in batch order.
    pub hit_events: Vec<Event>,
    /// Hits, in (event, rule) order.
    pub hits: Vec<SigmaHit>,
    /// Events that matched a rule some correlation counts, in batch order.
    pub feed: Vec<Event>,
    /// Bytes of the file this batch covers, when known.
    pub bytes: u64,
}

impl Scanner {
    pub(crate) fn new(rules: &LoadedRules, min_level: Option<Level>) -> Self {
        let compiled = Arc::clone(&rules.compiled);
        let reports = compiled
            .rules()
            .iter()
            .map(|info| info.emits && min_level.is_none_or(|min| info.level >= min))
            .collect();
        Scanner {
            rules: compiled,
            reports,
            feeds: rules.feeds.clone(),
            scratch: Mutex::new(Vec::new()),
        }
    }

    /// Matches every event of `batch`.
    pub(crate) fn scan(&self, batch: Batch) -> Scanned {
        let mut scratch = self
            .scratch
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        let mut out = Scanned::default();
        let mut matches = Vec::new();
        match batch {
            Batch::Events(items) => {
                for item in items {
                    match item {
                        Ok(event) => self.scan_event(event, &mut scratch, &mut matches, &mut out),
                        Err(e) => out.errors.push(e),
                    }
                }
            }
            Batch::Lines(lines) => self.scan_lines(lines, &mut scratch, &mut matches, &mut out),
            Batch::FileFailed(e) => out.file_failed = Some(e),
        }
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
        out
    }

    fn scan_lines(
        &self,
        batch: LineBatch,
        scratch: &mut MatchScratch,
        matches: &mut Vec<RuleMatch>,
        out: &mut Scanned,
    ) {
        out.bytes = batch.bytes;
        out.errors = batch.errors;
        let Some(ctx) = batch.ctx else { return };
        for span in &batch.lines {
            let line = batch.text.get(span.start..span.end).unwrap_or_default();
            match parse_ndjson_line(line, span.number, &ctx) {
                Ok(event) => self.scan_event(event, scratch, matches, out),
                Err(mut e) => {
                    e.location.offset = Some(span.offset + e.location.offset.unwrap_or(0));
                    out.errors.push(e);
                }
            }
        }
    }

    fn scan_event(
        &self,
        event: Event,
        scratch: &mut MatchScratch,
        matches: &mut Vec<RuleMatch>,
        out: &mut Scanned,
    ) {
        out.events += 1;
        matches.clear();
        self.rules.matches_with(&event.data, scratch, matches);
        if matches.is_empty() {
            return;
        }
        let flag = |flags: &[bool], m: &RuleMatch| flags.get(m.rule).copied().unwrap_or(false);
        if matches.iter().any(|m| flag(&self.feeds, m)) {
            out.feed.push(event.clone());
        }
        let index = out.hit_events.len();
        let mut reported = false;
        for m in matches.iter().filter(|m| flag(&self.reports, m)) {
            reported = true;
            out.hits.push(SigmaHit {
                event: index,
                rule: *m,
                fields: self.rules.matched_fields(m, &event),
            });
        }
        if reported {
            out.hit_events.push(event);
        }
    }
}
