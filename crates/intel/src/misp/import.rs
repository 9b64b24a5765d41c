//! MISP event JSON → STIX 2.1 (see the module docs of [`crate::misp`]).

use serde_json::{Value, json};
use uuid::Uuid;

use super::stix::{
    comparison, eq, file_observable, hash_name, hash_path, observable_of, tlp_of_tags,
};
use super::value::{boolean, date_secs, int, list, stix_time, tags, text};
use super::{MAX_ATTRIBUTES, MAX_EVENT_BYTES, MispError};
use crate::ioc::{Ioc, IocKind, detect};
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

/// The STIX form of one attribute or object, before it becomes an indicator or observed-data.
struct Mapped {
    /// The comparison expression inside `[…]`.
    pattern: String,
    iocs: Vec<Ioc>,
    observables: Vec<Value>,
}

impl Mapped {
    fn one(ioc: Ioc) -> Mapped {
        Mapped {
            pattern: comparison(&ioc),
            observables: observable_of(&ioc).into_iter().collect(),
            iocs: vec![ioc],
        }
    }
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

struct ObjectAttribute<'a> {
    relation: &'a str,
    kind: &'a str,
    value: &'a str,
    to_ids: bool,
    tags: Vec<&'a str>,
}

fn ioc(kind: IocKind, value: &str) -> Result<Ioc, String> {
    Ioc::new(kind, value).map_err(|e| e.to_string())
}

fn hash_kind(name: &str) -> Option<IocKind> {
    match name {
        "md5" => Some(IocKind::Md5),
        "sha1" => Some(IocKind::Sha1),
        "sha256" => Some(IocKind::Sha256),
        "sha512" => Some(IocKind::Sha512),
        _ => None,
    }
}

/// `ip|port` (MISP also accepts `ip:port` in old data).
fn split_pair(value: &str) -> Result<(&str, &str), String> {
    value
        .split_once('|')
        .ok_or_else(|| "expected two values separated by |".to_owned())
}

fn port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| format!("{:?} is not a port", crate::ioc::truncate(text)))
}

fn family(ioc: &Ioc) -> Result<&'static str, String> {
    match ioc.kind() {
        IocKind::Ipv4 => Ok("ipv4-addr"),
        IocKind::Ipv6 => Ok("ipv6-addr"),
        _ => Err("expected an address, not a network".to_owned()),
    }
}

/// The STIX form of one attribute; `Ok(None)` for types that are not indicators.
fn map_attribute(kind: &str, value: &str) -> Result<Option<Mapped>, String> {
    let kind = kind.to_ascii_lowercase();
    let mapped = match kind.as_str() {
        "ip-src" | "ip-dst" => Mapped::one(ioc(IocKind::Ipv4, value)?),
        "ip-src|port" | "ip-dst|port" => {
            let (addr, p) = split_pair(value)?;
            let addr = ioc(IocKind::Ipv4, addr)?;
            let p = port(p)?;
            let dir = if kind.starts_with("ip-src") {
                "src"
            } else {
                "dst"
            };
            Mapped {
                pattern: format!(
                    "network-traffic:{dir}_ref.type = '{}' AND {} AND network-traffic:{dir}_port = {p}",
                    family(&addr)?,
                    eq(&format!("network-traffic:{dir}_ref.value"), addr.value())
                ),
                observables: observable_of(&addr).into_iter().collect(),
                iocs: vec![addr],
            }
        }
        "domain" | "hostname" => Mapped::one(ioc(IocKind::Domain, value)?),
        "domain|ip" => {
            let (name, addr) = split_pair(value)?;
            let name = ioc(IocKind::Domain, name)?;
            let addr = ioc(IocKind::Ipv4, addr)?;
            family(&addr)?;
            Mapped {
                pattern: format!(
                    "{} AND {}",
                    eq("domain-name:value", name.value()),
                    eq("domain-name:resolves_to_refs[*].value", addr.value())
                ),
                observables: [&name, &addr]
                    .into_iter()
                    .filter_map(observable_of)
                    .collect(),
                iocs: vec![name],
            }
        }
        "hostname|port" => {
            let (name, p) = split_pair(value)?;
            let name = ioc(IocKind::Domain, name)?;
            let p = port(p)?;
            Mapped {
                pattern: format!(
                    "network-traffic:dst_ref.type = 'domain-name' AND {} AND network-traffic:dst_port = {p}",
                    eq("network-traffic:dst_ref.value", name.value())
                ),
                observables: observable_of(&name).into_iter().collect(),
                iocs: vec![name],
            }
        }
        "url" | "uri" => {
            let url = Ioc::new(IocKind::Url, value)
                .ok()
                .or_else(|| detect(value).filter(|i| i.kind() == IocKind::Url))
                .ok_or_else(|| "not a URL".to_owned())?;
            Mapped::one(url)
        }
        "md5" | "sha1" | "sha256" | "sha512" => {
            let kind = hash_kind(&kind).ok_or("unknown hash")?;
            Mapped::one(ioc(kind, value)?)
        }
        "filename|md5" | "filename|sha1" | "filename|sha256" | "filename|sha512"
        | "malware-sample" => {
            let (name, hash) = split_pair(value)?;
            let hash_kind = match kind.as_str() {
                "malware-sample" => IocKind::Md5,
                k => hash_kind(&k["filename|".len()..]).ok_or("unknown hash")?,
            };
            let hash = ioc(hash_kind, hash)?;
            let name = name.trim();
            if name.is_empty() {
                return Err("empty file name".to_owned());
            }
            let path = hash_path(hash_kind).ok_or("unknown hash")?;
            let alg = hash_name(hash_kind).ok_or("unknown hash")?;
            Mapped {
                pattern: format!("{} AND {}", eq("file:name", name), eq(path, hash.value())),
                observables: vec![file_observable(&[(alg, hash.value())], Some(name))],
                iocs: vec![hash],
            }
        }
        "filename" => {
            let file = ioc(IocKind::FileName, value)?;
            Mapped {
                pattern: eq("file:name", value.trim()),
                observables: observable_of(&file).into_iter().collect(),
                iocs: vec![file],
            }
        }
        "email-src" | "email-dst" | "email" | "email-addr" | "email-reply-to" => {
            let address = ioc(IocKind::Email, value)?;
            let path = match kind.as_str() {
                "email-src" => "email-message:from_ref.value",
                "email-dst" => "email-message:to_refs[*].value",
                _ => "email-addr:value",
            };
            Mapped {
                pattern: eq(path, address.value()),
                observables: observable_of(&address).into_iter().collect(),
                iocs: vec![address],
            }
        }
        "user-agent" => Mapped::one(ioc(IocKind::UserAgent, value)?),
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}

/// The STIX form of one object of a supported template; `Ok(None)` for other templates.
fn map_object(name: &str, attrs: &[ObjectAttribute<'_>]) -> Result<Option<Mapped>, String> {
    let values = |relations: &[&str]| -> Vec<&str> {
        attrs
            .iter()
            .filter(|a| relations.contains(&a.relation))
            .map(|a| a.value)
            .collect()
    };
    let mapped = match name {
        "file" => {
            let mut hashes: Vec<Ioc> = Vec::new();
            for a in attrs {
                if let Some(kind) = hash_kind(a.kind).filter(|_| hash_kind(a.relation).is_some()) {
                    hashes.push(ioc(kind, a.value)?);
                }
            }
            let file_name = values(&["filename"]).first().map(|n| n.trim());
            if hashes.is_empty() && file_name.is_none() {
                return Ok(None);
            }
            let mut parts: Vec<String> = hashes
                .iter()
                .filter_map(|h| Some(eq(hash_path(h.kind())?, h.value())))
                .collect();
            if let Some(n) = file_name {
                parts.push(eq("file:name", n));
            }
            let algs: Vec<(&str, &str)> = hashes
                .iter()
                .filter_map(|h| Some((hash_name(h.kind())?, h.value())))
                .collect();
            let observables = vec![file_observable(&algs, file_name)];
            let iocs = if hashes.is_empty() {
                file_name
                    .map(|n| ioc(IocKind::FileName, n))
                    .transpose()?
                    .into_iter()
                    .collect()
            } else {
                hashes
            };
            Mapped {
                pattern: parts.join(" AND "),
                observables,
                iocs,
            }
        }
        "domain-ip" | "ip-port" => {
            let domains: Vec<Ioc> = values(&["domain", "hostname"])
                .into_iter()
                .map(|d| ioc(IocKind::Domain, d))
                .collect::<Result<_, _>>()?;
            let addrs: Vec<Ioc> = values(&["ip", "ip-dst", "ip-src"])
                .into_iter()
                .map(|a| ioc(IocKind::Ipv4, a))
                .collect::<Result<_, _>>()?;
            let observables = domains
                .iter()
                .chain(&addrs)
                .filter_map(observable_of)
                .collect();
            if let [single] = domains.as_slice() {
                let mut parts = vec![eq("domain-name:value", single.value())];
                for a in &addrs {
                    family(a)?;
                    parts.push(eq("domain-name:resolves_to_refs[*].value", a.value()));
                }
                Mapped {
                    pattern: parts.join(" AND "),
                    observables,
                    iocs: domains,
                }
            } else {
                let iocs = if domains.is_empty() { addrs } else { domains };
                if iocs.is_empty() {
                    return Err("no domain, host name or address".to_owned());
                }
                Mapped {
                    pattern: iocs.iter().map(comparison).collect::<Vec<_>>().join(" OR "),
                    observables,
                    iocs,
                }
            }
        }
        "url" => {
            let Some(url) = values(&["url"]).first().copied() else {
                return Err("no url attribute".to_owned());
            };
            match map_attribute("url", url)? {
                Some(m) => m,
                None => return Ok(None),
            }
        }
        "network-connection" => {
            let mut parts = Vec::new();
            let mut iocs = Vec::new();
            let mut observables = Vec::new();
            for (relation, dir, keep) in [("ip-dst", "dst", true), ("ip-src", "src", false)] {
                if let Some(a) = values(&[relation]).first() {
                    let addr = ioc(IocKind::Ipv4, a)?;
                    parts.push(format!(
                        "network-traffic:{dir}_ref.type = '{}'",
                        family(&addr)?
                    ));
                    parts.push(eq(
                        &format!("network-traffic:{dir}_ref.value"),
                        addr.value(),
                    ));
                    observables.extend(observable_of(&addr));
                    if keep {
                        iocs.push(addr);
                    }
                }
            }
            if let Some(h) = values(&["hostname-dst"]).first() {
                let host = ioc(IocKind::Domain, h)?;
                if parts.is_empty() {
                    parts.push("network-traffic:dst_ref.type = 'domain-name'".to_owned());
                    parts.push(eq("network-traffic:dst_ref.value", host.value()));
                }
                observables.extend(observable_of(&host));
                iocs.push(host);
            }
            for (relation, property) in [("dst-port", "dst_port"), ("src-port", "src_port")] {
                if let Some(p) = values(&[relation]).first() {
                    parts.push(format!("network-traffic:{property} = {}", port(p)?));
                }
            }
            if parts.is_empty() {
                return Err("no address or host".to_owned());
            }
            Mapped {
                pattern: parts.join(" AND "),
                iocs,
                observables,
            }
        }
        "email" => {
            let from: Vec<Ioc> = values(&["from"])
                .into_iter()
                .map(|f| ioc(IocKind::Email, f))
                .collect::<Result<_, _>>()?;
            let mut parts: Vec<String> = from
                .iter()
                .map(|f| eq("email-message:from_ref.value", f.value()))
                .collect();
            if let Some(subject) = values(&["subject"]).first() {
                parts.push(eq("email-message:subject", subject));
            }
            if from.is_empty() {
                return Ok(None);
            }
            Mapped {
                pattern: parts.join(" AND "),
                observables: from.iter().filter_map(observable_of).collect(),
                iocs: from,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}
