//! The Shield node: HTTP API, authentication and roles, ingest endpoints (HTTP, Elasticsearch-compatible
//! `_bulk`, syslog), the processing pipeline, and the wiring of store, archive and detectors.
//!
//! # Design decisions
//!
//! * **Async only at the edges.** Listeners and handlers run on tokio; parsing large bodies, detection
//!   and storage run on threads of their own ([`pipeline`]) so the runtime never waits on CPU work.
//! * **Bounded everywhere.** Bodies are capped (`server.max_body_bytes`, after decompression), the
//!   queue between ingest and detection is capped in events (`ingest.queue_events`); when it is full
//!   HTTP answers 429 with `Retry-After`, syslog over TCP stops reading, syslog over UDP drops and
//!   counts. Memory does not grow with load.
//! * **Accepted means durable.** A batch is written to the journal (the event archive itself,
//!   written ahead of detection) and synced before the sender gets its 2xx; concurrent requests
//!   share one fsync ([`journal`]). After a crash, frames not yet detected or counted are replayed
//!   at start, exactly once: the detected watermark is stored after the alerts it covers and
//!   alert ids derive from the journal position, so replayed alerts that were already stored
//!   change nothing. [`RunningNode::stop`] stops the listeners, then drains the queue.
//! * **Standards where partners speak them.** TAXII 2.1 is served under `/taxii2/` by the
//!   federation crate's router, authenticated through the same token cache as the API
//!   ([`taxii`]); feeds declared in `[[intel.feeds]]` are pulled by the node itself.
//! * **One error shape.** Every API error is `{"error": {status, code, message, details?}}`
//!   ([`error::ApiError`]); the TAXII routes answer TAXII error resources, as TAXII clients expect.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod body;
pub mod config;
pub mod detectors;
pub mod error;
pub mod federation;
pub mod intel;
pub mod journal;
pub mod node;
pub mod pipeline;
pub mod state;
pub mod stats;
pub mod syslog;
pub mod taxii;
pub mod tls;

pub use config::NodeConfig;
pub use error::{ApiError, ServerError};
pub use node::{RunningNode, start};
