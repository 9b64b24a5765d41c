//! Reading files of any supported kind, for `shield ingest` and `shield hunt`.
//!
//! * [`detect_file_kind`] looks at the content first: `ElfFile\0` is EVTX; a first non-blank byte `[`
//!   is a JSON array; a first line that is a whole `{…}` object is NDJSON (`evtx_dump -o jsonl`,
//!   Winlogbeat file output); `{` otherwise is one or more pretty-printed objects; `Record N` is
//!   `evtx_dump -o json`. Only when the content says nothing (empty, or plain text) does the
//!   extension decide; plain text is read as syslog lines.
//! * [`read_file`] streams: NDJSON and syslog text are read line by line (lines over
//!   [`MAX_LINE`] are one error each and skipped without being buffered), EVTX chunk by chunk. JSON
//!   documents are read whole, refused above [`MAX_JSON_FILE`].
//! * [`discover_files`] expands folders recursively in sorted order, keeps the files with a supported
//!   extension ([`SUPPORTED_EXTENSIONS`], any case), follows symbolic links but never into a folder it
//!   has already visited, and returns each unreadable path as an error beside the files it found.
//!   Files named explicitly are kept whatever their extension.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::lines::{Line, LineReader};
use super::{ParseContext, json};
use crate::{Event, ParseError};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A Windows event log.
    Evtx,
    /// A JSON document: an array of objects, one object, or objects one after another (pretty or not,
    /// with `evtx_dump` `Record N` headers or not).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Text lines, each one syslog message (RFC 5424, RFC 3164, CEF or plain text).
    SyslogText,
}

/// Extensions [`discover_files`] keeps (compared without regard to case).
pub const SUPPORTED_EXTENSIONS: [&str; 6] = ["evtx", "json", "jsonl", "ndjson", "log", "txt"];
/// Largest JSON document (array or pretty-printed) read whole: 1 GiB. Larger data should be NDJSON.
pub const MAX_JSON_FILE: u64 = 1 << 30;
/// Longest line of an NDJSON or text file: 16 MiB.
pub const MAX_LINE: usize = 16 << 20;
/// How much of a file [`detect_file_kind`] looks at.
const SNIFF: u64 = 64 * 1024;
/// How deep [`discover_files`] descends.
const MAX_DEPTH: usize = 64;

/// A path that could not be read while discovering files.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct PathError {
    /// The path.
    pub path: PathBuf,
    /// What went wrong.
    pub error: io::Error,
}

/// What kind of file `path` is: by content first, then by extension (see the module docs).
pub fn detect_file_kind(path: &Path) -> io::Result<FileKind> {
    let mut head = Vec::new();
    File::open(path)?.take(SNIFF).read_to_end(&mut head)?;
    if head.starts_with(super::evtx::EVTX_MAGIC) {
        return Ok(FileKind::Evtx);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    let first_line = text
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default()
        .trim_ascii_end();
    let extension = extension(path);
    match text.first() {
        Some(b'[') => return Ok(FileKind::Json),
        Some(b'{') => {
            let whole_line = first_line.len() < text.len() || (head.len() as u64) < SNIFF;
            // A first line longer than what was read: trust an NDJSON extension.
            let ndjson = if whole_line {
                first_line.ends_with(b"}")
            } else {
                matches!(extension.as_deref(), Some("jsonl" | "ndjson"))
            };
            return Ok(if ndjson {
                FileKind::Ndjson
            } else {
                FileKind::Json
            });
        }
        _ if first_line.starts_with(b"Record ") => return Ok(FileKind::Json),
        _ => {}
    }
    Ok(match extension.as_deref() {
        Some("evtx") => FileKind::Evtx,
        Some("json") => FileKind::Json,
        Some("jsonl" | "ndjson") => FileKind::Ndjson,
        _ => FileKind::SyslogText,
    })
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// The events of a file of any supported kind, read as a stream. Fails when the file cannot be
/// opened, is not what its content claims (an `.evtx` without the EVTX header) or is a JSON document
/// larger than [`MAX_JSON_FILE`]; errors in its records come from the iterator. `ctx.path` defaults
/// to the file's path.
pub fn read_file(path: &Path, ctx: &ParseContext) -> Result<FileEvents, ParseError> {
    let ctx = ctx.clone().with_default_path(path);
    let io_error = |e: io::Error| ctx.error(|l| l, format!("cannot read file: {e}"));
    match detect_file_kind(path).map_err(io_error)? {
        FileKind::Evtx => Ok(Box::new(super::evtx::read_evtx_file(path, &ctx)?)),
        FileKind::Json => read_json(path, &ctx, MAX_JSON_FILE),
        kind @ (FileKind::Ndjson | FileKind::SyslogText) => {
            let file = File::open(path).map_err(io_error)?;
            Ok(Box::new(LineFile {
                lines: LineReader::new(BufReader::with_capacity(256 * 1024, file), MAX_LINE),
                ctx,
                syslog: kind == FileKind::SyslogText,
                done: false,
            }))
        }
    }
}

/// The events of a file, in file order (errors where records could not be parsed).
pub type FileEvents = Box<dyn Iterator<Item = Result<Event, ParseError>> + Send>;

/// A JSON document read whole, refused when larger than `limit` bytes.
fn read_json(path: &Path, ctx: &ParseContext, limit: u64) -> Result<FileEvents, ParseError> {
    let io_error = |e: io::Error| ctx.error(|l| l, format!("cannot read file: {e}"));
    let len = fs::metadata(path).map_err(io_error)?.len();
    if len > limit {
        return Err(ctx.error(
            |l| l,
            format!(
                "JSON document of {len} bytes is larger than the {limit}-byte limit; \
                 convert it to NDJSON (one object per line) to stream it"
            ),
        ));
    }
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(io_error)?
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    let parsed = json::parse_json_body(&bytes, ctx);
    Ok(Box::new(
        parsed
            .events
            .into_iter()
            .map(Ok)
            .chain(parsed.errors.into_iter().map(Err)),
    ))
}

/// An NDJSON or syslog text file, line by line.
struct LineFile {
    lines: LineReader<BufReader<File>>,
    ctx: ParseContext,
    syslog: bool,
    done: bool,
}

impl Iterator for LineFile {
    type Item = Result<Event, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.ctx.error(|l| l, format!("cannot read file: {e}"))));
                }
            };
            match line {
                Line::TooLong {
                    number,
                    offset,
                    len,
                } => {
                    return Some(Err(self.ctx.error(
                        |l| l.with_line(number).with_offset(offset),
                        format!(
                            "line of {len} bytes is longer than the {MAX_LINE}-byte limit; skipped"
                        ),
                    )));
                }
                Line::Text { bytes, .. } if bytes.iter().all(u8::is_ascii_whitespace) => {}
                Line::Text {
                    number,
                    offset,
                    bytes,
                } if self.syslog => {
                    let result = super::syslog::parse_syslog(bytes, &self.ctx, Utc::now());
                    return Some(match result {
                        Ok(mut event) => {
                            if let Some(source) = event.meta.source.as_mut() {
                                source.record_id = Some(number);
                            }
                            Ok(event)
                        }
                        Err(mut e) => {
                            e.location.line = Some(number);
                            e.location.offset = Some(offset + e.location.offset.unwrap_or(0));
                            Err(e)
                        }
                    });
                }
                Line::Text {
                    number,
                    offset,
                    bytes,
                } => {
                    return Some(json::ndjson_line(
                        bytes,
                        number,
                        offset,
                        &self.ctx,
                        Utc::now(),
                    ));
                }
            }
        }
        self.done = true;
        None
    }
}

/// The files under `paths`: folders expanded recursively (sorted, keeping supported extensions),
/// files named explicitly kept as they are; and the paths that could not be read.
pub fn discover_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathError>) {
    let mut walk = Walk::default();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk.dir(path, 0),
            Ok(_) => walk.file(path),
            Err(error) => walk.errors.push(PathError {
                path: path.clone(),
                error,
            }),
        }
    }
    (walk.files, walk.errors)
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    errors: Vec<PathError>,
    seen_dirs: HashSet<PathBuf>,
    seen_files: HashSet<PathBuf>,
}

impl Walk {
    fn file(&mut self, path: &Path) {
        let key = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.seen_files.insert(key) {
            self.files.push(path.to_path_buf());
        }
    }

    fn dir(&mut self, dir: &Path, depth: usize) {
        let canonical = match fs::canonicalize(dir) {
            Ok(c) => c,
            Err(error) => return self.fail(dir, error),
        };
        if !self.seen_dirs.insert(canonical) {
            return; // a symbolic-link loop, or a folder reached twice
        }
        if depth >= MAX_DEPTH {
            return self.fail(
                dir,
                io::Error::other(format!("folders nested deeper than {MAX_DEPTH}")),
            );
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => return self.fail(dir, error),
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(error) => self.fail(dir, error),
            }
        }
        paths.sort();
        for path in paths {
            // `metadata` follows symbolic links; a dangling one is an error.
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path, depth + 1),
                Ok(_)
                    if extension(&path)
                        .is_some_and(|e| SUPPORTED_EXTENSIONS.contains(&e.as_str())) =>
                {
                    self.file(&path)
                }
                Ok(_) => {}
                Err(error) => self.fail(&path, error),
            }
        }
    }

    fn fail(&mut self, path: &Path, error: io::Error) {
        self.errors.push(PathError {
            path: path.to_path_buf(),
            error,
        });
    }
}

#[cfg(test)]
mod tests;
