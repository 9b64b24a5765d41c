//! The processing-stage interface that detection engines implement.

use crate::{Alert, Event};

/// A processing stage of the node pipeline: events in, alerts out.
///
/// Implementations are synchronous, CPU-bound and free of I/O; the pipeline calls them from worker
/// threads, possibly several at once, so state (correlation windows, counters) lives behind interior
/// mutability. A stage never fails as a whole: an event it cannot evaluate is skipped (and counted by
/// the stage), the rest of the batch goes on.
pub trait Detector: Send + Sync {
    /// A short name for logs and metrics (`sigma`, `intel`).
    fn name(&self) -> &str;

    /// Evaluates a batch of events, appending an alert per detection to `alerts`, in event order.
    fn detect(&self, events: &[Event], alerts: &mut Vec<Alert>);
}
