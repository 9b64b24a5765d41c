//! TLP 2.0 markings: levels, their STIX marking definitions, and their tag forms.
//!
//! STIX 2.1 itself predefines only the TLP 1.0 marking definitions. TLP 2.0 levels are published by
//! OASIS as marking definitions that carry the extension [`TLP_EXTENSION_ID`]; their identifiers are
//! fixed, so recognising a level is a comparison of ids. Old data marked with TLP 1.0 ids is read as
//! the nearest 2.0 level (WHITE is CLEAR; GREEN, AMBER and RED keep their names: TLP 1.0 AMBER
//! already allowed sharing with clients, as 2.0 AMBER does).

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::stix::StixObject;

/// The extension definition under which TLP 2.0 marking definitions are published.
pub const TLP_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The `created` timestamp of the five TLP 2.0 marking definitions.
pub const TLP_MARKINGS_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// A TLP 2.0 level. Levels are ordered by restrictiveness: `Clear < Green < Amber < AmberStrict < Red`,
/// so the level of information carrying several markings is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR: no limit on disclosure.
    Clear,
    /// TLP:GREEN: the recipient's community, not public channels.
    Green,
    /// TLP:AMBER: the recipient's organisation and its clients, on a need-to-know basis.
    Amber,
    /// TLP:AMBER+STRICT: the recipient's organisation only.
    AmberStrict,
    /// TLP:RED: the named recipients only.
    Red,
}

/// TLP 1.0 marking-definition ids (predefined by STIX 2.1) and the level each is read as.
const TLP1_IDS: [(&str, Tlp); 4] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

impl Tlp {
    /// Every level, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The id of the level's TLP 2.0 marking definition.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The id of the TLP 1.0 marking definition for this level, for peers that only know TLP 1.0.
    /// AMBER+STRICT has no 1.0 equivalent: it answers RED's, because exporting it as 1.0 AMBER would
    /// widen its audience to the recipient's clients.
    pub fn tlp1_marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => TLP1_IDS[0].0,
            Tlp::Green => TLP1_IDS[1].0,
            Tlp::Amber => TLP1_IDS[2].0,
            Tlp::AmberStrict | Tlp::Red => TLP1_IDS[3].0,
        }
    }

    /// The level of a marking-definition id: the TLP 2.0 ids, and the TLP 1.0 ids read as the nearest
    /// 2.0 level.
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        Tlp::ALL
            .into_iter()
            .find(|t| t.marking_id() == id)
            .or_else(|| {
                TLP1_IDS
                    .iter()
                    .find(|(tlp1, _)| *tlp1 == id)
                    .map(|(_, t)| *t)
            })
    }

    /// The marking definition's `name`: `TLP:AMBER+STRICT`.
    pub fn name(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The tag form MISP and most tools use: `tlp:amber+strict`.
    pub fn tag(self) -> &'static str {
        match self {
            Tlp::Clear => "tlp:clear",
            Tlp::Green => "tlp:green",
            Tlp::Amber => "tlp:amber",
            Tlp::AmberStrict => "tlp:amber+strict",
            Tlp::Red => "tlp:red",
        }
    }

    /// The value of the extension's `tlp_2_0` property: `amber+strict`.
    pub fn extension_value(self) -> &'static str {
        &self.tag()["tlp:".len()..]
    }

    /// The level of a tag: `tlp:amber`, `TLP:RED`, `tlp: green`, `tlp:amber+strict`; the TLP 1.0
    /// `tlp:white` is CLEAR. Case does not matter; the `tlp:` prefix is required (a bare `red` is
    /// not a TLP tag).
    pub fn from_tag(tag: &str) -> Option<Tlp> {
        let tag = tag.trim();
        let prefix = tag.get(..4)?;
        if !prefix.eq_ignore_ascii_case("tlp:") {
            return None;
        }
        Tlp::from_level_name(tag[4..].trim())
    }

    /// The level named `clear`, `white`, `green`, `amber`, `amber+strict` or `red` (any case).
    fn from_level_name(level: &str) -> Option<Tlp> {
        let level = level.to_ascii_lowercase();
        Some(match level.as_str() {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }

    /// The TLP 2.0 marking-definition object, exactly as the OASIS extension publishes it.
    pub fn marking_definition(self) -> StixObject {
        let value = json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": TLP_MARKINGS_CREATED,
            "name": self.name(),
            "extensions": {
                TLP_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "tlp_2_0": self.extension_value(),
                }
            }
        });
        match StixObject::from_value(value) {
            Ok(object) => object,
            // The value above is a constant shape; validation cannot refuse it (unit-tested).
            Err(e) => unreachable!("TLP marking definition refused: {e}"),
        }
    }

    /// Whether information at this level may leave the recipient's organisation at all. RED goes to
    /// named recipients only and AMBER+STRICT stays in the organisation, so neither may be relayed.
    pub fn may_leave_organisation(self) -> bool {
        self <= Tlp::Amber
    }

    /// Whether information at this level may be shared across a community (CLEAR and GREEN).
    pub fn may_reach_community(self) -> bool {
        self <= Tlp::Green
    }

    /// Whether information at this level may be published (CLEAR only).
    pub fn may_be_public(self) -> bool {
        self == Tlp::Clear
    }
}

impl fmt::Display for Tlp {
    /// The marking definition's name: `TLP:AMBER+STRICT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a TLP level from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a TLP level: {0:?}")]
pub struct UnknownTlp(pub String);

impl FromStr for Tlp {
    type Err = UnknownTlp;

    /// Accepts tags (`tlp:amber`), names (`TLP:AMBER+STRICT`) and bare level names (`amber`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tlp::from_tag(s)
            .or_else(|| Tlp::from_level_name(s.trim()))
            .ok_or_else(|| UnknownTlp(s.to_owned()))
    }
}

/// The most restrictive level among marking-definition ids; `None` when none is a TLP marking.
pub fn most_restrictive<'a>(marking_ids: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
    marking_ids
        .into_iter()
        .filter_map(Tlp::from_marking_id)
        .max()
}

/// The TLP level of an object: the most restrictive TLP marking among its `object_marking_refs`.
pub fn tlp_of(object: &StixObject) -> Option<Tlp> {
    most_restrictive(object.marking_refs())
}

/// The level a marking-definition object defines, read from its content: the TLP 2.0 extension's
/// `tlp_2_0`, or a TLP 1.0 `definition` (`{"tlp": "amber"}`). For marking definitions that
/// republish a level under another id.
pub fn tlp_of_marking_definition(object: &StixObject) -> Option<Tlp> {
    if object.type_name() != "marking-definition" {
        return None;
    }
    if let Some(level) = object
        .extension(TLP_EXTENSION_ID)
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(Value::as_str)
    {
        return Tlp::from_level_name(level);
    }
    if object.str_property("definition_type") == Some("tlp") {
        let level = object
            .property("definition")
            .and_then(|d| d.get("tlp"))
            .and_then(Value::as_str)?;
        return Tlp::from_level_name(level);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_by_restrictiveness() {
        assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
        assert_eq!(
            most_restrictive([Tlp::Green.marking_id(), Tlp::Red.marking_id()]),
            Some(Tlp::Red)
        );
        assert_eq!(
            most_restrictive(["marking-definition--11111111-2222-4333-8444-555555555555"]),
            None
        );
    }

    #[test]
    fn marking_ids_both_ways_and_tlp1() {
        for t in Tlp::ALL {
            assert_eq!(Tlp::from_marking_id(t.marking_id()), Some(t));
        }
        assert_eq!(
            Tlp::from_marking_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(
            Tlp::from_marking_id("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
            Some(Tlp::Green)
        );
        assert_eq!(
            Tlp::from_marking_id("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
            Some(Tlp::Amber)
        );
        assert_eq!(
            Tlp::from_marking_id("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
            Some(Tlp::Red)
        );
        assert_eq!(
            Tlp::from_marking_id(Tlp::AmberStrict.tlp1_marking_id()),
            Some(Tlp::Red)
        );
    }

    #[test]
    fn tags_both_ways() {
        for t in Tlp::ALL {
            assert_eq!(Tlp::from_tag(t.tag()), Some(t));
            assert_eq!(Tlp::from_tag(t.name()), Some(t));
            assert_eq!(t.name().parse::<Tlp>(), Ok(t));
        }
        assert_eq!(Tlp::from_tag("TLP:RED"), Some(Tlp::Red));
        assert_eq!(Tlp::from_tag("tlp:white"), Some(Tlp::Clear));
        assert_eq!(Tlp::from_tag(" tlp: Amber+Strict "), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::from_tag("red"), None);
        assert_eq!(Tlp::from_tag("tlp:ex:chr"), None);
        assert_eq!("amber".parse::<Tlp>(), Ok(Tlp::Amber));
        assert!("purple".parse::<Tlp>().is_err());
        assert_eq!(Tlp::AmberStrict.extension_value(), "amber+strict");
    }

    #[test]
    fn marking_definitions_are_the_published_objects() {
        for t in Tlp::ALL {
            let md = t.marking_definition();
            assert_eq!(md.id(), t.marking_id());
            assert_eq!(md.str_property("name"), Some(t.name()));
            assert_eq!(md.version_text(), Some(TLP_MARKINGS_CREATED));
            assert_eq!(tlp_of_marking_definition(&md), Some(t));
        }
        let amber = Tlp::AmberStrict.marking_definition().to_value();
        let published: Value = serde_json::from_str(
            r#"{"type": "marking-definition", "spec_version": "2.1",
                "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER+STRICT",
                "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                    {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}}"#,
        )
        .unwrap();
        assert_eq!(amber, published);
    }

    #[test]
    fn fixed_ids_must_define_their_own_level() {
        let mut spoofed = Tlp::Clear.marking_definition().to_value();
        spoofed["id"] = Tlp::Red.marking_id().into();
        assert!(StixObject::from_value(spoofed).is_err());
        let mut spoofed = Tlp::Green.marking_definition().to_value();
        spoofed["extensions"][TLP_EXTENSION_ID]["tlp_2_0"] = "clear".into();
        assert!(StixObject::from_value(spoofed).is_err());
    }

    #[test]
    fn sharing_reach_by_level() {
        assert!(Tlp::Amber.may_leave_organisation());
        assert!(!Tlp::AmberStrict.may_leave_organisation());
        assert!(!Tlp::Red.may_leave_organisation());
        assert!(Tlp::Green.may_reach_community() && !Tlp::Amber.may_reach_community());
        assert!(Tlp::Clear.may_be_public() && !Tlp::Green.may_be_public());
    }
}
