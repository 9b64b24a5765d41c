//! Ingress: what peers add over TAXII is verified before it is stored, recorded under the
//! organisation that signed it, made active at once, and (on a hub) correlated.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use shield_event::{Alert, AlertKind, AlertSource, Level, RuleRef};
use shield_federation::correlate::SightingReport;
use shield_federation::signing::verify;
use shield_federation::taxii::{Admission, Admitted, Caller, TaxiiError};
use shield_intel::stix::StixObject;
use shield_intel::tlp::Tlp;
use shield_store::intel::{
    Collection, IncomingObject, IntelWrite, Provenance, PutOutcome, PutReport,
};
use shield_store::{AuditEntry, Role};

use super::Federation;
use crate::state::SharedState;

/// The node's [`Admission`]: peers' objects must carry a valid signature of one organisation
/// the keyring trusts.
pub struct PeerAdmission {
    state: SharedState,
    federation: Arc<Federation>,
}

impl PeerAdmission {
    /// Admission for `state`'s node.
    pub fn new(state: SharedState, federation: Arc<Federation>) -> PeerAdmission {
        PeerAdmission { state, federation }
    }

    fn audit(&self, caller: &Caller, action: &str, target: &str, details: Value) {
        let entry = AuditEntry {
            time: Utc::now(),
            actor: format!("{} (peer)", caller.name),
            action: action.to_owned(),
            target: target.to_owned(),
            details,
        };
        if let Err(e) = self.state.store.append_audit(&entry) {
            tracing::error!("cannot write audit entry {action}: {e}");
        }
    }
}

impl Admission for PeerAdmission {
    fn admit(
        &self,
        caller: &Caller,
        collection: &Collection,
        objects: &[IncomingObject],
    ) -> Result<Admitted, TaxiiError> {
        if caller.role != Role::Peer {
            return Ok(Admitted::default());
        }
        let mut origin: Option<String> = None;
        let keyring = self.federation.keyring();
        for (index, incoming) in objects.iter().enumerate() {
            let object = incoming.object();
            let verified = match verify(object, &keyring) {
                Ok(v) => v,
                Err(e) => {
                    self.audit(
                        caller,
                        "federation.reject",
                        object.id(),
                        json!({"collection": collection.id, "index": index, "reason": e.to_string(), "objects": objects.len()}),
                    );
                    tracing::warn!("federation: refused objects from {}: {e}", caller.name);
                    return Err(TaxiiError::forbidden(format!("object {index}: {e}"))
                        .with_details(json!({"index": index, "id": object.id()})));
                }
            };
            match &origin {
                None => origin = Some(verified.organisation),
                Some(o) if *o == verified.organisation => {}
                Some(o) => {
                    return Err(TaxiiError::bad_request(format!(
                        "object {index} ({}) is signed by {}, the request's first object by {o}: \
                         send one request per originating organisation",
                        object.id(),
                        verified.organisation
                    )));
                }
            }
        }
        let origin = origin.unwrap_or_else(|| caller.org.clone());
        Ok(Admitted {
            org: Some(origin),
            shared_with: vec![
                self.federation.local_org.clone(),
                self.federation.identity.organisation.identity.clone(),
            ],
        })
    }

    fn stored(
        &self,
        caller: &Caller,
        collection: &Collection,
        write: &IntelWrite,
        report: &PutReport,
    ) {
        let now = Utc::now();
        // The store reports one outcome per object, in order.
        let new: Vec<&StixObject> = write
            .objects
            .iter()
            .zip(&report.outcomes)
            .filter(|(_, (_, _, outcome))| matches!(outcome, PutOutcome::Added { .. }))
            .map(|(incoming, _)| incoming.object())
            .collect();
        let indicators: Vec<&StixObject> = new
            .iter()
            .copied()
            .filter(|o| o.type_name() == "indicator")
            .collect();
        if caller.role != Role::Peer {
            // A local publication: active here at once too, and on its way to the peers.
            if !indicators.is_empty() {
                self.federation.activation.added(
                    &self.state,
                    &self.federation.latency,
                    &collection.id,
                    &indicators,
                    Vec::new(),
                );
            }
            self.federation.notify_stored();
            return;
        }
        let origin = write.provenance.org.clone();
        // Indicators take effect now rather than at the next periodic refresh; their latency
        // is measured when they do.
        if !indicators.is_empty() {
            let created: Vec<_> = indicators
                .iter()
                .filter_map(|o| o.created())
                .map(|t| t.as_datetime())
                .collect();
            self.federation.activation.added(
                &self.state,
                &self.federation.latency,
                &collection.id,
                &indicators,
                created,
            );
        }
        self.audit(
            caller,
            "federation.receive",
            &collection.id,
            json!({"origin": origin, "added": new.len(), "objects": write.objects.len()}),
        );
        super::directory::learn_from(&self.federation, &origin, &new);
        if let Some(correlator) = &self.federation.correlator {
            self.correlate(correlator, &origin, &new, now);
        }
        let incidents: Vec<&StixObject> = new
            .iter()
            .copied()
            .filter(|o| o.type_name() == "incident")
            .collect();
        if !incidents.is_empty() {
            self.raise_incident_alerts(&incidents, &origin);
        }
        self.federation.notify_stored();
    }
}

impl PeerAdmission {
    /// The hub: each new shared sighting goes to the correlator; an incident it raises is stored
    /// in the inbox as the hub's own (pushed, signed, to the contributors).
    fn correlate(
        &self,
        correlator: &parking_lot::Mutex<shield_federation::correlate::Correlator>,
        origin: &str,
        new: &[&StixObject],
        now: chrono::DateTime<Utc>,
    ) {
        let Some(country) = self.federation.countries.get(origin).copied() else {
            return;
        };
        let mut raised = Vec::new();
        for o in new.iter().filter(|o| o.type_name() == "sighting") {
            let Some(reports) =
                SightingReport::from_shared_sighting(o, origin, country, Tlp::Amber)
            else {
                continue;
            };
            let mut correlator = correlator.lock();
            for r in reports {
                match correlator.observe(r, now) {
                    Ok(Some(incident)) => raised.push(incident),
                    Ok(None) => {}
                    Err(e) => tracing::warn!("federation: correlation: {e}"),
                }
            }
        }
        for incident in raised {
            let mut objects = Vec::new();
            let recipients: Vec<String> = incident.organisations().map(str::to_owned).collect();
            // The incident carries the report's correlation extension, so the egress policy
            // finds its recipients on either object.
            let mut incident_map = incident.incident.into_map();
            if let Some(ext) = incident
                .report
                .extension(shield_federation::correlate::CORRELATION_EXTENSION_ID)
            {
                incident_map.insert(
                    "extensions".to_owned(),
                    json!({ shield_federation::correlate::CORRELATION_EXTENSION_ID: ext }),
                );
            }
            match StixObject::from_map(incident_map) {
                Ok(o) => objects.push(IncomingObject::new(o)),
                Err(e) => {
                    tracing::warn!("federation: incident: {e}");
                    continue;
                }
            }
            objects.push(IncomingObject::new(incident.report));
            let Ok(Some(inbox)) = self.state.store.collection(&self.federation.section.inbox)
            else {
                continue;
            };
            let mut shared_with = recipients.clone();
            shared_with.push(self.federation.local_org.clone());
            let stored = self.state.store.put_objects(&IntelWrite {
                collection: inbox.id,
                objects,
                provenance: Provenance {
                    source: "federation:correlation".to_owned(),
                    org: self.federation.local_org.clone(),
                    default_tlp: incident.tlp,
                    shared_with,
                },
                received: Utc::now(),
                status_id: None,
            });
            match stored {
                Ok(_) => {
                    tracing::info!(
                        "federation: cross-border incident on {} ({} organisations)",
                        incident.key,
                        recipients.len()
                    );
                    let entry = AuditEntry {
                        time: Utc::now(),
                        actor: "federation (correlation)".to_owned(),
                        action: "federation.incident".to_owned(),
                        target: incident.key.clone(),
                        details: json!({"contributors": recipients, "sightings": incident.sightings, "tlp": incident.tlp.to_string()}),
                    };
                    let _ = self.state.store.append_audit(&entry);
                }
                Err(e) => tracing::error!("federation: cannot store an incident: {e}"),
            }
        }
    }

    /// A member: incidents received become alerts of kind `incident`.
    fn raise_incident_alerts(&self, incidents: &[&StixObject], origin: &str) {
        let alerts: Vec<Alert> = incidents
            .iter()
            .map(|o| Alert {
                id: uuid::Uuid::now_v7().to_string(),
                created: Utc::now(),
                event_time: None,
                kind: AlertKind::Incident,
                rule: RuleRef {
                    id: o.id().to_owned(),
                    title: o
                        .property("name")
                        .and_then(Value::as_str)
                        .unwrap_or("Cross-border incident")
                        .to_owned(),
                    level: Level::High,
                    tags: vec!["cross-border".to_owned()],
                },
                org: Some(self.federation.local_org.clone()),
                source: AlertSource {
                    input: "federation".to_owned(),
                    path: None,
                    record_id: None,
                },
                event: Value::Null,
                details: json!({
                    "origin": origin,
                    "description": o.property("description"),
                    "correlation": o.extension(shield_federation::correlate::CORRELATION_EXTENSION_ID),
                }),
            })
            .collect();
        if let Err(e) = self.state.store.insert_alerts(&alerts) {
            tracing::error!("federation: cannot store incident alerts: {e}");
        }
    }
}
