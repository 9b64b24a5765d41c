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

/// Fuzzing entry point: any input is a bundle or a located error, never a panic; every accepted
/// object validates again from its own JSON, and its canonical JSON is stable.
#[doc(hidden)]
#[allow(clippy::panic)]
pub fn fuzz_bundle(data: &[u8]) {
    let limits = Limits {
        max_bytes: 1 << 20,
        max_objects: 1_000,
        ..Limits::default()
    };
    let Ok((bundle, _errors)) = parse_bundle_partial(data, &limits) else {
        return;
    };
    for object in bundle.objects() {
        match StixObject::from_value_with(object.to_value(), &limits) {
            Ok(again) if &again == object => {}
            Ok(_) => panic!("{} changed when validated again", object.id()),
            Err(e) => panic!("{} accepted once, then refused: {e}", object.id()),
        }
        // Canonical JSON is a fixed point: canonicalising what it reads back as gives it again.
        let canonical = object.to_canonical_json();
        match serde_json::from_str::<serde_json::Value>(&canonical) {
            Ok(v) if canonical_json(&v) == canonical => {}
            Ok(_) => panic!("canonical JSON of {} is not stable", object.id()),
            Err(e) => panic!("canonical JSON of {} does not parse: {e}", object.id()),
        }
        let _ = crate::tlp::tlp_of(object);
        let _ = object.references();
    }
    if let Err(e) = parse_bundle(bundle.to_json().as_bytes(), &limits) {
        panic!("a re-serialised bundle of valid objects is refused: {e}");
    }
}
