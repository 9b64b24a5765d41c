//! The journal side of the archive over real files: positions, rolls, torn tails, replay scans.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use shield_event::{Event, Format};

use super::*;
use crate::ArchiveConfig;

fn event(i: u64) -> Event {
    let mut e = Event::new(
        json!({"i": i, "pad": "x".repeat(200)}),
        Arc::from("http"),
        Format::Json,
    );
    e.meta.received = DateTime::<Utc>::from_timestamp_micros(1_700_000_000_000_000 + i as i64)
        .unwrap_or_default();
    e
}

fn batch(first: u64, n: u64) -> Vec<Event> {
    (first..first + n).map(event).collect()
}

/// Small segments, no age limit, no retention.
fn small_segments(max_bytes: u64) -> ArchiveConfig {
    ArchiveConfig {
        retention: Duration::ZERO,
        segment_max_bytes: max_bytes,
        segment_max_age: Duration::ZERO,
        zstd_level: 3,
    }
}

fn ids(frames: &[JournalFrame]) -> Vec<u64> {
    frames
        .iter()
        .flat_map(|f| f.events.iter().map(|e| e.data["i"].as_u64().unwrap()))
        .collect()
}

fn all_frames(archive: &EventArchive, from: FramePosition) -> Vec<JournalFrame> {
    archive
        .frames_from(from)
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn append(archive: &mut EventArchive, events: &[Event]) -> Vec<AppendedFrame> {
    let encoded = encode_batch(events, 3).unwrap();
    assert_eq!(encoded.frame_events().sum::<usize>(), events.len());
    archive.append_encoded(&encoded).unwrap()
}

#[test]
fn positions_print_parse_and_order_by_segment_then_offset() {
    let a = FramePosition {
        segment: 2,
        offset: 900,
    };
    let b = FramePosition {
        segment: 3,
        offset: 16,
    };
    assert!(a < b);
    assert_eq!(a.to_string(), "2:900");
    assert_eq!("2:900".parse::<FramePosition>().unwrap(), a);
    for bad in ["", "2", "2:", ":5", "x:5", "2:-1", "2:5:6"] {
        assert!(bad.parse::<FramePosition>().is_err(), "{bad}");
    }
}

#[test]
fn appended_frames_follow_each_other_and_replay_from_any_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    let first_end = archive.end_position();
    let a = append(&mut archive, &batch(0, 10));
    let b = append(&mut archive, &batch(10, 5));
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].start, first_end,
        "the first frame goes where end_position said"
    );
    assert_eq!(a[0].end, b[0].start, "frames are contiguous");
    assert_eq!(archive.end_position(), b[0].end);
    assert_eq!((a[0].events, b[0].events), (10, 5));
    archive.sync().unwrap();

    let from_start = all_frames(&archive, FramePosition::default());
    assert_eq!(ids(&from_start), (0..15).collect::<Vec<_>>());
    assert_eq!(from_start[1].start, b[0].start);
    assert_eq!(from_start[1].end, b[0].end);
    let from_second = all_frames(&archive, b[0].start);
    assert_eq!(ids(&from_second), (10..15).collect::<Vec<_>>());
    assert!(
        all_frames(&archive, b[0].end).is_empty(),
        "nothing after the end"
    );

    // Reopened, the archive ends where it ended and replays the same.
    drop(archive);
    let archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    assert_eq!(archive.end_position(), b[0].end);
    assert!(archive.torn_tail().is_none());
    assert_eq!(
        ids(&all_frames(&archive, a[0].end)),
        (10..15).collect::<Vec<_>>()
    );
}

#[test]
fn segments_roll_and_positions_keep_their_order_across_them() {
    let dir = tempfile::tempdir().unwrap();
    // About 2.5 KB of JSON per batch of 10: a segment takes two batches.
    let mut archive = EventArchive::open_dir(dir.path(), small_segments(6_000)).unwrap();
    let mut placed = Vec::new();
    for i in 0..8 {
        placed.extend(append(&mut archive, &batch(i * 10, 10)));
    }
    archive.sync().unwrap();
    let segments: std::collections::BTreeSet<u64> =
        placed.iter().map(|f| f.start.segment).collect();
    assert!(segments.len() >= 3, "segments rolled: {segments:?}");
    assert!(placed.windows(2).all(|w| w[0].start < w[1].start));
    let rolled = placed
        .windows(2)
        .find(|w| w[0].start.segment != w[1].start.segment)
        .unwrap();
    assert_eq!(
        rolled[1].start.offset, FILE_HEADER_LEN,
        "a new segment starts after its header"
    );

    // Replay from a frame in a later segment reads that frame and every later one, in order.
    let from = placed[5].start;
    let frames = all_frames(&archive, from);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].start, from);
    assert_eq!(ids(&frames), (50..80).collect::<Vec<_>>());

    // The journal's clean-up deletes only sealed segments wholly before the watermark.
    let report = archive.delete_sealed_before(from).unwrap();
    assert_eq!(
        report.segments_deleted as u64,
        from.segment - placed[0].start.segment
    );
    let left = all_frames(&archive, FramePosition::default());
    assert_eq!(
        left[0].start.segment, from.segment,
        "earlier segments are gone"
    );
    assert_eq!(
        ids(&all_frames(&archive, from)),
        (50..80).collect::<Vec<_>>()
    );
    drop(archive);
    let archive = EventArchive::open_dir(dir.path(), small_segments(6_000)).unwrap();
    assert_eq!(
        ids(&all_frames(&archive, from)),
        (50..80).collect::<Vec<_>>()
    );
}

#[test]
fn a_torn_tail_is_cut_and_reported_and_synced_frames_replay_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    let a = append(&mut archive, &batch(0, 20));
    let b = append(&mut archive, &batch(20, 20));
    archive.sync().unwrap();
    let path = archive.active.as_ref().unwrap().path.clone();
    drop(archive);

    // A crash in the middle of the next append: a frame header's worth of garbage, then some.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let garbage = b"SHFR\x10\x00\x00\x00garbage that is not a frame";
    file.write_all(garbage).unwrap();
    drop(file);

    let mut archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    let torn = archive.torn_tail().cloned().unwrap();
    assert_eq!(torn.offset, b[0].end.offset);
    assert_eq!(torn.dropped_bytes, garbage.len() as u64);
    assert_eq!(
        archive.end_position(),
        b[0].end,
        "the next frame goes where the torn one was"
    );
    assert_eq!(
        ids(&all_frames(&archive, a[0].start)),
        (0..40).collect::<Vec<_>>()
    );
    let c = append(&mut archive, &batch(40, 1));
    assert_eq!(c[0].start, b[0].end);
    archive.sync().unwrap();
    assert_eq!(ids(&all_frames(&archive, c[0].start)), vec![40]);
}

#[test]
fn a_damaged_frame_is_reported_and_replay_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    let a = append(&mut archive, &batch(0, 5));
    append(&mut archive, &batch(5, 5));
    archive.sync().unwrap();
    let path = archive.active.as_ref().unwrap().path.clone();
    // Flip a payload byte of the first frame.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = a[0].start.offset as usize + 40 + 3;
    bytes[at] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let items: Vec<_> = archive.frames_from(FramePosition::default()).collect();
    assert_eq!(items.len(), 2);
    let err = items[0].as_ref().unwrap_err().to_string();
    assert!(
        err.contains("checksum") && err.contains(&format!("byte {}", a[0].start.offset)),
        "{err}"
    );
    let second = items[1].as_ref().unwrap();
    assert_eq!(second.events.len(), 5);
}

#[test]
fn continue_after_moves_past_a_recorded_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open_dir(dir.path(), small_segments(64 << 20)).unwrap();
    append(&mut archive, &batch(0, 3));
    let recorded = FramePosition {
        segment: 40,
        offset: 1234,
    };
    assert!(archive.continue_after(recorded).unwrap());
    let next = append(&mut archive, &batch(3, 1));
    assert!(next[0].start > recorded, "{:?}", next[0].start);
    assert!(
        !archive.continue_after(recorded).unwrap(),
        "already past it"
    );
    archive.sync().unwrap();
    assert_eq!(ids(&all_frames(&archive, recorded)), vec![3]);
}
