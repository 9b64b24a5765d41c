//! The event archive over real files: round trips, restarts, crash recovery, damage, retention and
//! time-range scans.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use shield_event::Event;
use shield_store::testsuite::sample_windows_event;
use shield_store::{ArchiveConfig, EventArchive, StoreError};

const HOUR: i64 = 3600;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

/// `n` events received at `secs`, `secs + 1`, …; ids start at `first`.
fn batch(first: u64, n: u64, secs: i64) -> Vec<Event> {
    (0..n)
        .map(|i| sample_windows_event(first + i, t(secs + i as i64)))
        .collect()
}

fn scan_all(archive: &EventArchive) -> (Vec<Event>, Vec<StoreError>) {
    scan_range(archive, None, None)
}

fn scan_range(
    archive: &EventArchive,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> (Vec<Event>, Vec<StoreError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for item in archive.scan(since, until).unwrap() {
        match item {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    (events, errors)
}

fn segments(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(data.join("archive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    files
}

/// Offsets of the frames of a segment, following the documented layout (16-byte file header, then
/// 40-byte frame headers with the payload length at byte 4).
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 16;
    while at + 40 <= bytes.len() && &bytes[at..at + 4] == b"SHFR" {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 40 + len;
    }
    out
}

fn forever() -> ArchiveConfig {
    ArchiveConfig {
        retention: Duration::ZERO,
        segment_max_age: Duration::ZERO,
        ..ArchiveConfig::default()
    }
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = EventArchive::open(dir.path(), ArchiveConfig::default()).unwrap();
    assert_eq!(scan_all(&archive).0.len(), 0);
    let (a, b, c) = (batch(0, 100, 0), batch(100, 1, 200), batch(101, 50, 300));
    for x in [&a, &b, &c] {
        archive.append(x).unwrap();
    }
    archive.append(&[]).unwrap();
    archive.sync().unwrap();
    let (events, errors) = scan_all(&archive);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events, [a, b, c].concat());

    let stats = archive.stats();
    assert_eq!((stats.segments, stats.events), (1, 151));
    assert!(stats.uncompressed_bytes > 151 * 900, "{stats:?}");
    assert!(
        stats.compressed_bytes * 4 < stats.uncompressed_bytes,
        "poor compression: {stats:?}"
    );
    assert_eq!((stats.oldest, stats.newest), (Some(t(0)), Some(t(349))));
    assert!(archive.torn_tail().is_none());
}

#[test]
fn restart_keeps_everything_and_appending_continues() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArchiveConfig {
        segment_max_bytes: 60_000,
        ..forever()
    };
    let mut expected = Vec::new();
    {
        let mut archive = EventArchive::open(dir.path(), cfg.clone()).unwrap();
        for i in 0..10 {
            let b = batch(i * 30, 30, i as i64 * 100);
            archive.append(&b).unwrap();
            expected.extend(b);
        }
        // Sealed by size along the way; the last one is left active (as at a crash).
        assert!(archive.stats().segments > 3);
    }
    let mut archive = EventArchive::open(dir.path(), cfg.clone()).unwrap();
    assert!(archive.torn_tail().is_none());
    let before = archive.stats();
    assert_eq!(before.events, 300);
    let (events, errors) = scan_all(&archive);
    assert!(errors.is_empty());
    assert_eq!(events, expected);

    let more = batch(1000, 5, 5000);
    archive.append(&more).unwrap();
    expected.extend(more);
    drop(archive);
    let archive = EventArchive::open(dir.path(), cfg).unwrap();
    assert_eq!(scan_all(&archive).0, expected);
    let names: Vec<String> = segments(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("seg-") && n.ends_with(".seg"))
    );
}

#[test]
fn a_torn_last_frame_is_cut_off_and_appending_continues() {
    // Cut inside the payload, inside the header, and right after the header.
    for cut_into_frame in [500usize, 20, 40] {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (batch(0, 20, 0), batch(20, 20, 100), batch(40, 3, 200));
        {
            let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
            archive.append(&a).unwrap();
            archive.append(&b).unwrap();
            archive.sync().unwrap();
        }
        let seg = &segments(dir.path())[0];
        let bytes = fs::read(seg).unwrap();
        let second = frame_offsets(&bytes)[1];
        fs::write(seg, &bytes[..second + cut_into_frame]).unwrap();

        let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
        let torn = archive.torn_tail().expect("torn tail reported").clone();
        assert_eq!(torn.offset, second as u64);
        assert_eq!(torn.dropped_bytes, cut_into_frame as u64);
        assert_eq!(fs::metadata(seg).unwrap().len(), second as u64);
        assert_eq!(scan_all(&archive).0, a);

        archive.append(&c).unwrap();
        drop(archive);
        let archive = EventArchive::open(dir.path(), forever()).unwrap();
        assert!(archive.torn_tail().is_none());
        let (events, errors) = scan_all(&archive);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(events, [a.clone(), c].concat());
        assert_eq!(
            archive.stats().segments,
            1,
            "recovery must keep using the same segment"
        );
    }
}

#[test]
fn garbage_after_the_last_frame_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let a = batch(0, 10, 0);
    {
        let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
        archive.append(&a).unwrap();
    }
    let seg = &segments(dir.path())[0];
    let len = fs::metadata(seg).unwrap().len();
    let mut bytes = fs::read(seg).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    fs::write(seg, bytes).unwrap();
    let archive = EventArchive::open(dir.path(), forever()).unwrap();
    assert_eq!(
        archive.torn_tail().map(|t| (t.offset, t.dropped_bytes)),
        Some((len, 4096))
    );
    assert_eq!(scan_all(&archive).0, a);
}

#[test]
fn a_flipped_bit_is_reported_with_segment_and_offset_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, d) = (
        batch(0, 10, 0),
        batch(10, 10, 100),
        batch(20, 10, 200),
        batch(30, 2, 300),
    );
    {
        let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
        for x in [&a, &b, &c] {
            archive.append(x).unwrap();
        }
    }
    let seg = segments(dir.path())[0].clone();
    let mut bytes = fs::read(&seg).unwrap();
    let second = frame_offsets(&bytes)[1];
    bytes[second + 40 + 100] ^= 0x04;
    fs::write(&seg, &bytes).unwrap();

    let check = |archive: &EventArchive, want: Vec<Event>| {
        let (events, errors) = scan_all(archive);
        assert_eq!(events, want);
        assert_eq!(errors.len(), 1, "{errors:?}");
        match &errors[0] {
            StoreError::CorruptFrame {
                segment, offset, ..
            } => {
                assert_eq!(segment, &seg);
                assert_eq!(*offset, second as u64);
            }
            other => panic!("unexpected error {other}"),
        }
        let message = errors[0].to_string();
        assert!(message.contains(&format!("byte {second}")), "{message}");
    };
    let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
    // Damage followed by a good frame is not a torn write: nothing is cut.
    assert!(archive.torn_tail().is_none());
    assert_eq!(fs::metadata(&seg).unwrap().len(), bytes.len() as u64);
    check(&archive, [a.clone(), c.clone()].concat());

    // Appending goes on in a new segment; the damaged one is kept as it is.
    archive.append(&d).unwrap();
    assert_eq!(segments(dir.path()).len(), 2);
    check(&archive, [a.clone(), c.clone(), d.clone()].concat());
    drop(archive);
    let archive = EventArchive::open(dir.path(), forever()).unwrap();
    check(&archive, [a, c, d].concat());
}

#[test]
fn a_damaged_frame_header_is_skipped_by_resynchronising() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (batch(0, 5, 0), batch(5, 5, 100), batch(10, 5, 200));
    let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
    for x in [&a, &b, &c] {
        archive.append(x).unwrap();
    }
    let seg = segments(dir.path())[0].clone();
    let mut bytes = fs::read(&seg).unwrap();
    let second = frame_offsets(&bytes)[1];
    bytes[second + 6] ^= 0xff; // the payload length
    fs::write(&seg, &bytes).unwrap();
    let (events, errors) = scan_all(&archive);
    assert_eq!(events, [a, c].concat());
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("header checksum"),
        "{}",
        errors[0]
    );
}

#[test]
fn segments_roll_by_age_of_receive_times() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArchiveConfig {
        segment_max_age: Duration::from_secs(3600),
        ..ArchiveConfig::default()
    };
    let mut archive = EventArchive::open(dir.path(), cfg).unwrap();
    archive.append(&batch(0, 2, 0)).unwrap();
    archive.append(&batch(2, 2, HOUR - 10)).unwrap();
    assert_eq!(archive.stats().segments, 1);
    archive.append(&batch(4, 2, HOUR)).unwrap();
    assert_eq!(archive.stats().segments, 2);
}

#[test]
fn retention_drops_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArchiveConfig {
        retention: Duration::from_secs(24 * 3600),
        segment_max_age: Duration::from_secs(3600),
        ..ArchiveConfig::default()
    };
    let mut archive = EventArchive::open(dir.path(), cfg.clone()).unwrap();
    // Segments: day 0 (2 of them), day 2, day 3 (active).
    let batches = [
        batch(0, 10, 0),
        batch(10, 10, 2 * HOUR),
        batch(20, 10, 48 * HOUR),
        batch(30, 10, 72 * HOUR),
    ];
    for b in &batches {
        archive.append(b).unwrap();
    }
    assert_eq!(archive.stats().segments, 4);
    let bytes_before = archive.stats().compressed_bytes;

    // At day 3, everything received before day 2 is past retention; day 2's segment is kept.
    let report = archive.apply_retention(t(72 * HOUR + 5)).unwrap();
    assert_eq!((report.segments_deleted, report.events_deleted), (2, 20));
    assert_eq!(
        report.bytes_deleted,
        bytes_before - archive.stats().compressed_bytes
    );
    assert_eq!(segments(dir.path()).len(), 2);
    assert_eq!(
        scan_all(&archive).0,
        [batches[2].clone(), batches[3].clone()].concat()
    );
    assert_eq!(
        archive
            .apply_retention(t(72 * HOUR + 5))
            .unwrap()
            .segments_deleted,
        0
    );

    // Much later: the active segment is sealed by age, then it too expires.
    let late = archive.apply_retention(t(100 * HOUR)).unwrap();
    assert_eq!((late.segments_deleted, late.events_deleted), (2, 20));
    assert_eq!(archive.stats().events, 0);
    archive.append(&batch(40, 1, 100 * HOUR)).unwrap();
    assert_eq!(archive.stats().segments, 1);
    drop(archive);
    let archive = EventArchive::open(dir.path(), cfg).unwrap();
    assert_eq!(scan_all(&archive).0, batch(40, 1, 100 * HOUR));
}

#[test]
fn zero_retention_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArchiveConfig {
        retention: Duration::ZERO,
        ..ArchiveConfig::default()
    };
    let mut archive = EventArchive::open(dir.path(), cfg).unwrap();
    archive.append(&batch(0, 3, 0)).unwrap();
    archive.append(&batch(3, 3, 10 * HOUR)).unwrap();
    let report = archive.apply_retention(t(10_000 * HOUR)).unwrap();
    assert_eq!(report.segments_deleted, 0);
    assert_eq!(archive.stats().events, 6);
}

#[test]
fn time_range_scans_skip_segments_and_frames_outside_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ArchiveConfig {
        segment_max_age: Duration::from_secs(3600),
        ..forever()
    };
    let mut archive = EventArchive::open(dir.path(), cfg).unwrap();
    let (h0, h2a, h2b) = (
        batch(0, 10, 0),
        batch(10, 10, 2 * HOUR),
        batch(20, 10, 2 * HOUR + 600),
    );
    for x in [&h0, &h2a, &h2b] {
        archive.append(x).unwrap();
    }
    // Damage the first segment, and the first frame of the second: scans that need neither must
    // not see the damage, which proves they were not read.
    let segs = segments(dir.path());
    assert_eq!(segs.len(), 2);
    for seg in &segs {
        let mut bytes = fs::read(seg).unwrap();
        let first = frame_offsets(&bytes)[0];
        bytes[first + 40 + 50] ^= 1;
        fs::write(seg, bytes).unwrap();
    }
    let (events, errors) = scan_range(&archive, Some(t(2 * HOUR + 600)), None);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events, h2b);

    // Bounds are [since, until) on receive time, event by event.
    let (events, errors) = scan_range(&archive, Some(t(2 * HOUR + 603)), Some(t(2 * HOUR + 606)));
    assert!(errors.is_empty());
    assert_eq!(events, h2b[3..6].to_vec());

    let (events, errors) = scan_range(&archive, None, Some(t(HOUR)));
    assert!(events.is_empty());
    assert_eq!(
        errors.len(),
        1,
        "the damaged first segment is read when in range"
    );
    assert_eq!(scan_all(&archive).1.len(), 2);
}

#[test]
fn a_file_that_is_not_a_segment_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("archive");
    fs::create_dir_all(&archive_dir).unwrap();
    let bogus = archive_dir.join("seg-00000000000000000000-0000000001.seg");
    fs::write(&bogus, b"this is not an archive segment at all").unwrap();
    fs::write(archive_dir.join("notes.txt"), b"ignored").unwrap();
    let mut archive = EventArchive::open(dir.path(), forever()).unwrap();
    let a = batch(0, 3, 0);
    archive.append(&a).unwrap();
    let (events, errors) = scan_all(&archive);
    assert_eq!(events, a);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .contains("not an event archive segment"),
        "{}",
        errors[0]
    );
    assert_eq!(
        fs::read(&bogus).unwrap(),
        b"this is not an archive segment at all"
    );
    assert_eq!(
        archive
            .apply_retention(t(1_000_000 * HOUR))
            .unwrap()
            .segments_deleted,
        0
    );
}
