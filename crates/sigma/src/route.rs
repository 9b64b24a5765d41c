//! Routing: which log-source entries an event belongs to, by channel and event id first.

use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::fields::{FieldId, FieldTable};
use crate::mapping::Mapping;
use crate::pattern::lower;
use crate::view::EventView;

/// A mapping entry's event conditions, compiled.
#[derive(Debug, Clone)]
struct RouteEntry {
    /// Accepted event ids (empty: any).
    event_ids: Vec<i64>,
    /// Other conditions: field → accepted lowercased texts.
    others: Vec<(FieldId, Vec<String>)>,
    /// Fields that must be present.
    require: Vec<FieldId>,
}

/// The compiled mapping: entries indexed by lowercased channel.
#[derive(Debug, Clone, Default)]
pub struct Router {
    entries: Vec<RouteEntry>,
    by_channel: FxHashMap<String, Vec<u32>>,
    any_channel: Vec<u32>,
    channel: Option<FieldId>,
    event_id: Option<FieldId>,
}

impl Router {
    /// Compiles `mapping`, interning the fields its conditions use.
    pub fn new(mapping: &Mapping, table: &mut FieldTable) -> Router {
        let mut router = Router::default();
        for (i, e) in mapping.entries.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            let mut entry = RouteEntry {
                event_ids: Vec::new(),
                others: Vec::new(),
                require: e.require.iter().map(|f| table.intern(f)).collect(),
            };
            let mut channels = None;
            for (field, values) in &e.conditions {
                match field.as_str() {
                    "Channel" => {
                        router.channel = Some(table.intern("Channel"));
                        channels = Some(values.iter().map(|v| lower(v)).collect::<Vec<_>>());
                    }
                    "EventID" if values.iter().all(|v| v.trim().parse::<i64>().is_ok()) => {
                        router.event_id = Some(table.intern("EventID"));
                        entry.event_ids = values
                            .iter()
                            .filter_map(|v| v.trim().parse().ok())
                            .collect();
                        entry.event_ids.sort_unstable();
                    }
                    _ => {
                        let id = table.intern(field);
                        entry
                            .others
                            .push((id, values.iter().map(|v| lower(v)).collect()));
                    }
                }
            }
            match channels {
                Some(list) => {
                    for c in list {
                        let slot = router.by_channel.entry(c).or_default();
                        if !slot.contains(&idx) {
                            slot.push(idx);
                        }
                    }
                }
                None => router.any_channel.push(idx),
            }
            router.entries.push(entry);
        }
        router
    }

    /// Appends the indices of the entries `view`'s event belongs to, in ascending order.
    pub fn route(&self, view: &mut EventView<'_, '_>, out: &mut Vec<u32>) {
        let event_id = self.event_id.and_then(|f| view.value(f)).and_then(event_id);
        if let Some(channel) = self.channel {
            if let Some(span) = view.lower(channel) {
                if let Some(list) = self.by_channel.get(view.arena(span)) {
                    for idx in list {
                        if self.accepts(*idx, event_id, view) {
                            out.push(*idx);
                        }
                    }
                }
            }
        }
        for idx in &self.any_channel {
            if self.accepts(*idx, event_id, view) {
                out.push(*idx);
            }
        }
        out.sort_unstable();
    }

    fn accepts(&self, idx: u32, event_id: Option<i64>, view: &mut EventView<'_, '_>) -> bool {
        let Some(e) = self.entries.get(idx as usize) else {
            return false;
        };
        if !e.event_ids.is_empty() {
            match event_id {
                Some(id) if e.event_ids.binary_search(&id).is_ok() => {}
                _ => return false,
            }
        }
        for f in &e.require {
            if view.value(*f).is_none() {
                return false;
            }
        }
        for (f, accepted) in &e.others {
            let Some(span) = view.lower(*f) else {
                return false;
            };
            let text = view.arena(span);
            if !accepted.iter().any(|a| a == text) {
                return false;
            }
        }
        true
    }
}

fn event_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
