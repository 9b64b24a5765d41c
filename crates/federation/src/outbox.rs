//! The persistent outbox: what each peer still has to receive, retried until it is acknowledged.
//!
//! # Design: the intel store is the log, the outbox is a cursor
//!
//! Everything a node shares is first stored in its intel store, where each collection numbers
//! its versions by a strictly increasing `date_added`. The outbox of one peer for one collection
//! is therefore a single position: the `date_added` of the last version the peer acknowledged,
//! kept in the [`StateStore`] under `outbox:<peer>:<collection>`. Nothing is copied, a queue
//! cannot overflow, and a peer that is down for a week catches up from its position.
//!
//! 1. [`PeerOutbox::next_batch`] reads the versions added after the position (every version, not
//!    just the latest: a relay must forward each), asks the sharing policy about each one and
//!    splits them into [`Batch::send`] and [`Batch::held`], each with its [`Decision`] for the
//!    audit log.
//! 2. The caller pushes `send` to the peer (TAXII add, live feed).
//! 3. On success [`PeerOutbox::acknowledge`] stores the new position *after* the push; on failure
//!    [`PeerOutbox::failed`] schedules a retry with exponential [`Backoff`].
//!
//! A crash between 2 and 3 sends one batch again: delivery is at least once, and application is
//! idempotent by (id, version) on the receiving side (the store reports a version it already has
//! as a duplicate), so the effect is exactly once. Receivers assume no order: each version
//! carries its own `modified`.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use shield_store::intel::{ObjectQuery, Reader, StoredObject, VersionMatch};
use shield_store::{IntelStore, StateStore, StoreError};

use crate::policy::{Decision, ObjectFacts};

/// What can go wrong reading or moving an outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored position that is not a timestamp.
    #[error("outbox position {key}: not a timestamp: {value:?}")]
    Position {
        /// The state key.
        key: String,
        /// What was stored.
        value: String,
    },
}

/// Exponential backoff between attempts to reach a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Extra delay of up to this many percent, the same for one peer every time (peers that
    /// failed together do not all retry at the same instant).
    pub jitter_percent: u32,
}

impl Default for Backoff {
    /// 1 s, doubling, at most 5 minutes, up to 20 % jitter.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            jitter_percent: 20,
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (0 means none: no delay) for `peer`.
    pub fn delay(&self, failures: u32, peer: &str) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(32);
        let base = self
            .initial
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.max)
            .min(self.max);
        // FNV-1a of the peer's name picks its share of the jitter.
        let hash = peer.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let percent = if self.jitter_percent == 0 {
            0
        } else {
            hash % u64::from(self.jitter_percent + 1)
        };
        let extra = base.as_millis().saturating_mul(u128::from(percent)) / 100;
        base + Duration::from_millis(u64::try_from(extra).unwrap_or(u64::MAX))
    }
}

/// One object version the policy held back.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldObject {
    /// The STIX id.
    pub id: String,
    /// The version.
    pub version: String,
    /// Why it was held.
    pub decision: Decision,
}

/// The next versions for one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Versions to push, oldest first, with the decision that let each go (for the audit log).
    pub send: Vec<(StoredObject, Decision)>,
    /// Versions the policy held back.
    pub held: Vec<HeldObject>,
    /// The position after this batch (`None` when the batch is empty).
    pub last_added: Option<DateTime<Utc>>,
    /// Whether more versions follow.
    pub more: bool,
}

impl Batch {
    /// Whether the batch moves nothing (no version after the position).
    pub fn is_empty(&self) -> bool {
        self.last_added.is_none()
    }
}

/// The one property of a stored text the policy reads: the other members are skipped, not
/// built (the text was validated when it was stored).
#[derive(serde::Deserialize)]
struct ConfidenceOnly {
    #[serde(default)]
    confidence: Option<serde_json::Value>,
}

/// `confidence` of a stored text as [`shield_intel::stix::StixObject::confidence`] reads it
/// (an integer 0–255), without building the object: a relay decides every version for every
/// peer.
fn stored_confidence(json: &str) -> Option<u8> {
    serde_json::from_str::<ConfidenceOnly>(json)
        .ok()?
        .confidence?
        .as_u64()
        .and_then(|c| u8::try_from(c).ok())
}

/// The policy's view of a stored version: type, TLP and owner from the store, `confidence` from
/// the JSON text when it was read. Explicit shares and groups are the caller's to add.
pub fn facts_of_stored(stored: &StoredObject) -> ObjectFacts {
    let confidence = stored.json.as_deref().and_then(stored_confidence);
    ObjectFacts {
        object_type: stored.type_name.clone(),
        tlp: stored.tlp,
        confidence,
        owner: stored.owner_org.clone(),
        shared_with: Default::default(),
        groups: Default::default(),
    }
}

/// The outbox of one peer for one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerOutbox {
    peer: String,
    collection: String,
    position: Option<DateTime<Utc>>,
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
}

impl PeerOutbox {
    /// The state key of a peer's position in a collection.
    pub fn state_key(peer: &str, collection: &str) -> String {
        format!("outbox:{peer}:{collection}")
    }

    /// Loads the position of `peer` in `collection` (the start of the log when none is stored).
    pub fn load(
        state: &dyn StateStore,
        peer: &str,
        collection: &str,
    ) -> Result<PeerOutbox, OutboxError> {
        let key = PeerOutbox::state_key(peer, collection);
        let position = match state.get_state(&key)? {
            None => None,
            Some(value) => Some(
                DateTime::parse_from_rfc3339(&value)
                    .map_err(|_| OutboxError::Position {
                        key: key.clone(),
                        value: value.clone(),
                    })?
                    .with_timezone(&Utc),
            ),
        };
        Ok(PeerOutbox {
            peer: peer.to_owned(),
            collection: collection.to_owned(),
            position,
            failures: 0,
            retry_at: None,
        })
    }

    /// The peer's name.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The `date_added` of the last version acknowledged.
    pub fn position(&self) -> Option<DateTime<Utc>> {
        self.position
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether an attempt may be made at `now` (no retry pending, or its time has come).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }

    /// The next at most `limit` versions after the position that `reader` may see, each
    /// decided by `decide` (normally `|s| policy.decide(&facts_of_stored(s), &peer)`).
    pub fn next_batch(
        &self,
        store: &dyn IntelStore,
        reader: &Reader,
        limit: usize,
        mut decide: impl FnMut(&StoredObject) -> Decision,
    ) -> Result<Batch, OutboxError> {
        let query = ObjectQuery {
            added_after: self.position,
            versions: vec![VersionMatch::All],
            limit,
            ..ObjectQuery::new(self.collection.clone())
        };
        let page = store.query_objects(reader, &query)?;
        let last_added = page.objects.last().map(|o| o.date_added);
        let mut send = Vec::new();
        let mut held = Vec::new();
        for stored in page.objects {
            let decision = decide(&stored);
            if decision.send {
                send.push((stored, decision));
            } else {
                held.push(HeldObject {
                    id: stored.id,
                    version: stored.version,
                    decision,
                });
            }
        }
        Ok(Batch {
            send,
            held,
            last_added,
            more: page.more,
        })
    }

    /// Records that the peer has everything up to the end of `batch` (after a successful push,
    /// or at once for a batch the policy held entirely), and clears the failure count.
    pub fn acknowledge(
        &mut self,
        state: &dyn StateStore,
        batch: &Batch,
    ) -> Result<(), OutboxError> {
        if let Some(last) = batch.last_added {
            if self.position.is_none_or(|p| last > p) {
                let value = last.to_rfc3339_opts(SecondsFormat::Micros, true);
                state.set_state(&PeerOutbox::state_key(&self.peer, &self.collection), &value)?;
                self.position = Some(last);
            }
        }
        self.failures = 0;
        self.retry_at = None;
        Ok(())
    }

    /// Records a failed push at `now`; returns when to try again.
    pub fn failed(&mut self, now: DateTime<Utc>, backoff: &Backoff) -> DateTime<Utc> {
        self.failures = self.failures.saturating_add(1);
        let delay = backoff.delay(self.failures, &self.peer);
        let at = chrono::Duration::from_std(delay)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now);
        self.retry_at = Some(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{NodeRole, PeerRelation, PeerView, SharingPolicy};
    use chrono::TimeZone;
    use shield_intel::stix::{ObjectBuilder, StixObject, Timestamp};
    use shield_intel::tlp::Tlp;
    use shield_store::intel::{
        Collection, CollectionAccess, IncomingObject, IntelWrite, Provenance,
    };
    use shield_store::{MemoryStore, Role};

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";
    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";

    fn store_with_collection() -> MemoryStore {
        let store = MemoryStore::new();
        store
            .put_collection(&Collection {
                id: "c1".into(),
                alias: Some("shared".into()),
                title: "shared".into(),
                description: None,
                access: CollectionAccess::default(),
            })
            .unwrap();
        store
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    /// Stores indicator `n` (version `v`) with `tlp`, owned by EE.
    fn publish(store: &MemoryStore, n: u32, v: i64, tlp: Tlp) {
        let created = Timestamp::from_datetime(at(0));
        let object = ObjectBuilder::indicator(
            &format!("[ipv4-addr:value = '198.51.100.{n}']"),
            "stix",
            created,
            created,
        )
        .id(format!("indicator--00000000-0000-4000-8000-{n:012}"))
        .property("modified", Timestamp::from_datetime(at(v)))
        .tlp(tlp)
        .build()
        .unwrap();
        store
            .put_objects(&IntelWrite {
                collection: "c1".into(),
                objects: vec![IncomingObject::new(object)],
                provenance: Provenance {
                    source: "test".into(),
                    org: EE.into(),
                    default_tlp: Tlp::Amber,
                    shared_with: Vec::new(),
                },
                received: at(v),
                status_id: None,
            })
            .unwrap();
    }

    fn admin() -> Reader {
        Reader::new(EE, Role::Admin, "outbox")
    }

    #[test]
    fn drains_in_batches_holds_by_policy_and_resumes_after_restart() {
        let store = store_with_collection();
        let tlps = [
            Tlp::Green,
            Tlp::Red,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Clear,
        ];
        for n in 0..25 {
            publish(&store, n, i64::from(n), tlps[n as usize % 5]);
        }
        // A second version of indicator 0: relays forward every version.
        publish(&store, 0, 100, Tlp::Green);
        let policy = SharingPolicy::new(EE, NodeRole::Member);
        let hub = PeerView::new("hub", PeerRelation::Hub, HUB);
        let decide = |s: &StoredObject| policy.decide(&facts_of_stored(s), &hub);

        let mut outbox = PeerOutbox::load(&store, "hub", "c1").unwrap();
        let mut sent = Vec::new();
        let mut held = 0;
        let first = outbox.next_batch(&store, &admin(), 10, decide).unwrap();
        assert!(first.more);
        assert_eq!(first.send.len() + first.held.len(), 10);
        // Crash before acknowledging: the same batch comes again.
        let reloaded = PeerOutbox::load(&store, "hub", "c1").unwrap();
        assert_eq!(
            reloaded.next_batch(&store, &admin(), 10, decide).unwrap(),
            first
        );
        loop {
            let batch = outbox.next_batch(&store, &admin(), 10, decide).unwrap();
            if batch.is_empty() {
                break;
            }
            sent.extend(batch.send.iter().map(|(s, d)| {
                assert!(d.send);
                (s.id.clone(), s.version.clone())
            }));
            held += batch.held.len();
            for h in &batch.held {
                assert!(matches!(
                    h.decision.reason.code(),
                    "red-stays-in-organisation" | "amber-strict-stays-in-organisation"
                ));
            }
            outbox.acknowledge(&store, &batch).unwrap();
            // A restart here resumes from the stored position.
            outbox = PeerOutbox::load(&store, "hub", "c1").unwrap();
        }
        assert_eq!(held, 10, "5 RED + 5 AMBER+STRICT");
        assert_eq!(
            sent.len(),
            16,
            "15 versions of CLEAR/GREEN/AMBER + the second version"
        );
        let mut unique = sent.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), sent.len(), "each version once");
        assert!(
            sent.iter()
                .filter(|(id, _)| id.ends_with("000000000000"))
                .count()
                == 2
        );
        // New versions later are picked up from the position.
        publish(&store, 99, 200, Tlp::Green);
        let batch = outbox.next_batch(&store, &admin(), 10, decide).unwrap();
        assert_eq!(batch.send.len(), 1);
        assert_eq!(
            batch.send[0].0.id,
            "indicator--00000000-0000-4000-8000-000000000099"
        );
    }

    #[test]
    fn resending_a_batch_is_harmless_at_the_receiver() {
        let sender = store_with_collection();
        for n in 0..5 {
            publish(&sender, n, i64::from(n), Tlp::Green);
        }
        let outbox = PeerOutbox::load(&sender, "peer", "c1").unwrap();
        let batch = outbox
            .next_batch(&sender, &admin(), 100, |_| Decision {
                send: true,
                reason: crate::policy::Reason::Clear,
            })
            .unwrap();
        let receiver = store_with_collection();
        let write = IntelWrite {
            collection: "c1".into(),
            objects: batch
                .send
                .iter()
                .map(|(s, _)| {
                    let json = s.json.clone().unwrap();
                    IncomingObject::verbatim(StixObject::from_json(json.as_bytes()).unwrap(), json)
                })
                .collect(),
            provenance: Provenance {
                source: "peer:ee".into(),
                org: EE.into(),
                default_tlp: Tlp::Amber,
                shared_with: Vec::new(),
            },
            received: at(10),
            status_id: None,
        };
        assert_eq!(receiver.put_objects(&write).unwrap().added(), 5);
        assert_eq!(
            receiver.put_objects(&write).unwrap().added(),
            0,
            "duplicates by (id, version)"
        );
    }

    #[test]
    fn failures_back_off_exponentially() {
        let backoff = Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        };
        let delays: Vec<u64> = (0..12).map(|f| backoff.delay(f, "hub").as_secs()).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.delay(u32::MAX, "hub").as_secs(), 300);
        let jittered = Backoff::default();
        for f in 1..12 {
            let plain = backoff.delay(f, "member-7");
            let d = jittered.delay(f, "member-7");
            assert!(d >= plain && d <= plain + plain / 5, "{f}: {d:?}");
            assert_eq!(d, jittered.delay(f, "member-7"), "deterministic per peer");
        }
        let spread: std::collections::BTreeSet<Duration> = (0..10)
            .map(|i| jittered.delay(8, &format!("member-{i}")))
            .collect();
        assert!(spread.len() > 3, "peers spread out: {spread:?}");

        let store = store_with_collection();
        let mut outbox = PeerOutbox::load(&store, "hub", "c1").unwrap();
        assert!(outbox.is_due(at(0)));
        let retry = outbox.failed(at(0), &backoff);
        assert_eq!(retry, at(1));
        assert!(!outbox.is_due(at(0)));
        assert!(outbox.is_due(at(1)));
        assert_eq!(outbox.failed(at(1), &backoff), at(3));
        assert_eq!(outbox.failures(), 2);
        let empty = outbox
            .next_batch(&store, &admin(), 10, |_| unreachable!())
            .unwrap();
        assert!(empty.is_empty());
        outbox.acknowledge(&store, &empty).unwrap();
        assert_eq!(outbox.failures(), 0);
        assert!(outbox.is_due(at(1)));
        assert_eq!(
            outbox.position(),
            None,
            "an empty batch does not move the position"
        );
    }

    #[test]
    fn confidence_is_read_as_the_object_reads_it() {
        for (text, expected) in [
            (
                r#"{"type":"indicator","confidence":85,"name":"x"}"#,
                Some(85),
            ),
            (
                r#"{"type":"indicator","name":"x","extensions":{"a":{"confidence":3}}}"#,
                None,
            ),
            (r#"{"type":"indicator","confidence":"high"}"#, None),
            (r#"{"type":"indicator","confidence":300}"#, None),
            (r#"{"type":"indicator","confidence":-1}"#, None),
            ("not json", None),
        ] {
            assert_eq!(stored_confidence(text), expected, "{text}");
        }
        let object = ObjectBuilder::indicator(
            "[ipv4-addr:value = '198.51.100.1']",
            "stix",
            Timestamp::from_datetime(at(0)),
            Timestamp::from_datetime(at(0)),
        )
        .property("confidence", 42)
        .build()
        .unwrap();
        assert_eq!(
            stored_confidence(&object.to_json()),
            object.confidence(),
            "same answer as the object"
        );
    }

    #[test]
    fn a_corrupt_position_is_named() {
        let store = store_with_collection();
        store.set_state("outbox:hub:c1", "yesterday").unwrap();
        let err = PeerOutbox::load(&store, "hub", "c1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("outbox:hub:c1") && err.contains("yesterday"),
            "{err}"
        );
    }
}
