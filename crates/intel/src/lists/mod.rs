//! IOC lists: CSV files and one-indicator-per-line text, in and out.
//!
//! Import never fails as a whole: it answers the indicators that parsed plus one
//! [`ParseError`] per bad line, each naming the input and the line, so a typo on line 4,812 costs
//! one indicator, not the feed. At most [`MAX_ERRORS`] errors are kept (then one that says how many
//! more there were).
//!
//! * **Text** ([`import_text`]): one value per line; blank lines and lines starting with `#` or `//`
//!   are skipped, and ` # …` after a value is a comment. The kind is detected
//!   ([`crate::ioc::detect`], defanged forms included). Hosts-file lines (`0.0.0.0 evil.example`)
//!   give the host name.
//! * **CSV** ([`import_csv`]): RFC 4180 quoting; `,`, `;` or tab separated. A first row naming
//!   columns is a header: the value column is `value`, `indicator`, `ioc`, `observable`, … and the
//!   optional type column `type`, `ioc_type`, `indicator_type`, `kind`, … (names from
//!   [`IocKind::from_name`], so MISP and STIX type names work); a `comment`/`description` column is
//!   kept. Without a header, a single column is values, and two columns are `type,value` or
//!   `value,type`, whichever reads as a type (decided row by row); an empty type cell means
//!   "detect".
//! * **Export**: [`export_csv`] writes `type,value` rows that [`import_csv`] reads back;
//!   [`export_text`] writes one value per line.

mod csv;

use shield_event::{Location, ParseError};

use crate::ioc::{Ioc, IocKind, detect, truncate};

/// The most errors one import keeps.
pub const MAX_ERRORS: usize = 1000;

/// How a list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// CSV if the first content line holds a `,`, `;` or tab and is not one indicator as a whole,
    /// else text.
    Auto,
    /// Comma- (or semicolon-, tab-) separated values.
    Csv,
    /// One value per line.
    Text,
}

/// One indicator read from a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The indicator.
    pub ioc: Ioc,
    /// The 1-based line it was read from.
    pub line: u64,
    /// The row's comment (CSV comment column, or ` # …` after a text value).
    pub comment: Option<String>,
}

/// The result of an import: what parsed and what did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedList {
    /// The indicators, in input order.
    pub entries: Vec<ListEntry>,
    /// One error per bad line (at most [`MAX_ERRORS`] plus a summary).
    pub errors: Vec<ParseError>,
}

impl ImportedList {
    fn error(&mut self, source: &str, line: u64, message: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(ParseError::new(
                Location::file(source).with_line(line),
                message,
            ));
        } else if self.errors.len() == MAX_ERRORS {
            self.errors.push(ParseError::new(
                Location::file(source),
                "too many errors; the rest are not reported",
            ));
        }
    }
}

/// Imports a list written in `format`; `source` names it in errors (a file name, `upload`, …).
pub fn import(text: &str, format: ListFormat, source: &str) -> ImportedList {
    match format {
        ListFormat::Csv => import_csv(text, source),
        ListFormat::Text => import_text(text, source),
        ListFormat::Auto => {
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
                .unwrap_or("");
            // Strip a trailing comment before looking for separators; a line that is one
            // indicator as a whole (a URL with a comma in its query) is text.
            let first = first.split(" #").next().unwrap_or(first);
            if first.contains([',', ';', '\t']) && detect(first).is_none() {
                import_csv(text, source)
            } else {
                import_text(text, source)
            }
        }
    }
}

/// Imports one value per line (see the module docs).
pub fn import_text(text: &str, source: &str) -> ImportedList {
    let mut out = ImportedList::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let (value, comment) = match trimmed.find(" #").or_else(|| trimmed.find("\t#")) {
            Some(at) => (
                trimmed[..at].trim(),
                Some(trimmed[at + 2..].trim().to_owned()).filter(|c| !c.is_empty()),
            ),
            None => (trimmed, None),
        };
        let value = hosts_file_host(value).unwrap_or(value);
        match detect(value) {
            Some(ioc) => out.entries.push(ListEntry { ioc, line, comment }),
            None => out.error(
                source,
                line,
                format!(
                    "cannot tell what kind of indicator {:?} is",
                    truncate(value)
                ),
            ),
        }
    }
    out
}

/// `0.0.0.0 evil.example` / `127.0.0.1 evil.example` (a hosts-file block list) → the host.
fn hosts_file_host(value: &str) -> Option<&str> {
    let mut parts = value.split_whitespace();
    let addr = parts.next()?;
    let host = parts.next()?;
    let sink = matches!(addr, "0.0.0.0" | "127.0.0.1" | "::" | "::1");
    (sink && parts.next().is_none()).then_some(host)
}

const VALUE_COLUMNS: [&str; 9] = [
    "value",
    "indicator",
    "ioc",
    "observable",
    "ioc_value",
    "indicator_value",
    "observable_value",
    "data",
    "attribute",
];
const TYPE_COLUMNS: [&str; 8] = [
    "type",
    "ioc_type",
    "indicator_type",
    "kind",
    "attribute_type",
    "observable_type",
    "iocs_type",
    "datatype",
];
const COMMENT_COLUMNS: [&str; 4] = ["comment", "description", "note", "notes"];

struct Columns {
    value: usize,
    kind: Option<usize>,
    comment: Option<usize>,
}

fn header_columns(cells: &[String]) -> Option<Columns> {
    let names: Vec<String> = cells
        .iter()
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let find = |set: &[&str]| names.iter().position(|n| set.contains(&n.as_str()));
    let value = find(&VALUE_COLUMNS);
    let kind = find(&TYPE_COLUMNS);
    let comment = find(&COMMENT_COLUMNS);
    match (value, kind) {
        (Some(value), kind) => Some(Columns {
            value,
            kind,
            comment,
        }),
        (None, Some(kind)) => {
            // `type,<something>`: the first other column holds the values.
            let value = (0..names.len()).find(|&i| i != kind && Some(i) != comment)?;
            Some(Columns {
                value,
                kind: Some(kind),
                comment,
            })
        }
        (None, None) => None,
    }
}

/// The layout of a header-less file, from its first record.
fn guess_columns(cells: &[String]) -> Columns {
    let is_kind = |i: usize| {
        cells
            .get(i)
            .is_some_and(|c| IocKind::from_name(c).is_some() && detect(c).is_none())
    };
    if cells.len() >= 2 && is_kind(0) {
        Columns {
            value: 1,
            kind: Some(0),
            comment: None,
        }
    } else if cells.len() >= 2 && is_kind(1) {
        Columns {
            value: 0,
            kind: Some(1),
            comment: None,
        }
    } else {
        Columns {
            value: 0,
            kind: None,
            comment: None,
        }
    }
}

/// Imports a CSV list (see the module docs).
pub fn import_csv(text: &str, source: &str) -> ImportedList {
    let mut out = ImportedList::default();
    let (records, unclosed) = csv::records(text, csv::sniff_delimiter(text));
    let mut header: Option<Columns> = None;
    let mut first_row = true;
    for (line, cells) in records {
        let first = cells.first().map(|c| c.trim()).unwrap_or("");
        if cells.iter().all(|c| c.trim().is_empty()) || first.starts_with('#') {
            continue;
        }
        if std::mem::take(&mut first_row) {
            if let Some(columns) = header_columns(&cells) {
                header = Some(columns);
                continue;
            }
        }
        // Without a header each row says which of its cells is the type.
        let guessed;
        let cols = match &header {
            Some(cols) => cols,
            None => {
                guessed = guess_columns(&cells);
                &guessed
            }
        };
        let value = cells.get(cols.value).map(|c| c.trim()).unwrap_or("");
        if value.is_empty() {
            out.error(source, line, "empty value");
            continue;
        }
        let kind_cell = cols
            .kind
            .and_then(|k| cells.get(k))
            .map(|c| c.trim())
            .filter(|c| !c.is_empty());
        let parsed = match kind_cell {
            Some(name) => match IocKind::from_name(name) {
                Some(kind) => {
                    let refanged = crate::ioc::refang(value);
                    Ioc::new(kind, &refanged).map_err(|e| e.to_string())
                }
                None => Err(format!("unknown indicator type {:?}", truncate(name))),
            },
            None => detect(value).ok_or_else(|| {
                format!(
                    "cannot tell what kind of indicator {:?} is",
                    truncate(value)
                )
            }),
        };
        match parsed {
            Ok(ioc) => {
                let comment = cols
                    .comment
                    .and_then(|c| cells.get(c))
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty());
                out.entries.push(ListEntry { ioc, line, comment });
            }
            Err(message) => out.error(source, line, message),
        }
    }
    if let Some((line, message)) = unclosed {
        out.error(source, line, message);
    }
    out
}

/// Writes `type,value` CSV (with a header row) that [`import_csv`] reads back.
pub fn export_csv<'a>(iocs: impl IntoIterator<Item = &'a Ioc>) -> String {
    let mut out = String::from("type,value\n");
    for ioc in iocs {
        out.push_str(ioc.kind().as_str());
        out.push(',');
        out.push_str(&csv::field(ioc.value()));
        out.push('\n');
    }
    out
}

/// Writes one value per line. Values holding a line break (none that [`Ioc::new`] accepts) are
/// skipped, so the output always reads back line for line.
pub fn export_text<'a>(iocs: impl IntoIterator<Item = &'a Ioc>) -> String {
    let mut out = String::new();
    for ioc in iocs {
        if !ioc.value().contains(['\n', '\r']) {
            out.push_str(ioc.value());
            out.push('\n');
        }
    }
    out
}

/// Imports `bytes` as a list every way for fuzzing, and checks what must hold on any input: import
/// does not panic, every error names a line, and what was imported exports to CSV that reads back
/// to the same indicators.
pub fn fuzz_list(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    for format in [ListFormat::Auto, ListFormat::Csv, ListFormat::Text] {
        let list = import(text, format, "fuzz");
        for error in list.errors.iter().take(MAX_ERRORS) {
            assert!(
                error.location.line.is_some(),
                "error without a line: {error}"
            );
        }
        let iocs: Vec<Ioc> = list.entries.into_iter().map(|e| e.ioc).collect();
        let back = import_csv(&export_csv(&iocs), "fuzz-export");
        assert!(
            back.errors.is_empty(),
            "export did not read back: {:?}",
            back.errors
        );
        let again: Vec<Ioc> = back.entries.into_iter().map(|e| e.ioc).collect();
        assert_eq!(again, iocs, "export changed the indicators");
    }
}
