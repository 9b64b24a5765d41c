//! The EVTX reader over the shared real-world samples (`$SHIELD_SHARED_DATA/evtx`), including partly
//! corrupt files and a deliberately truncated copy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use shield_event::parse::{
    ParseContext, discover_files, parse_evtx_bytes, read_evtx_file, read_file,
};
use shield_event::{Event, Format, ParseError};

/// `$SHIELD_SHARED_DATA/<sub>`, `None` (with a message) when the variable is unset; a test fails
/// when it is set but the folder is missing.
fn shared(sub: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping: SHIELD_SHARED_DATA not set");
        return None;
    };
    let path = Path::new(&root).join(sub);
    assert!(
        path.is_dir(),
        "SHIELD_SHARED_DATA is set but {} is missing",
        path.display()
    );
    Some(path)
}

fn evtx_files(dir: &Path) -> Vec<PathBuf> {
    let (files, errors) = discover_files(&[dir.to_path_buf()]);
    assert!(errors.is_empty(), "{errors:?}");
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect()
}

fn read_all(path: &Path) -> (Vec<Event>, Vec<ParseError>) {
    let ctx = ParseContext::new("file").with_org("acme");
    let reader = read_evtx_file(path, &ctx).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for item in reader {
        match item {
            Ok(event) => events.push(event),
            Err(error) => errors.push(error),
        }
    }
    (events, errors)
}

#[test]
fn every_shared_evtx_file_reads_without_panic() {
    let Some(dir) = shared("evtx") else { return };
    let files = evtx_files(&dir);
    assert!(files.len() >= 278, "found {} .evtx files", files.len());
    let started = Instant::now();
    let (mut total, mut attack_samples, mut error_count) = (0usize, 0usize, 0usize);
    for path in &files {
        let (events, errors) = read_all(path);
        let name = path.to_string_lossy();
        for event in &events {
            assert_eq!(event.meta.format, Format::Evtx);
            let source = event.meta.source.as_ref().expect("source");
            assert_eq!(source.path.as_ref(), name.as_ref());
            assert!(source.record_id.is_some());
            assert!(
                event.path("Event.System").is_some(),
                "{}: {}",
                name,
                event.data
            );
            assert!(event.meta.timestamp.is_some(), "{name}: no timestamp");
            assert_eq!(event.meta.org.as_deref(), Some("acme"));
        }
        for error in &errors {
            assert_eq!(
                error.location.file.as_deref(),
                Some(name.as_ref()),
                "{error}"
            );
            assert!(error.location.offset.is_some(), "{error}");
            assert!(error.message.contains("chunk"), "{error}");
        }
        total += events.len();
        error_count += errors.len();
        if name.contains("evtx-attack-samples") {
            attack_samples += events.len();
        }
    }
    eprintln!(
        "{} files: {total} records, {error_count} errors in {:?}",
        files.len(),
        started.elapsed()
    );
    assert!(
        attack_samples > 7_000,
        "only {attack_samples} records in evtx-attack-samples"
    );
    assert!(total >= attack_samples);
}

#[test]
fn evtx_records_carry_the_crate_json_layout() {
    let Some(dir) = shared("evtx") else { return };
    let path = dir.join("evtx-attack-samples/UACME_59_Sysmon.evtx");
    let (events, errors) = read_all(&path);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!events.is_empty());
    let first = &events[0];
    assert!(
        first.path("Event.#attributes.xmlns").is_some(),
        "{}",
        first.data
    );
    assert_eq!(
        first.field("Provider_Name").and_then(|v| v.as_str()),
        Some("Microsoft-Windows-Sysmon")
    );
    // The source names the record header's id (what `evtx_dump` prints as `Record N`); a saved
    // log renumbers those from 1 while `System.EventRecordID` keeps the original number.
    assert!(
        first
            .field("EventRecordID")
            .and_then(|v| v.as_u64())
            .is_some()
    );
    assert_eq!(
        first.meta.source.as_ref().and_then(|s| s.record_id),
        Some(1)
    );
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|e| e.meta.source.as_ref()?.record_id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // The same file from memory gives the same events.
    let bytes = std::fs::read(&path).unwrap();
    let ctx = ParseContext::new("upload").with_path(path.to_string_lossy().as_ref());
    let parsed = parse_evtx_bytes(&bytes, &ctx);
    assert_eq!(parsed.events.len(), events.len());
    assert_eq!(parsed.events[0].data, first.data);
    // And so does the generic file reader.
    let via_read_file = read_file(&path, &ctx)
        .unwrap()
        .filter(Result::is_ok)
        .count();
    assert_eq!(via_read_file, events.len());
}

/// The sample with the most records (and so several chunks), with its records.
fn richest_sample(dir: &Path) -> (PathBuf, Vec<Event>) {
    evtx_files(dir)
        .into_iter()
        .map(|p| {
            let (events, _) = read_all(&p);
            (p, events)
        })
        .max_by_key(|(p, events)| (events.len(), p.clone()))
        .unwrap()
}

#[test]
fn truncated_copy_yields_the_earlier_records_and_an_error() {
    let Some(dir) = shared("evtx/evtx-attack-samples") else {
        return;
    };
    let (path, all) = richest_sample(&dir);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 4096 + 3 * 65536, "{}: {len} bytes", path.display());
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Two whole chunks and 20 KiB of the third.
    let cut = 4096 + 2 * 65536 + 20 * 1024;
    let truncated = tmp.path().join("truncated.evtx");
    std::fs::write(&truncated, &bytes[..cut]).unwrap();
    let (events, errors) = read_all(&truncated);
    let ids = |events: &[Event]| -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| e.meta.source.as_ref()?.record_id)
            .collect()
    };
    assert!(!events.is_empty());
    assert!(events.len() < all.len());
    // The records read are the file's first records, in order, including some of the third chunk.
    assert_eq!(ids(&events), ids(&all)[..events.len()]);
    let whole_chunks = read_all_prefix(&bytes[..4096 + 2 * 65536]);
    assert!(
        events.len() > whole_chunks,
        "{} records, {whole_chunks} in the whole chunks",
        events.len()
    );
    let truncation = errors
        .iter()
        .find(|e| e.message.contains("truncated"))
        .expect("a truncation error");
    assert_eq!(
        truncation.location.file.as_deref(),
        Some(truncated.to_string_lossy().as_ref())
    );
    assert_eq!(truncation.location.offset, Some(cut as u64));

    // Cut inside the file header: not an EVTX file any more, an error, no panic.
    let tiny = tmp.path().join("tiny.evtx");
    std::fs::write(&tiny, &bytes[..2000]).unwrap();
    let ctx = ParseContext::new("file");
    let err = read_evtx_file(&tiny, &ctx).unwrap_err();
    assert_eq!(
        err.location.file.as_deref(),
        Some(tiny.to_string_lossy().as_ref())
    );
    // Cut at every 7 KiB of the first chunks: never a panic, records only ever a prefix.
    for cut in (4096 + 1000..4096 + 3 * 65536).step_by(7 * 1024) {
        let parsed = parse_evtx_bytes(&bytes[..cut], &ctx);
        assert_eq!(
            ids(&parsed.events),
            ids(&all)[..parsed.events.len()],
            "cut at {cut}"
        );
        assert!(!parsed.errors.is_empty(), "cut at {cut}");
    }
}

fn read_all_prefix(bytes: &[u8]) -> usize {
    parse_evtx_bytes(bytes, &ParseContext::new("file"))
        .events
        .len()
}

#[test]
fn corrupted_bytes_never_panic() {
    let Some(dir) = shared("evtx/evtx-attack-samples") else {
        return;
    };
    let (path, all) = richest_sample(&dir);
    let bytes = std::fs::read(&path).unwrap();
    let ctx = ParseContext::new("fuzz");
    // Overwrite a stretch of each chunk's records with garbage: the other chunks still read.
    let mut damaged = bytes.clone();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for chunk_start in (4096..damaged.len()).step_by(65536) {
        for b in damaged.iter_mut().skip(chunk_start + 8192).take(512) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
    }
    let parsed = parse_evtx_bytes(&damaged, &ctx);
    assert!(!parsed.errors.is_empty());
    assert!(
        parsed.events.len() > all.len() / 4,
        "{} of {}",
        parsed.events.len(),
        all.len()
    );
    assert!(parsed.events.len() <= all.len());
    // Garbage that starts like an EVTX file.
    let mut fake = b"ElfFile\0".to_vec();
    fake.resize(4096 + 65536 + 100, 0x41);
    let parsed = parse_evtx_bytes(&fake, &ctx);
    assert!(parsed.events.is_empty());
}
