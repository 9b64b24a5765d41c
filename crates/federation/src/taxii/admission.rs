//! Admission: the node's say over what peers add, before anything is stored.
//!
//! The TAXII server knows STIX and collections; a node with federation also knows its peers'
//! keys. An [`Admission`] set with [`super::TaxiiState::with_admission`] sees every add request
//! after validation and before the store: it may refuse the whole request (a TAXII error, nothing
//! stored), and it names the organisation the objects are recorded for (the origin proven by
//! their signatures rather than the token that relayed them). After the single store write it is
//! told the outcome, so received intelligence can take effect at once.

use shield_store::intel::{Collection, IncomingObject, IntelWrite, PutReport};

use super::{Caller, TaxiiError};

/// What an admission decided for an accepted request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The owner organisation to record instead of the caller's.
    pub org: Option<String>,
    /// Organisations the objects are also shared with (readers in them see every TLP).
    pub shared_with: Vec<String>,
}

/// Checks add requests before they are stored; runs on a blocking thread.
pub trait Admission: Send + Sync {
    /// Accepts (`Ok`) or refuses (`Err`, nothing stored) the validated `objects` that `caller`
    /// adds to `collection`.
    fn admit(
        &self,
        caller: &Caller,
        collection: &Collection,
        objects: &[IncomingObject],
    ) -> Result<Admitted, TaxiiError>;

    /// Called after the accepted request was stored, with the store's report.
    fn stored(
        &self,
        caller: &Caller,
        collection: &Collection,
        write: &IntelWrite,
        report: &PutReport,
    ) {
        let _ = (caller, collection, write, report);
    }
}
