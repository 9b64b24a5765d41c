//! Errors that say which object, which property and what is wrong.

use std::fmt;

use crate::pattern::PatternError;

/// A STIX object or bundle that was refused.
///
/// It names where the problem is as precisely as the input allows: the object's `id` when it had a
/// readable one, its index in the bundle's `objects` array, and the property path inside the object
/// (`external_references[0].source_name`; empty for the object or bundle as a whole).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct StixError {
    /// The offending object's `id`, when it had a string `id`.
    pub object_id: Option<String>,
    /// The object's index in the bundle's `objects` array.
    pub index: Option<usize>,
    /// The property path inside the object (or the bundle), empty for the whole.
    pub path: String,
    /// What is wrong.
    pub reason: Reason,
}

/// What is wrong with a STIX object or bundle.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The input is not JSON (serde_json's message, with line and column).
    #[error("not JSON: {0}")]
    Json(String),
    /// The input is larger than the configured limit.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bundle holds more objects than the configured limit.
    #[error("{count} objects exceed the limit of {limit}")]
    TooManyObjects {
        /// Objects in the bundle.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// JSON nested deeper than the configured limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A required property is absent.
    #[error("required property is missing")]
    Missing,
    /// A property has the wrong JSON type or shape.
    #[error("expected {0}")]
    WrongType(&'static str),
    /// A list property that must not be empty is empty.
    #[error("list must not be empty")]
    EmptyList,
    /// A string that must not be empty is empty.
    #[error("string must not be empty")]
    EmptyString,
    /// Not a valid STIX identifier (`type--UUID`, RFC 4122 UUID).
    #[error("invalid identifier {0:?}: {1}")]
    Identifier(String, &'static str),
    /// An identifier that names an object of a type not allowed here.
    #[error("identifier {id:?} must refer to {expected}")]
    RefType {
        /// The identifier.
        id: String,
        /// Which types are allowed.
        expected: &'static str,
    },
    /// Not a valid STIX timestamp.
    #[error("invalid timestamp {0:?}: {1}")]
    Timestamp(String, &'static str),
    /// `spec_version` is not `2.1`.
    #[error("spec_version must be \"2.1\", found {0:?}")]
    SpecVersion(String),
    /// A number outside its allowed range.
    #[error("{value} is outside {min}..={max}")]
    OutOfRange {
        /// The value found.
        value: String,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A property name that STIX does not allow.
    #[error("invalid property name: {0}")]
    PropertyName(&'static str),
    /// An invalid STIX pattern in an indicator.
    #[error("invalid STIX pattern: {0}")]
    Pattern(PatternError),
    /// Any other violated rule of the specification, in words.
    #[error("{0}")]
    Constraint(String),
}

impl StixError {
    /// An error about the object or bundle as a whole.
    pub fn new(reason: Reason) -> Self {
        StixError {
            object_id: None,
            index: None,
            path: String::new(),
            reason,
        }
    }

    /// An error at a property path.
    pub fn at(path: impl Into<String>, reason: Reason) -> Self {
        StixError {
            path: path.into(),
            ..StixError::new(reason)
        }
    }

    /// The same error, naming the object it is about.
    pub fn with_object_id(mut self, id: Option<&str>) -> Self {
        if self.object_id.is_none() {
            self.object_id = id.map(str::to_owned);
        }
        self
    }

    /// The same error, naming the object's index in the bundle.
    pub fn with_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

impl fmt::Display for StixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(index) = self.index {
            write!(f, "objects[{index}]")?;
            wrote = true;
        }
        if let Some(id) = &self.object_id {
            write!(f, "{}{id}", if wrote { " " } else { "" })?;
            wrote = true;
        }
        if !self.path.is_empty() {
            write!(f, "{}{}", if wrote { " " } else { "" }, self.path)?;
            wrote = true;
        }
        if wrote {
            f.write_str(": ")?;
        }
        write!(f, "{}", self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_index_object_and_path() {
        let e = StixError::at("pattern_type", Reason::Missing)
            .with_object_id(Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"))
            .with_index(3);
        assert_eq!(
            e.to_string(),
            "objects[3] indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f pattern_type: required property is missing"
        );
        assert_eq!(
            StixError::new(Reason::TooDeep { limit: 8 }).to_string(),
            "nesting deeper than 8 levels"
        );
    }
}
