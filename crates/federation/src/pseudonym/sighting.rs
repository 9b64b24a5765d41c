//! Shared sightings: the sighting a node shares for a local one.

use serde_json::{Map, Value, json};
use shield_intel::stix::StixObject;
use uuid::Uuid;

use super::{
    Class, Classifier, CommunityKeys, MAX_OBSERVED, ObservableKind, PseudonymError,
    SIGHTING_EXTENSION_ID, normalise, pseudonym_key_id,
};
use crate::identity::SHIELD_NAMESPACE;
use crate::signing::SHIELD_IDENTITY_ID;

/// A value a local sighting observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedValue {
    /// Its kind.
    pub kind: ObservableKind,
    /// The value as observed.
    pub value: String,
}

impl ObservedValue {
    /// A value of the STIX type `object_type`.
    pub fn new(object_type: &str, value: &str) -> ObservedValue {
        ObservedValue {
            kind: ObservableKind::from_stix_type(object_type),
            value: value.to_owned(),
        }
    }
}

/// What a shared sighting says it observed: a value or a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedObservation {
    /// A public value.
    Value {
        /// The STIX type (`other` for kinds outside the list).
        object_type: String,
        /// The value.
        value: String,
    },
    /// A pseudonymised value.
    Pseudonym {
        /// The STIX type.
        object_type: String,
        /// `hmac-sha256:<key id>:<hex>`.
        pseudonym: String,
    },
}

impl SharedObservation {
    /// The text the hub correlates on: the pseudonym, or `<type>:<value>`.
    pub fn correlation_key(&self) -> String {
        match self {
            SharedObservation::Value { object_type, value } => format!("{object_type}:{value}"),
            SharedObservation::Pseudonym { pseudonym, .. } => pseudonym.clone(),
        }
    }
}

/// Properties of a local sighting that a shared sighting keeps; everything else (descriptions,
/// custom properties, references to local observed data and places) stays home.
const SHARED_PROPERTIES: [&str; 11] = [
    "type",
    "spec_version",
    "created",
    "modified",
    "sighting_of_ref",
    "first_seen",
    "last_seen",
    "count",
    "confidence",
    "object_marking_refs",
    "revoked",
];

/// The sighting `organisation` shares for its local `sighting` that observed `observed`:
/// allow-listed properties, `where_sighted_refs` = the organisation, `created_by_ref` = the
/// organisation, the observed values (public ones as values, personal ones as pseudonyms under
/// the current community key) in the extension [`SIGHTING_EXTENSION_ID`]. Its id is derived from
/// the local id, so sharing a new version of the local sighting updates the same shared object.
pub fn share_sighting(
    sighting: &StixObject,
    observed: &[ObservedValue],
    organisation: &str,
    classifier: &Classifier,
    keys: &CommunityKeys,
) -> Result<StixObject, PseudonymError> {
    if sighting.type_name() != "sighting" {
        return Err(PseudonymError::NotASighting(sighting.id().to_owned()));
    }
    if observed.len() > MAX_OBSERVED {
        return Err(PseudonymError::TooManyObserved {
            object_id: sighting.id().to_owned(),
            count: observed.len(),
        });
    }
    let mut properties = Map::new();
    for name in SHARED_PROPERTIES {
        if let Some(value) = sighting.property(name) {
            properties.insert(name.to_owned(), value.clone());
        }
    }
    let id = Uuid::new_v5(
        &SHIELD_NAMESPACE,
        format!("shared-sighting:{organisation}:{}", sighting.id()).as_bytes(),
    );
    properties.insert("id".into(), json!(format!("sighting--{id}")));
    properties.insert("created_by_ref".into(), json!(organisation));
    properties.insert("where_sighted_refs".into(), json!([organisation]));
    let mut seen = std::collections::BTreeSet::new();
    let mut items = Vec::with_capacity(observed.len());
    for o in observed {
        let item = match classifier.classify(o.kind, &o.value) {
            Class::Public => json!({"type": o.kind.as_str(), "value": normalise(o.kind, &o.value)}),
            Class::Personal => {
                json!({"type": o.kind.as_str(), "pseudonym": keys.pseudonymise(o.kind, &o.value)})
            }
        };
        if seen.insert(item.to_string()) {
            items.push(item);
        }
    }
    properties.insert(
        "extensions".into(),
        json!({ SIGHTING_EXTENSION_ID: {
            "extension_type": "property-extension",
            "observed": items,
        }}),
    );
    Ok(StixObject::from_map(properties)?)
}

/// The observations a shared sighting carries (entries that are neither a value nor a
/// well-formed pseudonym are skipped).
pub fn shared_observations(sighting: &StixObject) -> Vec<SharedObservation> {
    let Some(items) = sighting
        .extension(SIGHTING_EXTENSION_ID)
        .and_then(|e| e.get("observed"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    items
        .iter()
        .take(MAX_OBSERVED)
        .filter_map(|item| {
            let object_type = item.get("type")?.as_str()?.to_owned();
            if let Some(p) = item.get("pseudonym").and_then(Value::as_str) {
                pseudonym_key_id(p)?;
                return Some(SharedObservation::Pseudonym {
                    object_type,
                    pseudonym: p.to_owned(),
                });
            }
            let value = item.get("value")?.as_str()?.to_owned();
            Some(SharedObservation::Value { object_type, value })
        })
        .collect()
}

/// The `extension-definition` object of the shared-sighting extension.
pub fn sighting_extension_definition() -> StixObject {
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Shield shared sighting",
  "description": "What a sighting observed: public values as they are, personal or internal values as HMAC-SHA256 pseudonyms under the community key named in the pseudonym.",
  "type": "object",
  "properties": {
    "extension_type": {"const": "property-extension"},
    "observed": {"type": "array", "maxItems": 1000, "items": {
      "type": "object",
      "properties": {
        "type": {"type": "string", "description": "STIX cyber-observable type, or 'other'"},
        "value": {"type": "string"},
        "pseudonym": {"type": "string", "pattern": "^hmac-sha256:[A-Za-z0-9._-]{1,32}:[0-9a-f]{64}$",
                      "description": "HMAC-SHA256 under the community key over '<type>:<normalised value>', type ip-addr for IPv4 and IPv6"}
      },
      "required": ["type"],
      "oneOf": [{"required": ["value"]}, {"required": ["pseudonym"]}]
    }}
  },
  "required": ["extension_type", "observed"]
}"#;
    let value = json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": SIGHTING_EXTENSION_ID,
        "created_by_ref": SHIELD_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Shield shared sighting",
        "description": "Observed values of a sighting, personal ones pseudonymised.",
        "schema": schema,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    });
    match StixObject::from_value(value) {
        Ok(object) => object,
        // A constant shape; validation cannot refuse it (unit-tested).
        Err(e) => unreachable!("constant STIX object refused: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::test_support::{classifier, keys};
    use shield_intel::stix::{ObjectBuilder, Timestamp};
    use shield_intel::tlp::Tlp;

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";

    fn local_sighting() -> StixObject {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        ObjectBuilder::sighting("indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70", t)
            .property("first_seen", "2026-03-01T11:00:00Z")
            .property("last_seen", "2026-03-01T11:30:00Z")
            .property("count", 3)
            .property("description", "seen on Jaan's laptop ws-042")
            .property("x_analyst", "mari")
            .property(
                "where_sighted_refs",
                json!(["identity--00000000-0000-4000-8000-000000000042"]),
            )
            .property(
                "observed_data_refs",
                json!(["observed-data--00000000-0000-4000-8000-000000000043"]),
            )
            .tlp(Tlp::Amber)
            .build()
            .unwrap()
    }

    #[test]
    fn shared_sighting_keeps_public_values_and_hides_personal_ones() {
        let keys = keys();
        let local = local_sighting();
        let observed = [
            ObservedValue::new("ipv4-addr", "203.0.113.5"),
            ObservedValue::new("ipv4-addr", "10.0.0.42"),
            ObservedValue::new("domain-name", "ws-042"),
            ObservedValue::new("user-account", "jaan.tamm"),
            ObservedValue::new("email-addr", "jaan.tamm@cert.ee"),
            ObservedValue::new("file", "44d88612fea8a8f36de82e1278abb02f"),
            ObservedValue::new("ipv4-addr", "10.0.0.42"),
        ];
        let shared = share_sighting(&local, &observed, EE, &classifier(), &keys).unwrap();
        let text = shared.to_json();
        for secret in [
            "10.0.0.42",
            "ws-042",
            "jaan",
            "mari",
            "Jaan",
            "000000000042",
            "000000000043",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("203.0.113.5"));
        assert_eq!(shared.created_by_ref(), Some(EE));
        assert_eq!(shared.property("where_sighted_refs"), Some(&json!([EE])));
        assert_eq!(shared.property("count"), Some(&json!(3)));
        assert_eq!(
            shared.str_property("sighting_of_ref"),
            local.str_property("sighting_of_ref")
        );
        assert_eq!(
            shared.marking_refs().collect::<Vec<_>>(),
            [Tlp::Amber.marking_id()]
        );
        assert_ne!(shared.id(), local.id());
        let observations = shared_observations(&shared);
        assert_eq!(observations.len(), 6, "the duplicate is dropped");
        assert_eq!(
            observations[0],
            SharedObservation::Value {
                object_type: "ipv4-addr".into(),
                value: "203.0.113.5".into()
            }
        );
        assert_eq!(
            observations[1].correlation_key(),
            keys.pseudonymise(ObservableKind::Ipv4Addr, "10.0.0.42")
        );
        assert_eq!(
            observations[5].correlation_key(),
            "other:44d88612fea8a8f36de82e1278abb02f"
        );
        // Deterministic: the same local sighting is the same shared object.
        assert_eq!(
            share_sighting(&local, &observed, EE, &classifier(), &keys).unwrap(),
            shared
        );
        // Two members sighting the same internal value give the same pseudonym.
        let lv = "identity--00000000-0000-4000-8000-00000000001e";
        let other = share_sighting(&local, &observed[1..2], lv, &classifier(), &keys).unwrap();
        assert_eq!(shared_observations(&other)[0], observations[1]);
        assert_ne!(other.id(), shared.id());
    }

    #[test]
    fn share_sighting_refuses_other_objects_and_floods() {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let note = ObjectBuilder::new("note", t)
            .property("content", "x")
            .property(
                "object_refs",
                json!(["indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70"]),
            )
            .build()
            .unwrap();
        assert!(matches!(
            share_sighting(&note, &[], EE, &classifier(), &keys()),
            Err(PseudonymError::NotASighting(_))
        ));
        let many = vec![ObservedValue::new("ipv4-addr", "10.0.0.1"); MAX_OBSERVED + 1];
        assert!(matches!(
            share_sighting(&local_sighting(), &many, EE, &classifier(), &keys()),
            Err(PseudonymError::TooManyObserved { .. })
        ));
    }

    #[test]
    fn extension_definition_is_valid() {
        let d = sighting_extension_definition();
        assert_eq!(d.id(), SIGHTING_EXTENSION_ID);
        let schema: Value = serde_json::from_str(d.str_property("schema").unwrap()).unwrap();
        assert_eq!(schema["title"], "Shield shared sighting");
    }
}
