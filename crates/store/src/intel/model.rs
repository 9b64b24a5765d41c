//! The values [`crate::IntelStore`] takes and returns.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shield_intel::convert::IocIndicatorWriter;
use shield_intel::ioc::Ioc;
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;

use super::record::{Derived, derive};
use crate::Role;

/// The most object versions one query returns, whatever its `limit`.
pub const MAX_INTEL_PAGE: usize = 1000;

/// Who may do something with a collection: a role, an organisation, one token, or anyone
/// authenticated. Written `role:analyst`, `org:cert-ee`, `token:hub-eu` and `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grant {
    /// Every authenticated caller.
    Anyone,
    /// Every caller with this role.
    Role(Role),
    /// Every caller of this organisation.
    Org(String),
    /// The caller whose token has this name.
    Token(String),
}

impl Grant {
    /// Whether this grant covers `reader`.
    pub fn covers(&self, reader: &Reader) -> bool {
        match self {
            Grant::Anyone => true,
            Grant::Role(role) => reader.role == *role,
            Grant::Org(org) => reader.org == *org,
            Grant::Token(name) => reader.name == *name,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Anyone => f.write_str("*"),
            Grant::Role(role) => write!(f, "role:{role}"),
            Grant::Org(org) => write!(f, "org:{org}"),
            Grant::Token(name) => write!(f, "token:{name}"),
        }
    }
}

/// A text that is not a [`Grant`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a grant: {0:?} (expected '*', 'role:<role>', 'org:<organisation>' or 'token:<name>')")]
pub struct ParseGrantError(pub String);

impl FromStr for Grant {
    type Err = ParseGrantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseGrantError(s.chars().take(64).collect());
        let s = s.trim();
        if s == "*" {
            return Ok(Grant::Anyone);
        }
        let (kind, value) = s.split_once(':').ok_or_else(bad)?;
        if value.is_empty() || value.len() > 256 {
            return Err(bad());
        }
        match kind {
            "role" => value.parse().map(Grant::Role).map_err(|_| bad()),
            "org" => Ok(Grant::Org(value.to_owned())),
            "token" => Ok(Grant::Token(value.to_owned())),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Grant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Who may read and who may write a collection. The admin role may always do both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionAccess {
    /// Grants to read (list objects, manifest, versions).
    pub read: Vec<Grant>,
    /// Grants to write (add objects, delete own objects).
    pub write: Vec<Grant>,
}

/// A TAXII collection: a named set of object versions with its own access lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// Identifier (a UUID), the `{id}` of TAXII URLs.
    pub id: String,
    /// Short unique name that may stand for the id (`indicators`).
    pub alias: Option<String>,
    /// Human title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// Who may read and write.
    pub access: CollectionAccess,
}

impl Collection {
    /// Whether `reader` may read objects of this collection (TLP still applies per object).
    pub fn can_read(&self, reader: &Reader) -> bool {
        reader.role == Role::Admin || self.access.read.iter().any(|g| g.covers(reader))
    }

    /// Whether `reader` may add objects to this collection.
    pub fn can_write(&self, reader: &Reader) -> bool {
        reader.role == Role::Admin || self.access.write.iter().any(|g| g.covers(reader))
    }

    /// Whether `reader` may know the collection exists: it may read or write it.
    pub fn is_visible_to(&self, reader: &Reader) -> bool {
        self.can_read(reader) || self.can_write(reader)
    }
}

/// The caller on whose behalf the store reads: its organisation decides which objects it may see
/// (the TLP rule, see the [module docs](crate::intel)); role and token name decide collection access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// The caller's organisation.
    pub org: String,
    /// The caller's role.
    pub role: Role,
    /// The caller's token name.
    pub name: String,
}

impl Reader {
    /// A reader of `org` with `role`, token name `name`.
    pub fn new(org: impl Into<String>, role: Role, name: impl Into<String>) -> Reader {
        Reader {
            org: org.into(),
            role,
            name: name.into(),
        }
    }

    /// The TLP rule: whether this reader may see an object version marked `tlp`, owned by
    /// `owner_org` and explicitly shared with `shared_with`. Every backend applies exactly this rule
    /// inside its queries.
    pub fn may_see(&self, tlp: Tlp, owner_org: &str, shared_with: &[String]) -> bool {
        tlp <= Tlp::Green || owner_org == self.org || shared_with.contains(&self.org)
    }
}

/// Where objects come from, recorded with every version stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// What delivered them: `taxii:<token name>`, `feed:<name>`, `import:<file>`, `peer:<name>`.
    pub source: String,
    /// The organisation that owns them on this node: the writer's.
    pub org: String,
    /// The TLP level of objects without a TLP marking.
    pub default_tlp: Tlp,
    /// Organisations besides the owner that may read them whatever their TLP level (explicit
    /// sharing decided by the sharing policy).
    pub shared_with: Vec<String>,
}

/// One object to store, with the exact JSON text it arrived as.
///
/// What the store derives from the object (its version in microseconds, TLP marking, expiry and
/// the observable values of its pattern) is derived here, when the object is made: on the
/// caller's thread, outside the store's single writer.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingObject {
    object: StixObject,
    json: String,
    derived: Derived,
}

impl IncomingObject {
    /// An object built here: its JSON is serialised from the object.
    pub fn new(object: StixObject) -> IncomingObject {
        let json = object.to_json();
        IncomingObject::verbatim(object, json)
    }

    /// An object received as `json` and validated into `object`: the text is stored and served
    /// as it is, byte for byte. The caller guarantees that `object` was parsed from `json`.
    pub fn verbatim(object: StixObject, json: String) -> IncomingObject {
        let derived = derive(&object);
        IncomingObject {
            object,
            json,
            derived,
        }
    }

    /// The validated object.
    pub fn object(&self) -> &StixObject {
        &self.object
    }

    /// The JSON text stored.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// What the store derived from the object.
    pub(crate) fn derived(&self) -> &Derived {
        &self.derived
    }

    /// The JSON text and the derived values, without the parsed object (for writers that keep
    /// many objects before storing them).
    pub(crate) fn into_parts(self) -> (StixObject, String, Derived) {
        (self.object, self.json, self.derived)
    }
}

/// One object for [`crate::IntelStore::put_bulk`]: what the store writes (the JSON text and the
/// values derived from the object), without the parsed object. Made on the caller's threads, so
/// the store's single writer neither derives nor frees parsed objects.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkObject {
    pub(crate) id: String,
    pub(crate) type_name: String,
    pub(crate) spec_version: String,
    /// `(text, microseconds)` of `modified`/`created`; `None` for objects without either.
    pub(crate) version: Option<(String, i64)>,
    pub(crate) marking_tlp: Option<Tlp>,
    pub(crate) revoked: bool,
    pub(crate) valid_until: Option<i64>,
    pub(crate) observables: Vec<String>,
    pub(crate) json: String,
}

impl BulkObject {
    /// The indicator of one IOC as [`shield_intel::convert::indicator_for_ioc`] makes it (without
    /// labels), written by `writer` (which holds its creation time and TLP marking): the same
    /// object, JSON text and derived values as `IncomingObject::new(indicator_for_ioc(…)).into()`
    /// at a fraction of the cost.
    pub fn ioc_indicator(writer: &IocIndicatorWriter, ioc: &Ioc, name: Option<&str>) -> BulkObject {
        let (id, json) = writer.write(ioc, name);
        let (created, at) = writer.created();
        BulkObject {
            id,
            type_name: "indicator".to_owned(),
            spec_version: "2.1".to_owned(),
            version: Some((created.to_owned(), at.as_datetime().timestamp_micros())),
            marking_tlp: writer.tlp(),
            revoked: false,
            valid_until: None,
            observables: vec![ioc.value().to_owned()],
            json,
        }
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The JSON text stored.
    pub fn json(&self) -> &str {
        &self.json
    }
}

impl From<IncomingObject> for BulkObject {
    fn from(incoming: IncomingObject) -> BulkObject {
        let (object, json, derived) = incoming.into_parts();
        BulkObject {
            id: object.id().to_owned(),
            type_name: object.type_name().to_owned(),
            spec_version: object.spec_version().unwrap_or("2.1").to_owned(),
            version: object
                .version_text()
                .zip(derived.version_us)
                .map(|(text, us)| (text.to_owned(), us)),
            marking_tlp: derived.marking_tlp,
            revoked: object.revoked(),
            valid_until: derived.valid_until,
            observables: derived.observables,
            json,
        }
    }
}

/// An indicator for the live matcher ([`crate::IntelStore::live_indicators`]): its id and JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIndicator {
    /// The STIX id.
    pub id: String,
    /// The JSON text of its current version.
    pub json: String,
}

/// A batch of objects for one collection, stored all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct IntelWrite {
    /// The collection's id.
    pub collection: String,
    /// The objects, in order.
    pub objects: Vec<IncomingObject>,
    /// Where they come from.
    pub provenance: Provenance,
    /// When this node received them; `date_added` is this time, or just after the collection's
    /// previous `date_added` when the clock has not moved on.
    pub received: DateTime<Utc>,
    /// When set, a status resource with this id records the outcome, in the same transaction.
    pub status_id: Option<String>,
}

/// What became of one object of an [`IntelWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored as a new version.
    Added {
        /// Its `date_added`.
        date_added: DateTime<Utc>,
    },
    /// This version of the object was already in the collection; nothing changed.
    Duplicate,
}

/// The outcome of [`crate::IntelStore::put_objects`], one entry per object in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutReport {
    /// `(id, version, outcome)` per object.
    pub outcomes: Vec<(String, String, PutOutcome)>,
    /// The status resource recorded, when one was asked for.
    pub status: Option<StatusResource>,
}

impl PutReport {
    /// How many objects were stored as new versions.
    pub fn added(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, _, o)| matches!(o, PutOutcome::Added { .. }))
            .count()
    }

    /// How many were already stored.
    pub fn duplicates(&self) -> usize {
        self.outcomes.len() - self.added()
    }
}

/// A large import into one collection ([`crate::IntelStore::put_bulk`]): every object or none,
/// like an [`IntelWrite`], but reported as counts rather than per object.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkWrite {
    /// The collection's id.
    pub collection: String,
    /// Where the objects come from.
    pub provenance: Provenance,
    /// When this node received them (see [`IntelWrite::received`]).
    pub received: DateTime<Utc>,
    /// Count as a duplicate, and do not store, an object whose id the collection already holds
    /// in a version the owner organisation may see (or that came earlier in this import): for
    /// objects derived here from plain values, whose timestamps are new on every import.
    pub skip_known_ids: bool,
}

/// The outcome of [`crate::IntelStore::put_bulk`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Objects stored as new versions.
    pub added: u64,
    /// Objects already stored (or repeated in the import).
    pub duplicates: u64,
}

/// A stored object version with what the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The collection's id.
    pub collection: String,
    /// The STIX `id`.
    pub id: String,
    /// The STIX `type`.
    pub type_name: String,
    /// `spec_version` (`2.1`).
    pub spec_version: String,
    /// The version: `modified` (else `created`) as the object writes it; for objects without
    /// either (cyber observables) the `date_added` of their first storage.
    pub version: String,
    /// When this node stored this version: microsecond precision, strictly increasing within a
    /// collection.
    pub date_added: DateTime<Utc>,
    /// The TLP level: the most restrictive TLP marking, else the source's default.
    pub tlp: Tlp,
    /// The organisation that owns the version on this node.
    pub owner_org: String,
    /// What delivered it ([`Provenance::source`]).
    pub source: String,
    /// When it was received.
    pub received: DateTime<Utc>,
    /// `revoked: true`.
    pub revoked: bool,
    /// An indicator's `valid_until`.
    pub valid_until: Option<DateTime<Utc>>,
    /// The JSON text as received; `None` when the query asked for metadata only.
    pub json: Option<String>,
}

/// `match[version]`: which versions of each object a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    /// The newest version the reader may see (the default).
    Last,
    /// The oldest version the reader may see.
    First,
    /// Every version.
    All,
    /// The version with this timestamp (compared at microsecond precision).
    At(DateTime<Utc>),
}

/// Which object versions to return, oldest `date_added` first.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectQuery {
    /// The collection's id.
    pub collection: String,
    /// Only versions added strictly after this time.
    pub added_after: Option<DateTime<Utc>>,
    /// Only these ids (any when empty).
    pub ids: Vec<String>,
    /// Only these types (any when empty).
    pub types: Vec<String>,
    /// Which versions; several mean any of them; empty means [`VersionMatch::Last`].
    pub versions: Vec<VersionMatch>,
    /// Only these `spec_version`s (any when empty).
    pub spec_versions: Vec<String>,
    /// Page size: 0 is read as 1, anything above [`MAX_INTEL_PAGE`] as [`MAX_INTEL_PAGE`].
    pub limit: usize,
    /// Continue after the page that returned this cursor (with the same filters).
    pub next: Option<String>,
    /// Whether to return each version's JSON (`false` for manifests and version lists).
    pub with_json: bool,
}

impl ObjectQuery {
    /// Every current object of `collection`, 100 per page, with JSON.
    pub fn new(collection: impl Into<String>) -> ObjectQuery {
        ObjectQuery {
            collection: collection.into(),
            added_after: None,
            ids: Vec::new(),
            types: Vec::new(),
            versions: Vec::new(),
            spec_versions: Vec::new(),
            limit: 100,
            next: None,
            with_json: true,
        }
    }

    /// The page size actually served.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_INTEL_PAGE)
    }
}

/// One page of object versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPage {
    /// The versions, oldest `date_added` first.
    pub objects: Vec<StoredObject>,
    /// Whether more versions match after this page.
    pub more: bool,
    /// The cursor of the next page, when `more`.
    pub next: Option<String>,
}

/// Which versions of one object to delete.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteRequest {
    /// The collection's id.
    pub collection: String,
    /// The STIX id.
    pub id: String,
    /// Which versions (empty means all of them, as TAXII's delete does).
    pub versions: Vec<VersionMatch>,
    /// Only versions of these `spec_version`s (any when empty).
    pub spec_versions: Vec<String>,
}

/// The status of a TAXII add request, in the shape TAXII 2.1 defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResource {
    /// Identifier (a UUID).
    pub id: String,
    /// `complete` or `pending`.
    pub status: String,
    /// When the request was received (RFC 3339, microseconds).
    pub request_timestamp: String,
    /// Objects in the request.
    pub total_count: u64,
    /// Objects stored.
    pub success_count: u64,
    /// Per stored object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetail>,
    /// Objects not stored.
    pub failure_count: u64,
    /// Per object not stored, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetail>,
    /// Objects still being processed.
    pub pending_count: u64,
    /// Per pending object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetail>,
}

/// One object in a [`StatusResource`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetail {
    /// The object's id.
    pub id: String,
    /// The object's version.
    pub version: String,
    /// Why, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A time as TAXII writes `date_added`: RFC 3339 in UTC with microseconds.
pub fn taxii_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_and_print() {
        for text in ["*", "role:analyst", "org:cert-ee", "token:hub-eu"] {
            let grant: Grant = text.parse().unwrap();
            assert_eq!(grant.to_string(), text);
        }
        for bad in ["", "role:", "role:boss", "group:x", "analyst"] {
            assert!(bad.parse::<Grant>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&vec![Grant::Role(Role::Peer), Grant::Anyone]).unwrap();
        assert_eq!(json, r#"["role:peer","*"]"#);
    }

    #[test]
    fn tlp_rule() {
        let reader = Reader::new("a", Role::Analyst, "t");
        assert!(reader.may_see(Tlp::Clear, "b", &[]));
        assert!(reader.may_see(Tlp::Green, "b", &[]));
        for tlp in [Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            assert!(!reader.may_see(tlp, "b", &[]));
            assert!(reader.may_see(tlp, "a", &[]));
            assert!(reader.may_see(tlp, "b", &["a".into()]));
        }
    }

    #[test]
    fn collection_access() {
        let c = Collection {
            id: "x".into(),
            alias: None,
            title: "t".into(),
            description: None,
            access: CollectionAccess {
                read: vec![Grant::Role(Role::Analyst), Grant::Org("b".into())],
                write: vec![Grant::Token("feeder".into())],
            },
        };
        assert!(c.can_read(&Reader::new("a", Role::Analyst, "t")));
        assert!(c.can_read(&Reader::new("b", Role::Peer, "t")));
        assert!(!c.can_read(&Reader::new("a", Role::Peer, "t")));
        assert!(c.can_write(&Reader::new("a", Role::Peer, "feeder")));
        assert!(c.can_write(&Reader::new("z", Role::Admin, "root")));
        assert!(!c.is_visible_to(&Reader::new("a", Role::Ingest, "t")));
    }
}
