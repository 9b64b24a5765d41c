//! The on-disk format of an archive segment.
//!
//! ```text
//! segment  = file-header frame* footer?
//! file-hdr = "SHLDARCH" version:u32 reserved:u32                                  (16 bytes)
//! frame    = "SHFR" payload_len:u32 uncompressed_len:u32 events:u32
//!            min_received:i64 max_received:i64 payload_crc:u32 header_crc:u32    (40 bytes)
//!            payload: one zstd frame of `events` JSON lines (one full Event each)
//! footer   = "SHSEALED" events:u64 min_received:i64 max_received:i64
//!            uncompressed:u64 frames_end:u64 crc:u32                            (52 bytes)
//! ```
//!
//! Integers are little-endian; times are microseconds since the Unix epoch of `EventMeta::received`.
//! The header has its own CRC-32 so that a damaged header is told apart from a damaged payload: with a
//! good header the frame's extent is known and the damage is skipped exactly; with a bad one the
//! reader looks for the next frame magic whose header checks out. The footer, written when a segment
//! is sealed, repeats the segment's totals so that opening the archive reads 52 bytes per segment
//! instead of every frame header.

/// Magic and format version at the start of every segment.
pub(crate) const FILE_MAGIC: &[u8; 8] = b"SHLDARCH";
/// The format version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Length of the file header.
pub(crate) const FILE_HEADER_LEN: u64 = 16;

/// Magic at the start of every frame.
pub(crate) const FRAME_MAGIC: &[u8; 4] = b"SHFR";
/// Length of a frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 40;

/// Magic at the start of the footer.
pub(crate) const FOOTER_MAGIC: &[u8; 8] = b"SHSEALED";
/// Length of the footer.
pub(crate) const FOOTER_LEN: usize = 52;

/// Largest uncompressed frame a reader accepts (bounds the memory one frame can claim).
pub(crate) const MAX_FRAME_UNCOMPRESSED: u32 = 64 << 20;
/// Largest payload a reader accepts: zstd's worst case for the largest uncompressed frame.
pub(crate) const MAX_FRAME_PAYLOAD: u32 = MAX_FRAME_UNCOMPRESSED + (1 << 20);
/// Uncompressed size at which a writer closes a frame and starts the next one of the same batch.
pub(crate) const FRAME_TARGET: usize = 8 << 20;

/// The file header this build writes.
pub(crate) fn file_header() -> [u8; FILE_HEADER_LEN as usize] {
    let mut h = [0u8; FILE_HEADER_LEN as usize];
    h[..8].copy_from_slice(FILE_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Checks a file header.
pub(crate) fn check_file_header(h: &[u8]) -> Result<(), String> {
    if h.len() < FILE_HEADER_LEN as usize || &h[..8] != FILE_MAGIC {
        return Err("not an event archive segment".into());
    }
    let version = u32_at(h, 8);
    if version != FORMAT_VERSION {
        return Err(format!(
            "segment format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    Ok(())
}

/// Range of receive times, microseconds, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub min: i64,
    pub max: i64,
}

impl TimeRange {
    /// The smallest range holding both.
    pub fn union(self, other: TimeRange) -> TimeRange {
        TimeRange {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Whether any time in the range lies in `[since, until)`.
    pub fn overlaps(self, since: i64, until: i64) -> bool {
        self.max >= since && self.min < until
    }
}

/// A frame header, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub payload_len: u32,
    pub uncompressed_len: u32,
    pub events: u32,
    pub received: TimeRange,
    pub payload_crc: u32,
}

impl FrameHeader {
    /// The header for a payload.
    pub fn new(payload: &[u8], uncompressed_len: u32, events: u32, received: TimeRange) -> Self {
        FrameHeader {
            payload_len: payload.len() as u32,
            uncompressed_len,
            events,
            received,
            payload_crc: crc32fast::hash(payload),
        }
    }

    /// The 40 bytes on disk.
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[..4].copy_from_slice(FRAME_MAGIC);
        h[4..8].copy_from_slice(&self.payload_len.to_le_bytes());
        h[8..12].copy_from_slice(&self.uncompressed_len.to_le_bytes());
        h[12..16].copy_from_slice(&self.events.to_le_bytes());
        h[16..24].copy_from_slice(&self.received.min.to_le_bytes());
        h[24..32].copy_from_slice(&self.received.max.to_le_bytes());
        h[32..36].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&h[..36]);
        h[36..40].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes and checks 40 bytes (magic, header CRC, bounds).
    pub fn decode(h: &[u8; FRAME_HEADER_LEN]) -> Result<Self, String> {
        if &h[..4] != FRAME_MAGIC {
            return Err("no frame magic".into());
        }
        if crc32fast::hash(&h[..36]) != u32_at(h, 36) {
            return Err("frame header checksum mismatch".into());
        }
        let header = FrameHeader {
            payload_len: u32_at(h, 4),
            uncompressed_len: u32_at(h, 8),
            events: u32_at(h, 12),
            received: TimeRange {
                min: i64_at(h, 16),
                max: i64_at(h, 24),
            },
            payload_crc: u32_at(h, 32),
        };
        if header.payload_len > MAX_FRAME_PAYLOAD
            || header.uncompressed_len > MAX_FRAME_UNCOMPRESSED
        {
            return Err(format!(
                "frame sizes out of bounds ({} compressed, {} uncompressed)",
                header.payload_len, header.uncompressed_len
            ));
        }
        // Every record is at least "{}" and a newline.
        if header.events == 0 || u64::from(header.events) * 3 > u64::from(header.uncompressed_len) {
            return Err(format!("implausible event count {}", header.events));
        }
        if header.received.min > header.received.max {
            return Err("frame time range reversed".into());
        }
        Ok(header)
    }

    /// Whether `payload` is the one this header describes.
    pub fn payload_matches(&self, payload: &[u8]) -> bool {
        crc32fast::hash(payload) == self.payload_crc
    }
}

/// What a sealed segment holds, as its footer records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Totals {
    pub events: u64,
    /// `None` for a segment with no events.
    pub received: Option<TimeRange>,
    pub uncompressed: u64,
}

impl Totals {
    /// Adds one frame.
    pub fn add(&mut self, h: &FrameHeader) {
        self.events += u64::from(h.events);
        self.uncompressed += u64::from(h.uncompressed_len);
        self.received = Some(self.received.map_or(h.received, |r| r.union(h.received)));
    }
}

/// The footer sealing a segment whose frames end at `frames_end`.
pub(crate) fn encode_footer(totals: &Totals, frames_end: u64) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    let range = totals.received.unwrap_or(TimeRange { min: 0, max: -1 });
    f[..8].copy_from_slice(FOOTER_MAGIC);
    f[8..16].copy_from_slice(&totals.events.to_le_bytes());
    f[16..24].copy_from_slice(&range.min.to_le_bytes());
    f[24..32].copy_from_slice(&range.max.to_le_bytes());
    f[32..40].copy_from_slice(&totals.uncompressed.to_le_bytes());
    f[40..48].copy_from_slice(&frames_end.to_le_bytes());
    let crc = crc32fast::hash(&f[..48]);
    f[48..52].copy_from_slice(&crc.to_le_bytes());
    f
}

/// Decodes the last [`FOOTER_LEN`] bytes of a file of `file_len` bytes: the totals, or `None` when
/// they are not a valid footer (the segment was never sealed).
pub(crate) fn decode_footer(f: &[u8; FOOTER_LEN], file_len: u64) -> Option<Totals> {
    if &f[..8] != FOOTER_MAGIC || crc32fast::hash(&f[..48]) != u32_at(f, 48) {
        return None;
    }
    let frames_end = u64::from_le_bytes(f[40..48].try_into().ok()?);
    if frames_end != file_len.checked_sub(FOOTER_LEN as u64)? || frames_end < FILE_HEADER_LEN {
        return None;
    }
    let events = u64::from_le_bytes(f[8..16].try_into().ok()?);
    let range = TimeRange {
        min: i64_at(f, 16),
        max: i64_at(f, 24),
    };
    Some(Totals {
        events,
        received: (events > 0 && range.min <= range.max).then_some(range),
        uncompressed: u64::from_le_bytes(f[32..40].try_into().ok()?),
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FrameHeader {
        FrameHeader::new(b"payload", 300, 7, TimeRange { min: 5, max: 9 })
    }

    #[test]
    fn frame_header_round_trip_and_every_bit_flip_is_caught() {
        let h = header();
        let bytes = h.encode();
        assert_eq!(FrameHeader::decode(&bytes), Ok(h));
        for bit in 0..FRAME_HEADER_LEN * 8 {
            let mut bad = bytes;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                FrameHeader::decode(&bad).is_err(),
                "flip of bit {bit} went unnoticed"
            );
        }
        assert!(h.payload_matches(b"payload"));
        assert!(!h.payload_matches(b"paylaod"));
    }

    #[test]
    fn implausible_headers_are_refused_even_with_a_good_checksum() {
        let mut h = header();
        h.uncompressed_len = MAX_FRAME_UNCOMPRESSED + 1;
        assert!(FrameHeader::decode(&h.encode()).is_err());
        let mut h = header();
        h.events = 0;
        assert!(FrameHeader::decode(&h.encode()).is_err());
        let mut h = header();
        h.received = TimeRange { min: 9, max: 5 };
        assert!(FrameHeader::decode(&h.encode()).is_err());
    }

    #[test]
    fn footer_round_trip_and_checks() {
        let mut totals = Totals::default();
        totals.add(&header());
        totals.add(&FrameHeader::new(b"x", 30, 2, TimeRange { min: 1, max: 6 }));
        assert_eq!(totals.events, 9);
        assert_eq!(totals.received, Some(TimeRange { min: 1, max: 9 }));
        let f = encode_footer(&totals, 1000);
        assert_eq!(decode_footer(&f, 1000 + FOOTER_LEN as u64), Some(totals));
        assert_eq!(
            decode_footer(&f, 999 + FOOTER_LEN as u64),
            None,
            "footer of another length"
        );
        let mut bad = f;
        bad[20] ^= 4;
        assert_eq!(decode_footer(&bad, 1000 + FOOTER_LEN as u64), None);
        let empty = encode_footer(&Totals::default(), FILE_HEADER_LEN);
        assert_eq!(
            decode_footer(&empty, FILE_HEADER_LEN + FOOTER_LEN as u64),
            Some(Totals::default())
        );
    }

    #[test]
    fn file_header_checks_magic_and_version() {
        assert!(check_file_header(&file_header()).is_ok());
        let mut h = file_header();
        h[8] = 2;
        assert!(check_file_header(&h).unwrap_err().contains("version 2"));
        assert!(check_file_header(b"SHLD").is_err());
    }

    #[test]
    fn overlap_is_half_open() {
        let r = TimeRange { min: 10, max: 20 };
        assert!(
            r.overlaps(20, 30) && r.overlaps(0, 11) && !r.overlaps(0, 10) && !r.overlaps(21, 30)
        );
    }
}
