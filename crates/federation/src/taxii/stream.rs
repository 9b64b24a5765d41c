//! The live feed: `GET /taxii2/{root}/collections/{id}/stream/` answers with server-sent events
//! (`text/event-stream`), one event per page of versions as they are stored.
//!
//! ```text
//! id: 2026-03-01T12:00:00.123456Z
//! event: objects
//! data: {"more":false,"objects":[{…},{…}]}
//!
//! : keep-alive
//! ```
//!
//! * **Same reads as `GET objects`.** Each event is a TAXII envelope of the versions (every
//!   version, oldest `date_added` first) the caller may read, through its read scope when the
//!   node gives it one (peers: the sharing policy, texts as they leave the node), else under the
//!   store's TLP rule as the caller. Collection visibility and read rights are checked as for
//!   `GET objects` (404/403).
//! * **Resume by cursor.** The event id is the `date_added` of the last version the store
//!   returned for the page (also when the scope held every one back: the event then has no
//!   objects), so `Last-Event-ID` (or `added_after`) after a reconnection continues exactly
//!   there; no version is skipped or repeated.
//! * **Bounded.** A subscriber has [`BUFFERED_EVENTS`] events in flight; one that does not take
//!   the next within [`SLOW_SUBSCRIBER`] is dropped (it resumes by cursor, from the store). The
//!   node keeps at most [`MAX_STREAMS`] streams open, each at most [`MAX_STREAM_LIFETIME`]
//!   (credentials are checked again at the reconnection), and every stream ends when the server
//!   closes ([`super::TaxiiState::with_closing`]). New versions are noticed through the
//!   server's change signal ([`super::TaxiiState::notify_changed`]) and by a check every
//!   [`POLL_INTERVAL`] (writes by other processes on the same store).
//! * **Line breaks** inside stored texts become separate `data:` lines, which the client joins
//!   with `\n`: the JSON read back is the same JSON (line breaks are only white space in it).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use shield_intel::stix::Timestamp;
use shield_store::intel::{ObjectQuery, VersionMatch, taxii_timestamp};
use tokio::sync::mpsc;

use super::objects::{Served, envelope, query};
use super::params::{Endpoint, parse};
use super::{Caller, TaxiiError, TaxiiState};

/// The media type of the live feed.
pub const STREAM_MEDIA_TYPE: &str = "text/event-stream";
/// Most versions in one event (`limit` may ask for fewer).
pub const MAX_STREAM_PAGE: usize = 1000;
/// Events in flight to one subscriber.
pub const BUFFERED_EVENTS: usize = 8;
/// How long an event may wait for a subscriber before the subscriber is dropped.
pub const SLOW_SUBSCRIBER: Duration = Duration::from_secs(10);
/// Streams one server keeps open at once.
pub const MAX_STREAMS: usize = 512;
/// Longest life of one stream.
pub const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(3600);
/// How often the store is checked without a change signal.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Time between keep-alive comments on a quiet stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One server-sent event: `id`, `event`, and `data` split at line breaks.
pub fn format_event(id: &str, event: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + id.len() + event.len() + 32);
    out.push_str("id: ");
    out.push_str(id);
    out.push_str("\nevent: ");
    out.push_str(event);
    out.push('\n');
    for line in data.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Whether the request's `Accept` admits an event stream (absent, a wildcard, or the type).
fn accepts_events(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return headers.get(header::ACCEPT).is_none();
    };
    accept.trim().is_empty()
        || accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case(STREAM_MEDIA_TYPE) || media == "*/*" || media == "text/*"
        })
}

/// The start position: `Last-Event-ID` when given (a reconnection), else `added_after`.
fn start_position(
    headers: &HeaderMap,
    added_after: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, TaxiiError> {
    match headers.get("last-event-id") {
        None => Ok(added_after),
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| TaxiiError::bad_request("Last-Event-ID is not ASCII"))?
                .trim();
            if text.is_empty() {
                return Ok(added_after);
            }
            Timestamp::parse(text)
                .map(|t| Some(t.as_datetime()))
                .map_err(|why| {
                    TaxiiError::bad_request(format!(
                        "Last-Event-ID {text:?} is not a TAXII timestamp ({why})"
                    ))
                })
        }
    }
}

/// `GET …/collections/{id}/stream/`.
pub(crate) async fn stream(
    State(state): State<TaxiiState>,
    Path((root, key)): Path<(String, String)>,
    query_pairs: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, TaxiiError> {
    let Query(pairs) = query_pairs.map_err(|e| {
        TaxiiError::bad_request(format!(
            "the query string cannot be read: {}",
            e.body_text()
        ))
    })?;
    let p = parse(&pairs, Endpoint::Objects)?;
    let caller = state.caller(&headers)?;
    state.check_root(&root)?;
    if !accepts_events(&headers) {
        return Err(TaxiiError::not_acceptable(format!(
            "this endpoint answers with {STREAM_MEDIA_TYPE}"
        )));
    }
    let collection = state.visible_collection(&caller, &key).await?;
    if !collection.can_read(&caller.reader()) {
        return Err(TaxiiError::forbidden(format!(
            "you may not read collection '{key}'"
        )));
    }
    let start = start_position(&headers, p.added_after)?;
    let permit = state
        .inner
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            TaxiiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too-many-streams",
                "Too many streams",
                format!("this server keeps at most {MAX_STREAMS} streams open; retry later"),
            )
        })?;
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFERED_EVENTS);
    let feed = Feed {
        state: state.clone(),
        caller,
        query: ObjectQuery {
            added_after: start,
            versions: vec![VersionMatch::All],
            types: p.types,
            limit: p.limit.unwrap_or(MAX_STREAM_PAGE).min(MAX_STREAM_PAGE),
            ..ObjectQuery::new(collection.id.clone())
        },
    };
    tokio::spawn(async move {
        let _permit = permit;
        feed.run(tx).await;
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(STREAM_MEDIA_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// One subscriber's feed.
struct Feed {
    state: TaxiiState,
    caller: Caller,
    query: ObjectQuery,
}

impl Feed {
    /// Sends pages from the position on, then each change, until the subscriber goes away, is
    /// too slow, or the stream's lifetime ends.
    async fn run(mut self, tx: mpsc::Sender<Bytes>) {
        let started = tokio::time::Instant::now();
        let mut changes = self.state.inner.changes.subscribe();
        // Without a closing signal the stream ends by its subscriber or its lifetime only.
        let (_never, idle) = tokio::sync::watch::channel(false);
        let mut closing = self.state.inner.closing.clone().unwrap_or(idle);
        let mut last_sent = tokio::time::Instant::now();
        loop {
            if started.elapsed() > MAX_STREAM_LIFETIME || *closing.borrow() {
                return;
            }
            changes.borrow_and_update();
            let served: Served = match query(&self.state, &self.caller, self.query.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    let text = serde_json::to_string(&*e).unwrap_or_default();
                    let _ = tx
                        .send_timeout(format_event("", "error", &text), SLOW_SUBSCRIBER)
                        .await;
                    return;
                }
            };
            if let Some((_, last)) = served.bounds {
                let body = envelope(&served.page);
                let data = String::from_utf8_lossy(&body);
                let event = format_event(&taxii_timestamp(last), "objects", &data);
                if tx.send_timeout(event, SLOW_SUBSCRIBER).await.is_err() {
                    tracing::info!(
                        caller = %self.caller.name,
                        "stream: subscriber gone or too slow, dropped (it resumes by cursor)"
                    );
                    return;
                }
                last_sent = tokio::time::Instant::now();
                self.query.added_after = Some(last);
                if served.page.more {
                    continue;
                }
            }
            tokio::select! {
                r = changes.changed() => {
                    if r.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(POLL_INTERVAL) => {
                    if last_sent.elapsed() >= KEEP_ALIVE {
                        let ping = Bytes::from_static(b": keep-alive\n\n");
                        if tx.send_timeout(ping, SLOW_SUBSCRIBER).await.is_err() {
                            return;
                        }
                        last_sent = tokio::time::Instant::now();
                    }
                }
                _ = tx.closed() => return,
                _ = closing.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_lines_and_name_their_cursor() {
        let e = format_event(
            "2026-03-01T12:00:00.000001Z",
            "objects",
            "{\"a\":\n1,\r\n\"b\":2}",
        );
        assert_eq!(
            std::str::from_utf8(&e).unwrap(),
            "id: 2026-03-01T12:00:00.000001Z\nevent: objects\ndata: {\"a\":\ndata: 1,\ndata: \"b\":2}\n\n"
        );
    }

    #[test]
    fn accept_and_resume_headers() {
        let mut h = HeaderMap::new();
        assert!(accepts_events(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/taxii+json"),
        );
        assert!(!accepts_events(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        assert!(accepts_events(&h));
        let after = Timestamp::parse("2026-01-01T00:00:00Z")
            .unwrap()
            .as_datetime();
        assert_eq!(start_position(&h, Some(after)).unwrap(), Some(after));
        h.insert(
            "last-event-id",
            HeaderValue::from_static("2026-03-01T12:00:00.000001Z"),
        );
        let resumed = start_position(&h, Some(after)).unwrap().unwrap();
        assert_eq!(taxii_timestamp(resumed), "2026-03-01T12:00:00.000001Z");
        h.insert("last-event-id", HeaderValue::from_static("yesterday"));
        assert_eq!(
            start_position(&h, None).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }
}
