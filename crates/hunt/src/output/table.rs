//! Aligned columns for a terminal.

use std::io::{self, Write};

use shield_event::Level;

use crate::{Hit, HitKind, HitSink};

const TIME_WIDTH: usize = 20;
const LEVEL_WIDTH: usize = 8;
const TITLE_WIDTH: usize = 60;
const COMPUTER_WIDTH: usize = 24;

/// Writes a header line, then one line per hit: time (UTC, to the second), level, rule title,
/// computer, `file:record`. Long titles and computer names are cut with `…`; control characters in
/// any cell become `?`. With `color`, levels are coloured with ANSI codes (use it only when the
/// output is a terminal).
pub struct TableSink<W: Write> {
    out: W,
    color: bool,
    header_written: bool,
    line: String,
}

impl<W: Write> TableSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W, color: bool) -> Self {
        TableSink {
            out,
            color,
            header_written: false,
            line: String::with_capacity(256),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let line = format!(
                "{:<TIME_WIDTH$} {:<LEVEL_WIDTH$} {:<TITLE_WIDTH$} {:<COMPUTER_WIDTH$} SOURCE\n",
                "TIME", "LEVEL", "RULE", "COMPUTER"
            );
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

/// Short level names that fit the column.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Informational => "info",
        other => other.as_str(),
    }
}

fn level_color(level: Level) -> &'static str {
    match level {
        Level::Critical => "\x1b[1;35m",
        Level::High => "\x1b[1;31m",
        Level::Medium => "\x1b[33m",
        Level::Low => "\x1b[36m",
        Level::Informational => "\x1b[2m",
    }
}

/// Appends `text` cut to `width` characters (with `…`) and padded, control characters as `?`.
fn push_cell(line: &mut String, text: &str, width: usize) {
    let count = text.chars().count();
    let keep = if count > width { width - 1 } else { count };
    for c in text.chars().take(keep) {
        line.push(if c.is_control() { '?' } else { c });
    }
    if count > width {
        line.push('…');
    } else {
        line.extend(std::iter::repeat_n(' ', width - count));
    }
}

impl<W: Write> HitSink for TableSink<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        self.header()?;
        let line = &mut self.line;
        line.clear();
        let time = hit
            .timestamp
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".to_owned());
        push_cell(line, &time, TIME_WIDTH);
        line.push(' ');
        if self.color {
            line.push_str(level_color(hit.rule.level));
        }
        push_cell(line, level_name(hit.rule.level), LEVEL_WIDTH);
        if self.color {
            line.push_str("\x1b[0m");
        }
        line.push(' ');
        let title;
        let title = if hit.kind == HitKind::Correlation {
            title = format!("[correlation] {}", hit.rule.title);
            title.as_str()
        } else {
            hit.rule.title
        };
        push_cell(line, title, TITLE_WIDTH);
        line.push(' ');
        push_cell(line, hit.computer.unwrap_or("-"), COMPUTER_WIDTH);
        line.push(' ');
        let source = match hit.record_id {
            Some(r) => format!("{}:{r}", hit.path),
            None => hit.path.to_owned(),
        };
        line.extend(source.chars().map(|c| if c.is_control() { '?' } else { c }));
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_padded_and_cleaned() {
        let mut line = String::new();
        push_cell(&mut line, "abc", 5);
        assert_eq!(line, "abc  ");
        line.clear();
        push_cell(&mut line, "abcdefgh", 5);
        assert_eq!(line, "abcd…");
        line.clear();
        push_cell(&mut line, "a\x1b[2Jb", 8);
        assert_eq!(line, "a?[2Jb  ");
    }
}
