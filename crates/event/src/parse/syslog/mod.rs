//! Syslog messages: RFC 5424, RFC 3164 (and what real senders make of it), and CEF carried in either.
//!
//! [`parse_syslog`] takes one message (a UDP datagram, a line, or a frame from [`SyslogFramer`]):
//!
//! * `<PRI>1 …` is **RFC 5424**: timestamp, hostname, app name, procid, msgid (each `-` when nil),
//!   structured data (`[id k="v" …]`, values with `\"` `\\` `\]` escapes, stored as
//!   `structured_data.<id>.<k>`), then the message with its UTF-8 byte-order mark stripped.
//! * anything else is **RFC 3164** as found in the wild: an optional `<PRI>`, an optional timestamp
//!   (`Mmm dd hh:mm:ss[.fff]` with an optional year, or an ISO 8601 / RFC 3339 timestamp as rsyslog
//!   forwards), an optional hostname, an optional tag (`app[pid]:` or `app:`), then the message. A line
//!   with no syslog structure at all becomes an event with just `message`, as rsyslog does.
//!   A 3164 timestamp has no year and no zone: it is taken as UTC in the year it was received, or the
//!   year before if that would put it more than a day after it was received.
//! * a message that is (or whose syslog message part is) **CEF** (`CEF:0|…`) becomes a [`Format::Cef`]
//!   event whose fields are the CEF fields ([`super::cef`]), with the syslog header under `syslog`.
//!
//! Fields of a syslog event: `facility` and `severity` (keyword names such as `auth`, `warning`),
//! `facility_code` and `severity_code` (numbers), `version` (5424), `timestamp` (RFC 3339, UTC),
//! `hostname`, `app_name`, `procid`, `msgid`, `structured_data`, `message`; absent ones are left out.
//!
//! **What is an error** (never an event): an empty or all-blank message; a `<` that does not open a
//! valid PRI (`<0>` to `<191>`); a NUL byte; control characters (other than tab, CR, LF) making up
//! more than a tenth of the message; a 5424 header that is cut short or has an invalid timestamp or
//! structured data; a CEF payload whose header is incomplete. Invalid UTF-8 is not an error: it is
//! replaced (U+FFFD), as a message is better kept damaged than lost.

mod framer;
mod rfc3164;
mod rfc5424;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use framer::{DEFAULT_MAX_FRAME, FrameError, SyslogFramer};

use super::ParseContext;
use crate::{Event, Format, ParseError};

/// Facility keywords by code (RFC 5424 table 1, with the usual `syslog(3)` names).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// Severity keywords by code.
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// The syslog header and message, borrowed from the message text.
#[derive(Debug, Default)]
struct Header<'a> {
    pri: Option<u8>,
    version: Option<u8>,
    timestamp: Option<DateTime<Utc>>,
    hostname: Option<&'a str>,
    app_name: Option<&'a str>,
    procid: Option<&'a str>,
    msgid: Option<&'a str>,
    structured_data: Option<Map<String, Value>>,
    message: Option<&'a str>,
}

/// A syntax error at a byte offset of the message.
#[derive(Debug)]
struct SyntaxError {
    offset: usize,
    message: String,
}

impl SyntaxError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            offset,
            message: message.into(),
        }
    }
}

/// Parses one syslog message received at `received` (the year of RFC 3164 timestamps comes from
/// it). See the module docs for the formats and what is an error.
pub fn parse_syslog(
    msg: &[u8],
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, ParseError> {
    let fail = |e: SyntaxError| ctx.error(|l| l.with_offset(e.offset as u64), e.message);
    let (lead, bytes) = trim(msg);
    check_bytes(bytes).map_err(|e| fail(SyntaxError::new(lead + e.offset, e.message)))?;
    let text = String::from_utf8_lossy(bytes);
    let shift = |e: SyntaxError| fail(SyntaxError::new(lead + e.offset, e.message));
    let (pri, rest) = parse_pri(&text).map_err(shift)?;
    let pri_len = text.len() - rest.len();
    let (format, mut header) = match rest.strip_prefix("1 ") {
        Some(after) if pri.is_some() => {
            let header = rfc5424::parse(after, pri_len + 2)
                .map_err(|e| fail(SyntaxError::new(lead + e.offset, e.message)))?;
            (Format::Syslog5424, header)
        }
        _ => (Format::Syslog3164, rfc3164::parse(rest, received)),
    };
    header.pri = pri;
    match header.message {
        Some(m) if m.starts_with("CEF:") => cef_event(header, m, ctx, received)
            .map_err(|e| fail(SyntaxError::new(lead + text.len() - m.len(), e))),
        _ => {
            let timestamp = header.timestamp;
            Ok(ctx.event(
                Value::Object(header_fields(&header, format)),
                format,
                None,
                received,
                timestamp,
            ))
        }
    }
}

/// The message without leading blanks and trailing CR, LF and NUL; and how many bytes were cut before.
fn trim(msg: &[u8]) -> (usize, &[u8]) {
    let end = msg
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n' | b'\0'))
        .map_or(0, |i| i + 1);
    let msg = &msg[..end];
    let start = msg
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(msg.len());
    (start, &msg[start..])
}

/// Refuses empty messages and binary data.
fn check_bytes(bytes: &[u8]) -> Result<(), SyntaxError> {
    if bytes.is_empty() {
        return Err(SyntaxError::new(0, "empty syslog message"));
    }
    if let Some(nul) = memchr::memchr(0, bytes) {
        return Err(SyntaxError::new(
            nul,
            "binary data in syslog message (NUL byte)",
        ));
    }
    let controls = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f)
        .count();
    if controls * 10 > bytes.len() {
        return Err(SyntaxError::new(
            0,
            format!(
                "binary data in syslog message ({controls} control bytes in {})",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// `<PRI>` at the start, if the message has one.
fn parse_pri(text: &str) -> Result<(Option<u8>, &str), SyntaxError> {
    let Some(after) = text.strip_prefix('<') else {
        return Ok((None, text));
    };
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let bad = || {
        SyntaxError::new(
            0,
            format!("invalid PRI {:?}: expected <0> to <191>", prefix(text, 6)),
        )
    };
    if digits == 0 || digits > 3 || after.as_bytes().get(digits) != Some(&b'>') {
        return Err(bad());
    }
    let value: u16 = after[..digits].parse().map_err(|_| bad())?;
    let pri = u8::try_from(value)
        .ok()
        .filter(|&p| p <= 191)
        .ok_or_else(bad)?;
    Ok((Some(pri), &after[digits + 1..]))
}

/// At most `n` characters of `text`, for messages.
fn prefix(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or(text, |(i, _)| &text[..i])
}

fn header_fields(header: &Header<'_>, format: Format) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    if let Some(pri) = header.pri {
        let (facility, severity) = (usize::from(pri >> 3), usize::from(pri & 7));
        put(
            "facility",
            Value::from(FACILITIES.get(facility).copied().unwrap_or("unknown")),
        );
        put("facility_code", Value::from(facility));
        put("severity", Value::from(SEVERITIES[severity]));
        put("severity_code", Value::from(severity));
    }
    if format == Format::Syslog5424 {
        put("version", Value::from(header.version.unwrap_or(1)));
    }
    if let Some(t) = header.timestamp {
        put(
            "timestamp",
            Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        );
    }
    for (key, value) in [
        ("hostname", header.hostname),
        ("app_name", header.app_name),
        ("procid", header.procid),
        ("msgid", header.msgid),
    ] {
        if let Some(v) = value {
            put(key, Value::from(v));
        }
    }
    if let Some(sd) = &header.structured_data {
        put("structured_data", Value::Object(sd.clone()));
    }
    if let Some(m) = header.message {
        if !m.starts_with("CEF:") {
            put("message", Value::from(m));
        }
    }
    map
}

/// A CEF event: the CEF fields, and the syslog header (if any) under `syslog`.
fn cef_event(
    header: Header<'_>,
    cef_text: &str,
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, String> {
    let mut map = super::cef::parse_cef(cef_text).map_err(|e| e.to_string())?;
    let syslog = header_fields(&header, Format::Syslog3164);
    if !syslog.is_empty() {
        map.insert("syslog".to_owned(), Value::Object(syslog));
    }
    let timestamp = ["rt", "end", "start"]
        .iter()
        .filter_map(|k| map.get(*k))
        .find_map(cef_time)
        .or(header.timestamp);
    Ok(ctx.event(Value::Object(map), Format::Cef, None, received, timestamp))
}

/// A CEF time value: milliseconds since the epoch, `MMM dd yyyy HH:mm:ss[.SSS]`, or any format
/// [`crate::time::parse_timestamp`] knows.
fn cef_time(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = text.parse().ok()?;
        return DateTime::from_timestamp_millis(millis);
    }
    for format in ["%b %d %Y %H:%M:%S%.f", "%b %d %Y %H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    crate::time::parse_timestamp(value)
}

#[cfg(test)]
mod tests;
