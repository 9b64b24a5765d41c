//! The object types STIX 2.1 defines, and their families.

/// The family a STIX object type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// STIX Domain Object: higher-level intelligence (indicator, malware, report…).
    Domain,
    /// STIX Relationship Object: `relationship` and `sighting`.
    Relationship,
    /// STIX Cyber-observable Object: facts about a network or host (ipv4-addr, file…).
    Observable,
    /// STIX Meta Object: `marking-definition`, `language-content`, `extension-definition`.
    Meta,
    /// A type the specification does not define (custom objects such as `x-mitre-tactic`).
    Custom,
}

macro_rules! kinds {
    ($( $variant:ident = $name:literal, $category:ident; )*) => {
        /// A STIX 2.1 object type. Types the specification does not define are [`ObjectKind::Custom`];
        /// the object keeps its own `type` string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ObjectKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
            /// A type the specification does not define.
            Custom,
        }

        impl ObjectKind {
            /// Every type the specification defines.
            pub const ALL: &'static [ObjectKind] = &[$(ObjectKind::$variant,)*];

            /// The kind for a `type` value (`Custom` for undefined types).
            pub fn from_name(name: &str) -> ObjectKind {
                match name {
                    $($name => ObjectKind::$variant,)*
                    _ => ObjectKind::Custom,
                }
            }

            /// The `type` value, or `None` for [`ObjectKind::Custom`].
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(ObjectKind::$variant => Some($name),)*
                    ObjectKind::Custom => None,
                }
            }

            /// The family of the type.
            pub fn category(self) -> Category {
                match self {
                    $(ObjectKind::$variant => Category::$category,)*
                    ObjectKind::Custom => Category::Custom,
                }
            }
        }
    };
}

kinds! {
    AttackPattern = "attack-pattern", Domain;
    Campaign = "campaign", Domain;
    CourseOfAction = "course-of-action", Domain;
    Grouping = "grouping", Domain;
    Identity = "identity", Domain;
    Incident = "incident", Domain;
    Indicator = "indicator", Domain;
    Infrastructure = "infrastructure", Domain;
    IntrusionSet = "intrusion-set", Domain;
    Location = "location", Domain;
    Malware = "malware", Domain;
    MalwareAnalysis = "malware-analysis", Domain;
    Note = "note", Domain;
    ObservedData = "observed-data", Domain;
    Opinion = "opinion", Domain;
    Report = "report", Domain;
    ThreatActor = "threat-actor", Domain;
    Tool = "tool", Domain;
    Vulnerability = "vulnerability", Domain;
    Relationship = "relationship", Relationship;
    Sighting = "sighting", Relationship;
    Artifact = "artifact", Observable;
    AutonomousSystem = "autonomous-system", Observable;
    Directory = "directory", Observable;
    DomainName = "domain-name", Observable;
    EmailAddr = "email-addr", Observable;
    EmailMessage = "email-message", Observable;
    File = "file", Observable;
    Ipv4Addr = "ipv4-addr", Observable;
    Ipv6Addr = "ipv6-addr", Observable;
    MacAddr = "mac-addr", Observable;
    Mutex = "mutex", Observable;
    NetworkTraffic = "network-traffic", Observable;
    Process = "process", Observable;
    Software = "software", Observable;
    Url = "url", Observable;
    UserAccount = "user-account", Observable;
    WindowsRegistryKey = "windows-registry-key", Observable;
    X509Certificate = "x509-certificate", Observable;
    LanguageContent = "language-content", Meta;
    MarkingDefinition = "marking-definition", Meta;
    ExtensionDefinition = "extension-definition", Meta;
}

impl ObjectKind {
    /// Whether objects of this kind are cyber observables (no `created`/`modified`, deterministic ids).
    pub fn is_observable(self) -> bool {
        self.category() == Category::Observable
    }
}

/// Whether `name` is a syntactically valid object type: 3 to 250 characters of lowercase ASCII
/// letters, digits and single hyphens, not starting or ending with a hyphen.
pub fn is_valid_type_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=250).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_categories_hold() {
        for kind in ObjectKind::ALL {
            let name = kind.name().unwrap();
            assert_eq!(ObjectKind::from_name(name), *kind);
            assert!(is_valid_type_name(name), "{name}");
        }
        assert_eq!(ObjectKind::ALL.len(), 42);
        assert_eq!(ObjectKind::from_name("x-mitre-tactic"), ObjectKind::Custom);
        assert_eq!(ObjectKind::Ipv4Addr.category(), Category::Observable);
        assert_eq!(ObjectKind::Sighting.category(), Category::Relationship);
        assert_eq!(ObjectKind::MarkingDefinition.category(), Category::Meta);
    }

    #[test]
    fn type_name_syntax() {
        assert!(is_valid_type_name("x-mitre-tactic"));
        assert!(!is_valid_type_name("ab"));
        assert!(!is_valid_type_name("Indicator"));
        assert!(!is_valid_type_name("-abc"));
        assert!(!is_valid_type_name("a--b"));
    }
}
