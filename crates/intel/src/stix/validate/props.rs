//! The property table: which properties each STIX 2.1 type defines, their value types, and which
//! are required. Validation walks this table; the type-specific rules that a table cannot say
//! (co-occurrence, ordering of timestamps, patterns) live in `rules`.

use crate::stix::kind::ObjectKind;

/// Which objects an identifier property may point at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Targets {
    /// Any object type.
    Any,
    /// One of the listed types; the text names them for error messages.
    Types(&'static [&'static str], &'static str),
    /// A domain object (or a custom type).
    Domain,
    /// A cyber observable (or a custom type).
    Observable,
    /// What a relationship may join: a domain object or an observable (or a custom type).
    Linkable,
}

/// The value type of a property.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Str,
    Timestamp,
    /// A timestamp precise to the millisecond (`created`, `modified`).
    Millis,
    Bool,
    Int(i64, i64),
    Float(f64, f64),
    Ref(Targets),
    RefList(Targets),
    StrList,
    /// A non-empty list of anything.
    List,
    Hashes,
    Dict,
    KillChainPhases,
    ExternalReferences,
    GranularMarkings,
    Extensions,
}

/// One property of a type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        ty,
        required: false,
    }
}

const IDENTITY: Targets = Targets::Types(&["identity"], "an identity");
const MARKING: Targets = Targets::Types(&["marking-definition"], "a marking-definition");
const SOFTWARE: Targets = Targets::Types(&["software"], "a software object");
const FILE_OR_ARTIFACT: Targets = Targets::Types(&["file", "artifact"], "a file or artifact");
const ARTIFACT: Targets = Targets::Types(&["artifact"], "an artifact");
const EMAIL_ADDR: Targets = Targets::Types(&["email-addr"], "an email-addr");
const USER_ACCOUNT: Targets = Targets::Types(&["user-account"], "a user-account");
const NETWORK_TRAFFIC: Targets = Targets::Types(&["network-traffic"], "a network-traffic object");
const PROCESS: Targets = Targets::Types(&["process"], "a process");
const ADDRESS: Targets = Targets::Types(
    &["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"],
    "an ipv4-addr, ipv6-addr, mac-addr or domain-name",
);
const INT32: Ty = Ty::Int(i32::MIN as i64, i32::MAX as i64);
const COUNT: Ty = Ty::Int(0, i64::MAX);
const PORT: Ty = Ty::Int(0, 65535);

/// Common properties of domain objects, relationship objects and most meta objects.
pub(crate) const COMMON: &[Prop] = &[
    req("type", Ty::Str),
    req("spec_version", Ty::Str),
    req("id", Ty::Str),
    opt("created_by_ref", Ty::Ref(IDENTITY)),
    req("created", Ty::Millis),
    req("modified", Ty::Millis),
    opt("revoked", Ty::Bool),
    opt("labels", Ty::StrList),
    opt("confidence", Ty::Int(0, 100)),
    opt("lang", Ty::Str),
    opt("external_references", Ty::ExternalReferences),
    opt("object_marking_refs", Ty::RefList(MARKING)),
    opt("granular_markings", Ty::GranularMarkings),
    opt("extensions", Ty::Extensions),
];

/// Common properties of cyber observables.
pub(crate) const OBSERVABLE_COMMON: &[Prop] = &[
    req("type", Ty::Str),
    opt("spec_version", Ty::Str),
    req("id", Ty::Str),
    opt("object_marking_refs", Ty::RefList(MARKING)),
    opt("granular_markings", Ty::GranularMarkings),
    opt("defanged", Ty::Bool),
    opt("extensions", Ty::Extensions),
];

/// Common properties of a marking definition (no `modified`: markings are never versioned).
pub(crate) const MARKING_COMMON: &[Prop] = &[
    req("type", Ty::Str),
    req("spec_version", Ty::Str),
    req("id", Ty::Str),
    opt("created_by_ref", Ty::Ref(IDENTITY)),
    req("created", Ty::Millis),
    opt("external_references", Ty::ExternalReferences),
    opt("object_marking_refs", Ty::RefList(MARKING)),
    opt("granular_markings", Ty::GranularMarkings),
    opt("extensions", Ty::Extensions),
    opt("name", Ty::Str),
    opt("definition_type", Ty::Str),
    opt("definition", Ty::Dict),
];

/// The properties common to every type (used for custom types, whose shape is unknown).
pub(crate) const CUSTOM_COMMON: &[Prop] = &[
    req("type", Ty::Str),
    req("id", Ty::Str),
    opt("spec_version", Ty::Str),
    opt("created_by_ref", Ty::Ref(IDENTITY)),
    opt("created", Ty::Millis),
    opt("modified", Ty::Millis),
    opt("revoked", Ty::Bool),
    opt("labels", Ty::StrList),
    opt("confidence", Ty::Int(0, 100)),
    opt("lang", Ty::Str),
    opt("external_references", Ty::ExternalReferences),
    opt("object_marking_refs", Ty::RefList(MARKING)),
    opt("granular_markings", Ty::GranularMarkings),
    opt("extensions", Ty::Extensions),
];

const NAMED: &[Prop] = &[req("name", Ty::Str), opt("description", Ty::Str)];

/// The properties specific to a type (beyond the common ones).
pub(crate) fn specific(kind: ObjectKind) -> &'static [Prop] {
    use ObjectKind::*;
    match kind {
        AttackPattern => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("aliases", Ty::StrList),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                ]
            }
        }
        Campaign => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("aliases", Ty::StrList),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                    opt("objective", Ty::Str),
                ]
            }
        }
        CourseOfAction | Vulnerability => NAMED,
        Grouping => {
            const {
                &[
                    opt("name", Ty::Str),
                    opt("description", Ty::Str),
                    req("context", Ty::Str),
                    req("object_refs", Ty::RefList(Targets::Any)),
                ]
            }
        }
        Identity => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("roles", Ty::StrList),
                    opt("identity_class", Ty::Str),
                    opt("sectors", Ty::StrList),
                    opt("contact_information", Ty::Str),
                ]
            }
        }
        Incident => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                ]
            }
        }
        Indicator => {
            const {
                &[
                    opt("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("indicator_types", Ty::StrList),
                    req("pattern", Ty::Str),
                    req("pattern_type", Ty::Str),
                    opt("pattern_version", Ty::Str),
                    req("valid_from", Ty::Timestamp),
                    opt("valid_until", Ty::Timestamp),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                ]
            }
        }
        Infrastructure => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("infrastructure_types", Ty::StrList),
                    opt("aliases", Ty::StrList),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                ]
            }
        }
        IntrusionSet => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("aliases", Ty::StrList),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                    opt("goals", Ty::StrList),
                    opt("resource_level", Ty::Str),
                    opt("primary_motivation", Ty::Str),
                    opt("secondary_motivations", Ty::StrList),
                ]
            }
        }
        Location => {
            const {
                &[
                    opt("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("latitude", Ty::Float(-90.0, 90.0)),
                    opt("longitude", Ty::Float(-180.0, 180.0)),
                    opt("precision", Ty::Float(0.0, f64::MAX)),
                    opt("region", Ty::Str),
                    opt("country", Ty::Str),
                    opt("administrative_area", Ty::Str),
                    opt("city", Ty::Str),
                    opt("street_address", Ty::Str),
                    opt("postal_code", Ty::Str),
                ]
            }
        }
        Malware => {
            const {
                &[
                    opt("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("malware_types", Ty::StrList),
                    req("is_family", Ty::Bool),
                    opt("aliases", Ty::StrList),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                    opt("operating_system_refs", Ty::RefList(SOFTWARE)),
                    opt("architecture_execution_envs", Ty::StrList),
                    opt("implementation_languages", Ty::StrList),
                    opt("capabilities", Ty::StrList),
                    opt("sample_refs", Ty::RefList(FILE_OR_ARTIFACT)),
                ]
            }
        }
        MalwareAnalysis => {
            const {
                &[
                    req("product", Ty::Str),
                    opt("version", Ty::Str),
                    opt("host_vm_ref", Ty::Ref(SOFTWARE)),
                    opt("operating_system_ref", Ty::Ref(SOFTWARE)),
                    opt("installed_software_refs", Ty::RefList(SOFTWARE)),
                    opt("configuration_version", Ty::Str),
                    opt("modules", Ty::StrList),
                    opt("analysis_engine_version", Ty::Str),
                    opt("analysis_definition_version", Ty::Str),
                    opt("submitted", Ty::Timestamp),
                    opt("analysis_started", Ty::Timestamp),
                    opt("analysis_ended", Ty::Timestamp),
                    opt("result_name", Ty::Str),
                    opt("result", Ty::Str),
                    opt("analysis_sco_refs", Ty::RefList(Targets::Observable)),
                    opt("sample_ref", Ty::Ref(Targets::Observable)),
                ]
            }
        }
        Note => {
            const {
                &[
                    opt("abstract", Ty::Str),
                    req("content", Ty::Str),
                    opt("authors", Ty::StrList),
                    req("object_refs", Ty::RefList(Targets::Any)),
                ]
            }
        }
        ObservedData => {
            const {
                &[
                    req("first_observed", Ty::Timestamp),
                    req("last_observed", Ty::Timestamp),
                    req("number_observed", Ty::Int(1, 999_999_999)),
                    opt("objects", Ty::Dict),
                    opt("object_refs", Ty::RefList(Targets::Any)),
                ]
            }
        }
        Opinion => {
            const {
                &[
                    opt("explanation", Ty::Str),
                    opt("authors", Ty::StrList),
                    req("opinion", Ty::Str),
                    req("object_refs", Ty::RefList(Targets::Any)),
                ]
            }
        }
        Report => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("report_types", Ty::StrList),
                    req("published", Ty::Timestamp),
                    req("object_refs", Ty::RefList(Targets::Any)),
                ]
            }
        }
        ThreatActor => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("threat_actor_types", Ty::StrList),
                    opt("aliases", Ty::StrList),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                    opt("roles", Ty::StrList),
                    opt("goals", Ty::StrList),
                    opt("sophistication", Ty::Str),
                    opt("resource_level", Ty::Str),
                    opt("primary_motivation", Ty::Str),
                    opt("secondary_motivations", Ty::StrList),
                    opt("personal_motivations", Ty::StrList),
                ]
            }
        }
        Tool => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    opt("tool_types", Ty::StrList),
                    opt("aliases", Ty::StrList),
                    opt("kill_chain_phases", Ty::KillChainPhases),
                    opt("tool_version", Ty::Str),
                ]
            }
        }
        Relationship => {
            const {
                &[
                    req("relationship_type", Ty::Str),
                    opt("description", Ty::Str),
                    req("source_ref", Ty::Ref(Targets::Linkable)),
                    req("target_ref", Ty::Ref(Targets::Linkable)),
                    opt("start_time", Ty::Timestamp),
                    opt("stop_time", Ty::Timestamp),
                ]
            }
        }
        Sighting => {
            const {
                &[
                    opt("description", Ty::Str),
                    opt("first_seen", Ty::Timestamp),
                    opt("last_seen", Ty::Timestamp),
                    opt("count", Ty::Int(0, 999_999_999)),
                    req("sighting_of_ref", Ty::Ref(Targets::Domain)),
                    opt(
                        "observed_data_refs",
                        Ty::RefList(Targets::Types(&["observed-data"], "an observed-data")),
                    ),
                    opt(
                        "where_sighted_refs",
                        Ty::RefList(Targets::Types(
                            &["identity", "location"],
                            "an identity or location",
                        )),
                    ),
                    opt("summary", Ty::Bool),
                ]
            }
        }
        Artifact => {
            const {
                &[
                    opt("mime_type", Ty::Str),
                    opt("payload_bin", Ty::Str),
                    opt("url", Ty::Str),
                    opt("hashes", Ty::Hashes),
                    opt("encryption_algorithm", Ty::Str),
                    opt("decryption_key", Ty::Str),
                ]
            }
        }
        AutonomousSystem => {
            const {
                &[
                    req("number", COUNT),
                    opt("name", Ty::Str),
                    opt("rir", Ty::Str),
                ]
            }
        }
        Directory => {
            const {
                &[
                    req("path", Ty::Str),
                    opt("path_enc", Ty::Str),
                    opt("ctime", Ty::Timestamp),
                    opt("mtime", Ty::Timestamp),
                    opt("atime", Ty::Timestamp),
                    opt(
                        "contains_refs",
                        Ty::RefList(Targets::Types(
                            &["file", "directory"],
                            "a file or directory",
                        )),
                    ),
                ]
            }
        }
        DomainName => {
            const {
                &[
                    req("value", Ty::Str),
                    opt(
                        "resolves_to_refs",
                        Ty::RefList(Targets::Types(
                            &["ipv4-addr", "ipv6-addr", "domain-name"],
                            "an ipv4-addr, ipv6-addr or domain-name",
                        )),
                    ),
                ]
            }
        }
        EmailAddr => {
            const {
                &[
                    req("value", Ty::Str),
                    opt("display_name", Ty::Str),
                    opt("belongs_to_ref", Ty::Ref(USER_ACCOUNT)),
                ]
            }
        }
        EmailMessage => {
            const {
                &[
                    req("is_multipart", Ty::Bool),
                    opt("date", Ty::Timestamp),
                    opt("content_type", Ty::Str),
                    opt("from_ref", Ty::Ref(EMAIL_ADDR)),
                    opt("sender_ref", Ty::Ref(EMAIL_ADDR)),
                    opt("to_refs", Ty::RefList(EMAIL_ADDR)),
                    opt("cc_refs", Ty::RefList(EMAIL_ADDR)),
                    opt("bcc_refs", Ty::RefList(EMAIL_ADDR)),
                    opt("message_id", Ty::Str),
                    opt("subject", Ty::Str),
                    opt("received_lines", Ty::StrList),
                    opt("additional_header_fields", Ty::Dict),
                    opt("body", Ty::Str),
                    opt("body_multipart", Ty::List),
                    opt("raw_email_ref", Ty::Ref(ARTIFACT)),
                ]
            }
        }
        File => {
            const {
                &[
                    opt("hashes", Ty::Hashes),
                    opt("size", COUNT),
                    opt("name", Ty::Str),
                    opt("name_enc", Ty::Str),
                    opt("magic_number_hex", Ty::Str),
                    opt("mime_type", Ty::Str),
                    opt("ctime", Ty::Timestamp),
                    opt("mtime", Ty::Timestamp),
                    opt("atime", Ty::Timestamp),
                    opt(
                        "parent_directory_ref",
                        Ty::Ref(Targets::Types(&["directory"], "a directory")),
                    ),
                    opt("contains_refs", Ty::RefList(Targets::Observable)),
                    opt("content_ref", Ty::Ref(ARTIFACT)),
                ]
            }
        }
        Ipv4Addr | Ipv6Addr => {
            const {
                &[
                    req("value", Ty::Str),
                    opt(
                        "resolves_to_refs",
                        Ty::RefList(Targets::Types(&["mac-addr"], "a mac-addr")),
                    ),
                    opt(
                        "belongs_to_refs",
                        Ty::RefList(Targets::Types(
                            &["autonomous-system"],
                            "an autonomous-system",
                        )),
                    ),
                ]
            }
        }
        MacAddr | Url => const { &[req("value", Ty::Str)] },
        Mutex => const { &[req("name", Ty::Str)] },
        NetworkTraffic => {
            const {
                &[
                    opt("start", Ty::Timestamp),
                    opt("end", Ty::Timestamp),
                    opt("is_active", Ty::Bool),
                    opt("src_ref", Ty::Ref(ADDRESS)),
                    opt("dst_ref", Ty::Ref(ADDRESS)),
                    opt("src_port", PORT),
                    opt("dst_port", PORT),
                    req("protocols", Ty::StrList),
                    opt("src_byte_count", COUNT),
                    opt("dst_byte_count", COUNT),
                    opt("src_packets", COUNT),
                    opt("dst_packets", COUNT),
                    opt("ipfix", Ty::Dict),
                    opt("src_payload_ref", Ty::Ref(ARTIFACT)),
                    opt("dst_payload_ref", Ty::Ref(ARTIFACT)),
                    opt("encapsulates_refs", Ty::RefList(NETWORK_TRAFFIC)),
                    opt("encapsulated_by_ref", Ty::Ref(NETWORK_TRAFFIC)),
                ]
            }
        }
        Process => {
            const {
                &[
                    opt("is_hidden", Ty::Bool),
                    opt("pid", INT32),
                    opt("created_time", Ty::Timestamp),
                    opt("cwd", Ty::Str),
                    opt("command_line", Ty::Str),
                    opt("environment_variables", Ty::Dict),
                    opt("opened_connection_refs", Ty::RefList(NETWORK_TRAFFIC)),
                    opt("creator_user_ref", Ty::Ref(USER_ACCOUNT)),
                    opt("image_ref", Ty::Ref(Targets::Types(&["file"], "a file"))),
                    opt("parent_ref", Ty::Ref(PROCESS)),
                    opt("child_refs", Ty::RefList(PROCESS)),
                ]
            }
        }
        Software => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("cpe", Ty::Str),
                    opt("swid", Ty::Str),
                    opt("languages", Ty::StrList),
                    opt("vendor", Ty::Str),
                    opt("version", Ty::Str),
                ]
            }
        }
        UserAccount => {
            const {
                &[
                    opt("user_id", Ty::Str),
                    opt("credential", Ty::Str),
                    opt("account_login", Ty::Str),
                    opt("account_type", Ty::Str),
                    opt("display_name", Ty::Str),
                    opt("is_service_account", Ty::Bool),
                    opt("is_privileged", Ty::Bool),
                    opt("can_escalate_privs", Ty::Bool),
                    opt("is_disabled", Ty::Bool),
                    opt("account_created", Ty::Timestamp),
                    opt("account_expires", Ty::Timestamp),
                    opt("credential_last_changed", Ty::Timestamp),
                    opt("account_first_login", Ty::Timestamp),
                    opt("account_last_login", Ty::Timestamp),
                ]
            }
        }
        WindowsRegistryKey => {
            const {
                &[
                    opt("key", Ty::Str),
                    opt("values", Ty::List),
                    opt("modified_time", Ty::Timestamp),
                    opt("creator_user_ref", Ty::Ref(USER_ACCOUNT)),
                    opt("number_of_subkeys", COUNT),
                ]
            }
        }
        X509Certificate => {
            const {
                &[
                    opt("is_self_signed", Ty::Bool),
                    opt("hashes", Ty::Hashes),
                    opt("version", Ty::Str),
                    opt("serial_number", Ty::Str),
                    opt("signature_algorithm", Ty::Str),
                    opt("issuer", Ty::Str),
                    opt("validity_not_before", Ty::Timestamp),
                    opt("validity_not_after", Ty::Timestamp),
                    opt("subject", Ty::Str),
                    opt("subject_public_key_algorithm", Ty::Str),
                    opt("subject_public_key_modulus", Ty::Str),
                    opt("subject_public_key_exponent", COUNT),
                    opt("x509_v3_extensions", Ty::Dict),
                ]
            }
        }
        LanguageContent => {
            const {
                &[
                    req("object_ref", Ty::Ref(Targets::Any)),
                    opt("object_modified", Ty::Millis),
                    req("contents", Ty::Dict),
                ]
            }
        }
        ExtensionDefinition => {
            const {
                &[
                    req("name", Ty::Str),
                    opt("description", Ty::Str),
                    req("schema", Ty::Str),
                    req("version", Ty::Str),
                    req("extension_types", Ty::StrList),
                    opt("extension_properties", Ty::StrList),
                ]
            }
        }
        MarkingDefinition | Custom => const { &[] },
    }
}

/// The common property set that applies to a kind.
pub(crate) fn common(kind: ObjectKind) -> &'static [Prop] {
    match kind {
        ObjectKind::MarkingDefinition => MARKING_COMMON,
        ObjectKind::Custom => CUSTOM_COMMON,
        k if k.is_observable() => OBSERVABLE_COMMON,
        _ => COMMON,
    }
}

/// Whether `name` is a property the specification defines for `kind`.
pub(crate) fn is_defined(kind: ObjectKind, name: &str) -> bool {
    common(kind)
        .iter()
        .chain(specific(kind))
        .any(|p| p.name == name)
}
