//! Field access over the event layouts Shield meets in practice.
//!
//! Two ways to name a field:
//!
//! * [`path`]: a dotted path from the root (`winlog.event_data.CommandLine`, `Event.System.EventID`).
//!   Keys that themselves contain dots (`"event.code"` as one flattened key) are found too: at each level
//!   the longest remaining key is tried before splitting.
//! * [`lookup`]: a Sigma-style field name. It is tried as a path first; then, for Windows events, it is
//!   resolved the way Sigma rules for Windows expect, over every layout that EVTX-to-JSON converters and
//!   shippers produce:
//!   - the `evtx` crate's JSON: `Event.EventData.<name>`, `Event.UserData.<element>.<name>`,
//!     `Event.System.<name>` with the element text under `#text` and attributes under `#attributes`;
//!   - converters that write attributes as `_attributes`, `@Name`, or a sibling `Name_attributes` key;
//!   - events without the `Event` wrapper (`System`/`EventData` at the root);
//!   - `EventData.Data` as a list of `{Name, #text}` elements;
//!   - Winlogbeat's `winlog.event_data.<name>`, `winlog.user_data.<name>` and `winlog.*` system fields.
//!
//!   System attributes are named `Element_Attribute` (`Provider_Name`) or by the attribute alone
//!   (`ProcessID`, `SystemTime`).
//!
//! Element values of the `{"#text": v, "#attributes": {…}}` shape answer their text: `EventID` is `4688`
//! whether the converter wrote `"EventID": 4688` or `"EventID": {"#text": 4688, "#attributes": {…}}`.

use serde_json::{Map, Value};

/// Keys under which converters put an element's attributes.
const ATTRIBUTE_KEYS: [&str; 2] = ["#attributes", "_attributes"];
/// Keys under which converters put an element's text when it also has attributes.
const TEXT_KEYS: [&str; 3] = ["#text", "_text", "$"];

/// The text of an element value: `{"#text": v, …}` answers `v`; any other value answers itself.
pub fn text(value: &Value) -> &Value {
    if let Value::Object(map) = value {
        for key in TEXT_KEYS {
            if let Some(t) = map.get(key) {
                return t;
            }
        }
    }
    value
}

/// The value at a dotted path from `root`, or `None`. Array elements are addressed by index
/// (`items.0.name`). The value is returned as stored (see [`text`] to unwrap element text).
pub fn path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    match root {
        Value::Object(map) => {
            if let Some(v) = map.get(path) {
                return Some(v);
            }
            for (dot, _) in path.match_indices('.') {
                if let Some(child) = map.get(&path[..dot]) {
                    if let Some(found) = self::path(child, &path[dot + 1..]) {
                        return Some(found);
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let (head, rest) = match path.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (path, None),
            };
            let item = items.get(head.parse::<usize>().ok()?)?;
            match rest {
                Some(rest) => self::path(item, rest),
                None => Some(item),
            }
        }
        _ => None,
    }
}

/// The value of a Sigma-style field name over the known event layouts (see the module docs), with
/// element text unwrapped, or `None` when the event has no such field.
pub fn lookup<'a>(root: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = path(root, name) {
        return Some(text(v));
    }
    let map = root.as_object()?;
    if let Some(windows) = windows_root(map) {
        if let Some(v) = windows_field(windows, name) {
            return Some(text(v));
        }
    }
    if let Some(Value::Object(winlog)) = map.get("winlog") {
        if let Some(v) = winlogbeat_field(root, winlog, name) {
            return Some(text(v));
        }
    }
    None
}

/// Visits every scalar leaf of the payload (strings, numbers, booleans), for keyword searches that
/// look at every field's value. Attribute maps are visited like any other object.
pub fn for_each_leaf<'a>(root: &'a Value, visit: &mut impl FnMut(&'a Value)) {
    match root {
        Value::Object(map) => map.values().for_each(|v| for_each_leaf(v, visit)),
        Value::Array(items) => items.iter().for_each(|v| for_each_leaf(v, visit)),
        Value::Null => {}
        scalar => visit(scalar),
    }
}

/// The object that holds `System`/`EventData`: the `Event` wrapper if present, else the root when it
/// has the Windows layout itself.
fn windows_root(map: &Map<String, Value>) -> Option<&Map<String, Value>> {
    if let Some(Value::Object(event)) = map.get("Event") {
        return Some(event);
    }
    if map.contains_key("System") || map.contains_key("EventData") || map.contains_key("UserData") {
        return Some(map);
    }
    None
}

fn windows_field<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(Value::Object(data)) = event.get("EventData") {
        if let Some(v) = data.get(name) {
            return Some(v);
        }
        if let Some(v) = named_data(data.get("Data"), name) {
            return Some(v);
        }
    }
    if let Some(Value::Object(user)) = event.get("UserData") {
        for element in user.values() {
            if let Value::Object(fields) = element {
                if let Some(v) = fields.get(name) {
                    return Some(v);
                }
            }
        }
    }
    if let Some(Value::Object(system)) = event.get("System") {
        if let Some(v) = system.get(name) {
            return Some(v);
        }
        return system_attribute(system, name);
    }
    None
}

/// `EventData.Data` written as a list of elements each carrying a `Name` attribute.
fn named_data<'a>(data: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    let items = data?.as_array()?;
    items.iter().find_map(|item| {
        let map = item.as_object()?;
        let item_name = attribute(map, "Name")?;
        (item_name.as_str() == Some(name)).then(|| text(item))
    })
}

/// An attribute of an element in any of the converters' forms.
fn attribute<'a>(element: &'a Map<String, Value>, attr: &str) -> Option<&'a Value> {
    for key in ATTRIBUTE_KEYS {
        if let Some(Value::Object(attrs)) = element.get(key) {
            if let Some(v) = attrs.get(attr) {
                return Some(v);
            }
        }
    }
    let mut at = String::with_capacity(attr.len() + 1);
    at.push('@');
    at.push_str(attr);
    element.get(&at)
}

/// `Provider_Name`, or an attribute name alone (`ProcessID`), among the System elements.
fn system_attribute<'a>(system: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some((element, attr)) = name.split_once('_') {
        if let Some(Value::Object(el)) = system.get(element) {
            if let Some(v) = attribute(el, attr) {
                return Some(v);
            }
        }
        // The `evtx` crate's "separate attributes" form: `"Provider_attributes": {"Name": …}`.
        let sibling = format!("{element}_attributes");
        if let Some(Value::Object(attrs)) = system.get(&sibling) {
            if let Some(v) = attrs.get(attr) {
                return Some(v);
            }
        }
    }
    for (key, value) in system {
        let Value::Object(element) = value else {
            continue;
        };
        let found = if key.ends_with("_attributes") {
            element.get(name)
        } else {
            attribute(element, name)
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Winlogbeat's layout: event data under `winlog.event_data`, system fields renamed.
fn winlogbeat_field<'a>(
    root: &'a Value,
    winlog: &'a Map<String, Value>,
    name: &str,
) -> Option<&'a Value> {
    for section in ["event_data", "user_data"] {
        if let Some(Value::Object(data)) = winlog.get(section) {
            if let Some(v) = data.get(name) {
                return Some(v);
            }
        }
    }
    let renamed = match name {
        "EventID" => "winlog.event_id",
        "Channel" => "winlog.channel",
        "Provider_Name" => "winlog.provider_name",
        "Computer" => "winlog.computer_name",
        "EventRecordID" => "winlog.record_id",
        "ProcessID" => "winlog.process.pid",
        "ThreadID" => "winlog.process.thread.id",
        "Task" => "winlog.task",
        "Opcode" => "winlog.opcode",
        "Keywords" => "winlog.keywords",
        "Level" => "log.level",
        _ => return None,
    };
    path(root, renamed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evtx_crate_form() -> Value {
        json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770385F}"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Execution": {"#attributes": {"ProcessID": 2644, "ThreadID": 3496}},
                "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:37:40.123456Z"}}
            },
            "EventData": {"CommandLine": "cmd.exe /c whoami", "Image": "C:\\Windows\\System32\\cmd.exe"}
        }})
    }

    #[test]
    fn dotted_path_and_flattened_keys() {
        let v = json!({"a": {"b": {"c": 1}}, "x.y": {"z": 2}, "arr": [{"n": "first"}]});
        assert_eq!(path(&v, "a.b.c"), Some(&json!(1)));
        assert_eq!(path(&v, "x.y.z"), Some(&json!(2)));
        assert_eq!(path(&v, "arr.0.n"), Some(&json!("first")));
        assert_eq!(path(&v, "a.b.missing"), None);
        assert_eq!(path(&v, "arr.7.n"), None);
    }

    #[test]
    fn sigma_names_over_evtx_crate_json() {
        let v = evtx_crate_form();
        assert_eq!(lookup(&v, "EventID"), Some(&json!(1)));
        assert_eq!(lookup(&v, "CommandLine"), Some(&json!("cmd.exe /c whoami")));
        assert_eq!(
            lookup(&v, "Channel"),
            Some(&json!("Microsoft-Windows-Sysmon/Operational"))
        );
        assert_eq!(
            lookup(&v, "Provider_Name"),
            Some(&json!("Microsoft-Windows-Sysmon"))
        );
        assert_eq!(lookup(&v, "ProcessID"), Some(&json!(2644)));
        assert_eq!(lookup(&v, "Event.System.EventID"), Some(&json!(1)));
        assert_eq!(
            lookup(&v, "Event.EventData.Image"),
            Some(&json!("C:\\Windows\\System32\\cmd.exe"))
        );
        assert_eq!(lookup(&v, "ParentImage"), None);
    }

    #[test]
    fn element_text_is_unwrapped() {
        let v = json!({"Event": {"System": {"EventID": {"#text": 4625, "#attributes": {"Qualifiers": 0}}}}});
        assert_eq!(lookup(&v, "EventID"), Some(&json!(4625)));
        assert_eq!(lookup(&v, "EventID_Qualifiers"), Some(&json!(0)));
    }

    #[test]
    fn underscore_attribute_forms() {
        let v = json!({"Event": {"System": {
            "Provider": {"_attributes": {"Name": "Security-Auditing"}},
            "EventID": {"_text": "4688"},
            "Computer_attributes": {"Zone": "lab"}
        }}});
        assert_eq!(
            lookup(&v, "Provider_Name"),
            Some(&json!("Security-Auditing"))
        );
        assert_eq!(lookup(&v, "EventID"), Some(&json!("4688")));
        let v = json!({"System": {"Provider_attributes": {"Name": "Service Control Manager"}, "EventID": 7045},
                       "EventData": {"ServiceName": "evil"}});
        assert_eq!(
            lookup(&v, "Provider_Name"),
            Some(&json!("Service Control Manager"))
        );
        assert_eq!(lookup(&v, "ServiceName"), Some(&json!("evil")));
        assert_eq!(lookup(&v, "Zone"), None);
    }

    #[test]
    fn data_list_and_user_data() {
        let v = json!({"Event": {
            "EventData": {"Data": [
                {"#attributes": {"Name": "TargetUserName"}, "#text": "alice"},
                {"@Name": "LogonType", "#text": "3"}
            ]},
            "UserData": {"EventXML": {"Param1": "x"}}
        }});
        assert_eq!(lookup(&v, "TargetUserName"), Some(&json!("alice")));
        assert_eq!(lookup(&v, "LogonType"), Some(&json!("3")));
        assert_eq!(lookup(&v, "Param1"), Some(&json!("x")));
    }

    #[test]
    fn winlogbeat_layout() {
        let v = json!({"@timestamp": "2024-01-01T00:00:00Z", "winlog": {
            "event_id": 4688, "channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing",
            "event_data": {"NewProcessName": "C:\\x.exe"}
        }});
        assert_eq!(lookup(&v, "EventID"), Some(&json!(4688)));
        assert_eq!(lookup(&v, "Channel"), Some(&json!("Security")));
        assert_eq!(lookup(&v, "NewProcessName"), Some(&json!("C:\\x.exe")));
        assert_eq!(lookup(&v, "winlog.event_id"), Some(&json!(4688)));
    }

    #[test]
    fn leaves_visit_every_scalar() {
        let v = json!({"a": "x", "b": [1, {"c": true}], "d": null});
        let mut seen = Vec::new();
        for_each_leaf(&v, &mut |leaf| seen.push(leaf.clone()));
        assert_eq!(seen, vec![json!("x"), json!(1), json!(true)]);
    }
}
