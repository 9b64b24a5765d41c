//! The TAXII server's configuration and its default collections.

use serde::{Deserialize, Serialize};
use shield_intel::tlp::Tlp;
use shield_store::intel::{Collection, CollectionAccess, Grant};
use shield_store::{IntelStore, Role, StoreError};
use uuid::Uuid;

/// Namespace of the UUIDv5 ids Shield derives for collections from their alias, so that a
/// collection keeps its id across restarts and has the same id on every node.
const COLLECTION_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_2f0e_94b3_4d5e_8c1a_57e4_0b9d_31c2);

/// The `[taxii]` section: what the server says about itself and what it accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaxiiConfig {
    /// Title of the discovery resource and the API root.
    pub title: String,
    /// Description of the discovery resource.
    pub description: Option<String>,
    /// Contact of the discovery resource.
    pub contact: Option<String>,
    /// Name of the (one) API root: `/taxii2/<api_root>/`.
    pub api_root: String,
    /// The node's public base URL (`https://soc.example:8443`), to list API roots as absolute
    /// URLs; without it they are absolute paths (`/taxii2/shield/`), which clients resolve
    /// against the discovery URL.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes (`max_content_length` of the API root).
    pub max_content_length: usize,
    /// Most objects one request may add.
    pub max_objects_per_request: usize,
    /// Page size when a request gives no `limit`.
    pub default_page: usize,
    /// Largest page served, whatever the `limit`.
    pub max_page: usize,
    /// TLP level of added objects that carry no TLP marking.
    #[serde(with = "tlp_text")]
    pub default_tlp: Tlp,
    /// Collections created at start when absent (existing ones are left as they are).
    pub collections: Vec<CollectionConfig>,
}

impl Default for TaxiiConfig {
    fn default() -> Self {
        TaxiiConfig {
            title: "Shield TAXII 2.1".into(),
            description: None,
            contact: None,
            api_root: "shield".into(),
            public_url: None,
            max_content_length: 16 << 20,
            max_objects_per_request: 10_000,
            default_page: 100,
            max_page: shield_store::intel::MAX_INTEL_PAGE,
            default_tlp: Tlp::Amber,
            collections: CollectionConfig::defaults(),
        }
    }
}

impl TaxiiConfig {
    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        let root_ok = !self.api_root.is_empty()
            && self
                .api_root
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !root_ok {
            return Err("taxii.api_root: letters, digits, '-' and '_' only".into());
        }
        if self.max_content_length < 1024 {
            return Err("taxii.max_content_length: at least 1024".into());
        }
        if self.default_page == 0 || self.max_page == 0 || self.max_objects_per_request == 0 {
            return Err("taxii.default_page, max_page, max_objects_per_request: at least 1".into());
        }
        if self.max_page > shield_store::intel::MAX_INTEL_PAGE {
            return Err(format!(
                "taxii.max_page: at most {}",
                shield_store::intel::MAX_INTEL_PAGE
            ));
        }
        for (i, c) in self.collections.iter().enumerate() {
            if c.alias.is_empty() || c.title.is_empty() {
                return Err(format!(
                    "taxii.collections[{i}]: alias and title are required"
                ));
            }
        }
        Ok(())
    }
}

/// A collection created at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionConfig {
    /// Its id; by default a UUIDv5 of the alias.
    #[serde(default)]
    pub id: Option<String>,
    /// Short name, usable in place of the id.
    pub alias: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who may read (`*`, `role:<role>`, `org:<org>`, `token:<name>`); admins always may.
    #[serde(default)]
    pub read: Vec<Grant>,
    /// Who may write; admins always may.
    #[serde(default)]
    pub write: Vec<Grant>,
}

impl CollectionConfig {
    /// `indicators` (peers and admins write, analysts read too) and `shared` (what analysts
    /// publish for peers).
    pub fn defaults() -> Vec<CollectionConfig> {
        vec![
            CollectionConfig {
                id: None,
                alias: "indicators".into(),
                title: "Indicators".into(),
                description: Some(
                    "Indicators and their context received from peers and feeds".into(),
                ),
                read: vec![Grant::Role(Role::Peer), Grant::Role(Role::Analyst)],
                write: vec![Grant::Role(Role::Peer)],
            },
            CollectionConfig {
                id: None,
                alias: "shared".into(),
                title: "Shared".into(),
                description: Some("Intelligence this node publishes for its peers".into()),
                read: vec![Grant::Role(Role::Peer), Grant::Role(Role::Analyst)],
                write: vec![Grant::Role(Role::Analyst)],
            },
        ]
    }

    /// The collection's id: as configured, or derived from the alias.
    pub fn collection_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            Uuid::new_v5(&COLLECTION_NAMESPACE, self.alias.as_bytes()).to_string()
        })
    }

    /// The collection.
    pub fn collection(&self) -> Collection {
        Collection {
            id: self.collection_id(),
            alias: Some(self.alias.clone()),
            title: self.title.clone(),
            description: self.description.clone(),
            access: CollectionAccess {
                read: self.read.clone(),
                write: self.write.clone(),
            },
        }
    }
}

/// Creates the configured collections that do not exist yet; returns how many were created.
pub fn install_collections(
    store: &dyn IntelStore,
    config: &TaxiiConfig,
) -> Result<usize, StoreError> {
    let mut created = 0;
    for c in &config.collections {
        if store.ensure_collection(&c.collection())? {
            created += 1;
        }
    }
    Ok(created)
}

/// A TLP level as its text (`amber+strict`).
pub(crate) mod tlp_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use shield_intel::tlp::Tlp;

    pub fn serialize<S: Serializer>(tlp: &Tlp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&tlp.tag()["tlp:".len()..])
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tlp, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ids_stable() {
        let c = TaxiiConfig::default();
        c.validate().unwrap();
        let a = c.collections[0].collection_id();
        assert_eq!(a, c.collections[0].collection_id());
        assert_ne!(a, c.collections[1].collection_id());
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }

    #[test]
    fn parses_from_toml() {
        let c: TaxiiConfig = toml::from_str(
            r#"
            api_root = "soc"
            default_tlp = "amber+strict"
            [[collections]]
            alias = "hub"
            title = "Hub"
            read = ["*"]
            write = ["org:cert-ee", "token:hub-eu"]
            "#,
        )
        .unwrap();
        assert_eq!(c.default_tlp, Tlp::AmberStrict);
        assert_eq!(c.collections[0].write[1], Grant::Token("hub-eu".into()));
        c.validate().unwrap();
        assert!(toml::from_str::<TaxiiConfig>("nope = 1").is_err());
        let bad = TaxiiConfig {
            api_root: "a/b".into(),
            ..TaxiiConfig::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("taxii.api_root"));
        let text = toml::to_string(&TaxiiConfig::default()).unwrap();
        assert!(text.contains("default_tlp = \"amber\""));
    }
}
