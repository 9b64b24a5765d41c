//! Organisations: who runs a node, as a STIX identity in a country.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use shield_intel::stix::{StixObject, Timestamp, split_identifier};
use uuid::Uuid;

use super::{IdentityError, SHIELD_NAMESPACE};

/// ISO 3166-1 alpha-2 codes officially assigned, and `XK` (Kosovo, user-assigned but in common
/// use by European institutions).
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country code, upper case (`EE`, `LV`, `LT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses a code in either case; `None` for anything not assigned.
    pub fn parse(text: &str) -> Option<Country> {
        let b = text.trim().as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let code = [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()];
        COUNTRY_CODES
            .split_ascii_whitespace()
            .any(|c| c.as_bytes() == code)
            .then_some(Country(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Country::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("not an ISO 3166-1 alpha-2 country code: {text:?}"))
        })
    }
}

/// An organisation that runs Shield nodes: a STIX identity of class `organization` in a country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Display name (`CERT-EE`).
    pub name: String,
    /// The STIX identity id (`identity--…`) under which it signs and owns objects.
    pub identity: String,
    /// Its country.
    pub country: Country,
}

impl Organisation {
    /// An organisation with an explicit identity id, checked.
    pub fn new(
        name: &str,
        identity: &str,
        country: Country,
    ) -> Result<Organisation, IdentityError> {
        let organisation = Organisation {
            name: name.to_owned(),
            identity: identity.to_owned(),
            country,
        };
        organisation.validate()?;
        Ok(organisation)
    }

    /// An organisation whose identity id is derived from its name (UUIDv5 under
    /// [`SHIELD_NAMESPACE`]), so every node of one organisation agrees on it without configuring it.
    pub fn derived(name: &str, country: Country) -> Result<Organisation, IdentityError> {
        Organisation::new(name, &derived_identity_id(name), country)
    }

    /// Checks the name (non-empty, at most 256 characters) and the identity id.
    pub fn validate(&self) -> Result<(), IdentityError> {
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 256 {
            return Err(IdentityError::InvalidOrganisation {
                field: "name",
                reason: "1 to 256 characters".into(),
            });
        }
        match split_identifier(&self.identity) {
            Ok(("identity", _)) => Ok(()),
            Ok((other, _)) => Err(IdentityError::InvalidOrganisation {
                field: "identity",
                reason: format!("an identity id, not a {other} id"),
            }),
            Err(why) => Err(IdentityError::InvalidOrganisation {
                field: "identity",
                reason: why.into(),
            }),
        }
    }

    /// The organisation as STIX objects: its `identity`, a `location` with its country, and the
    /// `located-at` relationship between them. Ids are derived, so every node builds the same
    /// objects; `created` is the time of the first version.
    pub fn stix_objects(&self, created: Timestamp) -> Result<Vec<StixObject>, IdentityError> {
        let created = created.to_string();
        let location_id = format!(
            "location--{}",
            Uuid::new_v5(
                &SHIELD_NAMESPACE,
                format!("location:{}", self.identity).as_bytes()
            )
        );
        let relationship_id = format!(
            "relationship--{}",
            Uuid::new_v5(
                &SHIELD_NAMESPACE,
                format!("located-at:{}", self.identity).as_bytes()
            )
        );
        let identity = StixObject::from_value(json!({
            "type": "identity", "spec_version": "2.1", "id": self.identity,
            "created": created, "modified": created,
            "name": self.name, "identity_class": "organization",
        }))?;
        let location = StixObject::from_value(json!({
            "type": "location", "spec_version": "2.1", "id": location_id,
            "created": created, "modified": created, "created_by_ref": self.identity,
            "country": self.country.as_str(),
        }))?;
        let relationship = StixObject::from_value(json!({
            "type": "relationship", "spec_version": "2.1", "id": relationship_id,
            "created": created, "modified": created, "created_by_ref": self.identity,
            "relationship_type": "located-at",
            "source_ref": self.identity, "target_ref": location_id,
        }))?;
        Ok(vec![identity, location, relationship])
    }
}

/// The identity id derived from an organisation's name.
pub fn derived_identity_id(name: &str) -> String {
    format!(
        "identity--{}",
        Uuid::new_v5(
            &SHIELD_NAMESPACE,
            format!("organisation:{}", name.trim()).as_bytes()
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Country {
        Country::parse(code).unwrap()
    }

    #[test]
    fn countries() {
        assert_eq!(COUNTRY_CODES.split_ascii_whitespace().count(), 250);
        assert_eq!(country("ee").as_str(), "EE");
        assert_eq!(country(" LT ").to_string(), "LT");
        for bad in ["", "E", "EST", "ZZ", "E1", "ÉE", "EU"] {
            assert_eq!(Country::parse(bad), None, "{bad}");
        }
        let c: Country = serde_json::from_str("\"lv\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"LV\"");
        assert!(serde_json::from_str::<Country>("\"XX\"").is_err());
    }

    #[test]
    fn organisations() {
        let ee = Organisation::derived("CERT-EE", country("EE")).unwrap();
        assert_eq!(ee.identity, derived_identity_id(" CERT-EE "));
        assert_ne!(ee.identity, derived_identity_id("CERT-LV"));
        assert!(Organisation::new("", &ee.identity, country("EE")).is_err());
        let err = Organisation::new(
            "X",
            "indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70",
            country("EE"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("identity"), "{err}");
        let created = Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap();
        let objects = ee.stix_objects(created).unwrap();
        let types: Vec<&str> = objects.iter().map(StixObject::type_name).collect();
        assert_eq!(types, ["identity", "location", "relationship"]);
        assert_eq!(objects[1].str_property("country"), Some("EE"));
        assert_eq!(objects[2].str_property("target_ref"), Some(objects[1].id()));
        assert_eq!(ee.stix_objects(created).unwrap(), objects, "deterministic");
        let toml_text = format!(
            "name = \"CERT-EE\"\nidentity = \"{}\"\ncountry = \"ee\"\n",
            ee.identity
        );
        let parsed: Organisation = toml::from_str(&toml_text).unwrap();
        assert_eq!(parsed, ee);
    }
}
