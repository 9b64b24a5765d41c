//! Type rules the property table cannot express: properties that go together, timestamps that
//! must be ordered, and indicator patterns.

use serde_json::{Map, Value};

use super::{Limits, category_of, timestamp_of};
use crate::stix::error::{Reason, StixError};
use crate::stix::id::{identifier_type, split_identifier};
use crate::stix::kind::{Category, ObjectKind};
use crate::tlp::{TLP_EXTENSION_ID, Tlp};

type Obj = Map<String, Value>;

fn constraint(path: &str, text: impl Into<String>) -> StixError {
    StixError::at(path, Reason::Constraint(text.into()))
}

/// `later` must not be before `earlier` when both are present.
pub(super) fn not_before(map: &Obj, earlier: &str, later: &str) -> Result<(), StixError> {
    if let (Some(a), Some(b)) = (timestamp_of(map, earlier), timestamp_of(map, later)) {
        if b < a {
            return Err(constraint(
                later,
                format!("must not be earlier than {earlier}"),
            ));
        }
    }
    Ok(())
}

/// `later` must be strictly after `earlier` when both are present.
fn after(map: &Obj, earlier: &str, later: &str) -> Result<(), StixError> {
    if let (Some(a), Some(b)) = (timestamp_of(map, earlier), timestamp_of(map, later)) {
        if b <= a {
            return Err(constraint(later, format!("must be later than {earlier}")));
        }
    }
    Ok(())
}

fn has(map: &Obj, name: &str) -> bool {
    map.contains_key(name)
}

/// The type rules for `kind`.
pub(super) fn check(kind: ObjectKind, map: &Obj, limits: &Limits) -> Result<(), StixError> {
    use ObjectKind::*;
    match kind {
        Indicator => {
            after(map, "valid_from", "valid_until")?;
            let pattern_type = map
                .get("pattern_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if pattern_type == "stix" {
                let pattern = map
                    .get("pattern")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                crate::pattern::validate(pattern, &limits.pattern)
                    .map_err(|e| StixError::at("pattern", Reason::Pattern(e)))?;
            }
        }
        Malware => {
            not_before(map, "first_seen", "last_seen")?;
            if map.get("is_family") == Some(&Value::Bool(true)) && !has(map, "name") {
                return Err(constraint("name", "a malware family must have a name"));
            }
        }
        MalwareAnalysis if !has(map, "result") && !has(map, "analysis_sco_refs") => {
            return Err(constraint(
                "",
                "one of result and analysis_sco_refs must be present",
            ));
        }
        Campaign | Infrastructure | IntrusionSet | ThreatActor | Sighting => {
            not_before(map, "first_seen", "last_seen")?;
        }
        ObservedData => {
            not_before(map, "first_observed", "last_observed")?;
            match (map.get("objects"), map.get("object_refs")) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(constraint(
                        "object_refs",
                        "exactly one of objects and object_refs must be present",
                    ));
                }
                (None, Some(Value::Array(refs))) => {
                    for (i, r) in refs.iter().enumerate() {
                        let t = r.as_str().and_then(identifier_type).unwrap_or_default();
                        let ok = matches!(category_of(t), Category::Observable | Category::Custom)
                            || t == "relationship";
                        if !ok {
                            return Err(StixError::at(
                                format!("object_refs[{i}]"),
                                Reason::RefType {
                                    id: r.as_str().unwrap_or_default().to_owned(),
                                    expected: "a cyber observable or relationship",
                                },
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Opinion => {
            const OPINIONS: [&str; 5] = [
                "strongly-disagree",
                "disagree",
                "neutral",
                "agree",
                "strongly-agree",
            ];
            let opinion = map
                .get("opinion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !OPINIONS.contains(&opinion) {
                return Err(constraint(
                    "opinion",
                    format!("must be one of {}", OPINIONS.join(", ")),
                ));
            }
        }
        Relationship => {
            let rt = map
                .get("relationship_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ok = !rt.is_empty()
                && rt.len() <= 250
                && rt
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            if !ok {
                return Err(constraint(
                    "relationship_type",
                    "only a-z, 0-9 and hyphens, at most 250 characters",
                ));
            }
            after(map, "start_time", "stop_time")?;
        }
        Location => {
            let (lat, lon) = (has(map, "latitude"), has(map, "longitude"));
            if lat != lon {
                return Err(constraint("latitude", "latitude and longitude go together"));
            }
            if has(map, "precision") && !lat {
                return Err(constraint(
                    "precision",
                    "precision needs latitude and longitude",
                ));
            }
            if !lat && !has(map, "region") && !has(map, "country") {
                return Err(constraint(
                    "",
                    "one of region, country, or latitude and longitude must be present",
                ));
            }
        }
        File => {
            if !has(map, "hashes") && !has(map, "name") {
                return Err(constraint("", "a file needs hashes or name"));
            }
            not_before(map, "ctime", "mtime")?;
        }
        NetworkTraffic => {
            if !has(map, "src_ref") && !has(map, "dst_ref") {
                return Err(constraint("", "network-traffic needs src_ref or dst_ref"));
            }
            not_before(map, "start", "end")?;
            if map.get("is_active") == Some(&Value::Bool(true)) && has(map, "end") {
                return Err(constraint("end", "an active connection has no end"));
            }
        }
        Artifact => match (has(map, "payload_bin"), has(map, "url")) {
            (true, true) => {
                return Err(constraint("url", "payload_bin and url exclude each other"));
            }
            (false, true) if !has(map, "hashes") => {
                return Err(constraint(
                    "hashes",
                    "an artifact given by url needs hashes",
                ));
            }
            _ => {}
        },
        Process | UserAccount | WindowsRegistryKey | X509Certificate => {
            // A process has no id-contributing properties: its id is random, UUIDv4.
            if kind == Process {
                let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
                let version = split_identifier(id)
                    .map(|(_, u)| u.get_version_num())
                    .unwrap_or(0);
                if version != 4 {
                    return Err(constraint("id", "a process id must use a UUIDv4"));
                }
            }
            let own = map.keys().any(|k| {
                !matches!(
                    k.as_str(),
                    "type"
                        | "id"
                        | "spec_version"
                        | "object_marking_refs"
                        | "granular_markings"
                        | "defanged"
                )
            });
            if !own {
                return Err(constraint(
                    "",
                    "a cyber observable needs at least one property of its own",
                ));
            }
        }
        MarkingDefinition => {
            check_marking(map)?;
            check_tlp_identity(map)?;
        }
        ExtensionDefinition => {
            if !has(map, "created_by_ref") {
                return Err(StixError::at("created_by_ref", Reason::Missing));
            }
            if let Some(Value::Array(types)) = map.get("extension_types") {
                for (i, t) in types.iter().enumerate() {
                    let ok = matches!(
                        t.as_str(),
                        Some(
                            "new-sdo"
                                | "new-sco"
                                | "new-sro"
                                | "property-extension"
                                | "toplevel-property-extension"
                        )
                    );
                    if !ok {
                        return Err(constraint(
                            &format!("extension_types[{i}]"),
                            "not an extension type",
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A marking definition that uses one of the fixed TLP ids (2.0, or the 1.0 ids STIX predefines)
/// must define that level: a definition that reused the TLP:CLEAR id for other content would
/// otherwise change what every object marked with it may reach.
fn check_tlp_identity(map: &Obj) -> Result<(), StixError> {
    let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
    let Some(level) = Tlp::from_marking_id(id) else {
        return Ok(());
    };
    let extension = map
        .get("extensions")
        .and_then(|e| e.get(TLP_EXTENSION_ID))
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(Value::as_str);
    let tlp1 = (map.get("definition_type").and_then(Value::as_str) == Some("tlp"))
        .then(|| {
            map.get("definition")
                .and_then(|d| d.get("tlp"))
                .and_then(Value::as_str)
        })
        .flatten();
    let defined = match (extension, tlp1) {
        (Some(level), None) => Tlp::from_tag(&format!("tlp:{level}")),
        (None, Some(level)) => Tlp::from_tag(&format!("tlp:{level}")),
        _ => None,
    };
    if defined != Some(level) {
        return Err(constraint(
            "",
            format!("{id} is the fixed id of {level} and must define exactly that level"),
        ));
    }
    Ok(())
}

/// A marking definition carries `definition_type` with `definition` (TLP 1.0, statements), or an
/// extension (TLP 2.0 and other marking extensions).
fn check_marking(map: &Obj) -> Result<(), StixError> {
    match (map.get("definition_type"), map.get("definition")) {
        (Some(t), Some(Value::Object(definition))) => {
            let t = t.as_str().unwrap_or_default();
            match t {
                "tlp" => {
                    let level = definition.get("tlp").and_then(Value::as_str);
                    if !matches!(level, Some("white" | "green" | "amber" | "red")) {
                        return Err(constraint(
                            "definition.tlp",
                            "must be white, green, amber or red",
                        ));
                    }
                }
                "statement" if !definition.get("statement").is_some_and(Value::is_string) => {
                    return Err(StixError::at("definition.statement", Reason::Missing));
                }
                _ => {}
            }
            Ok(())
        }
        (Some(_), None) => Err(StixError::at("definition", Reason::Missing)),
        (None, Some(_)) => Err(StixError::at("definition_type", Reason::Missing)),
        _ if has(map, "extensions") => Ok(()),
        _ => Err(constraint(
            "",
            "needs definition_type and definition, or extensions",
        )),
    }
}
