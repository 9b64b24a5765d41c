//! Typed views of the objects Shield works with most: indicators, sightings, relationships.
//!
//! A view borrows a validated [`StixObject`], so its accessors can rely on the properties the
//! specification requires being present and well-typed.

use super::object::StixObject;
use super::timestamp::Timestamp;
use crate::pattern::{Pattern, PatternError};

/// An `indicator`: a pattern that detects something, valid over a time window.
#[derive(Debug, Clone, Copy)]
pub struct Indicator<'a> {
    object: &'a StixObject,
}

impl<'a> Indicator<'a> {
    pub(super) fn new(object: &'a StixObject) -> Self {
        Indicator { object }
    }

    /// The object viewed.
    pub fn object(&self) -> &'a StixObject {
        self.object
    }

    /// `name`.
    pub fn name(&self) -> Option<&'a str> {
        self.object.str_property("name")
    }

    /// `description`.
    pub fn description(&self) -> Option<&'a str> {
        self.object.str_property("description")
    }

    /// `pattern`: the detection pattern, in the language `pattern_type` names.
    pub fn pattern(&self) -> &'a str {
        self.object.str_property("pattern").unwrap_or_default()
    }

    /// `pattern_type`: `stix`, `sigma`, `yara`, `snort`, `suricata`, `pcre`, or another language.
    pub fn pattern_type(&self) -> &'a str {
        self.object.str_property("pattern_type").unwrap_or_default()
    }

    /// `pattern_version`.
    pub fn pattern_version(&self) -> Option<&'a str> {
        self.object.str_property("pattern_version")
    }

    /// The parsed STIX pattern, when `pattern_type` is `stix` (validation has already parsed it
    /// once with the limits the object was accepted under; this parses with the default limits).
    pub fn stix_pattern(&self) -> Option<Result<Pattern, PatternError>> {
        (self.pattern_type() == "stix").then(|| Pattern::parse(self.pattern()))
    }

    /// `valid_from`.
    pub fn valid_from(&self) -> Option<Timestamp> {
        self.object.timestamp_property("valid_from")
    }

    /// `valid_until`.
    pub fn valid_until(&self) -> Option<Timestamp> {
        self.object.timestamp_property("valid_until")
    }

    /// Whether the indicator is valid at `at`: not revoked, `valid_from <= at`, and `at` before
    /// `valid_until` when there is one.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        !self.object.revoked()
            && self.valid_from().is_some_and(|from| from <= at)
            && self.valid_until().is_none_or(|until| at < until)
    }

    /// `indicator_types`.
    pub fn indicator_types(&self) -> impl Iterator<Item = &'a str> {
        self.object.str_list("indicator_types")
    }
}

/// A `sighting`: something was seen, somewhere, some number of times.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    object: &'a StixObject,
}

impl<'a> Sighting<'a> {
    pub(super) fn new(object: &'a StixObject) -> Self {
        Sighting { object }
    }

    /// The object viewed.
    pub fn object(&self) -> &'a StixObject {
        self.object
    }

    /// `sighting_of_ref`: what was seen (an indicator, malware, …).
    pub fn sighting_of_ref(&self) -> &'a str {
        self.object
            .str_property("sighting_of_ref")
            .unwrap_or_default()
    }

    /// `observed_data_refs`.
    pub fn observed_data_refs(&self) -> impl Iterator<Item = &'a str> {
        self.object.str_list("observed_data_refs")
    }

    /// `where_sighted_refs`: the identities or locations that saw it.
    pub fn where_sighted_refs(&self) -> impl Iterator<Item = &'a str> {
        self.object.str_list("where_sighted_refs")
    }

    /// `count`.
    pub fn count(&self) -> Option<u32> {
        self.object
            .property("count")
            .and_then(|c| c.as_u64())
            .and_then(|c| u32::try_from(c).ok())
    }

    /// `first_seen`.
    pub fn first_seen(&self) -> Option<Timestamp> {
        self.object.timestamp_property("first_seen")
    }

    /// `last_seen`.
    pub fn last_seen(&self) -> Option<Timestamp> {
        self.object.timestamp_property("last_seen")
    }
}

/// A `relationship` between two objects.
#[derive(Debug, Clone, Copy)]
pub struct Relationship<'a> {
    object: &'a StixObject,
}

impl<'a> Relationship<'a> {
    pub(super) fn new(object: &'a StixObject) -> Self {
        Relationship { object }
    }

    /// The object viewed.
    pub fn object(&self) -> &'a StixObject {
        self.object
    }

    /// `relationship_type` (`indicates`, `uses`, `attributed-to`, …).
    pub fn relationship_type(&self) -> &'a str {
        self.object
            .str_property("relationship_type")
            .unwrap_or_default()
    }

    /// `source_ref`.
    pub fn source_ref(&self) -> &'a str {
        self.object.str_property("source_ref").unwrap_or_default()
    }

    /// `target_ref`.
    pub fn target_ref(&self) -> &'a str {
        self.object.str_property("target_ref").unwrap_or_default()
    }
}
