//! Errors that name where in the input they happened.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where in an input something happened: a file (or input name), and whichever of line, record
/// number and byte offset the format has. Displayed as `file:line: record N, offset M`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File path or input name (`http`, `syslog-udp 10.0.0.5:514`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line number, for line-oriented formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Record number (EVTX record id, index in a JSON array, message number on a stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// Byte offset in the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// A location in the named file or input.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: Some(file.into()),
            ..Location::default()
        }
    }

    /// The same location at a 1-based line.
    pub fn with_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// The same location at a record number.
    pub fn with_record(mut self, record: u64) -> Self {
        self.record = Some(record);
        self
    }

    /// The same location at a byte offset.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::with_capacity(3);
        let mut head = self.file.clone().unwrap_or_else(|| "<input>".to_owned());
        if let Some(line) = self.line {
            head.push_str(&format!(":{line}"));
        }
        parts.push(head);
        if let Some(record) = self.record {
            parts.push(format!("record {record}"));
        }
        if let Some(offset) = self.offset {
            parts.push(format!("offset {offset}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One record of untrusted input that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ParseError {
    /// Where the bad record is.
    pub location: Location,
    /// What is wrong with it, in words an operator understands.
    pub message: String,
}

impl ParseError {
    /// A parse error at `location`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        ParseError {
            location,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display_names_every_known_part() {
        let loc = Location::file("a.ndjson").with_line(3).with_offset(120);
        assert_eq!(loc.to_string(), "a.ndjson:3, offset 120");
        let loc = Location::file("x.evtx").with_record(42);
        assert_eq!(loc.to_string(), "x.evtx, record 42");
        assert_eq!(Location::default().to_string(), "<input>");
    }

    #[test]
    fn parse_error_display_starts_with_location() {
        let e = ParseError::new(Location::file("f").with_line(2), "expected value");
        assert_eq!(e.to_string(), "f:2: expected value");
    }
}
