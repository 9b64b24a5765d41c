//! MISP feed folders: `manifest.json` plus one `<uuid>.json` per event. No I/O here: the caller
//! reads and writes the files.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::import::{MispImport, import_event};
use super::value::{int, tags, text};
use super::{MAX_EVENT_BYTES, MispError};

/// The most events one manifest may list.
pub const MAX_FEED_EVENTS: usize = 100_000;

/// One event listed in a feed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The event's uuid (checked to be a UUID, so `<uuid>.json` is a safe file name).
    pub uuid: Uuid,
    /// Its `info`.
    pub info: String,
    /// Its `timestamp`, when given.
    pub timestamp: Option<i64>,
    /// Its tags.
    pub tags: Vec<String>,
}

impl FeedEntry {
    /// The event's file name in the feed folder.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.uuid)
    }
}

/// The events of a feed, imported.
#[derive(Debug, Clone, Default)]
pub struct FeedImport {
    /// One import per event file that could be read.
    pub events: Vec<MispImport>,
    /// Manifest entries and event files that could not be used.
    pub issues: Vec<MispError>,
}

/// Reads a feed's `manifest.json`; `input` names it in errors. Entries whose key is not a UUID are
/// reported and left out.
pub fn parse_manifest(
    manifest: &str,
    input: &str,
) -> Result<(Vec<FeedEntry>, Vec<MispError>), MispError> {
    if manifest.len() > MAX_EVENT_BYTES {
        return Err(MispError::TooLarge {
            input: input.to_owned(),
            len: manifest.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    let value: Value = serde_json::from_str(manifest).map_err(|e| MispError::Json {
        input: input.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Value::Object(map) = value else {
        return Err(MispError::Feed {
            input: input.to_owned(),
            message: "manifest is not a JSON object".to_owned(),
        });
    };
    let mut entries = Vec::new();
    let mut issues = Vec::new();
    for (key, summary) in map.iter().take(MAX_FEED_EVENTS) {
        let Ok(uuid) = Uuid::try_parse(key) else {
            issues.push(MispError::Feed {
                input: input.to_owned(),
                message: format!("entry {:?} is not an event uuid", crate::ioc::truncate(key)),
            });
            continue;
        };
        entries.push(FeedEntry {
            uuid,
            info: text(summary.get("info")).unwrap_or("").to_owned(),
            timestamp: int(summary.get("timestamp")),
            tags: tags(summary.get("Tag"))
                .into_iter()
                .map(str::to_owned)
                .collect(),
        });
    }
    if map.len() > MAX_FEED_EVENTS {
        issues.push(MispError::Feed {
            input: input.to_owned(),
            message: format!("more than {MAX_FEED_EVENTS} events; the rest are ignored"),
        });
    }
    Ok((entries, issues))
}

/// Imports a feed: the manifest, then each listed event through `read`, which answers the text of
/// a file of the feed folder by name (`<uuid>.json`) or why it could not be read.
pub fn import_feed(
    manifest: &str,
    mut read: impl FnMut(&str) -> Result<String, String>,
) -> Result<FeedImport, MispError> {
    let (entries, issues) = parse_manifest(manifest, "manifest.json")?;
    let mut out = FeedImport {
        events: Vec::new(),
        issues,
    };
    for entry in entries {
        let name = entry.file_name();
        match read(&name).map_err(|message| MispError::Feed {
            input: name.clone(),
            message,
        }) {
            Ok(text) => match import_event(&text, &name) {
                Ok(event) => out.events.push(event),
                Err(e) => out.issues.push(e),
            },
            Err(e) => out.issues.push(e),
        }
    }
    Ok(out)
}

/// Writes a feed folder for MISP events (`{"Event": {…}}` documents, such as
/// [`super::export_event`] makes): `(file name, contents)` for `manifest.json` and each
/// `<uuid>.json`. Documents without a valid event uuid are left out. (`hashes.csv`, an optional
/// lookup cache, is not written.)
pub fn export_feed(events: &[Value]) -> Vec<(String, String)> {
    let mut manifest = Map::new();
    let mut files = Vec::new();
    for doc in events {
        let event = doc.get("Event").unwrap_or(doc);
        let Some(uuid) = text(event.get("uuid")).and_then(|u| Uuid::try_parse(u).ok()) else {
            continue;
        };
        let pick = |key: &str| event.get(key).cloned().unwrap_or(Value::Null);
        manifest.insert(
            uuid.to_string(),
            json!({
                "Orgc": pick("Orgc"),
                "Tag": pick("Tag"),
                "info": pick("info"),
                "date": pick("date"),
                "analysis": int(event.get("analysis")).unwrap_or(0),
                "threat_level_id": int(event.get("threat_level_id")).unwrap_or(4),
                "timestamp": int(event.get("timestamp")).unwrap_or(0),
            }),
        );
        let body = json!({ "Event": event });
        files.push((format!("{uuid}.json"), body.to_string()));
    }
    let mut out = vec![(
        "manifest.json".to_owned(),
        Value::Object(manifest).to_string(),
    )];
    out.append(&mut files);
    out
}
