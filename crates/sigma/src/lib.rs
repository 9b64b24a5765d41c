//! Sigma rule parser, compiler and matcher: Shield's detection core. Synchronous, no I/O beyond
//! reading rule files when asked, no global state.
//!
//! # Pipeline
//!
//! 1. **Parse** ([`load_rules`], [`parse_rule_str`]): YAML (with line numbers) → [`Rule`]s: detection
//!    rules, correlation rules and filters, the whole Sigma 2.1 specification. One bad document never
//!    stops the others: loading returns the rules that parsed plus a located [`RuleError`] each.
//! 2. **Compile** ([`CompiledRuleSet::compile`]): each detection, with its filters merged in, is
//!    compiled once per [`Mapping`] entry serving its log source (field renames applied, values turned
//!    into ready matchers, the condition into indices). Correlations are resolved to the rules they
//!    count.
//! 3. **Match** ([`CompiledRuleSet::matches`]): per event, route → prefilter → evaluate.
//!
//! # Design decisions
//!
//! * **Routing before matching.** An event's `Channel` and `EventID` select the mapping entries it
//!   belongs to in one hash lookup; only rules served by those entries are considered. A rule whose log
//!   source has no entry is *generic*: it only sees events no entry claims (non-Windows logs), and
//!   only those carrying a field it names — a Linux rule never sees Sysmon events.
//! * **A literal prefilter** (see `prefilter`): every detection yields a set of `(field, literal)`
//!   atoms one of which must occur for it to match; one Aho-Corasick automaton per field finds, in a
//!   single scan of the event's values, the few detections worth evaluating. Detections with no such
//!   set (only regexes, negations…) are evaluated whenever their log source matches. The cost of an
//!   event that matches nothing does not grow with the number of rules.
//! * **One walk per event for fields.** Every field name the rules use is interned; each event is
//!   indexed by one walk over its layout (`Event.System`, `Event.EventData`, attributes, Winlogbeat's
//!   `winlog.*`), answering exactly what [`shield_event::field::lookup`] would. Values are lowercased
//!   at most once per event; scratch buffers are reused, so matching does not allocate per event.
//! * **Case-insensitive by default** (`cased` opts out), case-sensitive regexes (`re|i` opts out), as
//!   the specification says. Lowercasing is per character, so a lowered literal is always found in a
//!   lowered value that contained it: the prefilter never drops a match.
//! * **Bounded everything.** YAML nesting and alias expansion, condition depth, regex size, windash
//!   and placeholder expansion, correlation groups and windows all have hard limits: hostile rules and
//!   events cost bounded time and memory, and never panic.
//! * **Filters follow pySigma** (the reference implementation): the filter's condition is AND-ed
//!   into the rule's, so filters say `not selection`. `check` flags filters that do not negate.
//! * **Correlations over event time.** [`SigmaDetector`] keeps per-group windows keyed by `group-by`
//!   values, expiring them as event time advances, with caps on groups and entries.
//!
//! # Entry points
//!
//! ```no_run
//! use std::sync::Arc;
//! use shield_sigma::{CompiledRuleSet, LoadOptions, Mapping, SigmaDetector, load_rules};
//!
//! let (rules, errors) = load_rules(&["rules".into()], &LoadOptions::default());
//! let (compiled, compile_errors) = CompiledRuleSet::compile(&rules, &Mapping::default_windows());
//! let detector = SigmaDetector::new(Arc::new(compiled));
//! ```
#![deny(missing_docs)]

mod compiled;
pub mod condition;
mod correlate;
mod correlator;
mod detector;
mod error;
mod eval;
mod fields;
mod filter;
mod lint;
mod mapping;
pub mod modifier;
mod parse;
pub mod pattern;
mod prefilter;
mod program;
mod route;
pub mod rule;
mod ruleset;
mod view;
mod yaml;

pub use compiled::{CompileStats, CompiledRuleSet, RuleInfo, RuleMatch};
pub use correlator::CorrelationLimits;
pub use detector::SigmaDetector;
pub use error::{MappingError, RuleError, Severity};
pub use lint::{check, check_str};
pub use mapping::{DEFAULT_WINDOWS_YAML, LogSourceMapping, Mapping};
pub use parse::parse_timespan;
pub use rule::{Correlation, CorrelationType, Detection, Filter, LogSource, Rule, RuleBody};
pub use ruleset::{LoadOptions, RuleSet, load_rules, parse_rule_str};
pub use view::Scratch as MatchScratch;

/// Entry points for the fuzz targets: each takes arbitrary bytes and must never panic.
pub mod fuzz {
    use crate::{CompiledRuleSet, Mapping, RuleSet};

    /// Parses arbitrary bytes as a rule file, compiles what parses, and matches it against a small
    /// event built from the same bytes.
    pub fn rule(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let (rules, _) = crate::parse::parse_file(text, "fuzz.yml");
        let _ = crate::check_str(text, "fuzz.yml", &Mapping::empty());
        let set = RuleSet::new(rules);
        let (compiled, _) = CompiledRuleSet::compile(&set, &Mapping::default_windows());
        let event = shield_event::Event::new(
            serde_json::json!({"Event": {"System": {"Channel": "Security", "EventID": 4688},
                "EventData": {"CommandLine": text, "NewProcessName": "C:\\x.exe"}}, "message": text}),
            "fuzz".into(),
            shield_event::Format::Json,
        );
        let mut out = Vec::new();
        compiled.matches(&event, &mut out);
    }

    /// Parses arbitrary bytes as a condition, checking that printing round-trips.
    pub fn condition(data: &[u8]) {
        crate::condition::fuzz(data);
    }
}
