//! STIX 2.1 → MISP event JSON (see the module docs of [`crate::misp`]).

use serde_json::{Value, json};
use uuid::Uuid;

use super::MispError;
use super::pattern::{MispItem, items_of_pattern};
use super::value::secs_of_stix_time;
use crate::stix::split_identifier;
use crate::tlp::{Tlp, most_restrictive};

/// Event-level choices for [`export_event`]. Time is an input: `timestamp` is "now".
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The event's `info`; default: the report's name, else "Shield export".
    pub info: Option<String>,
    /// The event's uuid; default: the report's, else one derived from the exported ids.
    pub event_uuid: Option<Uuid>,
    /// The creator organisation (`Orgc`): name and uuid.
    pub org: Option<(String, Uuid)>,
    /// The event's `timestamp` (seconds since the epoch); 0: the newest object's `modified`.
    pub timestamp: i64,
    /// MISP threat level: 1 high, 2 medium, 3 low, 4 undefined.
    pub threat_level_id: u8,
    /// MISP analysis state: 0 initial, 1 ongoing, 2 completed.
    pub analysis: u8,
    /// MISP distribution: 0 own organisation … 3 all communities.
    pub distribution: u8,
    /// Whether the event is marked published.
    pub published: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            info: None,
            event_uuid: None,
            org: None,
            timestamp: 0,
            threat_level_id: 4,
            analysis: 2,
            distribution: 0,
            published: false,
        }
    }
}

/// A MISP event made from STIX objects.
#[derive(Debug, Clone)]
pub struct MispExport {
    /// `{"Event": {…}}`.
    pub event: Value,
    /// STIX objects that have no MISP form, one error each.
    pub issues: Vec<MispError>,
}

/// The MISP category MISP itself gives a type by default.
fn category(kind: &str) -> &'static str {
    match kind {
        "md5" | "sha1" | "sha256" | "sha512" | "filename" | "filename|md5" | "filename|sha1"
        | "filename|sha256" | "filename|sha512" | "malware-sample" | "email-src" | "email-dst"
        | "email-subject" | "email" => "Payload delivery",
        "port" => "Network activity",
        _ => "Network activity",
    }
}

/// Types a `misp:type` label may restore, by the type the pattern gives.
fn compatible(pattern_type: &str, label_type: &str) -> bool {
    let family: &[&str] = match pattern_type {
        "ip-dst" | "ip-src" => &["ip-dst", "ip-src"],
        "domain" | "hostname" => &["domain", "hostname"],
        "url" | "uri" => &["url", "uri"],
        "email" | "email-src" | "email-dst" | "email-reply-to" => {
            &["email", "email-src", "email-dst", "email-reply-to"]
        }
        _ => &[],
    };
    family.contains(&label_type)
}

/// A `misp:key="value"` label's value.
fn misp_label<'a>(labels: &'a [&str], key: &str) -> Option<&'a str> {
    labels.iter().find_map(|l| {
        l.strip_prefix("misp:")?
            .strip_prefix(key)?
            .strip_prefix("=\"")?
            .strip_suffix('"')
    })
}

fn uuid_of(id: &str) -> Option<Uuid> {
    split_identifier(id).ok().map(|(_, u)| u)
}

fn str_list(object: &Value, key: &str) -> Vec<String> {
    match object.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn tag(name: &str) -> Value {
    json!({"name": name})
}

/// Exports STIX objects (a bundle's `objects`) as one MISP event: indicators as attributes with
/// `to_ids: true`, observed-data as attributes with `to_ids: false`, a report as the event itself.
pub fn export_event(objects: &[Value], options: &ExportOptions) -> MispExport {
    let mut issues = Vec::new();
    let report = objects.iter().find(|o| o["type"] == "report");
    let event_uuid = options
        .event_uuid
        .or_else(|| report.and_then(|r| r["id"].as_str()).and_then(uuid_of))
        .unwrap_or_else(|| {
            let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
            Uuid::new_v5(&Uuid::NAMESPACE_OID, ids.join(",").as_bytes())
        });
    let issue = |issues: &mut Vec<MispError>, id: &str, message: String| {
        issues.push(MispError::Item {
            input: "stix".to_owned(),
            event: event_uuid.to_string(),
            path: id.to_owned(),
            message,
        });
    };
    let mut attributes = Vec::new();
    let mut misp_objects = Vec::new();
    let mut newest = 0i64;
    for object in objects {
        let kind = object["type"].as_str().unwrap_or("");
        if kind != "indicator" && kind != "observed-data" {
            continue;
        }
        let id = object["id"].as_str().unwrap_or("");
        let Some(uuid) = uuid_of(id) else {
            issue(&mut issues, id, "id is not type--UUID".to_owned());
            continue;
        };
        let modified = object["modified"]
            .as_str()
            .and_then(secs_of_stix_time)
            .unwrap_or(options.timestamp);
        newest = newest.max(modified);
        let items = if kind == "indicator" {
            if object["pattern_type"] != "stix" {
                issue(
                    &mut issues,
                    id,
                    "only stix patterns have a MISP form".to_owned(),
                );
                continue;
            }
            match items_of_pattern(object["pattern"].as_str().unwrap_or("")) {
                Ok(items) => items,
                Err(message) => {
                    issue(&mut issues, id, message);
                    continue;
                }
            }
        } else {
            let items = observed_items(object, objects);
            if items.is_empty() {
                issue(
                    &mut issues,
                    id,
                    "no referenced observable has a MISP form".to_owned(),
                );
                continue;
            }
            items
        };
        let labels_owned = str_list(object, "labels");
        let labels: Vec<&str> = labels_owned.iter().map(String::as_str).collect();
        let mut tags: Vec<Value> = labels
            .iter()
            .filter(|l| !l.starts_with("misp:"))
            .map(|l| tag(l))
            .collect();
        let markings = str_list(object, "object_marking_refs");
        if let Some(tlp) = most_restrictive(markings.iter().map(String::as_str)) {
            tags.push(tag(tlp.tag()));
        }
        let common = Common {
            to_ids: kind == "indicator",
            timestamp: modified.to_string(),
            comment: object["description"].as_str().unwrap_or("").to_owned(),
            tags,
            label_type: misp_label(&labels, "type").map(str::to_owned),
            label_category: misp_label(&labels, "category").map(str::to_owned),
        };
        let single = items.len() == 1;
        for (n, item) in items.into_iter().enumerate() {
            let item_uuid = if n == 0 {
                uuid
            } else {
                Uuid::new_v5(&uuid, n.to_string().as_bytes())
            };
            match item {
                MispItem::Attribute(kind, value) => {
                    let kind = match &common.label_type {
                        Some(t) if single && compatible(&kind, t) => t.clone(),
                        _ => kind,
                    };
                    attributes.push(common.attribute(item_uuid, &kind, &value, None));
                }
                MispItem::Object(name, rows) => {
                    let attrs: Vec<Value> = rows
                        .iter()
                        .map(|(relation, kind, value)| {
                            let u =
                                Uuid::new_v5(&item_uuid, format!("{relation}|{value}").as_bytes());
                            common.attribute(u, kind, value, Some(relation))
                        })
                        .collect();
                    let meta_category = match name.as_str() {
                        "file" => "file",
                        _ => "network",
                    };
                    misp_objects.push(json!({
                        "uuid": item_uuid.to_string(),
                        "name": name,
                        "meta-category": meta_category,
                        "description": format!("{name} object exported by Shield"),
                        "comment": common.comment,
                        "timestamp": common.timestamp,
                        "distribution": "5",
                        "sharing_group_id": "0",
                        "Attribute": attrs,
                    }));
                }
            }
        }
    }
    let timestamp = if options.timestamp > 0 {
        options.timestamp
    } else {
        newest
    };
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_owned());
    let info = options
        .info
        .clone()
        .or_else(|| report.and_then(|r| r["name"].as_str()).map(str::to_owned))
        .unwrap_or_else(|| "Shield export".to_owned());
    let mut event_tags: Vec<Value> = report
        .map(|r| str_list(r, "labels"))
        .unwrap_or_default()
        .iter()
        .map(|l| tag(l))
        .collect();
    let event_tlp: Option<Tlp> = match report {
        Some(r) => most_restrictive(
            str_list(r, "object_marking_refs")
                .iter()
                .map(String::as_str),
        ),
        None => objects
            .iter()
            .filter_map(|o| {
                most_restrictive(
                    str_list(o, "object_marking_refs")
                        .iter()
                        .map(String::as_str),
                )
            })
            .max(),
    };
    if let Some(tlp) = event_tlp {
        event_tags.push(tag(tlp.tag()));
    }
    let mut event = json!({
        "uuid": event_uuid.to_string(),
        "info": info,
        "date": date,
        "threat_level_id": options.threat_level_id.to_string(),
        "analysis": options.analysis.to_string(),
        "distribution": options.distribution.to_string(),
        "sharing_group_id": "0",
        "published": options.published,
        "timestamp": timestamp.to_string(),
        "publish_timestamp": if options.published { timestamp.to_string() } else { "0".to_owned() },
        "Tag": event_tags,
        "Attribute": attributes,
        "Object": misp_objects,
    });
    if let Some((name, uuid)) = &options.org {
        event["Orgc"] = json!({"name": name, "uuid": uuid.to_string()});
    }
    MispExport {
        event: json!({ "Event": event }),
        issues,
    }
}

/// What every attribute of one STIX object shares.
struct Common {
    to_ids: bool,
    timestamp: String,
    comment: String,
    tags: Vec<Value>,
    label_type: Option<String>,
    label_category: Option<String>,
}

impl Common {
    fn attribute(&self, uuid: Uuid, kind: &str, value: &str, relation: Option<&str>) -> Value {
        let category = match (&self.label_category, relation) {
            (Some(c), None) => c.clone(),
            _ => category(kind).to_owned(),
        };
        let mut attr = json!({
            "uuid": uuid.to_string(),
            "type": kind,
            "category": category,
            "value": value,
            "to_ids": self.to_ids,
            "timestamp": self.timestamp,
            "distribution": "5",
            "sharing_group_id": "0",
            "comment": if relation.is_none() { self.comment.as_str() } else { "" },
            "disable_correlation": false,
            "Tag": self.tags,
        });
        if let Some(relation) = relation {
            attr["object_relation"] = relation.into();
        }
        attr
    }
}

/// The MISP items of an observed-data's referenced observables.
fn observed_items(observed: &Value, objects: &[Value]) -> Vec<MispItem> {
    let mut out = Vec::new();
    for id in str_list(observed, "object_refs") {
        let Some(sco) = objects.iter().find(|o| o["id"] == id.as_str()) else {
            continue;
        };
        let value = sco["value"].as_str();
        match (sco["type"].as_str().unwrap_or(""), value) {
            ("ipv4-addr" | "ipv6-addr", Some(v)) => {
                out.push(MispItem::Attribute("ip-dst".into(), v.into()))
            }
            ("domain-name", Some(v)) => out.push(MispItem::Attribute("domain".into(), v.into())),
            ("url", Some(v)) => out.push(MispItem::Attribute("url".into(), v.into())),
            ("email-addr", Some(v)) => out.push(MispItem::Attribute("email".into(), v.into())),
            ("file", _) => {
                let mut rows = Vec::new();
                if let Some(Value::Object(hashes)) = sco.get("hashes") {
                    for (alg, h) in hashes {
                        let kind = match alg.as_str() {
                            "MD5" => "md5",
                            "SHA-1" => "sha1",
                            "SHA-256" => "sha256",
                            "SHA-512" => "sha512",
                            _ => continue,
                        };
                        if let Some(h) = h.as_str() {
                            rows.push((kind.to_owned(), kind.to_owned(), h.to_owned()));
                        }
                    }
                }
                if let Some(n) = sco["name"].as_str() {
                    rows.push(("filename".to_owned(), "filename".to_owned(), n.to_owned()));
                }
                let name = rows
                    .iter()
                    .find(|(r, _, _)| r == "filename")
                    .map(|(_, _, v)| v.clone());
                if let (2, Some(name)) = (rows.len(), name) {
                    if let Some((_, kind, hash)) = rows.iter().find(|(r, _, _)| r != "filename") {
                        out.push(MispItem::Attribute(
                            format!("filename|{kind}"),
                            format!("{name}|{hash}"),
                        ));
                        continue;
                    }
                }
                match rows.len() {
                    0 => {}
                    1 => {
                        let (_, kind, value) = rows.remove(0);
                        out.push(MispItem::Attribute(kind, value));
                    }
                    _ => out.push(MispItem::Object("file".to_owned(), rows)),
                }
            }
            _ => {}
        }
    }
    out
}
