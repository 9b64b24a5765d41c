//! Progress and problem reporting while a hunt runs.

use shield_event::ParseError;

use crate::LoadedRules;

/// Told how a hunt advances. Called from the thread that called [`crate::hunt`] only.
pub trait Progress {
    /// Rules are loaded and compiled.
    fn rules_loaded(&self, _rules: &LoadedRules) {}
    /// Input files are known: how many and their total size.
    fn start(&self, _files: usize, _bytes: u64) {}
    /// More input was processed: `bytes` more of the files, `events` more events.
    fn advance(&self, _bytes: u64, _events: u64) {}
    /// A file could not be read, or a record in it could not be parsed. The hunt goes on.
    fn problem(&self, _error: &ParseError) {}
    /// The hunt is over (before the summary is returned).
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
