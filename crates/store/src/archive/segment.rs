//! Segment files: names, discovery at open, crash recovery of the active segment, appending, sealing.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameHeader, Totals, encode_footer, file_header,
};
use super::reader::{FrameWalker, Step, frames_end, totals_from_headers};
use crate::StoreError;

/// A segment no longer written to.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub path: PathBuf,
    /// Its sequence number (from the file name).
    pub seq: u64,
    /// Where its frames end (before the footer, if any).
    pub frames_end: u64,
    pub file_len: u64,
    /// `None` when the file is not a readable segment at all (kept, and reported by scans).
    pub totals: Option<Totals>,
}

/// The segment being appended to.
pub(crate) struct Active {
    pub path: PathBuf,
    /// Its sequence number (from the file name).
    pub seq: u64,
    pub file: File,
    /// Bytes written (= where the next frame goes).
    pub len: u64,
    pub totals: Totals,
}

/// A torn tail cut off the active segment at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment.
    pub segment: PathBuf,
    /// Where the damaged last frame started; the file now ends here.
    pub offset: u64,
    /// Bytes removed.
    pub dropped_bytes: u64,
}

/// The file name of segment `seq` whose first event was received at `first_micros`: both parts are
/// zero-padded so that names sort by time and sequence.
pub(crate) fn segment_name(first_micros: i64, seq: u64) -> String {
    format!("seg-{:020}-{seq:010}.seg", first_micros.max(0))
}

/// The sequence number of a segment file name, `None` for other files.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("seg-")?.strip_suffix(".seg")?;
    let (micros, seq) = rest.split_once('-')?;
    if micros.len() != 20 || !micros.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

/// The segment files of `dir`, by sequence number.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_name) {
            found.push((seq, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Describes a segment that will not be written to.
pub(crate) fn open_sealed(path: PathBuf, seq: u64) -> Result<Sealed, StoreError> {
    let mut file = File::open(&path).map_err(StoreError::io(&path))?;
    let file_len = file.metadata().map_err(StoreError::io(&path))?.len();
    let (end, footer) = frames_end(&mut file, file_len).map_err(StoreError::io(&path))?;
    let totals = match footer {
        Some(t) => Some(t),
        None if has_valid_file_header(&mut file, file_len) => {
            Some(totals_from_headers(&mut file, end).map_err(StoreError::io(&path))?)
        }
        None => None,
    };
    Ok(Sealed {
        path,
        seq,
        frames_end: end,
        file_len,
        totals,
    })
}

fn has_valid_file_header(file: &mut File, len: u64) -> bool {
    let mut h = [0u8; FILE_HEADER_LEN as usize];
    len >= FILE_HEADER_LEN
        && file.seek(SeekFrom::Start(0)).is_ok()
        && std::io::Read::read_exact(file, &mut h).is_ok()
        && super::format::check_file_header(&h).is_ok()
}

/// What opening the last segment found.
pub(crate) enum LastSegment {
    /// Sealed (has a footer) or damaged in the middle: read-only from now on.
    Sealed(Sealed),
    /// Reopened for appending, possibly after cutting a torn tail.
    Active(Active, Option<TornTail>),
}

/// Opens the newest segment for appending, recovering from a crash: frames are checked (header and
/// payload checksum) from the start; at the first bad one, if no valid frame follows it the bad bytes
/// are a torn write and are cut off. If a valid frame does follow, the damage is not a torn write:
/// the file is left untouched and treated as sealed, so nothing readable is destroyed.
pub(crate) fn open_last(path: PathBuf, seq: u64) -> Result<LastSegment, StoreError> {
    let io = |e| StoreError::Io {
        path: path.clone(),
        source: e,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let (_, footer) = frames_end(&mut file, file_len).map_err(io)?;
    if footer.is_some() {
        return open_sealed(path, seq).map(LastSegment::Sealed);
    }
    if file_len < FILE_HEADER_LEN {
        // Crashed while creating it: start it again if what is there is a prefix of our header.
        let mut head = vec![0u8; file_len as usize];
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        std::io::Read::read_exact(&mut file, &mut head).map_err(io)?;
        if !file_header().starts_with(&head) {
            return open_sealed(path, seq).map(LastSegment::Sealed);
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&file_header()).map_err(io)?;
        file.sync_data().map_err(io)?;
        let tail = TornTail {
            segment: path.clone(),
            offset: 0,
            dropped_bytes: 0,
        };
        return Ok(LastSegment::Active(
            Active {
                path,
                seq,
                file,
                len: FILE_HEADER_LEN,
                totals: Totals::default(),
            },
            (file_len > 0).then_some(tail),
        ));
    }
    if !has_valid_file_header(&mut file, file_len) {
        return open_sealed(path, seq).map(LastSegment::Sealed);
    }

    let mut totals = Totals::default();
    let mut payload = Vec::new();
    let mut walker = FrameWalker::new(&mut file, FILE_HEADER_LEN, file_len);
    let mut good_end = FILE_HEADER_LEN;
    let mut torn = false;
    loop {
        match walker.next_header().map_err(io)? {
            Step::End => break,
            Step::Frame { offset, header } => {
                if walker.read_payload(&header, &mut payload).map_err(io)? {
                    totals.add(&header);
                    good_end = walker.position();
                } else if walker.find_header(offset + 1).map_err(io)?.is_none() {
                    torn = true;
                    break;
                } else {
                    return open_sealed(path, seq).map(LastSegment::Sealed);
                }
            }
            Step::Damaged { resume: None, .. } => {
                torn = true;
                break;
            }
            Step::Damaged {
                resume: Some(_), ..
            } => return open_sealed(path, seq).map(LastSegment::Sealed),
        }
    }
    let tail = if torn || good_end < file_len {
        file.set_len(good_end).map_err(io)?;
        file.sync_all().map_err(io)?;
        Some(TornTail {
            segment: path.clone(),
            offset: good_end,
            dropped_bytes: file_len - good_end,
        })
    } else {
        None
    };
    file.seek(SeekFrom::Start(good_end)).map_err(io)?;
    Ok(LastSegment::Active(
        Active {
            path,
            seq,
            file,
            len: good_end,
            totals,
        },
        tail,
    ))
}

/// Creates segment `seq` in `dir`.
pub(crate) fn create(dir: &Path, first_micros: i64, seq: u64) -> Result<Active, StoreError> {
    let path = dir.join(segment_name(first_micros, seq));
    let io = |e| StoreError::Io {
        path: path.clone(),
        source: e,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(&file_header()).map_err(io)?;
    sync_dir(dir)?;
    Ok(Active {
        path,
        seq,
        file,
        len: FILE_HEADER_LEN,
        totals: Totals::default(),
    })
}

impl Active {
    /// Appends one frame. On failure the file is cut back to its previous length (best effort) and
    /// the error returned; the caller then stops appending to this segment.
    pub fn append_frame(&mut self, header: &FrameHeader, payload: &[u8]) -> Result<(), StoreError> {
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
        frame.extend_from_slice(&header.encode());
        frame.extend_from_slice(payload);
        if let Err(e) = self.file.write_all(&frame) {
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(StoreError::Io {
                path: self.path.clone(),
                source: e,
            });
        }
        self.len += frame.len() as u64;
        self.totals.add(header);
        Ok(())
    }

    /// Writes the footer and syncs: the segment is complete.
    pub fn seal(mut self) -> Result<Sealed, StoreError> {
        let footer = encode_footer(&self.totals, self.len);
        let io = |e| StoreError::Io {
            path: self.path.clone(),
            source: e,
        };
        self.file.write_all(&footer).map_err(io)?;
        self.file.sync_all().map_err(io)?;
        Ok(Sealed {
            frames_end: self.len,
            file_len: self.len + footer.len() as u64,
            totals: Some(self.totals),
            path: self.path,
            seq: self.seq,
        })
    }

    /// Gives up on this segment without a footer (after a failed write): readers and the next open
    /// treat it like a crashed one.
    pub fn abandon(self) -> Sealed {
        Sealed {
            frames_end: self.len,
            file_len: self.len,
            totals: Some(self.totals),
            path: self.path,
            seq: self.seq,
        }
    }
}

/// Makes a directory entry change (create, delete) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_parse() {
        let a = segment_name(1_714_521_600_000_000, 2);
        let b = segment_name(1_714_521_600_000_001, 10);
        assert!(a < b);
        assert_eq!(a, "seg-00001714521600000000-0000000002.seg");
        assert_eq!(parse_segment_name(&a), Some(2));
        assert_eq!(
            segment_name(-5, 1),
            "seg-00000000000000000000-0000000001.seg"
        );
        for bad in [
            "seg-1-2.seg",
            "seg-00001714521600000000-.seg",
            "x.seg",
            "seg-00001714521600000000-2.zst",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }
}
