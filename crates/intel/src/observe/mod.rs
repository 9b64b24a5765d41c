//! Observables: the indicator-like values an event carries, and where it carries them.
//!
//! An [`ObservableExtractor`] knows which fields of which log layouts hold addresses, host names,
//! URLs, hashes, e-mail addresses and file paths (see [`fields`] for the default mapping: ECS,
//! Windows/Sysmon in every converter layout, Suricata EVE, Zeek, CEF, syslog messages), plus any
//! extra field → kind mapping the operator configures.
//!
//! # Design decisions
//!
//! * **One pass over the event.** The known field paths are compiled into a trie of keys; the
//!   extractor walks the event's JSON once, following only keys that the trie knows (one hash probe
//!   per key), instead of trying a hundred paths. Keys that hold dots (`"source.ip"` flattened, Zeek's
//!   `"id.orig_h"`) are followed segment by segment, and arrays are walked through, so nested,
//!   flattened and list-valued layouts all resolve. Windows `EventData.Data` lists of
//!   `{Name, #text}` elements and `{"#text": …}` element values are understood.
//! * **Borrow, don't copy.** An [`Observable`] borrows its value from the event whenever the value is
//!   a slice of a field (trimmed, a path's file name, one algorithm of Sysmon's
//!   `SHA256=…,MD5=…` string, an address inside a syslog message); only guessed kinds allocate.
//! * **Cheap plausibility, not validation.** Values are checked just enough to keep noise out (an
//!   address parses, a hash is hex of the right length, a domain has a dot and an alphabetic
//!   top-level label); normalisation happens at lookup in the matcher.
//! * **Bounded work.** At most [`MAX_OBSERVABLES`] observables per event, arrays walked at most
//!   [`MAX_ARRAY_DEPTH`] deep, free text scanned over its first [`MAX_SCAN_BYTES`] bytes.

pub mod fields;
mod scan;

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use shield_event::Event;

use crate::ioc::IocKind;

pub use scan::{addresses_in_text, file_hashes};

/// The most observables one event yields.
pub const MAX_OBSERVABLES: usize = 512;
/// How deep arrays inside arrays are followed.
pub const MAX_ARRAY_DEPTH: usize = 4;
/// How much of a free-text field is scanned for addresses.
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// One indicator-like value found in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observable<'a> {
    /// What the value is.
    pub kind: IocKind,
    /// The value as found (trimmed), not normalised.
    pub value: Cow<'a, str>,
    /// The field it came from, by its name in the mapping (`destination.ip`, `DestinationIp`, …).
    pub field: &'a str,
}

/// How a field's value becomes observables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// The value is of this kind.
    Kind(IocKind),
    /// An IPv4 or IPv6 address (`::ffff:` mapped, bracketed and zoned forms accepted).
    Address,
    /// A host: an address if it parses as one, else a domain name.
    HostOrAddress,
    /// Guess the kind ([`crate::ioc::detect`]); allocates.
    Detect,
    /// Sysmon's `SHA1=…,MD5=…,SHA256=…,IMPHASH=…` list (or a bare hash); `IMPHASH` is skipped.
    FileHashes,
    /// A file path whose last component is a file name.
    FilePath,
    /// Free text in which IPv4 and IPv6 addresses are found.
    ScanText,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: FxHashMap<Box<str>, usize>,
    rule: Option<(FieldRule, Box<str>)>,
    /// The node of a Windows `EventData`: its `Data` list holds `{Name, #text}` elements.
    named_data: bool,
}

/// Finds observables in events (see the module docs).
#[derive(Debug, Clone)]
pub struct ObservableExtractor {
    nodes: Vec<Node>,
}

impl Default for ObservableExtractor {
    /// The default mapping of [`fields`].
    fn default() -> Self {
        let mut extractor = ObservableExtractor::empty();
        fields::add_defaults(&mut extractor);
        extractor
    }
}

impl ObservableExtractor {
    /// An extractor that knows no field.
    pub fn empty() -> Self {
        ObservableExtractor {
            nodes: vec![Node::default()],
        }
    }

    /// Adds (or replaces) the rule for a dotted field path, reported under the path itself.
    pub fn with_field(mut self, path: &str, rule: FieldRule) -> Self {
        self.add(path, path, rule);
        self
    }

    /// Adds (or replaces) the rule for a dotted path, reported under `name`.
    pub fn add(&mut self, path: &str, name: &str, rule: FieldRule) {
        let node = self.node_for(path);
        self.nodes[node].rule = Some((rule, name.into()));
    }

    /// Marks a dotted path as a Windows `EventData` element whose `Data` list names its fields.
    pub(crate) fn mark_named_data(&mut self, path: &str) {
        let node = self.node_for(path);
        self.nodes[node].named_data = true;
    }

    fn node_for(&mut self, path: &str) -> usize {
        let mut node = 0;
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            node = match self.nodes[node].children.get(segment) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].children.insert(segment.into(), child);
                    child
                }
            };
        }
        node
    }

    /// The child of `node` reached by a key, following dotted keys segment by segment.
    fn child(&self, node: usize, key: &str) -> Option<usize> {
        let children = &self.nodes[node].children;
        if let Some(&child) = children.get(key) {
            return Some(child);
        }
        if !key.contains('.') {
            return None;
        }
        let mut at = node;
        for segment in key.split('.') {
            at = *self.nodes[at].children.get(segment)?;
        }
        Some(at)
    }

    /// The observables of an event, collected.
    pub fn extract<'a>(&'a self, event: &'a Event) -> Vec<Observable<'a>> {
        let mut out = Vec::new();
        self.for_each(event, |o| out.push(o));
        out
    }

    /// Calls `found` with each observable of an event (at most [`MAX_OBSERVABLES`]).
    pub fn for_each<'a>(&'a self, event: &'a Event, found: impl FnMut(Observable<'a>)) {
        self.for_each_in(&event.data, found);
    }

    /// [`ObservableExtractor::for_each`] over a bare JSON payload.
    pub fn for_each_in<'a>(&'a self, data: &'a Value, found: impl FnMut(Observable<'a>)) {
        let mut walk = Walk {
            extractor: self,
            found,
            count: 0,
        };
        walk.value(0, data, 0);
    }
}

struct Walk<'a, F> {
    extractor: &'a ObservableExtractor,
    found: F,
    count: usize,
}

impl<'a, F: FnMut(Observable<'a>)> Walk<'a, F> {
    fn value(&mut self, node: usize, value: &'a Value, array_depth: usize) {
        if self.count >= MAX_OBSERVABLES {
            return;
        }
        match value {
            Value::Object(map) => self.object(node, map, array_depth),
            Value::Array(items) if array_depth < MAX_ARRAY_DEPTH => {
                for item in items {
                    self.value(node, item, array_depth + 1);
                }
            }
            Value::String(s) => self.apply(node, s),
            _ => {}
        }
    }

    fn object(&mut self, node: usize, map: &'a Map<String, Value>, array_depth: usize) {
        let extractor = self.extractor;
        if extractor.nodes[node].rule.is_some() {
            // An element value `{"#text": "…", "#attributes": {…}}`.
            for key in ["#text", "_text", "$"] {
                if let Some(Value::String(s)) = map.get(key) {
                    self.apply(node, s);
                }
            }
        }
        if extractor.nodes[node].children.is_empty() {
            return;
        }
        for (key, child) in map {
            if let Some(next) = extractor.child(node, key) {
                self.value(next, child, array_depth);
            }
        }
        if extractor.nodes[node].named_data {
            if let Some(Value::Array(items)) = map.get("Data") {
                for item in items {
                    let Some(element) = item.as_object() else {
                        continue;
                    };
                    let Some(name) = data_name(element) else {
                        continue;
                    };
                    if let Some(next) = extractor.nodes[node].children.get(name) {
                        if let Some(Value::String(s)) =
                            ["#text", "_text", "$"].iter().find_map(|k| element.get(*k))
                        {
                            self.apply(*next, s);
                        }
                    }
                }
            }
        }
    }

    fn apply(&mut self, node: usize, raw: &'a str) {
        let Some((rule, name)) = &self.extractor.nodes[node].rule else {
            return;
        };
        let field: &'a str = name;
        let count = &mut self.count;
        let found = &mut self.found;
        let mut emit = |kind: IocKind, value: Cow<'a, str>| {
            if *count < MAX_OBSERVABLES {
                *count += 1;
                found(Observable { kind, value, field });
            }
        };
        scan::apply(*rule, raw, &mut emit);
    }
}

/// The `Name` attribute of an `EventData.Data` element in any converter's form.
fn data_name(element: &Map<String, Value>) -> Option<&str> {
    for key in ["#attributes", "_attributes"] {
        if let Some(Value::Object(attrs)) = element.get(key) {
            if let Some(Value::String(name)) = attrs.get("Name") {
                return Some(name);
            }
        }
    }
    match element.get("@Name").or_else(|| element.get("Name")) {
        Some(Value::String(name)) => Some(name),
        _ => None,
    }
}
