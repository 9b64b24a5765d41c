//! The processing pipeline: ingest → bounded queue → detection workers → output.
//!
//! ```text
//!  inputs (HTTP, _bulk, syslog, files)
//!      │ try_submit(events)      ← refuses (429) when `queue_events` would be exceeded
//!      ▼
//!  queue (crossbeam channel; bounded by an event counter, not by batches)
//!      │
//!      ├─► worker 1 ─┐  each runs every Detector of the current DetectorSet on a batch
//!      ├─► worker 2 ─┤
//!      ▼             ▼
//!  output channel (bounded in batches: a slow output backs up into the queue, then into 429s)
//!      │
//!      ▼
//!  output thread: Output::write(events, alerts)  (alerts → store, events → archive, counters)
//! ```
//!
//! Memory is bounded: an event counts against `queue_events` from the moment it is accepted until the
//! output has written it. A single batch larger than the whole capacity is still accepted when the
//! queue is empty (its size is bounded by the request body limit), so no request is refused forever.
//!
//! Journaled batches (the node's HTTP and syslog ingest, and replay at start) carry the position of
//! their frame in the archive ([`FramePosition`]). The pipeline keeps the positions in flight
//! ([`Progress`]): the *detected watermark* is the first position not yet written by the output (or,
//! with nothing in flight, the end of the last frame handed in), and the output is told about it
//! ([`Output::checkpoint`]) so that it can record how far replay must go back after a crash. Frames
//! must be registered in position order, which the journal's single writer does.
//!
//! Detectors are swapped atomically ([`Pipeline::set_detectors`]): a batch runs entirely on the set that
//! was current when a worker picked it up; a reload never mutates a set in place.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use shield_event::{Alert, Detector, Event};
use shield_store::archive::FramePosition;

/// Where processed events and their alerts go.
pub trait Output: Send {
    /// Writes one processed batch. An error is logged and counted; the events still leave the queue.
    fn write(&mut self, events: &[Event], alerts: &[Alert]) -> Result<(), String>;

    /// Every journaled frame before `detected` has been written (called after a journaled batch is
    /// written, with the pipeline's new detected watermark).
    fn checkpoint(&mut self, detected: FramePosition) {
        let _ = detected;
    }

    /// Called when the pipeline stops, after the last batch.
    fn finish(&mut self) {}
}

/// The detectors that run on every event, swapped as a whole on reload.
#[derive(Default, Clone)]
pub struct DetectorSet {
    detectors: Vec<Arc<dyn Detector>>,
}

impl DetectorSet {
    /// A set of detectors, run in this order.
    pub fn new(detectors: Vec<Arc<dyn Detector>>) -> Self {
        DetectorSet { detectors }
    }

    /// The detectors' names.
    pub fn names(&self) -> Vec<String> {
        self.detectors.iter().map(|d| d.name().to_owned()).collect()
    }

    fn run(&self, events: &[Event], alerts: &mut Vec<Alert>) {
        for detector in &self.detectors {
            detector.detect(events, alerts);
        }
    }
}

/// Pipeline sizing.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Events that may wait between ingest and output.
    pub queue_events: usize,
    /// Detection worker threads (at least 1).
    pub workers: usize,
}

/// Counters the pipeline keeps (for `/metrics` and `/api/v1/stats`).
#[derive(Debug, Default)]
pub struct PipelineCounters {
    /// Events accepted into the queue.
    pub accepted: AtomicU64,
    /// Events refused because the queue was full.
    pub refused: AtomicU64,
    /// Events that went through detection and output.
    pub processed: AtomicU64,
    /// Alerts raised.
    pub alerts: AtomicU64,
    /// Output batches that failed to write.
    pub output_errors: AtomicU64,
    /// Sum of microseconds from acceptance to written, over processed batches' events.
    pub latency_micros_total: AtomicU64,
    /// Largest acceptance-to-written latency seen, in microseconds.
    pub latency_micros_max: AtomicU64,
}

/// The queue was full; the events are handed back.
#[derive(Debug)]
pub struct QueueFull(pub Vec<Event>);

/// Room for some events in the queue, taken before they are journaled. Dropping it gives the room
/// back; [`Pipeline::submit_reserved`] hands it to the batch, which gives it back once written.
pub struct Reservation {
    events: usize,
    pending: Arc<AtomicUsize>,
}

impl Reservation {
    /// Events reserved.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Splits off room for `n` events (at most what is left).
    pub fn split(&mut self, n: usize) -> Reservation {
        let n = n.min(self.events);
        self.events -= n;
        Reservation {
            events: n,
            pending: Arc::clone(&self.pending),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.events > 0 {
            self.pending.fetch_sub(self.events, Ordering::AcqRel);
        }
    }
}

/// The journaled frames between the journal and the output.
#[derive(Debug, Default)]
pub struct Progress {
    inner: parking_lot::Mutex<InFlight>,
}

#[derive(Debug, Default)]
struct InFlight {
    starts: BTreeSet<FramePosition>,
    end: Option<FramePosition>,
}

impl Progress {
    /// Registers a frame handed to the pipeline. Frames must be registered in position order.
    pub fn register(&self, start: FramePosition, end: FramePosition) {
        let mut g = self.inner.lock();
        g.starts.insert(start);
        g.end = Some(g.end.map_or(end, |e| e.max(end)));
    }

    /// The frame at `start` was written; returns the detected watermark.
    fn complete(&self, start: FramePosition) -> Option<FramePosition> {
        let mut g = self.inner.lock();
        g.starts.remove(&start);
        g.starts.first().copied().or(g.end)
    }

    /// Frames registered and not yet written.
    pub fn in_flight(&self) -> usize {
        self.inner.lock().starts.len()
    }
}

/// Where a journaled batch is in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Journaled {
    /// The frame's position.
    pub start: FramePosition,
    /// Where the frame ends.
    pub end: FramePosition,
}

struct Batch {
    events: Vec<Event>,
    accepted: Instant,
    journaled: Option<Journaled>,
    /// The room this batch holds in the queue, returned once written.
    room: Reservation,
}

struct Processed {
    batch: Batch,
    alerts: Vec<Alert>,
}

/// A running pipeline. Dropping every clone of the sender side (via [`Pipeline::shutdown`]) drains
/// the queue and stops the threads.
pub struct Pipeline {
    queue: parking_lot::RwLock<Option<Sender<Batch>>>,
    pending: Arc<AtomicUsize>,
    capacity: usize,
    detectors: Arc<RwLock<Arc<DetectorSet>>>,
    counters: Arc<PipelineCounters>,
    progress: Arc<Progress>,
    threads: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

impl Pipeline {
    /// Starts the worker threads and the output thread.
    pub fn start(config: PipelineConfig, detectors: DetectorSet, output: Box<dyn Output>) -> Self {
        let (queue, work) = crossbeam_channel::unbounded::<Batch>();
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Processed>(64);
        let pending = Arc::new(AtomicUsize::new(0));
        let detectors = Arc::new(RwLock::new(Arc::new(detectors)));
        let counters = Arc::new(PipelineCounters::default());
        let mut threads = Vec::new();
        for i in 0..config.workers.max(1) {
            let work = work.clone();
            let done = done_tx.clone();
            let detectors = Arc::clone(&detectors);
            let spawned = std::thread::Builder::new()
                .name(format!("shield-detect-{i}"))
                .spawn(move || detect_loop(&work, &done, &detectors));
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => tracing::error!("cannot start detection worker {i}: {e}"),
            }
        }
        drop(done_tx);
        let out_counters = Arc::clone(&counters);
        let progress = Arc::new(Progress::default());
        let out_progress = Arc::clone(&progress);
        let spawned = std::thread::Builder::new()
            .name("shield-output".to_owned())
            .spawn(move || output_loop(&done_rx, output, &out_counters, &out_progress));
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(e) => tracing::error!("cannot start output thread: {e}"),
        }
        Pipeline {
            queue: parking_lot::RwLock::new(Some(queue)),
            pending,
            capacity: config.queue_events.max(1),
            detectors,
            counters,
            progress,
            threads: parking_lot::Mutex::new(threads),
        }
    }

    /// Takes room for `n` events, or refuses (and counts the refusal) when the queue is full. As with
    /// [`Pipeline::try_submit`], a batch larger than the whole capacity gets room in an empty queue.
    pub fn try_reserve(&self, n: usize) -> Option<Reservation> {
        let before = self.pending.fetch_add(n, Ordering::AcqRel);
        let room = Reservation {
            events: n,
            pending: Arc::clone(&self.pending),
        };
        if n > 0 && before > 0 && before + n > self.capacity {
            drop(room);
            self.counters.refused.fetch_add(n as u64, Ordering::Relaxed);
            return None;
        }
        Some(room)
    }

    /// Takes room for `n` events, waiting for the output to make some (replay at start, which must
    /// not hold more than the queue allows). `None` once the pipeline is closed.
    pub fn reserve_waiting(&self, n: usize) -> Option<Reservation> {
        loop {
            if self.is_closed() {
                return None;
            }
            let before = self.pending.fetch_add(n, Ordering::AcqRel);
            let room = Reservation {
                events: n,
                pending: Arc::clone(&self.pending),
            };
            if n == 0 || before == 0 || before + n <= self.capacity {
                return Some(room);
            }
            drop(room);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Queues a batch into room taken before, with the archive frame it was journaled as (its
    /// position must have been registered with [`Progress::register`]). Hands the events back if the
    /// pipeline is closed.
    pub fn submit_reserved(
        &self,
        room: Reservation,
        events: Vec<Event>,
        journaled: Option<Journaled>,
    ) -> Result<(), Vec<Event>> {
        let n = events.len();
        let batch = Batch {
            events,
            accepted: Instant::now(),
            journaled,
            room,
        };
        let queue = self.queue.read();
        let Some(sender) = queue.as_ref() else {
            return Err(batch.events);
        };
        match sender.send(batch) {
            Ok(()) => {
                self.counters
                    .accepted
                    .fetch_add(n as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(e.0.events),
        }
    }

    /// The journaled frames in flight.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// Queues a batch that is not journaled, or hands it back when the queue cannot take it.
    pub fn try_submit(&self, events: Vec<Event>) -> Result<(), QueueFull> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(room) = self.try_reserve(events.len()) else {
            return Err(QueueFull(events));
        };
        self.submit_reserved(room, events, None).map_err(QueueFull)
    }

    /// True once [`Pipeline::shutdown`] began: nothing more is accepted.
    pub fn is_closed(&self) -> bool {
        self.queue.read().is_none()
    }

    /// Events accepted but not yet written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// The queue's capacity in events.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The pipeline's counters.
    pub fn counters(&self) -> &Arc<PipelineCounters> {
        &self.counters
    }

    /// Replaces the detector set; batches already being processed finish on the old one.
    pub fn set_detectors(&self, set: DetectorSet) {
        match self.detectors.write() {
            Ok(mut guard) => *guard = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
    }

    /// The current detector set.
    pub fn detectors(&self) -> Arc<DetectorSet> {
        current(&self.detectors)
    }

    /// Stops accepting, processes everything queued, writes it, and joins the threads. Later
    /// submissions are refused. Calling it twice is harmless.
    pub fn shutdown(&self) {
        drop(self.queue.write().take());
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            if handle.join().is_err() {
                tracing::error!("a pipeline thread panicked");
            }
        }
    }
}

fn current(detectors: &RwLock<Arc<DetectorSet>>) -> Arc<DetectorSet> {
    match detectors.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

fn detect_loop(
    work: &Receiver<Batch>,
    done: &Sender<Processed>,
    detectors: &RwLock<Arc<DetectorSet>>,
) {
    for batch in work {
        let set = current(detectors);
        let mut alerts = Vec::new();
        set.run(&batch.events, &mut alerts);
        if let Some(j) = &batch.journaled {
            crate::journal::identify_alerts(&mut alerts, j.start, &batch.events);
        }
        if done.send(Processed { batch, alerts }).is_err() {
            return;
        }
    }
}

fn output_loop(
    done: &Receiver<Processed>,
    mut output: Box<dyn Output>,
    counters: &PipelineCounters,
    progress: &Progress,
) {
    for Processed { batch, alerts } in done {
        let n = batch.events.len();
        let written = output.write(&batch.events, &alerts);
        if let Err(e) = &written {
            counters.output_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                "writing a batch of {n} events and {} alerts failed: {e}",
                alerts.len()
            );
        }
        let micros = u64::try_from(batch.accepted.elapsed().as_micros()).unwrap_or(u64::MAX);
        counters
            .latency_micros_total
            .fetch_add(micros.saturating_mul(n as u64), Ordering::Relaxed);
        counters
            .latency_micros_max
            .fetch_max(micros, Ordering::Relaxed);
        counters.processed.fetch_add(n as u64, Ordering::Relaxed);
        counters
            .alerts
            .fetch_add(alerts.len() as u64, Ordering::Relaxed);
        // A frame whose output failed stays in flight: the watermark stops before it, so the next
        // start detects it again.
        if let (Some(j), Ok(())) = (batch.journaled, &written) {
            if let Some(watermark) = progress.complete(j.start) {
                output.checkpoint(watermark);
            }
        }
        drop(batch.room);
    }
    output.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shield_event::{AlertKind, Format, Level, RuleRef};
    use std::sync::Mutex;
    use std::sync::mpsc;

    struct Recording(Arc<Mutex<(usize, Vec<Alert>)>>);
    impl Output for Recording {
        fn write(&mut self, events: &[Event], alerts: &[Alert]) -> Result<(), String> {
            let mut g = self.0.lock().map_err(|e| e.to_string())?;
            g.0 += events.len();
            g.1.extend_from_slice(alerts);
            Ok(())
        }
    }

    /// Raises an alert for events whose `bad` field is true.
    struct BadField(&'static str);
    impl Detector for BadField {
        fn name(&self) -> &str {
            self.0
        }
        fn detect(&self, events: &[Event], alerts: &mut Vec<Alert>) {
            for e in events {
                if e.field("bad") == Some(&json!(true)) {
                    let rule = RuleRef {
                        id: self.0.into(),
                        title: "bad".into(),
                        level: Level::High,
                        tags: vec![],
                    };
                    alerts.push(Alert::for_event(AlertKind::Sigma, rule, e));
                }
            }
        }
    }

    /// Blocks every write until released, to fill the queue deterministically.
    struct Gate(mpsc::Receiver<()>);
    impl Output for Gate {
        fn write(&mut self, _: &[Event], _: &[Alert]) -> Result<(), String> {
            self.0.recv().map_err(|e| e.to_string())
        }
    }

    fn events(n: usize, bad_every: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                Event::new(
                    json!({"i": i, "bad": i % bad_every == 0}),
                    "test".into(),
                    Format::Json,
                )
            })
            .collect()
    }

    #[test]
    fn every_event_is_processed_and_alerts_reach_the_output() {
        let rec = Arc::new(Mutex::new((0, Vec::new())));
        let p = Pipeline::start(
            PipelineConfig {
                queue_events: 1000,
                workers: 2,
            },
            DetectorSet::new(vec![Arc::new(BadField("d1"))]),
            Box::new(Recording(Arc::clone(&rec))),
        );
        for _ in 0..10 {
            p.try_submit(events(50, 10)).unwrap();
        }
        let counters = Arc::clone(p.counters());
        p.shutdown();
        let g = rec.lock().unwrap();
        assert_eq!(g.0, 500);
        assert_eq!(g.1.len(), 50);
        assert_eq!(counters.processed.load(Ordering::Relaxed), 500);
        assert_eq!(counters.alerts.load(Ordering::Relaxed), 50);
    }

    #[test]
    fn full_queue_refuses_and_hands_events_back() {
        let (release, gate) = mpsc::channel();
        let p = Pipeline::start(
            PipelineConfig {
                queue_events: 100,
                workers: 1,
            },
            DetectorSet::default(),
            Box::new(Gate(gate)),
        );
        p.try_submit(events(60, 1000)).unwrap();
        p.try_submit(events(40, 1000)).unwrap();
        let refused = p.try_submit(events(5, 1000)).unwrap_err();
        assert_eq!(refused.0.len(), 5);
        assert_eq!(p.pending(), 100);
        assert_eq!(p.counters().refused.load(Ordering::Relaxed), 5);
        release.send(()).unwrap();
        release.send(()).unwrap();
        // Wait until both batches are written; then there is room again.
        let start = Instant::now();
        while p.pending() > 0 && start.elapsed().as_secs() < 10 {
            std::thread::yield_now();
        }
        assert_eq!(p.pending(), 0);
        p.try_submit(events(5, 1000)).unwrap();
        release.send(()).unwrap();
        p.shutdown();
    }

    #[test]
    fn oversized_batch_is_accepted_into_an_empty_queue() {
        let rec = Arc::new(Mutex::new((0, Vec::new())));
        let p = Pipeline::start(
            PipelineConfig {
                queue_events: 10,
                workers: 1,
            },
            DetectorSet::default(),
            Box::new(Recording(Arc::clone(&rec))),
        );
        p.try_submit(events(25, 1000)).unwrap();
        p.shutdown();
        assert_eq!(rec.lock().unwrap().0, 25);
    }

    fn pos(segment: u64, offset: u64) -> FramePosition {
        FramePosition { segment, offset }
    }

    #[test]
    fn the_watermark_waits_for_the_oldest_frame_in_flight() {
        let p = Progress::default();
        p.register(pos(1, 16), pos(1, 100));
        p.register(pos(1, 100), pos(1, 200));
        p.register(pos(2, 16), pos(2, 50));
        assert_eq!(p.complete(pos(1, 100)), Some(pos(1, 16)));
        assert_eq!(p.complete(pos(1, 16)), Some(pos(2, 16)));
        assert_eq!(p.in_flight(), 1);
        assert_eq!(
            p.complete(pos(2, 16)),
            Some(pos(2, 50)),
            "all written: the end"
        );
    }

    /// Records alerts and checkpoints; fails the batch whose first event has `fail`.
    struct Checkpoints(Arc<Mutex<(Vec<Alert>, Vec<FramePosition>)>>);
    impl Output for Checkpoints {
        fn write(&mut self, events: &[Event], alerts: &[Alert]) -> Result<(), String> {
            if events.first().and_then(|e| e.field("fail")).is_some() {
                return Err("refused".into());
            }
            self.0
                .lock()
                .map_err(|e| e.to_string())?
                .0
                .extend_from_slice(alerts);
            Ok(())
        }
        fn checkpoint(&mut self, detected: FramePosition) {
            if let Ok(mut g) = self.0.lock() {
                g.1.push(detected);
            }
        }
    }

    fn run_journaled(
        batches: &[(Vec<Event>, FramePosition, FramePosition)],
    ) -> (Vec<Alert>, Vec<FramePosition>) {
        let rec = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let p = Pipeline::start(
            PipelineConfig {
                queue_events: 10,
                workers: 2,
            },
            DetectorSet::new(vec![Arc::new(BadField("d"))]),
            Box::new(Checkpoints(Arc::clone(&rec))),
        );
        for (events, start, end) in batches {
            let room = p.reserve_waiting(events.len()).unwrap();
            p.progress().register(*start, *end);
            let j = Journaled {
                start: *start,
                end: *end,
            };
            p.submit_reserved(room, events.clone(), Some(j)).unwrap();
        }
        p.shutdown();
        assert_eq!(p.pending(), 0, "room given back");
        let g = rec.lock().unwrap();
        (g.0.clone(), g.1.clone())
    }

    #[test]
    fn journaled_batches_get_stable_alert_ids_and_move_the_watermark() {
        let batches = vec![
            (events(8, 4), pos(1, 16), pos(1, 90)),
            (events(8, 4), pos(1, 90), pos(1, 170)),
            (events(8, 4), pos(2, 16), pos(2, 99)),
        ];
        let (alerts, checkpoints) = run_journaled(&batches);
        assert_eq!(alerts.len(), 6);
        assert_eq!(checkpoints.last(), Some(&pos(2, 99)));
        assert!(
            checkpoints.windows(2).all(|w| w[0] <= w[1]),
            "{checkpoints:?}"
        );
        // The same frames processed again (replay) give the same alerts.
        let (again, _) = run_journaled(&batches);
        let mut ids: Vec<_> = alerts.iter().map(|a| a.id.clone()).collect();
        let mut ids_again: Vec<_> = again.iter().map(|a| a.id.clone()).collect();
        ids.sort();
        ids_again.sort();
        assert_eq!(ids, ids_again);
        ids.dedup();
        assert_eq!(ids.len(), 6);
    }

    #[test]
    fn a_failed_output_holds_the_watermark_before_its_frame() {
        let mut failing = events(3, 100);
        failing[0].data["fail"] = json!(true);
        let batches = vec![
            (events(3, 100), pos(1, 16), pos(1, 90)),
            (failing, pos(1, 90), pos(1, 170)),
            (events(3, 100), pos(1, 170), pos(1, 250)),
        ];
        let (_, checkpoints) = run_journaled(&batches);
        assert!(
            checkpoints.iter().all(|c| *c <= pos(1, 90)),
            "never past the failed frame: {checkpoints:?}"
        );
    }

    #[test]
    fn detectors_are_swapped_for_later_batches() {
        let rec = Arc::new(Mutex::new((0, Vec::new())));
        let p = Pipeline::start(
            PipelineConfig {
                queue_events: 1000,
                workers: 1,
            },
            DetectorSet::new(vec![Arc::new(BadField("old"))]),
            Box::new(Recording(Arc::clone(&rec))),
        );
        assert_eq!(p.detectors().names(), vec!["old".to_owned()]);
        p.set_detectors(DetectorSet::new(vec![Arc::new(BadField("new"))]));
        p.try_submit(events(10, 5)).unwrap();
        p.shutdown();
        let g = rec.lock().unwrap();
        assert_eq!(g.1.len(), 2);
        assert!(g.1.iter().all(|a| a.rule.id == "new"));
    }
}
