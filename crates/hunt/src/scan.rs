//! The matching task: one [`Batch`] in, its hits (and the events correlations need) out.
//!
//! Runs on the rayon pool, many batches at once. Events that match nothing are dropped here; an
//! event with hits is moved (not cloned) into the result, and cloned only when a correlation also
//! needs it.
//!
//! NDJSON lines are decoded into one JSON value per task that is reused from line to line
//! ([`decode_ndjson_line_into`]), and become an [`Event`] only when they hit: the events that match
//! nothing (most of them) cost no allocation. Further detectors (the IOC sweep) need every event as
//! an [`Event`], so with those every line takes the ordinary path.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shield_event::parse::{decode_ndjson_line_into, ndjson_event, parse_ndjson_line};
use shield_event::time::event_time;
use shield_event::{Alert, AlertKind, Detector, Event, Level, ParseContext, ParseError};
use shield_sigma::{CompiledRuleSet, MatchScratch, RuleMatch};

use crate::hit::{HitEvent, computer_of};
use crate::rules::LoadedRules;
use crate::source::{Batch, LineBatch, LineSpan};

/// Batch text buffers kept for reuse (a batch's text is a few megabytes: allocating it afresh for
/// every batch costs page faults).
const TEXT_POOL: usize = 16;

/// Matches batches against the compiled rules, then the further detectors (the IOC sweep of
/// `--intel`) on the same events. Shared by every matching task.
pub(crate) struct Scanner {
    rules: Arc<CompiledRuleSet>,
    /// Per rule: whether its matches are reported (it emits, and its level is high enough).
    reports: Vec<bool>,
    /// Per rule: whether a correlation counts its matches.
    feeds: Vec<bool>,
    /// Scratch buffers, one per task running.
    scratch: Mutex<Vec<TaskScratch>>,
    /// Further detectors, run on every event.
    detectors: Vec<Arc<dyn Detector>>,
    /// Detector alerts below this level are not reported.
    min_level: Option<Level>,
    /// Batch text buffers, back from the writer for the readers.
    texts: Mutex<Vec<Vec<u8>>>,
}

/// What a matching task reuses from one batch to the next.
#[derive(Default)]
struct TaskScratch {
    matcher: MatchScratch,
    /// The last NDJSON line decoded (its allocations are reused for the next).
    doc: Value,
}

/// An event with hits in a [`Scanned`] batch.
pub(crate) enum HitSource {
    /// A decoded event.
    Event(Event),
    /// An NDJSON line of [`Scanned::text`], not kept decoded: what a hit needs of it was taken
    /// while it was.
    Line {
        /// Its JSON text in [`Scanned::text`], without line end or surrounding blanks.
        start: usize,
        end: usize,
        /// 1-based line number.
        number: u64,
        timestamp: Option<DateTime<Utc>>,
        computer: Option<Box<str>>,
    },
}

/// Where a hit's event came from and what it holds, as a [`crate::Hit`] needs it.
pub(crate) struct HitOrigin<'a> {
    pub path: &'a str,
    pub record_id: Option<u64>,
    pub timestamp: Option<DateTime<Utc>>,
    pub event: HitEvent<'a>,
    pub computer: Option<&'a str>,
}

/// One hit of a further detector in a [`Scanned`] batch.
pub(crate) struct DetectorHit {
    /// Index in [`Scanned::hit_events`].
    pub event: usize,
    /// The detector's alert (rule = the indicator).
    pub alert: Alert,
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
    pub hit_events: Vec<HitSource>,
    /// The batch's text, for [`HitSource::Line`] (empty for other batches).
    pub text: Vec<u8>,
    /// Hits, in (event, rule) order.
    pub hits: Vec<SigmaHit>,
    /// Further detectors' hits, in (event, detector, alert) order.
    pub detector_hits: Vec<DetectorHit>,
    /// Events that matched a rule some correlation counts, in batch order.
    pub feed: Vec<Event>,
    /// Bytes of the file this batch covers, when known.
    pub bytes: u64,
}

impl Scanned {
    /// The origin of the hit event at `index`; `path` names the file when the event does not.
    pub(crate) fn origin<'a>(&'a self, index: usize, path: &'a str) -> Option<HitOrigin<'a>> {
        Some(match self.hit_events.get(index)? {
            HitSource::Event(event) => HitOrigin {
                path: event.meta.source.as_ref().map_or(path, |s| s.path.as_ref()),
                record_id: event.meta.source.as_ref().and_then(|s| s.record_id),
                timestamp: event.meta.timestamp,
                event: HitEvent::Value(&event.data),
                computer: computer_of(&event.data),
            },
            HitSource::Line {
                start,
                end,
                number,
                timestamp,
                computer,
            } => HitOrigin {
                path,
                record_id: Some(*number),
                timestamp: *timestamp,
                // Decoded as UTF-8 when it was matched; `None` cannot happen.
                event: HitEvent::Json(
                    self.text
                        .get(*start..*end)
                        .and_then(|t| std::str::from_utf8(t).ok())?,
                ),
                computer: computer.as_deref(),
            },
        })
    }
}

impl Scanner {
    pub(crate) fn new(
        rules: &LoadedRules,
        min_level: Option<Level>,
        detectors: Vec<Arc<dyn Detector>>,
    ) -> Self {
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
            detectors,
            min_level,
            texts: Mutex::new(Vec::new()),
        }
    }

    /// A buffer for a batch's text: one the writer gave back, else a new one.
    pub(crate) fn text_buffer(&self) -> Vec<u8> {
        self.texts
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default()
    }

    /// Takes back a batch's text once its hits are written.
    pub(crate) fn recycle_text(&self, mut text: Vec<u8>) {
        text.clear();
        if let Ok(mut pool) = self.texts.lock() {
            if pool.len() < TEXT_POOL {
                pool.push(text);
            }
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
                        Ok(event) => {
                            self.scan_event(event, &mut scratch.matcher, &mut matches, &mut out)
                        }
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
        scratch: &mut TaskScratch,
        matches: &mut Vec<RuleMatch>,
        out: &mut Scanned,
    ) {
        out.bytes = batch.bytes;
        out.errors = batch.errors;
        let Some(ctx) = batch.ctx else { return };
        let reuse = self.detectors.is_empty();
        for span in &batch.lines {
            let line = batch.text.get(span.start..span.end).unwrap_or_default();
            if reuse && decode_ndjson_line_into(line, &mut scratch.doc) {
                out.events += 1;
                matches.clear();
                self.rules
                    .matches_with(&scratch.doc, &mut scratch.matcher, matches);
                if !matches.is_empty() {
                    self.record_line(&scratch.doc, line, span, matches, &ctx, out);
                }
                continue;
            }
            // Not an object (or a detector needs every event): the ordinary path, which also
            // gives a bad line its precise error.
            match parse_ndjson_line(line, span.number, &ctx) {
                Ok(event) => self.scan_event(event, &mut scratch.matcher, matches, out),
                Err(mut e) => {
                    e.location.offset = Some(span.offset + e.location.offset.unwrap_or(0));
                    out.errors.push(e);
                }
            }
        }
        out.text = batch.text;
    }

    /// Keeps an NDJSON line that matched (`doc` is its decoding) as a [`HitSource::Line`]: its
    /// text stays where it is, and only what the hits need is taken from `doc`.
    fn record_line(
        &self,
        doc: &Value,
        line: &[u8],
        span: &LineSpan,
        matches: &[RuleMatch],
        ctx: &ParseContext,
        out: &mut Scanned,
    ) {
        let flag = |flags: &[bool], m: &RuleMatch| flags.get(m.rule).copied().unwrap_or(false);
        if matches.iter().any(|m| flag(&self.feeds, m)) {
            out.feed.push(ndjson_event(doc.clone(), span.number, ctx));
        }
        let index = out.hit_events.len();
        let before = out.hits.len();
        for m in matches.iter().filter(|m| flag(&self.reports, m)) {
            out.hits.push(SigmaHit {
                event: index,
                rule: *m,
                fields: self.rules.matched_fields(m, doc),
            });
        }
        if out.hits.len() == before {
            return;
        }
        // The decoder accepted the line, so it is UTF-8 and its JSON lies within the blanks.
        let start = span.start + (line.len() - line.trim_ascii_start().len());
        out.hit_events.push(HitSource::Line {
            start,
            end: start + line.trim_ascii().len(),
            number: span.number,
            timestamp: event_time(doc),
            computer: computer_of(doc).map(Box::from),
        });
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
        let detected = self.detect(&event, out);
        self.record(event, matches, detected, out);
    }

    /// Keeps `event` in the result if it has reported hits (`matches`) or a detector `detected`
    /// something in it, and for the correlations that count its matches.
    fn record(&self, event: Event, matches: &[RuleMatch], detected: bool, out: &mut Scanned) {
        if matches.is_empty() {
            if detected {
                out.hit_events.push(HitSource::Event(event));
            }
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
                fields: self.rules.matched_fields(m, &event.data),
            });
        }
        if reported || detected {
            out.hit_events.push(HitSource::Event(event));
        }
    }

    /// Runs the further detectors on one event; `true` when one reported a hit (recorded against
    /// the event's coming index in [`Scanned::hit_events`]).
    fn detect(&self, event: &Event, out: &mut Scanned) -> bool {
        if self.detectors.is_empty() {
            return false;
        }
        let mut alerts = Vec::new();
        for detector in &self.detectors {
            detector.detect(std::slice::from_ref(event), &mut alerts);
        }
        let index = out.hit_events.len();
        let before = out.detector_hits.len();
        out.detector_hits.extend(
            alerts
                .into_iter()
                .filter(|a| a.kind != AlertKind::Correlation)
                .filter(|a| self.min_level.is_none_or(|min| a.rule.level >= min))
                .map(|alert| DetectorHit {
                    event: index,
                    alert,
                }),
        );
        out.detector_hits.len() > before
    }
}
