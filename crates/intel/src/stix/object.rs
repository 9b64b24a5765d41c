//! [`StixObject`]: one validated STIX object, kept exactly as it arrived.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::canonical::canonical_json;
use super::error::{Reason, StixError};
use super::kind::{Category, ObjectKind};
use super::timestamp::Timestamp;
use super::validate::{Limits, validate_object};
use super::views::{Indicator, Relationship, Sighting};

/// One STIX 2.1 object: validated on construction, stored as its JSON properties.
///
/// Every property the object arrived with is kept as it was, including properties this crate
/// does not know (custom `x_` properties, extensions, properties of later specification versions),
/// so `StixObject::from_value(v)?.to_value() == v` for every accepted `v`. Typed accessors read the
/// common properties; [`StixObject::as_indicator`] and its siblings give typed views of the types
/// Shield works with most.
///
/// An object can only exist valid: every constructor (and the serde `Deserialize`) validates.
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    kind: ObjectKind,
    properties: Map<String, Value>,
}

impl StixObject {
    /// Validates a JSON value as a STIX object, with the default [`Limits`].
    pub fn from_value(value: Value) -> Result<StixObject, StixError> {
        StixObject::from_value_with(value, &Limits::default())
    }

    /// Validates a JSON value as a STIX object within `limits`.
    pub fn from_value_with(value: Value, limits: &Limits) -> Result<StixObject, StixError> {
        match value {
            Value::Object(map) => StixObject::from_map_with(map, limits),
            _ => Err(StixError::new(Reason::WrongType("a JSON object"))),
        }
    }

    /// Validates a map of properties as a STIX object, with the default [`Limits`].
    pub fn from_map(properties: Map<String, Value>) -> Result<StixObject, StixError> {
        StixObject::from_map_with(properties, &Limits::default())
    }

    /// Validates a map of properties as a STIX object within `limits`.
    pub fn from_map_with(
        properties: Map<String, Value>,
        limits: &Limits,
    ) -> Result<StixObject, StixError> {
        let kind = validate_object(&properties, limits)?;
        Ok(StixObject { kind, properties })
    }

    /// Parses and validates one object from JSON text, with the default [`Limits`].
    pub fn from_json(bytes: &[u8]) -> Result<StixObject, StixError> {
        let limits = Limits::default();
        if bytes.len() > limits.max_bytes {
            return Err(StixError::new(Reason::TooLarge {
                size: bytes.len(),
                limit: limits.max_bytes,
            }));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| StixError::new(Reason::Json(e.to_string())))?;
        StixObject::from_value_with(value, &limits)
    }

    /// The object as a JSON value (a copy).
    pub fn to_value(&self) -> Value {
        Value::Object(self.properties.clone())
    }

    /// The object as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.properties)
    }

    /// The object's properties.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.properties
    }

    /// The object's properties, to edit and validate again with [`StixObject::from_map`].
    pub fn into_map(self) -> Map<String, Value> {
        self.properties
    }

    /// Compact JSON text of the object.
    pub fn to_json(&self) -> String {
        // Serialising a map of JSON values cannot fail; the map is not copied first.
        serde_json::to_string(&self.properties).unwrap_or_default()
    }

    /// The RFC 8785 canonical JSON of the object: what signatures are computed over.
    pub fn to_canonical_json(&self) -> String {
        canonical_json(&Value::Object(self.properties.clone()))
    }

    /// The same object with one property set (added or replaced), validated again.
    pub fn with_property(self, name: &str, value: Value) -> Result<StixObject, StixError> {
        let mut properties = self.properties;
        properties.insert(name.to_owned(), value);
        StixObject::from_map(properties)
    }

    /// The same object with one extension set under `extensions.<key>`, validated again.
    pub fn with_extension(self, key: &str, extension: Value) -> Result<StixObject, StixError> {
        let mut properties = self.properties;
        let extensions = properties
            .entry("extensions")
            .or_insert_with(|| Value::Object(Map::new()));
        match extensions {
            Value::Object(map) => {
                map.insert(key.to_owned(), extension);
            }
            _ => {
                return Err(StixError::at(
                    "extensions",
                    Reason::WrongType("an object of extensions"),
                ));
            }
        }
        StixObject::from_map(properties)
    }

    /// The `id`: `type--UUID`.
    pub fn id(&self) -> &str {
        self.str_property("id").unwrap_or_default()
    }

    /// The `type`.
    pub fn type_name(&self) -> &str {
        self.str_property("type").unwrap_or_default()
    }

    /// The kind of object (`Custom` for types the specification does not define).
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The family of the object's type.
    pub fn category(&self) -> Category {
        self.kind.category()
    }

    /// `spec_version` (always `2.1` when present; cyber observables may omit it).
    pub fn spec_version(&self) -> Option<&str> {
        self.str_property("spec_version")
    }

    /// `created` (absent on cyber observables).
    pub fn created(&self) -> Option<Timestamp> {
        self.timestamp_property("created")
    }

    /// The version of this object: `modified`, or `created` for objects that are never modified
    /// (marking definitions). `None` for cyber observables, which are not versioned.
    pub fn modified(&self) -> Option<Timestamp> {
        self.timestamp_property("modified")
            .or_else(|| self.created())
    }

    /// The text of the version timestamp (`modified`, else `created`) exactly as the object carries
    /// it: what TAXII lists as the object's version.
    pub fn version_text(&self) -> Option<&str> {
        self.str_property("modified")
            .or_else(|| self.str_property("created"))
    }

    /// `created_by_ref`: the identity that created the object.
    pub fn created_by_ref(&self) -> Option<&str> {
        self.str_property("created_by_ref")
    }

    /// `revoked` (false when absent).
    pub fn revoked(&self) -> bool {
        self.properties
            .get("revoked")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `labels`.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.str_list("labels")
    }

    /// `confidence` (0 to 100).
    pub fn confidence(&self) -> Option<u8> {
        self.properties
            .get("confidence")
            .and_then(Value::as_u64)
            .and_then(|c| u8::try_from(c).ok())
    }

    /// `lang`.
    pub fn lang(&self) -> Option<&str> {
        self.str_property("lang")
    }

    /// `object_marking_refs`: the marking definitions that apply to the whole object.
    pub fn marking_refs(&self) -> impl Iterator<Item = &str> {
        self.str_list("object_marking_refs")
    }

    /// `granular_markings`, as JSON objects (`selectors` with `marking_ref` or `lang`).
    pub fn granular_markings(&self) -> &[Value] {
        self.list("granular_markings")
    }

    /// `external_references`, as JSON objects.
    pub fn external_references(&self) -> &[Value] {
        self.list("external_references")
    }

    /// `extensions`, keyed by extension-definition id or predefined extension name.
    pub fn extensions(&self) -> Option<&Map<String, Value>> {
        self.properties.get("extensions").and_then(Value::as_object)
    }

    /// One extension, by extension-definition id or predefined extension name.
    pub fn extension(&self, key: &str) -> Option<&Value> {
        self.extensions().and_then(|e| e.get(key))
    }

    /// Any property.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }

    /// A string property.
    pub fn str_property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(Value::as_str)
    }

    /// A timestamp property.
    pub fn timestamp_property(&self, name: &str) -> Option<Timestamp> {
        self.str_property(name)
            .and_then(|s| Timestamp::parse(s).ok())
    }

    /// The strings of a list property (nothing when absent).
    pub fn str_list(&self, name: &str) -> impl Iterator<Item = &str> {
        self.list(name).iter().filter_map(Value::as_str)
    }

    fn list(&self, name: &str) -> &[Value] {
        self.properties
            .get(name)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Properties the specification does not define for this type: custom properties (`x_…`) and
    /// properties of later versions. Extensions are under [`StixObject::extensions`].
    pub fn custom_properties(&self) -> impl Iterator<Item = (&str, &Value)> {
        let kind = self.kind;
        self.properties
            .iter()
            .filter(move |(k, _)| !super::validate::is_defined(kind, k))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Every identifier the object refers to: values of `*_ref` and `*_refs` properties at any depth
    /// (inside extensions and granular markings too), in order of appearance, without repeats.
    pub fn references(&self) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        let mut stack: Vec<(&str, &Value)> = self
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .rev()
            .collect();
        while let Some((key, value)) = stack.pop() {
            let is_ref = key.ends_with("_ref") || key.ends_with("_refs");
            match value {
                Value::String(s) if is_ref && !found.contains(&s.as_str()) => found.push(s),
                Value::Array(items) => stack.extend(items.iter().rev().map(|v| (key, v))),
                Value::Object(map) => stack.extend(map.iter().rev().map(|(k, v)| (k.as_str(), v))),
                _ => {}
            }
        }
        found
    }

    /// The indicator view, when this is an indicator.
    pub fn as_indicator(&self) -> Option<Indicator<'_>> {
        (self.kind == ObjectKind::Indicator).then(|| Indicator::new(self))
    }

    /// The sighting view, when this is a sighting.
    pub fn as_sighting(&self) -> Option<Sighting<'_>> {
        (self.kind == ObjectKind::Sighting).then(|| Sighting::new(self))
    }

    /// The relationship view, when this is a relationship.
    pub fn as_relationship(&self) -> Option<Relationship<'_>> {
        (self.kind == ObjectKind::Relationship).then(|| Relationship::new(self))
    }
}

impl Serialize for StixObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.properties.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StixObject {
    /// Deserializes and validates (with the default [`Limits`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        StixObject::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<Value> for StixObject {
    type Error = StixError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        StixObject::from_value(value)
    }
}

impl From<StixObject> for Value {
    fn from(object: StixObject) -> Self {
        object.into_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator() -> Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
            "created_by_ref": "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
            "x_shield_note": {"nested": [1, 2.5, null]},
            "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension"}}
        })
    }

    #[test]
    fn accessors_read_common_properties() {
        let o = StixObject::from_value(indicator()).unwrap();
        assert_eq!(o.id(), "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert_eq!(o.type_name(), "indicator");
        assert_eq!(o.kind(), ObjectKind::Indicator);
        assert_eq!(
            o.modified().unwrap().to_string(),
            "2026-01-02T00:00:00.000Z"
        );
        assert_eq!(o.version_text(), Some("2026-01-02T00:00:00.000Z"));
        assert_eq!(
            o.marking_refs().collect::<Vec<_>>(),
            ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]
        );
        assert_eq!(
            o.custom_properties().map(|(k, _)| k).collect::<Vec<_>>(),
            ["x_shield_note"]
        );
        let mut refs = o.references();
        refs.sort_unstable();
        assert_eq!(
            refs,
            [
                "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
                "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
            ]
        );
        assert!(!o.revoked());
    }

    #[test]
    fn round_trip_is_lossless() {
        let v = indicator();
        let o = StixObject::from_value(v.clone()).unwrap();
        assert_eq!(o.to_value(), v);
        let text = serde_json::to_string(&o).unwrap();
        let back: StixObject = serde_json::from_str(&text).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn edits_are_validated_again() {
        let o = StixObject::from_value(indicator()).unwrap();
        let o = o.with_property("confidence", json!(80)).unwrap();
        assert_eq!(o.confidence(), Some(80));
        assert!(o.clone().with_property("confidence", json!(101)).is_err());
        let o = o
            .with_extension(
                "extension-definition--11111111-2222-4333-8444-555555555555",
                json!({"sig": "x"}),
            )
            .unwrap();
        assert_eq!(o.extensions().unwrap().len(), 2);
    }

    #[test]
    fn deserialize_refuses_invalid_objects() {
        let mut v = indicator();
        v["spec_version"] = json!("2.0");
        assert!(serde_json::from_value::<StixObject>(v).is_err());
    }
}
