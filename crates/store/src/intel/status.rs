//! Status resources: the outcome of an add request in TAXII's shape.

use chrono::{DateTime, Utc};

use super::model::{PutOutcome, StatusDetail, StatusResource, taxii_timestamp};

/// What a duplicate is reported as: TAXII servers list a version they already hold among the
/// failures of the request, not as an HTTP error.
pub(crate) const DUPLICATE_MESSAGE: &str =
    "this version of the object is already in the collection";

/// The status resource of a completed write.
pub(crate) fn build_status(
    id: &str,
    received: DateTime<Utc>,
    outcomes: &[(String, String, PutOutcome)],
) -> StatusResource {
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for (object_id, version, outcome) in outcomes {
        let detail = StatusDetail {
            id: object_id.clone(),
            version: version.clone(),
            message: None,
        };
        match outcome {
            PutOutcome::Added { .. } => successes.push(detail),
            PutOutcome::Duplicate => failures.push(StatusDetail {
                message: Some(DUPLICATE_MESSAGE.to_owned()),
                ..detail
            }),
        }
    }
    StatusResource {
        id: id.to_owned(),
        status: "complete".to_owned(),
        request_timestamp: taxii_timestamp(received),
        total_count: outcomes.len() as u64,
        success_count: successes.len() as u64,
        successes,
        failure_count: failures.len() as u64,
        failures,
        pending_count: 0,
        pendings: Vec::new(),
    }
}
