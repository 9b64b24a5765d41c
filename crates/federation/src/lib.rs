//! Federation: how a Shield node exchanges threat intelligence with other nodes and with any
//! TAXII 2.1 client or server.
//!
//! * [`taxii`]: the TAXII 2.1 server, an axum router the node merges into its own under
//!   `/taxii2/`, over [`shield_store::IntelStore`].
//! * [`client`]: a TAXII 2.1 client; [`feed`]: remote collections pulled on a schedule.
//! * [`envelope`]: reading objects from envelopes and bundles as the exact text they arrived as.
//! * [`identity`]: a node's organisation and Ed25519 key; [`signing`]: provenance signatures over
//!   canonical JSON; [`policy`]: the sharing policy every egress asks; [`pseudonym`]: personal
//!   observables as keyed pseudonyms in shared sightings; [`correlate`]: the hub's cross-border
//!   correlation of sightings into incidents.
//! * [`outbox`]: per-peer positions in the intel store's log, retried with backoff until acknowledged.
//! * [`peer`]: peers as the configuration declares them (relation, organisation, key, groups,
//!   transport); [`directory`]: the hub's signed key directory of its members' keys.
//! * [`sharing`]: sharing groups, and the extension by which an object names its recipients.
//! * [`taxii::ReadPolicy`]: peers read (pull, live feed) what the sharing policy sends them.
//!
//! # Design decisions
//!
//! * **Standards on the wire, verbatim in between.** What a peer posts is validated as STIX 2.1
//!   object by object, stored as the JSON text it arrived as, and served as that text: a relay
//!   never re-serialises, so the originator's signature over the canonical JSON survives any
//!   number of hops and custom properties are never lost.
//! * **All or nothing per request.** One invalid object refuses a whole TAXII add request with an
//!   error resource naming the object (index, id, property) and nothing is stored; feeds, whose
//!   servers we do not control, keep the valid objects and count the rest.
//! * **The TLP rule lives in the store.** Handlers check collection access lists (who may use a
//!   collection); which objects an organisation may see is decided inside the store's queries,
//!   so a new endpoint cannot forget it.
//! * **The node owns authentication.** The router asks a [`taxii::TaxiiAuth`] for the caller; the
//!   node answers from its token cache. HTTP Basic (password = token) and bearer tokens are both
//!   accepted, as TAXII clients use either.
//! * **Pages that never skip.** `date_added` is strictly increasing per collection and `next` is
//!   the position after the last version served, so clients paging by `next` or polling by
//!   `added_after` see every version exactly once, under concurrent writes too.
//! * **Async at the edge only.** Handlers run store calls and body validation on blocking
//!   threads; the runtime never waits on SQLite or on parsing a large bundle.
#![deny(missing_docs)]

pub mod client;
pub mod correlate;
pub mod directory;
pub mod envelope;
pub mod error;
pub mod feed;
pub mod identity;
pub mod outbox;
pub mod peer;
pub mod policy;
pub mod pseudonym;
pub mod sharing;
pub mod signing;
pub mod taxii;

pub use error::FederationError;
