//! Threat intelligence for Shield: STIX 2.1 objects and patterns, TLP 2.0 markings, the IOC
//! matcher, and MISP formats.
//!
//! # Design decisions
//!
//! * **A STIX object is its JSON.** [`stix::StixObject`] wraps the object's validated property map
//!   instead of mapping it onto Rust structs. Nodes store objects and relay them verbatim to peers,
//!   and the originator's signature covers the RFC 8785 canonical JSON of the object as sent: a
//!   typed model would have to carry every custom property, every extension and every property of
//!   later specification versions through a round trip, and one forgotten field would break a
//!   signature three hops away. Keeping the map makes the round trip lossless by construction;
//!   typed accessors and views ([`stix::Indicator`], [`stix::Sighting`], [`stix::Relationship`])
//!   give the convenience back, and validation runs once, at construction, so every
//!   `StixObject` in the program is valid.
//! * **Validation is a table plus rules.** Which properties each of the 42 STIX 2.1 types defines,
//!   their value types and which are required is data (`stix::validate::props`); what a table
//!   cannot say (co-occurring properties, ordered timestamps, indicator patterns) is code.
//!   Untrusted input is bounded ([`stix::Limits`]: bytes, objects, nesting, pattern size), and a
//!   refused object names its id, its index in the bundle and the property path.
//! * **Bundles are all-or-nothing or object by object, the caller chooses.**
//!   [`stix::parse_bundle`] refuses a bundle with any invalid object (a TAXII request);
//!   [`stix::parse_bundle_partial`] keeps the valid objects and reports the others (a feed import).
//! * **Patterns are parsed completely and evaluated honestly.** The whole STIX 2.1 pattern grammar
//!   parses ([`pattern::Pattern`]). Evaluation works on one observation at a time; what needs
//!   several observations (`FOLLOWEDBY`, observation `AND`, `REPEATS`) is reported as
//!   indeterminate, never silently dropped. The common case, a disjunction of equalities, is
//!   handed to the IOC matcher as plain values ([`pattern::Pattern::simple_iocs`]).
//! * **TLP 2.0 is identified by marking-definition ids**, with TLP 1.0 ids read as the nearest
//!   level ([`tlp::Tlp`]); levels are ordered by restrictiveness so "the most restrictive marking"
//!   is a `max`.
//! * **No I/O, no async.** Everything here is synchronous library code over values in memory.
#![deny(missing_docs)]

pub mod convert;
pub mod ioc;
pub mod lists;
pub mod matcher;
pub mod misp;
pub mod observe;
pub mod pattern;
pub mod stix;
pub mod tlp;
