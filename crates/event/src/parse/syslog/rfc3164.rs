//! RFC 3164 as senders write it: `[TIMESTAMP [HOSTNAME ]][TAG[PID]: ]MSG` after the optional PRI.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::Header;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
/// Longest tag and procid accepted; longer tokens are taken as message text.
const MAX_TAG: usize = 64;
const MAX_PROCID: usize = 128;

/// Parses what follows the PRI. Never fails: at worst everything is the message.
pub(super) fn parse(text: &str, received: DateTime<Utc>) -> Header<'_> {
    let mut header = Header::default();
    let mut rest = text;
    if let Some((timestamp, after)) = timestamp(rest, received) {
        header.timestamp = Some(timestamp);
        rest = after.trim_start_matches(' ');
        let token = first_token(rest);
        if !token.is_empty()
            && !token.starts_with("CEF:")
            && !token.ends_with(':')
            && !token.contains('[')
        {
            header.hostname = Some(token);
            rest = rest[token.len()..].trim_start_matches(' ');
        }
    }
    if !rest.starts_with("CEF:") {
        if let Some((app, procid, len)) = tag(rest) {
            header.app_name = Some(app);
            header.procid = procid;
            rest = rest[len..].trim_start_matches(' ');
        }
    }
    header.message = (!rest.is_empty()).then_some(rest);
    header
}

fn first_token(text: &str) -> &str {
    text.split(' ').next().unwrap_or_default()
}

/// `app[pid]:`, `app:` or `app[pid]` at the start: the app name, the procid and the tag's length.
fn tag(text: &str) -> Option<(&str, Option<&str>, usize)> {
    let token = first_token(text);
    let (core, colon) = match token.strip_suffix(':') {
        Some(core) => (core, true),
        None => (token, false),
    };
    let (app, procid) = match core.split_once('[') {
        Some((app, after)) => (app, Some(after.strip_suffix(']')?)),
        None if colon => (core, None),
        None => return None,
    };
    let app_ok = !app.is_empty()
        && app.len() <= MAX_TAG
        && app
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b':' | b'[' | b']'));
    let procid_ok = procid.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= MAX_PROCID
            && p.bytes().all(|b| b.is_ascii_graphic() && b != b']')
    });
    (app_ok && procid_ok).then_some((app, procid, token.len()))
}

/// A timestamp at the start (BSD `Mmm dd hh:mm:ss` or ISO 8601) and the text after it.
fn timestamp(text: &str, received: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    bsd_timestamp(text, received).or_else(|| iso_timestamp(text))
}

fn iso_timestamp(text: &str) -> Option<(DateTime<Utc>, &str)> {
    let token = first_token(text);
    let b = token.as_bytes();
    if b.len() < 19 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let time = match DateTime::parse_from_rfc3339(token) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDateTime::parse_from_str(token, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc(),
    };
    Some((time, &text[token.len()..]))
}

/// `Mmm dd hh:mm:ss[.fff]`, `Mmm dd yyyy hh:mm:ss` or `Mmm dd hh:mm:ss yyyy`. Without a year, the
/// year it was received, or the one before if that is more than a day after it was received.
fn bsd_timestamp(text: &str, received: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    let b = text.as_bytes();
    let month_name = text.get(..3)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    // The day: ` 5`, `5` or `15`.
    let mut pos = 4;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let (day, len) = digits(b, pos, 1, 2)?;
    pos += len;
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let mut year = None;
    if let Some((y, 4)) = digits(b, pos, 4, 4) {
        if b.get(pos + 4) == Some(&b' ') {
            year = Some(y as i32);
            pos += 5;
        }
    }
    let (time, len) = time_of_day(b, pos)?;
    pos += len;
    if year.is_none() && b.get(pos) == Some(&b' ') {
        if let Some((y, 4)) = digits(b, pos + 1, 4, 4) {
            if matches!(b.get(pos + 5), None | Some(b' ')) {
                year = Some(y as i32);
                pos += 5;
            }
        }
    }
    if !matches!(b.get(pos), None | Some(b' ')) {
        return None;
    }
    let at =
        |year: i32| NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time).and_utc());
    let timestamp = match year {
        Some(year) => at(year)?,
        None => {
            let this_year = at(received.year());
            match this_year {
                Some(t) if t <= received + Duration::days(1) => t,
                _ => at(received.year() - 1)?,
            }
        }
    };
    Some((timestamp, &text[pos..]))
}

/// `hh:mm:ss[.fraction]` at `pos`: the time and its length.
fn time_of_day(b: &[u8], pos: usize) -> Option<(NaiveTime, usize)> {
    let (h, _) = digits(b, pos, 2, 2)?;
    let (m, _) = digits(b, pos + 3, 2, 2)?;
    let (s, _) = digits(b, pos + 6, 2, 2)?;
    if b.get(pos + 2) != Some(&b':') || b.get(pos + 5) != Some(&b':') {
        return None;
    }
    let mut len = 8;
    let mut nanos = 0;
    if b.get(pos + 8) == Some(&b'.') {
        let frac = b[pos + 9..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return None;
        }
        for (i, digit) in b[pos + 9..pos + 9 + frac].iter().take(9).enumerate() {
            nanos += u32::from(digit - b'0') * 10u32.pow(8 - i as u32);
        }
        len += 1 + frac;
    }
    Some((NaiveTime::from_hms_nano_opt(h, m, s, nanos)?, len))
}

/// `min..=max` ASCII digits at `pos` (followed by a non-digit): their value and count.
fn digits(b: &[u8], pos: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let run = b
        .get(pos..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if run < min || run > max {
        return None;
    }
    let value = b[pos..pos + run]
        .iter()
        .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    Some((value, run))
}
