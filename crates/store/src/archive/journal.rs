//! The archive as a write-ahead journal: frame positions, batches encoded away from the writer,
//! appends that say where each frame went, and a scan of whole frames from a position (replay).
//!
//! A node writes every accepted batch here *before* it answers the sender and before detection runs
//! (see the server's `journal` module). What makes the archive fit for that:
//!
//! * **A frame has a position.** [`FramePosition`] is (segment sequence number, byte offset of the
//!   frame). Segments are numbered in write order and frames appended in order, so positions are
//!   totally ordered in write order; "everything before position P" is a watermark.
//! * **A frame is all or nothing.** Header and payload carry CRC-32s; a frame torn by a crash fails
//!   them and is cut off at open ([`super::TornTail`]). A frame that was synced before its writer
//!   was told "durable" is never torn.
//! * **Encoding is separate from appending.** [`encode_batch`] (JSON lines + zstd) runs on the
//!   caller's thread, so concurrent requests compress in parallel and the single writer only
//!   writes and syncs ([`EventArchive::append_encoded`]).
//! * **Replay reads whole frames.** [`EventArchive::frames_from`] yields each frame at or after a
//!   position with its events, so a frame is processed as the same unit it was written as.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::path::PathBuf;
use std::str::FromStr;

use shield_event::Event;

use super::format::{FILE_HEADER_LEN, FrameHeader, TimeRange, check_file_header};
use super::reader::{FrameWalker, Step, decompress_frame};
use super::{EventArchive, RetentionReport, chunk_events, segment};
use crate::StoreError;

/// Where a frame starts: segment sequence number, then byte offset in that segment. Ordered as
/// frames were written. Printed and parsed as `segment:offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FramePosition {
    /// Sequence number of the segment file.
    pub segment: u64,
    /// Byte offset of the frame in the segment.
    pub offset: u64,
}

impl fmt::Display for FramePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.segment, self.offset)
    }
}

impl FromStr for FramePosition {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::InvalidInput {
            field: "frame position",
            reason: format!("expected <segment>:<offset>, got {s:?}"),
        };
        let (segment, offset) = s.split_once(':').ok_or_else(bad)?;
        Ok(FramePosition {
            segment: segment.parse().map_err(|_| bad())?,
            offset: offset.parse().map_err(|_| bad())?,
        })
    }
}

/// One encoded frame, ready to append.
struct EncodedFrame {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// A batch of events encoded as archive frames (usually one; one more per 8 MiB of JSON), in the
/// batch's order.
pub struct EncodedBatch {
    frames: Vec<EncodedFrame>,
}

impl EncodedBatch {
    /// The number of events in each frame, in order: the batch's events split at these counts are
    /// the frames' events.
    pub fn frame_events(&self) -> impl Iterator<Item = usize> + '_ {
        self.frames.iter().map(|f| f.header.events as usize)
    }

    /// Bytes the frames take on disk.
    pub fn encoded_bytes(&self) -> u64 {
        self.frames
            .iter()
            .map(|f| (super::format::FRAME_HEADER_LEN + f.payload.len()) as u64)
            .sum()
    }
}

/// Where one appended frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendedFrame {
    /// The frame's position.
    pub start: FramePosition,
    /// The position just after it (where the next frame of the same segment goes).
    pub end: FramePosition,
    /// Events in the frame.
    pub events: usize,
}

thread_local! {
    /// One zstd context per thread and level: creating one per batch would cost more than
    /// compressing a small batch.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// Encodes `events` as frames at zstd level `zstd_level` (clamped), on the calling thread.
pub fn encode_batch(events: &[Event], zstd_level: i32) -> Result<EncodedBatch, StoreError> {
    let range = zstd::compression_level_range();
    let level = zstd_level.clamp(*range.start(), *range.end());
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if !matches!(&*slot, Some((l, _)) if *l == level) {
            let c = zstd::bulk::Compressor::new(level).map_err(|e| StoreError::Io {
                path: PathBuf::from("<zstd>"),
                source: e,
            })?;
            *slot = Some((level, c));
        }
        match slot.as_mut() {
            Some((_, compressor)) => encode_with(compressor, events),
            None => Err(StoreError::InvalidInput {
                field: "zstd level",
                reason: format!("no compressor for level {level}"),
            }),
        }
    })
}

/// Encodes `events` with `compressor`.
pub(super) fn encode_with(
    compressor: &mut zstd::bulk::Compressor<'static>,
    events: &[Event],
) -> Result<EncodedBatch, StoreError> {
    let mut frames = Vec::new();
    for chunk in chunk_events(events)? {
        let payload = compressor
            .compress(&chunk.lines)
            .map_err(|e| StoreError::Io {
                path: PathBuf::from("<zstd>"),
                source: e,
            })?;
        let header = FrameHeader::new(
            &payload,
            chunk.lines.len() as u32,
            chunk.events,
            chunk.received,
        );
        frames.push(EncodedFrame { header, payload });
    }
    Ok(EncodedBatch { frames })
}

impl EventArchive {
    /// Appends encoded frames in order and says where each went. Like [`EventArchive::append`], the
    /// frames are durable only after [`EventArchive::sync`].
    pub fn append_encoded(
        &mut self,
        batch: &EncodedBatch,
    ) -> Result<Vec<AppendedFrame>, StoreError> {
        let mut placed = Vec::with_capacity(batch.frames.len());
        for frame in &batch.frames {
            let received: TimeRange = frame.header.received;
            self.roll_if_needed(u64::from(frame.header.uncompressed_len), received)?;
            let active = match self.active.as_mut() {
                Some(a) => a,
                None => {
                    let seq = self.take_seq();
                    self.active
                        .insert(segment::create(&self.dir, received.min, seq)?)
                }
            };
            let start = FramePosition {
                segment: active.seq,
                offset: active.len,
            };
            if let Err(e) = active.append_frame(&frame.header, &frame.payload) {
                if let Some(a) = self.active.take() {
                    self.sealed.push(a.abandon());
                }
                return Err(e);
            }
            placed.push(AppendedFrame {
                start,
                end: FramePosition {
                    segment: active.seq,
                    offset: active.len,
                },
                events: frame.header.events as usize,
            });
        }
        Ok(placed)
    }

    /// The position the next appended frame will have (or a later one, if a segment is rolled
    /// first): every frame written so far is before it.
    pub fn end_position(&self) -> FramePosition {
        match &self.active {
            Some(a) => FramePosition {
                segment: a.seq,
                offset: a.len,
            },
            None => FramePosition {
                segment: self.next_seq,
                offset: FILE_HEADER_LEN,
            },
        }
    }

    /// Makes every later append land after `position`. Needed when the files end before a position
    /// recorded elsewhere (segments deleted by hand or by retention while the node was down): new
    /// frames must not reuse positions already counted as processed. Returns whether it moved on.
    pub fn continue_after(&mut self, position: FramePosition) -> Result<bool, StoreError> {
        if self.end_position() >= position {
            return Ok(false);
        }
        self.seal_active()?;
        self.next_seq = self.next_seq.max(position.segment.saturating_add(1));
        Ok(true)
    }

    /// Every frame at or after `from`, oldest first, each with its events. Works on a snapshot like
    /// [`EventArchive::scan`].
    pub fn frames_from(&self, from: FramePosition) -> JournalFrames {
        let mut parts = VecDeque::new();
        for s in &self.sealed {
            if s.seq >= from.segment {
                parts.push_back((s.seq, s.path.clone(), s.frames_end));
            }
        }
        if let Some(a) = &self.active {
            if a.seq >= from.segment {
                parts.push_back((a.seq, a.path.clone(), a.len));
            }
        }
        JournalFrames {
            from,
            parts,
            current: None,
            payload: Vec::new(),
        }
    }

    /// Deletes the sealed segments all of whose frames are before `position` (a journal's
    /// "processed" watermark); the active segment is never deleted.
    pub fn delete_sealed_before(
        &mut self,
        position: FramePosition,
    ) -> Result<RetentionReport, StoreError> {
        self.delete_sealed_where(|s| s.seq < position.segment)
    }
}

/// One frame read back whole.
#[derive(Debug)]
pub struct JournalFrame {
    /// Where it starts.
    pub start: FramePosition,
    /// Where it ends.
    pub end: FramePosition,
    /// Its events, in write order (records that do not decode are left out and counted).
    pub events: Vec<Event>,
    /// Records of the frame that did not decode as events (the frame passed its checksum, so this
    /// means a writer bug or a format change, not a torn write).
    pub bad_records: usize,
}

/// Iterator over whole frames from a position, from [`EventArchive::frames_from`]. Yields `Err` for
/// each damaged frame (segment file and byte offset) and goes on after it.
pub struct JournalFrames {
    from: FramePosition,
    parts: VecDeque<(u64, PathBuf, u64)>,
    current: Option<(u64, PathBuf, FrameWalker<File>)>,
    payload: Vec<u8>,
}

impl JournalFrames {
    fn open_next(&mut self) -> Option<Result<(), StoreError>> {
        let (seq, path, end) = self.parts.pop_front()?;
        let mut file = match File::open(&path) {
            Ok(f) => f,
            // Deleted since the snapshot: nothing left to read there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Ok(())),
            Err(e) => return Some(Err(StoreError::Io { path, source: e })),
        };
        let mut header = [0u8; FILE_HEADER_LEN as usize];
        let checked = if end < FILE_HEADER_LEN {
            Err("segment shorter than its header".to_owned())
        } else {
            std::io::Read::read_exact(&mut file, &mut header)
                .map_err(|e| e.to_string())
                .and_then(|()| check_file_header(&header))
        };
        if let Err(reason) = checked {
            return Some(Err(StoreError::CorruptFrame {
                segment: path,
                offset: 0,
                reason,
            }));
        }
        self.current = Some((seq, path, FrameWalker::new(file, FILE_HEADER_LEN, end)));
        Some(Ok(()))
    }
}

impl Iterator for JournalFrames {
    type Item = Result<JournalFrame, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some((seq, path, walker)) = self.current.as_mut() else {
                match self.open_next()? {
                    Ok(()) => continue,
                    Err(e) => return Some(Err(e)),
                }
            };
            let corrupt = |offset: u64, reason: String| StoreError::CorruptFrame {
                segment: path.clone(),
                offset,
                reason,
            };
            let step = match walker.next_header() {
                Ok(step) => step,
                Err(e) => {
                    let err = corrupt(walker.position(), format!("read failed: {e}"));
                    self.current = None;
                    return Some(Err(err));
                }
            };
            let (offset, header) = match step {
                Step::End => {
                    self.current = None;
                    continue;
                }
                Step::Damaged { offset, reason, .. } => return Some(Err(corrupt(offset, reason))),
                Step::Frame { offset, header } => (offset, header),
            };
            let start = FramePosition {
                segment: *seq,
                offset,
            };
            if start < self.from {
                walker.skip_payload(&header);
                continue;
            }
            match walker.read_payload(&header, &mut self.payload) {
                Ok(true) => {}
                Ok(false) => {
                    return Some(Err(corrupt(
                        offset,
                        "frame payload checksum mismatch".into(),
                    )));
                }
                Err(e) => {
                    let err = corrupt(offset, format!("read failed: {e}"));
                    self.current = None;
                    return Some(Err(err));
                }
            }
            let end = FramePosition {
                segment: *seq,
                offset: walker.position(),
            };
            let lines = match decompress_frame(&header, &self.payload) {
                Ok(lines) => lines,
                Err(reason) => return Some(Err(corrupt(offset, reason))),
            };
            let mut events = Vec::with_capacity(header.events as usize);
            let mut bad_records = 0;
            for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                match serde_json::from_slice::<Event>(line) {
                    Ok(e) => events.push(e),
                    Err(_) => bad_records += 1,
                }
            }
            return Some(Ok(JournalFrame {
                start,
                end,
                events,
                bad_records,
            }));
        }
    }
}

#[cfg(test)]
mod tests;
