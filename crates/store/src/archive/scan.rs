//! [`ArchiveScan`]: the events of a time range, segment after segment.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use shield_event::Event;

use super::reader::SegmentEvents;
use crate::StoreError;

/// Iterator over archived events, oldest segment first, from [`super::EventArchive::scan`].
///
/// Yields `Err` for each damaged frame or record (naming the segment file and byte offset) and then
/// goes on with the next frame; it never stops early on damage. It owns its snapshot of the segment
/// list, so it can run on another thread while the archive keeps appending.
pub struct ArchiveScan {
    /// Segments still to read: path and where its frames end in the snapshot.
    pending: VecDeque<(PathBuf, u64)>,
    current: Option<SegmentEvents<BufReader<File>>>,
    since: i64,
    until: i64,
}

impl ArchiveScan {
    pub(crate) fn new(parts: Vec<(PathBuf, u64)>, since: i64, until: i64) -> Self {
        ArchiveScan {
            pending: parts.into(),
            current: None,
            since,
            until,
        }
    }

    /// Segments not yet started.
    pub fn segments_left(&self) -> usize {
        self.pending.len()
    }
}

impl Iterator for ArchiveScan {
    type Item = Result<Event, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(segment) = self.current.as_mut() {
                match segment.next() {
                    Some(item) => return Some(item),
                    None => self.current = None,
                }
            }
            let (path, end) = self.pending.pop_front()?;
            match File::open(&path) {
                Ok(file) => {
                    let reader = BufReader::with_capacity(256 << 10, file);
                    self.current = Some(SegmentEvents::new(
                        reader, path, end, self.since, self.until,
                    ));
                }
                // Deleted by retention since the snapshot: nothing left to read there.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Some(Err(StoreError::Io { path, source: e })),
            }
        }
    }
}
