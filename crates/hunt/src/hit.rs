//! A hit (a rule that fired on an event) and the [`HitSink`] that receives hits in order.

use std::io;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shield_event::Level;

/// What raised a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HitKind {
    /// A Sigma detection rule matched one event.
    Sigma,
    /// A Sigma correlation rule matched a group of events; the hit names the event that completed
    /// the group.
    Correlation,
    /// A further detector of [`crate::HuntOptions::detectors`] (an IOC sweep) matched one event;
    /// the rule is the indicator.
    Intel,
}

impl HitKind {
    /// `sigma`, `correlation` or `intel`.
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Sigma => "sigma",
            HitKind::Correlation => "correlation",
            HitKind::Intel => "intel",
        }
    }
}

/// The rule behind a hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HitRule<'a> {
    /// Rule `id` (the title when the rule has none).
    pub id: &'a str,
    /// Rule `title`.
    pub title: &'a str,
    /// Rule `level`.
    pub level: Level,
    /// Rule `tags` (ATT&CK ones included).
    pub tags: &'a [String],
}

/// One hit, borrowed from the hunt's buffers for the time of [`HitSink::hit`].
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    /// What raised it.
    pub kind: HitKind,
    /// The rule.
    pub rule: HitRule<'a>,
    /// The file the event came from.
    pub path: &'a str,
    /// EVTX record id, or the 1-based line of a line-oriented file, or the index in a JSON array.
    pub record_id: Option<u64>,
    /// The event's own time, when it has one.
    pub timestamp: Option<DateTime<Utc>>,
    /// The event payload as read.
    pub event: HitEvent<'a>,
    /// The host the event was logged on (see [`computer_of`]).
    pub computer: Option<&'a str>,
    /// For Sigma hits: the values of the fields the rule names, as found in the event; for intel
    /// hits: the detector's details (the matched values, TLP).
    pub fields: Option<&'a Map<String, Value>>,
    /// For Sigma hits: the log-source mapping entry through which the rule matched.
    pub logsource: Option<&'a str>,
    /// For correlation hits: the correlation's details (type, group, count, members, window).
    pub correlation: Option<&'a Value>,
}

/// Fields that name the host an event was logged on, most specific first.
const COMPUTER_FIELDS: [&str; 5] = ["Computer", "host.name", "hostname", "host", "computer_name"];

/// The event a hit fired on.
#[derive(Debug, Clone, Copy)]
pub enum HitEvent<'a> {
    /// The decoded payload.
    Value(&'a Value),
    /// The payload's JSON text exactly as read (one NDJSON line, a JSON object, without its line
    /// end), which a sink can copy instead of encoding the payload again. The hunt decodes the line
    /// only to match it: an event that hits is not kept decoded.
    Json(&'a str),
}

impl HitEvent<'_> {
    /// The payload, decoded (from the text for [`HitEvent::Json`]; `Null` if it does not decode,
    /// which cannot happen for text the hunt read).
    pub fn to_value(&self) -> Value {
        match self {
            HitEvent::Value(v) => (*v).clone(),
            HitEvent::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }
}

/// The host an event was logged on: the Windows `Computer`, else `host.name`, `hostname`, …
pub fn computer_of(event: &Value) -> Option<&str> {
    COMPUTER_FIELDS
        .iter()
        .find_map(|name| shield_event::field::lookup(event, name)?.as_str())
}

/// Receives hits in output order. Called from one thread only (the one that called [`crate::hunt`]).
pub trait HitSink {
    /// Writes one hit. An error stops the hunt with [`crate::HuntError::Output`].
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()>;

    /// Called once after the last hit (flush buffers, close documents).
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: HitSink + ?Sized> HitSink for &mut S {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        (**self).hit(hit)
    }

    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

impl<S: HitSink + ?Sized> HitSink for Box<S> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<()> {
        (**self).hit(hit)
    }

    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn computer_is_found_in_windows_and_generic_layouts() {
        let windows = json!({"Event": {"System": {"Computer": "DC01.corp"}}});
        assert_eq!(computer_of(&windows), Some("DC01.corp"));
        let ecs = json!({"host": {"name": "web-1"}});
        assert_eq!(computer_of(&ecs), Some("web-1"));
        let syslog = json!({"hostname": "fw"});
        assert_eq!(computer_of(&syslog), Some("fw"));
        assert_eq!(computer_of(&json!({"a": 1})), None);
    }

    #[test]
    fn a_hit_event_decodes_from_either_form() {
        let value = json!({"a": [1, "x"]});
        assert_eq!(HitEvent::Value(&value).to_value(), value);
        assert_eq!(HitEvent::Json(r#"{"a": [1, "x"]}"#).to_value(), value);
    }
}
