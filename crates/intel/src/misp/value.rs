//! Lenient readers for MISP JSON, whose number and boolean fields come as numbers or strings
//! depending on the MISP version that wrote them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

/// A non-empty string field, trimmed.
pub(super) fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim()),
        _ => None,
    }
}

/// An integer field written as a number or a numeric string.
pub(super) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean written as `true`/`false`, `0`/`1` or their strings.
pub(super) fn boolean(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The names of a `Tag` list (`[{"name": …}]`, or plain strings).
pub(super) fn tags(v: Option<&Value>) -> Vec<&str> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|t| match t {
            Value::String(s) => Some(s.as_str()),
            Value::Object(m) => m.get("name").and_then(Value::as_str),
            _ => None,
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The elements of a list field (a missing or non-list field is empty).
pub(super) fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// Seconds since the epoch as a STIX timestamp (UTC, milliseconds).
pub(super) fn stix_time(secs: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A MISP `date` (`2026-01-15`) as seconds since the epoch at midnight UTC.
pub(super) fn date_secs(date: &str) -> Option<i64> {
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// A STIX timestamp as seconds since the epoch.
pub(super) fn secs_of_stix_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}
