//! Splitting a syslog TCP stream into messages (RFC 6587).
//!
//! Senders use one of two framings, and a stream may (in theory) mix them, so the framer decides at
//! the start of every frame:
//!
//! * **octet counting**: `LEN SP MSG`, where `LEN` is a decimal without leading zero and `MSG` starts
//!   with `<` (a PRI). Requiring the `<` keeps a plain-text line that starts with a number from being
//!   taken for a length.
//! * **non-transparent framing**: the message ends at LF or NUL (a CR before the LF is dropped).
//!
//! Blank frames (LF, CR or NUL between messages) are skipped. Memory is bounded by the maximum frame
//! size (plus the bytes of one [`SyslogFramer::push`]): a newline-framed message longer than it is
//! an error and the framer skips to the next LF/NUL without buffering; an octet-counted frame whose
//! length is larger is an error reported at once and its `LEN` bytes are skipped as they arrive.
//! A length of more than 9 digits is not believable: it is an error and the framer skips to the next
//! LF/NUL instead. Callers push what they read and then call [`SyslogFramer::next_frame`] until it
//! answers `None`, and call [`SyslogFramer::finish`] at the end of the stream.

/// Default maximum frame size: 64 KiB, rsyslog's largest configurable default message size.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// The longest `LEN` field believed.
const MAX_LEN_DIGITS: usize = 9;

/// A frame that could not be delivered. Offsets count bytes from the start of the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame is longer than the maximum; it is skipped.
    #[error("syslog frame at stream offset {offset} is larger than {max} bytes ({len}{}); skipped", if *.declared { " declared" } else { " or more" })]
    TooLarge {
        /// Stream offset where the frame starts.
        offset: u64,
        /// Its declared length (octet counting) or the bytes seen before giving up on it.
        len: u64,
        /// Whether `len` is an octet count the sender declared.
        declared: bool,
        /// The maximum frame size.
        max: usize,
    },
    /// An octet count of more than 9 digits; the framer skipped to the next LF.
    #[error(
        "syslog frame at stream offset {offset} has an unbelievable octet count; skipped to the next line"
    )]
    BadLength {
        /// Stream offset where the frame starts.
        offset: u64,
    },
    /// The stream ended inside an octet-counted frame.
    #[error("syslog stream ends inside a frame at offset {offset}: {got} of {len} declared bytes")]
    Truncated {
        /// Stream offset where the frame starts.
        offset: u64,
        /// The declared length.
        len: u64,
        /// The bytes received.
        got: u64,
    },
}

/// What the framer does with the next bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing: frames are read.
    None,
    /// Discard bytes up to and including the next LF or NUL.
    ToNewline,
    /// Discard this many more bytes.
    Bytes(u64),
}

/// A per-connection stream decoder for syslog over TCP; see the module docs.
#[derive(Debug)]
pub struct SyslogFramer {
    buf: Vec<u8>,
    /// Where unread data starts in `buf`.
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    max: usize,
    skip: Skip,
}

impl Default for SyslogFramer {
    fn default() -> Self {
        SyslogFramer::new(DEFAULT_MAX_FRAME)
    }
}

impl SyslogFramer {
    /// A framer that refuses frames longer than `max_frame` bytes (at least 1).
    pub fn new(max_frame: usize) -> Self {
        SyslogFramer {
            buf: Vec::new(),
            start: 0,
            offset: 0,
            max: max_frame.max(1),
            skip: Skip::None,
        }
    }

    /// The maximum frame size.
    pub fn max_frame(&self) -> usize {
        self.max
    }

    /// Bytes buffered and not yet delivered.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0
            && (self.start >= self.buf.len() / 2
                || self.buf.len() + bytes.len() > self.buf.capacity())
        {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, an error for a frame that was skipped, or `None` when more bytes are
    /// needed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            if !self.apply_skip() {
                return None;
            }
            let data = &self.buf[self.start..];
            // Blank frames between messages.
            let blanks = blank_prefix(data);
            if blanks > 0 {
                self.consume(blanks);
                continue;
            }
            let data = &self.buf[self.start..];
            if data.is_empty() {
                return None;
            }
            return match octet_count(data) {
                Count::Frame { len, header } => self.octet_frame(len, header),
                Count::NeedMore => None,
                Count::TooManyDigits => {
                    let offset = self.offset;
                    self.skip = Skip::ToNewline;
                    Some(Err(FrameError::BadLength { offset }))
                }
                Count::NotCounted => self.newline_frame(),
            };
        }
    }

    /// At the end of the stream, after [`SyslogFramer::next_frame`] answered `None`: the last frame
    /// if it had no terminator, or the error for an incomplete octet-counted frame. Resets the framer
    /// for a new stream.
    pub fn finish(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        let skip = std::mem::replace(&mut self.skip, Skip::None);
        let data = std::mem::take(&mut self.buf).split_off(self.start);
        let offset = self.offset;
        self.start = 0;
        self.offset = 0;
        if skip != Skip::None {
            return None;
        }
        let frame = trim_terminators(&data);
        if frame.is_empty() {
            return None;
        }
        match octet_count(frame) {
            // A complete counted frame would have been delivered by `next_frame`.
            Count::Frame { len, header } => Some(Err(FrameError::Truncated {
                offset,
                len,
                got: (data.len() - blank_prefix(&data) - header) as u64,
            })),
            _ => Some(Ok(frame.to_vec())),
        }
    }

    /// Skips what must be skipped; `false` when the buffer ran out while skipping.
    fn apply_skip(&mut self) -> bool {
        match self.skip {
            Skip::None => true,
            Skip::Bytes(n) => {
                let available = self.buffered() as u64;
                let take = n.min(available);
                self.consume(take as usize);
                if take == n {
                    self.skip = Skip::None;
                    true
                } else {
                    self.skip = Skip::Bytes(n - take);
                    false
                }
            }
            Skip::ToNewline => {
                let data = &self.buf[self.start..];
                match memchr::memchr2(b'\n', b'\0', data) {
                    Some(end) => {
                        self.consume(end + 1);
                        self.skip = Skip::None;
                        true
                    }
                    None => {
                        self.consume(data.len());
                        false
                    }
                }
            }
        }
    }

    fn octet_frame(&mut self, len: u64, header: usize) -> Option<Result<Vec<u8>, FrameError>> {
        let offset = self.offset;
        if len > self.max as u64 {
            self.consume(header);
            self.skip = Skip::Bytes(len);
            return Some(Err(FrameError::TooLarge {
                offset,
                len,
                declared: true,
                max: self.max,
            }));
        }
        let len = len as usize;
        let data = &self.buf[self.start..];
        let frame = data.get(header..header + len)?.to_vec();
        self.consume(header + len);
        Some(Ok(frame))
    }

    fn newline_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        let data = &self.buf[self.start..];
        match memchr::memchr2(b'\n', b'\0', data) {
            Some(end) if end <= self.max + 1 => {
                let frame = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
                if frame.len() > self.max {
                    return Some(Err(self.too_long(end + 1, false)));
                }
                let frame = frame.to_vec();
                self.consume(end + 1);
                Some(Ok(frame))
            }
            Some(end) => Some(Err(self.too_long(end + 1, false))),
            None if data.len() > self.max + 1 => Some(Err(self.too_long(data.len(), true))),
            None => None,
        }
    }

    /// Drops `seen` bytes of an over-long newline-framed message, skipping the rest of it if
    /// `unterminated`.
    fn too_long(&mut self, seen: usize, unterminated: bool) -> FrameError {
        let offset = self.offset;
        self.consume(seen);
        if unterminated {
            self.skip = Skip::ToNewline;
        }
        FrameError::TooLarge {
            offset,
            len: seen as u64,
            declared: false,
            max: self.max,
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }
}

enum Count {
    /// An octet-counted frame of `len` bytes after a `header`-byte `LEN SP`.
    Frame { len: u64, header: usize },
    /// Only digits so far: cannot tell yet.
    NeedMore,
    /// A digit run too long to be a length.
    TooManyDigits,
    /// Not octet counting.
    NotCounted,
}

/// Whether `data` starts with `LEN SP <`.
fn octet_count(data: &[u8]) -> Count {
    let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || data[0] == b'0' {
        return Count::NotCounted;
    }
    if digits > MAX_LEN_DIGITS {
        return match data.get(digits) {
            Some(b' ') | None => Count::TooManyDigits,
            Some(_) => Count::NotCounted,
        };
    }
    match (data.get(digits), data.get(digits + 1)) {
        (None, _) | (Some(b' '), None) => Count::NeedMore,
        (Some(b' '), Some(b'<')) => {
            let len = data[..digits]
                .iter()
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
            Count::Frame {
                len,
                header: digits + 1,
            }
        }
        _ => Count::NotCounted,
    }
}

/// How many LF, CR and NUL bytes `data` starts with.
fn blank_prefix(data: &[u8]) -> usize {
    data.iter()
        .take_while(|b| matches!(b, b'\n' | b'\r' | b'\0'))
        .count()
}

fn trim_terminators(data: &[u8]) -> &[u8] {
    let data = &data[blank_prefix(data)..];
    let end = data
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0'))
        .map_or(0, |i| i + 1);
    &data[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framer: &mut SyslogFramer) -> Vec<Result<String, FrameError>> {
        std::iter::from_fn(|| framer.next_frame())
            .map(|r| r.map(|f| String::from_utf8_lossy(&f).into_owned()))
            .collect()
    }

    fn ok(s: &str) -> Result<String, FrameError> {
        Ok(s.to_owned())
    }

    #[test]
    fn newline_and_nul_framing() {
        let mut f = SyslogFramer::default();
        f.push(b"<13>one\r\n<13>two\0\n\n<13>thr");
        assert_eq!(frames(&mut f), [ok("<13>one"), ok("<13>two")]);
        f.push(b"ee\n<13>partial");
        assert_eq!(frames(&mut f), [ok("<13>three")]);
        assert_eq!(f.finish(), Some(Ok(b"<13>partial".to_vec())));
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn octet_counting_across_pushes_and_mixed_with_newlines() {
        let mut f = SyslogFramer::default();
        let msg = "<34>1 2003-10-11T22:14:15.003Z host su - ID47 - a\nmulti-line message";
        let stream = format!("{} {msg}12 <13>no newline<13>framed by LF\n", msg.len());
        for byte in stream.as_bytes() {
            f.push(std::slice::from_ref(byte));
        }
        assert_eq!(
            frames(&mut f),
            [ok(msg), ok("<13>no newli"), ok("ne<13>framed by LF")]
        );
    }

    #[test]
    fn digits_without_pri_are_a_plain_line() {
        let mut f = SyslogFramer::default();
        f.push(b"123 not counted\n9 <13>ab");
        assert_eq!(frames(&mut f), [ok("123 not counted")]);
        assert_eq!(
            f.finish(),
            Some(Err(FrameError::Truncated {
                offset: 16,
                len: 9,
                got: 6
            }))
        );
    }

    #[test]
    fn oversized_octet_frame_is_skipped_by_its_length() {
        let mut f = SyslogFramer::new(8);
        f.push(b"12 <13>4567890");
        assert_eq!(
            frames(&mut f),
            [Err(FrameError::TooLarge {
                offset: 0,
                len: 12,
                declared: true,
                max: 8
            })]
        );
        assert!(f.buffered() == 0);
        f.push(b"X\n5 <13>x\n");
        assert_eq!(frames(&mut f), [ok("<13>x")]);
    }

    #[test]
    fn huge_octet_count_is_bounded() {
        let mut f = SyslogFramer::new(1024);
        f.push(b"99999999999999999999 <13>junk\n<13>next\n");
        assert_eq!(
            frames(&mut f),
            [Err(FrameError::BadLength { offset: 0 }), ok("<13>next")]
        );
        f.push(b"999999999 <13>");
        let result = frames(&mut f);
        assert!(
            matches!(
                result[..],
                [Err(FrameError::TooLarge {
                    len: 999_999_999,
                    ..
                })]
            ),
            "{result:?}"
        );
        for _ in 0..100 {
            f.push(&[b'a'; 4096]);
            assert!(frames(&mut f).is_empty());
            assert!(f.buffered() <= 4096 + 1024);
        }
    }

    #[test]
    fn oversized_line_resyncs_at_the_next_newline_without_buffering() {
        let mut f = SyslogFramer::new(16);
        f.push(b"<13>this line is much too long for the framer");
        assert!(matches!(
            frames(&mut f)[..],
            [Err(FrameError::TooLarge {
                offset: 0,
                declared: false,
                ..
            })]
        ));
        for _ in 0..1000 {
            f.push(b"more and more bytes without end ");
            assert!(frames(&mut f).is_empty());
            assert!(f.buffered() <= 64);
        }
        f.push(b"tail\n<13>ok\n");
        assert_eq!(frames(&mut f), [ok("<13>ok")]);
        // A terminated line over the limit is also an error, and the next one is fine.
        f.push(b"<13>0123456789abcdefgh\n<13>fine\n");
        assert!(matches!(
            frames(&mut f)[..],
            [Err(FrameError::TooLarge { .. }), Ok(_)]
        ));
        // Exactly the limit, with CRLF, is accepted.
        f.push(b"0123456789abcdef\r\n");
        assert_eq!(frames(&mut f), [ok("0123456789abcdef")]);
    }

    #[test]
    fn length_needs_more_bytes_to_decide() {
        let mut f = SyslogFramer::default();
        f.push(b"12");
        assert!(frames(&mut f).is_empty());
        f.push(b" ");
        assert!(frames(&mut f).is_empty());
        f.push(b"<13>12345678");
        assert_eq!(frames(&mut f), [ok("<13>12345678")]);
        f.push(b"42");
        assert_eq!(f.finish(), Some(Ok(b"42".to_vec())));
    }
}
