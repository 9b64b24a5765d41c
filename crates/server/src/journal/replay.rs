//! Replay at start: frames journaled but not detected (or not counted) before the node stopped.
//!
//! Two positions are stored: the detected watermark ([`super::DETECTED_KEY`], written by the output
//! after the alerts it covers) and the position the ingest totals count through (in the totals'
//! own value, see [`crate::stats`]). Frames from the earlier of the two are read back whole: those
//! at or after the counted position are counted, those at or after the detected watermark go
//! through detection and output again, in journal order and within the queue's bound.
//!
//! Exactly once, even if the node dies during replay: nothing is recorded by replay itself. The
//! watermark and the totals move only as the output and the statistics flusher store them, exactly
//! as for live traffic, so a second replay starts wherever the first one got to. Frames detected
//! twice (between the stored watermark and what the output had really written) raise alerts with
//! the ids they had the first time, which the store already holds ([`super::identity`]).

use shield_store::archive::{EventArchive, FramePosition};
use shield_store::{StateStore, StoreError};

use super::{DETECTED_KEY, stored_position};
use crate::pipeline::{Journaled, Pipeline};
use crate::stats::IngestStats;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Where detection resumed.
    pub detected_from: FramePosition,
    /// Frames sent through detection again.
    pub frames_detected: u64,
    /// Events in them.
    pub events_detected: u64,
    /// Events counted into the ingest totals (accepted before the crash, not yet counted).
    pub events_counted: u64,
    /// Damaged frames or records skipped (each logged with its file and offset).
    pub damaged: u64,
}

/// The stored detected watermark; on a data directory that has none yet (first start, or a node
/// from before the journal), `end` is stored and returned, so that events archived earlier are not
/// detected again.
pub fn detected_watermark(
    store: &(impl StateStore + ?Sized),
    end: FramePosition,
) -> Result<FramePosition, StoreError> {
    if let Some(p) = stored_position(store, DETECTED_KEY)? {
        return Ok(p);
    }
    store.set_state(DETECTED_KEY, &end.to_string())?;
    Ok(end)
}

/// Replays `log` from the earlier of `detected` and the totals' counted position into `pipeline`
/// and `stats`. Blocks while the queue is full; returns once every frame is queued.
pub fn replay(
    log: &EventArchive,
    detected: FramePosition,
    pipeline: &Pipeline,
    stats: &IngestStats,
) -> ReplayReport {
    let counted = stats.through().unwrap_or(detected);
    let mut report = ReplayReport {
        detected_from: detected,
        ..ReplayReport::default()
    };
    let end = log.end_position();
    let mut announced = false;
    for item in log.frames_from(detected.min(counted)) {
        if !announced {
            announced = true;
            tracing::warn!(
                "replaying the journal from {detected} (detection) and {counted} (counts) to \
                 {end}: events accepted before the node stopped"
            );
        }
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                report.damaged += 1;
                tracing::error!("journal replay skips a damaged frame: {e}");
                continue;
            }
        };
        if frame.bad_records > 0 {
            report.damaged += frame.bad_records as u64;
            tracing::error!(
                "journal replay: {} records of the frame at {} do not decode",
                frame.bad_records,
                frame.start
            );
        }
        if frame.start >= counted {
            stats.count_replayed(&frame.events, frame.end);
            report.events_counted += frame.events.len() as u64;
        }
        if frame.start < detected || frame.events.is_empty() {
            continue;
        }
        let n = frame.events.len();
        let Some(room) = pipeline.reserve_waiting(n) else {
            break;
        };
        pipeline.progress().register(frame.start, frame.end);
        let journaled = Journaled {
            start: frame.start,
            end: frame.end,
        };
        if pipeline
            .submit_reserved(room, frame.events, Some(journaled))
            .is_err()
        {
            break;
        }
        report.frames_detected += 1;
        report.events_detected += n as u64;
    }
    if !announced {
        return report;
    }
    tracing::warn!(
        "journal replay: {} events in {} frames detected again, {} events counted, {} damaged",
        report.events_detected,
        report.frames_detected,
        report.events_counted,
        report.damaged
    );
    report
}
