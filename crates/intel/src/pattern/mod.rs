//! STIX 2.1 patterning: the full grammar, evaluation on single observations, and the extraction of
//! plain indicator values for fast matching.
//!
//! * [`Pattern::parse`] reads any pattern the STIX 2.1 grammar accepts (observation expressions,
//!   every comparison operator, `NOT`, `AND`/`OR` at both levels, `FOLLOWEDBY`, the `WITHIN`,
//!   `REPEATS` and `START`/`STOP` qualifiers, object paths with quoted keys and list indexes, and
//!   all constant forms) into an [`ObservationExpr`] tree. Errors name a byte offset; input length
//!   and nesting are bounded by [`PatternLimits`].
//! * [`Pattern::evaluate`] decides a pattern against one observation ([`ObservableSource`]); see
//!   [`Pattern::evaluate`] for what one observation can and cannot decide. Patterns that need
//!   several observations are accepted, and reported by [`Pattern::single_event_evaluable`] and by
//!   [`Evaluation::Indeterminate`].
//! * [`Pattern::simple_iocs`] turns the common case (a disjunction of equalities, such as
//!   `[ipv4-addr:value = '203.0.113.5' OR ipv4-addr:value = '203.0.113.6']`) into
//!   `(object path, value)` pairs that a hash-based matcher can index.

mod ast;
mod compare;
mod eval;
mod lexer;
mod observed;
mod parser;

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};

pub use ast::{
    Comparison, ComparisonExpr, Constant, ObjectPath, ObservationExpr, Operator, PathStep,
    Qualifier,
};
pub use eval::{Evaluation, ObservableSource};
pub use observed::ObservedObjects;

/// A pattern that does not parse, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {reason}")]
pub struct PatternError {
    /// Byte offset in the pattern text.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// Bounds on untrusted pattern text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternLimits {
    /// Longest accepted pattern, in bytes.
    pub max_len: usize,
    /// Deepest nesting of brackets and parentheses.
    pub max_depth: usize,
    /// Largest compiled size of one `MATCHES` regular expression, in bytes.
    pub max_regex_size: usize,
}

impl Default for PatternLimits {
    /// 1 MiB of text, 64 levels of nesting, 1 MiB per compiled regular expression.
    fn default() -> Self {
        PatternLimits {
            max_len: 1 << 20,
            max_depth: 64,
            max_regex_size: 1 << 20,
        }
    }
}

/// A parsed STIX pattern, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: ObservationExpr,
    /// `MATCHES` expressions by source text, compiled (or why they cannot be).
    regexes: Vec<(String, Result<Regex, String>)>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

/// One indicator value of a pattern that is a plain disjunction of equalities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimpleIoc {
    /// Where the value is looked for (`ipv4-addr:value`, `file:hashes.'SHA-256'`).
    pub path: ObjectPath,
    /// The value, exactly as the pattern gives it.
    pub value: String,
}

impl Pattern {
    /// Parses a pattern within the default [`PatternLimits`].
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse_with(text, &PatternLimits::default())
    }

    /// Parses a pattern within `limits`. `MATCHES` expressions are compiled here; one this engine
    /// cannot run (PCRE look-around, back-references) leaves the pattern valid but makes the
    /// comparisons that use it [`Evaluation::Indeterminate`].
    pub fn parse_with(text: &str, limits: &PatternLimits) -> Result<Pattern, PatternError> {
        let root = parser::parse(text, limits)?;
        let mut sources = Vec::new();
        collect_regexes(&root, &mut sources);
        let regexes = sources
            .into_iter()
            .map(|source| {
                let compiled = RegexBuilder::new(&source)
                    .size_limit(limits.max_regex_size)
                    .build()
                    .map_err(|e| {
                        format!(
                            "regular expression not supported: {}",
                            first_line(&e.to_string())
                        )
                    });
                (source, compiled)
            })
            .collect();
        Ok(Pattern { root, regexes })
    }

    /// The syntax tree.
    pub fn root(&self) -> &ObservationExpr {
        &self.root
    }

    /// Whether every observation can be decided on its own by [`Pattern::evaluate`].
    pub fn single_event_evaluable(&self) -> bool {
        self.single_event_reason().is_none()
    }

    /// Why the pattern cannot be decided observation by observation (observation `AND`,
    /// `FOLLOWEDBY`, `REPEATS` more than once, a regular expression this engine cannot run), or
    /// `None` when it can.
    pub fn single_event_reason(&self) -> Option<String> {
        eval::single_event_reason(&self.root).or_else(|| {
            self.regexes
                .iter()
                .find_map(|(_, r)| r.as_ref().err().map(|why| format!("MATCHES: {why}")))
        })
    }

    /// Evaluates the pattern against one observation.
    ///
    /// # Semantics on a single observation
    ///
    /// An observation is what one event (or one `observed-data`) shows: a set of cyber observables.
    /// A comparison holds when *some* value at its object path, on *some* object of its type, satisfies
    /// it (existential over objects and over list elements selected by `[*]`); a value that cannot be
    /// compared with the constant (wrong type, malformed address) never satisfies it, negated or not.
    /// `AND` and `OR` inside brackets combine comparisons over the same observation.
    ///
    /// Observation operators and qualifiers are decided where one observation can decide them:
    /// `OR` between observation expressions; `WITHIN` (one observation is within any window);
    /// `REPEATS 1 TIMES`; `START … STOP …` when the source knows the observation's time. The rest
    /// (observation `AND`, `FOLLOWEDBY`, `REPEATS n>1`) need several observations: the result is then
    /// [`Evaluation::Indeterminate`] with the reason, never a silent "no match". The logic is three-valued,
    /// so `[a] OR ([b] FOLLOWEDBY [c])` still matches an observation that satisfies `[a]`.
    pub fn evaluate(&self, source: &dyn ObservableSource) -> Evaluation {
        eval::Evaluator {
            source,
            regexes: &self.regexes,
            any_observation: false,
        }
        .run(&self.root)
    }

    /// The `(object path, value)` pairs of a pattern that is nothing but a disjunction of string
    /// equalities (`=` and `IN`), inside one observation or across observations joined by `OR`,
    /// without qualifiers. Empty for any other pattern: those go through [`Pattern::evaluate`].
    pub fn simple_iocs(&self) -> Vec<SimpleIoc> {
        let mut out = Vec::new();
        if simple_observation(&self.root, &mut out) {
            out
        } else {
            Vec::new()
        }
    }

    /// The cyber-observable types the pattern mentions, each once, in order of appearance.
    pub fn object_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        visit_paths(&self.root, &mut |path| {
            if !types.contains(&path.object_type.as_str()) {
                types.push(&path.object_type);
            }
        });
        types
    }
}

impl fmt::Display for Pattern {
    /// The pattern in canonical form: parsing it gives the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

/// Checks that `text` is a valid pattern without compiling its regular expressions (for
/// validating indicators in bulk).
pub fn validate(text: &str, limits: &PatternLimits) -> Result<(), PatternError> {
    parser::parse(text, limits).map(|_| ())
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

fn collect_regexes(expr: &ObservationExpr, out: &mut Vec<String>) {
    fn in_comparison(expr: &ComparisonExpr, out: &mut Vec<String>) {
        match expr {
            ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
                items.iter().for_each(|i| in_comparison(i, out))
            }
            ComparisonExpr::Comparison(Comparison {
                operator: Operator::Matches,
                value: Constant::Str(s),
                ..
            }) if !out.contains(s) => out.push(s.clone()),
            _ => {}
        }
    }
    match expr {
        ObservationExpr::Observation(c) => in_comparison(c, out),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => items.iter().for_each(|i| collect_regexes(i, out)),
        ObservationExpr::Qualified(inner, _) => collect_regexes(inner, out),
    }
}

fn visit_paths<'a>(expr: &'a ObservationExpr, f: &mut dyn FnMut(&'a ObjectPath)) {
    fn in_comparison<'a>(expr: &'a ComparisonExpr, f: &mut dyn FnMut(&'a ObjectPath)) {
        match expr {
            ComparisonExpr::And(items) | ComparisonExpr::Or(items) => {
                items.iter().for_each(|i| in_comparison(i, f))
            }
            ComparisonExpr::Comparison(c) => f(&c.path),
            ComparisonExpr::Exists(p) => f(p),
        }
    }
    match expr {
        ObservationExpr::Observation(c) => in_comparison(c, f),
        ObservationExpr::And(items)
        | ObservationExpr::Or(items)
        | ObservationExpr::FollowedBy(items) => items.iter().for_each(|i| visit_paths(i, f)),
        ObservationExpr::Qualified(inner, _) => visit_paths(inner, f),
    }
}

fn simple_observation(expr: &ObservationExpr, out: &mut Vec<SimpleIoc>) -> bool {
    match expr {
        ObservationExpr::Observation(c) => simple_comparison(c, out),
        ObservationExpr::Or(items) => items.iter().all(|i| simple_observation(i, out)),
        _ => false,
    }
}

fn simple_comparison(expr: &ComparisonExpr, out: &mut Vec<SimpleIoc>) -> bool {
    match expr {
        ComparisonExpr::Or(items) => items.iter().all(|i| simple_comparison(i, out)),
        ComparisonExpr::Comparison(Comparison {
            path,
            negated: false,
            operator: Operator::Eq,
            value: Constant::Str(s),
        }) => {
            out.push(SimpleIoc {
                path: path.clone(),
                value: s.clone(),
            });
            true
        }
        ComparisonExpr::Comparison(Comparison {
            path,
            negated: false,
            operator: Operator::In,
            value: Constant::Set(items),
        }) => {
            for item in items {
                let Constant::Str(s) = item else { return false };
                out.push(SimpleIoc {
                    path: path.clone(),
                    value: s.clone(),
                });
            }
            true
        }
        _ => false,
    }
}

/// Fuzzing entry point: any input parses or fails with an error at an offset inside the input, and
/// a parsed pattern prints to text that parses back to the same tree.
#[doc(hidden)]
#[allow(clippy::panic)]
pub fn fuzz_pattern(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Pattern::parse(text) {
        Ok(pattern) => {
            let printed = pattern.to_string();
            match Pattern::parse(&printed) {
                Ok(again) if again == pattern => {}
                Ok(again) => panic!("{text:?} printed as {printed:?} reads back as {again:?}"),
                Err(e) => panic!("{text:?} printed as {printed:?} does not parse: {e}"),
            }
            let _ = pattern.simple_iocs();
            let _ = pattern.single_event_reason();
            let _ = pattern.evaluate(&ObservedObjects::new());
        }
        Err(e) => {
            if e.offset > text.len() {
                panic!("{text:?}: error offset {} beyond the input", e.offset);
            }
        }
    }
}
