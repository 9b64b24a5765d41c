//! Sharing groups: named sets of organisations, and how an object names the groups and
//! organisations it is for.
//!
//! **Groups** are declared by name in the configuration, with their organisations
//! (`[[federation.groups]]`), or on each peer (`groups = [...]` of a `[[federation.peers]]`
//! entry); both say the same thing and are merged ([`apply_groups`]).
//!
//! **On an object**, Shield's sharing property extension names its recipients:
//!
//! ```json
//! "extensions": {"extension-definition--9c3e5f41-…": {
//!     "extension_type": "property-extension",
//!     "groups": ["baltic"], "organisations": ["identity--…"]}}
//! ```
//!
//! The author sets it before the object is shared, so it is covered by the author's signature
//! and no relay can widen it. The sharing policy reads it for TLP:AMBER (see
//! [`crate::policy`]): sent to the hub for relay, and by the hub (or a member peering directly)
//! only to members in one of the named groups or named organisations; without the extension,
//! AMBER goes to the whole community. It does not widen anything: RED and AMBER+STRICT stay in
//! the organisation whatever it names, and CLEAR and GREEN go where their level allows.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shield_intel::stix::StixObject;

use crate::peer::PeerConfig;
use crate::policy::ObjectFacts;

/// The id of Shield's sharing property extension.
pub const SHARING_EXTENSION_ID: &str = "extension-definition--9c3e5f41-7d2a-4b8e-a6f0-3e1d5c7b9a24";

/// Most groups or organisations read from one object.
const MAX_NAMED: usize = 256;

/// One `[[federation.groups]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's name (as objects name it).
    pub name: String,
    /// Its organisations (STIX identity ids).
    pub organisations: Vec<String>,
}

/// Checks group entries: names of letters, digits, `-`, `_`, `.`, used once; identity ids.
/// The error names the entry (`federation.groups[i]`).
pub fn validate_groups(groups: &[GroupConfig]) -> Result<(), (String, String)> {
    let mut names = std::collections::BTreeSet::new();
    for (i, g) in groups.iter().enumerate() {
        let at = format!("federation.groups[{i}]");
        let ok = !g.name.is_empty()
            && g.name.len() <= 64
            && g.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err((
                format!("{at}.name"),
                "1 to 64 of A-Z a-z 0-9 - _ .".to_owned(),
            ));
        }
        if !names.insert(g.name.as_str()) {
            return Err((format!("{at}.name"), format!("{} used twice", g.name)));
        }
        if let Some(bad) = g
            .organisations
            .iter()
            .find(|o| shield_intel::stix::identifier_type(o) != Some("identity"))
        {
            return Err((
                format!("{at}.organisations"),
                format!("{bad:?} is not a STIX identity id"),
            ));
        }
    }
    Ok(())
}

/// Adds to each peer the configured groups its organisation belongs to.
pub fn apply_groups(peers: &mut [PeerConfig], groups: &[GroupConfig]) {
    for peer in peers {
        for g in groups {
            if g.organisations.contains(&peer.organisation) && !peer.groups.contains(&g.name) {
                peer.groups.push(g.name.clone());
            }
        }
    }
}

/// The sharing extension naming `groups` and `organisations`, to put under the object's
/// `extensions` as [`SHARING_EXTENSION_ID`].
pub fn sharing_extension(groups: &[&str], organisations: &[&str]) -> Value {
    json!({
        "extension_type": "property-extension",
        "groups": groups,
        "organisations": organisations,
    })
}

/// The groups and organisations `object` names as its recipients (empty without the
/// extension; non-text entries are skipped, at most [`MAX_NAMED`] of each are read).
pub fn named_recipients(object: &StixObject) -> (Vec<String>, Vec<String>) {
    let Some(ext) = object.extension(SHARING_EXTENSION_ID) else {
        return (Vec::new(), Vec::new());
    };
    let list = |name: &str| -> Vec<String> {
        ext.get(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .take(MAX_NAMED)
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    (list("groups"), list("organisations"))
}

/// `facts` with the recipients `object` names added.
pub fn with_named_recipients(facts: ObjectFacts, object: &StixObject) -> ObjectFacts {
    let (groups, organisations) = named_recipients(object);
    facts
        .in_groups(groups.iter().map(String::as_str))
        .shared_with(organisations.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeKey;
    use crate::policy::{NodeRole, PeerRelation, SharingPolicy};
    use shield_intel::stix::{ObjectBuilder, Timestamp};
    use shield_intel::tlp::Tlp;

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";
    const LV: &str = "identity--00000000-0000-4000-8000-00000000001e";
    const LT: &str = "identity--00000000-0000-4000-8000-00000000001f";
    const FI: &str = "identity--00000000-0000-4000-8000-0000000000f1";
    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";

    fn peer(name: &str, relation: PeerRelation, org: &str) -> PeerConfig {
        let text = format!(
            "name = \"{name}\"\nurl = \"http://127.0.0.1:1/taxii2/shield/\"\nrelation = \"{}\"\n\
             organisation = \"{org}\"\npublic_key = \"{}\"\n",
            serde_json::to_value(relation).unwrap().as_str().unwrap(),
            NodeKey::from_seed([org.len() as u8; 32])
                .public_key()
                .to_config_string()
        );
        toml::from_str(&text).unwrap()
    }

    fn object(tlp: Tlp, groups: &[&str], organisations: &[&str]) -> StixObject {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let mut b =
            ObjectBuilder::indicator("[domain-name:value = 'c2.example.net']", "stix", t, t)
                .tlp(tlp);
        if !groups.is_empty() || !organisations.is_empty() {
            b = b.extension(
                SHARING_EXTENSION_ID,
                sharing_extension(groups, organisations),
            );
        }
        b.build().unwrap()
    }

    /// The hub's receivers of an object of EE, named groups read from the object, group
    /// membership from the configuration (`baltic`: LV and LT; `nordic`: FI) and from a peer's
    /// own `groups` (LT also in `eastern`).
    #[test]
    fn tlp_matrix_at_the_hub_with_groups_from_objects_and_configuration() {
        let mut peers = vec![
            peer("ee", PeerRelation::Member, EE),
            peer("lv", PeerRelation::Member, LV),
            peer("lt", PeerRelation::Member, LT),
            peer("fi", PeerRelation::Member, FI),
            peer(
                "vendor",
                PeerRelation::Partner,
                "identity--00000000-0000-4000-8000-000000000099",
            ),
        ];
        peers[2].groups.push("eastern".into());
        let groups = vec![
            GroupConfig {
                name: "baltic".into(),
                organisations: vec![LV.into(), LT.into(), EE.into()],
            },
            GroupConfig {
                name: "nordic".into(),
                organisations: vec![FI.into()],
            },
        ];
        validate_groups(&groups).unwrap();
        apply_groups(&mut peers, &groups);
        apply_groups(&mut peers, &groups);
        assert_eq!(peers[2].groups, ["eastern", "baltic"], "merged once");
        let policy = SharingPolicy::new(HUB, NodeRole::Hub);
        let table: [(Tlp, &[&str], &[&str], &str); 12] = [
            (Tlp::Clear, &[], &[], "lv,lt,fi,vendor"),
            (Tlp::Clear, &["nordic"], &[], "lv,lt,fi,vendor"),
            (Tlp::Green, &[], &[], "lv,lt,fi"),
            (Tlp::Green, &["nordic"], &[], "lv,lt,fi"),
            (Tlp::Amber, &[], &[], "lv,lt,fi"),
            (Tlp::Amber, &["baltic"], &[], "lv,lt"),
            (Tlp::Amber, &["nordic"], &[], "fi"),
            (Tlp::Amber, &["eastern"], &[], "lt"),
            (Tlp::Amber, &["unknown"], &[], ""),
            (Tlp::Amber, &["nordic"], &[LV], "lv,fi"),
            (Tlp::AmberStrict, &["baltic"], &[LV], ""),
            (Tlp::Red, &["baltic"], &[LV], ""),
        ];
        for (tlp, g, o, expected) in table {
            let object = object(tlp, g, o);
            let facts = with_named_recipients(ObjectFacts::of(&object, EE, Tlp::Amber), &object);
            let got = peers
                .iter()
                .filter(|p| policy.decide(&facts, &p.view()).send)
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(",");
            assert_eq!(got, expected, "{tlp} {g:?} {o:?}");
        }
    }

    #[test]
    fn named_recipients_are_read_within_bounds() {
        let plain = object(Tlp::Amber, &[], &[]);
        assert_eq!(named_recipients(&plain), (vec![], vec![]));
        let named = object(Tlp::Amber, &["baltic", "nordic"], &[LV]);
        assert_eq!(
            named_recipients(&named),
            (vec!["baltic".into(), "nordic".into()], vec![LV.to_owned()])
        );
        let many: Vec<String> = (0..1000).map(|i| format!("g{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let big = object(Tlp::Amber, &refs, &[]);
        assert_eq!(named_recipients(&big).0.len(), MAX_NAMED);
    }

    #[test]
    fn bad_groups_are_named() {
        let bad = [
            (
                vec![GroupConfig {
                    name: "a b".into(),
                    organisations: vec![],
                }],
                "federation.groups[0].name",
            ),
            (
                vec![
                    GroupConfig {
                        name: "baltic".into(),
                        organisations: vec![],
                    },
                    GroupConfig {
                        name: "baltic".into(),
                        organisations: vec![],
                    },
                ],
                "federation.groups[1].name",
            ),
            (
                vec![GroupConfig {
                    name: "baltic".into(),
                    organisations: vec!["LV".into()],
                }],
                "federation.groups[0].organisations",
            ),
        ];
        for (groups, key) in bad {
            assert_eq!(validate_groups(&groups).unwrap_err().0, key);
        }
    }
}
