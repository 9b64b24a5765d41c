//! Entry points for the fuzz targets (the `fuzz/` crate): each runs one parser on arbitrary bytes
//! and checks the invariants every caller relies on, panicking (which the fuzzer reports) when one
//! breaks. Kept in the library so the targets are one line each and the checks are unit-tested.
#![allow(clippy::panic)]

use chrono::{TimeZone, Utc};

use super::{ParseContext, Parsed};
use crate::{Event, ParseError};

fn ctx() -> ParseContext {
    ParseContext::new("fuzz").with_org("org").with_path("input")
}

fn check_event(event: &Event) {
    if !event.data.is_object() {
        panic!("event payload is not an object: {}", event.data);
    }
    if event
        .meta
        .source
        .as_ref()
        .is_none_or(|s| s.path.as_ref() != "input")
    {
        panic!("event without its source: {:?}", event.meta.source);
    }
    if event.meta.org.as_deref() != Some("org") {
        panic!("event without its organisation");
    }
}

fn check_error(error: &ParseError) {
    if error.location.file.as_deref() != Some("input") || error.message.is_empty() {
        panic!("error without location or message: {error:?}");
    }
}

fn check_parsed(parsed: &Parsed) {
    parsed.events.iter().for_each(check_event);
    parsed.errors.iter().for_each(check_error);
}

/// [`super::parse_json_body`] on `data`.
pub fn json_body(data: &[u8]) {
    let parsed = super::parse_json_body(data, &ctx());
    check_parsed(&parsed);
    if parsed.events.len() + parsed.errors.len() > data.len() + 1 {
        panic!("more results than input bytes");
    }
}

/// [`super::parse_es_bulk`] on `data`.
pub fn es_bulk(data: &[u8]) {
    for item in super::parse_es_bulk(data, Some("default"), &ctx()) {
        match &item.result {
            Ok(event) => check_event(event),
            Err(error) => check_error(error),
        }
        if item.index.is_none() {
            panic!("bulk item without index although a default was given");
        }
    }
}

/// [`super::parse_syslog`] on `data`.
pub fn syslog(data: &[u8]) {
    let received = Utc.with_ymd_and_hms(2024, 1, 1, 0, 30, 0).single();
    let Some(received) = received else { return };
    match super::parse_syslog(data, &ctx(), received) {
        Ok(event) => check_event(&event),
        Err(error) => check_error(&error),
    }
}

/// [`super::SyslogFramer`] fed `data` in pieces whose sizes come from the data itself, with a small
/// maximum frame so limits are exercised: frames never exceed it and the buffer stays bounded.
pub fn syslog_framer(data: &[u8]) {
    const MAX: usize = 64;
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(first % 32) + 1;
    let mut framer = super::SyslogFramer::new(MAX);
    let mut delivered = 0usize;
    for chunk in rest.chunks(piece) {
        framer.push(chunk);
        while let Some(frame) = framer.next_frame() {
            if let Ok(frame) = frame {
                if frame.len() > MAX {
                    panic!("frame of {} bytes over the {MAX}-byte maximum", frame.len());
                }
                delivered += frame.len();
            }
        }
        // At most an incomplete counted frame: a 9-digit length, a space and `MAX - 1` bytes.
        if framer.buffered() > MAX + 10 {
            panic!("framer buffers {} bytes", framer.buffered());
        }
    }
    if let Some(Ok(frame)) = framer.finish() {
        delivered += frame.len();
    }
    if delivered > rest.len() {
        panic!("delivered more bytes than were pushed");
    }
}

/// [`super::parse_cef`] on `data` (lossily decoded).
pub fn cef(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(map) = super::parse_cef(&text) {
        if !map.contains_key("severity") {
            panic!("CEF without severity: {map:?}");
        }
    }
}

/// [`super::decode_ndjson_line_into`] on each line of `data`, one reused value for all: it must
/// accept exactly the lines `serde_json` parses as objects, and give the same object, keys in order.
pub fn ndjson_reuse(data: &[u8]) {
    let mut doc = serde_json::Value::Null;
    for line in data.split(|b| *b == b'\n') {
        let fresh = serde_json::from_slice::<serde_json::Value>(super::json::trim_eol(line));
        let ok = super::decode_ndjson_line_into(line, &mut doc);
        match fresh {
            Ok(v) if v.is_object() => same_object(ok, &doc, &v),
            _ if ok => panic!("reused decoding accepted a line serde_json refuses"),
            _ => {}
        }
    }
}

/// Panics unless the reused decoding succeeded and gave `fresh`, keys in the same order (`Value`
/// equality alone ignores the order).
fn same_object(ok: bool, reused: &serde_json::Value, fresh: &serde_json::Value) {
    let ordered = |v: &serde_json::Value| serde_json::to_vec(v).ok();
    if !ok || ordered(reused) != ordered(fresh) {
        panic!("reused decoding differs: {reused} != {fresh}");
    }
}

/// [`super::parse_evtx_bytes`] on `data`, and on `data` behind a valid-looking file magic so the
/// fuzzer reaches the chunk and record decoders.
pub fn evtx(data: &[u8]) {
    check_parsed(&super::parse_evtx_bytes(data, &ctx()));
    let mut with_magic = super::evtx::EVTX_MAGIC.to_vec();
    with_magic.extend_from_slice(data);
    check_parsed(&super::parse_evtx_bytes(&with_magic, &ctx()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each entry point on a few seeds, hostile and valid: they must hold their invariants.
    #[test]
    fn entry_points_hold_their_invariants_on_seeds() {
        let seeds: [&[u8]; 10] = [
            b"",
            b"{\"a\":1}\n{\"b\":[1,2,{\"c\":null}]}\n",
            b"[{\"a\":1},{\"a\":",
            b"{\"index\":{\"_id\":1}}\n{\"a\":1}\n{\"delete\":{}}\n",
            b"<13>1 2024-01-01T00:00:00Z h a p m [x@1 k=\"v\\\"\"] \xEF\xBB\xBFmsg",
            b"<34>Oct 11 22:14:15 host su[1]: CEF:0|a|b|c|d|e|5|src=1 msg=x\\=y",
            b"\x05123 <13>x\n9999999999 <1>\n\0\0<13>y\r\n",
            b"ElfFile\0\0\0\0\0",
            b"\xff\xfe\x00\x01",
            &[b'['; 300],
        ];
        for seed in seeds {
            json_body(seed);
            es_bulk(seed);
            syslog(seed);
            syslog_framer(seed);
            cef(seed);
            evtx(seed);
            ndjson_reuse(seed);
        }
    }
}
