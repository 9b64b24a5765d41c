//! Evaluating a pattern against one observation.
//!
//! The semantics are documented on [`super::Pattern::evaluate`].

use std::ops::ControlFlow;

use regex::Regex;
use serde_json::Value;

use super::ast::{ComparisonExpr, ObjectPath, ObservationExpr, Operator, Qualifier};
use super::compare::compare;
use crate::stix::Timestamp;

/// What a pattern is evaluated against: the cyber observables of one observation.
///
/// Implementations answer object paths: an event adapter maps `ipv4-addr:value` to the event's
/// address fields, [`super::ObservedObjects`] walks STIX observable objects.
pub trait ObservableSource {
    /// Calls `visit` with every value found at `path` in this observation: on every object of the
    /// path's type, and on every list element a `[*]` step selects. Stops when `visit` breaks.
    fn visit_values(&self, path: &ObjectPath, visit: &mut dyn FnMut(&Value) -> ControlFlow<()>);

    /// When the observation was made, for `START … STOP …` qualifiers. `None` when unknown.
    fn observed_at(&self) -> Option<Timestamp> {
        None
    }
}

/// The outcome of evaluating a pattern against one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// The observation satisfies the pattern.
    Match,
    /// It does not.
    NoMatch,
    /// One observation cannot decide: the pattern needs several observations (or the observation's
    /// time, or a regular expression this engine cannot run).
    Indeterminate {
        /// Why, in words.
        reason: String,
        /// Whether the observation satisfied at least one of the pattern's bracketed observation
        /// expressions: a candidate for a stateful correlator.
        partial_match: bool,
    },
}

impl Evaluation {
    /// Whether this is a match.
    pub fn is_match(&self) -> bool {
        matches!(self, Evaluation::Match)
    }
}

/// A three-valued truth.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown(String),
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }
}

/// Evaluation state: the source, the compiled regular expressions, and whether any bracketed
/// observation matched.
pub(super) struct Evaluator<'a> {
    pub source: &'a dyn ObservableSource,
    pub regexes: &'a [(String, Result<Regex, String>)],
    pub any_observation: bool,
}

impl Evaluator<'_> {
    pub(super) fn run(mut self, root: &ObservationExpr) -> Evaluation {
        match self.observation(root) {
            Truth::True => Evaluation::Match,
            Truth::False => Evaluation::NoMatch,
            Truth::Unknown(reason) => Evaluation::Indeterminate {
                reason,
                partial_match: self.any_observation,
            },
        }
    }

    fn observation(&mut self, expr: &ObservationExpr) -> Truth {
        match expr {
            ObservationExpr::Observation(c) => {
                let t = self.comparison(c);
                if t == Truth::True {
                    self.any_observation = true;
                }
                t
            }
            ObservationExpr::Or(items) => {
                let mut unknown = None;
                let mut matched = false;
                for item in items {
                    match self.observation(item) {
                        Truth::True => matched = true,
                        Truth::False => {}
                        Truth::Unknown(r) => unknown = unknown.or(Some(r)),
                    }
                }
                if matched {
                    Truth::True
                } else {
                    unknown.map_or(Truth::False, Truth::Unknown)
                }
            }
            ObservationExpr::And(items) => {
                self.visit_all(items);
                Truth::Unknown("observation AND needs one observation per side".into())
            }
            ObservationExpr::FollowedBy(items) => {
                self.visit_all(items);
                Truth::Unknown("FOLLOWEDBY needs observations in sequence".into())
            }
            ObservationExpr::Qualified(inner, qualifier) => match qualifier {
                Qualifier::Within(_) => self.observation(inner),
                Qualifier::Repeats(1) => self.observation(inner),
                Qualifier::Repeats(n) => {
                    self.observation(inner);
                    Truth::Unknown(format!("REPEATS {n} TIMES needs {n} observations"))
                }
                Qualifier::StartStop(start, stop) => match self.source.observed_at() {
                    Some(at) if *start <= at && at < *stop => self.observation(inner),
                    Some(_) => Truth::False,
                    None => {
                        self.observation(inner);
                        Truth::Unknown("START/STOP needs the observation's time".into())
                    }
                },
            },
        }
    }

    /// Evaluates sub-expressions only to learn whether any bracketed observation matches.
    fn visit_all(&mut self, items: &[ObservationExpr]) {
        for item in items {
            self.observation(item);
        }
    }

    fn comparison(&mut self, expr: &ComparisonExpr) -> Truth {
        match expr {
            ComparisonExpr::And(items) => {
                let mut unknown = None;
                for item in items {
                    match self.comparison(item) {
                        Truth::False => return Truth::False,
                        Truth::True => {}
                        Truth::Unknown(r) => unknown = unknown.or(Some(r)),
                    }
                }
                unknown.map_or(Truth::True, Truth::Unknown)
            }
            ComparisonExpr::Or(items) => {
                let mut unknown = None;
                for item in items {
                    match self.comparison(item) {
                        Truth::True => return Truth::True,
                        Truth::False => {}
                        Truth::Unknown(r) => unknown = unknown.or(Some(r)),
                    }
                }
                unknown.map_or(Truth::False, Truth::Unknown)
            }
            ComparisonExpr::Exists(path) => {
                let mut found = false;
                self.source.visit_values(path, &mut |v| {
                    found = !v.is_null();
                    if found {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                Truth::from_bool(found)
            }
            ComparisonExpr::Comparison(c) => {
                let regex = if c.operator == Operator::Matches {
                    let source = match &c.value {
                        super::ast::Constant::Str(s) => s.as_str(),
                        _ => "",
                    };
                    match self
                        .regexes
                        .iter()
                        .find(|(s, _)| s == source)
                        .map(|(_, r)| r)
                    {
                        Some(Ok(re)) => Some(re),
                        Some(Err(why)) => return Truth::Unknown(format!("MATCHES: {why}")),
                        None => {
                            return Truth::Unknown(
                                "MATCHES: regular expression not compiled".into(),
                            );
                        }
                    }
                } else {
                    None
                };
                let mut satisfied = false;
                self.source.visit_values(&c.path, &mut |v| {
                    satisfied =
                        compare(c.operator, &c.value, v, regex).is_some_and(|b| b != c.negated);
                    if satisfied {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                Truth::from_bool(satisfied)
            }
        }
    }
}

/// Why a pattern cannot be decided on single observations, judged from its shape; `None` when it
/// can (`START … STOP …` counts as decidable: it needs the observation's time, which sources give).
pub(super) fn single_event_reason(expr: &ObservationExpr) -> Option<String> {
    match expr {
        ObservationExpr::Observation(_) => None,
        ObservationExpr::Or(items) => items.iter().find_map(single_event_reason),
        ObservationExpr::And(_) => Some("observation AND needs one observation per side".into()),
        ObservationExpr::FollowedBy(_) => Some("FOLLOWEDBY needs observations in sequence".into()),
        ObservationExpr::Qualified(inner, Qualifier::Repeats(n)) if *n > 1 => {
            Some(format!("REPEATS {n} TIMES needs {n} observations"))
        }
        ObservationExpr::Qualified(inner, _) => single_event_reason(inner),
    }
}
