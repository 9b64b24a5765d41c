//! Threat intelligence in the store: STIX object versions in TAXII collections
//! ([`crate::IntelStore`]).
//!
//! # What is stored
//!
//! * **Object versions, verbatim.** Each version is kept as the JSON text it arrived as
//!   ([`IncomingObject::verbatim`]), so it is served byte for byte and signatures over its
//!   canonical JSON stay valid through relays. Beside it: `id`, `type`, `spec_version`, the
//!   version (`modified`, else `created`), `date_added`, TLP level, owner organisation, source
//!   and receive time, `revoked`, an indicator's `valid_until`, and the normalised values its
//!   simple pattern looks for (for [`crate::IntelStore::lookup_observable`]).
//! * **Identity of a version** is (collection, id, version) at microsecond precision; storing it
//!   again is a duplicate, reported and ignored. Objects without `modified`/`created` (cyber
//!   observables, whose ids derive from their content) have one version: the `date_added` of
//!   their first storage.
//! * **`date_added` is strictly increasing within a collection**: the receive time, or one
//!   microsecond after the collection's previous `date_added` when the clock has not moved on.
//!   Writes are serialised, so versions become visible in `date_added` order, and a client paging
//!   by `added_after` or by the `next` cursor (the `date_added` of the last version served) never
//!   skips or repeats a version, however many are added meanwhile.
//! * **Writes are all or nothing**: one transaction per [`IntelWrite`], including its status
//!   resource.
//! * **Provenance**: every version records what delivered it (`taxii:<token>`, `feed:<name>`,
//!   `import:<file>`, `peer:<name>`), the organisation that owns it on this node, and when.
//!
//! # The TLP rule
//!
//! A version's level is the most restrictive TLP marking among its `object_marking_refs` (TLP
//! 1.0 ids read as 2.0 levels), or the source's default ([`Provenance::default_tlp`]) when it has
//! none. Granular markings do not change it. A reader ([`Reader`]) may see a version when:
//!
//! | level | readable by |
//! |---|---|
//! | CLEAR, GREEN | every authenticated reader |
//! | AMBER, AMBER+STRICT, RED | the owner organisation, and organisations it was explicitly shared with ([`Provenance::shared_with`]) |
//!
//! The rule is [`Reader::may_see`]; every backend applies it *inside* its queries (SQL for
//! SQLite), to listings, single objects, versions, manifests and observable lookups alike, so no
//! caller can forget it. Roles do not lift it: an admin of another organisation does not read an
//! AMBER object either. `match[version]=last` is the newest version *the reader may see*.
//! Collection access lists ([`Collection::can_read`], [`Collection::can_write`]) come on top and
//! are checked by the caller (TAXII answers 403/404 before it queries).

mod body;
mod cursor;
pub(crate) mod memory;
mod model;
mod record;
mod sqlite;
mod sqlite_bulk;
mod status;

#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use model::{
    BulkObject, BulkReport, BulkWrite, Collection, CollectionAccess, DeleteRequest, Grant,
    IncomingObject, IntelWrite, LiveIndicator, MAX_INTEL_PAGE, ObjectPage, ObjectQuery,
    ParseGrantError, Provenance, PutOutcome, PutReport, Reader, StatusDetail, StatusResource,
    StoredObject, VersionMatch, taxii_timestamp,
};
