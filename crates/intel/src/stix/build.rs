//! [`ObjectBuilder`]: making new STIX objects that are valid by construction.

use serde_json::{Map, Value};

use super::error::StixError;
use super::id::{new_identifier, observable_identifier};
use super::kind::ObjectKind;
use super::object::StixObject;
use super::timestamp::Timestamp;
use crate::tlp::Tlp;

/// Builds a STIX object property by property and validates it once, in [`ObjectBuilder::build`].
///
/// Time is an input: the caller passes `created` (and other timestamps), so builders are
/// deterministic under test. Ids are random UUIDv4 for domain, relationship and meta objects, and
/// the deterministic UUIDv5 the specification defines for cyber observables.
///
/// ```
/// use shield_intel::stix::{ObjectBuilder, Timestamp};
/// use shield_intel::tlp::Tlp;
///
/// let now = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
/// let indicator = ObjectBuilder::indicator("[ipv4-addr:value = '203.0.113.5']", "stix", now, now)
///     .property("name", "C2 server")
///     .tlp(Tlp::Amber)
///     .build()
///     .unwrap();
/// assert_eq!(indicator.type_name(), "indicator");
///
/// let ip = ObjectBuilder::observable("ipv4-addr").property("value", "203.0.113.5").build().unwrap();
/// assert!(ip.id().starts_with("ipv4-addr--"));
/// ```
#[derive(Debug, Clone)]
pub struct ObjectBuilder {
    properties: Map<String, Value>,
    explicit_id: bool,
}

impl ObjectBuilder {
    /// A domain, relationship or meta object of `object_type`, first created (and last modified) at
    /// `created`, with a fresh random id and `spec_version` 2.1.
    pub fn new(object_type: &str, created: Timestamp) -> ObjectBuilder {
        let mut properties = Map::new();
        properties.insert("type".into(), object_type.into());
        properties.insert("spec_version".into(), "2.1".into());
        properties.insert("id".into(), new_identifier(object_type).into());
        properties.insert("created".into(), created.into());
        if object_type != "marking-definition" {
            properties.insert("modified".into(), created.into());
        }
        ObjectBuilder {
            properties,
            explicit_id: false,
        }
    }

    /// A cyber observable of `object_type`; its id is derived from its id-contributing properties
    /// when it is built (random when it has none, as for `process`).
    pub fn observable(object_type: &str) -> ObjectBuilder {
        let mut properties = Map::new();
        properties.insert("type".into(), object_type.into());
        properties.insert("spec_version".into(), "2.1".into());
        ObjectBuilder {
            properties,
            explicit_id: false,
        }
    }

    /// An indicator with its required properties.
    pub fn indicator(
        pattern: &str,
        pattern_type: &str,
        valid_from: Timestamp,
        created: Timestamp,
    ) -> ObjectBuilder {
        ObjectBuilder::new("indicator", created)
            .property("pattern", pattern)
            .property("pattern_type", pattern_type)
            .property("valid_from", valid_from)
    }

    /// A sighting of the object `sighting_of_ref`.
    pub fn sighting(sighting_of_ref: &str, created: Timestamp) -> ObjectBuilder {
        ObjectBuilder::new("sighting", created).property("sighting_of_ref", sighting_of_ref)
    }

    /// A relationship `source_ref --relationship_type--> target_ref`.
    pub fn relationship(
        relationship_type: &str,
        source_ref: &str,
        target_ref: &str,
        created: Timestamp,
    ) -> ObjectBuilder {
        ObjectBuilder::new("relationship", created)
            .property("relationship_type", relationship_type)
            .property("source_ref", source_ref)
            .property("target_ref", target_ref)
    }

    /// An identity (an organisation, a team, a person).
    pub fn identity(name: &str, identity_class: &str, created: Timestamp) -> ObjectBuilder {
        ObjectBuilder::new("identity", created)
            .property("name", name)
            .property("identity_class", identity_class)
    }

    /// Sets the id (for objects whose id comes from elsewhere, such as a MISP UUID).
    pub fn id(mut self, id: impl Into<String>) -> ObjectBuilder {
        self.properties
            .insert("id".into(), Value::String(id.into()));
        self.explicit_id = true;
        self
    }

    /// Sets a property.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> ObjectBuilder {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// Sets `created_by_ref`.
    pub fn created_by(self, identity_id: &str) -> ObjectBuilder {
        self.property("created_by_ref", identity_id)
    }

    /// Adds a marking definition to `object_marking_refs`.
    pub fn marking(mut self, marking_definition_id: &str) -> ObjectBuilder {
        push_unique(
            &mut self.properties,
            "object_marking_refs",
            marking_definition_id,
        );
        self
    }

    /// Marks the object with a TLP 2.0 level.
    pub fn tlp(self, tlp: Tlp) -> ObjectBuilder {
        self.marking(tlp.marking_id())
    }

    /// Adds a label.
    pub fn label(mut self, label: &str) -> ObjectBuilder {
        push_unique(&mut self.properties, "labels", label);
        self
    }

    /// Sets `extensions.<key>`.
    pub fn extension(mut self, key: &str, extension: Value) -> ObjectBuilder {
        let entry = self
            .properties
            .entry("extensions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(key.to_owned(), extension);
        }
        self
    }

    /// Validates and returns the object.
    pub fn build(mut self) -> Result<StixObject, StixError> {
        let object_type = self
            .properties
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !self.explicit_id && ObjectKind::from_name(&object_type).is_observable() {
            let id = observable_identifier(&object_type, &self.properties)
                .unwrap_or_else(|| new_identifier(&object_type));
            self.properties.insert("id".into(), id.into());
        }
        StixObject::from_map(self.properties)
    }
}

fn push_unique(properties: &mut Map<String, Value>, name: &str, item: &str) {
    let entry = properties
        .entry(name)
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = entry {
        if !items.iter().any(|v| v.as_str() == Some(item)) {
            items.push(item.into());
        }
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::String(t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stix::id::split_identifier;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn builds_valid_domain_objects() {
        let now = t("2026-03-01T12:00:00.000Z");
        let identity = ObjectBuilder::identity("CERT-X", "organization", now)
            .build()
            .unwrap();
        let indicator =
            ObjectBuilder::indicator("[domain-name:value = 'evil.example']", "stix", now, now)
                .created_by(identity.id())
                .tlp(Tlp::Green)
                .tlp(Tlp::Green)
                .label("c2")
                .build()
                .unwrap();
        assert_eq!(indicator.marking_refs().count(), 1);
        assert_eq!(indicator.created_by_ref(), Some(identity.id()));
        assert_eq!(
            split_identifier(indicator.id())
                .unwrap()
                .1
                .get_version_num(),
            4
        );
        let sighting = ObjectBuilder::sighting(indicator.id(), now)
            .property("count", 3)
            .build()
            .unwrap();
        assert_eq!(sighting.as_sighting().unwrap().count(), Some(3));
        let rel = ObjectBuilder::relationship("indicates", indicator.id(), identity.id(), now)
            .build()
            .unwrap();
        assert_eq!(rel.as_relationship().unwrap().target_ref(), identity.id());
    }

    #[test]
    fn observables_get_deterministic_ids() {
        let a = ObjectBuilder::observable("domain-name")
            .property("value", "evil.example")
            .build()
            .unwrap();
        let b = ObjectBuilder::observable("domain-name")
            .property("value", "evil.example")
            .build()
            .unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(split_identifier(a.id()).unwrap().1.get_version_num(), 5);
        assert_eq!(a.modified(), None);
    }

    #[test]
    fn invalid_objects_are_refused_at_build() {
        let now = t("2026-03-01T12:00:00.000Z");
        let bad = ObjectBuilder::indicator("[ipv4-addr:value = ", "stix", now, now).build();
        assert!(bad.is_err());
        assert!(ObjectBuilder::observable("file").build().is_err());
    }
}
