//! Field resolution for the matcher: every field name the rules use is interned once, and each event
//! is indexed by one walk over its layout.
//!
//! The answers are those of [`shield_event::field::lookup`] (a root key first, then the Windows layout:
//! `EventData`, named `Data` elements, `UserData`, `System` elements, `Element_Attribute` forms and
//! attributes alone, then Winlogbeat's `winlog.*`), but computed for all interned names at once: the
//! walk visits each key of the event once and asks a hash map whether a rule cares about it, instead
//! of probing every layout for every field of every rule. Names containing a dot are resolved lazily
//! through `lookup` itself, so dotted paths keep exactly its semantics.

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use shield_event::field;

/// An interned field name.
pub type FieldId = u32;

/// Keys under which converters put an element's attributes (as in `shield_event::field`).
const ATTRIBUTE_KEYS: [&str; 2] = ["#attributes", "_attributes"];

/// Winlogbeat names for Windows system fields (as in `shield_event::field`).
const WINLOG_RENAMES: [(&str, &str); 11] = [
    ("EventID", "winlog.event_id"),
    ("Channel", "winlog.channel"),
    ("Provider_Name", "winlog.provider_name"),
    ("Computer", "winlog.computer_name"),
    ("EventRecordID", "winlog.record_id"),
    ("ProcessID", "winlog.process.pid"),
    ("ThreadID", "winlog.process.thread.id"),
    ("Task", "winlog.task"),
    ("Opcode", "winlog.opcode"),
    ("Keywords", "winlog.keywords"),
    ("Level", "log.level"),
];

/// Every field name the compiled rules and the mapping use.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    names: Vec<Box<str>>,
    index: FxHashMap<Box<str>, FieldId>,
    /// `Element_Attribute` names: element → attribute → field.
    attrs: FxHashMap<Box<str>, FxHashMap<Box<str>, FieldId>>,
    /// Names with a dot, resolved through `lookup`.
    dotted: Vec<bool>,
    /// Interned Winlogbeat-renamed names.
    winlog: Vec<(FieldId, &'static str)>,
}

impl FieldTable {
    /// The id of `name`, interning it.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = FieldId::try_from(self.names.len()).unwrap_or(FieldId::MAX);
        self.names.push(name.into());
        self.index.insert(name.into(), id);
        self.dotted.push(name.contains('.'));
        if let Some((element, attr)) = name.split_once('_') {
            self.attrs
                .entry(element.into())
                .or_default()
                .insert(attr.into(), id);
        }
        if let Some((_, path)) = WINLOG_RENAMES.iter().find(|(n, _)| *n == name) {
            self.winlog.push((id, path));
        }
        id
    }

    /// The id of `name`, if interned.
    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.index.get(name).copied()
    }

    /// The name of `id`.
    pub fn name(&self, id: FieldId) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// How many names are interned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether `id` is resolved lazily (its name has a dot).
    pub fn is_dotted(&self, id: FieldId) -> bool {
        self.dotted.get(id as usize).copied().unwrap_or(false)
    }
}

/// Fills `slots` (indexed by field id, all `None` on entry) with the event's values for every
/// interned dotless name, first answer wins, in `lookup`'s order of precedence. Pushes each field
/// set onto `present`.
pub fn index_event<'e>(
    table: &FieldTable,
    root: &'e Value,
    slots: &mut [Option<&'e Value>],
    present: &mut Vec<FieldId>,
) {
    let Value::Object(map) = root else {
        return;
    };
    let mut set = |id: FieldId, v: &'e Value| {
        if let Some(slot) = slots.get_mut(id as usize) {
            if slot.is_none() && !table.dotted[id as usize] {
                *slot = Some(field::text(v));
                present.push(id);
            }
        }
    };
    for (k, v) in map {
        if let Some(id) = table.get(k) {
            set(id, v);
        }
    }
    if let Some(windows) = windows_root(map) {
        index_windows(table, windows, &mut set);
    }
    if let Some(Value::Object(winlog)) = get(map, "winlog") {
        for section in ["event_data", "user_data"] {
            if let Some(Value::Object(data)) = get(winlog, section) {
                for (k, v) in data {
                    if let Some(id) = table.get(k) {
                        set(id, v);
                    }
                }
            }
        }
        for (id, path) in &table.winlog {
            if let Some(v) = field::path(root, path) {
                set(*id, v);
            }
        }
    }
}

fn windows_root(map: &Map<String, Value>) -> Option<&Map<String, Value>> {
    if let Some(Value::Object(event)) = get(map, "Event") {
        return Some(event);
    }
    if get(map, "System").is_some()
        || get(map, "EventData").is_some()
        || get(map, "UserData").is_some()
    {
        return Some(map);
    }
    None
}

/// `map.get(key)`, by scanning when the map is small: cheaper than hashing the key (JSON maps hash
/// with SipHash), and the Windows layout's upper levels have a handful of keys.
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

fn index_windows<'e>(
    table: &FieldTable,
    event: &'e Map<String, Value>,
    set: &mut impl FnMut(FieldId, &'e Value),
) {
    if let Some(Value::Object(data)) = get(event, "EventData") {
        for (k, v) in data {
            if let Some(id) = table.get(k) {
                set(id, v);
            }
        }
        if let Some(Value::Array(items)) = get(data, "Data") {
            for item in items {
                if let Value::Object(m) = item {
                    if let Some(Value::String(name)) = attribute(m, "Name") {
                        if let Some(id) = table.get(name) {
                            set(id, item);
                        }
                    }
                }
            }
        }
    }
    if let Some(Value::Object(user)) = get(event, "UserData") {
        for element in user.values() {
            if let Value::Object(fields) = element {
                for (k, v) in fields {
                    if let Some(id) = table.get(k) {
                        set(id, v);
                    }
                }
            }
        }
    }
    let Some(Value::Object(system)) = get(event, "System") else {
        return;
    };
    for (k, v) in system {
        if let Some(id) = table.get(k) {
            set(id, v);
        }
    }
    // `Element_Attribute` names: the element's own attributes first, then the sibling
    // `Element_attributes` form; the map's key order puts `Element` before `Element_attributes`.
    for (k, v) in system {
        let Value::Object(el) = v else {
            continue;
        };
        if let Some(element) = k.strip_suffix("_attributes") {
            if let Some(attrs) = table.attrs.get(element) {
                for (an, av) in el {
                    if let Some(id) = attrs.get(an.as_str()) {
                        set(*id, av);
                    }
                }
            }
            continue;
        }
        let Some(attrs) = table.attrs.get(k.as_str()) else {
            continue;
        };
        for_each_attribute(el, |an, av| {
            if let Some(id) = attrs.get(an) {
                set(*id, av);
            }
        });
    }
    // Attributes by their name alone (`ProcessID`, `SystemTime`).
    for (k, v) in system {
        let Value::Object(el) = v else {
            continue;
        };
        if k.ends_with("_attributes") {
            for (an, av) in el {
                if let Some(id) = table.get(an) {
                    set(id, av);
                }
            }
        } else {
            for_each_attribute(el, |an, av| {
                if let Some(id) = table.get(an) {
                    set(id, av);
                }
            });
        }
    }
}

/// Visits an element's attributes in `lookup`'s order: `#attributes`, `_attributes`, then `@name` keys.
fn for_each_attribute<'e>(element: &'e Map<String, Value>, mut visit: impl FnMut(&str, &'e Value)) {
    for key in ATTRIBUTE_KEYS {
        if let Some(Value::Object(attrs)) = element.get(key) {
            for (an, av) in attrs {
                visit(an, av);
            }
        }
    }
    for (k, v) in element {
        if let Some(an) = k.strip_prefix('@') {
            visit(an, v);
        }
    }
}

fn attribute<'a>(element: &'a Map<String, Value>, attr: &str) -> Option<&'a Value> {
    for key in ATTRIBUTE_KEYS {
        if let Some(Value::Object(attrs)) = element.get(key) {
            if let Some(v) = attrs.get(attr) {
                return Some(v);
            }
        }
    }
    element
        .iter()
        .find(|(k, _)| k.strip_prefix('@') == Some(attr))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The indexed answers equal `lookup`'s for every name, on every layout `lookup` knows.
    #[test]
    fn index_agrees_with_lookup() {
        let events = [
            json!({"Event": {
                "#attributes": {"xmlns": "x"},
                "System": {
                    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770385F}"}},
                    "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Execution": {"#attributes": {"ProcessID": 2644, "ThreadID": 3496}},
                    "Security": {"#attributes": {"UserID": "S-1-5-18"}},
                    "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:37:40.123456Z"}}
                },
                "EventData": {"CommandLine": "cmd.exe /c whoami", "Image": "C:\\cmd.exe", "ProcessID": 77}
            }}),
            json!({"Event": {"System": {"EventID": {"#text": 4625, "#attributes": {"Qualifiers": 0}},
                "Provider": {"_attributes": {"Name": "Security-Auditing"}}, "Computer_attributes": {"Zone": "lab"}},
                "EventData": {"Data": [{"#attributes": {"Name": "TargetUserName"}, "#text": "alice"},
                                       {"@Name": "LogonType", "#text": "3"}]},
                "UserData": {"EventXML": {"Param1": "x"}}}}),
            json!({"System": {"Provider_attributes": {"Name": "Service Control Manager"}, "EventID": 7045},
                   "EventData": {"ServiceName": "evil"}, "Image": "root wins"}),
            json!({"@timestamp": "2024-01-01T00:00:00Z", "winlog": {"event_id": 4688, "channel": "Security",
                "provider_name": "P", "event_data": {"NewProcessName": "C:\\x.exe"}, "process": {"pid": 5}},
                "log": {"level": "information"}}),
            json!({"Image": "/usr/bin/curl", "process": {"command_line": "curl x"}, "CommandLine": ["a", "b"]}),
        ];
        let names = [
            "EventID",
            "Channel",
            "Provider_Name",
            "Provider_Guid",
            "Guid",
            "ProcessID",
            "ThreadID",
            "Execution_ProcessID",
            "Security_UserID",
            "UserID",
            "SystemTime",
            "TimeCreated_SystemTime",
            "CommandLine",
            "Image",
            "TargetUserName",
            "LogonType",
            "Param1",
            "EventID_Qualifiers",
            "Qualifiers",
            "Zone",
            "Computer_Zone",
            "ServiceName",
            "NewProcessName",
            "Computer",
            "Level",
            "Missing",
            "Data",
            "EventData",
            "System",
            "Event",
            "xmlns",
            "winlog",
        ];
        let mut table = FieldTable::default();
        for n in names {
            table.intern(n);
        }
        for event in &events {
            let mut slots = vec![None; table.len()];
            let mut present = Vec::new();
            index_event(&table, event, &mut slots, &mut present);
            for n in names {
                let id = table.get(n).unwrap();
                assert_eq!(
                    slots[id as usize],
                    field::lookup(event, n),
                    "{n} in {event}"
                );
            }
            assert_eq!(present.len(), slots.iter().filter(|s| s.is_some()).count());
        }
    }

    #[test]
    fn dotted_names_are_left_to_lookup() {
        let mut table = FieldTable::default();
        let id = table.intern("process.command_line");
        assert!(table.is_dotted(id));
        let event = json!({"process": {"command_line": "x"}});
        let mut slots = vec![None; table.len()];
        index_event(&table, &event, &mut slots, &mut Vec::new());
        assert_eq!(slots[0], None);
        assert_eq!(table.name(id), "process.command_line");
    }
}
