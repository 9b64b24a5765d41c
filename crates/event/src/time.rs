//! Timestamps: finding an event's own time and normalising it to UTC.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use crate::field;

/// Fields that carry an event's own time, most specific first. The Windows system time is looked up
/// through [`field::lookup`], so every EVTX-to-JSON layout answers it.
const TIME_FIELDS: [&str; 13] = [
    "TimeCreated_SystemTime",
    "@timestamp",
    "timestamp",
    "Timestamp",
    "time",
    "TimeCreated",
    "EventTime",
    "eventTime",
    "TimeGenerated",
    "event.created",
    "ts",
    "date",
    "datetime",
];

/// The event's own time, normalised to UTC, from the first known time field that parses.
pub fn event_time(data: &Value) -> Option<DateTime<Utc>> {
    TIME_FIELDS
        .iter()
        .filter_map(|name| field::lookup(data, name))
        .find_map(parse_timestamp)
}

/// Parses a timestamp value to UTC: RFC 3339 with any offset; `YYYY-MM-DD HH:MM:SS[.fff]` (with `T`
/// or a space, taken as UTC when it has no offset); or a number of seconds, milliseconds or
/// microseconds since the epoch (told apart by magnitude). Times before 1970 or after 2200 are refused
/// as implausible.
pub fn parse_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    let parsed = match value {
        Value::String(s) => parse_str(s.trim()),
        Value::Number(n) => n.as_f64().and_then(from_epoch),
        _ => None,
    }?;
    (1970..=2200).contains(&parsed.year()).then_some(parsed)
}

fn parse_str(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = s.strip_suffix(" UTC").unwrap_or(s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !s.is_empty() {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    None
}

fn from_epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let micros = if n >= 1e15 {
        n
    } else if n >= 1e12 {
        n * 1e3
    } else {
        n * 1e6
    };
    if micros > i64::MAX as f64 {
        return None;
    }
    DateTime::from_timestamp_micros(micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iso(v: Value) -> Option<String> {
        parse_timestamp(&v).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }

    #[test]
    fn formats_normalise_to_utc() {
        assert_eq!(
            iso(json!("2019-03-19T23:37:40.123456Z")).as_deref(),
            Some("2019-03-19T23:37:40.123456Z")
        );
        assert_eq!(
            iso(json!("2024-05-01T10:00:00+02:00")).as_deref(),
            Some("2024-05-01T08:00:00.000000Z")
        );
        assert_eq!(
            iso(json!("2024-05-01 10:00:00.5")).as_deref(),
            Some("2024-05-01T10:00:00.500000Z")
        );
        assert_eq!(
            iso(json!("2024-05-01 10:00:00 +0100")).as_deref(),
            Some("2024-05-01T09:00:00.000000Z")
        );
        assert_eq!(
            iso(json!(1700000000)).as_deref(),
            Some("2023-11-14T22:13:20.000000Z")
        );
        assert_eq!(
            iso(json!(1700000000123u64)).as_deref(),
            Some("2023-11-14T22:13:20.123000Z")
        );
        assert_eq!(
            iso(json!(1700000000.25)).as_deref(),
            Some("2023-11-14T22:13:20.250000Z")
        );
        assert_eq!(
            iso(json!("1700000000")).as_deref(),
            Some("2023-11-14T22:13:20.000000Z")
        );
    }

    #[test]
    fn garbage_and_implausible_times_are_refused() {
        assert_eq!(iso(json!("yesterday")), None);
        assert_eq!(iso(json!("")), None);
        assert_eq!(iso(json!(-5)), None);
        assert_eq!(iso(json!(1e300)), None);
        assert_eq!(iso(json!(true)), None);
        assert_eq!(iso(json!("9999-01-01T00:00:00Z")), None);
    }

    #[test]
    fn event_time_prefers_windows_system_time() {
        let v = json!({"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00Z"}}}},
                       "@timestamp": "2021-01-01T00:00:00Z"});
        assert_eq!(
            event_time(&v).map(|t| t.to_rfc3339()),
            Some("2020-01-01T00:00:00+00:00".to_owned())
        );
        let v = json!({"ts": 1591367999.305988, "uid": "C1"});
        assert!(event_time(&v).is_some());
        assert_eq!(event_time(&json!({"x": 1})), None);
    }
}
