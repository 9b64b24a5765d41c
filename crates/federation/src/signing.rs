//! Provenance: Ed25519 signatures over the RFC 8785 canonical JSON of STIX objects.
//!
//! An organisation signs every object it shares; the signature rides in the object itself, in a
//! property extension Shield defines ([`SIGNATURE_EXTENSION_ID`], published as the STIX
//! `extension-definition` object [`signature_extension_definition`]):
//!
//! ```json
//! "extensions": {
//!   "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5": {
//!     "extension_type": "property-extension",
//!     "signer_ref": "identity--…",      // the signing organisation
//!     "key_id": "0123456789abcdef",      // which of its keys (see `identity::KeyId`)
//!     "algorithm": "ed25519",
//!     "signature": "…base64…"            // 64 bytes, standard base64
//!   }
//! }
//! ```
//!
//! **What is signed**: the canonical JSON (RFC 8785, [`shield_intel::stix::canonical_json`]) of
//! the object with this one extension removed (and `extensions` removed when it held nothing
//! else). Member order, white space and the spelling of numbers therefore do not matter; every
//! property, including custom properties and other extensions, does. A relay that stores and
//! forwards the object's text unaltered keeps the signature valid through any number of hops.
//!
//! **Who signed**: the key id names a key in the receiver's [`Keyring`]; the organisation the
//! keyring trusts that key for is the origin, and both `signer_ref` and (when present)
//! `created_by_ref` must name it, so nobody can re-sign another organisation's object as theirs
//! or pass their own object off as another's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use shield_intel::stix::{StixError, StixObject, canonical_json};

use crate::identity::{KeyId, Keyring, NodeIdentity};

/// The id of Shield's signature extension definition.
pub const SIGNATURE_EXTENSION_ID: &str =
    "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5";
/// The identity that publishes Shield's extension definitions (their `created_by_ref`).
pub const SHIELD_IDENTITY_ID: &str = "identity--ee962690-73b1-4b30-9acb-7d10dfa33cac";
/// `created` of the published definitions.
const DEFINITIONS_CREATED: &str = "2026-01-01T00:00:00.000Z";
/// The only algorithm signatures use.
pub const ALGORITHM: &str = "ed25519";

/// The JSON schema of the signature extension, carried as the definition's `schema` text.
const SIGNATURE_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Shield provenance signature",
  "description": "Ed25519 signature by the originating organisation over the RFC 8785 canonical JSON of the object without this extension (and without 'extensions' when it held nothing else).",
  "type": "object",
  "properties": {
    "extension_type": {"const": "property-extension"},
    "signer_ref": {"type": "string", "pattern": "^identity--[0-9a-f-]{36}$"},
    "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "first 8 bytes of SHA-256 over the 32 public key bytes, hex"},
    "algorithm": {"const": "ed25519"},
    "signature": {"type": "string", "description": "64-byte Ed25519 signature, standard base64 with padding"}
  },
  "required": ["extension_type", "signer_ref", "key_id", "algorithm", "signature"]
}"#;

/// The identity object that publishes Shield's extension definitions.
pub fn shield_identity() -> StixObject {
    constant_object(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": SHIELD_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Shield",
        "identity_class": "system",
        "description": "Publisher of the STIX extensions Shield nodes use.",
    }))
}

/// The `extension-definition` object of the signature extension, to publish beside signed objects.
pub fn signature_extension_definition() -> StixObject {
    constant_object(json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": SIGNATURE_EXTENSION_ID,
        "created_by_ref": SHIELD_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Shield provenance signature",
        "description": "The originating organisation's Ed25519 signature over the object's RFC 8785 canonical JSON.",
        "schema": SIGNATURE_SCHEMA,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }))
}

fn constant_object(value: Value) -> StixObject {
    match StixObject::from_value(value) {
        Ok(object) => object,
        // A constant shape; validation cannot refuse it (unit-tested).
        Err(e) => unreachable!("constant STIX object refused: {e}"),
    }
}

/// Why an object cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The object says another organisation created it: only its creator signs it.
    #[error("{object_id}: created by {created_by}, not by the signer {signer}")]
    NotCreator {
        /// The object.
        object_id: String,
        /// Its `created_by_ref`.
        created_by: String,
        /// The signing organisation.
        signer: String,
    },
    /// The signed object did not validate again.
    #[error(transparent)]
    Stix(#[from] StixError),
}

/// Why an object's provenance is not accepted. Every variant names the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    /// The object carries no Shield signature.
    #[error("{object_id}: unsigned")]
    Unsigned {
        /// The object.
        object_id: String,
    },
    /// The signature extension is there but unusable (missing or ill-typed property, unknown
    /// algorithm, bad base64).
    #[error("{object_id}: malformed signature: {reason}")]
    Malformed {
        /// The object.
        object_id: String,
        /// What is wrong.
        reason: String,
    },
    /// Signed with a key the receiver does not trust.
    #[error("{object_id}: signed with unknown key {key_id}")]
    UnknownKey {
        /// The object.
        object_id: String,
        /// The key id in the signature.
        key_id: String,
    },
    /// The key is trusted, but for another organisation than the one the signature or the object
    /// names.
    #[error("{object_id}: key {key_id} belongs to {key_owner}, but the object names {claimed}")]
    WrongSigner {
        /// The object.
        object_id: String,
        /// The key id.
        key_id: String,
        /// The organisation the keyring trusts the key for.
        key_owner: String,
        /// The organisation `signer_ref` or `created_by_ref` names.
        claimed: String,
    },
    /// The signature does not match the object: it was altered after signing.
    #[error("{object_id}: signature does not match (object altered after signing)")]
    Tampered {
        /// The object.
        object_id: String,
    },
}

/// Who signed an object whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedOrigin {
    /// The STIX identity id of the originating organisation.
    pub organisation: String,
    /// The key that signed.
    pub key_id: KeyId,
}

/// The bytes a signature covers: the canonical JSON of the object's properties without the
/// signature extension.
pub fn signed_message(properties: &Map<String, Value>) -> String {
    let mut unsigned = properties.clone();
    strip_signature(&mut unsigned);
    canonical_json(&Value::Object(unsigned))
}

fn strip_signature(properties: &mut Map<String, Value>) {
    let now_empty = match properties.get_mut("extensions") {
        Some(Value::Object(extensions)) => {
            extensions.remove(SIGNATURE_EXTENSION_ID);
            extensions.is_empty()
        }
        _ => false,
    };
    if now_empty {
        properties.remove("extensions");
    }
}

/// Signs `object` as `signer`'s organisation: any previous Shield signature is replaced. Refuses
/// objects whose `created_by_ref` names another organisation.
pub fn sign(object: StixObject, signer: &NodeIdentity) -> Result<StixObject, SignError> {
    let organisation = &signer.organisation.identity;
    if let Some(created_by) = object.created_by_ref() {
        if created_by != organisation {
            return Err(SignError::NotCreator {
                object_id: object.id().to_owned(),
                created_by: created_by.to_owned(),
                signer: organisation.clone(),
            });
        }
    }
    let mut properties = object.into_map();
    strip_signature(&mut properties);
    let message = canonical_json(&Value::Object(properties.clone()));
    let signature = signer.key.sign(message.as_bytes());
    let extension = json!({
        "extension_type": "property-extension",
        "signer_ref": organisation,
        "key_id": signer.key.public_key().key_id().to_string(),
        "algorithm": ALGORITHM,
        "signature": STANDARD.encode(signature),
    });
    let extensions = properties
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = extensions {
        map.insert(SIGNATURE_EXTENSION_ID.to_owned(), extension);
    }
    Ok(StixObject::from_map(properties)?)
}

/// Verifies the Shield signature of `object` against the keys in `keyring`.
pub fn verify(object: &StixObject, keyring: &Keyring) -> Result<VerifiedOrigin, ProvenanceError> {
    let object_id = object.id();
    let malformed = |reason: &str| ProvenanceError::Malformed {
        object_id: object_id.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(extension) = object.extension(SIGNATURE_EXTENSION_ID) else {
        return Err(ProvenanceError::Unsigned {
            object_id: object_id.to_owned(),
        });
    };
    let field = |name: &str| extension.get(name).and_then(Value::as_str);
    let signer = field("signer_ref").ok_or_else(|| malformed("no signer_ref"))?;
    let key_text = field("key_id").ok_or_else(|| malformed("no key_id"))?;
    match field("algorithm") {
        Some(ALGORITHM) => {}
        Some(_) => return Err(malformed("algorithm is not ed25519")),
        None => return Err(malformed("no algorithm")),
    }
    let signature_text = field("signature").ok_or_else(|| malformed("no signature"))?;
    let key_id = KeyId::parse(key_text).ok_or_else(|| malformed("key_id is not 16 hex digits"))?;
    if signature_text.len() > 128 {
        return Err(malformed("signature too long"));
    }
    let signature = STANDARD
        .decode(signature_text)
        .map_err(|_| malformed("signature is not base64"))?;
    if signature.len() != 64 {
        return Err(malformed("signature is not 64 bytes"));
    }
    let trusted = keyring
        .get(key_id)
        .ok_or_else(|| ProvenanceError::UnknownKey {
            object_id: object_id.to_owned(),
            key_id: key_id.to_string(),
        })?;
    let wrong_signer = |claimed: &str| ProvenanceError::WrongSigner {
        object_id: object_id.to_owned(),
        key_id: key_id.to_string(),
        key_owner: trusted.organisation.clone(),
        claimed: claimed.to_owned(),
    };
    if signer != trusted.organisation {
        return Err(wrong_signer(signer));
    }
    let message = signed_message(object.as_map());
    if !trusted.key.verify(message.as_bytes(), &signature) {
        return Err(ProvenanceError::Tampered {
            object_id: object_id.to_owned(),
        });
    }
    // Checked after the signature, so an altered `created_by_ref` reads as tampering.
    if let Some(created_by) = object.created_by_ref() {
        if created_by != trusted.organisation {
            return Err(wrong_signer(created_by));
        }
    }
    Ok(VerifiedOrigin {
        organisation: trusted.organisation.clone(),
        key_id,
    })
}

/// Whether the object carries a Shield signature (valid or not).
pub fn is_signed(object: &StixObject) -> bool {
    object.extension(SIGNATURE_EXTENSION_ID).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Country, NodeKey, Organisation};
    use shield_intel::stix::{ObjectBuilder, Timestamp};
    use shield_intel::tlp::Tlp;

    fn identity(name: &str, seed: u8) -> NodeIdentity {
        NodeIdentity {
            organisation: Organisation::derived(name, Country::parse("EE").unwrap()).unwrap(),
            key: NodeKey::from_seed([seed; 32]),
        }
    }

    fn keyring(identities: &[&NodeIdentity]) -> Keyring {
        let mut ring = Keyring::new();
        for id in identities {
            ring.insert(&id.organisation.identity, id.key.public_key());
        }
        ring
    }

    fn indicator(creator: &NodeIdentity) -> StixObject {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        ObjectBuilder::indicator("[ipv4-addr:value = '203.0.113.5']", "stix", t, t)
            .property("name", "C2 server")
            .property("confidence", 80)
            .property("x_score", 0.5)
            .property("indicator_types", json!(["malicious-activity"]))
            .label("c2")
            .created_by(&creator.organisation.identity)
            .tlp(Tlp::Amber)
            .extension(
                "extension-definition--09e45136-6cf4-46fe-a9e0-acdca0c66684",
                json!({"extension_type": "property-extension", "x_rank": 3, "nested": {"b": [1, 2], "a": null}}),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn published_definitions_are_valid_stix() {
        let definition = signature_extension_definition();
        assert_eq!(definition.id(), SIGNATURE_EXTENSION_ID);
        assert_eq!(definition.created_by_ref(), Some(SHIELD_IDENTITY_ID));
        let schema: Value =
            serde_json::from_str(definition.str_property("schema").unwrap()).unwrap();
        assert_eq!(schema["required"].as_array().unwrap().len(), 5);
        assert_eq!(
            definition.property("extension_types"),
            Some(&json!(["property-extension"]))
        );
        assert_eq!(shield_identity().id(), SHIELD_IDENTITY_ID);
    }

    #[test]
    fn round_trip() {
        let ee = identity("CERT-EE", 1);
        let signed = sign(indicator(&ee), &ee).unwrap();
        assert!(is_signed(&signed));
        let ext = signed.extension(SIGNATURE_EXTENSION_ID).unwrap();
        assert_eq!(ext["signer_ref"], json!(ee.organisation.identity));
        assert_eq!(ext["extension_type"], "property-extension");
        let origin = verify(&signed, &keyring(&[&ee])).unwrap();
        assert_eq!(origin.organisation, ee.organisation.identity);
        assert_eq!(origin.key_id, ee.key.public_key().key_id());
        // Through text, as a relay stores and forwards it.
        let text = signed.to_json();
        let received = StixObject::from_json(text.as_bytes()).unwrap();
        assert_eq!(verify(&received, &keyring(&[&ee])).unwrap(), origin);
        // Signing again replaces the signature instead of signing it.
        let resigned = sign(signed.clone(), &ee).unwrap();
        assert_eq!(resigned, signed, "Ed25519 is deterministic");
        // An object without other extensions gets and loses `extensions` cleanly.
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let bare = ObjectBuilder::new("note", t)
            .property("content", "x")
            .property("object_refs", json!([signed.id()]))
            .build()
            .unwrap();
        let signed_bare = sign(bare.clone(), &ee).unwrap();
        assert_eq!(
            signed_message(signed_bare.as_map()),
            bare.to_canonical_json()
        );
        assert!(verify(&signed_bare, &keyring(&[&ee])).is_ok());
    }

    /// Every way of changing one property of the signed object.
    fn alterations(value: &Value) -> Vec<Value> {
        match value {
            Value::String(s) => vec![
                json!(format!("{s}x")),
                json!(change_last_digit(s)),
                json!(""),
                Value::Null,
            ],
            Value::Number(n) => vec![json!(n.as_f64().unwrap_or(0.0) + 1.0), json!(n.to_string())],
            Value::Bool(b) => vec![json!(!b)],
            Value::Array(items) => {
                let mut more = items.clone();
                more.push(json!("extra"));
                let mut fewer = items.clone();
                fewer.pop();
                let mut reversed = items.clone();
                reversed.reverse();
                let mut out = vec![json!(more), json!(fewer)];
                if reversed != *items {
                    out.push(json!(reversed));
                }
                out
            }
            Value::Object(map) => {
                let mut more = map.clone();
                more.insert("x_extra".into(), json!(1));
                vec![Value::Object(more)]
            }
            Value::Null => vec![json!(0)],
        }
    }

    /// The text with its last digit (else its last character) changed: ids, timestamps and
    /// patterns stay valid.
    fn change_last_digit(s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let position = chars
            .iter()
            .rposition(char::is_ascii_digit)
            .or(chars.len().checked_sub(1));
        if let Some(i) = position {
            chars[i] = match chars[i] {
                '9' => '8',
                c if c.is_ascii_digit() => char::from(c as u8 + 1),
                'z' => 'y',
                _ => 'z',
            };
        }
        chars.into_iter().collect()
    }

    #[test]
    fn tampering_any_property_fails() {
        let ee = identity("CERT-EE", 1);
        let ring = keyring(&[&ee]);
        let signed = sign(indicator(&ee), &ee).unwrap();
        let mut tried = 0;
        let mut touched = std::collections::BTreeSet::new();
        for (name, value) in signed.as_map() {
            let candidates: Vec<Value> = if name == "extensions" {
                // Alter the other extension, not the signature itself.
                let mut ext = value.clone();
                ext["extension-definition--09e45136-6cf4-46fe-a9e0-acdca0c66684"]["x_rank"] =
                    json!(4);
                vec![ext]
            } else {
                alterations(value)
            };
            for altered in candidates {
                let mut map = signed.as_map().clone();
                map.insert(name.clone(), altered.clone());
                // Leave aside alterations that are not valid STIX (a receiver refuses those anyway).
                let Ok(object) = StixObject::from_map(map) else {
                    continue;
                };
                tried += 1;
                touched.insert(name.clone());
                let result = verify(&object, &ring);
                let expected_id = object.id().to_owned();
                match result {
                    Err(ProvenanceError::Tampered { object_id }) => {
                        assert_eq!(object_id, expected_id)
                    }
                    other => panic!("{name} = {altered}: {other:?}"),
                }
            }
        }
        assert!(tried >= 15, "only {tried} alterations tried");
        assert!(touched.len() >= 10, "properties altered: {touched:?}");
        // Removing and adding properties.
        let mut map = signed.as_map().clone();
        map.remove("labels");
        let object = StixObject::from_map(map).unwrap();
        assert!(matches!(
            verify(&object, &ring),
            Err(ProvenanceError::Tampered { .. })
        ));
        let object = signed
            .clone()
            .with_property("description", json!("added"))
            .unwrap();
        assert!(matches!(
            verify(&object, &ring),
            Err(ProvenanceError::Tampered { .. })
        ));
        // A bit flipped in the signature.
        let mut map = signed.as_map().clone();
        let sig = map["extensions"][SIGNATURE_EXTENSION_ID]["signature"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut bytes = STANDARD.decode(sig).unwrap();
        bytes[10] ^= 1;
        map["extensions"][SIGNATURE_EXTENSION_ID]["signature"] = json!(STANDARD.encode(bytes));
        let object = StixObject::from_map(map).unwrap();
        assert!(matches!(
            verify(&object, &ring),
            Err(ProvenanceError::Tampered { .. })
        ));
    }

    #[test]
    fn member_order_white_space_and_number_spelling_do_not_matter() {
        let ee = identity("CERT-EE", 1);
        let ring = keyring(&[&ee]);
        let signed = sign(indicator(&ee), &ee).unwrap();
        // Write the text by hand: members in reverse order, generous white space, 0.5 as 5e-1.
        let mut text = String::from("{\n");
        let entries: Vec<(&String, &Value)> = signed.as_map().iter().rev().collect();
        for (i, (key, value)) in entries.iter().enumerate() {
            let value_text = if key.as_str() == "x_score" {
                "5e-1".to_owned()
            } else {
                serde_json::to_string_pretty(value).unwrap()
            };
            text.push_str(&format!("   \"{key}\" :\t{value_text}"));
            text.push_str(if i + 1 < entries.len() { " ,\n" } else { "\n" });
        }
        text.push('}');
        assert!(text.contains("5e-1"));
        let received = StixObject::from_json(text.as_bytes()).unwrap();
        assert!(verify(&received, &ring).is_ok(), "{text}");
    }

    #[test]
    fn unknown_extension_properties_survive() {
        let ee = identity("CERT-EE", 1);
        let ring = keyring(&[&ee]);
        let signed = sign(indicator(&ee), &ee).unwrap();
        let other = "extension-definition--09e45136-6cf4-46fe-a9e0-acdca0c66684";
        assert_eq!(
            signed.extension(other).unwrap()["nested"],
            json!({"a": null, "b": [1, 2]})
        );
        // A later version of the signature extension may add properties: they are not signed over.
        let mut map = signed.as_map().clone();
        map["extensions"][SIGNATURE_EXTENSION_ID]["x_timestamp"] = json!("2026-03-01T12:00:00Z");
        let object = StixObject::from_map(map).unwrap();
        assert!(verify(&object, &ring).is_ok());
    }

    #[test]
    fn unsigned_unknown_key_and_wrong_signer_are_told_apart() {
        let ee = identity("CERT-EE", 1);
        let lv = identity("CERT-LV", 2);
        let unsigned = indicator(&ee);
        assert_eq!(
            verify(&unsigned, &keyring(&[&ee])),
            Err(ProvenanceError::Unsigned {
                object_id: unsigned.id().to_owned()
            })
        );
        let signed = sign(indicator(&ee), &ee).unwrap();
        let err = verify(&signed, &keyring(&[&lv])).unwrap_err();
        assert!(
            matches!(err, ProvenanceError::UnknownKey { ref key_id, .. } if *key_id == ee.key.public_key().key_id().to_string())
        );
        // LV cannot sign EE's object.
        assert!(matches!(
            sign(indicator(&ee), &lv),
            Err(SignError::NotCreator { .. })
        ));
        // LV's key claiming to sign for EE: the keyring knows the key is LV's.
        let forged_signer = NodeIdentity {
            organisation: ee.organisation.clone(),
            key: lv.key.clone(),
        };
        let forged = sign(indicator(&ee), &forged_signer).unwrap();
        let err = verify(&forged, &keyring(&[&ee, &lv])).unwrap_err();
        assert!(
            matches!(err, ProvenanceError::WrongSigner { ref claimed, .. } if *claimed == ee.organisation.identity),
            "{err}"
        );
        // LV signs its own copy that still names EE as creator (created_by_ref edited after signing
        // would be tampering; here it was signed like that by an honest-looking key).
        let mut map = indicator(&ee).into_map();
        map.remove("created_by_ref");
        let copy = sign(StixObject::from_map(map).unwrap(), &lv).unwrap();
        let relabelled = copy
            .with_property("created_by_ref", json!(ee.organisation.identity))
            .unwrap();
        assert!(matches!(
            verify(&relabelled, &keyring(&[&ee, &lv])),
            Err(ProvenanceError::Tampered { .. })
        ));
    }

    #[test]
    fn malformed_signatures_are_named() {
        let ee = identity("CERT-EE", 1);
        let ring = keyring(&[&ee]);
        let signed = sign(indicator(&ee), &ee).unwrap();
        let cases: [(&str, Value, &str); 5] = [
            ("algorithm", json!("rsa"), "algorithm"),
            ("key_id", json!("XYZ"), "key_id"),
            ("signature", json!("!!"), "base64"),
            ("signature", json!("AAAA"), "64 bytes"),
            ("signer_ref", json!(5), "signer_ref"),
        ];
        for (field, value, reason) in cases {
            let mut map = signed.as_map().clone();
            map["extensions"][SIGNATURE_EXTENSION_ID][field] = value;
            let object = StixObject::from_map(map).unwrap();
            match verify(&object, &ring) {
                Err(ProvenanceError::Malformed { reason: r, .. }) => {
                    assert!(r.contains(reason), "{r}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
