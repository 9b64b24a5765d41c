//! What the store derives from an object before storing it: the columns queries filter on and
//! the observable values it is found by. Shared by every backend, so they derive alike.

use chrono::{DateTime, Utc};
use shield_intel::ioc::detect;
use shield_intel::matcher::pattern_iocs;
use shield_intel::stix::StixObject;
use shield_intel::tlp::{Tlp, tlp_of, tlp_of_marking_definition};

use super::model::{IncomingObject, IntelWrite, Provenance};
use crate::StoreError;

/// Most observable values indexed per indicator; a pattern naming more is indexed by its first.
pub(crate) const MAX_OBSERVABLES: usize = 1000;

/// Longest provenance text (source, organisation) accepted, in bytes.
const MAX_PROVENANCE_LEN: usize = 1024;

/// What the store derives from an object alone, before any provenance applies: computed when
/// the [`IncomingObject`] is made, on the caller's thread, so that the store's single writer
/// only writes (parsing patterns is most of the cost of storing an indicator).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived {
    /// `modified` (else `created`) in microseconds; `None` for objects without either.
    pub version_us: Option<i64>,
    /// The level of the object's own TLP marking (CLEAR for a TLP marking definition itself).
    pub marking_tlp: Option<Tlp>,
    /// An indicator's `valid_until` in microseconds.
    pub valid_until: Option<i64>,
    /// Normalised indicator values of a simple STIX pattern, sorted, without repeats.
    pub observables: Vec<String>,
}

/// Derives what the store needs from `object`.
pub(crate) fn derive(object: &StixObject) -> Derived {
    Derived {
        version_us: object
            .version_text()
            .and(object.modified())
            .map(|t| t.as_datetime().timestamp_micros()),
        marking_tlp: if tlp_of_marking_definition(object).is_some() {
            Some(Tlp::Clear)
        } else {
            tlp_of(object)
        },
        valid_until: object
            .as_indicator()
            .and_then(|i| i.valid_until())
            .map(|t| t.as_datetime().timestamp_micros()),
        observables: observable_values(object),
    }
}

/// The derived columns of one incoming object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared<'a> {
    pub id: &'a str,
    pub type_name: &'a str,
    pub spec_version: &'a str,
    /// `(text, microseconds)` of `modified`/`created`; `None` for objects without either.
    pub version: Option<(&'a str, i64)>,
    pub tlp: Tlp,
    pub revoked: bool,
    pub valid_until: Option<i64>,
    /// Normalised indicator values of a simple STIX pattern.
    pub observables: &'a [String],
    pub json: &'a str,
}

/// The columns of `incoming` under `provenance`.
pub(crate) fn prepare<'a>(incoming: &'a IncomingObject, provenance: &Provenance) -> Prepared<'a> {
    let object = incoming.object();
    let derived = incoming.derived();
    Prepared {
        id: object.id(),
        type_name: object.type_name(),
        spec_version: object.spec_version().unwrap_or("2.1"),
        version: object.version_text().zip(derived.version_us),
        tlp: derived.marking_tlp.unwrap_or(provenance.default_tlp),
        revoked: object.revoked(),
        valid_until: derived.valid_until,
        observables: &derived.observables,
        json: incoming.json(),
    }
}

/// The normalised values a STIX indicator's pattern looks for, when the pattern is a disjunction
/// of comparisons the IOC matcher can stand for.
pub(crate) fn observable_values(object: &StixObject) -> Vec<String> {
    let Some(Ok(pattern)) = object.as_indicator().and_then(|i| i.stix_pattern()) else {
        return Vec::new();
    };
    let Some(iocs) = pattern_iocs(&pattern) else {
        return Vec::new();
    };
    let mut values: Vec<String> = iocs
        .iocs
        .into_iter()
        .take(MAX_OBSERVABLES)
        .map(|ioc| ioc.into_parts().1)
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The keys a looked-up value is found under: the value as given (trimmed) and, when its kind can
/// be told, its normalised form (lowercase hashes and domains, refanged addresses).
pub(crate) fn lookup_keys(value: &str) -> Vec<String> {
    let mut keys = vec![value.trim().to_owned()];
    if let Some(ioc) = detect(value) {
        keys.push(ioc.into_parts().1);
    }
    keys.retain(|k| !k.is_empty());
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Checks what a write carries besides its (already validated) objects.
pub(crate) fn check_write(write: &IntelWrite) -> Result<(), StoreError> {
    let p = &write.provenance;
    for (field, value) in [
        ("collection", write.collection.as_str()),
        ("provenance source", p.source.as_str()),
        ("provenance organisation", p.org.as_str()),
    ] {
        check_text(field, value)?;
    }
    for org in &p.shared_with {
        check_text("shared_with organisation", org)?;
    }
    if let Some(id) = &write.status_id {
        check_text("status id", id)?;
    }
    Ok(())
}

pub(crate) fn check_text(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() || value.len() > MAX_PROVENANCE_LEN || value.chars().any(char::is_control) {
        return Err(StoreError::InvalidInput {
            field,
            reason: format!("must be 1 to {MAX_PROVENANCE_LEN} printable bytes"),
        });
    }
    Ok(())
}

/// The `date_added` of the next version in a collection whose newest is `last` (µs): the receive
/// time, or one microsecond after `last` when the clock has not moved past it.
pub(crate) fn next_date_added(received: DateTime<Utc>, last: i64) -> i64 {
    received.timestamp_micros().max(last.saturating_add(1))
}

/// A stored microsecond time back as a `DateTime`.
pub(crate) fn from_micros(us: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt {
        what: what.to_owned(),
        reason: format!("time {us} out of range"),
    })
}

/// A TLP level as stored: its rank, least restrictive first.
pub(crate) fn tlp_rank(tlp: Tlp) -> i64 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

/// A stored TLP rank back.
pub(crate) fn tlp_from_rank(rank: i64, what: &str) -> Result<Tlp, StoreError> {
    usize::try_from(rank)
        .ok()
        .and_then(|r| Tlp::ALL.get(r).copied())
        .ok_or_else(|| StoreError::Corrupt {
            what: what.to_owned(),
            reason: format!("TLP rank {rank}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator(pattern: &str, markings: &[&str]) -> StixObject {
        let mut v = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2024-05-01T00:00:00.000Z", "modified": "2024-05-02T00:00:00.000Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-05-01T00:00:00Z",
            "valid_until": "2025-05-01T00:00:00Z",
        });
        if !markings.is_empty() {
            v["object_marking_refs"] = json!(markings);
        }
        StixObject::from_value(v).unwrap()
    }

    #[test]
    fn columns_are_derived() {
        let obj = indicator(
            "[domain-name:value = 'Evil.Example'] OR [ipv4-addr:value = '203.0.113.5']",
            &[Tlp::Amber.marking_id(), Tlp::Green.marking_id()],
        );
        let incoming = IncomingObject::new(obj);
        let provenance = Provenance {
            source: "test".into(),
            org: "a".into(),
            default_tlp: Tlp::Clear,
            shared_with: vec![],
        };
        let p = prepare(&incoming, &provenance);
        assert_eq!(p.tlp, Tlp::Amber);
        assert_eq!(p.version.unwrap().0, "2024-05-02T00:00:00.000Z");
        assert_eq!(p.observables, vec!["203.0.113.5", "evil.example"]);
        assert!(p.valid_until.is_some());
        let unmarked = IncomingObject::new(indicator("[url:value = 'http://x.example/']", &[]));
        assert_eq!(prepare(&unmarked, &provenance).tlp, Tlp::Clear);
    }

    #[test]
    fn lookup_keys_normalise() {
        assert_eq!(
            lookup_keys(" evil[.]EXAMPLE "),
            vec!["evil.example", "evil[.]EXAMPLE"]
        );
        assert_eq!(lookup_keys("   "), Vec::<String>::new());
    }

    #[test]
    fn date_added_is_strictly_increasing() {
        let t = DateTime::from_timestamp_micros(1_000).unwrap();
        assert_eq!(next_date_added(t, 0), 1_000);
        assert_eq!(next_date_added(t, 1_000), 1_001);
        assert_eq!(next_date_added(t, 5_000), 5_001);
    }
}
