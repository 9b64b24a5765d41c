//! STIX timestamps: RFC 3339 in UTC with a literal `Z`.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// A STIX timestamp: an instant in UTC.
///
/// STIX writes timestamps as `YYYY-MM-DDTHH:MM:SS[.s+]Z` (RFC 3339, UTC, always `Z`). `created` and
/// `modified` must be precise to at least the millisecond ([`Timestamp::parse_millis`]). Objects keep
/// the text they arrived with; this type is for comparing and computing, and prints itself with
/// millisecond precision unless it carries a finer fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// Why a text is not a STIX timestamp.
pub(crate) type TimestampError = &'static str;

impl Timestamp {
    /// Parses a STIX timestamp of any sub-second precision.
    pub fn parse(text: &str) -> Result<Timestamp, &'static str> {
        parse_parts(text).map(|(t, _)| t)
    }

    /// Parses a STIX timestamp that carries at least millisecond precision (three or more fraction
    /// digits), as `created` and `modified` must.
    pub fn parse_millis(text: &str) -> Result<Timestamp, &'static str> {
        let (t, digits) = parse_parts(text)?;
        if digits < 3 {
            return Err("must be precise to the millisecond (at least three fraction digits)");
        }
        Ok(t)
    }

    /// The timestamp of a UTC instant.
    pub fn from_datetime(instant: DateTime<Utc>) -> Timestamp {
        Timestamp(instant)
    }

    /// The current time truncated to the millisecond, the precision STIX expects of `created` and
    /// `modified`. Library code takes time as an input; this is for callers at the edges.
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(Utc::now()).truncated_to_millis()
    }

    /// The same instant without its sub-millisecond part.
    pub fn truncated_to_millis(self) -> Timestamp {
        let nanos = self.0.nanosecond() / 1_000_000 * 1_000_000;
        Timestamp(self.0.with_nanosecond(nanos).unwrap_or(self.0))
    }

    /// The instant.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Timestamp(instant)
    }
}

impl fmt::Display for Timestamp {
    /// `2024-05-01T10:00:00.000Z`; six or nine fraction digits when the instant needs them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.nanosecond() % 1_000_000_000;
        let pattern = if nanos % 1_000_000 == 0 {
            "%Y-%m-%dT%H:%M:%S%.3fZ"
        } else if nanos % 1_000 == 0 {
            "%Y-%m-%dT%H:%M:%S%.6fZ"
        } else {
            "%Y-%m-%dT%H:%M:%S%.9fZ"
        };
        write!(f, "{}", self.0.format(pattern))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Checks the exact STIX shape and returns the instant and the number of fraction digits.
fn parse_parts(text: &str) -> Result<(Timestamp, usize), TimestampError> {
    let b = text.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z");
    }
    let digits_at = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shape_ok = digits_at(0..4)
        && b[4] == b'-'
        && digits_at(5..7)
        && b[7] == b'-'
        && digits_at(8..10)
        && b[10] == b'T'
        && digits_at(11..13)
        && b[13] == b':'
        && digits_at(14..16)
        && b[16] == b':'
        && digits_at(17..19);
    if !shape_ok {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z");
    }
    if b[b.len() - 1] != b'Z' {
        return Err("must be in UTC and end with Z");
    }
    let fraction = &b[19..b.len() - 1];
    let digits = match fraction.split_first() {
        None => 0,
        Some((b'.', rest)) if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => rest.len(),
        _ => return Err("not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z"),
    };
    let num = |range: std::ops::Range<usize>| -> u32 {
        b[range]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let date =
        NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10)).ok_or("no such date")?;
    let mut nanos: u32 = 0;
    for (i, d) in fraction.iter().skip(1).take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
    }
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    // A leap second (`:60`) is kept as chrono represents it: second 59 with an extra second of nanos.
    let time = if second == 60 {
        NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos)
    } else {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
    }
    .ok_or("no such time of day")?;
    let instant = NaiveDateTime::new(date, time).and_utc();
    Ok((Timestamp(instant), digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stix_forms_and_prints_milliseconds() {
        let t = Timestamp::parse("2016-04-06T20:03:48.000Z").unwrap();
        assert_eq!(t.to_string(), "2016-04-06T20:03:48.000Z");
        assert_eq!(Timestamp::parse("2016-04-06T20:03:48Z").unwrap(), t);
        let fine = Timestamp::parse("2016-04-06T20:03:48.123456Z").unwrap();
        assert_eq!(fine.to_string(), "2016-04-06T20:03:48.123456Z");
        assert_eq!(
            fine.truncated_to_millis().to_string(),
            "2016-04-06T20:03:48.123Z"
        );
        assert!(fine > t);
    }

    #[test]
    fn refuses_offsets_lowercase_and_impossible_dates() {
        for bad in [
            "2016-04-06T20:03:48+00:00",
            "2016-04-06t20:03:48Z",
            "2016-04-06 20:03:48Z",
            "2016-02-30T20:03:48Z",
            "2016-04-06T25:03:48Z",
            "2016-04-06T20:03:48.Z",
            "2016-04-06T20:03:48,5Z",
            "16-04-06T20:03:48Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn millisecond_precision_is_required_where_the_spec_asks() {
        assert!(Timestamp::parse_millis("2016-04-06T20:03:48.000Z").is_ok());
        assert!(Timestamp::parse_millis("2016-04-06T20:03:48.123456Z").is_ok());
        assert!(Timestamp::parse_millis("2016-04-06T20:03:48Z").is_err());
        assert!(Timestamp::parse_millis("2016-04-06T20:03:48.1Z").is_err());
    }
}
