//! The hub's cross-border correlation.
//!
//! The hub feeds every sighting its members share into a [`Correlator`] as [`SightingReport`]s:
//! a correlation key (the sighted indicator's id, or a pseudonym / public value the sighting
//! observed), the reporting organisation and its country, when it was seen, the sighting's id and
//! TLP. When one key has been sighted by at least `min_organisations` organisations from at least
//! `min_countries` countries within `window`, the correlator raises a [`CrossBorderIncident`]: a
//! STIX `incident` and a `report` whose `object_refs` are the incident, the sightings and (for an
//! indicator key) the indicator, marked with the most restrictive TLP of the contributing
//! sightings and meant for the contributing organisations.
//!
//! * **Once per key and window**: after an incident the key is quiet for one window; sightings
//!   keep accumulating and may raise the next incident after it.
//! * **Time is an input**: `observe(report, now)`; entries older than `now - window` expire.
//! * **Bounded memory**: one entry per (key, organisation) (the latest sighting), at most
//!   `max_organisations_per_key` per key and `max_keys` keys; at the cap, expired keys are swept
//!   and, if none expired, the new key is dropped and counted ([`Correlator::dropped`]).
//! * **Deterministic ids**: the incident and report ids derive from the key and the first
//!   contributing sighting time, so a hub that restarts and replays sightings raises the same
//!   objects, which receivers apply idempotently.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use shield_intel::stix::{StixError, StixObject, Timestamp, identifier_type};
use shield_intel::tlp::Tlp;
use uuid::Uuid;

use crate::identity::{Country, SHIELD_NAMESPACE};

/// Correlation settings (`[federation.correlation]` on a hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationConfig {
    /// Distinct organisations needed (default 2).
    pub min_organisations: usize,
    /// Distinct countries needed among them (default 2: cross-border).
    pub min_countries: usize,
    /// How close in time the sightings must be (default 24 hours).
    pub window: Duration,
    /// Most keys tracked at once (default 100,000).
    pub max_keys: usize,
    /// Most organisations tracked per key (default 256).
    pub max_organisations_per_key: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            min_organisations: 2,
            min_countries: 2,
            window: Duration::from_secs(24 * 3600),
            max_keys: 100_000,
            max_organisations_per_key: 256,
        }
    }
}

/// One shared sighting, as the correlator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingReport {
    /// What was sighted: an indicator id, a pseudonym, or `<type>:<value>`.
    pub key: String,
    /// The shared sighting's id.
    pub sighting_id: String,
    /// The reporting organisation (STIX identity id).
    pub organisation: String,
    /// Its country.
    pub country: Country,
    /// When it was seen (the sighting's `last_seen`, else its `modified`).
    pub seen: DateTime<Utc>,
    /// The sighting's TLP.
    pub tlp: Tlp,
}

#[derive(Debug, Clone)]
struct Entry {
    sighting_id: String,
    country: Country,
    seen: DateTime<Utc>,
    tlp: Tlp,
}

#[derive(Debug, Default)]
struct KeyState {
    /// Latest sighting per organisation.
    entries: HashMap<String, Entry>,
    /// No incident for this key before this instant.
    quiet_until: Option<DateTime<Utc>>,
}

impl SightingReport {
    /// The reports of one shared sighting (see [`crate::pseudonym::share_sighting`]) by
    /// `organisation` in `country`: one for the sighted object (`sighting_of_ref`) and one per
    /// observation it carries (pseudonym or public value). The time is `last_seen`, else
    /// `first_seen`, else `modified`; the TLP is the sighting's most restrictive marking, else
    /// `default_tlp`. `None` for an object that is not a sighting.
    pub fn from_shared_sighting(
        sighting: &StixObject,
        organisation: &str,
        country: Country,
        default_tlp: Tlp,
    ) -> Option<Vec<SightingReport>> {
        let view = sighting.as_sighting()?;
        let seen = view
            .last_seen()
            .or(view.first_seen())
            .or(sighting.modified())?
            .as_datetime();
        let tlp = shield_intel::tlp::tlp_of(sighting).unwrap_or(default_tlp);
        let observations = crate::pseudonym::shared_observations(sighting);
        let keys = std::iter::once(view.sighting_of_ref().to_owned()).chain(
            observations
                .iter()
                .map(crate::pseudonym::SharedObservation::correlation_key),
        );
        let mut seen_keys = std::collections::BTreeSet::new();
        Some(
            keys.filter(|k| seen_keys.insert(k.clone()))
                .map(|key| SightingReport {
                    key,
                    sighting_id: sighting.id().to_owned(),
                    organisation: organisation.to_owned(),
                    country,
                    seen,
                    tlp,
                })
                .collect(),
        )
    }
}

/// A cross-border incident the hub raises.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossBorderIncident {
    /// The correlation key.
    pub key: String,
    /// The contributing organisations and their countries, sorted.
    pub contributors: Vec<(String, Country)>,
    /// The contributing sightings' ids, sorted.
    pub sightings: Vec<String>,
    /// Earliest and latest contributing sighting.
    pub first_seen: DateTime<Utc>,
    /// Latest contributing sighting.
    pub last_seen: DateTime<Utc>,
    /// The most restrictive TLP among the sightings.
    pub tlp: Tlp,
    /// The STIX `incident`.
    pub incident: StixObject,
    /// The STIX `report` referencing the incident and the sightings.
    pub report: StixObject,
}

impl CrossBorderIncident {
    /// The contributing organisations' identity ids (the incident's explicit recipients).
    pub fn organisations(&self) -> impl Iterator<Item = &str> {
        self.contributors.iter().map(|(o, _)| o.as_str())
    }
}

/// The hub's correlation state.
#[derive(Debug)]
pub struct Correlator {
    config: CorrelationConfig,
    hub_organisation: String,
    keys: HashMap<String, KeyState>,
    dropped: u64,
}

impl Correlator {
    /// A correlator raising incidents as `hub_organisation` (its STIX identity id).
    pub fn new(config: CorrelationConfig, hub_organisation: &str) -> Correlator {
        Correlator {
            config,
            hub_organisation: hub_organisation.to_owned(),
            keys: HashMap::new(),
            dropped: 0,
        }
    }

    /// Keys tracked now.
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    /// Reports dropped because the key table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.window).unwrap_or(chrono::Duration::MAX)
    }

    /// Forgets entries seen before `now - window`, and keys left with nothing to remember.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let horizon = now.checked_sub_signed(self.window());
        self.keys.retain(|_, state| {
            if let Some(horizon) = horizon {
                state.entries.retain(|_, e| e.seen >= horizon);
            }
            !state.entries.is_empty() || state.quiet_until.is_some_and(|q| q > now)
        });
    }

    /// Takes one sighting; returns the incident it completes, if any.
    pub fn observe(
        &mut self,
        report: SightingReport,
        now: DateTime<Utc>,
    ) -> Result<Option<CrossBorderIncident>, StixError> {
        let window = self.window();
        // A sighting from the future counts as seen now; one older than the window is history.
        let seen = report.seen.min(now);
        if now.checked_sub_signed(window).is_some_and(|h| seen < h) {
            return Ok(None);
        }
        if !self.keys.contains_key(&report.key) && self.keys.len() >= self.config.max_keys {
            self.expire(now);
            if self.keys.len() >= self.config.max_keys {
                self.dropped += 1;
                return Ok(None);
            }
        }
        let min_organisations = self.config.min_organisations.max(1);
        let min_countries = self.config.min_countries.max(1);
        let cap = self.config.max_organisations_per_key.max(min_organisations);
        let state = self.keys.entry(report.key.clone()).or_default();
        if let Some(horizon) = now.checked_sub_signed(window) {
            state.entries.retain(|_, e| e.seen >= horizon);
        }
        let entry = Entry {
            sighting_id: report.sighting_id,
            country: report.country,
            seen,
            tlp: report.tlp,
        };
        let at_cap = state.entries.len() >= cap;
        match state.entries.get_mut(&report.organisation) {
            Some(existing) if entry.seen >= existing.seen => *existing = entry,
            Some(_) => {}
            None if !at_cap => {
                state.entries.insert(report.organisation, entry);
            }
            None => {}
        }
        if state.quiet_until.is_some_and(|q| now < q) {
            return Ok(None);
        }
        let mut countries: Vec<Country> = state.entries.values().map(|e| e.country).collect();
        countries.sort();
        countries.dedup();
        if state.entries.len() < min_organisations || countries.len() < min_countries {
            return Ok(None);
        }
        let mut contributors: Vec<(String, Country)> = state
            .entries
            .iter()
            .map(|(org, e)| (org.clone(), e.country))
            .collect();
        contributors.sort();
        let mut sightings: Vec<String> = state
            .entries
            .values()
            .map(|e| e.sighting_id.clone())
            .collect();
        sightings.sort();
        let first_seen = state.entries.values().map(|e| e.seen).min().unwrap_or(seen);
        let last_seen = state.entries.values().map(|e| e.seen).max().unwrap_or(seen);
        let tlp = state
            .entries
            .values()
            .map(|e| e.tlp)
            .max()
            .unwrap_or(Tlp::Amber);
        state.quiet_until = now.checked_add_signed(window);
        state.entries.clear();
        let (incident, report_object) = incident_objects(
            &self.hub_organisation,
            &report.key,
            &contributors,
            &sightings,
            first_seen,
            Timestamp::from_datetime(now).truncated_to_millis(),
            tlp,
        )?;
        Ok(Some(CrossBorderIncident {
            key: report.key,
            contributors,
            sightings,
            first_seen,
            last_seen,
            tlp,
            incident,
            report: report_object,
        }))
    }
}

/// The id of Shield's cross-border correlation extension (carried by the report).
pub const CORRELATION_EXTENSION_ID: &str =
    "extension-definition--0e8fd3a4-3b8e-4f0c-9d53-6a1f2b7c8e91";

fn incident_objects(
    hub: &str,
    key: &str,
    contributors: &[(String, Country)],
    sightings: &[String],
    first_seen: DateTime<Utc>,
    now: Timestamp,
    tlp: Tlp,
) -> Result<(StixObject, StixObject), StixError> {
    let seed = format!("{key}|{}", first_seen.timestamp_micros());
    let incident_id = format!(
        "incident--{}",
        Uuid::new_v5(
            &SHIELD_NAMESPACE,
            format!("cross-border-incident:{seed}").as_bytes()
        )
    );
    let report_id = format!(
        "report--{}",
        Uuid::new_v5(
            &SHIELD_NAMESPACE,
            format!("cross-border-report:{seed}").as_bytes()
        )
    );
    let mut countries: Vec<&str> = contributors.iter().map(|(_, c)| c.as_str()).collect();
    countries.sort_unstable();
    countries.dedup();
    let countries = countries.join(", ");
    let what = if identifier_type(key) == Some("indicator") {
        format!("indicator {key}")
    } else {
        format!("observable {key}")
    };
    let name = format!("Cross-border sightings in {countries}");
    let description = format!(
        "{} organisations in {countries} sighted {what} within the correlation window.",
        contributors.len()
    );
    let incident = StixObject::from_value(json!({
        "type": "incident", "spec_version": "2.1", "id": incident_id,
        "created": now, "modified": now, "created_by_ref": hub,
        "name": name, "description": description,
        "labels": ["cross-border"],
        "object_marking_refs": [tlp.marking_id()],
    }))?;
    let mut refs = vec![incident_id.clone()];
    refs.extend(sightings.iter().cloned());
    if identifier_type(key) == Some("indicator") {
        refs.push(key.to_owned());
    }
    let report = StixObject::from_value(json!({
        "type": "report", "spec_version": "2.1", "id": report_id,
        "created": now, "modified": now, "created_by_ref": hub,
        "name": name, "description": description,
        "report_types": ["threat-report"],
        "published": now,
        "object_refs": refs,
        "object_marking_refs": [tlp.marking_id()],
        "extensions": { CORRELATION_EXTENSION_ID: {
            "extension_type": "property-extension",
            "key": key,
            "organisations": contributors.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
            "countries": contributors.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(),
            "first_seen": Timestamp::from_datetime(first_seen),
        }},
    }))?;
    Ok((incident, report))
}

/// The `extension-definition` object of the correlation extension.
pub fn correlation_extension_definition() -> StixObject {
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Shield cross-border correlation",
  "description": "Why a hub raised a cross-border incident: the correlation key (indicator id, pseudonym or type:value), the contributing organisations and their ISO 3166-1 countries (same order), the first contributing sighting time.",
  "type": "object",
  "properties": {
    "extension_type": {"const": "property-extension"},
    "key": {"type": "string"},
    "organisations": {"type": "array", "items": {"type": "string"}},
    "countries": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    "first_seen": {"type": "string", "format": "date-time"}
  },
  "required": ["extension_type", "key", "organisations", "countries"]
}"#;
    let value = json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": CORRELATION_EXTENSION_ID,
        "created_by_ref": crate::signing::SHIELD_IDENTITY_ID,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Shield cross-border correlation",
        "schema": schema,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    });
    match StixObject::from_value(value) {
        Ok(object) => object,
        // A constant shape; validation cannot refuse it (unit-tested).
        Err(e) => unreachable!("constant STIX object refused: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";
    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";
    const EE2: &str = "identity--00000000-0000-4000-8000-0000000000e2";
    const LV: &str = "identity--00000000-0000-4000-8000-00000000001e";
    const LT: &str = "identity--00000000-0000-4000-8000-00000000001f";
    const INDICATOR: &str = "indicator--0b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f70";

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn report(key: &str, org: &str, country: &str, minutes: i64, tlp: Tlp) -> SightingReport {
        let id = Uuid::new_v5(
            &SHIELD_NAMESPACE,
            format!("{key}|{org}|{minutes}").as_bytes(),
        );
        SightingReport {
            key: key.into(),
            sighting_id: format!("sighting--{id}"),
            organisation: org.into(),
            country: Country::parse(country).unwrap(),
            seen: at(minutes),
            tlp,
        }
    }

    fn hour_window() -> Correlator {
        Correlator::new(
            CorrelationConfig {
                window: Duration::from_secs(3600),
                ..CorrelationConfig::default()
            },
            HUB,
        )
    }

    #[test]
    fn two_countries_within_the_window_raise_one_incident() {
        let mut c = hour_window();
        assert!(
            c.observe(report(INDICATOR, EE, "EE", 0, Tlp::Green), at(0))
                .unwrap()
                .is_none()
        );
        // Same country, another organisation: not cross-border.
        assert!(
            c.observe(report(INDICATOR, EE2, "EE", 5, Tlp::Green), at(5))
                .unwrap()
                .is_none()
        );
        let incident = c
            .observe(report(INDICATOR, LV, "LV", 30, Tlp::Amber), at(30))
            .unwrap()
            .expect("EE and LV within an hour");
        assert_eq!(incident.key, INDICATOR);
        assert_eq!(incident.contributors.len(), 3);
        assert_eq!(incident.tlp, Tlp::Amber, "the most restrictive input");
        assert_eq!(incident.first_seen, at(0));
        assert_eq!(incident.last_seen, at(30));
        assert_eq!(
            incident.organisations().collect::<Vec<_>>(),
            [LV, EE2, EE],
            "sorted by id"
        );
        let refs: Vec<&str> = incident.report.str_list("object_refs").collect();
        assert_eq!(refs[0], incident.incident.id());
        assert_eq!(refs.len(), 1 + 3 + 1);
        for s in &incident.sightings {
            assert!(refs.contains(&s.as_str()));
        }
        assert_eq!(refs.last(), Some(&INDICATOR));
        assert_eq!(incident.incident.type_name(), "incident");
        assert_eq!(incident.incident.created_by_ref(), Some(HUB));
        assert_eq!(
            incident.report.marking_refs().collect::<Vec<_>>(),
            [Tlp::Amber.marking_id()]
        );
        assert!(
            incident
                .incident
                .str_property("name")
                .unwrap()
                .contains("EE, LV")
        );
        // Once per key and window: a third country within the hour raises nothing more.
        assert!(
            c.observe(report(INDICATOR, LT, "LT", 40, Tlp::Green), at(40))
                .unwrap()
                .is_none()
        );
        // After the quiet hour, LT's sighting (still in its window) and a new LV one raise again.
        let again = c
            .observe(report(INDICATOR, LV, "LV", 95, Tlp::Green), at(95))
            .unwrap()
            .expect("a new window");
        assert_eq!(again.organisations().collect::<Vec<_>>(), [LV, LT]);
        assert_ne!(again.incident.id(), incident.incident.id());
        assert_eq!(again.tlp, Tlp::Green);
    }

    #[test]
    fn sightings_too_far_apart_do_not_correlate() {
        let mut c = hour_window();
        assert!(
            c.observe(report("hmac-sha256:k:ab", EE, "EE", 0, Tlp::Green), at(0))
                .unwrap()
                .is_none()
        );
        assert!(
            c.observe(report("hmac-sha256:k:ab", LV, "LV", 61, Tlp::Green), at(61))
                .unwrap()
                .is_none()
        );
        // A sighting reported late but seen long ago is history.
        assert!(
            c.observe(
                report("hmac-sha256:k:ab", LT, "LT", -200, Tlp::Green),
                at(62)
            )
            .unwrap()
            .is_none()
        );
        // Another key does not mix in.
        assert!(
            c.observe(report("hmac-sha256:k:cd", LT, "LT", 62, Tlp::Green), at(62))
                .unwrap()
                .is_none()
        );
        let incident = c
            .observe(report("hmac-sha256:k:ab", LT, "LT", 63, Tlp::Green), at(63))
            .unwrap()
            .expect("LV at 61 and LT at 63");
        assert_eq!(incident.organisations().collect::<Vec<_>>(), [LV, LT]);
        assert!(
            !incident
                .report
                .str_list("object_refs")
                .any(|r| r.starts_with("indicator--"))
        );
        assert!(
            incident
                .incident
                .str_property("description")
                .unwrap()
                .contains("observable hmac-sha256:k:ab")
        );
    }

    #[test]
    fn thresholds_are_configurable() {
        let mut c = Correlator::new(
            CorrelationConfig {
                min_organisations: 3,
                min_countries: 3,
                ..CorrelationConfig::default()
            },
            HUB,
        );
        assert!(
            c.observe(report(INDICATOR, EE, "EE", 0, Tlp::Clear), at(0))
                .unwrap()
                .is_none()
        );
        assert!(
            c.observe(report(INDICATOR, LV, "LV", 1, Tlp::Clear), at(1))
                .unwrap()
                .is_none()
        );
        assert!(
            c.observe(report(INDICATOR, EE2, "EE", 2, Tlp::Clear), at(2))
                .unwrap()
                .is_none()
        );
        let incident = c
            .observe(report(INDICATOR, LT, "LT", 3, Tlp::Clear), at(3))
            .unwrap()
            .unwrap();
        assert_eq!(incident.contributors.len(), 4);
        assert_eq!(incident.tlp, Tlp::Clear);
    }

    #[test]
    fn replayed_sightings_raise_the_same_objects() {
        let run = || {
            let mut c = hour_window();
            c.observe(report(INDICATOR, EE, "EE", 0, Tlp::Green), at(0))
                .unwrap();
            c.observe(report(INDICATOR, LV, "LV", 1, Tlp::Green), at(1))
                .unwrap()
                .unwrap()
        };
        let (a, b) = (run(), run());
        assert_eq!(a.incident.id(), b.incident.id());
        assert_eq!(a.report.id(), b.report.id());
        assert_eq!(a.report, b.report);
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = Correlator::new(
            CorrelationConfig {
                window: Duration::from_secs(600),
                max_keys: 100,
                max_organisations_per_key: 3,
                min_organisations: 2,
                min_countries: 2,
            },
            HUB,
        );
        for i in 0..150 {
            c.observe(report(&format!("k{i}"), EE, "EE", 0, Tlp::Green), at(0))
                .unwrap();
        }
        assert_eq!(c.tracked_keys(), 100);
        assert_eq!(c.dropped(), 50);
        // Once the window has passed, old keys make room.
        c.observe(report("new", EE, "EE", 11, Tlp::Green), at(11))
            .unwrap();
        assert_eq!(c.tracked_keys(), 1);
        assert_eq!(c.dropped(), 50);
        // Per key, organisations are capped.
        let orgs: Vec<String> = (0..10)
            .map(|i| format!("identity--00000000-0000-4000-8000-0000000001{i:02}"))
            .collect();
        // The cap is raised to min_organisations so an incident stays reachable.
        let mut c = Correlator::new(
            CorrelationConfig {
                max_organisations_per_key: 3,
                min_organisations: 5,
                min_countries: 1,
                ..CorrelationConfig::default()
            },
            HUB,
        );
        let raised = orgs
            .iter()
            .filter_map(|org| {
                c.observe(report("k", org, "EE", 0, Tlp::Green), at(0))
                    .unwrap()
            })
            .count();
        assert_eq!(raised, 1);
        c.expire(at(60));
        assert_eq!(c.tracked_keys(), 1);
        c.expire(at(24 * 60 + 1));
        assert_eq!(c.tracked_keys(), 0, "entries and quiet period both over");
        // Without an incident in reach, a key keeps at most the cap of organisations.
        let mut c = Correlator::new(
            CorrelationConfig {
                max_organisations_per_key: 3,
                ..CorrelationConfig::default()
            },
            HUB,
        );
        for org in &orgs {
            assert!(
                c.observe(report("k", org, "EE", 0, Tlp::Green), at(0))
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(c.keys["k"].entries.len(), 3);
    }

    #[test]
    fn shared_sightings_of_one_internal_host_correlate_without_the_value() {
        use crate::pseudonym::{
            Classifier, CommunityKey, CommunityKeys, ObservedValue, PersonalDataConfig,
            share_sighting,
        };
        use shield_intel::stix::ObjectBuilder;
        let keys =
            CommunityKeys::new(vec![CommunityKey::new("k1", &[5u8; 32]).unwrap()], "k1").unwrap();
        let classifier = Classifier::new(&PersonalDataConfig::default()).unwrap();
        let shared = |org: &str, indicator: &str, minutes: i64| {
            let t = Timestamp::from_datetime(at(minutes));
            let local = ObjectBuilder::sighting(indicator, t)
                .property("last_seen", t)
                .tlp(Tlp::Amber)
                .build()
                .unwrap();
            let observed = [ObservedValue::new("domain-name", "FILESRV01")];
            share_sighting(&local, &observed, org, &classifier, &keys).unwrap()
        };
        // Two different indicators, one shared internal host name.
        let other_indicator = "indicator--1b6c4b38-6d5f-4a4a-9f1e-2f3c4d5e6f71";
        let ee = shared(EE, INDICATOR, 0);
        let lv = shared(LV, other_indicator, 10);
        let mut c = hour_window();
        let mut incidents = Vec::new();
        for (sighting, org, country) in [(&ee, EE, "EE"), (&lv, LV, "LV")] {
            let reports = SightingReport::from_shared_sighting(
                sighting,
                org,
                Country::parse(country).unwrap(),
                Tlp::Green,
            )
            .unwrap();
            assert_eq!(reports.len(), 2, "indicator + pseudonym");
            for r in reports {
                incidents.extend(c.observe(r, at(10)).unwrap());
            }
        }
        assert_eq!(incidents.len(), 1);
        let incident = &incidents[0];
        assert!(incident.key.starts_with("hmac-sha256:k1:"));
        assert_eq!(incident.tlp, Tlp::Amber);
        let text = format!(
            "{}{}",
            incident.incident.to_json(),
            incident.report.to_json()
        );
        assert!(!text.to_lowercase().contains("filesrv01"));
        assert_eq!(incident.sightings, {
            let mut ids = vec![ee.id().to_owned(), lv.id().to_owned()];
            ids.sort();
            ids
        });
    }

    #[test]
    fn extension_definition_is_valid() {
        assert_eq!(
            correlation_extension_definition().id(),
            CORRELATION_EXTENSION_ID
        );
    }
}
