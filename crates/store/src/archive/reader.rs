//! Reading segments: walking frames, resynchronising after damage, decoding events.
//!
//! Everything here is generic over `Read + Seek`, so the same code reads segment files and, in tests
//! and fuzzing, byte slices.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use shield_event::Event;

use super::format::{
    FILE_HEADER_LEN, FOOTER_LEN, FRAME_HEADER_LEN, FRAME_MAGIC, FrameHeader, Totals,
    check_file_header, decode_footer,
};
use crate::StoreError;

/// Bytes read at a time while looking for the next frame after damage.
const RESYNC_CHUNK: usize = 64 << 10;

/// One step of a walk over a segment's frames.
#[derive(Debug)]
pub(crate) enum Step {
    /// A frame with a valid header at `offset`; its payload follows the header.
    Frame { offset: u64, header: FrameHeader },
    /// Damage at `offset`; the walk continues at `resume` (the next valid header), if any.
    Damaged {
        offset: u64,
        reason: String,
        resume: Option<u64>,
    },
    /// No more frames.
    End,
}

/// Walks the frames of one segment between `pos` and `end`.
pub(crate) struct FrameWalker<R> {
    r: R,
    pos: u64,
    end: u64,
    /// Where the reader is, when known: reads that continue there need no seek (which would empty a
    /// `BufReader`'s buffer).
    at: Option<u64>,
}

impl<R: Read + Seek> FrameWalker<R> {
    /// A walk over `[start, end)`.
    pub fn new(r: R, start: u64, end: u64) -> Self {
        FrameWalker {
            r,
            pos: start,
            end,
            at: None,
        }
    }

    /// The next frame header. After a [`Step::Frame`], call [`Self::read_payload`] or
    /// [`Self::skip_payload`]; after [`Step::Damaged`], the walk has moved to `resume` (or the end).
    pub fn next_header(&mut self) -> io::Result<Step> {
        let offset = self.pos;
        if offset >= self.end {
            return Ok(Step::End);
        }
        if self.end - offset < FRAME_HEADER_LEN as u64 {
            return self.damaged(offset, "segment ends inside a frame header".into());
        }
        let mut bytes = [0u8; FRAME_HEADER_LEN];
        self.read_at(offset, &mut bytes)?;
        let header = match FrameHeader::decode(&bytes) {
            Ok(h) => h,
            Err(reason) => return self.damaged(offset, reason),
        };
        let payload_end = offset + FRAME_HEADER_LEN as u64 + u64::from(header.payload_len);
        if payload_end > self.end {
            return self.damaged(offset, "segment ends inside a frame payload".into());
        }
        self.pos = offset + FRAME_HEADER_LEN as u64;
        Ok(Step::Frame { offset, header })
    }

    /// Reads the payload of the frame just returned into `buf`; `Ok(false)` when its checksum fails
    /// (the walk is then past the frame).
    pub fn read_payload(&mut self, header: &FrameHeader, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        buf.resize(header.payload_len as usize, 0);
        let at = self.pos;
        self.read_at(at, buf)?;
        self.pos = at + u64::from(header.payload_len);
        Ok(header.payload_matches(buf))
    }

    /// Skips the payload of the frame just returned.
    pub fn skip_payload(&mut self, header: &FrameHeader) {
        self.pos += u64::from(header.payload_len);
    }

    /// Where the walk is.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn damaged(&mut self, offset: u64, reason: String) -> io::Result<Step> {
        let resume = self.find_header(offset + 1)?;
        self.pos = resume.unwrap_or(self.end);
        Ok(Step::Damaged {
            offset,
            reason,
            resume,
        })
    }

    /// The offset of the first valid frame header at or after `from`.
    pub fn find_header(&mut self, from: u64) -> io::Result<Option<u64>> {
        let mut chunk = vec![0u8; RESYNC_CHUNK];
        let mut pos = from;
        while pos + FRAME_HEADER_LEN as u64 <= self.end {
            let n = usize::try_from(self.end - pos)
                .unwrap_or(usize::MAX)
                .min(RESYNC_CHUNK);
            self.read_at(pos, &mut chunk[..n])?;
            let mut i = 0;
            while i + FRAME_MAGIC.len() <= n {
                if &chunk[i..i + FRAME_MAGIC.len()] == FRAME_MAGIC {
                    let candidate = pos + i as u64;
                    if candidate + FRAME_HEADER_LEN as u64 > self.end {
                        return Ok(None);
                    }
                    let mut h = [0u8; FRAME_HEADER_LEN];
                    if i + FRAME_HEADER_LEN <= n {
                        h.copy_from_slice(&chunk[i..i + FRAME_HEADER_LEN]);
                    } else {
                        self.read_at(candidate, &mut h)?;
                    }
                    if FrameHeader::decode(&h).is_ok() {
                        return Ok(Some(candidate));
                    }
                }
                i += 1;
            }
            if n < RESYNC_CHUNK {
                break;
            }
            // Overlap so that a magic split across two chunks is still seen.
            pos += (n - (FRAME_MAGIC.len() - 1)) as u64;
        }
        Ok(None)
    }

    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        if self.at != Some(at) {
            self.r.seek(SeekFrom::Start(at))?;
        }
        self.at = None;
        self.r.read_exact(buf)?;
        self.at = Some(at + buf.len() as u64);
        Ok(())
    }
}

/// Where a segment's frames end: before its footer when it has a valid one (returned too).
pub(crate) fn frames_end<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
) -> io::Result<(u64, Option<Totals>)> {
    if file_len >= FILE_HEADER_LEN + FOOTER_LEN as u64 {
        let mut f = [0u8; FOOTER_LEN];
        r.seek(SeekFrom::Start(file_len - FOOTER_LEN as u64))?;
        r.read_exact(&mut f)?;
        if let Some(totals) = decode_footer(&f, file_len) {
            return Ok((file_len - FOOTER_LEN as u64, Some(totals)));
        }
    }
    Ok((file_len, None))
}

/// Totals of a segment without footer, from its frame headers (payloads are not read).
pub(crate) fn totals_from_headers<R: Read + Seek>(r: R, end: u64) -> io::Result<Totals> {
    let mut walker = FrameWalker::new(r, FILE_HEADER_LEN, end);
    let mut totals = Totals::default();
    loop {
        match walker.next_header()? {
            Step::Frame { header, .. } => {
                totals.add(&header);
                walker.skip_payload(&header);
            }
            Step::Damaged { .. } => {}
            Step::End => return Ok(totals),
        }
    }
}

/// The JSON lines of a frame whose payload passed its checksum: decompressed, at most the size the
/// header declares, and exactly that size.
pub(crate) fn decompress_frame(header: &FrameHeader, payload: &[u8]) -> Result<Vec<u8>, String> {
    let lines = zstd::bulk::decompress(payload, header.uncompressed_len as usize)
        .map_err(|e| format!("decompression failed: {e}"))?;
    if lines.len() != header.uncompressed_len as usize {
        return Err(format!(
            "frame decompressed to {} bytes, header says {}",
            lines.len(),
            header.uncompressed_len
        ));
    }
    Ok(lines)
}

/// The events of one segment whose receive time lies in `[since, until)` (microseconds), in file
/// order, with one error per damaged frame or record.
pub(crate) struct SegmentEvents<R> {
    path: PathBuf,
    walker: Option<FrameWalker<R>>,
    since: i64,
    until: i64,
    /// Error to yield before anything else (bad file header).
    pending_error: Option<StoreError>,
    payload: Vec<u8>,
    /// The decompressed frame being read, and where in it.
    lines: Vec<u8>,
    line_pos: usize,
    record: usize,
    frame_offset: u64,
}

impl<R: Read + Seek> SegmentEvents<R> {
    /// Reads `[0, end)` of `r`: the file header, then the frames.
    pub fn new(mut r: R, path: PathBuf, end: u64, since: i64, until: i64) -> Self {
        let mut header = [0u8; FILE_HEADER_LEN as usize];
        let checked = if end < FILE_HEADER_LEN {
            Err("segment shorter than its header".to_owned())
        } else {
            r.seek(SeekFrom::Start(0))
                .and_then(|_| r.read_exact(&mut header))
                .map_err(|e| e.to_string())
                .and_then(|()| check_file_header(&header))
        };
        let (walker, pending_error) = match checked {
            Ok(()) => (Some(FrameWalker::new(r, FILE_HEADER_LEN, end)), None),
            Err(reason) => (
                None,
                Some(StoreError::CorruptFrame {
                    segment: path.clone(),
                    offset: 0,
                    reason,
                }),
            ),
        };
        SegmentEvents {
            path,
            walker,
            since,
            until,
            pending_error,
            payload: Vec::new(),
            lines: Vec::new(),
            line_pos: 0,
            record: 0,
            frame_offset: 0,
        }
    }

    fn corrupt(&self, offset: u64, reason: String) -> StoreError {
        StoreError::CorruptFrame {
            segment: self.path.clone(),
            offset,
            reason,
        }
    }

    /// The next event of the frame being read, if any is left.
    fn next_in_frame(&mut self) -> Option<Result<Event, StoreError>> {
        while self.line_pos < self.lines.len() {
            let rest = &self.lines[self.line_pos..];
            let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = &rest[..len];
            self.line_pos += len + 1;
            let record = self.record;
            self.record += 1;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Event>(line) {
                Ok(event) => {
                    let t = event.meta.received.timestamp_micros();
                    if t >= self.since && t < self.until {
                        return Some(Ok(event));
                    }
                }
                Err(e) => {
                    return Some(Err(
                        self.corrupt(self.frame_offset, format!("record {record}: {e}"))
                    ));
                }
            }
        }
        None
    }

    /// Loads the next frame in the time window; `None` at the end of the segment.
    fn next_frame(&mut self) -> Option<Result<(), StoreError>> {
        loop {
            let walker = self.walker.as_mut()?;
            let step = match walker.next_header() {
                Ok(step) => step,
                Err(e) => {
                    let at = walker.position();
                    self.walker = None;
                    return Some(Err(self.corrupt(at, format!("read failed: {e}"))));
                }
            };
            match step {
                Step::End => {
                    self.walker = None;
                    return None;
                }
                Step::Damaged { offset, reason, .. } => {
                    return Some(Err(self.corrupt(offset, reason)));
                }
                Step::Frame { offset, header } => {
                    if !header.received.overlaps(self.since, self.until) {
                        walker.skip_payload(&header);
                        continue;
                    }
                    let good = match walker.read_payload(&header, &mut self.payload) {
                        Ok(good) => good,
                        Err(e) => {
                            self.walker = None;
                            return Some(Err(self.corrupt(offset, format!("read failed: {e}"))));
                        }
                    };
                    if !good {
                        return Some(Err(
                            self.corrupt(offset, "frame payload checksum mismatch".into())
                        ));
                    }
                    let lines = match decompress_frame(&header, &self.payload) {
                        Ok(lines) => lines,
                        Err(reason) => return Some(Err(self.corrupt(offset, reason))),
                    };
                    self.lines = lines;
                    self.line_pos = 0;
                    self.record = 0;
                    self.frame_offset = offset;
                    return Some(Ok(()));
                }
            }
        }
    }
}

impl<R: Read + Seek> Iterator for SegmentEvents<R> {
    type Item = Result<Event, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        loop {
            if let Some(item) = self.next_in_frame() {
                return Some(item);
            }
            match self.next_frame()? {
                Ok(()) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Reads a whole segment held in memory: every event and every error. The body of the fuzz target
/// for segment reading; never panics, whatever the bytes.
pub fn read_segment_bytes(bytes: &[u8]) -> (Vec<Event>, Vec<StoreError>) {
    let mut cursor = io::Cursor::new(bytes);
    let len = bytes.len() as u64;
    let end = frames_end(&mut cursor, len).map_or(len, |(end, _)| end);
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for item in SegmentEvents::new(cursor, PathBuf::from("<memory>"), end, i64::MIN, i64::MAX) {
        match item {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    (events, errors)
}
