//! Reading one input file as a sequence of [`Batch`]es.
//!
//! NDJSON files are cut into batches of raw lines (parsed later, on the matching threads); every
//! other kind is parsed here through [`shield_event::parse::read_file`] and batched as events.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use shield_event::parse::file::MAX_LINE;
use shield_event::parse::{FileKind, ParseContext, detect_file_kind, read_file};
use shield_event::{Event, ParseError};

/// Largest amount of line text in one batch, so that long lines do not make huge batches.
const MAX_BATCH_TEXT: usize = 8 << 20;
/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A piece of one file, ready to be matched.
pub(crate) enum Batch {
    /// Parsed events (and errors), in file order.
    Events(Vec<Result<Event, ParseError>>),
    /// Raw NDJSON lines, in file order, to be parsed by the matching task.
    Lines(LineBatch),
    /// The file could not be opened or read at all.
    FileFailed(ParseError),
}

/// NDJSON lines: their text, back to back, and where each line is.
#[derive(Default)]
pub(crate) struct LineBatch {
    pub ctx: Option<Arc<ParseContext>>,
    pub text: Vec<u8>,
    pub lines: Vec<LineSpan>,
    /// Lines that could not be taken (too long), already as errors.
    pub errors: Vec<ParseError>,
    /// Bytes of the file this batch covers.
    pub bytes: u64,
}

/// One line of a [`LineBatch`].
pub(crate) struct LineSpan {
    /// Range in [`LineBatch::text`].
    pub start: usize,
    pub end: usize,
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line in the file.
    pub offset: u64,
}

/// Reads `path` and hands its batches, in order, to `emit`, which returns `false` to stop.
pub(crate) fn read_batches(
    path: &Path,
    batch_size: usize,
    mut text_buffer: impl FnMut() -> Vec<u8>,
    mut emit: impl FnMut(Batch) -> bool,
) {
    let ctx = ParseContext::new("file").with_path(path.to_string_lossy().as_ref());
    let failed = |e: io::Error| {
        Batch::FileFailed(ParseError::new(
            ctx.location(),
            format!("cannot read file: {e}"),
        ))
    };
    let kind = match detect_file_kind(path) {
        Ok(kind) => kind,
        Err(e) => {
            emit(failed(e));
            return;
        }
    };
    if kind == FileKind::Ndjson {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                emit(failed(e));
                return;
            }
        };
        let mut lines = LineBatcher::new(BufReader::with_capacity(256 * 1024, file));
        let ctx = Arc::new(ctx);
        loop {
            match lines.next_batch(&ctx, batch_size, text_buffer()) {
                Ok(Some(batch)) => {
                    if !emit(Batch::Lines(batch)) {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    // Lines already emitted stay; the rest of the file is lost.
                    let error = ParseError::new(
                        ctx.location()
                            .with_line(lines.number + 1)
                            .with_offset(lines.offset),
                        format!("cannot read file: {e}"),
                    );
                    emit(Batch::Events(vec![Err(error)]));
                    return;
                }
            }
        }
    }
    let events = match read_file(path, &ctx) {
        Ok(events) => events,
        Err(e) => {
            emit(Batch::FileFailed(e));
            return;
        }
    };
    let mut batch = Vec::with_capacity(batch_size);
    for item in events {
        batch.push(item);
        if batch.len() >= batch_size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if !emit(Batch::Events(full)) {
                return;
            }
        }
    }
    if !batch.is_empty() {
        emit(Batch::Events(batch));
    }
}

/// Cuts a stream into batches of lines, holding at most [`MAX_LINE`] bytes of any line.
struct LineBatcher<R> {
    reader: R,
    /// Lines read so far.
    number: u64,
    /// Bytes read so far.
    offset: u64,
    done: bool,
}

impl<R: BufRead> LineBatcher<R> {
    fn new(reader: R) -> Self {
        LineBatcher {
            reader,
            number: 0,
            offset: 0,
            done: false,
        }
    }

    /// The next batch of up to `max_lines` non-blank lines; `None` at the end of the input.
    /// The next batch, its text in `text` (an empty buffer, perhaps with capacity to reuse).
    fn next_batch(
        &mut self,
        ctx: &Arc<ParseContext>,
        max_lines: usize,
        text: Vec<u8>,
    ) -> io::Result<Option<LineBatch>> {
        let mut batch = LineBatch {
            ctx: Some(Arc::clone(ctx)),
            text,
            ..LineBatch::default()
        };
        let first_offset = self.offset;
        while !self.done
            && batch.lines.len() < max_lines.max(1)
            && batch.text.len() < MAX_BATCH_TEXT
        {
            self.read_line(ctx, &mut batch)?;
        }
        batch.bytes = self.offset - first_offset;
        if batch.lines.is_empty() && batch.errors.is_empty() && batch.bytes == 0 {
            return Ok(None);
        }
        Ok(Some(batch))
    }

    /// Reads one line into `batch` (or its error); sets `done` at the end of the input.
    fn read_line(&mut self, ctx: &ParseContext, batch: &mut LineBatch) -> io::Result<()> {
        let start = batch.text.len();
        let line_offset = self.offset;
        let mut len: u64 = 0;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                self.done = true;
                if len == 0 {
                    return Ok(());
                }
                break;
            }
            let (piece, ends_line) = match memchr::memchr(b'\n', available) {
                Some(end) => (&available[..=end], true),
                None => (available, false),
            };
            let n = piece.len();
            if !too_long {
                if len as usize + n > MAX_LINE + 2 {
                    too_long = true;
                    batch.text.truncate(start);
                } else {
                    batch.text.extend_from_slice(piece);
                }
            }
            len += n as u64;
            self.reader.consume(n);
            if ends_line {
                break;
            }
        }
        self.number += 1;
        self.offset += len;
        if too_long {
            batch.errors.push(ParseError::new(
                ctx.location()
                    .with_line(self.number)
                    .with_offset(line_offset),
                format!("line of {len} bytes is longer than the {MAX_LINE}-byte limit; skipped"),
            ));
            return Ok(());
        }
        let mut line_start = start;
        if self.number == 1 && batch.text[start..].starts_with(BOM) {
            line_start += BOM.len();
        }
        let line = &batch.text[line_start..];
        if line.iter().all(u8::is_ascii_whitespace) {
            batch.text.truncate(start);
            return Ok(());
        }
        let end = batch.text.len();
        batch.lines.push(LineSpan {
            start: line_start,
            end,
            number: self.number,
            offset: line_offset,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(input: &[u8], max_lines: usize) -> Vec<LineBatch> {
        let ctx = Arc::new(ParseContext::new("t").with_path("t.ndjson"));
        let mut reader = LineBatcher::new(BufReader::with_capacity(4, input));
        let mut out = Vec::new();
        while let Some(b) = reader
            .next_batch(&ctx, max_lines, Vec::new())
            .expect("in memory")
        {
            out.push(b);
        }
        out
    }

    fn texts(b: &LineBatch) -> Vec<(u64, u64, &str)> {
        b.lines
            .iter()
            .map(|l| {
                let text = std::str::from_utf8(&b.text[l.start..l.end]).expect("utf-8");
                (l.number, l.offset, text)
            })
            .collect()
    }

    #[test]
    fn lines_are_batched_with_numbers_and_offsets_and_blank_lines_skipped() {
        let input = b"\xEF\xBB\xBF{\"a\":1}\n\n  \r\n{\"b\":2}\r\n{\"c\":3}";
        let out = batches(input, 2);
        assert_eq!(out.len(), 2);
        assert_eq!(
            texts(&out[0]),
            [(1, 0, "{\"a\":1}\n"), (4, 16, "{\"b\":2}\r\n")]
        );
        assert_eq!(texts(&out[1]), [(5, 25, "{\"c\":3}")]);
        let total: u64 = out.iter().map(|b| b.bytes).sum();
        assert_eq!(total, input.len() as u64);
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(batches(b"", 10).is_empty());
        // Blank lines only: one batch with no lines but the bytes accounted for.
        let out = batches(b"\n\n", 10);
        assert_eq!(out.len(), 1);
        assert!(out[0].lines.is_empty());
        assert_eq!(out[0].bytes, 2);
    }
}
