//! [`ObservedObjects`]: STIX cyber observables as an [`ObservableSource`].

use std::ops::ControlFlow;

use serde_json::{Map, Value};

use super::ast::{ObjectPath, PathStep};
use super::eval::ObservableSource;
use crate::stix::Timestamp;

/// The cyber observables of one observation, as STIX JSON objects: the SCOs an `observed-data`
/// refers to, or the `objects` dictionary of a STIX 2.0-style `observed-data`.
///
/// Object paths are walked through the JSON; a string met where a property is expected is taken as
/// a reference (`network-traffic:dst_ref.value`) and resolved among these objects, by id or by
/// dictionary key.
#[derive(Debug, Clone, Default)]
pub struct ObservedObjects<'a> {
    objects: Vec<(&'a str, &'a Value)>,
    observed_at: Option<Timestamp>,
}

impl<'a> ObservedObjects<'a> {
    /// No objects yet.
    pub fn new() -> Self {
        ObservedObjects::default()
    }

    /// Observables given as STIX 2.1 objects, referred to by their `id`.
    pub fn from_objects(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let objects = objects
            .into_iter()
            .map(|o| (o.get("id").and_then(Value::as_str).unwrap_or_default(), o))
            .collect();
        ObservedObjects {
            objects,
            observed_at: None,
        }
    }

    /// Observables given as an `observed-data` `objects` dictionary, referred to by their keys.
    pub fn from_dictionary(objects: &'a Map<String, Value>) -> Self {
        ObservedObjects {
            objects: objects.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            observed_at: None,
        }
    }

    /// Adds an observable known by `key` (its id).
    pub fn push(&mut self, key: &'a str, object: &'a Value) {
        self.objects.push((key, object));
    }

    /// The same observation, made at `at` (for `START … STOP …`).
    pub fn at(mut self, at: Timestamp) -> Self {
        self.observed_at = Some(at);
        self
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        self.objects
            .iter()
            .find(|(k, _)| *k == reference)
            .map(|(_, v)| *v)
    }

    fn walk(
        &self,
        value: &Value,
        steps: &[PathStep],
        visit: &mut dyn FnMut(&Value) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let Some((step, rest)) = steps.split_first() else {
            return visit(value);
        };
        match (step, value) {
            (PathStep::Key(k), Value::Object(map)) => match map.get(k) {
                Some(child) => self.walk(child, rest, visit),
                None => ControlFlow::Continue(()),
            },
            (PathStep::Key(_), Value::String(reference)) => match self.resolve(reference) {
                Some(target) if target.is_object() => self.walk(target, steps, visit),
                _ => ControlFlow::Continue(()),
            },
            (PathStep::Index(i), Value::Array(items)) => {
                let index = if *i < 0 {
                    items.len().checked_sub(i.unsigned_abs() as usize)
                } else {
                    Some(*i as usize)
                };
                match index.and_then(|i| items.get(i)) {
                    Some(child) => self.walk(child, rest, visit),
                    None => ControlFlow::Continue(()),
                }
            }
            (PathStep::AnyIndex, Value::Array(items)) => {
                for child in items {
                    self.walk(child, rest, visit)?;
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

impl ObservableSource for ObservedObjects<'_> {
    fn visit_values(&self, path: &ObjectPath, visit: &mut dyn FnMut(&Value) -> ControlFlow<()>) {
        for (_, object) in &self.objects {
            if object.get("type").and_then(Value::as_str) == Some(path.object_type.as_str())
                && self.walk(object, &path.steps, visit).is_break()
            {
                return;
            }
        }
    }

    fn observed_at(&self) -> Option<Timestamp> {
        self.observed_at
    }
}
