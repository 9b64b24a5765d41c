//! [`hunt`]: rules, files, pipeline, correlations, summary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use shield_event::parse::discover_files;
use shield_event::{AlertKind, Detector, Event, Location, ParseError};
use shield_sigma::SigmaDetector;

use crate::hit::{Hit, HitEvent, HitKind, HitRule, HitSink, computer_of};
use crate::scan::{DetectorHit, Scanned, Scanner};
use crate::summary::tactic_mask;
use crate::{HuntError, HuntOptions, HuntSummary, LoadedRules, Progress, pipeline};

/// Events handed to the correlator at once.
const CORRELATION_BATCH: usize = 1024;

/// Loads the rules of `opts`, then hunts (see [`hunt_with_rules`]).
pub fn hunt(
    opts: &HuntOptions,
    sink: &mut dyn HitSink,
    progress: &dyn Progress,
) -> Result<HuntSummary, HuntError> {
    let rules = if opts.rules.is_empty() && !opts.detectors.is_empty() {
        LoadedRules::none()
    } else {
        LoadedRules::load(&opts.rules, opts.mapping.as_deref())?
    };
    progress.rules_loaded(&rules);
    hunt_with_rules(&rules, opts, sink, progress)
}

/// Hunts with already loaded rules over the files under [`HuntOptions::paths`]
/// ([`HuntOptions::rules`] and [`HuntOptions::mapping`] are not read). Hits reach `sink` sorted by
/// file, record and rule, then correlation hits; see the crate docs.
pub fn hunt_with_rules(
    rules: &LoadedRules,
    opts: &HuntOptions,
    sink: &mut dyn HitSink,
    progress: &dyn Progress,
) -> Result<HuntSummary, HuntError> {
    let (files, unreadable) = discover_files(&opts.paths);
    if files.is_empty() {
        return Err(HuntError::NoInput {
            paths: opts
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            unreadable: unreadable.iter().map(ToString::to_string).collect(),
        });
    }
    let start = Instant::now();
    let mut writer = Writer {
        rules,
        sink,
        progress,
        summary: HuntSummary {
            files: files.len(),
            detection_rules: rules.detection_rules(),
            correlation_rules: rules.correlation_rules(),
            rules_rejected: rules.rejected.len(),
            rule_warnings: rules.warnings,
            rules_load_time: rules.load_time,
            ..HuntSummary::default()
        },
        feed: Vec::new(),
        max_feed: opts.max_correlation_events,
        sizes: files.iter().map(|f| file_size(f.as_path())).collect(),
        current: None,
    };
    for e in &unreadable {
        writer.summary.files_failed += 1;
        progress.problem(&ParseError::new(
            Location::file(e.path.to_string_lossy()),
            format!("cannot read: {}", e.error),
        ));
    }
    progress.start(files.len(), writer.sizes.iter().sum());
    let scanner = Arc::new(Scanner::new(rules, opts.min_level, opts.detectors.clone()));
    pipeline::run(
        &files,
        &scanner,
        opts.effective_threads(),
        opts.batch_size,
        |index, scanned| {
            let text = writer.write(&files, index, scanned)?;
            scanner.recycle_text(text);
            Ok(())
        },
    )?;
    writer.end_file();
    writer.correlate(opts)?;
    writer.sink.finish().map_err(HuntError::Output)?;
    writer.summary.elapsed = start.elapsed();
    progress.finish();
    Ok(writer.summary)
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The writer's state: sink, summary, and what correlations will need.
struct Writer<'a> {
    rules: &'a LoadedRules,
    sink: &'a mut dyn HitSink,
    progress: &'a dyn Progress,
    summary: HuntSummary,
    /// Events feeding correlations, in output order.
    feed: Vec<Event>,
    max_feed: usize,
    /// Sizes of the files, for progress.
    sizes: Vec<u64>,
    /// The file being written and the bytes of it reported so far.
    current: Option<(usize, u64)>,
}

impl Writer<'_> {
    /// Writes one batch's hits; gives back the batch's text buffer.
    fn write(
        &mut self,
        files: &[PathBuf],
        index: usize,
        scanned: Scanned,
    ) -> Result<Vec<u8>, HuntError> {
        if self.current.is_some_and(|(i, _)| i != index) {
            self.end_file();
        }
        let reported = self.current.map_or(0, |(_, bytes)| bytes);
        self.current = Some((index, reported + scanned.bytes));
        self.summary.events += scanned.events;
        if let Some(e) = &scanned.file_failed {
            self.summary.files_failed += 1;
            self.progress.problem(e);
        }
        self.summary.record_errors += scanned.errors.len() as u64;
        for e in &scanned.errors {
            self.progress.problem(e);
        }
        let path = files[index].to_string_lossy();
        let compiled = &self.rules.compiled;
        // Per event: its Sigma hits, then its detector hits.
        let mut detector_hits = scanned.detector_hits.iter().peekable();
        for hit in &scanned.hits {
            while let Some(d) = detector_hits.next_if(|d| d.event < hit.event) {
                self.write_detector_hit(d, &scanned, &path)?;
            }
            let Some(origin) = scanned.origin(hit.event, &path) else {
                continue;
            };
            let info = compiled.rule(hit.rule.rule);
            let out = Hit {
                kind: HitKind::Sigma,
                rule: HitRule {
                    id: &info.id,
                    title: &info.title,
                    level: info.level,
                    tags: &info.tags,
                },
                path: origin.path,
                record_id: origin.record_id,
                timestamp: origin.timestamp,
                event: origin.event,
                computer: origin.computer,
                fields: Some(&hit.fields),
                logsource: compiled.matched_logsource(&hit.rule),
                correlation: None,
            };
            self.sink.hit(&out).map_err(HuntError::Output)?;
            let tactics = self.rules.tactics.get(hit.rule.rule).copied().unwrap_or(0);
            self.summary.count_hit(info.level, tactics);
        }
        for d in detector_hits {
            self.write_detector_hit(d, &scanned, &path)?;
        }
        for event in scanned.feed {
            if self.feed.len() < self.max_feed {
                self.feed.push(event);
            } else {
                self.summary.correlation_truncated = true;
            }
        }
        self.progress.advance(scanned.bytes, scanned.events);
        Ok(scanned.text)
    }

    /// Writes one hit of a further detector (an indicator that matched an event).
    fn write_detector_hit(
        &mut self,
        hit: &DetectorHit,
        scanned: &Scanned,
        path: &str,
    ) -> Result<(), HuntError> {
        let Some(origin) = scanned.origin(hit.event, path) else {
            return Ok(());
        };
        let rule = &hit.alert.rule;
        let out = Hit {
            kind: HitKind::Intel,
            rule: HitRule {
                id: &rule.id,
                title: &rule.title,
                level: rule.level,
                tags: &rule.tags,
            },
            path: origin.path,
            record_id: origin.record_id,
            timestamp: origin.timestamp,
            event: origin.event,
            computer: origin.computer,
            fields: hit.alert.details.as_object(),
            logsource: None,
            correlation: None,
        };
        self.sink.hit(&out).map_err(HuntError::Output)?;
        self.summary.count_hit(rule.level, tactic_mask(&rule.tags));
        self.summary.intel_hits += 1;
        Ok(())
    }

    /// Reports the unreported bytes of the file just written as processed.
    fn end_file(&mut self) {
        if let Some((index, reported)) = self.current.take() {
            let size = self.sizes.get(index).copied().unwrap_or(0);
            self.progress.advance(size.saturating_sub(reported), 0);
        }
    }

    /// Feeds the kept events, in event-time order, to a correlator and writes its hits.
    fn correlate(&mut self, opts: &HuntOptions) -> Result<(), HuntError> {
        if !self.rules.has_feeds() || self.feed.is_empty() {
            return Ok(());
        }
        self.summary.correlation_events = self.feed.len() as u64;
        // A stable sort: equal times keep output (file, record) order.
        let mut feed = std::mem::take(&mut self.feed);
        feed.sort_by_key(Event::time);
        let detector = SigmaDetector::new(Arc::clone(&self.rules.compiled));
        let mut alerts = Vec::new();
        for chunk in feed.chunks(CORRELATION_BATCH) {
            detector.detect(chunk, &mut alerts);
            alerts.retain(|a| a.kind == AlertKind::Correlation);
            self.write_correlations(&mut alerts, opts)?;
        }
        detector.flush(&mut alerts);
        self.write_correlations(&mut alerts, opts)
    }

    fn write_correlations(
        &mut self,
        alerts: &mut Vec<shield_event::Alert>,
        opts: &HuntOptions,
    ) -> Result<(), HuntError> {
        for alert in alerts.drain(..) {
            if alert.kind != AlertKind::Correlation
                || opts.min_level.is_some_and(|min| alert.rule.level < min)
            {
                continue;
            }
            let hit = Hit {
                kind: HitKind::Correlation,
                rule: HitRule {
                    id: &alert.rule.id,
                    title: &alert.rule.title,
                    level: alert.rule.level,
                    tags: &alert.rule.tags,
                },
                path: alert.source.path.as_deref().unwrap_or(""),
                record_id: alert.source.record_id,
                timestamp: alert.event_time,
                event: HitEvent::Value(&alert.event),
                computer: computer_of(&alert.event),
                fields: None,
                logsource: None,
                correlation: Some(&alert.details).filter(|d| !Value::is_null(d)),
            };
            self.sink.hit(&hit).map_err(HuntError::Output)?;
            self.summary
                .count_hit(alert.rule.level, tactic_mask(&alert.rule.tags));
            self.summary.correlation_hits += 1;
        }
        Ok(())
    }
}
