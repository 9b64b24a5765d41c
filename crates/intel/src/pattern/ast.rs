//! The STIX pattern syntax tree, and its printing back to pattern text.

use std::fmt;

use crate::stix::Timestamp;

/// An observation expression: what must be observed, across one or more observations.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ … ]`: one observation satisfying a comparison expression.
    Observation(ComparisonExpr),
    /// `A AND B …`: each side satisfied by its own observation.
    And(Vec<ObservationExpr>),
    /// `A OR B …`: either side.
    Or(Vec<ObservationExpr>),
    /// `A FOLLOWEDBY B …`: in this order in time.
    FollowedBy(Vec<ObservationExpr>),
    /// An expression restricted by a qualifier.
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A qualifier on an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`: all observations within a window of `n` seconds.
    Within(f64),
    /// `REPEATS n TIMES`: the expression is satisfied `n` times.
    Repeats(u64),
    /// `START t'…' STOP t'…'`: observations between the two instants (start inclusive).
    StartStop(Timestamp, Timestamp),
}

/// A comparison expression: the boolean condition inside `[ … ]`.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    /// All hold.
    And(Vec<ComparisonExpr>),
    /// Any holds.
    Or(Vec<ComparisonExpr>),
    /// One comparison.
    Comparison(Comparison),
    /// `EXISTS path`: the property is present.
    Exists(ObjectPath),
}

/// `path [NOT] operator constant`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The property compared.
    pub path: ObjectPath,
    /// Whether `NOT` precedes the operator.
    pub negated: bool,
    /// The operator.
    pub operator: Operator,
    /// The constant compared with (a [`Constant::Set`] for `IN`).
    pub value: Constant,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `IN (…)`
    In,
    /// `LIKE` with `%` and `_` wildcards.
    Like,
    /// `MATCHES`: a regular expression found anywhere in the value.
    Matches,
    /// `ISSUBSET`: an address or network inside the given network.
    IsSubset,
    /// `ISSUPERSET`: a network containing the given address or network.
    IsSuperset,
}

impl Operator {
    /// The operator as the grammar writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Neq => "!=",
            Operator::Gt => ">",
            Operator::Lt => "<",
            Operator::Ge => ">=",
            Operator::Le => "<=",
            Operator::In => "IN",
            Operator::Like => "LIKE",
            Operator::Matches => "MATCHES",
            Operator::IsSubset => "ISSUBSET",
            Operator::IsSuperset => "ISSUPERSET",
        }
    }
}

/// A constant in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    /// `'text'`
    Str(String),
    /// `42`, `-1`
    Int(i64),
    /// `1.5`
    Float(f64),
    /// `true`, `false`
    Bool(bool),
    /// `t'2016-01-01T00:00:00Z'`
    Timestamp(Timestamp),
    /// `h'00ff'`
    Hex(Vec<u8>),
    /// `b'AQI='`
    Binary(Vec<u8>),
    /// `('a', 'b')`, for `IN`.
    Set(Vec<Constant>),
}

/// An object path: `file:hashes.'SHA-256'`, `network-traffic:src_ref.value`, `email-message:to_refs[*].value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    /// The cyber-observable type (`file`).
    pub object_type: String,
    /// The property steps; the first is always a key.
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// `.name` or `.'quoted name'`
    Key(String),
    /// `[n]` (negative counts from the end)
    Index(i64),
    /// `[*]`: any element.
    AnyIndex,
}

impl ObjectPath {
    /// Parses an object path on its own (`ipv4-addr:value`, `file:hashes.'SHA-256'`).
    pub fn parse(text: &str) -> Result<ObjectPath, super::PatternError> {
        super::parser::parse_object_path(text)
    }

    /// Whether this path is the one written as `text` (compared in canonical form, so
    /// `file:hashes.'MD5'` is `file:hashes.MD5`).
    pub fn is(&self, text: &str) -> bool {
        ObjectPath::parse(text).is_ok_and(|p| &p == self)
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !matches!(key, "true" | "false")
        && !is_keyword(key)
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "AND"
            | "OR"
            | "NOT"
            | "FOLLOWEDBY"
            | "LIKE"
            | "MATCHES"
            | "ISSUPERSET"
            | "ISSUBSET"
            | "EXISTS"
            | "LAST"
            | "IN"
            | "START"
            | "STOP"
            | "SECONDS"
            | "WITHIN"
            | "REPEATS"
            | "TIMES"
    )
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    if is_plain_key(key) {
        f.write_str(key)
    } else {
        write_quoted(f, key)
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write_key(f, k)?;
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Str(s) => write_quoted(f, s),
            Constant::Int(i) => write!(f, "{i}"),
            Constant::Float(x) => {
                // Shortest digits that read back the same, never an exponent (the grammar has
                // none), and always a decimal point so it reads back as a float.
                let text = format!("{x}");
                f.write_str(&text)?;
                if text.contains('.') {
                    Ok(())
                } else {
                    f.write_str(".0")
                }
            }
            Constant::Bool(b) => write!(f, "{b}"),
            Constant::Timestamp(t) => write!(f, "t'{t}'"),
            Constant::Hex(bytes) => {
                f.write_str("h'")?;
                for b in bytes {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("'")
            }
            Constant::Binary(bytes) => {
                use base64::Engine as _;
                write!(
                    f,
                    "b'{}'",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )
            }
            Constant::Set(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} {} {}",
            self.path,
            if self.negated { " NOT" } else { "" },
            self.operator.as_str(),
            self.value
        )
    }
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>,
                    items: &[ComparisonExpr],
                    op: &str,
                    is_and: bool|
         -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                // Parenthesise what would otherwise regroup: any nested AND/OR under AND, and
                // nested OR under OR (explicit grouping the parser keeps).
                let wrap = match item {
                    ComparisonExpr::Or(_) => true,
                    ComparisonExpr::And(_) => is_and,
                    _ => false,
                };
                if wrap {
                    write!(f, "({item})")?
                } else {
                    write!(f, "{item}")?
                }
            }
            Ok(())
        };
        match self {
            ComparisonExpr::And(items) => join(f, items, "AND", true),
            ComparisonExpr::Or(items) => join(f, items, "OR", false),
            ComparisonExpr::Comparison(c) => write!(f, "{c}"),
            ComparisonExpr::Exists(p) => write!(f, "EXISTS {p}"),
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Within(s) if s.fract() == 0.0 && *s < 9e15 => {
                write!(f, "WITHIN {} SECONDS", *s as u64)
            }
            Qualifier::Within(s) => write!(f, "WITHIN {} SECONDS", Constant::Float(*s)),
            Qualifier::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
            Qualifier::StartStop(a, b) => write!(f, "START t'{a}' STOP t'{b}'"),
        }
    }
}

/// Precedence of observation operators, loosest first, for parenthesising.
fn rank(e: &ObservationExpr) -> u8 {
    match e {
        ObservationExpr::FollowedBy(_) => 0,
        ObservationExpr::Or(_) => 1,
        ObservationExpr::And(_) => 2,
        ObservationExpr::Observation(_) | ObservationExpr::Qualified(..) => 3,
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>,
                    items: &[ObservationExpr],
                    op: &str,
                    own: u8|
         -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                if rank(item) <= own {
                    write!(f, "({item})")?
                } else {
                    write!(f, "{item}")?
                }
            }
            Ok(())
        };
        match self {
            ObservationExpr::Observation(c) => write!(f, "[{c}]"),
            ObservationExpr::FollowedBy(items) => join(f, items, "FOLLOWEDBY", 0),
            ObservationExpr::Or(items) => join(f, items, "OR", 1),
            ObservationExpr::And(items) => join(f, items, "AND", 2),
            ObservationExpr::Qualified(inner, q) => {
                if rank(inner) < 3 {
                    write!(f, "({inner}) {q}")
                } else {
                    write!(f, "{inner} {q}")
                }
            }
        }
    }
}
