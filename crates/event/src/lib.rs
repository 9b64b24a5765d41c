//! Shield's event and alert model.
//!
//! Every capability of a Shield node works on the same two values:
//!
//! * an [`Event`]: one JSON object as it arrived (a Windows event record, a syslog message turned into
//!   fields, a line a log shipper sent) plus [`EventMeta`]: when it was received, through which input, in
//!   which original format, for which organisation, and the event's own time normalised to UTC;
//! * an [`Alert`]: what a detector concluded about one or more events.
//!
//! # Design decisions
//!
//! * **The payload stays JSON.** Log shippers, EVTX converters and syslog parsers all produce nested
//!   objects with different layouts. Rather than forcing them into one schema (and losing fields), the
//!   event keeps the JSON as it came and [`field`] answers the questions detectors ask: a dotted path
//!   (`winlog.event_data.CommandLine`) or a Sigma field name (`CommandLine`, `EventID`, `Provider_Name`)
//!   resolved over the Windows event layouts that converters produce (`#attributes`, `_attributes`,
//!   `Name_attributes`, Winlogbeat's `winlog.*`).
//! * **Detectors are plain synchronous code.** [`Detector`] takes a batch of events and appends alerts;
//!   it does no I/O and knows nothing of the server, so the Sigma engine, the IOC matcher and future
//!   models plug into the node pipeline and into offline hunting alike.
//! * **Parsing never fails as a whole.** Parsers of untrusted input (in [`parse`]) return the events that
//!   parsed plus one [`ParseError`] per bad record, each naming where ([`Location`]): one bad line never
//!   costs the rest of the batch.
#![deny(missing_docs)]

mod alert;
mod detect;
mod error;
mod event;
pub mod field;
pub mod parse;
pub mod time;

pub use alert::{Alert, AlertKind, AlertSource, Level, ParseLevelError, RuleRef};
pub use detect::Detector;
pub use error::{Location, ParseError};
pub use event::{Event, EventMeta, Format, Source};
pub use parse::{ParseContext, Parsed};
