//! ArcSight Common Event Format: `CEF:Version|Device Vendor|Device Product|Device Version|Signature
//! ID|Name|Severity|Extension`.
//!
//! * Header fields are split on unescaped `|`; `\|` and `\\` are unescaped. They are stored as
//!   `version`, `device_vendor`, `device_product`, `device_version`, `signature_id`, `name`, `severity`
//!   (all strings, as sent).
//! * The extension is `key=value` pairs separated by spaces. A value runs to the space before the
//!   next `key=` (so values may contain spaces); `\=`, `\\`, `\n`, `\r` (and `\|`, which some senders
//!   write) are unescaped; another backslash is kept as is. An `=` that does not follow a space and a
//!   run of key characters (`A-Z a-z 0-9 _ . - [ ]`) belongs to the value (URLs with query strings).
//!   Trailing spaces of a value are dropped. A repeated key keeps its last value. Text before the first
//!   key is kept under `cef_unparsed`.
//! * Keys are kept as given. For the common short ArcSight keys (`src`, `dst`, `spt`, `dpt`, `suser`,
//!   `shost`, … see [`FULL_NAMES`]) the full name (`sourceAddress`, …) is added too, unless the message
//!   already has that key, so rules may use either spelling.

use serde_json::{Map, Value};

/// Why a CEF message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CefError {
    /// The text does not start with `CEF:`.
    #[error("not a CEF message (no `CEF:` prefix)")]
    NotCef,
    /// The header has fewer than the seven `|`-separated fields CEF requires.
    #[error("CEF header has {found} of the 7 `|`-separated fields")]
    IncompleteHeader {
        /// How many header fields were found.
        found: usize,
    },
    /// The version is not a number.
    #[error("CEF version {version:?} is not a number")]
    BadVersion {
        /// The version as sent.
        version: String,
    },
}

/// The header field names, in order.
const HEADER: [&str; 7] = [
    "version",
    "device_vendor",
    "device_product",
    "device_version",
    "signature_id",
    "name",
    "severity",
];

/// Short ArcSight extension keys and the full names added beside them.
pub const FULL_NAMES: [(&str, &str); 36] = [
    ("act", "deviceAction"),
    ("app", "applicationProtocol"),
    ("cnt", "baseEventCount"),
    ("dhost", "destinationHostName"),
    ("dmac", "destinationMacAddress"),
    ("dntdom", "destinationNtDomain"),
    ("dpid", "destinationProcessId"),
    ("dpriv", "destinationUserPrivileges"),
    ("dproc", "destinationProcessName"),
    ("dpt", "destinationPort"),
    ("dst", "destinationAddress"),
    ("duid", "destinationUserId"),
    ("duser", "destinationUserName"),
    ("dvc", "deviceAddress"),
    ("dvchost", "deviceHostName"),
    ("dvcpid", "deviceProcessId"),
    ("end", "endTime"),
    ("fname", "fileName"),
    ("fsize", "fileSize"),
    ("in", "bytesIn"),
    ("msg", "message"),
    ("out", "bytesOut"),
    ("outcome", "eventOutcome"),
    ("proto", "transportProtocol"),
    ("request", "requestUrl"),
    ("rt", "receiptTime"),
    ("shost", "sourceHostName"),
    ("smac", "sourceMacAddress"),
    ("sntdom", "sourceNtDomain"),
    ("spid", "sourceProcessId"),
    ("spriv", "sourceUserPrivileges"),
    ("sproc", "sourceProcessName"),
    ("spt", "sourcePort"),
    ("src", "sourceAddress"),
    ("start", "startTime"),
    ("suser", "sourceUserName"),
];

/// Parses a CEF message (starting with `CEF:`) into its header fields and extension pairs.
pub fn parse_cef(text: &str) -> Result<Map<String, Value>, CefError> {
    let body = text
        .trim_start()
        .strip_prefix("CEF:")
        .ok_or(CefError::NotCef)?;
    let mut map = Map::new();
    let mut rest = body;
    for (i, name) in HEADER.iter().enumerate() {
        let (field, after) = match split_header(rest) {
            (field, Some(after)) => (field, after),
            // Senders that have no extension often leave out the `|` after the severity.
            (field, None) if i == HEADER.len() - 1 => (field, ""),
            (_, None) => return Err(CefError::IncompleteHeader { found: i }),
        };
        map.insert((*name).to_owned(), Value::String(field));
        rest = after;
    }
    let version = map
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(CefError::BadVersion {
            version: version.to_owned(),
        });
    }
    parse_extension(rest, &mut map);
    for (short, full) in FULL_NAMES {
        if let Some(value) = map.get(short) {
            if !map.contains_key(full) {
                let value = value.clone();
                map.insert(full.to_owned(), value);
            }
        }
    }
    Ok(map)
}

/// The next header field (unescaped) and the text after its closing `|` (`None` without one).
fn split_header(text: &str) -> (String, Option<&str>) {
    let mut field = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.clone().next() {
                Some((_, next @ ('|' | '\\'))) => {
                    field.push(next);
                    chars.next();
                }
                _ => field.push('\\'),
            },
            '|' => return (field, Some(&text[i + 1..])),
            other => field.push(other),
        }
    }
    (field, None)
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Adds the extension's `key=value` pairs to `map`.
fn parse_extension(ext: &str, map: &mut Map<String, Value>) {
    let bytes = ext.as_bytes();
    // (key start, `=` position) of every key.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' => escaped = true,
            b'=' => {
                let mut start = i;
                while start > 0 && is_key_byte(bytes[start - 1]) {
                    start -= 1;
                }
                let at_boundary = start == 0 || bytes[start - 1] == b' ';
                if start < i && at_boundary {
                    keys.push((start, i));
                }
            }
            _ => {}
        }
    }
    let prefix_end = keys.first().map_or(bytes.len(), |&(start, _)| start);
    let prefix = ext[..prefix_end].trim();
    if !prefix.is_empty() {
        map.insert("cef_unparsed".to_owned(), Value::String(prefix.to_owned()));
    }
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let value_end = keys.get(n + 1).map_or(bytes.len(), |&(next, _)| next);
        // All positions are at ASCII bytes (`=`, space, key bytes), so they are char boundaries.
        let raw = ext.get(eq + 1..value_end).unwrap_or_default();
        let key = ext.get(start..eq).unwrap_or_default();
        map.insert(
            key.to_owned(),
            Value::String(unescape_value(raw.trim_end_matches(' '))),
        );
    }
}

fn unescape_value(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some(e @ ('=' | '\\' | '|')) => {
                out.push(e);
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            Some('r') => {
                out.push('\r');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_and_extension() {
        let map = parse_cef(
            "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
        )
        .unwrap();
        assert_eq!(map["version"], json!("0"));
        assert_eq!(map["device_vendor"], json!("Security"));
        assert_eq!(map["device_product"], json!("threatmanager"));
        assert_eq!(map["device_version"], json!("1.0"));
        assert_eq!(map["signature_id"], json!("100"));
        assert_eq!(map["name"], json!("worm successfully stopped"));
        assert_eq!(map["severity"], json!("10"));
        assert_eq!(map["src"], json!("10.0.0.1"));
        assert_eq!(map["sourceAddress"], json!("10.0.0.1"));
        assert_eq!(map["dst"], json!("2.1.2.2"));
        assert_eq!(map["destinationAddress"], json!("2.1.2.2"));
        assert_eq!(map["spt"], json!("1232"));
        assert_eq!(map["sourcePort"], json!("1232"));
    }

    #[test]
    fn header_escapes() {
        let map = parse_cef(r"CEF:0|secu\|rity|thr\\eat|1.0|100|a \= b|High|").unwrap();
        assert_eq!(map["device_vendor"], json!("secu|rity"));
        assert_eq!(map["device_product"], json!(r"thr\eat"));
        assert_eq!(map["name"], json!(r"a \= b"));
        assert_eq!(map["severity"], json!("High"));
        assert_eq!(map.len(), 7);
    }

    #[test]
    fn extension_escapes_spaces_and_embedded_equals() {
        let map = parse_cef(
            r"CEF:1|V|P|1|sig|n|5|msg=Detected a threat.\nNo action needed cs1=a\=b\\c request=http://x/?a=b&c=d suser=bob  ",
        )
        .unwrap();
        assert_eq!(map["msg"], json!("Detected a threat.\nNo action needed"));
        assert_eq!(
            map["message"],
            json!("Detected a threat.\nNo action needed")
        );
        assert_eq!(map["cs1"], json!(r"a=b\c"));
        assert_eq!(map["request"], json!("http://x/?a=b&c=d"));
        assert_eq!(map["suser"], json!("bob"));
        assert_eq!(map["sourceUserName"], json!("bob"));
    }

    #[test]
    fn full_name_never_overwrites_a_given_key() {
        let map = parse_cef("CEF:0|V|P|1|s|n|1|src=1.1.1.1 sourceAddress=2.2.2.2").unwrap();
        assert_eq!(map["sourceAddress"], json!("2.2.2.2"));
    }

    #[test]
    fn odd_extensions() {
        let map = parse_cef("CEF:0|V|P|1|s|n|1|junk here k=v =x k2= last=\\").unwrap();
        assert_eq!(map["cef_unparsed"], json!("junk here"));
        assert_eq!(map["k"], json!("v =x"));
        assert_eq!(map["k2"], json!(""));
        assert_eq!(map["last"], json!("\\"));
        let map = parse_cef("CEF:0|V|P|1|s|n|1|a=1 a=2 ü=3 x=é").unwrap();
        // `ü` is not a key character, so `ü=3` belongs to the value before it.
        assert_eq!(map["a"], json!("2 ü=3"));
        assert_eq!(map["x"], json!("é"));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_cef("LEEF:1.0|a|b"), Err(CefError::NotCef));
        assert_eq!(
            parse_cef("CEF:0|V|P|1|s|n"),
            Err(CefError::IncompleteHeader { found: 5 })
        );
        assert_eq!(
            parse_cef("CEF:"),
            Err(CefError::IncompleteHeader { found: 0 })
        );
        assert_eq!(
            parse_cef("CEF:x|V|P|1|s|n|1|"),
            Err(CefError::BadVersion {
                version: "x".to_owned()
            })
        );
        assert!(parse_cef("CEF:0|a\\").is_err());
        // The `|` after the severity may be missing when there is no extension.
        let map = parse_cef("CEF:0|V|P|1|s|n|Very-High").unwrap();
        assert_eq!(map["severity"], json!("Very-High"));
        assert_eq!(map.len(), 7);
    }
}
