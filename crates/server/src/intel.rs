//! Threat intelligence in the node: the default collections, the live IOC matcher built from the
//! stored indicators (rebuilt when the store's intel generation changes), and STIX sightings for
//! intel hits.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shield_event::{Alert, AlertKind};
use shield_intel::ioc::Ioc;
use shield_intel::matcher::{
    IndicatorRef, IndicatorSet, IndicatorTable, IocMatcher, MatcherError, indicator_record,
    pattern_iocs,
};
use shield_intel::stix::{ObjectBuilder, StixObject, Timestamp};
use shield_intel::tlp::Tlp;
use shield_store::intel::{
    Collection, CollectionAccess, Grant, IncomingObject, IntelWrite, Provenance,
};
use shield_store::{IntelStore, Role, StoreError};
use uuid::Uuid;

/// Alias of the collection indicators are imported into.
pub const INDICATORS: &str = "indicators";
/// Alias of the collection the node's sightings go to.
pub const SIGHTINGS: &str = "sightings";

fn collection_id(alias: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("shield:collection:{alias}").as_bytes(),
    )
    .to_string()
}

/// The collections every node has: `indicators` and `sightings`, readable by every authenticated
/// caller (TLP still applies per object), writable by admins and peers.
pub fn default_collections() -> Vec<Collection> {
    let access = CollectionAccess {
        read: vec![Grant::Anyone],
        write: vec![Grant::Role(Role::Admin), Grant::Role(Role::Peer)],
    };
    vec![
        Collection {
            id: collection_id(INDICATORS),
            alias: Some(INDICATORS.to_owned()),
            title: "Indicators".to_owned(),
            description: Some(
                "Indicators this node matches live against every ingested event.".to_owned(),
            ),
            access: access.clone(),
        },
        Collection {
            id: collection_id(SIGHTINGS),
            alias: Some(SIGHTINGS.to_owned()),
            title: "Sightings".to_owned(),
            description: Some("Sightings of indicators in this node's events.".to_owned()),
            access,
        },
    ]
}

/// Creates the default collections that do not exist yet.
pub fn ensure_default_collections(store: &dyn IntelStore) -> Result<(), StoreError> {
    for c in default_collections() {
        if store
            .collection(c.alias.as_deref().unwrap_or(&c.id))?
            .is_none()
        {
            store.ensure_collection(&c)?;
        }
    }
    Ok(())
}

/// What a matcher build found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndicatorLoad {
    /// Indicators compiled into the matcher.
    pub indicators: usize,
    /// Values (addresses, domains, hashes…) in the matcher.
    pub values: usize,
    /// Live indicators whose pattern holds no value the matcher can look up (they are kept in the
    /// store; offline evaluation will use them).
    pub not_matchable: usize,
    /// The store generation the matcher reflects.
    pub generation: u64,
}

/// Compiles STIX indicators into an [`IndicatorSet`]: the values of their patterns into the
/// matcher, their metadata into the side table. Used for the node's live matcher and for
/// `shield hunt --intel`.
#[derive(Default)]
pub struct IndicatorSetBuilder {
    table: IndicatorTable,
    entries: Vec<(Ioc, IndicatorRef)>,
    load: IndicatorLoad,
}

impl IndicatorSetBuilder {
    /// An empty builder.
    pub fn new() -> IndicatorSetBuilder {
        IndicatorSetBuilder::default()
    }

    /// Adds an object; `true` when it is an indicator whose pattern holds values the matcher can
    /// look up (other indicators are counted as not matchable; other objects are ignored).
    pub fn add(&mut self, object: &StixObject) -> bool {
        let Some(indicator) = object.as_indicator() else {
            return false;
        };
        let iocs = indicator
            .stix_pattern()
            .and_then(Result::ok)
            .and_then(|p| pattern_iocs(&p));
        let Some(iocs) = iocs.filter(|p| !p.iocs.is_empty()) else {
            self.load.not_matchable += 1;
            return false;
        };
        let Ok(reference) = self.table.push(&indicator_record(object)) else {
            self.load.not_matchable += 1;
            return false;
        };
        self.load.indicators += 1;
        self.load.values += iocs.iocs.len();
        self.entries
            .extend(iocs.iocs.into_iter().map(|ioc| (ioc, reference)));
        true
    }

    /// Counts an object that could not be read as not matchable.
    pub fn skip(&mut self) {
        self.load.not_matchable += 1;
    }

    /// What was added so far.
    pub fn load(&self) -> &IndicatorLoad {
        &self.load
    }

    /// Compiles the matcher.
    pub fn build(mut self) -> Result<(IndicatorSet, IndicatorLoad), MatcherError> {
        let matcher = IocMatcher::build(self.entries.iter().map(|(ioc, r)| (ioc, *r)))?;
        self.table.shrink_to_fit();
        Ok((
            IndicatorSet {
                matcher: Arc::new(matcher),
                table: Arc::new(self.table),
            },
            self.load,
        ))
    }
}

/// Builds a matcher from every live (unrevoked, unexpired) indicator in the store.
pub fn build_indicator_set(
    store: &dyn IntelStore,
    now: DateTime<Utc>,
) -> Result<(IndicatorSet, IndicatorLoad), StoreError> {
    let generation = store.intel_generation()?;
    let mut builder = IndicatorSetBuilder::new();
    store.live_indicators(
        now,
        &mut |live| match StixObject::from_json(live.json.as_bytes()) {
            Ok(object) => {
                if object.as_indicator().is_some() {
                    builder.add(&object);
                } else {
                    builder.skip();
                }
            }
            Err(_) => builder.skip(),
        },
    )?;
    let (set, mut load) = builder.build().map_err(|e| StoreError::Corrupt {
        what: "indicator matcher".to_owned(),
        reason: e.to_string(),
    })?;
    load.generation = generation;
    Ok((set, load))
}

/// The STIX identity of an organisation, with an id derived from its name.
pub fn organisation_identity(org: &str) -> Option<StixObject> {
    let id = format!(
        "identity--{}",
        Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("shield:org:{org}").as_bytes())
    );
    ObjectBuilder::identity(
        org,
        "organization",
        Timestamp::from(DateTime::<Utc>::UNIX_EPOCH),
    )
    .id(id)
    .build()
    .ok()
}

/// One sighting per intel alert, by this organisation, marked with the indicator's TLP (AMBER when
/// unknown: a sighting says where an attack was seen).
pub fn sightings_for(alerts: &[Alert], org: &str) -> Vec<IncomingObject> {
    let Some(identity) = organisation_identity(org) else {
        return Vec::new();
    };
    alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Intel && a.rule.id.starts_with("indicator--"))
        .filter_map(|a| {
            let seen = Timestamp::from(a.event_time.unwrap_or(a.created));
            let tlp = a.details["tlp"]
                .as_str()
                .and_then(Tlp::from_tag)
                .unwrap_or(Tlp::Amber)
                .max(Tlp::Green);
            // Id and version derived from the alert's: storing it again changes nothing.
            let mut sighting = ObjectBuilder::sighting(&a.rule.id, Timestamp::from(a.created))
                .id(crate::journal::sighting_id(&a.id))
                .created_by(identity.id())
                .property("first_seen", seen)
                .property("last_seen", seen)
                .property("count", 1)
                .property("where_sighted_refs", vec![identity.id()])
                .tlp(tlp);
            // What was observed stays on the local sighting; federation shares it pseudonymised.
            let observed = crate::federation::observed::observed_of_alert(a);
            if !observed.is_empty() {
                sighting =
                    sighting.property(crate::federation::observed::OBSERVED_PROPERTY, observed);
            }
            sighting.build().ok().map(IncomingObject::new)
        })
        .collect()
}

/// Stores sightings in the `sightings` collection.
pub fn store_sightings(
    store: &dyn IntelStore,
    sightings: Vec<IncomingObject>,
    org: &str,
) -> Result<usize, StoreError> {
    if sightings.is_empty() {
        return Ok(0);
    }
    let mut objects = sightings;
    if let Some(identity) = organisation_identity(org) {
        objects.insert(0, IncomingObject::new(identity));
    }
    let report = store.put_objects(&IntelWrite {
        collection: collection_id(SIGHTINGS),
        objects,
        provenance: Provenance {
            source: "node:sightings".to_owned(),
            org: org.to_owned(),
            default_tlp: Tlp::Amber,
            shared_with: Vec::new(),
        },
        received: Utc::now(),
        status_id: None,
    })?;
    Ok(report.added())
}
