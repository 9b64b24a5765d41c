//! The RFC 5424 header after `<PRI>1 `: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::{Header, SyntaxError};

/// The byte-order mark RFC 5424 puts before a UTF-8 MSG.
const BOM: &str = "\u{feff}";

/// A cursor over the header text; offsets in errors are `base` plus the position in `text`.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.base + self.pos, message)
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// The next space-delimited header field (`None` for the nil value `-`), and the space after it.
    fn field(&mut self, name: &str) -> Result<Option<&'a str>, SyntaxError> {
        let rest = self.rest();
        let len = rest.find(' ').unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error(format!("RFC 5424 header cut short: no {name}")));
        }
        let value = &rest[..len];
        self.pos += len;
        if self.peek() == Some(b' ') {
            self.pos += 1;
        } else if name != "MSGID" {
            return Err(self.error(format!("RFC 5424 header cut short after {name}")));
        }
        Ok((value != "-").then_some(value))
    }
}

/// Parses the header after `<PRI>1 `, which starts at byte `base` of the message.
pub(super) fn parse(text: &str, base: usize) -> Result<Header<'_>, SyntaxError> {
    let mut cur = Cursor { text, pos: 0, base };
    let at = cur.pos;
    let timestamp = match cur.field("TIMESTAMP")? {
        None => None,
        Some(t) => Some(parse_timestamp(t).ok_or_else(|| {
            SyntaxError::new(
                base + at,
                format!("invalid RFC 5424 timestamp {:?}", super::prefix(t, 40)),
            )
        })?),
    };
    let hostname = cur.field("HOSTNAME")?;
    let app_name = cur.field("APP-NAME")?;
    let procid = cur.field("PROCID")?;
    let msgid = cur.field("MSGID")?;
    let structured_data = match cur.peek() {
        None => None,
        Some(b'-') => {
            cur.pos += 1;
            None
        }
        Some(b'[') => Some(structured_data(&mut cur)?),
        Some(_) => return Err(cur.error("expected STRUCTURED-DATA (`-` or `[`)")),
    };
    let message = match cur.peek() {
        None => None,
        Some(b' ') => Some(&cur.rest()[1..]),
        Some(_) => return Err(cur.error("expected a space after STRUCTURED-DATA")),
    };
    let message = message.map(|m| m.strip_prefix(BOM).unwrap_or(m));
    Ok(Header {
        version: Some(1),
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        message,
        ..Header::default()
    })
}

/// An RFC 3339 timestamp, or one without a zone (taken as UTC, as some senders omit it).
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// One or more SD-ELEMENTs: `[id name="value" …]…`.
fn structured_data(cur: &mut Cursor<'_>) -> Result<Map<String, Value>, SyntaxError> {
    let mut elements = Map::new();
    while cur.peek() == Some(b'[') {
        cur.pos += 1;
        let id = name(cur, "SD-ID")?;
        let mut params = match elements.remove(id) {
            Some(Value::Object(existing)) => existing,
            _ => Map::new(),
        };
        loop {
            match cur.peek() {
                Some(b']') => {
                    cur.pos += 1;
                    break;
                }
                Some(b' ') => {
                    while cur.peek() == Some(b' ') {
                        cur.pos += 1;
                    }
                    if cur.peek() == Some(b']') {
                        continue;
                    }
                    let param = name(cur, "PARAM-NAME")?;
                    if cur.peek() != Some(b'=') {
                        return Err(
                            cur.error(format!("expected `=` after SD-PARAM name {param:?}"))
                        );
                    }
                    cur.pos += 1;
                    let value = param_value(cur)?;
                    params.insert(param.to_owned(), Value::String(value));
                }
                Some(_) => return Err(cur.error("expected ` `, or `]` in SD-ELEMENT")),
                None => return Err(cur.error("STRUCTURED-DATA ends without `]`")),
            }
        }
        elements.insert(id.to_owned(), Value::Object(params));
    }
    Ok(elements)
}

/// An SD-NAME: 1 to 32 printable ASCII characters other than `=`, space, `]` and `"`.
fn name<'a>(cur: &mut Cursor<'a>, what: &str) -> Result<&'a str, SyntaxError> {
    let rest = cur.rest();
    let len = rest
        .bytes()
        .take_while(|&b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
        .count();
    if len == 0 {
        return Err(cur.error(format!("empty or invalid {what}")));
    }
    if len > 32 {
        return Err(cur.error(format!("{what} longer than 32 characters")));
    }
    cur.pos += len;
    Ok(&rest[..len])
}

/// A quoted PARAM-VALUE; `\"`, `\\` and `\]` are unescaped, other backslashes are kept.
fn param_value(cur: &mut Cursor<'_>) -> Result<String, SyntaxError> {
    if cur.peek() != Some(b'"') {
        return Err(cur.error("expected `\"` to open SD-PARAM value"));
    }
    cur.pos += 1;
    let rest = cur.rest();
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                cur.pos += i + 1;
                return Ok(value);
            }
            '\\' => match chars.clone().next() {
                Some((_, e @ ('"' | '\\' | ']'))) => {
                    value.push(e);
                    chars.next();
                }
                _ => value.push('\\'),
            },
            other => value.push(other),
        }
    }
    Err(cur.error("SD-PARAM value ends without `\"`"))
}
