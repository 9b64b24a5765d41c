//! Windows `.evtx` files, through the `evtx` crate.
//!
//! * Each record becomes a [`Format::Evtx`] event whose payload is the JSON the `evtx` crate renders
//!   (`{"Event":{"#attributes":…,"System":…,"EventData":…}}`, attributes under `#attributes`), and
//!   whose source is the file and the record id. Its time is `System.TimeCreated.SystemTime`, else the
//!   record header's time.
//! * The reader walks the file one 64 KiB chunk at a time (memory stays at about one chunk) with the
//!   crate's fastest settings: compact JSON, no checksum validation, no carving of deleted records.
//!   Records are rendered to JSON bytes and parsed once with `serde_json::from_slice` (the crate's
//!   `into_json_value` renders to a `String` and parses that, so this is the same work minus a UTF-8
//!   check).
//! * A corrupt chunk or record is one [`ParseError`] naming the file, the chunk's number and file
//!   offset, and the record id when known; reading goes on with the next record or chunk. A file that
//!   ends inside a chunk (truncated copy, log still being written) yields the records of that partial
//!   chunk that can be read, then an error saying the file is truncated.
//! * The decoder is third-party code fed hostile bytes: a panic inside it is caught per chunk and
//!   reported as that chunk's error, and a chunk yields at most [`MAX_RECORDS_PER_CHUNK`] items, so a
//!   damaged chunk can neither crash a node nor loop.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use serde_json::Value;

use super::{ParseContext, Parsed};
use crate::{Event, Format, ParseError};

/// The magic at the start of every `.evtx` file.
pub const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";
/// The magic at the start of every chunk.
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
/// The most items (records or errors) taken from one chunk. A record takes at least 24 bytes of a
/// 64 KiB chunk, so no genuine chunk comes near it.
pub const MAX_RECORDS_PER_CHUNK: usize = 4096;

type ChunkSource = Box<dyn Iterator<Item = evtx::err::Result<EvtxChunkData>> + Send>;

/// Events of an `.evtx` file, one chunk at a time; see the module docs.
pub struct EvtxReader {
    chunks: ChunkSource,
    settings: Arc<ParserSettings>,
    ctx: ParseContext,
    pending: VecDeque<Result<Event, ParseError>>,
    /// The partial chunk at the end of a truncated file: its number and bytes.
    tail: Option<(u64, Vec<u8>)>,
    /// Chunks seen, to number chunk errors that carry no number.
    seen: u64,
    done: bool,
}

impl std::fmt::Debug for EvtxReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvtxReader")
            .field("path", self.ctx.source_path())
            .field("chunks_seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// Opens an `.evtx` file. Fails when the file cannot be opened or is not an EVTX file; errors in
/// its chunks and records come from the iterator.
pub fn read_evtx_file(path: &Path, ctx: &ParseContext) -> Result<EvtxReader, ParseError> {
    let ctx = ctx.clone().with_default_path(path);
    let open_error =
        |what: &str, e: &dyn std::fmt::Display| ctx.error(|l| l, format!("{what}: {e}"));
    let mut file = File::open(path).map_err(|e| open_error("cannot open EVTX file", &e))?;
    let len = file
        .metadata()
        .map_err(|e| open_error("cannot read EVTX file", &e))?
        .len();
    let mut magic = [0u8; 8];
    if file.read_exact(&mut magic).is_err() || &magic != EVTX_MAGIC {
        return Err(ctx.error(
            |l| l.with_offset(0),
            "not an EVTX file (no `ElfFile` header)",
        ));
    }
    let tail = read_tail(&mut file, len).map_err(|e| open_error("cannot read EVTX file", &e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| open_error("cannot read EVTX file", &e))?;
    let settings = settings();
    let parser = EvtxParser::from_read_seek(file)
        .map_err(|e| {
            ctx.error(
                |l| l.with_offset(0),
                format!("invalid EVTX file header: {}", chain(&e)),
            )
        })?
        .with_configuration((*settings).clone());
    Ok(EvtxReader::new(
        Box::new(parser.into_chunks()),
        settings,
        ctx,
        tail,
    ))
}

/// Parses a whole `.evtx` file held in memory (an upload, a fuzz input). Never fails as a whole.
pub fn parse_evtx_bytes(bytes: &[u8], ctx: &ParseContext) -> Parsed {
    if !bytes.starts_with(EVTX_MAGIC) {
        return Parsed {
            events: Vec::new(),
            errors: vec![ctx.error(
                |l| l.with_offset(0),
                "not an EVTX file (no `ElfFile` header)",
            )],
        };
    }
    let tail = partial_chunk_at(bytes.len() as u64).and_then(|(number, start)| {
        let start = usize::try_from(start).ok()?;
        Some((number, bytes.get(start..)?.to_vec()))
    });
    let settings = settings();
    match EvtxParser::from_buffer(bytes.to_vec()) {
        Ok(parser) => {
            let parser = parser.with_configuration((*settings).clone());
            EvtxReader::new(Box::new(parser.into_chunks()), settings, ctx.clone(), tail).collect()
        }
        Err(e) => Parsed {
            events: Vec::new(),
            errors: vec![ctx.error(
                |l| l.with_offset(0),
                format!("invalid EVTX file header: {}", chain(&e)),
            )],
        },
    }
}

/// The parser settings: compact JSON with `#attributes`, no checksum validation. Chunks are read
/// on the calling thread (callers parallelise across files).
fn settings() -> Arc<ParserSettings> {
    Arc::new(
        ParserSettings::new()
            .separate_json_attributes(false)
            .indent(false)
            .validate_checksums(false)
            .recover_records(false),
    )
}

/// If a file of `len` bytes ends inside a chunk: that chunk's number and where it starts.
fn partial_chunk_at(len: u64) -> Option<(u64, u64)> {
    let chunk_bytes = len.checked_sub(FILE_HEADER_SIZE)?;
    (chunk_bytes % CHUNK_SIZE != 0).then(|| {
        let number = chunk_bytes / CHUNK_SIZE;
        (number, FILE_HEADER_SIZE + number * CHUNK_SIZE)
    })
}

fn read_tail(file: &mut File, len: u64) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let Some((number, start)) = partial_chunk_at(len) else {
        return Ok(None);
    };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((len - start) as usize);
    file.take(CHUNK_SIZE).read_to_end(&mut bytes)?;
    Ok(Some((number, bytes)))
}

/// The error and its sources, joined with `: `.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl EvtxReader {
    fn new(
        chunks: ChunkSource,
        settings: Arc<ParserSettings>,
        ctx: ParseContext,
        tail: Option<(u64, Vec<u8>)>,
    ) -> Self {
        EvtxReader {
            chunks,
            settings,
            ctx,
            pending: VecDeque::new(),
            tail,
            seen: 0,
            done: false,
        }
    }

    /// Reads the next chunk into `pending`; `false` when there are no more.
    fn read_next_chunk(&mut self) -> bool {
        match self.chunks.next() {
            Some(Ok(chunk)) => {
                let number = chunk.number.unwrap_or(self.seen);
                self.seen += 1;
                self.read_chunk(chunk, number, CHUNK_SIZE as usize);
                true
            }
            Some(Err(e)) => {
                let number = chunk_number_of(&e).unwrap_or(self.seen);
                self.seen += 1;
                let offset = chunk_offset(number);
                self.pending.push_back(Err(self.ctx.error(
                    |l| l.with_offset(offset),
                    format!("chunk {number}: {}", chain(&e)),
                )));
                true
            }
            None => match self.tail.take() {
                Some((number, bytes)) => {
                    self.read_partial_chunk(number, bytes);
                    true
                }
                None => false,
            },
        }
    }

    /// The last chunk of a truncated file: what can be read of it, then the truncation error.
    fn read_partial_chunk(&mut self, number: u64, mut bytes: Vec<u8>) {
        let len = bytes.len();
        if bytes.starts_with(CHUNK_MAGIC) {
            bytes.resize(CHUNK_SIZE as usize, 0);
            match EvtxChunkData::new(bytes, false) {
                Ok(chunk) => self.read_chunk(chunk, number, len),
                Err(e) => {
                    let offset = chunk_offset(number);
                    self.pending.push_back(Err(self.ctx.error(
                        |l| l.with_offset(offset),
                        format!("chunk {number}: {}", chain(&e)),
                    )));
                }
            }
        }
        let offset = chunk_offset(number) + len as u64;
        self.pending.push_back(Err(self.ctx.error(
            |l| l.with_offset(offset),
            format!(
                "EVTX file is truncated: it ends {len} bytes into chunk {number} (of {CHUNK_SIZE}); \
                 records past that point are lost"
            ),
        )));
    }

    /// Reads the records of chunk `number` whose bytes lie within its first `valid` bytes (the
    /// rest of a partial chunk is zero padding).
    fn read_chunk(&mut self, mut chunk: EvtxChunkData, number: u64, valid: usize) {
        let ctx = &self.ctx;
        let settings = Arc::clone(&self.settings);
        let offset = chunk_offset(number);
        let pending = &mut self.pending;
        let before = pending.len();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut parsed = match chunk.parse(settings) {
                Ok(parsed) => parsed,
                Err(e) => {
                    pending.push_back(Err(ctx.error(
                        |l| l.with_offset(offset),
                        format!("chunk {number}: {}", chain(&e)),
                    )));
                    return;
                }
            };
            let received = Utc::now();
            for (count, record) in parsed.iter().enumerate() {
                if count == MAX_RECORDS_PER_CHUNK {
                    pending.push_back(Err(ctx.error(
                        |l| l.with_offset(offset),
                        format!(
                            "chunk {number}: more than {MAX_RECORDS_PER_CHUNK} records; \
                             rest of chunk skipped"
                        ),
                    )));
                    break;
                }
                if let Ok(r) = &record {
                    if r.binxml_offset.saturating_add(u64::from(r.binxml_size)) > valid as u64 {
                        break;
                    }
                }
                if let Err(evtx::err::EvtxError::FailedToReadRecordAt { offset: at, .. }) = &record
                {
                    if *at >= valid as u64 {
                        break;
                    }
                }
                pending.push_back(record_event(record, number, offset, ctx, received));
            }
        }));
        if outcome.is_err() {
            pending.truncate(before);
            pending.push_back(Err(self.ctx.error(
                |l| l.with_offset(offset),
                format!("chunk {number}: the EVTX decoder failed on this chunk; chunk skipped"),
            )));
        }
    }
}

/// One record of chunk `number` (at file offset `offset`) as an event.
fn record_event(
    record: evtx::err::Result<evtx::EvtxRecord<'_>>,
    number: u64,
    offset: u64,
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, ParseError> {
    let record = record.map_err(|e| record_error(&e, number, offset, ctx))?;
    let record_id = record.event_record_id;
    let written = DateTime::from_timestamp_micros(record.timestamp.as_microsecond());
    let rendered = record
        .into_json_bytes()
        .map_err(|e| record_error(&e, number, offset, ctx))?;
    let data: Value = serde_json::from_slice(&rendered.data).map_err(|e| {
        ctx.error(
            |l| l.with_record(record_id).with_offset(offset),
            format!("chunk {number}: record {record_id} rendered invalid JSON: {e}"),
        )
    })?;
    if !data.is_object() {
        return Err(ctx.error(
            |l| l.with_record(record_id).with_offset(offset),
            format!("chunk {number}: record {record_id} is not a JSON object"),
        ));
    }
    let timestamp = crate::time::event_time(&data).or(written);
    Ok(ctx.event(data, Format::Evtx, Some(record_id), received, timestamp))
}

fn record_error(
    e: &evtx::err::EvtxError,
    number: u64,
    chunk_offset: u64,
    ctx: &ParseContext,
) -> ParseError {
    use evtx::err::EvtxError;
    let (record, offset) = match e {
        EvtxError::FailedToParseRecord { record_id, .. } => (Some(*record_id), chunk_offset),
        EvtxError::FailedToReadRecordAt { offset, .. } => (None, chunk_offset + offset),
        _ => (None, chunk_offset),
    };
    ctx.error(
        |l| {
            let l = l.with_offset(offset);
            match record {
                Some(r) => l.with_record(r),
                None => l,
            }
        },
        format!("chunk {number}: {}", chain(e)),
    )
}

fn chunk_number_of(e: &evtx::err::EvtxError) -> Option<u64> {
    match e {
        evtx::err::EvtxError::FailedToParseChunk { chunk_id, .. } => Some(*chunk_id),
        _ => None,
    }
}

fn chunk_offset(number: u64) -> u64 {
    FILE_HEADER_SIZE.saturating_add(number.saturating_mul(CHUNK_SIZE))
}

impl Iterator for EvtxReader {
    type Item = Result<Event, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done || !self.read_next_chunk() {
                self.done = true;
                return None;
            }
        }
    }
}
