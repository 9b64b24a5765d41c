//! The event archive: every ingested event, append-only and compressed, for retro-hunts.
//!
//! Events are appended in batches to the active *segment* file in `<data>/archive/`; each batch
//! becomes one zstd frame (several for very large batches) of JSON lines, framed with its length,
//! event count, range of receive times and CRC-32s (see [`format`](self) for the layout). A segment is
//! sealed, with a footer repeating its totals, when it reaches [`ArchiveConfig::segment_max_bytes`] of
//! events or spans [`ArchiveConfig::segment_max_age`]; retention then deletes whole sealed segments.
//!
//! Writes are appends only, so a crash can damage only the end of the active segment: at open, a torn
//! last frame is found by its checksums and cut off. Damage anywhere else (a bad disk block) is not
//! repaired but reported: a scan yields an error naming the segment and byte offset, skips the frame,
//! and goes on.
//!
//! Time is an input: segment ages are measured on the events' receive times and retention takes
//! `now` as an argument, so both are tested without waiting.

mod format;
mod journal;
mod reader;
mod scan;
mod segment;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shield_event::Event;

use crate::StoreError;
use format::{FRAME_TARGET, MAX_FRAME_UNCOMPRESSED, TimeRange};
pub use journal::{
    AppendedFrame, EncodedBatch, FramePosition, JournalFrame, JournalFrames, encode_batch,
};
pub use reader::read_segment_bytes;
pub use scan::ArchiveScan;
pub use segment::TornTail;
use segment::{Active, LastSegment, Sealed};

/// Name of the archive directory inside the data directory.
pub const ARCHIVE_DIR: &str = "archive";

/// How the archive cuts and keeps segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveConfig {
    /// Sealed segments whose newest event is older than this are deleted; zero keeps everything.
    pub retention: Duration,
    /// A segment is sealed once it holds this many bytes of uncompressed events (at least one batch).
    pub segment_max_bytes: u64,
    /// A segment is sealed once its events' receive times span this long; zero means no age limit.
    pub segment_max_age: Duration,
    /// zstd compression level (clamped to what zstd supports).
    pub zstd_level: i32,
}

impl Default for ArchiveConfig {
    /// 30 days, 64 MiB, one hour, level 3.
    fn default() -> Self {
        ArchiveConfig {
            retention: Duration::from_secs(30 * 24 * 3600),
            segment_max_bytes: 64 << 20,
            segment_max_age: Duration::from_secs(3600),
            zstd_level: 3,
        }
    }
}

/// What [`EventArchive::apply_retention`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionReport {
    /// Segment files deleted.
    pub segments_deleted: usize,
    /// Events in them.
    pub events_deleted: u64,
    /// Bytes on disk freed.
    pub bytes_deleted: u64,
}

/// The archive's size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveStats {
    /// Segment files, the active one included.
    pub segments: usize,
    /// Events held.
    pub events: u64,
    /// Bytes on disk.
    pub compressed_bytes: u64,
    /// Bytes of the events as JSON lines.
    pub uncompressed_bytes: u64,
    /// Receive time of the oldest event held.
    pub oldest: Option<DateTime<Utc>>,
    /// Receive time of the newest event held.
    pub newest: Option<DateTime<Utc>>,
}

/// The append-only event archive of one node. One process at a time may write a directory.
pub struct EventArchive {
    dir: PathBuf,
    cfg: ArchiveConfig,
    sealed: Vec<Sealed>,
    active: Option<Active>,
    next_seq: u64,
    compressor: zstd::bulk::Compressor<'static>,
    torn_tail: Option<TornTail>,
}

/// One batch cut into frame-sized pieces of JSON lines.
struct Chunk {
    lines: Vec<u8>,
    events: u32,
    received: TimeRange,
}

impl EventArchive {
    /// Opens the archive in `data_dir/archive/` (creating it), recovering the active segment after a
    /// crash (see [`EventArchive::torn_tail`]).
    pub fn open(data_dir: &Path, cfg: ArchiveConfig) -> Result<Self, StoreError> {
        Self::open_dir(&data_dir.join(ARCHIVE_DIR), cfg)
    }

    /// Opens segments in `dir` itself (creating it): for a log kept elsewhere than the data
    /// directory's `archive/`, such as the node's ingest journal when the archive is off.
    pub fn open_dir(dir: &Path, cfg: ArchiveConfig) -> Result<Self, StoreError> {
        let dir = dir.to_owned();
        std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let range = zstd::compression_level_range();
        let level = cfg.zstd_level.clamp(*range.start(), *range.end());
        let compressor = zstd::bulk::Compressor::new(level).map_err(StoreError::io(&dir))?;

        let mut files = segment::list_segments(&dir)?;
        let next_seq = files.last().map_or(1, |(seq, _)| seq.saturating_add(1));
        let last = files.pop();
        let mut sealed = Vec::with_capacity(files.len() + 1);
        for (seq, path) in files {
            sealed.push(segment::open_sealed(path, seq)?);
        }
        let (active, torn_tail) = match last {
            None => (None, None),
            Some((seq, path)) => match segment::open_last(path, seq)? {
                LastSegment::Sealed(s) => {
                    sealed.push(s);
                    (None, None)
                }
                LastSegment::Active(a, tail) => (Some(a), tail),
            },
        };
        Ok(EventArchive {
            dir,
            cfg,
            sealed,
            active,
            next_seq,
            compressor,
            torn_tail,
        })
    }

    /// The torn tail cut off the active segment when the archive was opened, if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a batch: one compressed frame (several past 8 MiB of JSON). The batch is on disk (in
    /// the operating system's cache) when this returns; [`EventArchive::sync`] makes it durable.
    pub fn append(&mut self, events: &[Event]) -> Result<(), StoreError> {
        let batch = journal::encode_with(&mut self.compressor, events)?;
        self.append_encoded(&batch).map(drop)
    }

    /// Flushes the active segment to disk (fsync).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        match &self.active {
            Some(a) => a.file.sync_data().map_err(StoreError::io(&a.path)),
            None => Ok(()),
        }
    }

    /// Seals the active segment if it is older than the segment age limit at `now`, then deletes the
    /// sealed segments whose newest event was received before `now - retention`.
    pub fn apply_retention(&mut self, now: DateTime<Utc>) -> Result<RetentionReport, StoreError> {
        let now_us = now.timestamp_micros();
        if let Some(max_age) = age_micros(self.cfg.segment_max_age) {
            let old = self
                .active
                .as_ref()
                .and_then(|a| a.totals.received)
                .is_some_and(|r| now_us.saturating_sub(r.min) >= max_age);
            if old {
                self.seal_active()?;
            }
        }
        let Some(retention) = age_micros(self.cfg.retention) else {
            return Ok(RetentionReport::default());
        };
        let cutoff = now_us.saturating_sub(retention);
        self.delete_sealed_where(|s| match s.totals {
            Some(t) => t.received.is_none_or(|r| r.max < cutoff),
            // Not a readable segment: its age is unknown, so it is left to the operator.
            None => false,
        })
    }

    /// Deletes the sealed segments `expired` selects (a segment whose file cannot be removed is
    /// kept, and the first such error is returned after the others are deleted).
    pub(crate) fn delete_sealed_where(
        &mut self,
        expired: impl Fn(&Sealed) -> bool,
    ) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        let mut kept = Vec::with_capacity(self.sealed.len());
        let mut first_error = None;
        for s in std::mem::take(&mut self.sealed) {
            if !expired(&s) {
                kept.push(s);
                continue;
            }
            match std::fs::remove_file(&s.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    first_error.get_or_insert(StoreError::Io {
                        path: s.path.clone(),
                        source: e,
                    });
                    kept.push(s);
                }
                _ => {
                    report.segments_deleted += 1;
                    report.events_deleted += s.totals.map_or(0, |t| t.events);
                    report.bytes_deleted += s.file_len;
                }
            }
        }
        self.sealed = kept;
        if report.segments_deleted > 0 {
            segment::sync_dir(&self.dir)?;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The events received in `[since, until)` (either bound optional), oldest segment first.
    /// Segments and frames outside the range are skipped unread. The scan works on a snapshot: events
    /// appended after this call are not seen, and a segment deleted meanwhile is skipped.
    ///
    /// Taking the snapshot cannot fail today; the `Result` keeps the signature stable should it
    /// have to touch the disk (errors while reading are items of the scan).
    pub fn scan(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<ArchiveScan, StoreError> {
        let since = since.map_or(i64::MIN, |t| t.timestamp_micros());
        let until = until.map_or(i64::MAX, |t| t.timestamp_micros());
        let mut parts = Vec::new();
        for s in &self.sealed {
            let wanted = match s.totals {
                Some(t) => t.received.is_some_and(|r| r.overlaps(since, until)),
                // Unreadable: include it so that the scan reports it.
                None => true,
            };
            if wanted {
                parts.push((s.path.clone(), s.frames_end));
            }
        }
        if let Some(a) = &self.active {
            if a.totals.received.is_some_and(|r| r.overlaps(since, until)) {
                parts.push((a.path.clone(), a.len));
            }
        }
        Ok(ArchiveScan::new(parts, since, until))
    }

    /// Counts and sizes.
    pub fn stats(&self) -> ArchiveStats {
        let mut stats = ArchiveStats::default();
        let mut range: Option<TimeRange> = None;
        let all = self
            .sealed
            .iter()
            .map(|s| (s.totals, s.file_len))
            .chain(self.active.as_ref().map(|a| (Some(a.totals), a.len)));
        for (totals, len) in all {
            stats.segments += 1;
            stats.compressed_bytes += len;
            if let Some(t) = totals {
                stats.events += t.events;
                stats.uncompressed_bytes += t.uncompressed;
                if let Some(r) = t.received {
                    range = Some(range.map_or(r, |x| x.union(r)));
                }
            }
        }
        stats.oldest = range.and_then(|r| DateTime::from_timestamp_micros(r.min));
        stats.newest = range.and_then(|r| DateTime::from_timestamp_micros(r.max));
        stats
    }

    /// Seals the active segment now (shutdown, or an operator's request), so the next append starts
    /// a new one.
    pub fn seal_active(&mut self) -> Result<(), StoreError> {
        if let Some(a) = self.active.take() {
            self.sealed.push(a.seal()?);
        }
        Ok(())
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    /// Seals the active segment if a frame of `uncompressed` bytes received over `received` would
    /// take it past the size or age limit.
    fn roll_if_needed(&mut self, uncompressed: u64, received: TimeRange) -> Result<(), StoreError> {
        let Some(active) = &self.active else {
            return Ok(());
        };
        let Some(range) = active.totals.received else {
            return Ok(());
        };
        let too_big = active.totals.uncompressed + uncompressed > self.cfg.segment_max_bytes;
        let too_old = age_micros(self.cfg.segment_max_age)
            .is_some_and(|max| received.max.saturating_sub(range.min) >= max);
        if too_big || too_old {
            self.seal_active()?;
        }
        Ok(())
    }
}

/// A duration in microseconds; `None` for zero (no limit) or too large to matter.
fn age_micros(d: Duration) -> Option<i64> {
    let us = i64::try_from(d.as_micros()).ok()?;
    (us > 0).then_some(us)
}

/// Serialises a batch into JSON-line chunks of about [`FRAME_TARGET`] bytes.
fn chunk_events(events: &[Event]) -> Result<Vec<Chunk>, StoreError> {
    let mut chunks = Vec::new();
    let mut current: Option<Chunk> = None;
    for (i, event) in events.iter().enumerate() {
        let mut line = serde_json::to_vec(event).map_err(|e| StoreError::InvalidInput {
            field: "event",
            reason: format!("event {i} of the batch: {e}"),
        })?;
        line.push(b'\n');
        if line.len() > MAX_FRAME_UNCOMPRESSED as usize {
            return Err(StoreError::InvalidInput {
                field: "event",
                reason: format!("event {i} of the batch is {} bytes of JSON", line.len()),
            });
        }
        let t = event.meta.received.timestamp_micros();
        let fits = current
            .as_ref()
            .is_some_and(|c| c.lines.len() + line.len() <= FRAME_TARGET && c.events < u32::MAX);
        if !fits {
            chunks.extend(current.take());
        }
        let chunk = current.get_or_insert_with(|| Chunk {
            lines: Vec::new(),
            events: 0,
            received: TimeRange { min: t, max: t },
        });
        chunk.lines.extend_from_slice(&line);
        chunk.events += 1;
        chunk.received = chunk.received.union(TimeRange { min: t, max: t });
    }
    chunks.extend(current);
    Ok(chunks)
}

#[cfg(test)]
mod tests;
