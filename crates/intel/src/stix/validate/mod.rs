//! Validation of STIX 2.1 objects against the specification.
//!
//! An object is checked in four passes, stopping at the first problem (a refused object is
//! refused for one clear reason, with its property path):
//!
//! 1. shape: `type` and `id` (and that `id` names the same type), nesting depth, property names;
//! 2. the property table (`props`): each defined property present has the right value type, each
//!    required one is present; properties the specification does not define are kept as they are
//!    (custom `x_` properties, properties of newer minor versions);
//! 3. common rules: `spec_version` is `2.1`, `modified` is not before `created`;
//! 4. type rules (`rules`): co-occurrence and ordering constraints, and STIX patterns of indicators.

mod props;
mod rules;
mod values;

use serde_json::{Map, Value};

use super::error::{Reason, StixError};
use super::id::split_identifier;
use super::kind::{Category, ObjectKind, is_valid_type_name};
use super::timestamp::Timestamp;
use crate::pattern::PatternLimits;

pub(crate) use props::is_defined;

/// Bounds on untrusted STIX input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes (a bundle or a single object).
    pub max_bytes: usize,
    /// Most objects in one bundle.
    pub max_objects: usize,
    /// Deepest JSON nesting inside one object (the object itself is depth 1).
    pub max_depth: usize,
    /// Bounds on the STIX patterns of indicators.
    pub pattern: PatternLimits,
}

impl Default for Limits {
    /// 64 MiB, 100 000 objects, depth 32, and the default pattern limits.
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_objects: 100_000,
            max_depth: 32,
            pattern: PatternLimits::default(),
        }
    }
}

/// Validates one object and returns its kind.
pub(crate) fn validate_object(
    map: &Map<String, Value>,
    limits: &Limits,
) -> Result<ObjectKind, StixError> {
    let id = map.get("id").and_then(Value::as_str);
    check(map, limits).map_err(|e| e.with_object_id(id))
}

fn check(map: &Map<String, Value>, limits: &Limits) -> Result<ObjectKind, StixError> {
    let type_name = match map.get("type") {
        None => return Err(StixError::at("type", Reason::Missing)),
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(StixError::at("type", Reason::WrongType("a string"))),
    };
    if !is_valid_type_name(type_name) {
        return Err(StixError::at(
            "type",
            Reason::Constraint(format!(
                "{type_name:?} is not a valid object type (3-250 lowercase letters, digits, hyphens)"
            )),
        ));
    }
    let kind = ObjectKind::from_name(type_name);
    let id = match map.get("id") {
        None => return Err(StixError::at("id", Reason::Missing)),
        Some(Value::String(id)) => id.as_str(),
        Some(_) => return Err(StixError::at("id", Reason::WrongType("a string"))),
    };
    let (id_type, _) = split_identifier(id)
        .map_err(|why| StixError::at("id", Reason::Identifier(id.to_owned(), why)))?;
    if id_type != type_name {
        return Err(StixError::at(
            "id",
            Reason::Identifier(
                id.to_owned(),
                "the type part differs from the object's type",
            ),
        ));
    }
    if depth_exceeds(map, limits.max_depth) {
        return Err(StixError::new(Reason::TooDeep {
            limit: limits.max_depth,
        }));
    }
    for name in map.keys() {
        check_property_name(kind, name)?;
    }

    let requires_sdo_common = kind == ObjectKind::Custom && declares_non_observable(map);
    for prop in props::common(kind).iter().chain(props::specific(kind)) {
        match map.get(prop.name) {
            Some(value) => values::check(prop.name, value, prop.ty)?,
            None if prop.required => return Err(StixError::at(prop.name, Reason::Missing)),
            None => {}
        }
    }
    if requires_sdo_common {
        for name in ["spec_version", "created", "modified"] {
            if !map.contains_key(name) {
                return Err(StixError::at(name, Reason::Missing));
            }
        }
    }

    if let Some(version) = map.get("spec_version").and_then(Value::as_str) {
        if version != "2.1" {
            return Err(StixError::at(
                "spec_version",
                Reason::SpecVersion(version.to_owned()),
            ));
        }
    }
    rules::not_before(map, "created", "modified")?;
    rules::check(kind, map, limits)?;
    Ok(kind)
}

/// Whether a custom object says (through an extension definition, or by carrying `created`) that it
/// is a domain or relationship object rather than a cyber observable.
fn declares_non_observable(map: &Map<String, Value>) -> bool {
    let declared = map
        .get("extensions")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|exts| exts.values())
        .filter_map(|ext| ext.get("extension_type").and_then(Value::as_str))
        .any(|t| t == "new-sdo" || t == "new-sro");
    declared || map.contains_key("created")
}

/// Top-level property names: ASCII lowercase letters, digits and underscores, at most 250 characters;
/// names the specification does not define need at least 3.
fn check_property_name(kind: ObjectKind, name: &str) -> Result<(), StixError> {
    let bad = |why| {
        Err(StixError::at(
            name.chars().take(64).collect::<String>(),
            Reason::PropertyName(why),
        ))
    };
    if name.len() > 250 {
        return bad("longer than 250 characters");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return bad("only a-z, 0-9 and _ are allowed");
    }
    if name.len() < 3 && !props::is_defined(kind, name) {
        return bad("custom property names need at least 3 characters");
    }
    Ok(())
}

/// Whether a value nests deeper than `limit` (the value itself is depth 1). Iterative, so hostile
/// input cannot exhaust the stack.
pub(crate) fn depth_exceeds(map: &Map<String, Value>, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = map.values().map(|v| (v, 2)).collect();
    if limit < 1 {
        return true;
    }
    while let Some((value, depth)) = stack.pop() {
        if depth > limit {
            return true;
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(m) => stack.extend(m.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}

/// Whether an identifier's type is acceptable for `targets`.
pub(crate) fn category_of(id_type: &str) -> Category {
    ObjectKind::from_name(id_type).category()
}

/// A timestamp property already checked by the table, or `None` when absent.
pub(crate) fn timestamp_of(map: &Map<String, Value>, name: &str) -> Option<Timestamp> {
    map.get(name)
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_is_bounded_without_recursion() {
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        let map = json!({"x_deep": deep}).as_object().unwrap().clone();
        assert!(depth_exceeds(&map, 32));
        assert!(!depth_exceeds(&map, 42));
        let flat = json!({"a": [1, 2], "b": {"c": "d"}})
            .as_object()
            .unwrap()
            .clone();
        assert!(!depth_exceeds(&flat, 3));
        assert!(depth_exceeds(&flat, 2));
    }
}
