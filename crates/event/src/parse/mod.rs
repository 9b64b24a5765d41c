//! Parsers of untrusted input. Each returns the events that parsed and one [`ParseError`] per record
//! that did not, so one bad record never stops the rest.
//!
//! | module | input | format of the events |
//! |---|---|---|
//! | [`json`] | a JSON array, a single object, NDJSON, or a stream of (pretty-printed) objects | [`Format::Json`] |
//! | [`reuse`] | one NDJSON line decoded into the previous line's value (hunting's hot path) | [`Format::Json`] |
//! | [`bulk`] | an Elasticsearch `_bulk` request body (Winlogbeat, Filebeat, Vector, Fluent Bit) | [`Format::Json`] |
//! | [`syslog`] | one RFC 5424 / RFC 3164 / CEF message, and [`syslog::SyslogFramer`] for TCP streams | [`Format::Syslog5424`], [`Format::Syslog3164`], [`Format::Cef`] |
//! | [`cef`] | the ArcSight Common Event Format payload | (fields only) |
//! | [`evtx`] | a Windows `.evtx` file | [`Format::Evtx`] |
//! | [`file`] | any of the above read from a path, detected by content | all |
//!
//! # Design decisions
//!
//! * **A context, not a configuration.** Every parser takes a [`ParseContext`]: the input's name, the
//!   organisation, and the file path. Events are stamped with them ([`EventMeta::org`],
//!   [`EventMeta::source`]) and errors name the path, so callers never post-process either.
//! * **Bounded everywhere.** JSON nesting is bounded by `serde_json`'s recursion limit (128); lines,
//!   frames and whole-file reads have explicit caps; nothing buffers a stream without a limit.
//! * **The source of an event is always set**: the file path (or, for network inputs without one, the
//!   input name) plus the record id (EVTX), the 1-based line (NDJSON, bulk, syslog text files) or the
//!   0-based index (JSON arrays).
//! * **No panics.** Parsers index with `get`, never trust a length, and the EVTX reader additionally
//!   catches a panic of the third-party decoder per chunk and reports it as that chunk's error.
//!
//! [`EventMeta::org`]: crate::EventMeta::org
//! [`EventMeta::source`]: crate::EventMeta::source

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{Event, EventMeta, Format, Location, ParseError, Source};

pub mod bulk;
pub mod cef;
pub mod evtx;
pub mod file;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
mod lines;
pub mod reuse;
pub mod syslog;

pub use bulk::{BulkAction, BulkItem, parse_es_bulk};
pub use cef::{CefError, parse_cef};
pub use evtx::{EvtxReader, parse_evtx_bytes, read_evtx_file};
pub use file::{FileEvents, FileKind, PathError, detect_file_kind, discover_files, read_file};
pub use json::{parse_json_body, parse_ndjson_line};
pub use reuse::{decode_ndjson_line_into, ndjson_event};
pub use syslog::{FrameError, SyslogFramer, parse_syslog};

/// What every parser needs to build events: where they came from and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseContext {
    /// Name of the input (`http`, `bulk`, `syslog-tcp`, `file`, …), copied to [`EventMeta::input`].
    pub input: Arc<str>,
    /// Organisation the events belong to, copied to [`EventMeta::org`].
    pub org: Option<Arc<str>>,
    /// File path or input name (`10.0.0.5:514`, an upload's name), used in [`Location::file`] of
    /// errors and in [`Source::path`] of events. When `None`, [`ParseContext::input`] is used.
    pub path: Option<Arc<str>>,
}

impl ParseContext {
    /// A context for the named input, with no organisation and no path.
    pub fn new(input: impl Into<Arc<str>>) -> Self {
        ParseContext {
            input: input.into(),
            org: None,
            path: None,
        }
    }

    /// The same context for an organisation.
    pub fn with_org(mut self, org: impl Into<Arc<str>>) -> Self {
        self.org = Some(org.into());
        self
    }

    /// The same context for a file path or named input.
    pub fn with_path(mut self, path: impl Into<Arc<str>>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same context with `path` as its path, unless it already has one.
    pub(crate) fn with_default_path(mut self, path: &std::path::Path) -> Self {
        if self.path.is_none() {
            self.path = Some(Arc::from(path.to_string_lossy().as_ref()));
        }
        self
    }

    /// The path events and errors name: [`ParseContext::path`], else [`ParseContext::input`].
    pub fn source_path(&self) -> &Arc<str> {
        self.path.as_ref().unwrap_or(&self.input)
    }

    /// A location in this context's file or input, for errors.
    pub fn location(&self) -> Location {
        Location::file(self.source_path().as_ref())
    }

    /// A parse error in this context's file or input.
    pub(crate) fn error(
        &self,
        build: impl FnOnce(Location) -> Location,
        message: impl Into<String>,
    ) -> ParseError {
        ParseError::new(build(self.location()), message)
    }

    /// An event with this context's metadata. `timestamp` `None` means "find it in the payload"
    /// ([`crate::time::event_time`]). `data` must be a JSON object (callers guarantee it).
    pub(crate) fn event(
        &self,
        data: Value,
        format: Format,
        record: Option<u64>,
        received: DateTime<Utc>,
        timestamp: Option<DateTime<Utc>>,
    ) -> Event {
        let timestamp = timestamp.or_else(|| crate::time::event_time(&data));
        Event {
            data,
            meta: EventMeta {
                received,
                timestamp,
                input: Arc::clone(&self.input),
                format,
                org: self.org.clone(),
                source: Some(Source {
                    path: Arc::clone(self.source_path()),
                    record_id: record,
                }),
            },
        }
    }
}

/// The result of parsing one input: the events that parsed and one error per record that did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Events in input order.
    pub events: Vec<Event>,
    /// Errors in input order, each naming where the bad record is.
    pub errors: Vec<ParseError>,
}

impl Parsed {
    /// Adds one result to the events or the errors.
    pub fn push(&mut self, result: Result<Event, ParseError>) {
        match result {
            Ok(event) => self.events.push(event),
            Err(error) => self.errors.push(error),
        }
    }
}

impl FromIterator<Result<Event, ParseError>> for Parsed {
    fn from_iter<I: IntoIterator<Item = Result<Event, ParseError>>>(iter: I) -> Self {
        let mut parsed = Parsed::default();
        iter.into_iter().for_each(|r| parsed.push(r));
        parsed
    }
}

/// The name of a JSON value's type, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
