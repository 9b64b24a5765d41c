//! Running the readers and the matching tasks, and handing results back in file and batch order.
//!
//! ```text
//!  writer (caller's thread)        readers (threads)            matching (rayon pool)
//!  hands out file jobs, a window ─► read file i in batches ─┬─► scan batch ─► one-shot channel
//!  ahead of what it has written     push each batch's       │                    │
//!  drains lane 0, lane 1, … ◄────── one-shot receiver into ─┘                    │
//!  waits on each receiver ◄──────── lane i (bounded) ◄───────────────────────────┘
//! ```
//!
//! No cycle can block: matching tasks never wait; a reader waits only for room in its own lane;
//! the writer waits on the oldest lane, whose reader was handed its file before any later one
//! (jobs are taken in order) and so is never stuck behind them.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};
use shield_event::{Location, ParseError};

use crate::HuntError;
use crate::scan::{Scanned, Scanner};
use crate::source::{Batch, read_batches};

/// Batches of one file in flight (being matched or waiting to be written).
const LANE_DEPTH: usize = 4;
/// Files handed out ahead of the writer, per reader.
const FILES_AHEAD_PER_READER: usize = 4;

/// A file for a reader: its path, and the lane its batch results go to.
struct Job {
    path: PathBuf,
    lane: Sender<Receiver<Scanned>>,
}

/// Reads and matches `files` with `threads` readers and `threads` matching threads, calling
/// `write(file index, result)` on the calling thread for each batch, in file order then batch
/// order. Stops at the first error `write` returns.
pub(crate) fn run(
    files: &[PathBuf],
    scanner: &Arc<Scanner>,
    threads: usize,
    batch_size: usize,
    mut write: impl FnMut(usize, Scanned) -> Result<(), HuntError>,
) -> Result<(), HuntError> {
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("hunt-match-{i}"))
        .build()
        .map_err(|e| HuntError::Threads {
            threads,
            reason: e.to_string(),
        })?;
    let pool = Arc::new(pool);
    let readers = threads.min(files.len()).max(1);
    let window = readers * FILES_AHEAD_PER_READER;
    let cancelled = AtomicBool::new(false);
    let (job_tx, job_rx) = bounded::<Job>(window);

    std::thread::scope(|scope| {
        for _ in 0..readers {
            let job_rx = job_rx.clone();
            let pool = Arc::clone(&pool);
            let cancelled = &cancelled;
            scope.spawn(move || read_jobs(&job_rx, &pool, scanner, batch_size, cancelled));
        }
        drop(job_rx);
        let result = write_in_order(files, job_tx, window, &mut write);
        // On error the job sender and every lane receiver are dropped by now, so blocked readers
        // wake up and stop.
        cancelled.store(true, Ordering::Relaxed);
        result
    })
}

/// The writer: hands out jobs a window ahead, then drains the lanes in order.
fn write_in_order(
    files: &[PathBuf],
    job_tx: Sender<Job>,
    window: usize,
    write: &mut impl FnMut(usize, Scanned) -> Result<(), HuntError>,
) -> Result<(), HuntError> {
    let mut job_tx = Some(job_tx);
    let mut lanes: VecDeque<(usize, Receiver<Receiver<Scanned>>)> = VecDeque::new();
    let mut next = 0;
    loop {
        while next < files.len() && lanes.len() < window {
            let (lane_tx, lane_rx) = bounded(LANE_DEPTH);
            let job = Job {
                path: files[next].clone(),
                lane: lane_tx,
            };
            // Cannot block: at most `window` jobs are unwritten, and the channel holds `window`.
            if let Some(tx) = &job_tx {
                if tx.send(job).is_err() {
                    return Err(HuntError::Threads {
                        threads: 0,
                        reason: "every reader thread stopped".to_owned(),
                    });
                }
            }
            lanes.push_back((next, lane_rx));
            next += 1;
        }
        if next >= files.len() {
            job_tx = None; // readers stop once the queue is empty
        }
        let Some((index, lane)) = lanes.pop_front() else {
            return Ok(());
        };
        for result in lane.iter() {
            let scanned = result.recv().unwrap_or_else(|_| lost_batch(&files[index]));
            write(index, scanned)?;
        }
    }
}

/// A batch whose matching task vanished (it cannot, short of a bug): reported, not fatal.
fn lost_batch(path: &std::path::Path) -> Scanned {
    Scanned {
        errors: vec![ParseError::new(
            Location::file(path.to_string_lossy()),
            "internal error while matching a batch of events; batch skipped",
        )],
        ..Scanned::default()
    }
}

/// A reader: takes jobs until there are none, reading each file into batches matched on `pool`.
fn read_jobs(
    jobs: &Receiver<Job>,
    pool: &Arc<rayon::ThreadPool>,
    scanner: &Arc<Scanner>,
    batch_size: usize,
    cancelled: &AtomicBool,
) {
    while let Ok(job) = jobs.recv() {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let buffer = || scanner.text_buffer();
        read_batches(&job.path, batch_size, buffer, |batch: Batch| {
            let (tx, rx) = bounded(1);
            if job.lane.send(rx).is_err() {
                return false; // the writer stopped
            }
            let scanner = Arc::clone(scanner);
            let path = job.path.clone();
            pool.spawn(move || {
                let scanned = catch_unwind(AssertUnwindSafe(|| scanner.scan(batch)))
                    .unwrap_or_else(|_| lost_batch(&path));
                let _ = tx.send(scanned);
            });
            !cancelled.load(Ordering::Relaxed)
        });
    }
}
