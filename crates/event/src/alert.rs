//! Alerts: what a detector concluded about one or more events.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severity, as Sigma's `level`. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Informational: context, not a detection on its own.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The lowercase name (`informational`, …, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Level`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level '{0}' (expected informational, low, medium, high or critical)")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            _ => Err(ParseLevelError(s.to_owned())),
        }
    }
}

/// Which kind of detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A Sigma detection rule matched one event.
    Sigma,
    /// A Sigma correlation rule matched a group of events.
    Correlation,
    /// An event carried an observable of a known indicator.
    Intel,
    /// A cross-border incident raised by a hub.
    Incident,
}

impl AlertKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Sigma => "sigma",
            AlertKind::Correlation => "correlation",
            AlertKind::Intel => "intel",
            AlertKind::Incident => "incident",
        }
    }
}

/// The rule (or indicator) that raised an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Rule id (Sigma `id`, STIX indicator id, …).
    pub id: String,
    /// Human title.
    pub title: String,
    /// Severity.
    pub level: Level,
    /// Tags, ATT&CK ones included (`attack.t1059.001`, `attack.execution`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Where the triggering event came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertSource {
    /// Input name.
    pub input: String,
    /// File path for events read from files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Record id or line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
}

/// A detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique id (UUID v7, so ids sort by creation time).
    pub id: String,
    /// When the alert was raised (UTC).
    pub created: DateTime<Utc>,
    /// The triggering event's own time, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<DateTime<Utc>>,
    /// Which detector raised it.
    pub kind: AlertKind,
    /// The rule or indicator.
    pub rule: RuleRef,
    /// Organisation of the triggering event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Where the triggering event came from.
    #[serde(default)]
    pub source: AlertSource,
    /// The triggering event's payload (for correlations: the last event of the group).
    #[serde(default)]
    pub event: Value,
    /// Detector-specific details (matched indicator, correlation group and count, …).
    #[serde(default)]
    pub details: Value,
}

impl Alert {
    /// A new alert for `event`, raised now by `rule`.
    pub fn for_event(kind: AlertKind, rule: RuleRef, event: &crate::Event) -> Self {
        let source = AlertSource {
            input: event.meta.input.to_string(),
            path: event.meta.source.as_ref().map(|s| s.path.to_string()),
            record_id: event.meta.source.as_ref().and_then(|s| s.record_id),
        };
        Alert {
            id: uuid::Uuid::now_v7().to_string(),
            created: Utc::now(),
            event_time: event.meta.timestamp,
            kind,
            rule,
            org: event.meta.org.as_deref().map(str::to_owned),
            source,
            event: event.data.clone(),
            details: Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_parse() {
        assert!(Level::Critical > Level::High && Level::Low > Level::Informational);
        assert_eq!("HIGH".parse::<Level>(), Ok(Level::High));
        assert_eq!("info".parse::<Level>(), Ok(Level::Informational));
        assert!("severe".parse::<Level>().is_err());
        assert_eq!(
            serde_json::to_string(&Level::Medium).ok().as_deref(),
            Some("\"medium\"")
        );
    }

    #[test]
    fn alert_for_event_carries_source_and_org() {
        let event = crate::Event::new(
            serde_json::json!({"a": 1}),
            "file".into(),
            crate::Format::Json,
        )
        .with_org(Some("ee-cert".into()))
        .with_source("x.ndjson".into(), Some(7));
        let rule = RuleRef {
            id: "r1".into(),
            title: "T".into(),
            level: Level::High,
            tags: vec![],
        };
        let a = Alert::for_event(AlertKind::Sigma, rule, &event);
        assert_eq!(a.org.as_deref(), Some("ee-cert"));
        assert_eq!(a.source.path.as_deref(), Some("x.ndjson"));
        assert_eq!(a.source.record_id, Some(7));
        assert_eq!(a.event, serde_json::json!({"a": 1}));
    }
}
