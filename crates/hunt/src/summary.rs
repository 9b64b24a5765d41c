//! What a hunt found and how long it took, and the ATT&CK tactics hits are counted by.

use std::fmt;
use std::time::Duration;

use shield_event::Level;

/// The ATT&CK enterprise tactics, as Sigma tags name them (`attack.<tactic>`, with `_` or `-`).
pub const TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource_development",
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
];

/// The tactics named by `tags` as a bit set over [`TACTICS`].
pub(crate) fn tactic_mask(tags: &[String]) -> u16 {
    let mut mask = 0;
    for tag in tags {
        let Some(name) = tag
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("attack."))
            .and_then(|_| tag.get(7..))
        else {
            continue;
        };
        let name = name.to_ascii_lowercase().replace('-', "_");
        if let Some(i) = TACTICS.iter().position(|t| *t == name) {
            mask |= 1 << i;
        }
    }
    mask
}

/// What a hunt did: inputs, rules, hits, problems, time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HuntSummary {
    /// Input files found.
    pub files: usize,
    /// Files that could not be opened or read at all.
    pub files_failed: usize,
    /// Events read.
    pub events: u64,
    /// Records that could not be parsed (the rest of their file was read).
    pub record_errors: u64,
    /// Detection rules compiled.
    pub detection_rules: usize,
    /// Correlation rules compiled.
    pub correlation_rules: usize,
    /// Rule documents or files that failed to load or compile.
    pub rules_rejected: usize,
    /// Warnings about loaded rules.
    pub rule_warnings: usize,
    /// Time to load and compile the rules.
    pub rules_load_time: Duration,
    /// Time from the start of reading to the last hit written (rule loading excluded).
    pub elapsed: Duration,
    /// Hits reported (single-event and correlation).
    pub hits: u64,
    /// Of which correlation hits.
    pub correlation_hits: u64,
    /// Of which hits of further detectors (indicators of compromise).
    pub intel_hits: u64,
    /// Hits per level, indexed like [`Level::ALL`].
    pub hits_by_level: [u64; 5],
    /// Hits per ATT&CK tactic, indexed like [`TACTICS`] (a hit tagged with two tactics counts twice).
    pub hits_by_tactic: [u64; 14],
    /// Events that fed correlation rules.
    pub correlation_events: u64,
    /// Whether correlations saw only the first [`crate::HuntOptions::max_correlation_events`]
    /// events that fed them.
    pub correlation_truncated: bool,
}

impl HuntSummary {
    /// Events per second of [`HuntSummary::elapsed`].
    pub fn events_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        }
    }

    /// Hits of one level.
    pub fn hits_at(&self, level: Level) -> u64 {
        self.hits_by_level[level as usize]
    }

    pub(crate) fn count_hit(&mut self, level: Level, tactics: u16) {
        self.hits += 1;
        self.hits_by_level[level as usize] += 1;
        for (i, count) in self.hits_by_tactic.iter_mut().enumerate() {
            if tactics & (1 << i) != 0 {
                *count += 1;
            }
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for HuntSummary {
    /// Several lines for a terminal: inputs and speed, rules, hits by level and tactic, problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "hunted {} files, {} events in {:.2} s ({} events/s)",
            thousands(self.files as u64),
            thousands(self.events),
            self.elapsed.as_secs_f64(),
            thousands(self.events_per_second().round() as u64),
        )?;
        write!(
            f,
            "rules: {} detection + {} correlation loaded in {:.2} s",
            thousands(self.detection_rules as u64),
            thousands(self.correlation_rules as u64),
            self.rules_load_time.as_secs_f64(),
        )?;
        if self.rules_rejected > 0 || self.rule_warnings > 0 {
            write!(
                f,
                ", {} rejected, {} warnings (run `shield rules check DIR` for details)",
                thousands(self.rules_rejected as u64),
                thousands(self.rule_warnings as u64),
            )?;
        }
        writeln!(f)?;
        write!(f, "hits: {}", thousands(self.hits))?;
        let levels: Vec<String> = Level::ALL
            .iter()
            .rev()
            .filter(|l| self.hits_at(**l) > 0)
            .map(|l| format!("{} {}", l.as_str(), thousands(self.hits_at(*l))))
            .collect();
        if !levels.is_empty() {
            write!(f, " ({})", levels.join(", "))?;
        }
        if self.correlation_hits > 0 {
            write!(
                f,
                ", of which {} correlation",
                thousands(self.correlation_hits)
            )?;
        }
        if self.intel_hits > 0 {
            write!(f, ", of which {} intel", thousands(self.intel_hits))?;
        }
        writeln!(f)?;
        let tactics: Vec<String> = TACTICS
            .iter()
            .zip(self.hits_by_tactic)
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{t} {}", thousands(n)))
            .collect();
        if !tactics.is_empty() {
            writeln!(f, "tactics: {}", tactics.join(", "))?;
        }
        if self.correlation_truncated {
            writeln!(
                f,
                "correlations: evaluated on the first {} matching events only",
                thousands(self.correlation_events)
            )?;
        }
        if self.files_failed > 0 || self.record_errors > 0 {
            writeln!(
                f,
                "problems: {} unreadable files, {} bad records (reported above)",
                thousands(self.files_failed as u64),
                thousands(self.record_errors),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_are_read_from_attack_tags_in_either_spelling() {
        let tags = [
            "attack.defense-evasion".to_owned(),
            "attack.t1059.001".to_owned(),
            "ATTACK.Execution".to_owned(),
            "attack.command_and_control".to_owned(),
            "cve.2021-44228".to_owned(),
        ];
        let mask = tactic_mask(&tags);
        let names: Vec<&str> = TACTICS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            names,
            ["execution", "defense_evasion", "command_and_control"]
        );
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn summary_names_levels_tactics_and_problems() {
        let mut s = HuntSummary {
            files: 2,
            events: 10_000,
            elapsed: Duration::from_millis(500),
            detection_rules: 3,
            rules_rejected: 1,
            record_errors: 2,
            ..HuntSummary::default()
        };
        s.count_hit(Level::High, 1 << 3);
        s.count_hit(Level::Low, 0);
        let text = s.to_string();
        assert!(
            text.contains("10,000 events in 0.50 s (20,000 events/s)"),
            "{text}"
        );
        assert!(text.contains("hits: 2 (high 1, low 1)"), "{text}");
        assert!(text.contains("tactics: execution 1"), "{text}");
        assert!(text.contains("1 rejected"), "{text}");
        assert!(text.contains("shield rules check"), "{text}");
        assert!(text.contains("0 unreadable files, 2 bad records"), "{text}");
    }
}
