//! What a hunt runs: rules, mapping, inputs, threads.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use shield_event::{Detector, Level};

/// Options of [`crate::hunt`].
#[derive(Clone)]
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
    /// Further detectors run on every event beside the Sigma rules (the IOC matcher of
    /// `--intel`); each alert they raise is a [`crate::HitKind::Intel`] hit. With detectors and
    /// no [`HuntOptions::rules`], the hunt runs them alone.
    pub detectors: Vec<Arc<dyn Detector>>,
}

impl fmt::Debug for HuntOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detectors: Vec<&str> = self.detectors.iter().map(|d| d.name()).collect();
        f.debug_struct("HuntOptions")
            .field("rules", &self.rules)
            .field("mapping", &self.mapping)
            .field("min_level", &self.min_level)
            .field("paths", &self.paths)
            .field("threads", &self.threads)
            .field("batch_size", &self.batch_size)
            .field("max_correlation_events", &self.max_correlation_events)
            .field("detectors", &detectors)
            .finish()
    }
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
            detectors: Vec::new(),
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
