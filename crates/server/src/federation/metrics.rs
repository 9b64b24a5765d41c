//! The propagation latency histogram: from an object's `created` at its origin to the moment it
//! is active in this node's live matcher, in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the buckets, in seconds.
const BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A cumulative histogram of seconds (lock-free; counts never decrease).
#[derive(Debug)]
pub struct Histogram {
    name: &'static str,
    help: &'static str,
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    /// `shield_federation_propagation_seconds`.
    pub fn propagation() -> Histogram {
        Histogram {
            name: "shield_federation_propagation_seconds",
            help: "Received indicators: created at the origin to active in the live matcher.",
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    /// Records one observation (negative ones, from clocks that disagree, count as zero).
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = (seconds * 1e6).min(u64::MAX as f64) as u64;
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The histogram in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} histogram", self.name);
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{}_bucket{{le=\"{bound}\"}} {}",
                self.name,
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count();
        let _ = writeln!(out, "{}_bucket{{le=\"+Inf\"}} {count}", self.name);
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{}_sum {sum}", self.name);
        let _ = writeln!(out, "{}_count {count}", self.name);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = Histogram::propagation();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(-1.0);
        h.observe(1000.0);
        let text = h.render();
        assert!(text.contains("shield_federation_propagation_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("shield_federation_propagation_seconds_bucket{le=\"0.25\"} 3"));
        assert!(text.contains("shield_federation_propagation_seconds_bucket{le=\"300\"} 3"));
        assert!(text.contains("shield_federation_propagation_seconds_bucket{le=\"+Inf\"} 4"));
        assert!(text.contains("shield_federation_propagation_seconds_count 4"));
        assert_eq!(h.count(), 4);
    }
}
