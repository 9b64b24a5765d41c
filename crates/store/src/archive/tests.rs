//! Unit tests of batching and of the reader on hand-made segments; behaviour over real files is in
//! `tests/archive.rs`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use shield_event::{Event, Format};

use super::format::{FILE_HEADER_LEN, FrameHeader, TimeRange, file_header};
use super::*;

fn event(received_us: i64, payload: serde_json::Value) -> Event {
    let mut e = Event::new(payload, Arc::from("test"), Format::Json);
    e.meta.received = DateTime::<Utc>::from_timestamp_micros(received_us).unwrap();
    e
}

/// A segment in memory holding the given batches, one frame each.
fn segment_bytes(batches: &[Vec<Event>]) -> Vec<u8> {
    let mut out = file_header().to_vec();
    for batch in batches {
        for chunk in chunk_events(batch).unwrap() {
            let payload = zstd::bulk::compress(&chunk.lines, 3).unwrap();
            let h = FrameHeader::new(
                &payload,
                chunk.lines.len() as u32,
                chunk.events,
                chunk.received,
            );
            out.extend_from_slice(&h.encode());
            out.extend_from_slice(&payload);
        }
    }
    out
}

#[test]
fn the_archive_can_move_to_another_thread() {
    fn is_send<T: Send>() {}
    is_send::<EventArchive>();
    is_send::<ArchiveScan>();
}

#[test]
fn batches_become_chunks_with_their_time_range() {
    let batch = vec![
        event(30, json!({"a": 1})),
        event(10, json!({"a": 2})),
        event(20, json!({"a": 3})),
    ];
    let chunks = chunk_events(&batch).unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].events, 3);
    assert_eq!(chunks[0].received, TimeRange { min: 10, max: 30 });
    assert_eq!(chunks[0].lines.iter().filter(|&&b| b == b'\n').count(), 3);
    assert!(chunk_events(&[]).unwrap().is_empty());
}

#[test]
fn large_batches_are_cut_into_several_frames() {
    let blob = "x".repeat(1 << 20);
    let batch: Vec<Event> = (0..20)
        .map(|i| event(i, json!({"blob": blob, "i": i})))
        .collect();
    let chunks = chunk_events(&batch).unwrap();
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.lines.len() <= format::FRAME_TARGET));
    assert_eq!(chunks.iter().map(|c| c.events).sum::<u32>(), 20);
    let (events, errors) = read_segment_bytes(&segment_bytes(std::slice::from_ref(&batch)));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events, batch);
}

#[test]
fn reading_from_memory_round_trips_and_reports_damage() {
    let a = vec![event(1, json!({"n": 1})), event(2, json!({"n": 2}))];
    let b = vec![event(3, json!({"n": 3}))];
    let c = vec![event(4, json!({"n": 4}))];
    let bytes = segment_bytes(&[a.clone(), b.clone(), c.clone()]);
    let (events, errors) = read_segment_bytes(&bytes);
    assert!(errors.is_empty());
    assert_eq!(events, [a.clone(), b.clone(), c.clone()].concat());

    // Damage the second frame's header: it is reported at its offset, the third is still read.
    let second = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == format::FRAME_MAGIC)
        .map(|(i, _)| i)
        .nth(1)
        .unwrap();
    let mut bad = bytes.clone();
    bad[second + 5] ^= 0x10;
    let (events, errors) = read_segment_bytes(&bad);
    assert_eq!(events, [a, c].concat());
    assert_eq!(errors.len(), 1);
    match &errors[0] {
        StoreError::CorruptFrame { offset, reason, .. } => {
            assert_eq!(*offset, second as u64);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_record_that_is_not_an_event_is_reported_and_the_rest_read() {
    let lines = b"{\"not\": \"an event\"}\n".to_vec();
    let good = chunk_events(&[event(5, json!({"ok": true}))])
        .unwrap()
        .remove(0);
    let mut all = lines.clone();
    all.extend_from_slice(&good.lines);
    let payload = zstd::bulk::compress(&all, 3).unwrap();
    let h = FrameHeader::new(&payload, all.len() as u32, 2, TimeRange { min: 5, max: 5 });
    let mut bytes = file_header().to_vec();
    bytes.extend_from_slice(&h.encode());
    bytes.extend_from_slice(&payload);
    let (events, errors) = read_segment_bytes(&bytes);
    assert_eq!(events.len(), 1);
    assert_eq!(errors.len(), 1);
    let msg = errors[0].to_string();
    assert!(
        msg.contains(&format!("byte {FILE_HEADER_LEN}")) && msg.contains("record 0"),
        "{msg}"
    );
}

#[test]
fn hostile_bytes_never_panic() {
    let good = segment_bytes(&[
        vec![event(1, json!({"n": 1}))],
        vec![event(2, json!({"n": 2}))],
    ]);
    // Every truncation and a sweep of single-byte changes.
    for len in 0..good.len() {
        let _ = read_segment_bytes(&good[..len]);
    }
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] = bad[i].wrapping_add(0x5b);
        let (events, errors) = read_segment_bytes(&bad);
        assert!(
            events.len() + errors.len() >= 1,
            "damage at {i} went unnoticed"
        );
    }
    assert!(read_segment_bytes(b"").1.len() == 1);
}
