//! The hub's key directory: members' public keys, published by the hub as signed STIX
//! `identity` objects, so that a member trusts the other members' keys on the hub's word and
//! configures only the hub's key.
//!
//! One entry per member organisation: an `identity` (`identity_class: organization`) created by
//! the hub, whose id derives from the member's identity id (UUIDv5, so it never collides with
//! the member's own identity object), carrying Shield's key-directory property extension:
//!
//! ```json
//! "extensions": {"extension-definition--0b6c4d7e-…": {
//!     "extension_type": "property-extension",
//!     "organisation": "identity--…", "public_key": "ed25519:…", "key_id": "…", "country": "LV"}}
//! ```
//!
//! The hub shares entries like its other objects (TLP:GREEN, signed when they leave). A member
//! takes a key from an entry only when the entry's signature verifies and its origin is the
//! member's configured hub ([`vouched_key`] + the node's check of the origin): a tampered entry
//! fails verification and is refused at admission like any tampered object; an entry signed by
//! anyone else is stored but vouches for nothing. A key configured locally (own, peers',
//! `trusted_keys`) is never replaced by the directory ([`learn`]).

use serde_json::{Value, json};
use shield_intel::stix::{StixError, StixObject, Timestamp};
use shield_intel::tlp::Tlp;

use crate::identity::{Country, Keyring, PublicKey};

/// The id of Shield's key-directory property extension.
pub const KEY_DIRECTORY_EXTENSION_ID: &str =
    "extension-definition--0b6c4d7e-5a0f-4f0e-9a52-6f3c1e2d8b17";

/// One key the hub vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VouchedKey {
    /// The member organisation's STIX identity id.
    pub organisation: String,
    /// Its name, as the hub knows it.
    pub name: String,
    /// The key its nodes sign with.
    pub key: PublicKey,
    /// Its country, when the hub knows it.
    pub country: Option<Country>,
}

/// The id of the directory entry for `organisation`.
pub fn entry_id(organisation: &str) -> String {
    let uuid = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("shield:key-directory:{organisation}").as_bytes(),
    );
    format!("identity--{uuid}")
}

/// The directory entry the hub `hub` (identity id) publishes for `vouched`, at `modified`
/// (`created` is the first version's time). Unsigned: the hub signs it on the way out.
pub fn directory_entry(
    hub: &str,
    vouched: &VouchedKey,
    created: Timestamp,
    modified: Timestamp,
) -> Result<StixObject, StixError> {
    let mut extension = json!({
        "extension_type": "property-extension",
        "organisation": vouched.organisation,
        "public_key": vouched.key.to_config_string(),
        "key_id": vouched.key.key_id().to_string(),
    });
    if let (Some(country), Some(map)) = (vouched.country, extension.as_object_mut()) {
        map.insert("country".into(), Value::from(country.as_str()));
    }
    StixObject::from_value(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": entry_id(&vouched.organisation),
        "created": created.to_string(),
        "modified": modified.to_string(),
        "created_by_ref": hub,
        "name": vouched.name,
        "identity_class": "organization",
        "description": format!("Signing key of {} as vouched for by its hub.", vouched.name),
        "object_marking_refs": [Tlp::Green.marking_id()],
        "extensions": {KEY_DIRECTORY_EXTENSION_ID: extension},
    }))
}

/// The key an object vouches for, when it is a well-formed directory entry (its signature and
/// origin are the caller's to check).
pub fn vouched_key(object: &StixObject) -> Option<VouchedKey> {
    if object.type_name() != "identity" {
        return None;
    }
    let ext = object.extension(KEY_DIRECTORY_EXTENSION_ID)?;
    let organisation = ext.get("organisation")?.as_str()?;
    if shield_intel::stix::identifier_type(organisation) != Some("identity")
        || object.id() != entry_id(organisation)
    {
        return None;
    }
    let key = PublicKey::parse(ext.get("public_key")?.as_str()?, "key directory").ok()?;
    if ext.get("key_id").and_then(Value::as_str) != Some(key.key_id().to_string().as_str()) {
        return None;
    }
    let country = match ext.get("country") {
        None => None,
        Some(c) => Some(Country::parse(c.as_str()?)?),
    };
    Some(VouchedKey {
        organisation: organisation.to_owned(),
        name: object
            .property("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        key,
        country,
    })
}

/// Adds `vouched` to `keyring` unless the organisation already has a key in `configured` (the
/// keys from the node's own configuration) or the key is trusted for another organisation.
/// Whether the keyring changed.
pub fn learn(keyring: &mut Keyring, configured: &Keyring, vouched: &VouchedKey) -> bool {
    if configured.keys_of(&vouched.organisation).next().is_some() {
        return false;
    }
    match keyring.get(vouched.key.key_id()) {
        Some(t) if t.organisation == vouched.organisation => false,
        Some(_) => false,
        None => {
            keyring.insert(&vouched.organisation, vouched.key);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{NodeIdentity, NodeKey, Organisation};
    use crate::signing::{ProvenanceError, sign, verify};

    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";
    const LV: &str = "identity--00000000-0000-4000-8000-00000000001e";
    const LT: &str = "identity--00000000-0000-4000-8000-00000000001f";

    fn hub() -> NodeIdentity {
        NodeIdentity {
            organisation: Organisation::new("eu-hub", HUB, Country::parse("BE").unwrap()).unwrap(),
            key: NodeKey::from_seed([9; 32]),
        }
    }

    fn lv_key() -> VouchedKey {
        VouchedKey {
            organisation: LV.into(),
            name: "lv-cert".into(),
            key: NodeKey::from_seed([2; 32]).public_key(),
            country: Country::parse("LV"),
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn an_entry_signed_by_the_hub_vouches_for_the_key() {
        let t = at("2026-03-01T12:00:00.000Z");
        let entry = directory_entry(HUB, &lv_key(), t, t).unwrap();
        assert_ne!(entry.id(), LV, "never the member's own identity id");
        let signed = sign(entry, &hub()).unwrap();
        let mut hub_only = Keyring::new();
        hub_only.insert(HUB, hub().key.public_key());
        assert_eq!(verify(&signed, &hub_only).unwrap().organisation, HUB);
        assert_eq!(vouched_key(&signed), Some(lv_key()));
        let mut ring = hub_only.clone();
        assert!(learn(&mut ring, &hub_only, &lv_key()));
        assert!(!learn(&mut ring, &hub_only, &lv_key()), "once");
        assert_eq!(ring.keys_of(LV).count(), 1);
    }

    #[test]
    fn a_tampered_entry_fails_verification() {
        let t = at("2026-03-01T12:00:00.000Z");
        let signed = sign(directory_entry(HUB, &lv_key(), t, t).unwrap(), &hub()).unwrap();
        let mut value = signed.to_value();
        value["extensions"][KEY_DIRECTORY_EXTENSION_ID]["public_key"] =
            json!(NodeKey::from_seed([66; 32]).public_key().to_config_string());
        value["extensions"][KEY_DIRECTORY_EXTENSION_ID]["key_id"] = json!(
            NodeKey::from_seed([66; 32])
                .public_key()
                .key_id()
                .to_string()
        );
        let tampered = StixObject::from_value(value).unwrap();
        let mut hub_only = Keyring::new();
        hub_only.insert(HUB, hub().key.public_key());
        assert!(matches!(
            verify(&tampered, &hub_only),
            Err(ProvenanceError::Tampered { .. })
        ));
    }

    #[test]
    fn malformed_entries_vouch_for_nothing() {
        let t = at("2026-03-01T12:00:00.000Z");
        let entry = directory_entry(HUB, &lv_key(), t, t).unwrap();
        let edits: [(&str, Value); 4] = [
            ("organisation", json!(LT)),
            ("key_id", json!("0000000000000000")),
            ("public_key", json!("ed25519:AAAA")),
            ("country", json!("Latvia")),
        ];
        for (property, value) in edits {
            let mut v = entry.to_value();
            v["extensions"][KEY_DIRECTORY_EXTENSION_ID][property] = value;
            let object = StixObject::from_value(v).unwrap();
            assert_eq!(vouched_key(&object), None, "{property}");
        }
    }

    #[test]
    fn configured_keys_win() {
        let configured_lv = NodeKey::from_seed([3; 32]).public_key();
        let mut configured = Keyring::new();
        configured.insert(LV, configured_lv);
        let mut ring = configured.clone();
        assert!(!learn(&mut ring, &configured, &lv_key()));
        assert!(ring.get(lv_key().key.key_id()).is_none());
        // A key already trusted for another organisation is not re-assigned.
        let mut other = Keyring::new();
        other.insert(LT, lv_key().key);
        let mut ring = other.clone();
        assert!(!learn(&mut ring, &Keyring::new(), &lv_key()));
        assert_eq!(ring.get(lv_key().key.key_id()).unwrap().organisation, LT);
    }
}
