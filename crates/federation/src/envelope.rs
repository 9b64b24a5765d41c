//! Reading the objects of a TAXII envelope or STIX bundle as the exact JSON text they arrived as.
//!
//! The body is parsed once into borrowed raw values (`serde_json::value::RawValue`), so each
//! object's text is kept byte for byte while it is validated through [`StixObject`]; what is
//! stored and served later is that text, never a re-serialisation.

use serde::Deserialize;
use serde_json::value::RawValue;
use shield_intel::stix::{Limits, Reason, StixError, StixObject};
use shield_store::intel::IncomingObject;

/// A body that is not an envelope or bundle of objects as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON (serde_json's message names line and column).
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object with an `objects` list.
    #[error("the body is not a TAXII envelope or STIX bundle: {0}")]
    NotAnEnvelope(String),
    /// More objects than the limit.
    #[error("the body holds {count} objects, more than the limit of {limit}")]
    TooManyObjects {
        /// Objects in the body.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An invalid object, when the whole body is refused for it.
    #[error("{0}")]
    Invalid(StixError),
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(borrow, default)]
    objects: Option<Vec<&'a RawValue>>,
}

/// The objects of an envelope (`{"objects": [...]}`, TAXII 2.1) or a bundle
/// (`{"type": "bundle", "objects": [...]}`), each validated within `limits`.
///
/// With `all_or_nothing` the first invalid object refuses the body ([`EnvelopeError::Invalid`]);
/// otherwise the valid objects are returned with one error per invalid one (index and id).
pub fn parse_objects(
    body: &[u8],
    limits: &Limits,
    all_or_nothing: bool,
) -> Result<(Vec<IncomingObject>, Vec<StixError>), EnvelopeError> {
    let text = std::str::from_utf8(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let value: &RawValue =
        serde_json::from_str(text).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    if !value.get().starts_with('{') {
        return Err(EnvelopeError::NotAnEnvelope(
            "it is not a JSON object".into(),
        ));
    }
    let parsed: Body<'_> = serde_json::from_str(value.get())
        .map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))?;
    if let Some(kind) = parsed.kind.as_deref().filter(|k| *k != "bundle") {
        return Err(EnvelopeError::NotAnEnvelope(format!(
            "it is a single object of type {kind:?}; wrap objects in {{\"objects\": [...]}}"
        )));
    }
    let raws = parsed.objects.unwrap_or_default();
    if raws.len() > limits.max_objects {
        return Err(EnvelopeError::TooManyObjects {
            count: raws.len(),
            limit: limits.max_objects,
        });
    }
    let mut objects = Vec::with_capacity(raws.len());
    let mut errors = Vec::new();
    for (index, raw) in raws.into_iter().enumerate() {
        match parse_one(raw.get(), limits) {
            Ok(object) => objects.push(IncomingObject::verbatim(object, raw.get().to_owned())),
            Err(e) => {
                let e = e.with_index(index);
                if all_or_nothing {
                    return Err(EnvelopeError::Invalid(e));
                }
                errors.push(e);
            }
        }
    }
    Ok((objects, errors))
}

fn parse_one(text: &str, limits: &Limits) -> Result<StixObject, StixError> {
    if text.len() > limits.max_bytes {
        return Err(StixError::new(Reason::TooLarge {
            size: text.len(),
            limit: limits.max_bytes,
        }));
    }
    let value =
        serde_json::from_str(text).map_err(|e| StixError::new(Reason::Json(e.to_string())))?;
    StixObject::from_value_with(value, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDICATOR: &str = r#"{"type": "indicator",  "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-05-01T00:00:00.000Z", "modified": "2024-05-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.5']", "pattern_type": "stix",
        "valid_from": "2024-05-01T00:00:00Z", "x_custom": 1.50}"#;

    #[test]
    fn keeps_each_objects_text() {
        let body = format!("{{\"more\": false, \"objects\": [ {INDICATOR} ]}}");
        let (objects, errors) = parse_objects(body.as_bytes(), &Limits::default(), true).unwrap();
        assert!(errors.is_empty());
        assert_eq!(objects[0].json(), INDICATOR);
        let bundle = format!(
            "{{\"type\": \"bundle\", \"id\": \"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \
             \"objects\": [{INDICATOR}]}}"
        );
        assert_eq!(
            parse_objects(bundle.as_bytes(), &Limits::default(), true)
                .unwrap()
                .0
                .len(),
            1
        );
        assert!(
            parse_objects(b"{}", &Limits::default(), true)
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn refuses_or_reports_bad_objects() {
        let bad = INDICATOR.replace("\"pattern_type\": \"stix\",", "");
        let body = format!("{{\"objects\": [{INDICATOR}, {bad}]}}");
        let Err(EnvelopeError::Invalid(e)) =
            parse_objects(body.as_bytes(), &Limits::default(), true)
        else {
            panic!("accepted");
        };
        assert_eq!(e.index, Some(1));
        assert_eq!(e.path, "pattern_type");
        let (ok, errors) = parse_objects(body.as_bytes(), &Limits::default(), false).unwrap();
        assert_eq!((ok.len(), errors.len()), (1, 1));
        for (body, what) in [
            ("not json", "json"),
            ("[1, 2]", "envelope"),
            (INDICATOR, "envelope"),
            ("{\"objects\": 5}", "envelope"),
        ] {
            let e = parse_objects(body.as_bytes(), &Limits::default(), true).unwrap_err();
            match what {
                "json" => assert!(matches!(e, EnvelopeError::NotJson(_)), "{body}"),
                _ => assert!(matches!(e, EnvelopeError::NotAnEnvelope(_)), "{body}: {e}"),
            }
        }
        let limits = Limits {
            max_objects: 1,
            ..Limits::default()
        };
        let two = format!("{{\"objects\": [{INDICATOR}, {INDICATOR}]}}");
        assert!(matches!(
            parse_objects(two.as_bytes(), &limits, true),
            Err(EnvelopeError::TooManyObjects { count: 2, limit: 1 })
        ));
    }
}
