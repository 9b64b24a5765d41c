//! One JSON object per hit and line.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Hit, HitEvent, HitSink};

/// Writes each hit as one line:
///
/// ```json
/// {"kind":"sigma","rule":{"id":…,"title":…,"level":"high","tags":[…]},
///  "source":{"path":…,"record_id":42},"timestamp":"2019-03-19T23:36:52.123Z","computer":…,
///  "logsource":…,"fields":{…},"event":{…}}
/// ```
///
/// `timestamp`, `record_id` and `computer` are `null` when unknown; `logsource` and `fields` are
/// present for Sigma hits, `correlation` (type, group, count, members, window) for correlation hits.
pub struct JsonlSink<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> JsonlSink<W> {
    /// A sink writing to `out` (buffer it: one `write_all` per hit).
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: Vec::with_capacity(4096),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[derive(Serialize)]
struct Line<'a> {
    kind: &'a str,
    rule: Rule<'a>,
    source: Source<'a>,
    timestamp: Option<String>,
    computer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logsource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation: Option<&'a Value>,
    /// `None` when the event is copied in as JSON text after the rest (see [`JsonlSink::hit`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a Value>,
}

#[derive(Serialize)]
struct Rule<'a> {
    id: &'a str,
    title: &'a str,
    level: &'a str,
    tags: &'a [String],
}

#[derive(Serialize)]
struct Source<'a> {
    path: &'a str,
    record_id: Option<u64>,
}

impl<W: Write> HitSink for JsonlSink<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        let line = Line {
            kind: hit.kind.as_str(),
            rule: Rule {
                id: hit.rule.id,
                title: hit.rule.title,
                level: hit.rule.level.as_str(),
                tags: hit.rule.tags,
            },
            source: Source {
                path: hit.path,
                record_id: hit.record_id,
            },
            timestamp: hit.timestamp.as_ref().map(super::rfc3339),
            computer: hit.computer,
            logsource: hit.logsource,
            fields: hit.fields,
            correlation: hit.correlation,
            event: match hit.event {
                HitEvent::Value(v) => Some(v),
                HitEvent::Json(_) => None,
            },
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line)?;
        if let HitEvent::Json(text) = hit.event {
            // The event's own text goes in as the last member, in place of the object's closing
            // brace: it is a JSON object on one line (the hunt decoded it), so the line stays one
            // valid JSON object, and the event is not encoded a second time.
            self.line.pop();
            self.line.extend_from_slice(b",\"event\":");
            self.line.extend_from_slice(text.as_bytes());
            self.line.push(b'}');
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
