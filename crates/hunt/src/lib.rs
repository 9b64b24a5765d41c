//! Offline hunting: Sigma rules over log files on every core, with output in a deterministic order.
//!
//! `shield hunt` and the benchmarks are thin layers over [`hunt`]: load and compile the rules
//! ([`LoadedRules`]), find the files ([`shield_event::parse::discover_files`]), read and match them
//! in parallel, hand every hit to a [`HitSink`] (the [`output`] module has the table, JSON-lines and
//! CSV ones) and return a [`HuntSummary`].
//!
//! # Design decisions
//!
//! * **Readers, matchers, one writer.** Reader threads take files in order and cut them into
//!   batches of about a thousand events; each batch is matched as one task on a rayon pool; the
//!   calling thread receives the results and writes them. Many small files are read side by side,
//!   one big file is still matched on every core. NDJSON batches travel as raw lines and are parsed
//!   by the matching task, so JSON parsing runs on every core too; other formats are parsed by the
//!   reader (EVTX decoding is per file: a single huge `.evtx` is bounded by one core's decoder).
//! * **Deterministic output.** Each file has a *lane*, a queue of pending batch results in batch
//!   order; the writer drains lane 0, then lane 1, and so on. Hits therefore come out sorted by
//!   (file order, record order, rule order) whatever the thread timing, and two runs with different
//!   thread counts print the same bytes.
//! * **Bounded memory.** Lanes hold a few batches each and only a window of files is handed to
//!   readers ahead of the writer, so memory does not grow with the input. Events that match nothing
//!   are dropped in the matching task; only hits (and events feeding correlations) travel on.
//! * **Correlations after single events.** A correlation counts matches in event-time order across
//!   all files, which a parallel, file-ordered pass cannot give. The matching tasks keep the events
//!   that matched a rule some correlation counts (resolved from the rule set, transitively through
//!   chained correlations); after the last file they are sorted by (event time, file, record) and fed
//!   to a [`shield_sigma::SigmaDetector`], whose open windows are then flushed. Correlation hits
//!   therefore follow all single-event hits, in the order the correlator raised them. At most
//!   [`HuntOptions::max_correlation_events`] events are kept for this; past that the summary says
//!   correlations were evaluated on a prefix.
//! * **Bad input is reported, not fatal.** A file that cannot be opened and every bad record
//!   (truncated EVTX chunk, malformed JSON line) reach [`Progress::problem`] with file and record and
//!   are counted in the summary; the hunt goes on. Only configuration problems are [`HuntError`]s:
//!   no rule loaded, no input file, an unusable mapping, an output that cannot be written.
//! * **Indicators beside rules.** [`HuntOptions::detectors`] are further
//!   [`shield_event::Detector`]s (the IOC matcher of `shield hunt --intel FILE`) run by the
//!   matching task on the same events after the Sigma rules; each alert they raise becomes a
//!   [`HitKind::Intel`] hit through the same [`Hit`] and sinks, written after the Sigma hits of its
//!   event. The library knows no intel format: the caller builds the detector.
#![deny(missing_docs)]

mod error;
mod hit;
mod options;
pub mod output;
mod pipeline;
mod progress;
mod rules;
mod run;
mod scan;
mod source;
mod summary;

pub use error::HuntError;
pub use hit::{Hit, HitEvent, HitKind, HitRule, HitSink, computer_of};
pub use options::HuntOptions;
pub use progress::{NoProgress, Progress};
pub use rules::LoadedRules;
pub use run::{hunt, hunt_with_rules};
pub use summary::{HuntSummary, TACTICS};
