//! MISP event JSON → STIX 2.1 (see the module docs of [`crate::misp`]).

use serde_json::{Value, json};
use uuid::Uuid;

use super::mapping::{Mapped, ObjectAttribute, map_attribute, map_object};
use super::stix::tlp_of_tags;
use super::value::{boolean, date_secs, int, list, stix_time, tags, text};
use super::{MAX_ATTRIBUTES, MAX_EVENT_BYTES, MispError};
use crate::ioc::Ioc;
use crate::stix::StixObject;
use crate::tlp::Tlp;

/// One STIX indicator made from a MISP attribute or object, with the values the IOC matcher needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedIndicator {
    /// The indicator's STIX id (`indicator--<MISP uuid>`).
    pub id: String,
    /// Its display name (`ip-dst: 198.51.100.7`, `file object`).
    pub name: String,
    /// The values to match, normalised.
    pub iocs: Vec<Ioc>,
    /// Its TLP level (the attribute's own, else the event's).
    pub tlp: Option<Tlp>,
}

/// The STIX form of one MISP event.
#[derive(Debug, Clone, Default)]
pub struct MispImport {
    /// The event's uuid.
    pub event_uuid: String,
    /// Every STIX object made: the creator identity, TLP marking definitions, indicators,
    /// observed-data with their cyber observables, and last the report grouping them.
    pub objects: Vec<Value>,
    /// The indicators among `objects`, with their matcher values.
    pub indicators: Vec<ImportedIndicator>,
    /// Attributes and objects that could not be used, one error each.
    pub issues: Vec<MispError>,
    /// Attributes and objects that are not indicators (free text, comments, unmapped templates,
    /// deleted attributes, observations without an observable form).
    pub skipped: usize,
}

/// Imports one MISP event document (`{"Event": {…}}` or the bare event); `input` names it in
/// errors.
pub fn import_event(text: &str, input: &str) -> Result<MispImport, MispError> {
    if text.len() > MAX_EVENT_BYTES {
        return Err(MispError::TooLarge {
            input: input.to_owned(),
            len: text.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| MispError::Json {
        input: input.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    import_event_value(&value, input)
}

/// [`import_event`] over parsed JSON.
pub fn import_event_value(value: &Value, input: &str) -> Result<MispImport, MispError> {
    let not_event = |reason| MispError::NotAnEvent {
        input: input.to_owned(),
        reason,
    };
    let event = match value.get("Event") {
        Some(inner) if inner.is_object() => inner,
        _ => value,
    };
    if !event.is_object() {
        return Err(not_event("not a JSON object"));
    }
    let uuid_text = text(event.get("uuid")).ok_or_else(|| not_event("no uuid"))?;
    let uuid = Uuid::try_parse(uuid_text).map_err(|_| not_event("uuid is not a UUID"))?;
    let mut ctx = Context::new(event, uuid, input);
    let mut count = 0usize;
    for (i, attr) in list(event.get("Attribute")).iter().enumerate() {
        count += 1;
        if count > MAX_ATTRIBUTES {
            ctx.issue(
                format!("Attribute[{i}]"),
                "attribute limit reached; the rest is ignored",
            );
            break;
        }
        ctx.attribute(i, attr);
    }
    for (i, object) in list(event.get("Object")).iter().enumerate() {
        count += list(object.get("Attribute")).len();
        if count > MAX_ATTRIBUTES {
            ctx.issue(
                format!("Object[{i}]"),
                "attribute limit reached; the rest is ignored",
            );
            break;
        }
        ctx.object(i, object);
    }
    Ok(ctx.finish())
}

/// What one attribute or object carries besides its values.
struct Meta {
    uuid: Uuid,
    name: String,
    to_ids: bool,
    timestamp: i64,
    labels: Vec<String>,
    tlp: Option<Tlp>,
    comment: Option<String>,
}

struct Context<'a> {
    input: &'a str,
    uuid: Uuid,
    event_time: i64,
    event_tlp: Option<Tlp>,
    identity: Option<Value>,
    out: MispImport,
    refs: Vec<String>,
    links: Vec<Value>,
    markings: Vec<Tlp>,
    event: &'a Value,
}

impl<'a> Context<'a> {
    fn new(event: &'a Value, uuid: Uuid, input: &'a str) -> Context<'a> {
        let event_time = int(event.get("timestamp"))
            .or_else(|| text(event.get("date")).and_then(date_secs))
            .unwrap_or(0);
        let event_tlp = tlp_of_tags(tags(event.get("Tag")));
        let identity = event.get("Orgc").and_then(|org| {
            let org_uuid = Uuid::try_parse(text(org.get("uuid"))?).ok()?;
            let name = text(org.get("name"))?;
            let time = stix_time(event_time)?;
            Some(json!({
                "type": "identity",
                "spec_version": "2.1",
                "id": format!("identity--{org_uuid}"),
                "created": time,
                "modified": time,
                "name": name,
                "identity_class": "organization"
            }))
        });
        Context {
            input,
            uuid,
            event_time,
            event_tlp,
            identity,
            out: MispImport {
                event_uuid: uuid.to_string(),
                ..MispImport::default()
            },
            refs: Vec::new(),
            links: Vec::new(),
            markings: Vec::new(),
            event,
        }
    }

    fn issue(&mut self, path: String, message: impl Into<String>) {
        self.out.issues.push(MispError::Item {
            input: self.input.to_owned(),
            event: self.uuid.to_string(),
            path,
            message: message.into(),
        });
    }

    /// The uuid of an attribute or object, or one derived from the event and its position.
    fn item_uuid(&self, item: &Value, position: &str) -> Uuid {
        text(item.get("uuid"))
            .and_then(|u| Uuid::try_parse(u).ok())
            .unwrap_or_else(|| Uuid::new_v5(&self.uuid, position.as_bytes()))
    }

    fn attribute(&mut self, i: usize, attr: &Value) {
        let mut path = format!("Attribute[{i}]");
        if let Some(u) = text(attr.get("uuid")) {
            path = format!("{path} (uuid {u})");
        }
        if boolean(attr.get("deleted")) == Some(true) {
            self.out.skipped += 1;
            return;
        }
        let (Some(kind), Some(value)) = (text(attr.get("type")), text(attr.get("value"))) else {
            self.issue(path, "no type or no value");
            return;
        };
        if kind == "link" {
            if value.contains("://") {
                self.links
                    .push(json!({"source_name": "link", "url": value}));
            }
            self.out.skipped += 1;
            return;
        }
        let mapped = match map_attribute(kind, value) {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.out.skipped += 1;
                return;
            }
            Err(message) => {
                self.issue(
                    path,
                    format!("{kind} {:?}: {message}", crate::ioc::truncate(value)),
                );
                return;
            }
        };
        let attr_tags = tags(attr.get("Tag"));
        let category = text(attr.get("category")).unwrap_or("Other");
        let mut labels = vec![
            format!("misp:type=\"{kind}\""),
            format!("misp:category=\"{category}\""),
        ];
        labels.extend(other_tags(&attr_tags));
        let meta = Meta {
            uuid: self.item_uuid(attr, &format!("Attribute[{i}]")),
            name: format!("{kind}: {}", crate::ioc::truncate(value)),
            to_ids: boolean(attr.get("to_ids")).unwrap_or(false),
            timestamp: int(attr.get("timestamp")).unwrap_or(self.event_time),
            labels,
            tlp: tlp_of_tags(attr_tags).or(self.event_tlp),
            comment: text(attr.get("comment")).map(str::to_owned),
        };
        self.emit(path, mapped, meta);
    }

    fn object(&mut self, i: usize, object: &Value) {
        let name = text(object.get("name")).unwrap_or("");
        let mut path = format!("Object[{i}] {name}");
        if let Some(u) = text(object.get("uuid")) {
            path = format!("{path} (uuid {u})");
        }
        if boolean(object.get("deleted")) == Some(true) {
            self.out.skipped += 1;
            return;
        }
        let attrs: Vec<ObjectAttribute<'_>> = list(object.get("Attribute"))
            .iter()
            .filter(|a| boolean(a.get("deleted")) != Some(true))
            .filter_map(|a| {
                Some(ObjectAttribute {
                    relation: text(a.get("object_relation")).unwrap_or(""),
                    kind: text(a.get("type"))?,
                    value: text(a.get("value"))?,
                    to_ids: boolean(a.get("to_ids")).unwrap_or(false),
                    tags: tags(a.get("Tag")),
                })
            })
            .collect();
        let mapped = match map_object(name, &attrs) {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.out.skipped += 1;
                return;
            }
            Err(message) => {
                self.issue(path, message);
                return;
            }
        };
        let meta_category = text(object.get("meta-category")).unwrap_or("misc");
        let mut labels = vec![
            format!("misp:name=\"{name}\""),
            format!("misp:meta-category=\"{meta_category}\""),
        ];
        let tag_lists: Vec<&str> = tags(object.get("Tag"))
            .into_iter()
            .chain(attrs.iter().flat_map(|a| a.tags.iter().copied()))
            .collect();
        labels.extend(other_tags(&tag_lists));
        labels.dedup();
        let meta = Meta {
            uuid: self.item_uuid(object, &format!("Object[{i}]")),
            name: format!("{name} object"),
            to_ids: attrs.iter().any(|a| a.to_ids),
            timestamp: int(object.get("timestamp")).unwrap_or(self.event_time),
            labels,
            tlp: tlp_of_tags(tag_lists).or(self.event_tlp),
            comment: text(object.get("comment")).map(str::to_owned),
        };
        self.emit(path, mapped, meta);
    }

    /// Writes an indicator (`to_ids`) or observed-data with its observables.
    fn emit(&mut self, path: String, mapped: Mapped, meta: Meta) {
        let Some(time) = stix_time(meta.timestamp).or_else(|| stix_time(self.event_time)) else {
            self.issue(path, "timestamp out of range");
            return;
        };
        let created_by = self.identity.as_ref().map(|i| i["id"].clone());
        let mut object = if meta.to_ids {
            json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": format!("indicator--{}", meta.uuid),
                "created": time,
                "modified": time,
                "name": meta.name,
                "pattern": format!("[{}]", mapped.pattern),
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": time,
                "labels": meta.labels,
            })
        } else {
            if mapped.observables.is_empty() {
                self.out.skipped += 1;
                return;
            }
            let ids: Vec<Value> = mapped.observables.iter().map(|o| o["id"].clone()).collect();
            json!({
                "type": "observed-data",
                "spec_version": "2.1",
                "id": format!("observed-data--{}", meta.uuid),
                "created": time,
                "modified": time,
                "first_observed": time,
                "last_observed": time,
                "number_observed": 1,
                "object_refs": ids,
                "labels": meta.labels,
            })
        };
        if let Some(by) = created_by {
            object["created_by_ref"] = by;
        }
        if let Some(tlp) = meta.tlp {
            object["object_marking_refs"] = json!([tlp.marking_id()]);
            if !self.markings.contains(&tlp) {
                self.markings.push(tlp);
            }
        }
        if let (Some(comment), true) = (&meta.comment, meta.to_ids) {
            object["description"] = comment.as_str().into();
        }
        let object = match StixObject::from_value(object) {
            Ok(o) => o.into_value(),
            Err(e) => {
                self.issue(path, format!("not valid STIX: {e}"));
                return;
            }
        };
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        if meta.to_ids {
            self.out.indicators.push(ImportedIndicator {
                id: id.clone(),
                name: meta.name,
                iocs: mapped.iocs,
                tlp: meta.tlp,
            });
        } else {
            for sco in mapped.observables {
                let seen = self.out.objects.iter().any(|o| o["id"] == sco["id"]);
                if !seen {
                    self.out.objects.push(sco);
                }
            }
        }
        self.out.objects.push(object);
        self.refs.push(id);
    }

    fn finish(mut self) -> MispImport {
        let event = self.event;
        let mut head: Vec<Value> = Vec::new();
        if let Some(identity) = self.identity.take() {
            head.push(identity);
        }
        self.markings.sort();
        if let Some(tlp) = self.event_tlp {
            if !self.markings.contains(&tlp) {
                self.markings.push(tlp);
            }
        }
        head.extend(
            self.markings
                .iter()
                .map(|t| t.marking_definition().into_value()),
        );
        if self.refs.is_empty() {
            self.issue(
                "Event".to_owned(),
                "no attribute or object maps to STIX; no report written",
            );
        } else if let Some(time) = stix_time(self.event_time) {
            let published = int(event.get("publish_timestamp"))
                .filter(|&t| t > 0)
                .and_then(stix_time)
                .unwrap_or_else(|| time.clone());
            let mut references =
                vec![json!({"source_name": "misp", "external_id": self.uuid.to_string()})];
            references.append(&mut self.links);
            let mut report = json!({
                "type": "report",
                "spec_version": "2.1",
                "id": format!("report--{}", self.uuid),
                "created": time,
                "modified": time,
                "name": text(event.get("info")).unwrap_or("MISP event"),
                "published": published,
                "report_types": ["threat-report"],
                "object_refs": self.refs,
                "external_references": references,
            });
            let labels = other_tags(&tags(event.get("Tag")));
            if !labels.is_empty() {
                report["labels"] = json!(labels);
            }
            if let Some(tlp) = self.event_tlp {
                report["object_marking_refs"] = json!([tlp.marking_id()]);
            }
            if let Some(by) = head.first().filter(|o| o["type"] == "identity") {
                report["created_by_ref"] = by["id"].clone();
            }
            match StixObject::from_value(report) {
                Ok(r) => self.out.objects.push(r.into_value()),
                Err(e) => self.issue("Event".to_owned(), format!("report not valid STIX: {e}")),
            }
        }
        head.append(&mut self.out.objects);
        self.out.objects = head;
        self.out
    }
}

/// Tags that are not TLP tags, as labels.
fn other_tags(tags: &[&str]) -> Vec<String> {
    tags.iter()
        .filter(|t| Tlp::from_tag(t).is_none())
        .map(|t| (*t).to_owned())
        .collect()
}
