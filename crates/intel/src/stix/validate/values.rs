//! Checks of one property value against its type in the property table.

use serde_json::{Map, Value};

use super::category_of;
use super::props::{Targets, Ty};
use crate::stix::error::{Reason, StixError};
use crate::stix::id::split_identifier;
use crate::stix::kind::Category;
use crate::stix::timestamp::Timestamp;

/// Checks `value` (found at `path`) against `ty`.
pub(crate) fn check(path: &str, value: &Value, ty: Ty) -> Result<(), StixError> {
    let wrong = |what| Err(StixError::at(path, Reason::WrongType(what)));
    match ty {
        Ty::Str => match value {
            Value::String(_) => Ok(()),
            _ => wrong("a string"),
        },
        Ty::Timestamp | Ty::Millis => {
            let Some(text) = value.as_str() else {
                return wrong("a timestamp string");
            };
            let parsed = if matches!(ty, Ty::Millis) {
                Timestamp::parse_millis(text)
            } else {
                Timestamp::parse(text)
            };
            parsed
                .map(|_| ())
                .map_err(|why| StixError::at(path, Reason::Timestamp(text.to_owned(), why)))
        }
        Ty::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => wrong("a boolean"),
        },
        Ty::Int(min, max) => {
            let Value::Number(n) = value else {
                return wrong("an integer");
            };
            let in_range = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => (min..=max).contains(&i),
                (None, Some(_)) => false,
                (None, None) => return wrong("an integer"),
            };
            if in_range {
                Ok(())
            } else {
                Err(StixError::at(
                    path,
                    Reason::OutOfRange {
                        value: n.to_string(),
                        min,
                        max,
                    },
                ))
            }
        }
        Ty::Float(min, max) => {
            let Some(f) = value.as_f64() else {
                return wrong("a number");
            };
            if f >= min && f <= max {
                Ok(())
            } else {
                Err(StixError::at(
                    path,
                    Reason::Constraint(format!("{f} is outside {min}..={max}")),
                ))
            }
        }
        Ty::Ref(targets) => check_ref(path, value, targets),
        Ty::RefList(targets) => {
            for (i, item) in non_empty_list(path, value)?.iter().enumerate() {
                check_ref(&format!("{path}[{i}]"), item, targets)?;
            }
            Ok(())
        }
        Ty::StrList => {
            for (i, item) in non_empty_list(path, value)?.iter().enumerate() {
                if !item.is_string() {
                    return Err(StixError::at(
                        format!("{path}[{i}]"),
                        Reason::WrongType("a string"),
                    ));
                }
            }
            Ok(())
        }
        Ty::List => non_empty_list(path, value).map(|_| ()),
        Ty::Hashes => check_hashes(path, value),
        Ty::Dict => match value {
            Value::Object(_) => Ok(()),
            _ => wrong("an object (dictionary)"),
        },
        Ty::KillChainPhases => {
            for (i, item) in non_empty_list(path, value)?.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let phase = object(&at, item)?;
                required_str(&at, phase, "kill_chain_name")?;
                required_str(&at, phase, "phase_name")?;
            }
            Ok(())
        }
        Ty::ExternalReferences => {
            for (i, item) in non_empty_list(path, value)?.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let reference = object(&at, item)?;
                required_str(&at, reference, "source_name")?;
                for name in ["description", "url", "external_id"] {
                    if let Some(v) = reference.get(name) {
                        check(&format!("{at}.{name}"), v, Ty::Str)?;
                    }
                }
                if let Some(hashes) = reference.get("hashes") {
                    check_hashes(&format!("{at}.hashes"), hashes)?;
                }
            }
            Ok(())
        }
        Ty::GranularMarkings => {
            for (i, item) in non_empty_list(path, value)?.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let marking = object(&at, item)?;
                match marking.get("selectors") {
                    Some(s) => check(&format!("{at}.selectors"), s, Ty::StrList)?,
                    None => return Err(StixError::at(format!("{at}.selectors"), Reason::Missing)),
                }
                match (marking.get("marking_ref"), marking.get("lang")) {
                    (Some(r), None) => check_ref(
                        &format!("{at}.marking_ref"),
                        r,
                        Targets::Types(&["marking-definition"], "a marking-definition"),
                    )?,
                    (None, Some(l)) => check(&format!("{at}.lang"), l, Ty::Str)?,
                    _ => {
                        return Err(StixError::at(
                            at,
                            Reason::Constraint(
                                "exactly one of marking_ref and lang must be present".into(),
                            ),
                        ));
                    }
                }
            }
            Ok(())
        }
        Ty::Extensions => check_extensions(path, value),
    }
}

fn non_empty_list<'a>(path: &str, value: &'a Value) -> Result<&'a Vec<Value>, StixError> {
    match value {
        Value::Array(items) if items.is_empty() => Err(StixError::at(path, Reason::EmptyList)),
        Value::Array(items) => Ok(items),
        _ => Err(StixError::at(path, Reason::WrongType("a list"))),
    }
}

fn object<'a>(path: &str, value: &'a Value) -> Result<&'a Map<String, Value>, StixError> {
    value
        .as_object()
        .ok_or_else(|| StixError::at(path, Reason::WrongType("an object")))
}

fn required_str(at: &str, map: &Map<String, Value>, name: &str) -> Result<(), StixError> {
    match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        Some(Value::String(_)) => Err(StixError::at(format!("{at}.{name}"), Reason::EmptyString)),
        Some(_) => Err(StixError::at(
            format!("{at}.{name}"),
            Reason::WrongType("a string"),
        )),
        None => Err(StixError::at(format!("{at}.{name}"), Reason::Missing)),
    }
}

fn check_ref(path: &str, value: &Value, targets: Targets) -> Result<(), StixError> {
    let Some(id) = value.as_str() else {
        return Err(StixError::at(
            path,
            Reason::WrongType("an identifier string"),
        ));
    };
    let (id_type, _) = split_identifier(id)
        .map_err(|why| StixError::at(path, Reason::Identifier(id.to_owned(), why)))?;
    // A custom type may be a domain object or an observable; a bundle is never an object.
    let custom = category_of(id_type) == Category::Custom && id_type != "bundle";
    let (ok, expected) = match targets {
        Targets::Any => (true, ""),
        Targets::Types(types, expected) => (types.contains(&id_type), expected),
        Targets::Domain => (
            custom || category_of(id_type) == Category::Domain,
            "a domain object",
        ),
        Targets::Observable => (
            custom || category_of(id_type) == Category::Observable,
            "a cyber observable",
        ),
        Targets::Linkable => (
            custom
                || matches!(
                    category_of(id_type),
                    Category::Domain | Category::Observable
                ),
            "a domain object or cyber observable",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(StixError::at(
            path,
            Reason::RefType {
                id: id.to_owned(),
                expected,
            },
        ))
    }
}

/// Hash dictionaries: non-empty, keys of 1 to 250 characters, non-empty string values; values of the
/// hash algorithms STIX names must be hexadecimal of the algorithm's length.
fn check_hashes(path: &str, value: &Value) -> Result<(), StixError> {
    let Some(hashes) = value.as_object() else {
        return Err(StixError::at(
            path,
            Reason::WrongType("an object of hash values"),
        ));
    };
    if hashes.is_empty() {
        return Err(StixError::at(
            path,
            Reason::Constraint("hashes must not be empty".into()),
        ));
    }
    for (algorithm, hash) in hashes {
        let at = format!("{path}.{algorithm}");
        if algorithm.is_empty() || algorithm.len() > 250 {
            return Err(StixError::at(
                at,
                Reason::Constraint("hash names have 1 to 250 characters".into()),
            ));
        }
        let Some(hash) = hash.as_str() else {
            return Err(StixError::at(at, Reason::WrongType("a string")));
        };
        if hash.is_empty() {
            return Err(StixError::at(at, Reason::EmptyString));
        }
        let hex_len = match algorithm.as_str() {
            "MD5" => Some(32),
            "SHA-1" => Some(40),
            "SHA-256" | "SHA3-256" => Some(64),
            "SHA-512" | "SHA3-512" => Some(128),
            _ => None,
        };
        if let Some(len) = hex_len {
            if hash.len() != len || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(StixError::at(
                    at,
                    Reason::Constraint(format!("{algorithm} must be {len} hexadecimal digits")),
                ));
            }
        }
    }
    Ok(())
}

const EXTENSION_TYPES: [&str; 5] = [
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// `extensions`: keyed by an extension-definition id or a predefined extension name (`…-ext`), each
/// value an object; an `extension_type`, when given, is one the specification names.
fn check_extensions(path: &str, value: &Value) -> Result<(), StixError> {
    let Some(extensions) = value.as_object() else {
        return Err(StixError::at(
            path,
            Reason::WrongType("an object of extensions"),
        ));
    };
    if extensions.is_empty() {
        return Err(StixError::at(
            path,
            Reason::Constraint("extensions must not be empty".into()),
        ));
    }
    for (key, extension) in extensions {
        let at = format!("{path}.{key}");
        let is_definition = key.starts_with("extension-definition--");
        if is_definition {
            split_identifier(key)
                .map_err(|why| StixError::at(&at, Reason::Identifier(key.clone(), why)))?;
        } else if !key.ends_with("-ext") || key.len() > 250 {
            return Err(StixError::at(
                at,
                Reason::Constraint(
                    "keys are extension-definition ids or predefined extension names".into(),
                ),
            ));
        }
        let extension = object(&at, extension)?;
        if let Some(t) = extension.get("extension_type") {
            match t.as_str() {
                Some(t) if EXTENSION_TYPES.contains(&t) => {}
                _ => {
                    return Err(StixError::at(
                        format!("{at}.extension_type"),
                        Reason::Constraint(format!(
                            "must be one of {}",
                            EXTENSION_TYPES.join(", ")
                        )),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(path: &str, v: Value, ty: Ty) -> Option<Reason> {
        check(path, &v, ty).err().map(|e| e.reason)
    }

    #[test]
    fn integers_are_integers_in_range() {
        assert_eq!(reason("confidence", json!(50), Ty::Int(0, 100)), None);
        assert!(matches!(
            reason("confidence", json!(101), Ty::Int(0, 100)),
            Some(Reason::OutOfRange { .. })
        ));
        assert!(matches!(
            reason("confidence", json!(50.0), Ty::Int(0, 100)),
            Some(Reason::WrongType(_))
        ));
        assert!(matches!(
            reason("count", json!(u64::MAX), Ty::Int(0, 10)),
            Some(Reason::OutOfRange { .. })
        ));
    }

    #[test]
    fn references_name_allowed_types() {
        let t = Targets::Types(&["identity"], "an identity");
        assert_eq!(
            reason(
                "created_by_ref",
                json!("identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                Ty::Ref(t)
            ),
            None
        );
        assert!(matches!(
            reason(
                "created_by_ref",
                json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                Ty::Ref(t)
            ),
            Some(Reason::RefType { .. })
        ));
        assert!(matches!(
            reason(
                "source_ref",
                json!("relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                Ty::Ref(Targets::Linkable)
            ),
            Some(Reason::RefType { .. })
        ));
        assert_eq!(
            reason(
                "source_ref",
                json!("x-custom--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                Ty::Ref(Targets::Linkable)
            ),
            None
        );
        assert!(matches!(
            reason(
                "source_ref",
                json!("bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                Ty::Ref(Targets::Linkable)
            ),
            Some(Reason::RefType { .. })
        ));
    }

    #[test]
    fn hashes_of_known_algorithms_are_hex_of_the_right_length() {
        assert_eq!(
            reason(
                "hashes",
                json!({"MD5": "d41d8cd98f00b204e9800998ecf8427e"}),
                Ty::Hashes
            ),
            None
        );
        assert!(reason("hashes", json!({"MD5": "xyz"}), Ty::Hashes).is_some());
        assert_eq!(
            reason("hashes", json!({"ssdeep": "3:a:b"}), Ty::Hashes),
            None
        );
        assert!(reason("hashes", json!({}), Ty::Hashes).is_some());
    }

    #[test]
    fn nested_errors_carry_their_path() {
        let e = check(
            "external_references",
            &json!([{"source_name": "a"}, {"url": "x"}]),
            Ty::ExternalReferences,
        )
        .unwrap_err();
        assert_eq!(e.path, "external_references[1].source_name");
        assert_eq!(e.reason, Reason::Missing);
        let e = check(
            "granular_markings",
            &json!([{"selectors": ["name"]}]),
            Ty::GranularMarkings,
        )
        .unwrap_err();
        assert_eq!(e.path, "granular_markings[0]");
    }
}
