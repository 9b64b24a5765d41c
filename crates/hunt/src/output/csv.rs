//! Comma-separated values, RFC 4180.

use std::io::{self, Write};

use crate::{Hit, HitSink};

/// The header row.
pub const CSV_HEADER: [&str; 10] = [
    "timestamp",
    "level",
    "kind",
    "rule_id",
    "rule_title",
    "tags",
    "computer",
    "path",
    "record_id",
    "fields",
];

/// Writes a header row, then one row per hit: the columns of [`CSV_HEADER`], tags joined with
/// `;`, `fields` as a JSON object (the values of the fields the rule names).
///
/// Cells are quoted when they hold a comma, a quote, a line break or leading/trailing spaces, with
/// quotes doubled. Log text is attacker-controlled and spreadsheets run cells that start with `=`,
/// `+`, `-`, `@`, a tab or a carriage return as formulas, so such cells get a leading `'` (the
/// usual neutralisation; the `'` is not part of the value).
pub struct CsvSink<W: Write> {
    out: W,
    row: Vec<u8>,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    /// A sink writing to `out` (buffer it: one `write_all` per row).
    pub fn new(out: W) -> Self {
        CsvSink {
            out,
            row: Vec::with_capacity(1024),
            header_written: false,
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let mut row = CSV_HEADER.join(",");
            row.push_str("\r\n");
            self.out.write_all(row.as_bytes())?;
        }
        Ok(())
    }
}

/// Appends `value` to `row` as one CSV cell (see [`CsvSink`]).
pub(crate) fn push_cell(row: &mut Vec<u8>, value: &str) {
    let formula = value
        .bytes()
        .next()
        .is_some_and(|b| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    let quote = formula
        || value.starts_with(' ')
        || value.ends_with(' ')
        || value
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        row.extend_from_slice(value.as_bytes());
        return;
    }
    row.push(b'"');
    if formula {
        row.push(b'\'');
    }
    for b in value.bytes() {
        if b == b'"' {
            row.push(b'"');
        }
        row.push(b);
    }
    row.push(b'"');
}

impl<W: Write> HitSink for CsvSink<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        self.header()?;
        let timestamp = hit
            .timestamp
            .as_ref()
            .map(super::rfc3339)
            .unwrap_or_default();
        let record = hit.record_id.map(|r| r.to_string()).unwrap_or_default();
        let fields = match (hit.fields, hit.correlation) {
            (Some(f), _) => serde_json::to_string(f)?,
            (None, Some(c)) => serde_json::to_string(c)?,
            (None, None) => String::new(),
        };
        let cells: [&str; 10] = [
            &timestamp,
            hit.rule.level.as_str(),
            hit.kind.as_str(),
            hit.rule.id,
            hit.rule.title,
            &hit.rule.tags.join(";"),
            hit.computer.unwrap_or(""),
            hit.path,
            &record,
            &fields,
        ];
        self.row.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.row.push(b',');
            }
            push_cell(&mut self.row, cell);
        }
        self.row.extend_from_slice(b"\r\n");
        self.out.write_all(&self.row)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(v: &str) -> String {
        let mut row = Vec::new();
        push_cell(&mut row, v);
        String::from_utf8(row).expect("utf-8")
    }

    #[test]
    fn cells_are_quoted_only_when_needed() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell(" padded"), "\" padded\"");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(cell("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(cell("@SUM(1)"), "\"'@SUM(1)\"");
        assert_eq!(cell("-2+3"), "\"'-2+3\"");
    }
}
