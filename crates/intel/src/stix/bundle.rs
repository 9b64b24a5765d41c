//! Bundles: parsing untrusted STIX input, all-or-nothing or object by object.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{Reason, StixError};
use super::id::{new_identifier, split_identifier};
use super::object::StixObject;
use super::validate::{Limits, depth_exceeds};

/// A STIX bundle: a set of objects carried together. Unknown top-level properties of the bundle are
/// kept, in their place, so a relayed bundle says what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    id: String,
    objects: Vec<StixObject>,
    /// The bundle's own properties as they arrived, with `objects` (when it was present) held as a
    /// placeholder so it is written back in its place.
    envelope: Map<String, Value>,
}

impl Bundle {
    /// A new bundle of `objects` with a fresh random id.
    pub fn new(objects: Vec<StixObject>) -> Bundle {
        let id = new_identifier("bundle");
        let mut envelope = Map::new();
        envelope.insert("type".into(), "bundle".into());
        envelope.insert("id".into(), id.clone().into());
        envelope.insert("objects".into(), Value::Null);
        Bundle {
            id,
            objects,
            envelope,
        }
    }

    /// The bundle's id (`bundle--UUID`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The objects, in bundle order.
    pub fn objects(&self) -> &[StixObject] {
        &self.objects
    }

    /// The objects, taken out of the bundle.
    pub fn into_objects(self) -> Vec<StixObject> {
        self.objects
    }

    /// Appends an object.
    pub fn push(&mut self, object: StixObject) {
        self.objects.push(object);
    }

    /// The objects with this id (several versions may travel together).
    pub fn get<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a StixObject> + 'a {
        self.objects.iter().filter(move |o| o.id() == id)
    }

    /// The bundle as JSON (`objects` is omitted when empty, as the specification allows).
    pub fn to_value(&self) -> Value {
        let mut map = self.envelope.clone();
        if self.objects.is_empty() {
            // Filtered rather than removed, so the order of the others holds in every map mode.
            map = map.into_iter().filter(|(k, _)| k != "objects").collect();
        } else {
            let objects = Value::Array(self.objects.iter().map(StixObject::to_value).collect());
            map.insert("objects".into(), objects);
        }
        Value::Object(map)
    }

    /// Compact JSON text of the bundle.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

impl Serialize for Bundle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Parses a bundle and every object in it; the first invalid object refuses the whole bundle
/// (what a TAXII server does with one request).
pub fn parse_bundle(bytes: &[u8], limits: &Limits) -> Result<Bundle, StixError> {
    let (mut bundle, values) = parse_envelope(bytes, limits)?;
    bundle.objects = parse_objects(values, limits)?;
    Ok(bundle)
}

/// Parses a bundle, keeping the objects that are valid and reporting one error per invalid object
/// (each naming its index and, when readable, its id). Only a bundle that is unreadable as a whole
/// (not JSON, not a bundle, over the limits) is an error.
pub fn parse_bundle_partial(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Bundle, Vec<StixError>), StixError> {
    let (mut bundle, values) = parse_envelope(bytes, limits)?;
    let (objects, errors) = parse_objects_partial(values, limits);
    bundle.objects = objects;
    Ok((bundle, errors))
}

/// Validates a list of objects (a bundle's or a TAXII envelope's); the first invalid object is the
/// error.
pub fn parse_objects(values: Vec<Value>, limits: &Limits) -> Result<Vec<StixObject>, StixError> {
    check_count(values.len(), limits)?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| StixObject::from_value_with(v, limits).map_err(|e| e.with_index(i)))
        .collect()
}

/// Validates a list of objects, keeping the valid ones and one error per invalid one.
pub fn parse_objects_partial(
    values: Vec<Value>,
    limits: &Limits,
) -> (Vec<StixObject>, Vec<StixError>) {
    let mut objects = Vec::with_capacity(values.len().min(limits.max_objects));
    let mut errors = Vec::new();
    if let Err(e) = check_count(values.len(), limits) {
        errors.push(e);
    }
    for (i, value) in values.into_iter().enumerate().take(limits.max_objects) {
        match StixObject::from_value_with(value, limits) {
            Ok(object) => objects.push(object),
            Err(e) => errors.push(e.with_index(i)),
        }
    }
    (objects, errors)
}

fn check_count(count: usize, limits: &Limits) -> Result<(), StixError> {
    if count > limits.max_objects {
        return Err(StixError::at(
            "objects",
            Reason::TooManyObjects {
                count,
                limit: limits.max_objects,
            },
        ));
    }
    Ok(())
}

/// Reads the bundle's own properties and hands back its raw objects.
fn parse_envelope(bytes: &[u8], limits: &Limits) -> Result<(Bundle, Vec<Value>), StixError> {
    if bytes.len() > limits.max_bytes {
        return Err(StixError::new(Reason::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        }));
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| StixError::new(Reason::Json(e.to_string())))?;
    let Value::Object(mut map) = value else {
        return Err(StixError::new(Reason::WrongType("a bundle object")));
    };
    let id = map.get("id").and_then(Value::as_str).map(str::to_owned);
    let located = |e: StixError| e.with_object_id(id.as_deref());
    match map.get("type") {
        Some(Value::String(t)) if t == "bundle" => {}
        Some(_) => {
            return Err(located(StixError::at(
                "type",
                Reason::Constraint("must be \"bundle\"".into()),
            )));
        }
        None => return Err(located(StixError::at("type", Reason::Missing))),
    }
    let Some(id) = id.clone() else {
        return Err(StixError::at("id", Reason::Missing));
    };
    match split_identifier(&id) {
        Ok(("bundle", _)) => {}
        Ok(_) => {
            return Err(located(StixError::at(
                "id",
                Reason::Identifier(id.clone(), "must be bundle--UUID"),
            )));
        }
        Err(why) => {
            return Err(located(StixError::at(
                "id",
                Reason::Identifier(id.clone(), why),
            )));
        }
    }
    if let Some(version) = map.get("spec_version").and_then(Value::as_str) {
        if version != "2.1" {
            return Err(located(StixError::at(
                "spec_version",
                Reason::SpecVersion(version.to_owned()),
            )));
        }
    }
    // `objects` is taken out and a placeholder left in its place, so the other properties keep their
    // order whichever way serde_json orders maps.
    let objects = match map.get_mut("objects") {
        None => Vec::new(),
        Some(Value::Array(items)) => std::mem::take(items),
        Some(_) => {
            return Err(located(StixError::at(
                "objects",
                Reason::WrongType("a list of objects"),
            )));
        }
    };
    if let Some(slot) = map.get_mut("objects") {
        *slot = Value::Null;
    }
    check_count(objects.len(), limits).map_err(located)?;
    if depth_exceeds(&map, limits.max_depth) {
        return Err(located(StixError::new(Reason::TooDeep {
            limit: limits.max_depth,
        })));
    }
    Ok((
        Bundle {
            id,
            objects: Vec::new(),
            envelope: map,
        },
        objects,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
        {"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"},
        {"type":"identity","spec_version":"2.1","id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c",
         "created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","name":"Cole Powers","identity_class":"individual"}
    ]}"#;

    #[test]
    fn parses_a_valid_bundle() {
        let b = parse_bundle(GOOD.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(b.id(), "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d");
        assert_eq!(b.objects().len(), 2);
        assert_eq!(
            b.get("identity--311b2d2d-f010-4473-83ec-1edf84858f4c")
                .count(),
            1
        );
        let again: Value = serde_json::from_str(GOOD).unwrap();
        assert_eq!(b.to_value(), again);
    }

    #[test]
    fn one_bad_object_refuses_all_or_only_itself() {
        let bad = GOOD.replace("\"name\":\"Cole Powers\",", "");
        let e = parse_bundle(bad.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!((e.index, e.path.as_str()), (Some(1), "name"));
        assert_eq!(
            e.object_id.as_deref(),
            Some("identity--311b2d2d-f010-4473-83ec-1edf84858f4c")
        );
        let (b, errors) = parse_bundle_partial(bad.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(b.objects().len(), 1);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn envelope_problems_and_limits_are_errors() {
        let limits = Limits {
            max_objects: 1,
            ..Limits::default()
        };
        let e = parse_bundle(GOOD.as_bytes(), &limits).unwrap_err();
        assert!(matches!(
            e.reason,
            Reason::TooManyObjects { count: 2, limit: 1 }
        ));
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_bundle(GOOD.as_bytes(), &limits).unwrap_err().reason,
            Reason::TooLarge { .. }
        ));
        assert!(matches!(
            parse_bundle(b"[1]", &Limits::default()).unwrap_err().reason,
            Reason::WrongType(_)
        ));
        assert!(matches!(
            parse_bundle(b"{", &Limits::default()).unwrap_err().reason,
            Reason::Json(_)
        ));
        let not_bundle = GOOD.replacen("\"bundle\"", "\"report\"", 1);
        assert_eq!(
            parse_bundle(not_bundle.as_bytes(), &Limits::default())
                .unwrap_err()
                .path,
            "type"
        );
        let old = GOOD.replacen(
            "\"type\":\"bundle\",",
            "\"type\":\"bundle\",\"spec_version\":\"2.0\",",
            1,
        );
        assert!(matches!(
            parse_bundle(old.as_bytes(), &Limits::default())
                .unwrap_err()
                .reason,
            Reason::SpecVersion(_)
        ));
    }
}
