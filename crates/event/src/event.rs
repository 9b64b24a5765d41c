//! The event: a JSON object plus metadata.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::field;

/// The original format an event was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A JSON object (NDJSON line, element of a JSON array, Elasticsearch bulk document).
    Json,
    /// A record of a Windows `.evtx` file.
    Evtx,
    /// A BSD syslog message (RFC 3164).
    Syslog3164,
    /// A structured syslog message (RFC 5424).
    Syslog5424,
    /// An ArcSight Common Event Format message.
    Cef,
}

impl Format {
    /// The name used in statistics and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Evtx => "evtx",
            Format::Syslog3164 => "syslog3164",
            Format::Syslog5424 => "syslog5424",
            Format::Cef => "cef",
        }
    }
}

/// Where an event came from inside its input: a file path and a record number or line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// File path (or input name for network inputs).
    pub path: Arc<str>,
    /// EVTX record id, or 1-based line number for line formats, or index in a JSON array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
}

/// What Shield knows about an event besides its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMeta {
    /// When this node received the event (UTC).
    pub received: DateTime<Utc>,
    /// The event's own time, normalised to UTC, when the payload carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Name of the input that received it (`http`, `bulk`, `syslog-tcp`, `file`, …).
    pub input: Arc<str>,
    /// Original format.
    pub format: Format,
    /// Organisation the event belongs to (from the ingest token), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Arc<str>>,
    /// File and record, for events read from files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// One security event: a JSON object plus [`EventMeta`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The payload, always a JSON object.
    pub data: Value,
    /// Metadata.
    pub meta: EventMeta,
}

impl Event {
    /// Wraps a JSON value received now through `input`. A value that is not an object is kept under
    /// the key `message`, so every event's payload is an object. The event's own time is extracted
    /// from the payload (see [`crate::time::event_time`]).
    pub fn new(data: Value, input: Arc<str>, format: Format) -> Self {
        let data = match data {
            Value::Object(_) => data,
            other => {
                let mut map = Map::new();
                map.insert("message".to_owned(), other);
                Value::Object(map)
            }
        };
        let timestamp = crate::time::event_time(&data);
        Event {
            data,
            meta: EventMeta {
                received: Utc::now(),
                timestamp,
                input,
                format,
                org: None,
                source: None,
            },
        }
    }

    /// The same event attributed to an organisation.
    pub fn with_org(mut self, org: Option<Arc<str>>) -> Self {
        self.meta.org = org;
        self
    }

    /// The same event with its file and record.
    pub fn with_source(mut self, path: Arc<str>, record_id: Option<u64>) -> Self {
        self.meta.source = Some(Source { path, record_id });
        self
    }

    /// The value at a dotted path (`winlog.event_data.CommandLine`); see [`field::path`].
    pub fn path(&self, path: &str) -> Option<&Value> {
        field::path(&self.data, path)
    }

    /// The value of a Sigma-style field name over the known event layouts; see [`field::lookup`].
    pub fn field(&self, name: &str) -> Option<&Value> {
        field::lookup(&self.data, name)
    }

    /// The event's own time if it has one, otherwise when it was received.
    pub fn time(&self) -> DateTime<Utc> {
        self.meta.timestamp.unwrap_or(self.meta.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_object_payload_is_wrapped_under_message() {
        let e = Event::new(json!("hello"), Arc::from("test"), Format::Json);
        assert_eq!(e.data, json!({"message": "hello"}));
    }

    #[test]
    fn event_time_falls_back_to_received() {
        let e = Event::new(json!({"a": 1}), Arc::from("test"), Format::Json);
        assert_eq!(e.time(), e.meta.received);
        let e = Event::new(
            json!({"@timestamp": "2024-05-01T10:00:00+02:00"}),
            Arc::from("test"),
            Format::Json,
        );
        assert_eq!(e.time().to_rfc3339(), "2024-05-01T08:00:00+00:00");
    }
}
