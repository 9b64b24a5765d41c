//! Decoding NDJSON lines into a [`Value`] that is reused from one line to the next.
//!
//! Hunting over NDJSON decodes millions of objects and drops most of them straight away (they match
//! nothing). Building a fresh `Value` per line spends most of its time allocating strings and keys
//! and hashing the keys into new maps, then freeing it all again. Decoding into the previous line's
//! tree instead overwrites its strings in place (keeping their capacity) and walks each map's
//! existing keys in order: a line shaped like the one before it (the same keys in the same order, as
//! in a log of one source) allocates and hashes nothing.
//!
//! The result is always exactly what `serde_json::from_slice::<Value>` gives for the line: same
//! values, same key order, and for a duplicate key the last value at the first one's position.
//! Where a key differs from the one at the same position of the previous tree, the rest of that
//! object is dropped and built the ordinary way (`Map::insert`, which gives those semantics).
//! Nesting depth is bounded by `serde_json`'s recursion limit, as for every other JSON input.

use std::borrow::Cow;
use std::fmt;

use chrono::Utc;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::ParseContext;
use super::json::trim_eol;
use crate::{Event, Format};

/// Decodes one NDJSON line (a trailing `\r` or `\n` is ignored) into `doc`, reusing what `doc`
/// already holds. Returns `true` when the line is one JSON object, which `doc` then is; on `false`
/// (invalid UTF-8 or JSON, another top-level value, trailing data) `doc` holds some valid value and
/// the caller gets the precise error from [`super::parse_ndjson_line`].
pub fn decode_ndjson_line_into(line: &[u8], doc: &mut Value) -> bool {
    let Ok(text) = std::str::from_utf8(trim_eol(line)) else {
        return false;
    };
    let mut de = serde_json::Deserializer::from_str(text);
    if InPlace(doc).deserialize(&mut de).is_err() || de.end().is_err() {
        return false;
    }
    doc.is_object()
}

/// The event of an NDJSON line decoded by [`decode_ndjson_line_into`]: the same event
/// [`super::parse_ndjson_line`] gives for that line. `doc` must be a JSON object.
pub fn ndjson_event(doc: Value, line_no: u64, ctx: &ParseContext) -> Event {
    ctx.event(doc, Format::Json, Some(line_no), Utc::now(), None)
}

/// Decodes the next JSON value into the referenced one.
struct InPlace<'v>(&'v mut Value);

impl<'de> DeserializeSeed<'de> for InPlace<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        *self.0 = Value::Bool(v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        *self.0 = Value::Number(v.into());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        *self.0 = Value::Number(v.into());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        *self.0 = Number::from_f64(v).map_or(Value::Null, Value::Number);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Value::String(s) => {
                s.clear();
                s.push_str(v);
            }
            other => *other = Value::String(v.to_owned()),
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        *self.0 = Value::Null;
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        *self.0 = Value::Null;
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.0.is_array() {
            *self.0 = Value::Array(Vec::new());
        }
        let Value::Array(items) = self.0 else {
            return Ok(());
        };
        let mut n = 0;
        loop {
            let more = match items.get_mut(n) {
                Some(slot) => seq.next_element_seed(InPlace(slot))?.is_some(),
                None => match seq.next_element::<Value>()? {
                    Some(v) => {
                        items.push(v);
                        true
                    }
                    None => false,
                },
            };
            if !more {
                break;
            }
            n += 1;
        }
        items.truncate(n);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        if !self.0.is_object() {
            *self.0 = Value::Object(Map::new());
        }
        let Value::Object(map) = self.0 else {
            return Ok(());
        };
        // Reuse the entries whose keys come in the same order as before.
        let mut kept = 0;
        let mut diverged = None;
        let mut entries = map.iter_mut();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            match entries.next() {
                Some((k, v)) if k.as_str() == key.as_ref() => {
                    access.next_value_seed(InPlace(v))?;
                    kept += 1;
                }
                _ => {
                    diverged = Some(key.into_owned());
                    break;
                }
            }
        }
        truncate(map, kept);
        // From the first different key on: the ordinary way.
        if let Some(key) = diverged {
            let value = access.next_value::<Value>()?;
            map.insert(key, value);
            while let Some((k, v)) = access.next_entry::<String, Value>()? {
                map.insert(k, v);
            }
        }
        Ok(())
    }
}

/// Keeps the first `n` entries of `map`.
fn truncate(map: &mut Map<String, Value>, n: usize) {
    if map.len() > n {
        let mut seen = 0;
        map.retain(|_, _| {
            seen += 1;
            seen <= n
        });
    }
}

/// An object key, borrowed from the input unless it had escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `lines` one after another into one reused value, checking each against a fresh parse.
    fn agree(lines: &[&str]) {
        let mut doc = Value::Null;
        for line in lines {
            let fresh = serde_json::from_str::<Value>(line.trim_end());
            let ok = decode_ndjson_line_into(line.as_bytes(), &mut doc);
            match fresh {
                Ok(v @ Value::Object(_)) => {
                    assert!(ok, "{line}");
                    assert_eq!(doc, v, "{line}");
                    // Same key order too (Value equality ignores it).
                    assert_eq!(doc.to_string(), v.to_string(), "{line}");
                }
                _ => assert!(!ok, "accepted {line}"),
            }
        }
    }

    #[test]
    fn same_shape_lines_reuse_and_agree() {
        agree(&[
            r#"{"a":"x","b":{"c":1,"d":[1,2,3]},"e":null}"#,
            r#"{"a":"longer text here","b":{"c":2.5,"d":[4]},"e":true}"#,
            r#"{"a":"","b":{"c":-3,"d":[]},"e":"s"}"#,
        ]);
    }

    #[test]
    fn shape_changes_agree() {
        agree(&[
            r#"{"a":1,"b":2,"c":3}"#,
            r#"{"a":1,"x":2}"#,
            r#"{"a":1,"x":2,"c":3,"d":{"e":[{"f":1},{"g":2}]}}"#,
            r#"{"d":{"e":[{"g":1}]},"a":[1,{"z":"q"}]}"#,
            r#"{}"#,
            r#"{"a":{"b":{"c":{"d":"deep"}}}}"#,
            r#"{"a":"now a string"}"#,
        ]);
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        agree(&[
            r#"{"a":1,"b":2,"c":3}"#,
            r#"{"a":1,"b":2,"a":9}"#,
            r#"{"a":1,"a":2,"a":3,"b":4}"#,
            r#"{"b":1,"a":2,"b":3}"#,
        ]);
    }

    #[test]
    fn escapes_numbers_and_crlf() {
        agree(&[
            "{\"p\":\"C:\\\\Windows\\\\cmd.exe\",\"k\\u00e9\":\"\\u00e9t\\u00e9\",\"n\":18446744073709551615}\r\n",
            "{\"p\":\"D:\\\\x\",\"k\\u00e9\":\"v\",\"n\":1e400}\n",
            "{\"p\":\"\\ud83d\\ude00\",\"k\\u00e9\":\"\",\"n\":-0.0}",
        ]);
    }

    #[test]
    fn bad_lines_are_refused_and_the_next_line_still_agrees() {
        agree(&[
            r#"{"a":1,"b":[1,2]}"#,
            r#"{"a":2,"b":[1,"#,
            r#"[1,2]"#,
            r#"{"a":1} {"b":2}"#,
            r#"{"a":3,"b":[5]}"#,
            "\"text\"",
            r#"{"a":4,"b":[5,6,7]}"#,
        ]);
        let mut doc = Value::Null;
        assert!(!decode_ndjson_line_into(b"{\"a\":\"\xff\"}", &mut doc));
        let deep = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert!(!decode_ndjson_line_into(deep.as_bytes(), &mut doc));
        assert!(decode_ndjson_line_into(br#"{"ok":true}"#, &mut doc));
        assert_eq!(doc, serde_json::json!({"ok": true}));
    }

    #[test]
    fn the_event_is_the_one_parse_ndjson_line_gives() {
        let ctx = ParseContext::new("file")
            .with_path("x.ndjson")
            .with_org("acme");
        let line = br#"{"@timestamp":"2024-05-01T10:00:00+02:00","EventID":4688}"#;
        let mut doc = Value::Null;
        assert!(decode_ndjson_line_into(line, &mut doc));
        let event = ndjson_event(doc, 7, &ctx);
        let expected = super::super::parse_ndjson_line(line, 7, &ctx).expect("parses");
        assert_eq!(event.data, expected.data);
        assert_eq!(event.meta.timestamp, expected.meta.timestamp);
        assert_eq!(event.meta.source, expected.meta.source);
        assert_eq!(event.meta.org, expected.meta.org);
        assert_eq!(event.meta.format, expected.meta.format);
    }
}
