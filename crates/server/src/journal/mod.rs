//! Accepted means durable: the ingest journal.
//!
//! ```text
//!  handler: parse ─► reserve room in the queue (429 when full) ─► encode (JSON lines + zstd)
//!                                                                   │ channel
//!  journal writer (one thread): take every waiting batch ─► append each as archive frames
//!      ─► one fsync for the group ─► in order: count (stats), register positions, queue for
//!      detection ─► answer each handler  ──► 200 / syslog reads on
//! ```
//!
//! * **The archive is the journal.** A batch is written once, as the archive frames it will stay
//!   (`<data>/archive/`), *before* detection rather than after it. Nothing is written twice and
//!   nothing has to be moved from a log into the archive, so events are in the archive exactly once
//!   by construction. With `archive.enabled = false` the same segment format is kept in
//!   `<data>/journal/` as a pure log: small segments, deleted once every frame in them has been
//!   detected and counted.
//! * **Group commit.** Handlers encode on their own threads (compression runs in parallel); the
//!   single writer only appends and syncs. While one fsync runs, the next batches queue up and share
//!   the next one, so the cost of durability is one fsync per group, not per request.
//! * **Bounded as before.** Room in the queue is taken before journaling, so a full queue still
//!   answers 429 + `Retry-After` without writing anything, and memory holds at most `queue_events`
//!   events plus request bodies in flight.
//! * **Replay is exactly once** ([`replay`]): the output records the *detected watermark* (every
//!   frame before it has its alerts written) in the store; at start, frames from there on go
//!   through detection again. Alerts of a frame get ids derived from its position ([`identity`]), so
//!   the frames near the watermark that were already written before the crash store nothing new.
//! * **Counts are exact** across crashes: the ingest totals are stored as one value together with
//!   the journal position they count through ([`crate::stats`]); replay counts the frames after it.
//!
//! Syslog over UDP has no acknowledgement: a datagram is journaled when its batch is, and is lost
//! if the node dies between receipt and that write (milliseconds) or is dropped when the queue is
//! full, as any UDP syslog receiver does.

mod identity;
mod replay;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use shield_event::Event;
use shield_store::archive::{AppendedFrame, EncodedBatch, EventArchive, FramePosition};
use shield_store::{StateStore, StoreError};

pub use identity::{frame_time, identify_alerts, sighting_id};
pub use replay::{ReplayReport, detected_watermark, replay};

use crate::error::ServerError;
use crate::pipeline::{Journaled, Pipeline, Reservation};
use crate::stats::IngestStats;

/// State-store key of the detected watermark (`segment:offset`).
pub const DETECTED_KEY: &str = "ingest.journal.detected";
/// Folder of the journal inside the data directory when the archive is off.
pub const JOURNAL_DIR: &str = "journal";
/// Segment size of the journal when the archive is off.
pub const JOURNAL_SEGMENT_BYTES: u64 = 16 << 20;
/// Batches of at most this many events are encoded on the async runtime; larger ones on a blocking
/// thread.
const INLINE_ENCODE_EVENTS: usize = 64;
/// Most batches written before one fsync.
const MAX_GROUP: usize = 1024;
/// How often the writer looks after its files (journal clean-up, archive retention) when idle.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(1);
/// How often archive retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// What the log is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// The event archive: kept for its retention period.
    Archive,
    /// A journal only (archive off): a segment goes once every frame in it is detected and counted.
    JournalOnly,
}

/// Positions recorded durably elsewhere, which the journal's clean-up must not pass.
#[derive(Debug, Default)]
pub struct Marks {
    detected: parking_lot::Mutex<Option<FramePosition>>,
}

impl Marks {
    /// Records that the detected watermark `p` is stored.
    pub fn set_detected(&self, p: FramePosition) {
        *self.detected.lock() = Some(p);
    }

    /// The stored detected watermark, if any.
    pub fn detected(&self) -> Option<FramePosition> {
        *self.detected.lock()
    }
}

/// Reads a position stored under `key`; an unreadable value is a corrupt record.
pub fn stored_position(
    store: &(impl StateStore + ?Sized),
    key: &str,
) -> Result<Option<FramePosition>, StoreError> {
    match store.get_state(key)? {
        None => Ok(None),
        Some(text) => text
            .parse::<FramePosition>()
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: format!("state {key}"),
                reason: e.to_string(),
            }),
    }
}

/// One batch on its way to the writer.
struct Append {
    input: String,
    events: Vec<Event>,
    encoded: EncodedBatch,
    rejected: u64,
    bytes: u64,
    room: Reservation,
    reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The writer thread's handle.
pub struct IngestJournal {
    sender: parking_lot::RwLock<Option<Sender<Append>>>,
    thread: parking_lot::Mutex<Option<JoinHandle<()>>>,
    zstd_level: i32,
}

/// What the writer needs besides the log.
pub struct WriterContext {
    /// Where journaled batches go.
    pub pipeline: Arc<Pipeline>,
    /// Ingest counters (counted in journal order).
    pub stats: Arc<IngestStats>,
    /// The stored detected watermark.
    pub marks: Arc<Marks>,
    /// What the log is kept for.
    pub mode: LogMode,
}

impl IngestJournal {
    /// Starts the writer thread over `log`.
    pub fn start(
        log: EventArchive,
        zstd_level: i32,
        ctx: WriterContext,
    ) -> Result<Self, ServerError> {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("shield-journal".to_owned())
            .spawn(move || write_loop(log, &receiver, &ctx))
            .map_err(|e| ServerError::io("cannot start the journal writer", e))?;
        Ok(IngestJournal {
            sender: parking_lot::RwLock::new(Some(sender)),
            thread: parking_lot::Mutex::new(Some(thread)),
            zstd_level,
        })
    }

    /// Journals `events` (room for them already taken) and returns once they are on disk, synced,
    /// counted and queued for detection. `rejected` and `bytes` are counted with them.
    pub async fn append(
        &self,
        input: &str,
        events: Vec<Event>,
        rejected: u64,
        bytes: u64,
        room: Reservation,
    ) -> Result<(), String> {
        let level = self.zstd_level;
        let (events, encoded) = if events.len() <= INLINE_ENCODE_EVENTS {
            let encoded = shield_store::archive::encode_batch(&events, level);
            (events, encoded)
        } else {
            tokio::task::spawn_blocking(move || {
                let encoded = shield_store::archive::encode_batch(&events, level);
                (events, encoded)
            })
            .await
            .map_err(|e| format!("encoding failed: {e}"))?
        };
        let encoded = encoded.map_err(|e| format!("cannot encode the batch: {e}"))?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let append = Append {
            input: input.to_owned(),
            events,
            encoded,
            rejected,
            bytes,
            room,
            reply,
        };
        {
            let sender = self.sender.read();
            let Some(sender) = sender.as_ref() else {
                return Err("the node is stopping".to_owned());
            };
            sender
                .send(append)
                .map_err(|_| "the journal writer stopped".to_owned())?;
        }
        answer
            .await
            .map_err(|_| "the journal writer stopped".to_owned())?
    }

    /// Writes what is queued, syncs and stops the writer. Later appends are refused.
    pub fn shutdown(&self) {
        drop(self.sender.write().take());
        if let Some(handle) = self.thread.lock().take() {
            if handle.join().is_err() {
                tracing::error!("the journal writer panicked");
            }
        }
    }
}

fn write_loop(mut log: EventArchive, receiver: &Receiver<Append>, ctx: &WriterContext) {
    let mut last_maintenance = Instant::now();
    let mut last_retention: Option<Instant> = None;
    loop {
        let first = match receiver.recv_timeout(MAINTENANCE_EVERY) {
            Ok(a) => a,
            Err(RecvTimeoutError::Timeout) => {
                maintain(&mut log, ctx, &mut last_retention);
                last_maintenance = Instant::now();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(a) => group.push(a),
                Err(_) => break,
            }
        }
        write_group(&mut log, group, ctx);
        if last_maintenance.elapsed() >= MAINTENANCE_EVERY {
            maintain(&mut log, ctx, &mut last_retention);
            last_maintenance = Instant::now();
        }
    }
    if let Err(e) = log.sync() {
        tracing::error!("journal sync at shutdown failed: {e}");
    }
}

/// Appends a group, syncs once, then hands each batch on and answers it.
fn write_group(log: &mut EventArchive, group: Vec<Append>, ctx: &WriterContext) {
    let placed: Vec<Result<Vec<AppendedFrame>, StoreError>> = group
        .iter()
        .map(|a| log.append_encoded(&a.encoded))
        .collect();
    let synced = log.sync();
    for (append, placed) in group.into_iter().zip(placed) {
        let frames = match (placed, &synced) {
            (Ok(frames), Ok(())) => frames,
            (Err(e), _) => {
                tracing::error!("journal write failed: {e}");
                let _ = append.reply.send(Err(format!("journal write failed: {e}")));
                continue;
            }
            (Ok(_), Err(e)) => {
                tracing::error!("journal sync failed: {e}");
                let _ = append.reply.send(Err(format!("journal sync failed: {e}")));
                continue;
            }
        };
        hand_on(append, &frames, ctx);
    }
}

/// Counts a durable batch, registers its frames and queues them for detection, then answers.
fn hand_on(append: Append, frames: &[AppendedFrame], ctx: &WriterContext) {
    let Append {
        input,
        events,
        rejected,
        bytes,
        mut room,
        reply,
        ..
    } = append;
    let through = frames.last().map(|f| f.end);
    ctx.stats
        .record_journaled(&input, events.len() as u64, rejected, bytes, through);
    let mut rest = events;
    for frame in frames {
        let tail = rest.split_off(frame.events.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        let part_room = room.split(part.len());
        ctx.pipeline.progress().register(frame.start, frame.end);
        let journaled = Journaled {
            start: frame.start,
            end: frame.end,
        };
        if let Err(back) = ctx
            .pipeline
            .submit_reserved(part_room, part, Some(journaled))
        {
            // Only while stopping: the frame is on disk and the next start detects it.
            tracing::warn!(
                "node stopping: {} journaled events left for replay at the next start",
                back.len()
            );
        }
    }
    let _ = reply.send(Ok(()));
}

/// Journal clean-up (journal-only mode) and archive retention (archive mode).
fn maintain(log: &mut EventArchive, ctx: &WriterContext, last_retention: &mut Option<Instant>) {
    match ctx.mode {
        LogMode::JournalOnly => {
            let (Some(detected), Some(counted)) =
                (ctx.marks.detected(), ctx.stats.stored_through())
            else {
                return;
            };
            match log.delete_sealed_before(detected.min(counted)) {
                Ok(r) if r.segments_deleted > 0 => {
                    tracing::debug!("journal: {} processed segments deleted", r.segments_deleted)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("journal clean-up failed: {e}"),
            }
        }
        LogMode::Archive => {
            if last_retention.is_some_and(|t| t.elapsed() < RETENTION_EVERY) {
                return;
            }
            *last_retention = Some(Instant::now());
            match log.apply_retention(Utc::now()) {
                Ok(report) => tracing::debug!("archive retention: {report:?}"),
                Err(e) => tracing::warn!("archive retention failed: {e}"),
            }
        }
    }
}
