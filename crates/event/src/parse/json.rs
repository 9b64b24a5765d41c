//! JSON bodies: an array of objects, a single object, NDJSON, or a stream of pretty-printed objects.
//!
//! [`parse_json_body`] looks at the first non-blank byte (after an optional UTF-8 byte-order mark):
//!
//! * `[`: a **JSON array**. Elements are parsed one at a time, so the elements before a malformed one
//!   are kept; the malformed element ends the array (a syntax error leaves no reliable place to
//!   resume) with one error naming its index and byte offset.
//! * a first line that starts with `{` and ends with `}`: **NDJSON**. Each line is parsed on its own;
//!   blank lines are skipped, CRLF is accepted, a malformed line is one error naming its line.
//! * anything else: a **stream of JSON values** (one pretty-printed object, or several one after
//!   another, possibly preceded by the `Record N` header lines `evtx_dump -o json` writes). After a
//!   malformed value, parsing resumes at the next line that starts (in column 0) with `{` or `Record `.
//!
//! Every event must be a JSON object: another top-level value is an error, not an event, so a stray
//! number or string never becomes a meaningless event.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{ParseContext, Parsed, json_type};
use crate::{Event, Format, ParseError};

/// The UTF-8 byte-order mark some Windows tools write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a JSON body of any of the supported shapes (see the module docs). Never fails as a whole.
pub fn parse_json_body(bytes: &[u8], ctx: &ParseContext) -> Parsed {
    let received = Utc::now();
    let start = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let Some(first) = bytes
        .iter()
        .skip(start)
        .position(|b| !b.is_ascii_whitespace())
    else {
        return Parsed::default();
    };
    let first = start + first;
    match bytes.get(first) {
        Some(b'[') => parse_array(bytes, first, ctx, received),
        _ if looks_like_ndjson(bytes, first) => parse_ndjson(bytes, start, ctx, received),
        _ => parse_stream(bytes, start, ctx, received),
    }
}

/// Parses one NDJSON line (a trailing `\r` or `\n` is ignored) into an event whose source records the
/// 1-based `line_no`. The error names the line and the byte offset inside it.
pub fn parse_ndjson_line(
    line: &[u8],
    line_no: u64,
    ctx: &ParseContext,
) -> Result<Event, ParseError> {
    ndjson_line(line, line_no, 0, ctx, Utc::now())
}

/// One NDJSON line that starts at byte `base` of its input.
pub(crate) fn ndjson_line(
    line: &[u8],
    line_no: u64,
    base: u64,
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, ParseError> {
    let line = trim_eol(line);
    match serde_json::from_slice::<Value>(line) {
        Ok(value @ Value::Object(_)) => {
            Ok(ctx.event(value, Format::Json, Some(line_no), received, None))
        }
        Ok(other) => Err(ctx.error(
            |l| l.with_line(line_no).with_offset(base),
            format!("expected a JSON object, found {}", json_type(&other)),
        )),
        Err(e) => Err(ctx.error(
            |l| {
                l.with_line(line_no)
                    .with_offset(base + error_offset(line, &e) as u64)
            },
            json_message(&e),
        )),
    }
}

/// Whether the first line, from `first` (its first non-blank byte), is a whole JSON object.
fn looks_like_ndjson(bytes: &[u8], first: usize) -> bool {
    let rest = bytes.get(first..).unwrap_or_default();
    let line = match memchr::memchr(b'\n', rest) {
        Some(end) => &rest[..end],
        None => rest,
    };
    let line = line.trim_ascii_end();
    line.first() == Some(&b'{') && line.last() == Some(&b'}')
}

fn parse_ndjson(bytes: &[u8], start: usize, ctx: &ParseContext, received: DateTime<Utc>) -> Parsed {
    let mut parsed = Parsed::default();
    for (index, (offset, line)) in Lines::new(bytes, start).enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parsed.push(ndjson_line(
            line,
            index as u64 + 1,
            offset as u64,
            ctx,
            received,
        ));
    }
    parsed
}

fn parse_array(bytes: &[u8], open: usize, ctx: &ParseContext, received: DateTime<Utc>) -> Parsed {
    let mut parsed = Parsed::default();
    let mut pos = skip_ws(bytes, open + 1);
    if bytes.get(pos) == Some(&b']') {
        trailing_check(bytes, pos + 1, ctx, &mut parsed);
        return parsed;
    }
    let mut index: u64 = 0;
    loop {
        let rest = bytes.get(pos..).unwrap_or_default();
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                parsed.push(element_event(value, index, pos, ctx, received));
                pos = skip_ws(bytes, pos + stream.byte_offset());
            }
            Some(Err(e)) => {
                let offset = pos + error_offset(rest, &e);
                parsed.errors.push(ctx.error(
                    |l| l.with_record(index).with_offset(offset as u64),
                    format!(
                        "array element {index}: {}; the rest of the array is skipped",
                        json_message(&e)
                    ),
                ));
                return parsed;
            }
            None => {
                parsed.errors.push(ctx.error(
                    |l| l.with_record(index).with_offset(pos as u64),
                    "the JSON array ends without `]`",
                ));
                return parsed;
            }
        }
        match bytes.get(pos) {
            Some(b',') => {
                pos = skip_ws(bytes, pos + 1);
                index += 1;
            }
            Some(b']') => {
                trailing_check(bytes, pos + 1, ctx, &mut parsed);
                return parsed;
            }
            found => {
                let what = found.map_or("the end of the input".to_owned(), |b| {
                    format!("{:?}", char::from(*b))
                });
                parsed.errors.push(ctx.error(
                    |l| l.with_record(index + 1).with_offset(pos as u64),
                    format!("expected `,` or `]` after array element {index}, found {what}"),
                ));
                return parsed;
            }
        }
    }
}

fn element_event(
    value: Value,
    index: u64,
    offset: usize,
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, ParseError> {
    match value {
        Value::Object(_) => Ok(ctx.event(value, Format::Json, Some(index), received, None)),
        other => Err(ctx.error(
            |l| l.with_record(index).with_offset(offset as u64),
            format!(
                "array element {index}: expected a JSON object, found {}",
                json_type(&other)
            ),
        )),
    }
}

fn trailing_check(bytes: &[u8], after: usize, ctx: &ParseContext, parsed: &mut Parsed) {
    let pos = skip_ws(bytes, after);
    if pos < bytes.len() {
        parsed.errors.push(ctx.error(
            |l| l.with_offset(pos as u64),
            "unexpected data after the end of the JSON array",
        ));
    }
}

/// A stream of JSON values, possibly with `Record N` header lines. Events record the header's number
/// when there is one, else the 1-based line where the value starts.
fn parse_stream(bytes: &[u8], start: usize, ctx: &ParseContext, received: DateTime<Utc>) -> Parsed {
    let mut parsed = Parsed::default();
    let mut lines = LineCounter::default();
    let mut pos = start;
    let mut record_header: Option<u64> = None;
    loop {
        pos = skip_ws(bytes, pos);
        if pos >= bytes.len() {
            return parsed;
        }
        if let Some((number, next)) = record_header_at(bytes, pos) {
            record_header = Some(number);
            pos = next;
            continue;
        }
        let line = lines.line_at(bytes, pos);
        let rest = &bytes[pos..];
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let record = record_header.take().unwrap_or(line);
                parsed.push(match value {
                    Value::Object(_) => {
                        Ok(ctx.event(value, Format::Json, Some(record), received, None))
                    }
                    other => Err(ctx.error(
                        |l| l.with_line(line).with_offset(pos as u64),
                        format!("expected a JSON object, found {}", json_type(&other)),
                    )),
                });
                pos += stream.byte_offset().max(1);
            }
            Some(Err(e)) => {
                record_header = None;
                let offset = pos + error_offset(rest, &e);
                let error_line = lines.line_at(bytes, offset);
                parsed.errors.push(ctx.error(
                    |l| l.with_line(error_line).with_offset(offset as u64),
                    json_message(&e),
                ));
                match resync(bytes, offset) {
                    Some(next) => pos = next,
                    None => return parsed,
                }
            }
            None => return parsed,
        }
    }
}

/// `Record 123` alone on a line at `pos`: the number and where the next line starts.
fn record_header_at(bytes: &[u8], pos: usize) -> Option<(u64, usize)> {
    let rest = bytes.get(pos..)?.strip_prefix(b"Record ")?;
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let digits = rest[..end].trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((number, pos + b"Record ".len() + end))
}

/// The start of the first line after `offset` that begins with `{` or `Record `.
fn resync(bytes: &[u8], offset: usize) -> Option<usize> {
    let mut at = offset;
    loop {
        let newline = memchr::memchr(b'\n', bytes.get(at..)?)?;
        at += newline + 1;
        let line = bytes.get(at..)?;
        if line.starts_with(b"{") || line.starts_with(b"Record ") {
            return Some(at);
        }
    }
}

/// Counts lines incrementally as a parse moves forward through its input.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    newlines: u64,
}

impl LineCounter {
    /// The 1-based line of byte `pos`, which must not be before the previous call's.
    fn line_at(&mut self, bytes: &[u8], pos: usize) -> u64 {
        if pos > self.pos {
            let span = bytes.get(self.pos..pos).unwrap_or_default();
            self.newlines += memchr::memchr_iter(b'\n', span).count() as u64;
            self.pos = pos;
        }
        self.newlines + 1
    }
}

/// Lines of `bytes` from `start`, each with the offset where it starts, without its `\n`.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8], start: usize) -> Self {
        Lines { bytes, pos: start }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.pos..).filter(|r| !r.is_empty())?;
        let start = self.pos;
        let (line, advance) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], end + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        Some((start, line))
    }
}

/// The line without a trailing `\n` / `\r\n`.
pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

/// The byte offset in `input` of a `serde_json` error, from the line and column it reports.
pub(crate) fn error_offset(input: &[u8], e: &serde_json::Error) -> usize {
    let (line, column) = (e.line(), e.column());
    if line == 0 {
        return 0;
    }
    let line_start = if line == 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', input)
            .nth(line - 2)
            .map_or(input.len(), |nl| nl + 1)
    };
    (line_start + column.saturating_sub(1)).min(input.len())
}

/// A `serde_json` error without its " at line L column C" suffix (locations carry the position).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) if e.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> ParseContext {
        ParseContext::new("http")
            .with_org("acme")
            .with_path("upload.json")
    }

    fn records(parsed: &Parsed) -> Vec<Option<u64>> {
        parsed
            .events
            .iter()
            .map(|e| e.meta.source.as_ref().and_then(|s| s.record_id))
            .collect()
    }

    #[test]
    fn ndjson_lines_parse_with_crlf_and_blank_lines() {
        let body = b"{\"a\":1,\"@timestamp\":\"2024-05-01T10:00:00+02:00\"}\r\n\r\n{\"a\":2}\n   \n{\"a\":3}";
        let parsed = parse_json_body(body, &ctx());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.events.len(), 3);
        assert_eq!(records(&parsed), vec![Some(1), Some(3), Some(5)]);
        let first = &parsed.events[0];
        assert_eq!(
            first.data,
            json!({"a": 1, "@timestamp": "2024-05-01T10:00:00+02:00"})
        );
        assert_eq!(first.meta.org.as_deref(), Some("acme"));
        assert_eq!(first.meta.input.as_ref(), "http");
        assert_eq!(first.meta.format, Format::Json);
        assert_eq!(
            first.meta.source.as_ref().map(|s| s.path.as_ref()),
            Some("upload.json")
        );
        assert_eq!(
            first.meta.timestamp.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-01T08:00:00+00:00")
        );
    }

    #[test]
    fn malformed_ndjson_line_is_one_error_and_the_rest_parse() {
        let body = b"{\"a\":1}\n{\"a\":2,}\n{\"a\":3}\n42\n";
        let parsed = parse_json_body(body, &ctx());
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(records(&parsed), vec![Some(1), Some(3)]);
        assert_eq!(parsed.errors.len(), 2);
        let e = &parsed.errors[0];
        assert_eq!(e.location.line, Some(2));
        assert_eq!(e.location.file.as_deref(), Some("upload.json"));
        // `{"a":2,}` starts at byte 8; the error is at the `}` (byte 15).
        assert_eq!(e.location.offset, Some(15));
        assert!(!e.message.contains(" at line "), "{}", e.message);
        assert_eq!(parsed.errors[1].location.line, Some(4));
        assert!(
            parsed.errors[1].message.contains("found number"),
            "{}",
            parsed.errors[1].message
        );
    }

    #[test]
    fn ndjson_line_names_line_and_offset_in_the_line() {
        let e = parse_ndjson_line(b"{\"x\": tru}\n", 7, &ctx()).unwrap_err();
        assert_eq!(e.location.line, Some(7));
        assert!(e.location.offset.is_some_and(|o| o <= 10));
        let ok = parse_ndjson_line(b"{\"x\": true}\r\n", 9, &ctx()).unwrap();
        assert_eq!(ok.data, json!({"x": true}));
        assert_eq!(ok.meta.source.and_then(|s| s.record_id), Some(9));
    }

    #[test]
    fn array_elements_before_an_error_are_kept() {
        let body = br#"[{"a":1}, {"a":2} , {"a": 3,, }, {"a":4}]"#;
        let parsed = parse_json_body(body, &ctx());
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(records(&parsed), vec![Some(0), Some(1)]);
        assert_eq!(parsed.errors.len(), 1);
        let e = &parsed.errors[0];
        assert_eq!(e.location.record, Some(2));
        assert_eq!(e.location.offset, Some(28));
        assert!(e.message.starts_with("array element 2"), "{}", e.message);
    }

    #[test]
    fn array_shapes() {
        assert_eq!(parse_json_body(b"  [ ]  ", &ctx()), Parsed::default());
        let parsed = parse_json_body(b"[{\"a\":1},\n {\"b\":2}\n]\n", &ctx());
        assert_eq!((parsed.events.len(), parsed.errors.len()), (2, 0));
        let parsed = parse_json_body(b"[{\"a\":1}, 5, \"s\"]", &ctx());
        assert_eq!((parsed.events.len(), parsed.errors.len()), (1, 2));
        assert_eq!(parsed.errors[0].location.record, Some(1));
        let truncated = parse_json_body(b"[{\"a\":1}, {\"b\"", &ctx());
        assert_eq!((truncated.events.len(), truncated.errors.len()), (1, 1));
        let unclosed = parse_json_body(b"[{\"a\":1}, ", &ctx());
        assert_eq!((unclosed.events.len(), unclosed.errors.len()), (1, 1));
        let missing_comma = parse_json_body(b"[{\"a\":1} {\"b\":2}]", &ctx());
        assert_eq!(
            (missing_comma.events.len(), missing_comma.errors.len()),
            (1, 1)
        );
        assert!(
            missing_comma.errors[0]
                .message
                .contains("expected `,` or `]`")
        );
        let trailing = parse_json_body(b"[{\"a\":1}] x", &ctx());
        assert_eq!((trailing.events.len(), trailing.errors.len()), (1, 1));
        assert_eq!(trailing.errors[0].location.offset, Some(10));
    }

    #[test]
    fn single_pretty_object_and_bom() {
        let body = b"\xEF\xBB\xBF{\n  \"a\": {\n    \"b\": 1\n  }\n}\n";
        let parsed = parse_json_body(body, &ctx());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].data, json!({"a": {"b": 1}}));
        assert_eq!(records(&parsed), vec![Some(1)]);
    }

    #[test]
    fn evtx_dump_json_stream_with_record_headers() {
        let body = b"Record 7\n{\n  \"Event\": {\"System\": {\"EventID\": 1}}\n}\nRecord 8\n{\n  \"Event\": {\"System\": {\"EventID\": 2}}\n}\n";
        let parsed = parse_json_body(body, &ctx());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(records(&parsed), vec![Some(7), Some(8)]);
        assert_eq!(parsed.events[1].field("EventID"), Some(&json!(2)));
    }

    #[test]
    fn stream_resumes_after_a_malformed_object() {
        let body = b"{\n  \"a\": 1,\n  oops\n}\n{\n  \"a\": 2\n}\n";
        let parsed = parse_json_body(body, &ctx());
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].data, json!({"a": 2}));
        assert_eq!(records(&parsed), vec![Some(5)]);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].location.line, Some(3));
        assert_eq!(parsed.errors[0].location.offset, Some(14));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut line = Vec::new();
        line.extend(std::iter::repeat_n(b'[', 100_000));
        let e = parse_ndjson_line(&line, 1, &ctx()).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
        let mut obj = b"{\"a\":".repeat(10_000);
        obj.extend(b"1");
        obj.extend(b"}".repeat(10_000));
        let parsed = parse_json_body(&obj, &ctx());
        assert_eq!(parsed.events.len(), 0);
        assert_eq!(parsed.errors.len(), 1);
        let parsed = parse_json_body(&[b"[".as_slice(), &obj, b"]"].concat(), &ctx());
        assert_eq!((parsed.events.len(), parsed.errors.len()), (0, 1));
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for body in [
            &b""[..],
            b"   \n\n",
            b"\xEF\xBB\xBF",
            b"\xff\xfe{\"a\":1}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1}\n\0\0\0",
            b"[",
            b"[,]",
            b"]",
            b"Record \n{",
            b"Record 99999999999999999999999\n{}",
            b"{\"a\":1",
            b"nul\0l",
        ] {
            let parsed = parse_json_body(body, &ctx());
            assert!(parsed.events.len() + parsed.errors.len() <= body.len() + 1);
        }
        // Invalid UTF-8 inside a string is an error for that line only.
        let parsed = parse_json_body(b"{\"a\":\"\xff\"}\n{\"a\":1}\n", &ctx());
        assert_eq!((parsed.events.len(), parsed.errors.len()), (1, 1));
    }

    #[test]
    fn error_offset_counts_lines() {
        let input = b"ab\ncd\nef";
        let e = serde_json::from_slice::<Value>(b"[\n1,\n x]").unwrap_err();
        assert_eq!((e.line(), e.column()), (3, 2));
        assert_eq!(error_offset(input, &e), 7);
    }
}
