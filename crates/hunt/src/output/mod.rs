//! Hit sinks for people and programs: an aligned table, JSON lines, CSV.
//!
//! Every sink writes through a `std::io::Write` and never holds more than one hit. Text that came
//! from the logs is untrusted: the table replaces control characters (a computer name with terminal
//! escape sequences cannot repaint the analyst's screen), CSV quotes per RFC 4180 and neutralises
//! cells a spreadsheet would run as a formula (see [`CsvSink`]).

use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::HitSink;

mod csv;
mod jsonl;
mod table;

pub use csv::CsvSink;
pub use jsonl::JsonlSink;
pub use table::TableSink;

/// The output formats of `shield hunt --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "jsonl" | "ndjson" | "json" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!(
                "unknown format '{other}' (expected table, jsonl or csv)"
            )),
        }
    }
}

impl OutputFormat {
    /// A sink writing this format to `out`; `color` (table only) colours levels with ANSI codes.
    pub fn sink<'w>(self, out: Box<dyn Write + 'w>, color: bool) -> Box<dyn HitSink + 'w> {
        match self {
            OutputFormat::Table => Box::new(TableSink::new(out, color)),
            OutputFormat::Jsonl => Box::new(JsonlSink::new(out)),
            OutputFormat::Csv => Box::new(CsvSink::new(out)),
        }
    }
}

/// An event time as RFC 3339 UTC with the precision it has (`2019-03-19T23:36:52.123Z`).
pub(crate) fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        assert_eq!("TABLE".parse(), Ok(OutputFormat::Table));
        assert_eq!("jsonl".parse(), Ok(OutputFormat::Jsonl));
        assert_eq!("csv".parse(), Ok(OutputFormat::Csv));
        assert!("xml".parse::<OutputFormat>().is_err());
    }
}
