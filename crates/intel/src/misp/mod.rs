//! MISP event JSON and MISP feeds, to and from STIX 2.1.
//!
//! MISP is what most national CSIRTs run; its event JSON and feed folders are how they exchange
//! indicators. Shield reads them into STIX 2.1 and writes STIX back out as MISP events.
//!
//! # Import ([`import_event`], [`import_feed`])
//!
//! * Both `{"Event": {…}}` and the bare event object are read. Numbers may be JSON numbers or
//!   strings and `to_ids` a boolean, `0`/`1` or `"0"`/`"1"`, as MISP versions differ.
//! * Each attribute (and each supported object: `file`, `domain-ip`, `ip-port`, `url`,
//!   `network-connection`, `email`) becomes one STIX object whose id reuses the MISP uuid
//!   (`indicator--<attribute uuid>`), so re-importing an updated event updates the same objects.
//! * **`to_ids` decides indicator or observation.** `to_ids: true` is MISP's "use this for
//!   detection": it becomes an `indicator` with a `stix` pattern (values escaped: `\` → `\\`,
//!   `'` → `\'`) and its values go to the IOC matcher ([`ImportedIndicator::iocs`]).
//!   `to_ids: false` marks context (a sandbox's benign DNS server, a victim address): it becomes
//!   `observed-data` with its cyber observables, which Shield keeps and shares but never alerts on.
//!   Lowering an indicator's confidence instead would still raise alerts on values the producer
//!   said not to detect on.
//! * Tags: `tlp:*` (`white`/`clear`, `green`, `amber`, `amber+strict`, `red`) become TLP 2.0
//!   `object_marking_refs` (an attribute's own TLP wins over the event's); other tags become
//!   `labels`. The MISP type and category ride as labels `misp:type="…"` and `misp:category="…"`
//!   (the convention MISP's own converter uses), which lets export restore them.
//! * The event becomes a `report` (`report--<event uuid>`) grouping every object, with the event's
//!   tags, the creator organisation as an `identity`, and `link` attributes as external references.
//! * Import never fails as a whole past the JSON level: bad attributes are reported one by one
//!   ([`MispImport::issues`], each naming the event, the attribute's position and uuid) and the rest
//!   is kept. Attribute types that are not indicators (`text`, `comment`, `other`, …) are counted in
//!   [`MispImport::skipped`].
//!
//! # Export ([`export_event`])
//!
//! Indicators (patterns of the shapes import writes, or any OR of equality comparisons on the
//! common observable paths) and observed-data become MISP attributes and objects with `uuid`,
//! `type`, `category`, `value`, `to_ids`, `timestamp`, `distribution` and tags; the event carries
//! `uuid`, `info`, `date`, `threat_level_id`, `analysis`, `distribution`, `published`, `timestamp`
//! and the TLP tag — what PyMISP needs to load it.
//!
//! # Feeds ([`import_feed`], [`export_feed`])
//!
//! A feed folder is `manifest.json` (event uuid → summary) plus one `<uuid>.json` per event. This
//! module does no I/O: the caller reads files through a closure, and every uuid from the manifest
//! is checked to be a UUID before it is used as a file name (no `../` from a hostile manifest).

mod export;
mod feed;
mod import;
mod mapping;
mod pattern;
mod stix;
mod value;

pub use export::{ExportOptions, MispExport, export_event};
pub use feed::{FeedEntry, FeedImport, MAX_FEED_EVENTS, export_feed, import_feed, parse_manifest};
pub use import::{ImportedIndicator, MispImport, import_event, import_event_value};

/// The largest MISP document read, in bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;
/// The most attributes (including object attributes) read from one event.
pub const MAX_ATTRIBUTES: usize = 1_000_000;

/// What went wrong reading or writing MISP data; each variant names the input and the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MispError {
    /// The document is not JSON.
    #[error("{input}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// The input's name.
        input: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The document is larger than [`MAX_EVENT_BYTES`].
    #[error("{input}: {len} bytes is more than the {max}-byte limit")]
    TooLarge {
        /// The input's name.
        input: String,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON is not a MISP event.
    #[error("{input}: not a MISP event ({reason})")]
    NotAnEvent {
        /// The input's name.
        input: String,
        /// Why.
        reason: &'static str,
    },
    /// One attribute or object could not be used; the rest of the event was.
    #[error("{input}: event {event}: {path}: {message}")]
    Item {
        /// The input's name.
        input: String,
        /// The event's uuid.
        event: String,
        /// Where in the event: `Attribute[3] (uuid …)`, `Object[1] file`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A feed manifest or one of its events could not be used.
    #[error("{input}: {message}")]
    Feed {
        /// The file's name.
        input: String,
        /// What is wrong.
        message: String,
    },
}

/// Parses `bytes` as one MISP event for fuzzing: must never panic, whatever the input.
pub fn fuzz_event(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(imported) = import_event(text, "fuzz") {
            let objects: Vec<serde_json::Value> = imported.objects;
            let _ = export_event(&objects, &ExportOptions::default());
        }
        let _ = parse_manifest(text, "fuzz");
    }
}
