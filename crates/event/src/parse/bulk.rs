//! The Elasticsearch `_bulk` request body, as Winlogbeat, Filebeat, Vector and Fluent Bit send it.
//!
//! The body is NDJSON: an action line (`{"index":{"_index":"winlogbeat-8","_id":"x"}}`) followed, for
//! `index`, `create` and `update`, by a source line. Blank lines are skipped and CRLF is accepted.
//!
//! * The document is kept as sent: the index name is **not** written into the event; it is in
//!   [`BulkItem::index`] (the action's `_index`, else the `default_index` of the URL).
//! * `update` takes its event from the source line's `doc` object (else its `upsert` object).
//! * `delete` has no document: its item's result is an error saying so (Shield's archive is
//!   append-only). Callers that answer deletes differently can tell them by [`BulkItem::action`].
//! * A malformed action line is an item whose action is [`BulkAction::Index`] (the action shippers
//!   send) and whose result is the error. If the next line is not itself a valid action line, it is
//!   taken as that item's document and skipped, so the pairing of the lines after it is kept.
//! * An item's error names the 1-based line and, as the record, the item's 0-based position (the
//!   position of its entry in the bulk response); an event's source records its document's line.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::json::{Lines, error_offset, json_message, trim_eol};
use super::{ParseContext, json_type};
use crate::{Event, Format, ParseError};

/// The operation of one bulk item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkAction {
    /// Add or replace a document.
    Index,
    /// Add a document that must not exist yet.
    Create,
    /// Update a document (`doc` or `upsert`).
    Update,
    /// Delete a document; carries no document.
    Delete,
}

impl BulkAction {
    /// The action's name in the bulk API (`index`, `create`, `update`, `delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Index => "index",
            BulkAction::Create => "create",
            BulkAction::Update => "update",
            BulkAction::Delete => "delete",
        }
    }
}

/// One item of a bulk request: its action, target and the event (or why there is none).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    /// The action (`Index` when the action line could not be read).
    pub action: BulkAction,
    /// The action's `_index`, else the request's default index.
    pub index: Option<String>,
    /// The action's `_id` (a number is given as its decimal text).
    pub id: Option<String>,
    /// The event, or the error that explains why this item has none.
    pub result: Result<Event, ParseError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine {
    index: Option<ActionMeta>,
    create: Option<ActionMeta>,
    update: Option<ActionMeta>,
    delete: Option<ActionMeta>,
}

#[derive(Deserialize)]
struct ActionMeta {
    #[serde(rename = "_index")]
    index: Option<String>,
    #[serde(rename = "_id")]
    id: Option<Value>,
}

/// Parses a bulk request body into one [`BulkItem`] per action, in order. Never fails as a whole.
pub fn parse_es_bulk(
    bytes: &[u8],
    default_index: Option<&str>,
    ctx: &ParseContext,
) -> Vec<BulkItem> {
    let received = Utc::now();
    let mut items = Vec::new();
    let mut lines = Lines::new(bytes, 0)
        .enumerate()
        .map(|(i, (offset, line))| BodyLine {
            number: i as u64 + 1,
            offset: offset as u64,
            bytes: trim_eol(line),
        })
        .filter(|l| !l.bytes.iter().all(u8::is_ascii_whitespace))
        .peekable();
    while let Some(line) = lines.next() {
        let position = items.len() as u64;
        let located = |l: &BodyLine, at: u64, message: String| {
            ctx.error(
                |loc| {
                    loc.with_line(l.number)
                        .with_record(position)
                        .with_offset(l.offset + at)
                },
                message,
            )
        };
        let (action, meta) = match parse_action(line.bytes) {
            Ok(parsed) => parsed,
            Err((at, message)) => {
                if lines
                    .peek()
                    .is_some_and(|next| parse_action(next.bytes).is_err())
                {
                    lines.next();
                }
                items.push(BulkItem {
                    action: BulkAction::Index,
                    index: default_index.map(str::to_owned),
                    id: None,
                    result: Err(located(
                        &line,
                        at,
                        format!("bad bulk action line: {message}"),
                    )),
                });
                continue;
            }
        };
        let index = meta.index.or_else(|| default_index.map(str::to_owned));
        let id = meta.id.map(|id| match id {
            Value::String(s) => s,
            other => other.to_string(),
        });
        let result = if action == BulkAction::Delete {
            Err(located(
                &line,
                0,
                "delete: bulk deletes carry no document and are not supported".to_owned(),
            ))
        } else {
            match lines.next() {
                None => Err(located(
                    &line,
                    0,
                    format!(
                        "{} action without a document (the body ends)",
                        action.as_str()
                    ),
                )),
                Some(source) => document(&source, action, ctx, received)
                    .map_err(|(at, message)| located(&source, at, message)),
            }
        };
        items.push(BulkItem {
            action,
            index,
            id,
            result,
        });
    }
    items
}

struct BodyLine<'a> {
    number: u64,
    offset: u64,
    bytes: &'a [u8],
}

type LineError = (u64, String);

fn parse_action(line: &[u8]) -> Result<(BulkAction, ActionMeta), LineError> {
    let parsed: ActionLine = serde_json::from_slice(line)
        .map_err(|e| (error_offset(line, &e) as u64, json_message(&e)))?;
    let mut found = [
        (BulkAction::Index, parsed.index),
        (BulkAction::Create, parsed.create),
        (BulkAction::Update, parsed.update),
        (BulkAction::Delete, parsed.delete),
    ]
    .into_iter()
    .filter_map(|(action, meta)| meta.map(|m| (action, m)));
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err((
            0,
            "no action (expected index, create, update or delete)".to_owned(),
        )),
        (Some(_), Some(_)) => Err((0, "more than one action on one line".to_owned())),
    }
}

fn document(
    line: &BodyLine<'_>,
    action: BulkAction,
    ctx: &ParseContext,
    received: DateTime<Utc>,
) -> Result<Event, LineError> {
    let value: Value = serde_json::from_slice(line.bytes)
        .map_err(|e| (error_offset(line.bytes, &e) as u64, json_message(&e)))?;
    let value = match (action, value) {
        (BulkAction::Update, Value::Object(mut map)) => {
            match map.remove("doc").or_else(|| map.remove("upsert")) {
                Some(doc @ Value::Object(_)) => doc,
                Some(other) => {
                    return Err((
                        0,
                        format!("update: `doc` is {}, not an object", json_type(&other)),
                    ));
                }
                None => return Err((0, "update without a `doc` or `upsert` object".to_owned())),
            }
        }
        (_, value @ Value::Object(_)) => value,
        (_, other) => {
            return Err((
                0,
                format!(
                    "expected a JSON object document, found {}",
                    json_type(&other)
                ),
            ));
        }
    };
    Ok(ctx.event(value, Format::Json, Some(line.number), received, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> ParseContext {
        ParseContext::new("bulk").with_org("acme")
    }

    #[test]
    fn winlogbeat_style_body() {
        let body = concat!(
            "{\"index\":{\"_index\":\"winlogbeat-8.13.0\",\"_id\":\"a1\"}}\n",
            "{\"@timestamp\":\"2024-05-01T10:00:00.000Z\",\"winlog\":{\"event_id\":4688}}\n",
            "{\"create\":{}}\r\n",
            "{\"message\":\"two\"}\r\n",
            "\n",
            "{\"update\":{\"_id\":7}}\n",
            "{\"doc\":{\"message\":\"three\"},\"doc_as_upsert\":true}\n",
            "{\"delete\":{\"_index\":\"x\",\"_id\":\"9\"}}\n",
        );
        let items = parse_es_bulk(body.as_bytes(), Some("default"), &ctx());
        assert_eq!(items.len(), 4);
        let actions: Vec<_> = items.iter().map(|i| i.action).collect();
        assert_eq!(
            actions,
            [
                BulkAction::Index,
                BulkAction::Create,
                BulkAction::Update,
                BulkAction::Delete
            ]
        );
        assert_eq!(items[0].index.as_deref(), Some("winlogbeat-8.13.0"));
        assert_eq!(items[0].id.as_deref(), Some("a1"));
        let first = items[0].result.as_ref().unwrap();
        assert_eq!(
            first.data,
            json!({"@timestamp":"2024-05-01T10:00:00.000Z","winlog":{"event_id":4688}})
        );
        assert_eq!(
            first.meta.source.as_ref().and_then(|s| s.record_id),
            Some(2)
        );
        assert_eq!(first.meta.org.as_deref(), Some("acme"));
        assert!(first.meta.timestamp.is_some());
        assert_eq!(items[1].index.as_deref(), Some("default"));
        assert_eq!(
            items[1].result.as_ref().unwrap().data,
            json!({"message": "two"})
        );
        assert_eq!(items[2].id.as_deref(), Some("7"));
        assert_eq!(
            items[2].result.as_ref().unwrap().data,
            json!({"message": "three"})
        );
        let delete = items[3].result.as_ref().unwrap_err();
        assert_eq!(delete.location.line, Some(8));
        assert_eq!(delete.location.record, Some(3));
        assert_eq!(items[3].index.as_deref(), Some("x"));
    }

    #[test]
    fn bad_document_is_that_items_error() {
        let body = b"{\"index\":{}}\n{\"a\":1,,}\n{\"index\":{}}\n{\"a\":2}\n{\"index\":{}}\n[1]\n";
        let items = parse_es_bulk(body, None, &ctx());
        assert_eq!(items.len(), 3);
        let e = items[0].result.as_ref().unwrap_err();
        assert_eq!(e.location.line, Some(2));
        assert_eq!(e.location.offset, Some(13 + 7));
        assert_eq!(items[1].result.as_ref().unwrap().data, json!({"a": 2}));
        assert!(
            items[2]
                .result
                .as_ref()
                .unwrap_err()
                .message
                .contains("found array")
        );
        assert_eq!(items[0].index, None);
    }

    #[test]
    fn bad_action_lines_resync() {
        // A garbage action followed by its document: the document is skipped with it.
        let body = b"{\"indx\":{}}\n{\"a\":1}\n{\"index\":{}}\n{\"a\":2}\n";
        let items = parse_es_bulk(body, None, &ctx());
        assert_eq!(items.len(), 2);
        assert!(
            items[0]
                .result
                .as_ref()
                .unwrap_err()
                .message
                .contains("bad bulk action line")
        );
        assert_eq!(items[1].result.as_ref().unwrap().data, json!({"a": 2}));
        // A garbage action followed directly by a valid action: nothing more is lost.
        let body = b"not json\n{\"create\":{\"_id\":\"z\"}}\n{\"a\":3}\n";
        let items = parse_es_bulk(body, None, &ctx());
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].action, BulkAction::Create);
        assert_eq!(items[1].result.as_ref().unwrap().data, json!({"a": 3}));
        // Two actions on one line, no action, update without doc, missing final document.
        let body = b"{\"index\":{},\"create\":{}}\n{}\n{}\n{\"update\":{}}\n{\"script\":{}}\n{\"index\":{}}\n";
        let items = parse_es_bulk(body, None, &ctx());
        let messages: Vec<_> = items
            .iter()
            .map(|i| i.result.as_ref().unwrap_err().message.clone())
            .collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("more than one action"));
        assert!(messages[1].contains("no action"));
        assert!(messages[2].contains("without a `doc`"));
        assert!(messages[3].contains("body ends"));
    }

    #[test]
    fn hostile_bodies_never_panic() {
        for body in [
            &b""[..],
            b"\n\n",
            b"{",
            b"{\"index\":",
            b"{\"index\":{\"_id\":[1,2]}}\n{}",
            b"\xff\xff\n\0",
        ] {
            let items = parse_es_bulk(body, Some("i"), &ctx());
            assert!(items.len() <= 2);
        }
        let deep = [b"{\"index\":{}}\n".as_slice(), &b"[".repeat(5000)].concat();
        let items = parse_es_bulk(&deep, None, &ctx());
        assert!(
            items[0]
                .result
                .as_ref()
                .unwrap_err()
                .message
                .contains("recursion limit")
        );
    }
}
