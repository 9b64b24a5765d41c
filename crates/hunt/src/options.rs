//! What a hunt runs: rules, mapping, inputs, threads.

use std::path::PathBuf;

use shield_event::Level;

/// Options of [`crate::hunt`].
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// Rule files or folders (searched recursively for `.yml`/`.yaml`).
    pub rules: Vec<PathBuf>,
    /// A log-source mapping file; `None` uses Shield's default Windows mapping.
    pub mapping: Option<PathBuf>,
    /// Report only hits of this level or above (correlations still count lower-level matches).
    pub min_level: Option<Level>,
    /// Log files or folders (folders searched recursively for supported extensions).
    pub paths: Vec<PathBuf>,
    /// Matching threads; `0` means one per core.
    pub threads: usize,
    /// Events per matching task.
    pub batch_size: usize,
    /// Most events kept for correlation rules (see the crate docs).
    pub max_correlation_events: usize,
    // Extension point: `intel: Option<PathBuf>` (IOC sweep) will go here and become a second
    // stage of `scan::Scanner`.
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            rules: Vec::new(),
            mapping: None,
            min_level: None,
            paths: Vec::new(),
            threads: 0,
            batch_size: 1024,
            max_correlation_events: 1_000_000,
        }
    }
}

impl HuntOptions {
    /// The number of matching threads to use: [`HuntOptions::threads`], or one per core.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }
}
