//! A line reader with a cap on line length, for streaming files of any size.

use std::io::{self, BufRead};

/// One line read by [`LineReader`].
pub(crate) enum Line<'a> {
    /// A line (without its `\n` or `\r\n`), its 1-based number and the offset where it starts.
    Text {
        number: u64,
        offset: u64,
        bytes: &'a [u8],
    },
    /// A line longer than the cap: its bytes were skipped, not buffered.
    TooLong { number: u64, offset: u64, len: u64 },
}

/// Reads lines from a buffered reader, holding at most `max` bytes of a line in memory.
pub(crate) struct LineReader<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
    number: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `reader` that refuses lines longer than `max` bytes.
    pub(crate) fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            max,
            buf: Vec::new(),
            number: 0,
            offset: 0,
        }
    }

    /// The next line, `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let start = self.offset;
        let mut len: u64 = 0;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if len == 0 {
                    return Ok(None);
                }
                break;
            }
            let (piece, ends_line) = match memchr::memchr(b'\n', available) {
                Some(end) => (&available[..end + 1], true),
                None => (available, false),
            };
            let n = piece.len();
            if !too_long && self.buf.len() + n > self.max.saturating_add(2) {
                too_long = true;
                self.buf = Vec::new();
            }
            if !too_long {
                self.buf.extend_from_slice(piece);
            }
            self.reader.consume(n);
            self.offset += n as u64;
            len += n as u64;
            if ends_line {
                break;
            }
        }
        self.number += 1;
        let number = self.number;
        if too_long {
            return Ok(Some(Line::TooLong {
                number,
                offset: start,
                len,
            }));
        }
        let bytes = super::json::trim_eol(&self.buf);
        if bytes.len() > self.max {
            return Ok(Some(Line::TooLong {
                number,
                offset: start,
                len,
            }));
        }
        Ok(Some(Line::Text {
            number,
            offset: start,
            bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Text {
                    number,
                    offset,
                    bytes,
                } => {
                    format!("{number}@{offset}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong {
                    number,
                    offset,
                    len,
                } => format!("{number}@{offset}:too long ({len})"),
            });
        }
        out
    }

    #[test]
    fn lines_with_numbers_offsets_and_crlf() {
        assert_eq!(
            collect(b"ab\r\ncd\n\nlast", 10),
            ["1@0:ab", "2@4:cd", "3@7:", "4@8:last"]
        );
        assert_eq!(collect(b"", 10), Vec::<String>::new());
        assert_eq!(collect(b"x\n", 10), ["1@0:x"]);
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let input = b"short\nthis line is far too long\nok\n";
        assert_eq!(
            collect(input, 8),
            ["1@0:short", "2@6:too long (26)", "3@32:ok"]
        );
        // Exactly at the cap is accepted, with or without CRLF.
        assert_eq!(
            collect(b"12345678\r\n123456789\n", 8),
            ["1@0:12345678", "2@10:too long (10)"]
        );
    }
}
