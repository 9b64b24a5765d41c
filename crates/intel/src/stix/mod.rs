//! STIX 2.1 objects and bundles.
//!
//! * [`StixObject`]: one validated object, kept as its JSON properties so that nothing it carries is
//!   lost (see the crate docs for why), with typed accessors and typed views
//!   ([`Indicator`], [`Sighting`], [`Relationship`]).
//! * [`ObjectBuilder`]: new objects, valid by construction, with deterministic ids for observables.
//! * [`parse_bundle`] (all-or-nothing) and [`parse_bundle_partial`] (valid objects plus one error per
//!   invalid object) for untrusted input, bounded by [`Limits`].
//! * [`StixError`]: which object (id, index), which property, and what is wrong.

mod build;
mod bundle;
mod canonical;
mod error;
mod id;
mod kind;
mod object;
mod timestamp;
mod validate;
mod views;

pub use build::ObjectBuilder;
pub use bundle::{
    Bundle, parse_bundle, parse_bundle_partial, parse_objects, parse_objects_partial,
};
pub use canonical::canonical_json;
pub use error::{Reason, StixError};
pub use id::{
    SCO_NAMESPACE, id_contributing_properties, identifier_type, is_identifier, new_identifier,
    observable_identifier, split_identifier,
};
pub use kind::{Category, ObjectKind, is_valid_type_name};
pub use object::StixObject;
pub use timestamp::Timestamp;
pub use validate::Limits;
pub use views::{Indicator, Relationship, Sighting};
